"""The programmatic utility of a response to a transform prompt: graded correctness plus hidden preferences.

u(prompt, response) = correctness + format_bonus[f] · [response is exactly the answer in format f]
                      − extra_character_penalty · min(10, characters beyond the formatted answer),

where correctness = 1 − (edit distance of the answer part to the true answer) / (length of the longer). The
format bonuses and the filler penalty are what the rater cares about beyond correctness; an agent never sees them
and has to learn them from queries. The bonuses grow as the formats get rarer in the base LM's samples
(``FORMAT_RATES`` of its demonstrations): several hidden preferences of different rarity, the best of them in
responses the LM seldom writes, so a learner that queries at random meets the best responses seldom.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from duelgym._validation import check_finite
from duelgym.tasks.transforms import FILLERS, FORMATS, WRAPPERS, answer, formatted

__all__ = ["DEFAULT_FORMAT_BONUS", "TransformUtility", "edit_distance", "parse_response"]

#: The default rater's hidden preferences (utility units; a format not named gets 0). Each step of 0.1 is won with
#: p = σ(1) ≈ 0.73 by the reference rater (T = 0.1) and is a near coin flip for the feedback rater.
DEFAULT_FORMAT_BONUS = MappingProxyType({"bracket": 0.1, "paren": 0.2, "brace": 0.3})
#: Opening character of a wrapped answer: its closing character and format name.
_OPENINGS = {pair[0]: (pair[1], style) for style, pair in WRAPPERS.items()}


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

    The format is ``"bracket"`` for ``"[...]"``, ``"paren"`` for ``"(...)"``, ``"brace"`` for ``"{...}"``,
    ``"arrow"`` for ``"=> ..."``, else ``"plain"``; trailing filler words and any text after the closing character
    count as extra characters.
    """
    text = response.strip("\n")
    words = text.split(" ")
    while len(words) > 1 and words[-1] in FILLERS:
        words.pop()
    core = " ".join(words)
    extra = len(text) - len(core)
    if core[:1] in _OPENINGS and _OPENINGS[core[0]][0] in core:
        closing, style = _OPENINGS[core[0]]
        inside, _, after = core[1:].partition(closing)
        return inside, style, extra + len(after)
    if core.startswith("=> "):
        return core[3:], "arrow", extra
    return core, "plain", extra


@dataclass(frozen=True)
class TransformUtility:
    """The rater's hidden utility for the transform task (see the module docstring for the formula).

    Args:
        format_bonus: Bonus of an exactly formatted correct answer, per format name of ``FORMATS`` (a format not
            named gets 0). Default :data:`DEFAULT_FORMAT_BONUS`.
        extra_character_penalty: Penalty per character beyond the formatted answer (at most 10 count), ≥ 0.
    """

    format_bonus: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FORMAT_BONUS))
    extra_character_penalty: float = 0.03

    def __post_init__(self) -> None:
        if not isinstance(self.format_bonus, Mapping):
            raise TypeError(f"format_bonus must be a mapping of format names to floats, got {self.format_bonus!r}")
        unknown = sorted(set(self.format_bonus) - set(FORMATS))
        if unknown:
            raise ValueError(f"format_bonus has unknown formats {unknown}; expected names among {FORMATS}")
        bonuses = tuple(check_finite(f"format_bonus[{name!r}]", self.format_bonus.get(name, 0.0)) for name in FORMATS)
        object.__setattr__(self, "_bonuses", bonuses)
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
        return _utility(prompt, response, self._bonuses, self.extra_character_penalty)


# Agents query the same cached candidates again and again: memoise (about 0.2 KB an entry, 50 MB when full).
@functools.lru_cache(maxsize=1 << 18)
def _utility(prompt: str, response: str, bonuses: tuple[float, ...], extra_character_penalty: float) -> float:
    target = answer(prompt)
    core, style, extra = parse_response(response)
    correctness = 1.0 - edit_distance(core, target) / max(len(core), len(target), 1)
    exact = response.strip("\n") == formatted(target, style)
    return correctness + bonuses[FORMATS.index(style)] * exact - extra_character_penalty * min(10, extra)
