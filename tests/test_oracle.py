"""Properties of the Bradley-Terry rater and choice sampling."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from duelgym.oracle import (
    BradleyTerry,
    CallableRater,
    Rater,
    UtilityRater,
    check_probabilities,
    choice_entropy,
    sample_choices,
)

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


def test_the_default_temperature_is_one_utility_unit() -> None:
    assert BradleyTerry().temperature == 1.0
    rater = UtilityRater(lambda contexts, items: np.asarray(items, dtype=np.float64))
    assert rater.bradley_terry.temperature == 1.0
    assert rater.p_first([None], [1.0], [0.0])[0] == pytest.approx(1.0 / (1.0 + np.exp(-1.0)))


@given(data=st.data(), temperature=temperatures)
def test_a_utility_rater_is_bradley_terry_on_its_utilities(data, temperature: float) -> None:
    u_first = data.draw(utility_arrays)
    u_second = data.draw(hnp.arrays(np.float64, u_first.shape, elements=utilities))
    rater = UtilityRater(lambda contexts, items: np.asarray(items), temperature=temperature)
    assert isinstance(rater, Rater) and isinstance(CallableRater(lambda c, a, b: [0.5]), Rater)
    contexts = [None] * len(u_first)
    np.testing.assert_array_equal(
        rater(contexts, u_first, u_second), BradleyTerry(temperature).probability(u_first, u_second)
    )
    np.testing.assert_array_equal(rater.utility(contexts, u_first), u_first)


@pytest.mark.parametrize("values", [[0.0, 1.0, 2.0], [[0.0, 1.0]], [0.0, float("nan")], [float("inf"), 0.0]])
def test_a_utility_rater_rejects_utilities_of_the_wrong_shape_or_not_finite(values: list) -> None:
    rater = UtilityRater(lambda contexts, items: values)
    with pytest.raises(ValueError, match="utility must return 2 finite values"):
        rater.p_first(["c", "c"], ["a", "b"], ["b", "a"])


def test_raters_must_be_callable() -> None:
    with pytest.raises(TypeError, match=r"utility must be callable as utility\(contexts, items\), got 'u'"):
        UtilityRater("u")
    with pytest.raises(TypeError, match=r"rater must be callable as rater\(prompts, first, second\), got 3"):
        CallableRater(3)


def test_probabilities_at_the_ends_of_the_unit_interval_and_of_any_real_dtype_are_accepted() -> None:
    for p in ([0.0, 1.0], [False, True], np.array([0, 1], dtype=np.uint8), np.array([0.0, 1.0], dtype=np.float16)):
        checked = check_probabilities(p, size=2)
        assert checked.dtype == np.float64
        np.testing.assert_array_equal(checked, [0.0, 1.0])
    # Without a size any shape goes through; with one, only (size,).
    assert check_probabilities([[0.25, 0.5]]).shape == (1, 2)
    for wrong in ([[0.25, 0.5]], [0.25], [0.25, 0.5, 0.75]):
        with pytest.raises(ValueError, match=rf"returned p_first of shape \({len(wrong)}.*\) for 2 pairs"):
            check_probabilities(wrong, size=2)


def test_the_first_bad_probability_is_the_one_named() -> None:
    # (numpy 2 shows the value as np.float64(2.0))
    with pytest.raises(ValueError, match=r"p_first=(np\.float64\()?2\.0\)? at index \(1,\)"):
        check_probabilities([0.5, 2.0, -1.0, 3.0])
    with pytest.raises(ValueError, match=r"p_first=(np\.float64\()?-0\.5\)? at index \(0, 1\)"):
        check_probabilities([[0.5, -0.5], [2.0, 0.5]])


class Unconvertible:
    def __array__(self, dtype=None, copy=None):
        raise TypeError("no array here")


@pytest.mark.parametrize(
    ("p_first", "match"),
    [
        (["0.5"], r"p_first=\['0\.5'\] with dtype <U3; expected real numbers"),
        ([None], r"p_first=\[None\] with dtype object"),
        ([[0.5], [0.5, 0.5]], r"p_first=\[\[0\.5\], \[0\.5, 0\.5\]\] of type list, which is not an array"),
        (Unconvertible(), r"of type Unconvertible, which is not an array"),
    ],
)
def test_what_is_not_an_array_of_real_numbers_is_a_type_error_naming_the_value(p_first, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        check_probabilities(p_first, source="my rater")


def test_long_values_are_shortened_to_80_characters_in_errors() -> None:
    exact = ["x" * 76]  # repr: 80 characters, shown whole
    with pytest.raises(TypeError, match=rf"p_first={re.escape(repr(exact))} with dtype"):
        check_probabilities(exact)
    longer = ["x" * 77]  # 81 characters: the first 77 and "..."
    with pytest.raises(TypeError) as error:
        check_probabilities(longer)
    assert f"p_first={repr(longer)[:77]}... with dtype" in str(error.value)


@given(p=st.floats(0.0, 1.0))
def test_choice_entropy_is_the_binary_entropy_and_symmetric(p: float) -> None:
    expected = 0.0 if p in (0.0, 1.0) else -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert choice_entropy([p]) == pytest.approx(expected, abs=1e-9)
    assert choice_entropy([p, 1 - p]) == pytest.approx(choice_entropy([1 - p]), abs=1e-9)


def test_a_hugging_face_rater_loads_local_models_only_and_scores_one_text_at_a_time(tmp_path) -> None:
    from test_llm_env import save_tiny_reward_model

    from duelgym.oracle import HuggingFaceRater

    (tmp_path / "empty").mkdir()
    # Neither a directory without a model (transformers raises ValueError) nor a path that is no directory and no
    # cached name (OSError) escapes as transformers' own error.
    for missing in (tmp_path / "empty", tmp_path / "absent"):
        with pytest.raises(FileNotFoundError, match=r"cannot load a sequence-classification reward model .*offline"):
            HuggingFaceRater(str(missing))
    path = save_tiny_reward_model(tmp_path / "model")
    rater = HuggingFaceRater(path)
    assert rater.bradley_terry.temperature == 1.0
    prompts, first, second = ["rev abc", "sort 3 1 2"], ["cba", "1 2 3"], ["abc", "3 2 1 0"]
    one_at_a_time = HuggingFaceRater(path, batch_size=1).p_first(prompts, first, second)
    np.testing.assert_allclose(one_at_a_time, rater.p_first(prompts, first, second), atol=1e-6)


def test_a_hugging_face_rater_never_asks_to_download(monkeypatch) -> None:
    import transformers

    from duelgym.oracle import HuggingFaceRater

    calls = []

    def refuse(name_or_path, **kwargs):
        calls.append(kwargs)
        raise OSError("not here")

    for auto in (transformers.AutoTokenizer, transformers.AutoModelForSequenceClassification):
        monkeypatch.setattr(auto, "from_pretrained", refuse)
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        HuggingFaceRater("some-org/some-reward-model")
    assert calls == [{"local_files_only": True}]
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda name_or_path, **kwargs: None)
    with pytest.raises(FileNotFoundError):
        HuggingFaceRater("some-org/some-reward-model")
    assert calls[1:] == [{"local_files_only": True}]


def test_a_hugging_face_rater_truncates_long_texts_and_reads_logit_zero(tmp_path) -> None:
    import torch
    from test_llm_env import save_tiny_reward_model
    from transformers import AutoModelForSequenceClassification

    from duelgym.oracle import HuggingFaceRater

    path = save_tiny_reward_model(tmp_path / "one")
    rater = HuggingFaceRater(path)
    rater.tokenizer.model_max_length = 64  # the tiny model's positions: a longer text must be cut, not crash
    long = "rev " + " ".join(["abc"] * 100)
    assert np.isfinite(rater.utility([long], ["cba " * 50])).all()
    # A head with two logits: the utility is the first one.
    two = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, ignore_mismatched_sizes=True)
    torch.manual_seed(1)
    torch.nn.init.normal_(two.score.weight)
    two.save_pretrained(tmp_path / "two")
    rater.tokenizer.save_pretrained(tmp_path / "two")
    rater = HuggingFaceRater(str(tmp_path / "two"))
    batch = rater.tokenizer(["rev abc"], ["cba"], return_tensors="pt")
    with torch.no_grad():
        logits = rater.model(**batch).logits[0]
    assert logits[0] != logits[1]
    assert rater.utility(["rev abc"], ["cba"])[0] == pytest.approx(logits[0].item(), abs=1e-6)
