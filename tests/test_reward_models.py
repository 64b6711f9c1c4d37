"""Reward models: batched ENN = per-particle loop, frozen priors, Laplace vs a grid posterior, metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from duelgym.agents.base import RewardModel
from duelgym.agents.reward_models import (
    ENN,
    LaplaceRewardModel,
    PointRewardModel,
    ReplayBuffer,
    TrainingConfig,
    dyadic_joint_nll,
    marginal_nll,
    polyadic_joint_nll,
)


def comparisons(n: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(n, dim, generator=generator)
    second = torch.randn(n, dim, generator=generator)
    choices = (torch.rand(n, generator=generator) < 0.5).float()
    return first, second, choices


def test_models_follow_the_reward_model_protocol() -> None:
    for model in (PointRewardModel(3, seed=0), ENN(3, seed=0), LaplaceRewardModel(3, seed=0)):
        assert isinstance(model, RewardModel)
        features = torch.randn(4, 7, 3)
        assert model.sample_utilities(features).shape == (model.num_particles, 4, 7)
        assert model.mean_utility(features).shape == (4, 7)
        assert model.sample_utilities(features.numpy()).shape == (model.num_particles, 4, 7)


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
    assert len(set(buffer.sample(4)["x"].tolist())) == 4
    with pytest.raises(ValueError, match="same number of comparisons"):
        buffer.add(x=torch.zeros(2), y=torch.zeros(3))
    with pytest.raises(ValueError, match="fields must be"):
        buffer.add(y=torch.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, torch.Generator()).sample(1)


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


class FixedParticles:
    """A fake reward model with given utilities u_k(f) = w_k · f (M particles)."""

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights  # (M, d)
        self.num_particles, self.input_dim = weights.shape
        self.device = torch.device("cpu")

    def sample_utilities(self, features) -> torch.Tensor:
        return (torch.as_tensor(features, dtype=torch.float64) @ self.weights.T).movedim(-1, 0)


def test_dyadic_joint_nll_matches_the_exact_average_over_all_pairs() -> None:
    model = FixedParticles(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]], dtype=torch.float64))
    first, second, choices = comparisons(6, 2, seed=3)
    log_q = F.logsigmoid((2 * choices.double() - 1) * (model.sample_utilities(first) - model.sample_utilities(second)))
    exact = np.mean(
        [
            -(torch.logsumexp(log_q[:, i] + log_q[:, j], dim=0) - np.log(3)).item()
            for i in range(6)
            for j in range(6)
            if i != j
        ]
    )
    estimate = dyadic_joint_nll(model, first, second, choices, num_pairs=200_000)
    assert estimate == pytest.approx(exact, rel=0.01)
    assert polyadic_joint_nll(model, first, second, choices, tau=1, kappa=1, num_groups=50_000) == pytest.approx(
        marginal_nll(model, first, second, choices), rel=0.02
    )
    single = FixedParticles(torch.tensor([[1.0, -0.5]], dtype=torch.float64))
    assert dyadic_joint_nll(single, first, second, choices, num_pairs=100_000) == pytest.approx(
        2 * marginal_nll(single, first, second, choices), rel=0.02
    )


@given(weights=st.lists(st.floats(-3, 3), min_size=2, max_size=2), seed=st.integers(0, 1000))
def test_joint_nll_of_identical_particles_equals_that_of_one(weights: list, seed: int) -> None:
    first, second, choices = comparisons(8, 2, seed)
    one = FixedParticles(torch.tensor([weights], dtype=torch.float64))
    many = FixedParticles(torch.tensor([weights] * 4, dtype=torch.float64))
    assert dyadic_joint_nll(one, first, second, choices) == pytest.approx(
        dyadic_joint_nll(many, first, second, choices)
    )


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


def test_point_and_laplace_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"regularization must be >= 0\.0"):
        PointRewardModel(3, regularization=-1.0)
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
