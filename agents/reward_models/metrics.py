"""Quality of a reward model on held-out comparisons: accuracy, marginal NLL and joint (dyadic, polyadic) NLL.

Every function takes a model following the ``RewardModel`` protocol and n held-out comparisons
``(features_first (n, d), features_second (n, d), targets (n,))``. ``targets`` is the probability that the first
is preferred: pass the rater's true ``p_first`` (the envs report it in their step info), and each metric is an
expectation over the rater's choices, as in the neural testbed. Accuracy and the marginal NLL are linear in the
label, so observed 0/1 choices give their usual empirical versions; the joint NLL needs the true probabilities:
with observed choices every resampled point repeats its anchor's one label, which rewards particles that disagree
confidently (a warning says so). With Δ_k(i) particle k's utility difference on comparison i and q_k(i) =
σ(Δ_k(i)) its probability that the first is preferred:

* accuracy = (1/n) Σᵢ [pᵢ 1{Δ̄ᵢ > 0} + (1 − pᵢ) 1{Δ̄ᵢ < 0} + ½ 1{Δ̄ᵢ = 0}], Δ̄ the posterior-mean utility difference;
* marginal NLL = −(1/n) Σᵢ [pᵢ log q̄ᵢ + (1 − pᵢ) log(1 − q̄ᵢ)], q̄ᵢ = (1/M) Σ_k q_k(i): the mean prediction's fit;
* joint NLL with dyadic sampling (Osband et al., "Epistemic neural networks", 2023, §3; the neural testbed's
  polyadic sampler, Osband et al., 2022, §3.2): per group, κ anchor comparisons are drawn without replacement, τ
  points are drawn from the anchors with replacement and each point gets its own label yₜ ~ Bernoulli(p of its
  anchor); the group scores −log (1/M) Σ_k Πₜ q_k(yₜ), averaged over groups, in nats per group of τ. κ = 2 and
  τ = 10 (:func:`dyadic_joint_nll`) repeat each anchor about five times, so a model is rewarded for knowing how
  uncertain it is about those two comparisons jointly: a point model pays for its confidence on every repeated
  label, a posterior whose particles disagree where data is scarce hedges. (Pairs of independent held-out points
  are not enough: that score is ≈ twice the marginal NLL and does not tell joint predictives apart.)

NLLs are in nats; lower is better. Group indices and labels come from a seeded CPU generator.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from duelgym._validation import check_int
from duelgym.agents.base import ArrayLike, RewardModel
from duelgym.agents.reward_models._inputs import as_comparisons

__all__ = ["accuracy", "dyadic_joint_nll", "marginal_nll", "polyadic_joint_nll"]


def _comparisons(
    model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, targets: ArrayLike
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features (n, d), (n, d) and targets (n,) checked in float64 on the model's device."""
    return as_comparisons(
        features_first,
        features_second,
        targets,
        model.input_dim,
        model.device,
        torch.float64,
        probabilities=True,
        name="targets",
    )


def _log_probabilities(
    model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, targets: ArrayLike
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log q_k(i), log(1 − q_k(i)), p): shapes (M, n), (M, n), (n,), float64.

    Every particle is evaluated on both features in one ``sample_utilities`` call, so a sampling model (Laplace)
    uses the same M samples for every comparison.
    """
    first, second, targets = _comparisons(model, features_first, features_second, targets)
    utilities = model.sample_utilities(torch.stack([first, second])).to(torch.float64)  # (M, 2, n)
    difference = utilities[:, 0] - utilities[:, 1]
    return F.logsigmoid(difference), F.logsigmoid(-difference), targets


def _log_mean_exp(log_values: torch.Tensor) -> torch.Tensor:
    """log (1/M) Σ_k exp(values_k) over dimension 0, computed stably."""
    return torch.logsumexp(log_values, dim=0) - math.log(log_values.shape[0])


def accuracy(model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, targets: ArrayLike) -> float:
    """Expected fraction of choices the posterior-mean utility ranks the same way (ties count ½), in [0, 1].

    The posterior mean is ``model.mean_utility``, the utility the built-in agents serve by.
    """
    first, second, targets = _comparisons(model, features_first, features_second, targets)
    difference = (model.mean_utility(first) - model.mean_utility(second)).to(torch.float64)
    agreement = torch.where(difference > 0, targets, 1 - targets)
    return float(torch.where(difference == 0, 0.5, agreement).mean())


def marginal_nll(
    model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, targets: ArrayLike
) -> float:
    """−(1/n) Σᵢ [pᵢ log q̄ᵢ + (1 − pᵢ) log(1 − q̄ᵢ)] with q̄ᵢ the particles' mean probability, nats per comparison."""
    log_first, log_second, targets = _log_probabilities(model, features_first, features_second, targets)
    log_mean_first, log_mean_second = _log_mean_exp(log_first), _log_mean_exp(log_second)
    # Written with where so that a target of exactly 0 or 1 ignores the other side even where its log is -inf.
    nll = -(
        torch.where(targets > 0, targets * log_mean_first, 0.0)
        + torch.where(targets < 1, (1 - targets) * log_mean_second, 0.0)
    )
    return float(nll.mean())


def polyadic_joint_nll(
    model: RewardModel,
    features_first: ArrayLike,
    features_second: ArrayLike,
    targets: ArrayLike,
    tau: int = 10,
    kappa: int = 2,
    num_groups: int = 1000,
    seed: int = 0,
) -> float:
    """Joint NLL of groups of τ points resampled from κ anchors, labels drawn from ``targets`` (module docstring).

    Returns −(1/G) Σ_g log (1/M) Σ_k Π_{t ∈ g} q_k(yₜ) over ``num_groups`` groups G, in nats per group of τ.
    κ = 1, τ = 1 is the marginal NLL; for a model with one particle the expectation is τ × the marginal NLL.
    """
    log_first, log_second, targets = _log_probabilities(model, features_first, features_second, targets)
    n = targets.shape[0]
    tau = check_int("tau", tau, minimum=1)
    kappa = check_int("kappa", kappa, minimum=1)
    if kappa > n:
        raise ValueError(f"sampling with kappa={kappa} anchors needs at least {kappa} held-out comparisons, got {n}")
    if tau > kappa and bool(((targets == 0) | (targets == 1)).all()):
        warnings.warn(
            "every target is 0 or 1: if these are observed choices rather than the rater's true p_first, each "
            "resampled point repeats its anchor's one label and the joint NLL rewards confident disagreement; "
            "pass the true probabilities",
            UserWarning,
            stacklevel=2,
        )
    count = check_int("num_groups", num_groups, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    # κ distinct anchors per group, drawn in chunks so that memory stays O(chunk × n) for large n.
    chunk = max(1, (1 << 22) // n)
    anchors = torch.cat(
        [
            torch.multinomial(torch.ones(min(chunk, count - start), n), kappa, generator=generator)
            for start in range(0, count, chunk)
        ]
    )  # (G, κ)
    picks = torch.randint(kappa, (count, tau), generator=generator)  # (G, τ)
    index = torch.gather(anchors, 1, picks).to(targets.device)  # (G, τ)
    uniform = torch.rand((count, tau), generator=generator, dtype=torch.float64).to(targets.device)
    first_preferred = uniform < targets[index]  # (G, τ): yₜ ~ Bernoulli(p)
    log_q = torch.where(first_preferred, log_first[:, index], log_second[:, index])  # (M, G, τ)
    return float(-_log_mean_exp(log_q.sum(dim=-1)).mean())


def dyadic_joint_nll(
    model: RewardModel,
    features_first: ArrayLike,
    features_second: ArrayLike,
    targets: ArrayLike,
    tau: int = 10,
    num_groups: int = 1000,
    seed: int = 0,
) -> float:
    """The joint NLL with dyadic sampling: :func:`polyadic_joint_nll` with κ = 2 anchors (enn and the neural
    testbed's "joint NLL"), nats per group of τ = 10 points. Needs n ≥ 2 held-out comparisons."""
    return polyadic_joint_nll(
        model, features_first, features_second, targets, tau=tau, kappa=2, num_groups=num_groups, seed=seed
    )
