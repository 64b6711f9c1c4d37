"""The transform task, its programmatic utility and the utility rater."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duelgym.oracle import UtilityRater
from duelgym.tasks import TransformTask, TransformUtility, answer, edit_distance, parse_response, split_of

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
    assert formats == {"plain", "bracket", "arrow"}


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
    values = dict(
        zip(
            ["exact", "plain", "arrow", "filler", "wrong"],
            utility([prompt] * 5, ["[1 3 4 9]", "1 3 4 9", "=> 1 3 4 9", "[1 3 4 9] ok done", "[1 3 9 4]"]),
            strict=True,
        )
    )
    assert values["exact"] == pytest.approx(1.3)
    assert values["plain"] == values["arrow"] == pytest.approx(1.0)
    assert values["filler"] == pytest.approx(1.0 - 0.03 * 8)
    assert values["wrong"] < values["plain"]
    with pytest.raises(TypeError, match="responses must be str"):
        utility([prompt], [3])
    with pytest.raises(ValueError, match="same length"):
        utility([prompt], [])


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
