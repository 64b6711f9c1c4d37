"""Regret, queries-to-target and the data-efficiency multiplier."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from duelgym.evaluation import (
    data_efficiency_multiplier,
    max_at_k,
    pair_diversity,
    pass_at_k,
    queries_to_target,
    strong_regret,
    weak_regret,
    win_probabilities,
    win_rate,
)


@given(
    u=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 10)), elements=st.floats(-10, 10)),
    data=st.data(),
)
def test_regret_is_nonnegative_and_zero_exactly_at_the_best_pair(u: np.ndarray, data) -> None:
    batch, k = u.shape
    first = data.draw(hnp.arrays(np.int64, batch, elements=st.integers(0, k - 1)))
    second = data.draw(hnp.arrays(np.int64, batch, elements=st.integers(0, k - 1)))
    strong, weak = strong_regret(u, first, second), weak_regret(u, first, second)
    assert strong.shape == weak.shape == (batch,)
    assert (weak >= 0).all() and (strong >= weak).all()
    best = u.argmax(axis=1)
    assert (strong_regret(u, best, best) == 0).all() and (weak_regret(u, best, best) == 0).all()
    rows = np.arange(batch)
    assert np.allclose(strong, 2 * u.max(axis=1) - u[rows, first] - u[rows, second])


def test_regret_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"first and second must have shape \(2,\)"):
        strong_regret(np.zeros((2, 4)), [0, 1, 2], [0, 1, 2])


def test_queries_to_target_interpolates_between_bracketing_points() -> None:
    curve = [(100, 0.5), (200, 0.6), (400, 0.7), (800, 0.65)]
    assert queries_to_target(curve, 0.65) == pytest.approx(300.0)
    assert queries_to_target(curve, 0.5) == 100.0
    assert queries_to_target(curve, 0.4) == 100.0
    assert queries_to_target(curve, 0.7) == 400.0
    assert queries_to_target(curve, 0.71) is None


def test_sustained_crossing_ignores_an_early_touch_of_the_target() -> None:
    curve = [(100, 0.5), (200, 0.66), (400, 0.6), (800, 0.7), (1600, 0.72)]
    assert queries_to_target(curve, 0.65) == pytest.approx(100 + 100 * 0.15 / 0.16)
    assert queries_to_target(curve, 0.65, sustained=True) == pytest.approx(400 + 400 * 0.05 / 0.1)
    assert queries_to_target(curve, 0.4, sustained=True) == 100.0
    assert queries_to_target([(1, 0.7), (2, 0.6)], 0.65, sustained=True) is None
    assert queries_to_target([(1, 0.5), (2, 0.3)], 0.4, higher_is_better=False, sustained=True) == pytest.approx(1.5)


def test_queries_to_target_for_a_lower_is_better_metric() -> None:
    regret = [(10, 1.0), (20, 0.5), (40, 0.1)]
    assert queries_to_target(regret, 0.3, higher_is_better=False) == pytest.approx(30.0)
    assert queries_to_target(regret, 0.05, higher_is_better=False) is None


@given(
    values=st.lists(st.floats(0, 1), min_size=1, max_size=20),
    target=st.floats(0, 1),
)
def test_queries_to_target_returns_a_crossing_inside_the_curve(values: list, target: float) -> None:
    queries = np.arange(1, len(values) + 1) * 32.0
    result = queries_to_target(np.column_stack([queries, values]), target)
    if max(values) < target:
        assert result is None
    else:
        assert result is not None and queries[0] <= result <= queries[-1]
        first_reached = queries[int(np.argmax(np.asarray(values) >= target))]
        assert result <= first_reached


@pytest.mark.parametrize(
    ("curve", "target", "match"),
    [
        ([], 0.5, r"shape \(n, 2\)"),
        ([1, 2, 3], 0.5, r"shape \(n, 2\)"),
        ([(10, 0.1), (10, 0.2)], 0.5, "strictly increasing"),
        ([(10, 0.1), (20, float("nan"))], 0.5, "finite"),
        ([(10, 0.1)], float("inf"), "target must be finite"),
    ],
)
def test_bad_curves_are_rejected(curve, target: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        queries_to_target(curve, target)


def test_data_efficiency_multiplier() -> None:
    assert data_efficiency_multiplier(3200.0, 320.0) == pytest.approx(10.0)
    assert data_efficiency_multiplier(3200.0, None) is None
    assert data_efficiency_multiplier(None, 100.0) is None
    with pytest.raises(ValueError, match="agent_queries must be a finite number > 0"):
        data_efficiency_multiplier(100.0, 0.0)


@given(
    u=hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 8)), elements=st.floats(-5, 5)),
    data=st.data(),
)
def test_max_at_2_of_a_pair_is_the_best_utility_minus_weak_regret(u: np.ndarray, data) -> None:
    batch, k = u.shape
    pairs = data.draw(hnp.arrays(np.int64, (batch, 2), elements=st.integers(0, k - 1)))
    assert np.allclose(max_at_k(u, pairs), u.max(axis=1) - weak_regret(u, pairs[:, 0], pairs[:, 1]))
    assert np.array_equal(pass_at_k(u, pairs), weak_regret(u, pairs[:, 0], pairs[:, 1]) == 0)
    everything = np.tile(np.arange(k), (batch, 1))
    assert pass_at_k(u, everything).all()


def test_pair_diversity_counts_distinct_unordered_pairs() -> None:
    assert pair_diversity([[0, 1], [1, 0], [2, 3], [0, 1]]) == 0.5
    assert pair_diversity([[0, 1], [2, 3]]) == 1.0
    with pytest.raises(ValueError, match=r"pairs must have shape \(B, 2\)"):
        pair_diversity([[0, 1, 2]])
    with pytest.raises(ValueError, match="chosen must have shape"):
        max_at_k(np.zeros((3, 4)), np.zeros((2, 2), dtype=np.int64))


def test_regret_of_a_batch_with_several_leading_dimensions_equals_a_loop() -> None:
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2, 3, 5))  # (batch, batch, K): the K axis is the last one, not axis 1
    first, second = rng.integers(5, size=(2, 3)), rng.integers(5, size=(2, 3))
    strong, weak = strong_regret(u, first, second), weak_regret(u, first, second)
    for i in range(2):
        for j in range(3):
            row, a, b = u[i, j], first[i, j], second[i, j]
            assert strong[i, j] == pytest.approx(2 * row.max() - row[a] - row[b])
            assert weak[i, j] == pytest.approx(row.max() - max(row[a], row[b]))
    chosen = np.stack([first, second], axis=-1)
    np.testing.assert_allclose(max_at_k(u, chosen), u.max(axis=-1) - weak)
    np.testing.assert_array_equal(pass_at_k(u, chosen, tolerance=0.5), weak <= 0.5)


@pytest.mark.parametrize(
    ("utilities", "first", "second", "match"),
    [
        (np.zeros((2, 4)), [0, 1], [0, 1, 2], r"got \(2,\) and \(3,\)"),
        (np.zeros((2, 4)), [[0], [1]], [0, 1], r"got \(2, 1\) and \(2,\)"),
        (np.zeros((2, 0)), np.zeros(2, int), np.zeros(2, int), r"K >= 1, got shape \(2, 0\)"),
        (np.float64(1.0), 0, 0, r"K >= 1, got shape \(\)"),
    ],
)
def test_regret_inputs_of_the_wrong_shape_are_named(utilities, first, second, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        strong_regret(utilities, first, second)


def test_one_pair_and_one_point_are_valid_inputs() -> None:
    assert pair_diversity([[3, 1]]) == 1.0
    with pytest.raises(ValueError, match=r"B >= 1, got \(0, 2\)"):
        pair_diversity(np.zeros((0, 2), dtype=np.int64))
    assert queries_to_target([[32, 0.7]], 0.6) == 32.0
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        queries_to_target([[32, 0.7, 1.0]], 0.6)


def test_multiplier_is_the_exact_ratio_and_rejects_negative_queries() -> None:
    assert data_efficiency_multiplier(3.0, 2.0) == 1.5  # a floor division would give 1.0
    with pytest.raises(ValueError, match=r"baseline_queries must be a finite number > 0 or None, got -5\.0"):
        data_efficiency_multiplier(-5.0, 2.0)


class StubRater:
    """p_first = 1 if the response is "good", else 0.25 (a fixed law, for exact win rates)."""

    def p_first(self, prompts, first, second):
        return np.array([1.0 if a == "good" else 0.25 for a in first])


class FeedbackRater:
    """The feedback rater of StubEnv: evaluation must never consult it (it scores with the reference rater)."""

    def p_first(self, prompts, first, second):
        raise AssertionError("evaluation used the feedback rater instead of eval_rater")


class StubEnv:
    def __init__(self, prompts: list[str]) -> None:
        self.prompts, self.rater, self.eval_rater, self.unwrapped = prompts, FeedbackRater(), StubRater(), self


def test_win_rate_is_the_mean_rater_probability_with_its_standard_error() -> None:
    env = StubEnv(["a", "b", "c", "d"])
    result = win_rate(lambda prompts: ["good", "bad", "bad", "good"], env, baseline=["x"] * 4)
    p = np.array([1.0, 0.25, 0.25, 1.0])
    assert result.mean == pytest.approx(p.mean())
    assert result.stderr == pytest.approx(p.std(ddof=1) / 2)
    single = win_rate(lambda prompts: ["bad"], env, prompts=["a"], baseline=["x"])
    assert single == (0.25, 0.0)
    with pytest.raises(ValueError, match="4 prompts, 3 responses, 4 baseline responses"):
        win_rate(lambda prompts: ["good"] * 3, env, baseline=["x"] * 4)
    with pytest.raises(ValueError, match="4 prompts, 4 responses, 2 baseline responses"):
        win_rate(lambda prompts: ["good"] * 4, env, baseline=["x"] * 2)


def test_win_probabilities_checks_the_raters_output() -> None:
    env = StubEnv(["a", "b"])
    np.testing.assert_array_equal(win_probabilities(env, ["a", "b"], ["good", "bad"], ["x", "y"]), [1.0, 0.25])
    env.eval_rater.p_first = lambda prompts, first, second: np.array([0.5])
    with pytest.raises(ValueError, match=r"the rater returned p_first of shape \(1,\) for 2 pairs"):
        win_probabilities(env, ["a", "b"], ["good", "bad"], ["x", "y"])
    env.eval_rater.p_first = lambda prompts, first, second: np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="expected probabilities in"):
        win_probabilities(env, ["a", "b"], ["good", "bad"], ["x", "y"])


def test_edge_cases_that_mutation_testing_found_untested() -> None:
    assert strong_regret(np.array([1.0, 0.0, 2.0]), 0, 1) == 3.0  # one context: utilities (K,), scalar indices
    assert weak_regret(np.array([1.0, 0.0, 2.0]), 0, 1) == 1.0
    with pytest.raises(ValueError, match="strictly increasing"):
        queries_to_target([[64, 0.1], [32, 0.2]], 0.15)
    assert queries_to_target([[32, 0.5], [64, 0.2]], 0.2, higher_is_better=False) == 64.0  # reaching = equal too
    # Sustained: the curve reaches the target at its second point but not at its last one.
    assert queries_to_target([[32, 0.4], [64, 0.7], [128, 0.5]], 0.6, sustained=True) is None
    two = win_rate(lambda prompts: ["good", "bad"], StubEnv(["a", "b"]), baseline=["x", "y"])
    assert two.stderr == pytest.approx(np.std([1.0, 0.25], ddof=1) / np.sqrt(2))
