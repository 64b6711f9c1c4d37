"""The transform task, its programmatic utility and the utility rater."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duelgym.oracle import UtilityRater
from duelgym.tasks import (
    DEFAULT_FORMAT_BONUS,
    FORMAT_RATES,
    FORMATS,
    TransformTask,
    TransformUtility,
    answer,
    edit_distance,
    parse_response,
    split_of,
)

task = TransformTask(seed=0)
short_text = st.text("ab12 ", max_size=8)


def test_answers_of_each_kind() -> None:
    assert answer("sort 4 1 3 9") == "1 3 4 9"
    assert answer("rev hzfwy") == "ywfzh"
    assert answer("shift hzfwy") == "iagxz"
    assert answer("shift xyza") == "yzab"  # z wraps around to a
    with pytest.raises(ValueError, match="not a prompt of the task"):
        answer("mul 2 3")


def test_splits_are_disjoint_deterministic_and_sized() -> None:
    train, evaluation = task.prompts("train", 500), task.prompts("eval", 100)
    assert len(set(train)) == 500 and len(set(evaluation)) == 100
    assert not set(train) & set(evaluation)
    assert all(split_of(p) == "eval" for p in evaluation) and all(split_of(p) == "train" for p in train)
    assert task.prompts("eval", 100) == evaluation
    assert task.prompts("eval", 150)[:100] == evaluation
    assert TransformTask(seed=1).prompts("eval", 100) != evaluation
    with pytest.raises(ValueError, match="split must be 'train' or 'eval', got 'test'"):
        task.prompts("test", 5)


def test_demonstrations_vary_in_quality_and_format() -> None:
    rng = np.random.default_rng(0)
    prompts = task.prompts("train", 400)
    demos = [task.demonstration(p, rng) for p in prompts]
    correct = np.mean([parse_response(d)[0] == answer(p) for p, d in zip(prompts, demos, strict=True)])
    formats = {parse_response(d)[1] for d in demos}
    assert 0.35 < correct < 0.6  # 45% are correct by construction (a few corruptions cancel out)
    assert formats == set(FORMATS)


def test_demonstration_formats_are_graded_by_rarity() -> None:
    rng = np.random.default_rng(1)
    styles = [parse_response(task.demonstration(p, rng))[1] for p in task.prompts("train", 4000)]
    shares = np.array([styles.count(style) / len(styles) for style in FORMATS])
    np.testing.assert_allclose(shares, FORMAT_RATES, atol=0.025)
    assert list(FORMAT_RATES) == sorted(FORMAT_RATES, reverse=True) and sum(FORMAT_RATES) == pytest.approx(1.0)


@given(a=short_text, b=short_text, c=short_text)
def test_edit_distance_is_a_metric(a: str, b: str, c: str) -> None:
    assert edit_distance(a, a) == 0
    assert edit_distance(a, "") == len(a)
    assert edit_distance(a, b) == edit_distance(b, a)
    assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)
    assert (edit_distance(a, b) == 0) == (a == b)


def test_utility_rewards_correctness_format_and_brevity() -> None:
    utility = TransformUtility()
    prompt = "sort 4 1 3 9"
    responses = {"plain": "1 3 4 9", "arrow": "=> 1 3 4 9", "bracket": "[1 3 4 9]", "paren": "(1 3 4 9)",
                 "brace": "{1 3 4 9}", "filler": "{1 3 4 9} ok done", "after": "{1 3 4 9}x", "wrong": "{1 3 9 4}",
                 "newline": "{1 3 4 9}\n", "mixed": "[1 3 4 9}"}  # fmt: skip
    values = dict(zip(responses, utility([prompt] * len(responses), list(responses.values())), strict=True))
    for style in FORMATS:
        assert values[style] == pytest.approx(1.0 + DEFAULT_FORMAT_BONUS.get(style, 0.0)), style
    assert values["plain"] == values["arrow"] < values["bracket"] < values["paren"] < values["brace"]
    assert values["filler"] == pytest.approx(1.0 - 0.03 * 8)  # no bonus unless the format is exact
    assert values["after"] == pytest.approx(1.0 - 0.03)
    assert values["newline"] == values["brace"]  # the LM's trailing newline is not a character of the response
    assert values["wrong"] == pytest.approx(1.0 - 2 / 7)  # a swap is two edits, and no bonus
    assert values["mixed"] < 1.0  # "[" without "]" is a plain response with wrong characters
    custom = TransformUtility({"arrow": 0.5, "brace": -0.2}, extra_character_penalty=0.0)
    assert custom.one(prompt, "=> 1 3 4 9") == pytest.approx(1.5) and custom.one(prompt, "[1 3 4 9]") == 1.0
    assert custom.one(prompt, "{1 3 4 9} ok") == pytest.approx(1.0)
    with pytest.raises(TypeError, match="responses must be str"):
        utility([prompt], [3])
    with pytest.raises(ValueError, match="same length"):
        utility([prompt], [])


def test_utility_refuses_bad_format_bonuses() -> None:
    with pytest.raises(ValueError, match=r"format_bonus has unknown formats \['angle'\]"):
        TransformUtility({"angle": 0.1})
    with pytest.raises(TypeError, match="format_bonus must be a mapping"):
        TransformUtility([("brace", 0.1)])
    with pytest.raises(ValueError, match=r"format_bonus\['brace'\] must be finite"):
        TransformUtility({"brace": float("nan")})
    with pytest.raises(TypeError, match=r"format_bonus\['paren'\] must be a real number"):
        TransformUtility({"paren": "0.1"})
    with pytest.raises(ValueError, match="extra_character_penalty must be >= 0"):
        TransformUtility(extra_character_penalty=-0.1)


@given(first=st.text(max_size=12), second=st.text(max_size=12), prompt=st.sampled_from(task.prompts("train", 20)))
def test_utility_rater_is_a_consistent_bradley_terry_rater(first: str, second: str, prompt: str) -> None:
    rater = UtilityRater(TransformUtility(), temperature=0.1)
    forward = rater.p_first([prompt], [first], [second])
    backward = rater.p_first([prompt], [second], [first])
    assert forward[0] + backward[0] == pytest.approx(1.0)
    assert rater([prompt], [first], [first])[0] == 0.5
    assert 0.0 <= forward[0] <= 1.0


def test_a_utility_returning_nan_is_reported() -> None:
    rater = UtilityRater(lambda prompts, items: np.full(len(items), np.nan))
    with pytest.raises(ValueError, match="utility must return 1 finite values"):
        rater.p_first(["x"], ["a"], ["b"])
    with pytest.raises(TypeError, match="utility must be callable"):
        UtilityRater("not callable")
