"""Procedurally generated prompt tasks and their programmatic utilities (the embedded default of LLMDuel-v0)."""

from duelgym.tasks.transforms import FORMAT_RATES, FORMATS, Split, TransformTask, answer, split_of
from duelgym.tasks.utility import DEFAULT_FORMAT_BONUS, TransformUtility, edit_distance, parse_response

__all__ = [
    "DEFAULT_FORMAT_BONUS",
    "FORMATS",
    "FORMAT_RATES",
    "Split",
    "TransformTask",
    "TransformUtility",
    "answer",
    "edit_distance",
    "parse_response",
    "split_of",
]
