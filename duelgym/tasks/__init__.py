"""Procedurally generated prompt tasks and their programmatic utilities (the embedded default of LLMDuel-v0)."""

from duelgym.tasks.transforms import FORMATS, Split, TransformTask, answer, split_of
from duelgym.tasks.utility import TransformUtility, edit_distance, parse_response

__all__ = [
    "FORMATS",
    "Split",
    "TransformTask",
    "TransformUtility",
    "answer",
    "edit_distance",
    "parse_response",
    "split_of",
]
