"""Online RLHF's update rule (agents/online.py): the nudged policy gradient, the KL and its estimators, the EMA
anchor, the pairs it learns from, and the power-law fit of duelgym.evaluation."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from duelgym.agents.online import (
    Policy,
    PolicyUpdateConfig,
    ema_update,
    extreme_pairs,
    pair_signals,
    queried_and_extreme_pairs,
    reversed_pairs,
    sequence_kl,
)
from duelgym.evaluation import fit_win_rate_curve
from duelgym.lm import EMBEDDED_MODEL, load

PROMPT = "rev abc"
PLAIN, BRACKET = "cba", "[cba]"


@pytest.fixture(scope="module")
def base_lm():
    torch.manual_seed(0)
    return load(EMBEDDED_MODEL)


def fresh_policy(base_lm, **settings) -> Policy:
    return Policy(base_lm.with_model(copy.deepcopy(base_lm.model)), PolicyUpdateConfig(**settings))


def log_prob(policy: Policy, response: str) -> float:
    with torch.no_grad():
        logits, tokens, mask, _ = policy.lm.response_logits([PROMPT], [response])
        return float((logits.log_softmax(-1).gather(2, tokens[..., None])[..., 0] * mask).sum())


# --- the update rule -------------------------------------------------------------------------------------------


def test_the_update_moves_probability_toward_the_preferred_response(base_lm) -> None:
    policy = fresh_policy(base_lm, learning_rate=1e-2, kl_weight=0.0, nudge=0.0)
    before = log_prob(policy, BRACKET) - log_prob(policy, PLAIN)
    # The reward model prefers the bracket with p = σ(2) ≈ 0.88: the pair both ways, as the online step uses it.
    utilities = torch.tensor([[0.0, 2.0]])
    weights = pair_signals(utilities, reversed_pairs(torch.tensor([[1, 0]])), nudge=0.0)
    assert weights[0, 1] > 0 > weights[0, 0]
    for _ in range(3):
        policy.update([PROMPT, PROMPT], [PLAIN, BRACKET], weights[0])
    assert log_prob(policy, BRACKET) - log_prob(policy, PLAIN) > before + 1.0


def test_the_nudge_raises_the_likelihood_of_both_responses_of_a_tie(base_lm) -> None:
    policy = fresh_policy(base_lm, learning_rate=1e-3, kl_weight=0.0)
    start = (log_prob(policy, PLAIN), log_prob(policy, BRACKET))
    weights = pair_signals(torch.zeros(1, 2), reversed_pairs(torch.tensor([[0, 1]])), nudge=0.1)
    assert torch.allclose(weights, torch.full((1, 2), 0.1))  # (½ − ½ + ε) each way
    policy.update([PROMPT, PROMPT], [PLAIN, BRACKET], weights[0])
    assert log_prob(policy, PLAIN) > start[0] and log_prob(policy, BRACKET) > start[1]


def test_the_kl_term_pulls_the_policy_back_toward_its_anchor(base_lm) -> None:
    policy = fresh_policy(base_lm, learning_rate=3e-3, kl_weight=1.0, anchor_rate=1e-6)
    with torch.no_grad():
        for parameter in policy.lm.model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))

    def kl() -> float:
        with torch.no_grad():
            logits, tokens, mask, _ = policy.lm.response_logits([PROMPT] * 2, [PLAIN, BRACKET])
            anchor = policy.anchor.response_logits([PROMPT] * 2, [PLAIN, BRACKET])[0]
            return float(sequence_kl(logits.log_softmax(-1), anchor.log_softmax(-1), tokens, mask).sum())

    before = kl()
    for _ in range(5):
        policy.update([PROMPT, PROMPT], [PLAIN, BRACKET], torch.zeros(2))  # no reward signal: only the KL acts
    assert kl() < 0.7 * before
    # The anchor moves only by its EMA: frozen, no gradient ever reaches it (nor an autograd graph through it).
    assert not any(p.requires_grad or p.grad is not None for p in policy.anchor.model.parameters())


def test_the_anchor_equals_its_closed_form_after_n_steps(base_lm) -> None:
    rate, steps = 0.2, 4
    policy = fresh_policy(base_lm, learning_rate=1e-2, anchor_rate=rate)
    initial = [p.detach().clone() for p in policy.lm.model.parameters()]
    history = []
    for step in range(steps):
        policy.update([PROMPT, PROMPT], [PLAIN, BRACKET], torch.tensor([0.3, -0.2 + step * 0.1]))
        history.append([p.detach().clone() for p in policy.lm.model.parameters()])
    # θ_anchor(n) = (1 − η)^n θ_0 + Σ_k η (1 − η)^(n − k) θ_k
    for index, anchor in enumerate(policy.anchor.model.parameters()):
        expected = (1 - rate) ** steps * initial[index]
        for k, parameters in enumerate(history, start=1):
            expected = expected + rate * (1 - rate) ** (steps - k) * parameters[index]
        torch.testing.assert_close(anchor, expected, rtol=1e-5, atol=1e-6)
    assert not torch.equal(next(policy.anchor.model.parameters()), history[-1][0])


def test_ema_update_with_rate_one_copies_the_model() -> None:
    torch.manual_seed(0)
    model, anchor = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ema_update(anchor, model, 1.0)
    assert torch.equal(anchor.weight, model.weight) and torch.equal(anchor.bias, model.bias)


# --- the KL and its estimators ----------------------------------------------------------------------------------


def test_the_exact_per_token_kl_matches_a_brute_force_sum(base_lm) -> None:
    policy = fresh_policy(base_lm)
    with torch.no_grad():
        for parameter in policy.anchor.model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        responses = ["cba", "[cba] ok", "x"]
        logits, tokens, mask, _ = policy.lm.response_logits([PROMPT] * 3, responses)
        anchor = policy.anchor.response_logits([PROMPT] * 3, responses)[0]
    got = sequence_kl(logits.log_softmax(-1), anchor.log_softmax(-1), tokens, mask)
    for row in range(3):
        total = 0.0
        for t in range(int(mask[row].sum())):
            p = torch.distributions.Categorical(logits=logits[row, t].double())
            q = torch.distributions.Categorical(logits=anchor[row, t].double())
            total += float(torch.distributions.kl_divergence(p, q))
        assert math.isclose(float(got[row]), total, rel_tol=1e-4)
    assert got[0] != got[1]  # per response, over its own tokens only


def test_the_sampled_estimators_agree_with_the_exact_kl_and_its_gradient() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(7, generator=generator, requires_grad=True)
    anchor = torch.randn(7, generator=generator).log_softmax(-1)
    n = 200_000
    tokens = torch.multinomial(logits.detach().softmax(-1), n, replacement=True, generator=generator)
    shape = (n, 1, 7)
    mask = torch.ones(n, 1, dtype=torch.bool)

    def value(estimator: str) -> tuple[float, torch.Tensor]:
        log_probs = logits.log_softmax(-1).expand(shape)
        result = sequence_kl(log_probs, anchor.expand(shape), tokens[:, None], mask, estimator).mean()
        (gradient,) = torch.autograd.grad(result, logits)
        return float(result.detach()), gradient

    exact, exact_grad = value("exact")
    k3, k3_grad = value("k3")
    _, k1_grad = value("k1")
    (reverse_grad,) = torch.autograd.grad((anchor.exp() * (anchor - logits.log_softmax(-1))).sum(), logits)
    assert math.isclose(k3, exact, rel_tol=0.03)  # k3's value estimates KL(π ‖ π_anchor) ...
    torch.testing.assert_close(k1_grad, exact_grad, atol=0.02, rtol=0.05)  # ... k1's gradient its gradient ...
    torch.testing.assert_close(k3_grad, reverse_grad, atol=0.02, rtol=0.05)  # ... k3's that of KL(π_anchor ‖ π)
    assert (k3_grad - exact_grad).abs().max() > 0.05


# --- pairs ------------------------------------------------------------------------------------------------------


def test_pair_signals_sum_each_samples_pairs_by_brute_force() -> None:
    utilities = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    pairs = torch.tensor([[[3, 2], [2, 3], [3, 0], [1, 0]]])
    weights = pair_signals(utilities, pairs, nudge=0.05)
    sigma = torch.sigmoid
    expected = torch.tensor([[0.0, sigma(torch.tensor(1.0)) - 0.45, sigma(torch.tensor(-3.0)) - 0.45,
                              sigma(torch.tensor(3.0)) + sigma(torch.tensor(2.0)) - 0.9]])  # fmt: skip
    torch.testing.assert_close(weights, expected)


@given(st.lists(st.floats(-5, 5), min_size=4, max_size=10, unique=True))
def test_extreme_pairs_are_the_top_and_bottom_two_both_ways(values: list[float]) -> None:
    utilities = torch.tensor([values], dtype=torch.float64)
    order = sorted(range(len(values)), key=lambda i: -values[i])
    got = extreme_pairs(utilities)[0].tolist()
    assert got == [[order[0], order[-1]], [order[-1], order[0]], [order[1], order[-2]], [order[-2], order[1]]]
    queried = torch.tensor([[order[2], order[1]]])
    assert queried_and_extreme_pairs(queried, utilities)[0].tolist() == [
        [order[2], order[1]], [order[1], order[2]], [order[0], order[-1]], [order[-1], order[0]],
    ]  # fmt: skip


# --- the curve fit ----------------------------------------------------------------------------------------------


def test_a_fit_with_a_ceiling_recovers_it_and_refuses_win_rates_beyond() -> None:
    labels = np.array([64, 128, 256, 512.0])
    fit = fit_win_rate_curve(labels, 0.9 - 0.4 * (labels / 30.0) ** -0.5, ceiling=0.9)
    assert math.isclose(fit.a, 30.0, rel_tol=1e-9) and math.isclose(fit.b, 0.5, rel_tol=1e-9)
    assert fit.win_rate(1e12) < 0.9
    with pytest.raises(ValueError, match=r"win_rate must be in \(0.5, 0.9\)"):
        fit.labels_for(0.95)


def test_the_power_law_fit_recovers_a_and_b_and_inverts() -> None:
    labels = np.array([64, 128, 256, 512, 1024.0])
    fit = fit_win_rate_curve(labels, 1 - 0.5 * (labels / 40.0) ** -0.3)
    assert math.isclose(fit.a, 40.0, rel_tol=1e-9) and math.isclose(fit.b, 0.3, rel_tol=1e-9) and fit.rmse < 1e-12
    assert math.isclose(fit.labels_for(float(fit.win_rate(5000))), 5000, rel_tol=1e-9)
    assert fit_win_rate_curve(labels, [0.4, 0.5, 0.45, 0.6, 0.5]) is None  # one point above ½: no fit
    with pytest.raises(ValueError, match="win_rate must be in"):
        fit.labels_for(0.4)


def test_a_nearly_flat_curve_fits_with_its_residual_and_no_overflow_warning() -> None:
    """a = exp(intercept / b) underflows to 0 (b > 0) or overflows (b < 0) for a nearly flat curve; the residual
    comes from the fitted line, so it stays the small number it is."""
    labels = np.array([64, 128, 256, 512.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rising = fit_win_rate_curve(labels, [0.7, 0.7, 0.7, 0.7 + 1e-9])
        falling = fit_win_rate_curve(labels, [0.7 + 1e-9, 0.7, 0.7, 0.7])
    assert rising.a == 0.0 and rising.b > 0 and rising.rmse < 1e-9
    assert falling.a == math.inf and falling.b < 0 and falling.rmse < 1e-9


# --- bad input --------------------------------------------------------------------------------------------------

BAD_UPDATE_SETTINGS = [
    ({"nudge": -0.1}, "nudge must be >= 0"),
    ({"kl_weight": -1.0}, "kl_weight must be >= 0"),
    ({"anchor_rate": 0.0}, r"anchor_rate must be in \(0, 1\]"),
    ({"anchor_rate": 1.5}, r"anchor_rate must be in \(0, 1\]"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
    ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ({"kl": "k2"}, "kl must be one of"),
]


@pytest.mark.parametrize(("settings", "message"), BAD_UPDATE_SETTINGS)
def test_bad_update_settings_are_refused_by_name(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicyUpdateConfig(**settings)


def test_an_update_without_rows_is_refused(base_lm) -> None:
    with pytest.raises(ValueError, match="update needs n >= 1 prompts"):
        fresh_policy(base_lm).update([], [], torch.zeros(0))


# --- tests written against the mutants `make mutation` left alive ---------------------------------------------


def test_the_update_minimises_minus_the_weighted_log_likelihood_plus_the_kl(base_lm) -> None:
    policy = fresh_policy(base_lm, kl_weight=0.5)
    with torch.no_grad():
        for parameter in policy.anchor.model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        logits, tokens, mask, _ = policy.lm.response_logits([PROMPT] * 2, [PLAIN, BRACKET])
        anchor = policy.anchor.response_logits([PROMPT] * 2, [PLAIN, BRACKET])[0]
        log_probs = logits.log_softmax(-1)
        sequence = (log_probs.gather(2, tokens[..., None])[..., 0] * mask).sum(1)
        kl = sequence_kl(log_probs, anchor.log_softmax(-1), tokens, mask)
    weights = torch.tensor([0.3, -0.2])
    assert policy.steps == 0
    metrics = policy.update([PROMPT] * 2, [PLAIN, BRACKET], weights)
    assert policy.steps == 1
    assert math.isclose(metrics["loss"], float(-(weights * sequence).sum() + 0.5 * kl.sum()), rel_tol=1e-5)
    assert math.isclose(metrics["kl"], float(kl.mean()), rel_tol=1e-5)  # the exact KL is what is reported
    assert math.isclose(metrics["log_prob"], float(sequence.mean()), rel_tol=1e-5)


def test_a_sampled_estimator_reports_the_non_negative_k3_value(base_lm) -> None:
    policy = fresh_policy(base_lm, kl="k1")
    with torch.no_grad():
        for parameter in policy.anchor.model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        logits, tokens, mask, _ = policy.lm.response_logits([PROMPT] * 2, [PLAIN, BRACKET])
        anchor = policy.anchor.response_logits([PROMPT] * 2, [PLAIN, BRACKET])[0]
        k3 = sequence_kl(logits.log_softmax(-1), anchor.log_softmax(-1), tokens, mask, "k3")
    metrics = policy.update([PROMPT] * 2, [PLAIN, BRACKET], torch.zeros(2))
    assert math.isclose(metrics["kl"], float(k3.mean()), rel_tol=1e-5) and metrics["kl"] >= 0


def test_the_documented_defaults_and_an_immutable_config() -> None:
    config = PolicyUpdateConfig()
    assert (config.nudge, config.kl_weight, config.anchor_rate, config.learning_rate, config.clip_norm,
            config.weight_decay, config.kl) == (0.02, 0.02, 0.01, 3e-4, 1.0, 0.0, "exact")  # fmt: skip
    assert PolicyUpdateConfig(anchor_rate=1.0).anchor_rate == 1.0  # (0, 1]: 1 copies the policy
    with pytest.raises(AttributeError):
        config.nudge = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"anchor_rate must be in \(0, 1\]"):
        PolicyUpdateConfig(anchor_rate=-0.1)


def test_mismatched_rows_are_refused(base_lm) -> None:
    policy = fresh_policy(base_lm)
    with pytest.raises(ValueError, match="update needs n >= 1 prompts"):
        policy.update([PROMPT], [PLAIN, BRACKET], torch.zeros(1))
    with pytest.raises(ValueError, match="update needs n >= 1 prompts"):
        policy.update([PROMPT, PROMPT], [PLAIN], torch.zeros(2))
    for weights in (torch.zeros(3), torch.zeros(1)):
        with pytest.raises(ValueError, match="update needs n >= 1 prompts"):
            policy.update([PROMPT, PROMPT], [PLAIN, BRACKET], weights)


def test_extreme_pairs_need_four_samples() -> None:
    with pytest.raises(ValueError, match="at least 4 samples per prompt, got 3"):
        extreme_pairs(torch.zeros(2, 3))


def test_ema_update_copies_buffers() -> None:
    model, anchor = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    model.running_mean.fill_(2.0)
    ema_update(anchor, model, 0.1)
    assert torch.equal(anchor.running_mean, model.running_mean)


def test_each_ablation_differs_from_its_base_in_one_field() -> None:
    import dataclasses

    from duelgym.agents.online import SCHEDULES

    expected = {
        "offline-extremes": ("offline", {"nudge", "phase_pairs"}),
        "online-no-nudge": ("online", {"nudge"}),
        "online-no-anchor": ("online", {"anchor"}),
        "online-enn": ("online", {"reward_model"}),
        "online-ids-no-nudge": ("online-ids", {"nudge"}),
    }
    for variant, (base, fields) in expected.items():
        mine, theirs = dataclasses.asdict(SCHEDULES[variant]), dataclasses.asdict(SCHEDULES[base])
        assert {k for k in mine if mine[k] != theirs[k]} == fields, variant
    assert not SCHEDULES["offline"].nudge and SCHEDULES["online"].nudge and SCHEDULES["online-ids"].agent == "ids"
    assert dataclasses.replace(SCHEDULES["offline"], mode="periodic") == SCHEDULES["periodic"]  # the paper's pair
    with pytest.raises(dataclasses.FrozenInstanceError):  # one shared table: a run must not edit another's schedule
        SCHEDULES["online"].nudge = False  # type: ignore[misc]
