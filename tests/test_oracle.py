"""Properties of the Bradley-Terry rater and choice sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from duelgym.oracle import BradleyTerry, CallableRater, check_probabilities, choice_entropy, sample_choices

utilities = st.floats(-50.0, 50.0)
temperatures = st.floats(0.01, 20.0)
utility_arrays = hnp.arrays(np.float64, st.integers(1, 30), elements=utilities)


@given(u_a=utilities, u_b=utilities, temperature=temperatures)
def test_swapping_the_pair_complements_the_probability(u_a: float, u_b: float, temperature: float) -> None:
    bt = BradleyTerry(temperature)
    assert bt.probability(u_a, u_b) + bt.probability(u_b, u_a) == pytest.approx(1.0, abs=1e-12)


@given(u=utilities, temperature=temperatures)
def test_an_item_against_itself_is_a_coin_flip(u: float, temperature: float) -> None:
    assert BradleyTerry(temperature).probability(u, u) == 0.5


@given(u_a=utilities, u_b=utilities, delta=st.floats(0.0, 10.0), temperature=temperatures)
def test_probability_is_monotone_in_the_first_utility(u_a: float, u_b: float, delta: float, temperature: float) -> None:
    bt = BradleyTerry(temperature)
    assert bt.probability(u_a + delta, u_b) >= bt.probability(u_a, u_b)


@given(u_a=utilities, u_b=utilities, temperature=temperatures)
def test_probability_is_the_logistic_of_the_scaled_difference(u_a: float, u_b: float, temperature: float) -> None:
    x = (u_a - u_b) / temperature
    expected = 1.0 / (1.0 + np.exp(-x)) if x > -700 else 0.0
    assert BradleyTerry(temperature).probability(u_a, u_b) == pytest.approx(expected, abs=1e-12)


@given(data=st.data(), temperature=temperatures)
def test_batched_probability_equals_a_loop(data, temperature: float) -> None:
    u_a = data.draw(utility_arrays)
    u_b = data.draw(hnp.arrays(np.float64, u_a.shape, elements=utilities))
    bt = BradleyTerry(temperature)
    batched = bt.probability(u_a, u_b)
    assert batched.shape == u_a.shape and batched.dtype == np.float64
    assert np.array_equal(batched, [bt.probability(a, b) for a, b in zip(u_a, u_b, strict=True)])


@given(p=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_sampled_choice_frequency_is_within_binomial_bounds(p: float, seed: int) -> None:
    n = 4000
    choices = sample_choices(np.full(n, p), np.random.default_rng(seed))
    assert set(np.unique(choices)) <= {0.0, 1.0}
    # 5 standard deviations (plus one count for p at 0 or 1): a false alarm about once in 3.5 million.
    assert abs(choices.mean() - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1 / n


def test_sampling_is_reproducible_from_the_generator_state() -> None:
    p = np.linspace(0, 1, 101)
    first = sample_choices(p, np.random.default_rng(3))
    assert np.array_equal(first, sample_choices(p, np.random.default_rng(3)))
    assert not np.array_equal(first, sample_choices(p, np.random.default_rng(4)))


def test_choice_entropy_spans_deterministic_to_coin_flip() -> None:
    assert choice_entropy([0.5, 0.5]) == pytest.approx(1.0)
    assert choice_entropy([0.0, 1.0]) == pytest.approx(0.0, abs=1e-9)
    assert choice_entropy([0.9]) == pytest.approx(0.469, abs=1e-3)
    assert BradleyTerry(0.01).sample([1.0], [0.0], np.random.default_rng(0))[0] == 1.0


def test_a_plain_callable_rates_through_callable_rater_with_its_output_checked() -> None:
    def prefer_shorter(prompts, first, second):
        return np.array([float(len(a) < len(b)) for a, b in zip(first, second, strict=True)])

    rater = CallableRater(prefer_shorter)
    np.testing.assert_array_equal(rater.p_first(["p", "p"], ["a", "abc"], ["ab", "b"]), [1.0, 0.0])
    with pytest.raises(ValueError, match=r"one probability per pair, shape \(3,\)"):
        CallableRater(lambda prompts, first, second: [0.5])(["p"] * 3, ["a"] * 3, ["b"] * 3)
    with pytest.raises(ValueError, match="expected probabilities"):
        CallableRater(lambda prompts, first, second: [2.0])(["p"], ["a"], ["b"])


@pytest.mark.parametrize("bad", [[0.5, 1.5], [-0.1], [float("nan")], [0.2, float("inf")]])
def test_probabilities_outside_the_unit_interval_are_rejected(bad: list) -> None:
    with pytest.raises(ValueError, match=r"my rater returned p_first=.* at index \(\d+,\); expected probabilities"):
        check_probabilities(bad, source="my rater")
    with pytest.raises(ValueError, match="expected probabilities in"):
        sample_choices(bad, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("temperature", "error", "match"),
    [
        (0.0, ValueError, "temperature must be a finite number > 0, got 0.0"),
        (-1.0, ValueError, "temperature must be a finite number > 0, got -1.0"),
        (float("nan"), ValueError, "temperature must be finite, got nan"),
        (float("inf"), ValueError, "temperature must be finite, got inf"),
        ("1.0", TypeError, "temperature must be a real number, got '1.0'"),
        (True, TypeError, "temperature must be a real number"),
    ],
)
def test_bad_temperatures_are_rejected(temperature, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        BradleyTerry(temperature)
