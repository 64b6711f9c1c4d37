"""Spaces for dueling environments: Unicode text, pairs of texts and pairs of arm indices.

Gymnasium's :class:`~gymnasium.spaces.Text` defaults to an alphanumeric charset, so a prompt such as
``"sort: 3, 1, 2\\n"`` is not a member of it. :class:`UnicodeText` accepts any Unicode text a model or a person
may write: every assigned code point except control characters (newline, tab and carriage return are allowed),
surrogates and private-use code points, so no-break spaces and the zero-width joiners inside emoji are members.
It does so without a per-space table of the ~145,000 allowed code points: membership is tested per character,
and the character list needed for sampling and flattening is built once per process, on first use, and shared
by every space.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

__all__ = ["DEFAULT_MAX_TEXT_LENGTH", "ArmPair", "TextPair", "UnicodeText"]

#: Default maximum length of a prompt or response, in characters (not tokens). Long enough for the embedded
#: task's prompts and responses and for short real-model completions; pass ``max_length`` for longer texts.
DEFAULT_MAX_TEXT_LENGTH = 4096

_ALLOWED_CONTROLS = "\n\t\r"
_EXCLUDED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})  # controls, surrogates, private use, unassigned


def _is_allowed(char: str) -> bool:
    return char in _ALLOWED_CONTROLS or unicodedata.category(char) not in _EXCLUDED_CATEGORIES


@functools.cache
def _unicode_characters() -> tuple[str, ...]:
    """All allowed characters in code-point order (computed once per process, about 0.3 s)."""
    return tuple(c for c in map(chr, range(0x110000)) if _is_allowed(c))


@functools.cache
def _unicode_index() -> dict[str, np.int32]:
    return {c: np.int32(i) for i, c in enumerate(_unicode_characters())}


class UnicodeText(spaces.Text):
    """Unicode text: any assigned character but controls (``\\n``, ``\\t``, ``\\r`` allowed), surrogates, private use.

    Args:
        max_length: Maximum length in characters (inclusive). Default :data:`DEFAULT_MAX_TEXT_LENGTH`.
        min_length: Minimum length in characters (inclusive). Default 0: an empty response is valid text.
        seed: Seed for :meth:`sample`.

    Sampling draws a length uniformly in ``[min_length, max_length]`` and each character uniformly from the
    allowed code points, so samples are mostly CJK and other scripts: use them to test robustness, not as
    realistic text.
    """

    def __init__(
        self,
        max_length: int = DEFAULT_MAX_TEXT_LENGTH,
        *,
        min_length: int = 0,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        for name, value in (("max_length", max_length), ("min_length", min_length)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
        if min_length < 0 or max_length < min_length:
            raise ValueError(
                f"expected 0 <= min_length <= max_length, got min_length={min_length}, max_length={max_length}"
            )
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        spaces.Space.__init__(self, dtype=str, seed=seed)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a ``str`` of allowed length made only of allowed characters."""
        if not isinstance(x, str) or not self.min_length <= len(x) <= self.max_length:
            return False
        return x.isprintable() or all(_is_allowed(c) for c in x)

    def sample(
        self,
        mask: tuple[int | None, NDArray[np.int8] | None] | None = None,
        probability: tuple[int | None, NDArray[np.float64] | None] | None = None,
    ) -> str:
        """A random text; ``mask`` and ``probability`` work as in :meth:`gymnasium.spaces.Text.sample`."""
        if mask is None and probability is None:
            length = int(self.np_random.integers(self.min_length, self.max_length + 1))
            chars = _unicode_characters()
            return "".join(chars[i] for i in self.np_random.integers(len(chars), size=length))
        return super().sample(mask=mask, probability=probability)

    @property
    def character_set(self) -> frozenset[str]:
        """Every allowed character (built on first use and cached for the process)."""
        return _unicode_character_set()

    @property
    def character_list(self) -> tuple[str, ...]:
        """Every allowed character in code-point order."""
        return _unicode_characters()

    def character_index(self, char: str) -> np.int32:
        """Position of ``char`` in :attr:`character_list`."""
        return _unicode_index()[char]

    @property
    def characters(self) -> str:
        """Every allowed character as one string, in code-point order."""
        return "".join(_unicode_characters())

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object, /) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )


@functools.cache
def _unicode_character_set() -> frozenset[str]:
    return frozenset(_unicode_characters())


class TextPair(spaces.Tuple):
    """A pair of texts ``(first, second)``: the action of a text dueling environment.

    Args:
        max_length: Maximum length of each text in characters. Default :data:`DEFAULT_MAX_TEXT_LENGTH`.
        seed: Seed for :meth:`sample`.

    A ``tuple`` or ``list`` of two ``str`` is a member; the two texts may be equal.
    """

    def __init__(self, max_length: int = DEFAULT_MAX_TEXT_LENGTH, seed: int | None = None) -> None:
        super().__init__((UnicodeText(max_length), UnicodeText(max_length)), seed=seed)
        self.max_length = max_length

    def __repr__(self) -> str:
        return f"TextPair(max_length={self.max_length})"


class ArmPair(spaces.MultiDiscrete):
    """Two arm indices ``(first, second)`` in ``[0, num_arms)``; they may be equal.

    Members are integer arrays of shape ``(2,)``; a tuple of two ints is accepted too.

    Args:
        num_arms: Number of arms K (at least 1).
        seed: Seed for :meth:`sample`.
    """

    def __init__(self, num_arms: int, seed: int | np.random.Generator | None = None) -> None:
        if isinstance(num_arms, bool) or not isinstance(num_arms, (int, np.integer)):
            raise TypeError(f"num_arms must be an int, got {num_arms!r} of type {type(num_arms).__name__}")
        if num_arms < 1:
            raise ValueError(f"num_arms must be >= 1, got {num_arms}")
        super().__init__([num_arms, num_arms], dtype=np.int64, seed=seed)
        self.num_arms = int(num_arms)

    def __repr__(self) -> str:
        return f"ArmPair(num_arms={self.num_arms})"
