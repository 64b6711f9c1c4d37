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
