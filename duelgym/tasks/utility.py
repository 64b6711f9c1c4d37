"""The programmatic utility of a response to a transform prompt: graded correctness plus hidden preferences.

u(prompt, response) = correctness + exact_bracket_bonus · [response is exactly "[answer]"]
                      − extra_character_penalty · min(10, characters beyond the formatted answer),

where correctness = 1 − (edit distance of the answer part to the true answer) / (length of the longer). The
format preference and the filler penalty are what the rater cares about beyond correctness; an agent never sees
them and has to learn them from queries. Starting values from the feasibility study (notes/llm-env-feasibility.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from duelgym._validation import check_finite
from duelgym.tasks.transforms import FILLERS, answer

__all__ = ["TransformUtility", "edit_distance", "parse_response"]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two short strings."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def parse_response(response: str) -> tuple[str, str, int]:
    """Split a response into (answer part, format, extra characters).

    The format is ``"bracket"`` for ``"[...]"``, ``"arrow"`` for ``"=> ..."``, else ``"plain"``; trailing filler
    words and any text after a closing bracket count as extra characters.
    """
    text = response.strip("\n")
    words = text.split(" ")
    while len(words) > 1 and words[-1] in FILLERS:
        words.pop()
    core = " ".join(words)
    extra = len(text) - len(core)
    if core.startswith("[") and "]" in core:
        inside, _, after = core[1:].partition("]")
        return inside, "bracket", extra + len(after)
    if core.startswith("=> "):
        return core[3:], "arrow", extra
    return core, "plain", extra


@dataclass(frozen=True)
class TransformUtility:
    """The rater's hidden utility for the transform task (see the module docstring for the formula)."""

    exact_bracket_bonus: float = 0.3
    extra_character_penalty: float = 0.03

    def __post_init__(self) -> None:
        check_finite("exact_bracket_bonus", self.exact_bracket_bonus)
        check_finite("extra_character_penalty", self.extra_character_penalty, minimum=0.0)

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> NDArray[np.float64]:
        """Utilities of B responses to B prompts: float64 array (B,)."""
        if len(prompts) != len(responses):
            raise ValueError(
                f"prompts and responses must have the same length, got {len(prompts)} and {len(responses)}"
            )
        return np.array([self.one(p, r) for p, r in zip(prompts, responses, strict=True)], dtype=np.float64)

    def one(self, prompt: str, response: str) -> float:
        if not isinstance(response, str):
            raise TypeError(f"responses must be str, got {response!r} of type {type(response).__name__}")
        return _utility(prompt, response, self.exact_bracket_bonus, self.extra_character_penalty)


# Agents query the same cached candidates again and again: memoise (about 0.2 KB an entry, 50 MB when full).
@functools.lru_cache(maxsize=1 << 18)
def _utility(prompt: str, response: str, exact_bracket_bonus: float, extra_character_penalty: float) -> float:
    target = answer(prompt)
    core, _, extra = parse_response(response)
    correctness = 1.0 - edit_distance(core, target) / max(len(core), len(target), 1)
    exact = response.strip("\n") == f"[{target}]"
    return correctness + exact_bracket_bonus * exact - extra_character_penalty * min(10, extra)
