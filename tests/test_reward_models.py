"""Reward models: batched ENN = per-particle loop, frozen priors, Laplace vs a grid posterior, metrics, bad input."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fakes import FixedParticles
from hypothesis import given
from hypothesis import strategies as st

import duelgym
from duelgym.agents.reward_models import (
    ENN,
    LaplaceRewardModel,
    PointRewardModel,
    ReplayBuffer,
    TrainingConfig,
    accuracy,
    dyadic_joint_nll,
    marginal_nll,
    polyadic_joint_nll,
)
from duelgym.envs import random_comparisons


def comparisons(n: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(n, dim, generator=generator)
    second = torch.randn(n, dim, generator=generator)
    choices = (torch.rand(n, generator=generator) < 0.5).float()
    return first, second, choices


def test_models_return_the_documented_shapes_and_the_mean_of_their_samples() -> None:
    features = torch.randn(4, 7, 3)
    for model in (PointRewardModel(3, seed=0), ENN(3, seed=0), LaplaceRewardModel(3, seed=0)):
        model.update(*comparisons(8, 3, seed=0))
        assert model.sample_utilities(features).shape == (model.num_particles, 4, 7)
        assert model.sample_utilities(features.numpy()).shape == (model.num_particles, 4, 7)
        assert model.mean_utility(features).shape == (4, 7)
    for model in (PointRewardModel(3, seed=0), ENN(3, seed=0)):
        model.update(*comparisons(8, 3, seed=0))
        torch.testing.assert_close(model.mean_utility(features), model.sample_utilities(features).mean(dim=0))
    laplace = LaplaceRewardModel(3, seed=0)
    laplace.update(*comparisons(8, 3, seed=0))
    torch.testing.assert_close(laplace.mean_utility(features), features.double() @ laplace.mean)


def test_a_long_cpu_input_runs_in_chunks_with_each_members_outputs_and_gradients() -> None:
    from duelgym.agents.reward_models.networks import CPU_CHUNK_ROWS, StackedMLP

    network = StackedMLP(3, 5, (7, 6), torch.Generator().manual_seed(0))
    features = torch.randn(2, CPU_CHUNK_ROWS + 3, 5)  # 2,051 rows: three chunks, the last of 3 rows
    outputs = network(features)
    assert outputs.shape == (3, 2, CPU_CHUNK_ROWS + 3)
    for k in range(3):
        torch.testing.assert_close(outputs[k], network.member(k)(features)[..., 0])
    assert torch.equal(outputs[:, 1, -3:], network(features[1, -3:]))  # a row's output does not depend on its chunk
    outputs.sum().backward()
    chunked = [p.grad.clone() for p in network.parameters()]
    network.zero_grad()
    network._rows(features.reshape(-1, 5)).sum().backward()  # one pass over every row
    for gradient, parameter in zip(chunked, network.parameters(), strict=True):
        torch.testing.assert_close(gradient, parameter.grad, rtol=1e-5, atol=1e-5)  # sums of 2,051 rows


@pytest.mark.parametrize(
    ("arguments", "message"),
    [((0, 5, (4,)), "num_members must be >= 1, got 0"), ((2, 0, (4,)), "input_dim must be >= 1, got 0"),
     ((2, 5, (4, 0)), r"hidden_sizes\[i\] must be >= 1, got 0")],
)  # fmt: skip
def test_stacked_mlps_refuse_empty_shapes_by_name(arguments: tuple, message: str) -> None:
    from duelgym.agents.reward_models.networks import StackedMLP

    with pytest.raises(ValueError, match=message):
        StackedMLP(*arguments, torch.Generator().manual_seed(0))
    assert StackedMLP(2, 1, (), torch.Generator().manual_seed(0))(torch.ones(3, 1)).shape == (2, 3)  # d = 1 is fine


@pytest.mark.parametrize("hidden_sizes", [(), (16,), (16, 8)])
def test_batched_enn_equals_a_loop_over_particle_networks(hidden_sizes: tuple) -> None:
    enn = ENN(4, num_particles=5, hidden_sizes=hidden_sizes, prior_hidden_sizes=(6,), prior_scale=2.0, seed=1)
    first, second, choices = comparisons(12, 4, seed=2)
    enn.update(first, second, choices)  # move the particles away from their anchors
    features = torch.randn(3, 9, 4)
    batched = enn._utilities(features)
    for k in range(5):
        looped = enn.network.member(k)(features)[..., 0] + 2.0 * enn.prior.member(k)(features)[..., 0]
        torch.testing.assert_close(batched[k], looped)

    batch = enn.buffer.sample(12)
    enn.network.zero_grad()
    enn._loss(batch).backward()
    enn._add_penalty_gradients()
    for k in range(5):
        member = enn.network.member(k)
        prior = enn.prior.member(k)
        logit = (member(batch["first"]) - member(batch["second"]))[:, 0]
        logit = logit + 2.0 * (prior(batch["first"]) - prior(batch["second"]))[:, 0]
        cross_entropy = F.binary_cross_entropy_with_logits(logit, batch["choice"])
        linears = [m for m in member if isinstance(m, torch.nn.Linear)]
        distance = sum(
            (linear.weight - enn.anchors[2 * i][k].T).pow(2).sum()
            + (linear.bias - enn.anchors[2 * i + 1][k, 0]).pow(2).sum()
            for i, linear in enumerate(linears)
        )
        (cross_entropy + enn._penalty_weight() * distance).backward()
        for i, linear in enumerate(linears):
            torch.testing.assert_close(getattr(enn.network, f"weight{i}").grad[k], linear.weight.grad.T)
            torch.testing.assert_close(getattr(enn.network, f"bias{i}").grad[k, 0], linear.bias.grad)


def test_priors_stay_frozen_and_get_no_gradient() -> None:
    enn = ENN(3, num_particles=4, seed=0)
    before = [b.clone() for b in enn.prior.buffers()]
    assert list(enn.prior.parameters()) == []
    trainable_before = [p.detach().clone() for p in enn.network.parameters()]
    for seed in range(5):
        enn.update(*comparisons(16, 3, seed))
    for old, new in zip(before, enn.prior.buffers(), strict=True):
        assert torch.equal(old, new) and not new.requires_grad and new.grad is None
    assert any(not torch.equal(a, b) for a, b in zip(trainable_before, enn.network.parameters(), strict=True))


def test_a_large_input_reuses_its_prior_outputs_only_while_the_same_features_come_back(monkeypatch) -> None:
    from duelgym.agents.reward_models.enn import PRIOR_CACHE_ROWS
    from duelgym.experiment.state import extract_state, restore_state

    enn = ENN(3, num_particles=4, seed=0)
    passes: list[int] = []
    prior_forward = enn.prior.forward
    monkeypatch.setattr(enn.prior, "forward", lambda x: passes.append(x[..., 0].numel()) or prior_forward(x))

    def uncached(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return enn.network(x) + enn.prior_scale * prior_forward(x)

    pool = torch.randn(PRIOR_CACHE_ROWS, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(enn.sample_utilities(pool), uncached(pool))
    enn.update(*comparisons(16, 3, 0))  # the network moves, the priors stay
    assert torch.equal(enn.sample_utilities(pool.clone()), uncached(pool))  # equal features, another tensor
    assert passes == [PRIOR_CACHE_ROWS, 32]  # the pool's priors once, then the 16 stored comparisons' pairs
    pool[-1, -1] += 1.0  # changed in place: a fresh pass
    assert torch.equal(enn.sample_utilities(pool), uncached(pool))
    assert passes[2:] == [PRIOR_CACHE_ROWS]
    small = pool[1:]  # below the threshold: never kept
    enn.sample_utilities(small)
    enn.sample_utilities(small)
    assert passes[-2:] == [PRIOR_CACHE_ROWS - 1] * 2
    assert torch.equal(enn.sample_utilities(pool), uncached(pool)) and len(passes) == 5  # still kept

    resumed = ENN(3, num_particles=4, seed=0)  # a checkpoint carries the kept copy, and it still fits
    restore_state(resumed, extract_state(enn))
    assert torch.equal(resumed.sample_utilities(pool), enn.sample_utilities(pool))


def test_prior_scale_makes_particles_disagree_before_any_data() -> None:
    features = torch.randn(50, 3)
    spread = [ENN(3, prior_scale=s, seed=0).sample_utilities(features).std(dim=0).mean().item() for s in (0.0, 5.0)]
    assert spread[1] > 2 * spread[0]


def test_same_seed_same_model_different_seed_different_model() -> None:
    def trained(seed: int) -> torch.Tensor:
        model = ENN(3, num_particles=3, bootstrap_probability=0.5, seed=seed)
        for batch in range(3):
            model.update(*comparisons(20, 3, batch))
        return model.sample_utilities(torch.ones(2, 3))

    assert torch.equal(trained(0), trained(0))
    assert not torch.equal(trained(0), trained(1))


def test_bootstrap_masks_hide_comparisons_from_some_particles() -> None:
    enn = ENN(3, num_particles=50, bootstrap_probability=0.3, seed=0)
    enn.update(*comparisons(200, 3, 0))
    mask = enn.buffer.sample(200)["mask"]
    assert mask.shape == (200, 50)
    assert abs(mask.mean().item() - 0.3) < 0.03


def test_replay_buffer_is_fifo_and_samples_without_replacement() -> None:
    buffer = ReplayBuffer(5, torch.Generator().manual_seed(0))
    buffer.add(x=torch.arange(3.0))
    assert len(buffer) == 3
    assert sorted(buffer.sample(10)["x"].tolist()) == [0.0, 1.0, 2.0]
    buffer.add(x=torch.arange(3.0, 7.0))
    assert len(buffer) == 5
    assert sorted(buffer.sample(5)["x"].tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    buffer.add(x=torch.arange(10.0, 22.0))  # more than the capacity at once: the newest 5 remain
    assert sorted(buffer.sample(5)["x"].tolist()) == [17.0, 18.0, 19.0, 20.0, 21.0]
    buffer.add(x=torch.tensor([30.0, 31.0]))  # wraps around the ring: the two oldest go
    assert sorted(buffer.sample(5)["x"].tolist()) == [19.0, 20.0, 21.0, 30.0, 31.0]
    assert len(set(buffer.sample(4)["x"].tolist())) == 4
    with pytest.raises(ValueError, match="same number of comparisons"):
        buffer.add(x=torch.zeros(2), y=torch.zeros(3))
    with pytest.raises(ValueError, match="fields must be"):
        buffer.add(y=torch.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, torch.Generator()).sample(1)
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        ReplayBuffer(0, torch.Generator())
    with pytest.raises(ValueError, match="same number of comparisons"):
        ReplayBuffer(3, torch.Generator()).add()  # no fields at all
    ring = ReplayBuffer(4, torch.Generator().manual_seed(0))
    for start in range(0, 10, 2):  # two comparisons at a time, with a (n, 2) field
        ring.add(x=torch.arange(start, start + 2.0), y=torch.arange(start, start + 2.0)[:, None].repeat(1, 2))
        assert len(ring) == min(start + 2, 4)
    drawn = ring.sample(4)
    assert sorted(drawn["x"].tolist()) == [6.0, 7.0, 8.0, 9.0]
    assert torch.equal(drawn["y"], drawn["x"][:, None].repeat(1, 2))
    single = ReplayBuffer(3, torch.Generator().manual_seed(0))
    single.add(x=torch.zeros(1))
    single.add(x=torch.ones(1))
    assert len(single) == 2


def test_unbounded_replay_buffer_keeps_every_comparison_in_order() -> None:
    buffer = ReplayBuffer(None, torch.Generator().manual_seed(0))
    added = []
    for start in range(0, 1000, 37):  # growth past the first allocation and its doublings
        chunk = torch.arange(start, start + 37.0)
        buffer.add(x=chunk, y=2 * chunk[:, None].repeat(1, 3))
        added.extend(chunk.tolist())
    assert len(buffer) == len(added)
    drawn = buffer.sample(len(added))
    assert sorted(drawn["x"].tolist()) == added  # every comparison, each once
    assert torch.equal(drawn["y"], 2 * drawn["x"][:, None].repeat(1, 3))  # fields stay aligned
    assert len(set(buffer.sample(64)["x"].tolist())) == 64


def test_reward_models_keep_every_comparison_by_default() -> None:
    model = PointRewardModel(3, seed=0)
    for seed in range(3):
        model.update(*comparisons(2000, 3, seed))
    assert len(model.buffer) == 6000


def test_laplace_matches_a_grid_posterior_in_one_dimension() -> None:
    generator = torch.Generator().manual_seed(0)
    n, theta_true, alpha = 400, 1.5, 2.0
    first, second = torch.randn(n, 1, generator=generator), torch.randn(n, 1, generator=generator)
    x = (first - second)[:, 0].double()
    choices = (torch.rand(n, generator=generator).double() < torch.sigmoid(theta_true * x)).double()
    model = LaplaceRewardModel(1, prior_precision=alpha, seed=0)
    model.update(first[:100], second[:100], choices[:100])
    model.update(first[100:], second[100:], choices[100:])

    grid = torch.linspace(-5, 8, 200_001, dtype=torch.float64)
    sign = 2 * choices - 1
    log_posterior = F.logsigmoid(sign[None, :] * grid[:, None] * x[None, :]).sum(dim=1) - alpha * grid**2 / 2
    weights = torch.softmax(log_posterior, dim=0)
    grid_mean = (weights * grid).sum()
    grid_variance = (weights * (grid - grid_mean) ** 2).sum()
    grid_mode = grid[log_posterior.argmax()]

    assert model.mean.item() == pytest.approx(grid_mode.item(), abs=1e-4)  # the MAP is exact
    assert model.mean.item() == pytest.approx(grid_mean.item(), abs=0.1 * grid_variance.sqrt().item())
    assert model.covariance.item() == pytest.approx(grid_variance.item(), rel=0.1)
    samples = model.sample_theta(20_000)[:, 0]
    assert samples.mean().item() == pytest.approx(model.mean.item(), abs=4 * model.covariance.sqrt().item() / 141)
    assert samples.var().item() == pytest.approx(model.covariance.item(), rel=0.05)


def test_laplace_newton_that_hits_its_step_limit_warns_with_the_update_steps_and_gradient(monkeypatch) -> None:
    import warnings

    import duelgym.agents.reward_models.laplace as laplace

    generator = torch.Generator().manual_seed(0)
    first, second = torch.randn(64, 3, generator=generator), torch.randn(64, 3, generator=generator)
    choices = (torch.rand(64, generator=generator) < 0.7).double()
    model = LaplaceRewardModel(3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fit that converges is silent
        metrics = model.update(first[:32], second[:32], choices[:32])
    assert metrics["newton_converged"] == 1.0
    monkeypatch.setattr(laplace, "_MAX_NEWTON_STEPS", 1)
    # One Newton step from the previous mean cannot reach the 1e-10 tolerance on 32 new comparisons.
    with pytest.warns(
        RuntimeWarning,
        match=r"LaplaceRewardModel update 2 \(64 comparisons\): Newton's method did not converge in 1 steps .*"
        r"gradient norm \d",
    ):
        metrics = model.update(first[32:], second[32:], choices[32:])
    assert metrics["newton_converged"] == 0.0 and metrics["newton_steps"] == 1.0
    assert torch.isfinite(model.mean).all()


def brute_force_polyadic_nll(model: FixedParticles, first, second, p_first, tau: int, kappa: int) -> float:
    """The exact expectation over anchor sets, resampled points and Bernoulli labels, by enumeration."""
    difference = model.sample_utilities(first) - model.sample_utilities(second)  # (M, n)
    q = torch.sigmoid(difference)
    total, sets = 0.0, list(itertools.combinations(range(len(p_first)), kappa))
    for anchors in sets:
        for points in itertools.product(anchors, repeat=tau):
            for labels in itertools.product((0, 1), repeat=tau):
                probability = kappa**-tau
                joint = torch.ones(model.num_particles, dtype=torch.float64)
                for i, y in zip(points, labels, strict=True):
                    probability *= float(p_first[i]) if y else 1 - float(p_first[i])
                    joint = joint * (q[:, i] if y else 1 - q[:, i])
                total += probability * -math.log(joint.mean().item())
    return total / len(sets)


def test_polyadic_joint_nll_matches_a_brute_force_expectation() -> None:
    model = FixedParticles(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]], dtype=torch.float64))
    first, second, _ = comparisons(5, 2, seed=3)
    p_first = torch.tensor([0.9, 0.2, 0.5, 1.0, 0.0], dtype=torch.float64)
    for tau, kappa in ((3, 2), (2, 3), (1, 1)):
        exact = brute_force_polyadic_nll(model, first, second, p_first, tau, kappa)
        estimate = polyadic_joint_nll(model, first, second, p_first, tau=tau, kappa=kappa, num_groups=200_000)
        assert estimate == pytest.approx(exact, rel=0.01), (tau, kappa)
    assert dyadic_joint_nll(model, first, second, p_first, tau=3, num_groups=200_000) == pytest.approx(
        brute_force_polyadic_nll(model, first, second, p_first, 3, 2), rel=0.01
    )


def test_joint_nll_of_one_particle_is_tau_times_its_marginal_nll() -> None:
    single = FixedParticles(torch.tensor([[1.0, -0.5]], dtype=torch.float64))
    first, second, _ = comparisons(40, 2, seed=4)
    p_first = torch.rand(40, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    marginal = marginal_nll(single, first, second, p_first)
    assert dyadic_joint_nll(single, first, second, p_first, num_groups=100_000) == pytest.approx(
        10 * marginal, rel=0.02
    )
    assert polyadic_joint_nll(single, first, second, p_first, tau=1, kappa=1, num_groups=100_000) == pytest.approx(
        marginal, rel=0.02
    )


def test_joint_nll_separates_models_whose_marginal_predictions_are_equal() -> None:
    # Truth p = σ(3x). Particles {+3, −3} average to ½ on every comparison, exactly like one constant particle
    # (w = 0), so their marginal NLLs are equal; jointly the pair knows that one of two confident laws holds, and
    # on repeated draws at the same two anchors that is worth several nats.
    first, _, _ = comparisons(400, 1, seed=6)
    second = torch.zeros_like(first)
    p_first = torch.sigmoid(3 * first[:, 0]).double()
    pair = FixedParticles(torch.tensor([[3.0], [-3.0]], dtype=torch.float64))
    constant = FixedParticles(torch.tensor([[0.0]], dtype=torch.float64))
    assert marginal_nll(pair, first, second, p_first) == pytest.approx(marginal_nll(constant, first, second, p_first))
    assert dyadic_joint_nll(pair, first, second, p_first) < dyadic_joint_nll(constant, first, second, p_first) - 1.5


def test_joint_nll_on_observed_choices_warns_and_bad_targets_are_named() -> None:
    model = FixedParticles(torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    first, second, choices = comparisons(6, 2, seed=1)
    with pytest.warns(UserWarning, match="every target is 0 or 1"):
        dyadic_joint_nll(model, first, second, choices)
    with pytest.warns(UserWarning, match="every target is 0 or 1") as caught:
        polyadic_joint_nll(model, first, second, choices)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\], got 1\.5 at index 1"):
        marginal_nll(model, first, second, torch.tensor([0.5, 1.5, 0.2, 0.1, 0.1, 0.1]))
    with pytest.raises(ValueError, match="kappa=2 anchors needs at least 2 held-out comparisons, got 1"):
        dyadic_joint_nll(model, first[:1], second[:1], torch.tensor([0.5]))
    probabilities = torch.tensor([0.0, 1.0, 0.3, 0.9, 1.0, 0.5], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # true probabilities, or τ ≤ κ (no repeated draw at an anchor): no warning
        dyadic_joint_nll(model, first, second, probabilities)
        polyadic_joint_nll(model, first, second, choices, tau=1, kappa=2)
        polyadic_joint_nll(model, first, second, choices, tau=2, kappa=2)


def test_the_polyadic_defaults_are_dyadic_sampling_and_one_group_is_enough() -> None:
    model = FixedParticles(torch.tensor([[1.0, 0.0], [-1.0, 2.0]], dtype=torch.float64))
    first, second, _ = comparisons(8, 2, seed=3)
    p_first = torch.rand(8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    default = polyadic_joint_nll(model, first, second, p_first)
    assert default == polyadic_joint_nll(model, first, second, p_first, tau=10, kappa=2, num_groups=1000, seed=0)
    assert default == dyadic_joint_nll(model, first, second, p_first)
    assert default != polyadic_joint_nll(model, first, second, p_first, kappa=3)  # the comparison can fail
    assert math.isfinite(polyadic_joint_nll(model, first, second, p_first, num_groups=1))
    assert math.isfinite(polyadic_joint_nll(model, first[:2], second[:2], p_first[:2], kappa=2))  # κ = n is enough
    for name, bad in (("kappa", {"kappa": 0}), ("num_groups", {"num_groups": 0}), ("tau", {"tau": 0})):
        with pytest.raises(ValueError, match=f"{name} must be >= 1, got 0"):
            polyadic_joint_nll(model, first, second, p_first, **bad)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        polyadic_joint_nll(model, first, second, p_first, seed=-1)


def test_marginal_nll_of_probabilities_is_the_expected_nll_of_choices() -> None:
    model = FixedParticles(torch.tensor([[1.0, 0.0], [0.5, -1.0]], dtype=torch.float64))
    first, second, _ = comparisons(6, 2, seed=7)
    p_first = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9, 1.0], dtype=torch.float64)
    q = torch.sigmoid(model.sample_utilities(first) - model.sample_utilities(second)).mean(dim=0)
    expected = -(p_first * q.log() + (1 - p_first) * (1 - q).log()).mean().item()
    assert marginal_nll(model, first, second, p_first) == pytest.approx(expected, rel=1e-12)
    choices = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    observed = -torch.where(choices == 1, q.log(), (1 - q).log()).mean().item()
    assert marginal_nll(model, first, second, choices) == pytest.approx(observed, rel=1e-12)


def test_accuracy_ranks_by_the_posterior_mean_utility() -> None:
    # Particle differences +10, −2, −2: the mean utility prefers the first (mean difference +2), while the mean
    # probability does not ((σ(10) + 2σ(−2)) / 3 ≈ 0.41). Accuracy follows the mean utility, as the agents serve.
    model = FixedParticles(torch.tensor([[10.0], [-2.0], [-2.0]], dtype=torch.float64))
    first, second = torch.ones(3, 1), torch.zeros(3, 1)
    assert accuracy(model, first, second, torch.tensor([1.0, 1.0, 0.0])) == pytest.approx(2 / 3)
    assert accuracy(model, first, second, torch.tensor([0.9, 0.9, 0.9])) == pytest.approx(0.9)
    tie = FixedParticles(torch.tensor([[1.0], [-1.0]], dtype=torch.float64))
    assert accuracy(tie, first, second, torch.tensor([1.0, 0.0, 1.0])) == 0.5
    for difference, expected in ((-0.5, 0.8), (0.5, 0.2)):  # any sign of preference counts, however slight
        slight = FixedParticles(torch.tensor([[difference]], dtype=torch.float64))
        assert accuracy(slight, first, second, torch.tensor([0.2, 0.2, 0.2])) == pytest.approx(expected)
    identity = FixedParticles(torch.tensor([[1.0]], dtype=torch.float64))  # u(x) = x: the second (2) beats the first
    assert accuracy(identity, first, 2 * first, torch.tensor([0.2, 0.2, 0.2])) == pytest.approx(0.8)


def test_joint_nll_separates_laplace_enn_and_point_on_lineardueling() -> None:
    """After 256 passive comparisons (one seed, fixed draws): Laplace < ENN < point, by clear margins."""
    env = duelgym.make_vec("LinearDuel-v0", num_envs=32)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    first, second, _, p_first = random_comparisons(env, 32, rng)
    models = {"laplace": LaplaceRewardModel(5, seed=0), "enn": ENN(5, seed=0), "point": PointRewardModel(5, seed=0)}
    for _ in range(8):
        data = random_comparisons(env, 1, rng)[:3]
        for model in models.values():
            model.update(*data)
    nll = {name: dyadic_joint_nll(model, first, second, p_first) for name, model in models.items()}
    assert nll["laplace"] < nll["enn"] < nll["point"], nll


@given(weights=st.lists(st.floats(-3, 3), min_size=2, max_size=2), seed=st.integers(0, 1000))
def test_joint_nll_of_identical_particles_equals_that_of_one(weights: list, seed: int) -> None:
    first, second, _ = comparisons(8, 2, seed)
    p_first = torch.rand(8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    one = FixedParticles(torch.tensor([weights], dtype=torch.float64))
    many = FixedParticles(torch.tensor([weights] * 4, dtype=torch.float64))
    assert dyadic_joint_nll(one, first, second, p_first) == pytest.approx(
        dyadic_joint_nll(many, first, second, p_first)
    )


def test_reported_cross_entropy_is_per_comparison_and_per_particle() -> None:
    first, second, choices = comparisons(16, 3, seed=8)
    for model in (
        ENN(3, num_particles=10, seed=0, training=TrainingConfig(steps_per_update=1, minibatch_size=16)),
        PointRewardModel(3, seed=0, training=TrainingConfig(steps_per_update=1, minibatch_size=16)),
    ):
        difference = model.sample_utilities(first) - model.sample_utilities(second)  # before the step
        expected = F.binary_cross_entropy_with_logits(difference, choices.expand_as(difference)).item()
        assert model.update(first, second, choices)["cross_entropy"] == pytest.approx(expected, rel=1e-5)


def test_bootstrap_cross_entropy_averages_over_the_kept_comparisons() -> None:
    enn = ENN(3, num_particles=6, bootstrap_probability=0.3, prior_scale=2.0, seed=0)
    enn.update(*comparisons(40, 3, seed=9))
    batch = enn.buffer.sample(40)
    with torch.no_grad():
        trainable = enn.network(torch.stack([batch["first"], batch["second"]]))
        logits = trainable[:, 0] - trainable[:, 1] + 2.0 * batch["prior_difference"].T
        expected = 0.0
        for k in range(6):
            kept = batch["mask"][:, k] == 1
            expected += F.binary_cross_entropy_with_logits(logits[k, kept], batch["choice"][kept]).item()
        assert enn._loss(batch).item() == pytest.approx(expected, rel=1e-5)


def test_enn_anchors_are_a_copy_of_the_initial_weights_and_the_penalty_pulls_toward_them() -> None:
    enn = ENN(3, num_particles=4, regularization=1.0, regularization_schedule="constant", seed=0)
    initial = [p.detach().clone() for p in enn.network.parameters()]
    metrics = enn.update(*comparisons(32, 3, seed=10))
    for anchor, start, live in zip(enn.anchors, initial, enn.network.parameters(), strict=True):
        assert torch.equal(anchor, start)
        assert anchor.data_ptr() != live.data_ptr()
    brute_force = sum((p - a).pow(2).sum().item() for p, a in zip(enn.network.parameters(), enn.anchors, strict=True))
    assert metrics["regularization"] == pytest.approx(1.0 * brute_force / 4)  # λ‖θ − θ₀‖², per particle
    assert metrics["regularization"] > 0

    # A strong pull keeps the weights much closer to their anchors than no pull does.
    def distance(regularization: float) -> float:
        model = ENN(3, num_particles=4, regularization=regularization, regularization_schedule="constant", seed=0)
        for seed in range(5):
            model.update(*comparisons(32, 3, seed))
        return sum((p - a).pow(2).sum().item() for p, a in zip(model.network.parameters(), model.anchors, strict=True))

    assert distance(10.0) < 0.5 * distance(0.0)


def test_point_penalty_pulls_toward_its_anchor() -> None:
    def trained(anchor: str) -> tuple[PointRewardModel, list[torch.Tensor]]:
        model = PointRewardModel(3, regularization=1.0, regularization_schedule="constant", anchor=anchor, seed=0)
        initial = [p.detach().clone() for p in model.network.parameters()]
        for seed in range(5):
            model.update(*comparisons(32, 3, seed))  # uninformative choices: the penalty dominates
        return model, initial

    def squared(tensors) -> float:
        return sum(t.pow(2).sum().item() for t in tensors)

    anchored, initial = trained("initialization")
    for anchor, start, live in zip(anchored.anchors, initial, anchored.network.parameters(), strict=True):
        assert torch.equal(anchor, start)
        assert anchor.data_ptr() != live.data_ptr()
    toward_zero, initial_zero = trained("zero")
    assert toward_zero.anchors is None
    moved = [squared(p - a for p, a in zip(m.network.parameters(), i, strict=True)) for m, i in
             ((anchored, initial), (toward_zero, initial_zero))]  # fmt: skip
    assert moved[0] < 0.1 * moved[1]  # anchored: the weights stay near θ₀
    assert squared(toward_zero.network.parameters()) < 0.5 * squared(anchored.network.parameters())
    assert 0 < anchored._penalty() < 0.1 * toward_zero._penalty()

    # The default: hidden layers anchored at their initialisation, the output layer at 0 (a zero utility there).
    features, initial = trained("features")
    for anchor, start in zip(features.anchors[:-2], initial[:-2], strict=True):
        assert torch.equal(anchor, start)
    assert all(torch.count_nonzero(anchor) == 0 for anchor in features.anchors[-2:])
    output = [p.detach() for p in features.network.parameters()][-2:]
    assert squared(output) < 0.1 * squared(initial[-2:])  # pulled toward 0, unlike the anchored output above
    assert squared(anchored.network.parameters()) > 0.5 * squared(initial)
    assert PointRewardModel(3).anchor == "features"


def test_the_point_models_penalty_follows_its_schedule() -> None:
    # The ENN's two schedules on the point model: λ / max(1, n) or λ, n the comparisons in the buffer.
    inverse = PointRewardModel(3, regularization=20.0, regularization_schedule="inverse_data", seed=0)
    constant = PointRewardModel(3, regularization=20.0, regularization_schedule="constant", seed=0)
    assert inverse._penalty_weight() == constant._penalty_weight() == 20.0
    for model in (inverse, constant):
        model.update(*comparisons(40, 3, seed=1))
    assert (inverse._penalty_weight(), constant._penalty_weight()) == (20.0 / 40, 20.0)
    with pytest.raises(ValueError, match=r"regularization_schedule must be one of \('constant', 'inverse_data'\)"):
        PointRewardModel(3, regularization_schedule="decay")


def test_laplace_samples_have_the_posterior_covariance_in_several_dimensions() -> None:
    # Correlated features give a non-diagonal covariance, where sampling with the wrong Cholesky side shows.
    generator = torch.Generator().manual_seed(11)
    mixing = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [0.5, -0.8, 0.2]], dtype=torch.float64)
    first = torch.randn(300, 3, generator=generator, dtype=torch.float64) @ mixing.T
    second = torch.zeros_like(first)
    choices = (torch.rand(300, generator=generator, dtype=torch.float64) < 0.5).double()
    model = LaplaceRewardModel(3, seed=0)
    model.update(first, second, choices)
    covariance = model.covariance
    assert (covariance - torch.diag(covariance.diagonal())).abs().max() > 0.2 * covariance.diagonal().max()
    samples = model.sample_theta(50_000)
    torch.testing.assert_close(samples.mean(dim=0), model.mean, atol=0.02 * covariance.diagonal().max().sqrt(), rtol=0)
    torch.testing.assert_close(torch.cov(samples.T), covariance, atol=0.05 * covariance.diagonal().max(), rtol=0)


# ---- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory", [lambda: PointRewardModel(3, seed=0), lambda: ENN(3, seed=0), lambda: LaplaceRewardModel(3, seed=0)]
)
def test_bad_comparisons_are_rejected(factory) -> None:
    model = factory()
    first, second, choices = comparisons(4, 3, seed=0)
    with pytest.raises(ValueError, match=r"features_first must have shape \(\.\.\., 3\), got shape \(4, 2\)"):
        model.update(first[:, :2], second, choices)
    with pytest.raises(ValueError, match=r"both have shape \(n, 3\)"):
        model.update(first, second[:3], choices)
    with pytest.raises(ValueError, match=r"choices must have shape \(4,\)"):
        model.update(first, second, choices[:3])
    with pytest.raises(ValueError, match=r"choices must be 0 or 1 .* got 0\.5 at index 2"):
        model.update(first, second, torch.tensor([1.0, 0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"non-finite"):
        model.update(first * float("nan"), second, choices)
    with pytest.raises(TypeError, match=r"features_first must be a torch\.Tensor or numpy array"):
        model.update(first.tolist(), second, choices)
    with pytest.raises(ValueError, match=r"features must have shape \(\.\.\., 3\)"):
        model.sample_utilities(torch.zeros(5, 4))


def test_enn_documented_defaults_and_where_each_setting_acts() -> None:
    from duelgym.agents.reward_models import LARGE_ENN

    enn = ENN(3, seed=0)
    assert (enn.num_particles, enn.prior_scale, enn.regularization, enn.regularization_schedule) == (
        10, 10.0, 30.0, "inverse_data")  # fmt: skip
    assert enn.network.hidden_sizes == enn.prior.hidden_sizes == (64, 64)
    assert LARGE_ENN == {"num_particles": 100, "hidden_sizes": (1024, 1024), "prior_hidden_sizes": (256, 256)}
    assert ENN(3, bootstrap_probability=1.0, seed=0).bootstrap_probability == 1.0  # (0, 1]: 1 keeps every row
    features = torch.randn(5, 3)
    for scale in (0.0, 1.0, 2.5):  # the utility is the trainable network plus scale × the frozen prior
        model = ENN(3, prior_scale=scale, seed=0)
        torch.testing.assert_close(
            model.sample_utilities(features), model.network(features) + scale * model.prior(features)
        )
    # λ / max(1, n) with the default schedule (λ itself before any data), λ with the constant one.
    inverse, constant = ENN(3, seed=0), ENN(3, regularization_schedule="constant", seed=0)
    assert inverse._penalty_weight() == constant._penalty_weight() == 30.0
    for model in (inverse, constant):
        model.update(*comparisons(40, 3, seed=1))
    assert (inverse._penalty_weight(), constant._penalty_weight()) == (30.0 / 40, 30.0)


def test_a_particle_whose_bootstrap_mask_keeps_nothing_gets_a_finite_loss() -> None:
    enn = ENN(3, num_particles=3, bootstrap_probability=0.5, seed=0)
    enn.update(*comparisons(8, 3, seed=2))
    batch = enn.buffer.sample(8)
    batch["mask"][:, 1] = 0.0  # particle 1 keeps none of these comparisons
    without = enn._loss(batch).item()
    assert math.isfinite(without)
    batch["mask"][3, 1] = 1.0  # one kept comparison: particle 1 adds its whole cross-entropy, not a share of it
    trainable = enn.network(torch.stack([batch["first"][3:4], batch["second"][3:4]]))[1]  # (2, 1)
    logit = trainable[0] - trainable[1] + enn.prior_scale * batch["prior_difference"][3:4, 1]
    expected = F.binary_cross_entropy_with_logits(logit, batch["choice"][3:4]).item()
    assert enn._loss(batch).item() == pytest.approx(without + expected, rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_particles": 0}, ValueError, "num_particles must be >= 1, got 0"),
        ({"num_particles": 2.0}, TypeError, "num_particles must be an int"),
        ({"regularization": -0.1}, ValueError, "regularization must be >= 0.0, got -0.1"),
        ({"prior_scale": -1.0}, ValueError, "prior_scale must be >= 0.0, got -1.0"),
        ({"prior_scale": float("nan")}, ValueError, "prior_scale must be finite"),
        ({"regularization_schedule": "decay"}, ValueError, "regularization_schedule must be"),
        ({"bootstrap_probability": 0.0}, ValueError, "bootstrap_probability must be in"),
        ({"bootstrap_probability": -0.5}, ValueError, "bootstrap_probability must be in"),
        ({"bootstrap_probability": 1.5}, ValueError, r"bootstrap_probability must be in \(0, 1\] or None, got 1.5"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"hidden_sizes": (8, 0)}, ValueError, r"hidden_sizes\[i\] must be >= 1"),
        ({"training": {"learning_rate": 0.1}}, TypeError, "training must be a TrainingConfig"),
        ({"dtype": torch.int64}, ValueError, "dtype must be torch.float32 or torch.float64"),
        ({"device": "tpu"}, ValueError, "device must be"),
        ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "cuda:99"}, ValueError, "not available"),
    ],
)
def test_bad_enn_arguments_are_rejected(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ENN(3, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
        ({"steps_per_update": 0}, "steps_per_update must be >= 1"),
        ({"minibatch_size": -4}, "minibatch_size must be >= 1"),
        ({"buffer_capacity": 0}, "buffer_capacity must be >= 1"),
    ],
)
def test_bad_training_configs_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainingConfig(**kwargs)


def test_the_documented_training_defaults_and_a_fifo_of_one() -> None:
    config = TrainingConfig()
    assert (config.learning_rate, config.steps_per_update, config.minibatch_size, config.buffer_capacity) == (
        1e-3, 20, 64, None)  # fmt: skip
    ring = ReplayBuffer(1, torch.Generator().manual_seed(0))
    ring.add(x=torch.tensor([1.0, 2.0]))
    ring.add(x=torch.tensor([3.0]))
    assert len(ring) == 1 and ring.sample(4)["x"].tolist() == [3.0]


def test_point_and_laplace_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"regularization must be >= 0\.0"):
        PointRewardModel(3, regularization=-1.0)
    with pytest.raises(ValueError, match=r"anchor must be one of \('features', 'initialization', 'zero'\), got 'init'"):
        PointRewardModel(3, anchor="init")
    with pytest.raises(ValueError, match=r"prior_precision must be a finite number > 0"):
        LaplaceRewardModel(3, prior_precision=0.0)
    with pytest.raises(ValueError, match="input_dim must be >= 1"):
        PointRewardModel(0)


@pytest.mark.parametrize("model_class", [PointRewardModel, ENN])
def test_a_nan_loss_stops_training_with_the_update_named(model_class) -> None:
    # A learning rate of 1e30 makes the first Adam step blow the weights up to ~1e30, so the next loss overflows.
    model = model_class(3, seed=0, training=TrainingConfig(learning_rate=1e30, steps_per_update=3))
    with pytest.raises(
        FloatingPointError, match=r"update 1 \(comparisons 0\.\.7\): the loss is (nan|inf) at Adam step 2"
    ):
        model.update(*comparisons(8, 3, seed=0))
    assert all(torch.isfinite(p).all() for p in model.network.parameters()), "the bad step must not be applied"


@pytest.mark.gpu
def test_enn_update_on_cuda_matches_the_cpu() -> None:
    data = [comparisons(32, 5, seed) for seed in range(4)]
    results = []
    for device in ("cpu", "cuda"):
        model = ENN(5, num_particles=16, seed=0, device=device, dtype=torch.float64)
        for batch in data:
            model.update(*batch)
        results.append(model.sample_utilities(torch.ones(3, 5, dtype=torch.float64)).cpu())
    torch.testing.assert_close(results[0], results[1], rtol=1e-6, atol=1e-8)
