"""Unicode text, text pairs and arm pairs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector.utils import batch_space
from hypothesis import given
from hypothesis import strategies as st

from duelgym.spaces import DEFAULT_MAX_TEXT_LENGTH, ArmPair, TextPair, UnicodeText


@given(text=st.text(st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cf"]), max_size=200))
def test_assigned_non_control_unicode_text_is_a_member(text: str) -> None:
    assert text in UnicodeText(200)


def test_text_space_accepts_prompts_gymnasiums_default_rejects() -> None:
    prompt = "sort: 3, 1, 2\nanswer → «1, 2, 3» ✓ 日本語\t"
    assert prompt in UnicodeText()
    assert prompt not in spaces.Text(100)
    assert "" in UnicodeText()
    assert "x" * DEFAULT_MAX_TEXT_LENGTH in UnicodeText()
    assert "x" * (DEFAULT_MAX_TEXT_LENGTH + 1) not in UnicodeText()
    assert "no\xa0break, family 👨\u200d👩\u200d👧, line\r\n" in UnicodeText()
    assert "bell\x07" not in UnicodeText()
    assert "private \ue000" not in UnicodeText()
    assert "\ud800" not in UnicodeText()
    assert b"bytes" not in UnicodeText()
    assert "ab" not in UnicodeText(10, min_length=3)


def test_samples_are_members_and_reproducible() -> None:
    space = UnicodeText(50, seed=1)
    samples = [space.sample() for _ in range(20)]
    assert all(s in space for s in samples)
    assert any(len(s) > 0 for s in samples)
    again = UnicodeText(50, seed=1)
    assert samples == [again.sample() for _ in range(20)]
    other = UnicodeText(50, seed=2)
    assert samples != [other.sample() for _ in range(20)]
    masked = space.sample(mask=(5, None))
    assert len(masked) == 5 and masked in space


def test_text_spaces_are_light_to_copy_and_batch() -> None:
    pair = TextPair(max_length=64)
    batched = batch_space(pair, 128)
    assert copy.deepcopy(pair) == pair
    assert ("a", "b") in pair and ["a", "b"] in pair
    assert ("a",) not in pair and ("a", 3) not in pair
    sample = batched.sample()
    assert sample in batched


def test_arm_pair_accepts_arrays_and_tuples_of_two_indices() -> None:
    space = ArmPair(4)
    assert np.array([0, 3]) in space
    assert (2, 2) in space
    assert (0, 4) not in space
    assert (-1, 0) not in space
    assert np.array([0, 1, 2]) not in space
    assert all(space.sample() in space for _ in range(50))


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda: UnicodeText(-1), ValueError, "min_length <= max_length"),
        (lambda: UnicodeText(5, min_length=6), ValueError, "min_length=6, max_length=5"),
        (lambda: UnicodeText(5.0), TypeError, "max_length must be an int"),
        (lambda: ArmPair(0), ValueError, "num_arms must be >= 1"),
        (lambda: ArmPair(2.5), TypeError, "num_arms must be an int"),
    ],
)
def test_bad_space_arguments_are_rejected(factory, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        factory()
