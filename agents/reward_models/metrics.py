"""Quality of a reward model on held-out comparisons: accuracy, marginal NLL and joint (dyadic, polyadic) NLL.

All functions take a model following the ``RewardModel`` protocol and n held-out comparisons
``(features_first (n, d), features_second (n, d), choices (n,))``. They evaluate every particle (posterior sample)
on both features in one ``sample_utilities`` call, so that a sampling model (Laplace) uses the same M samples for
every comparison. With q_k(i) the probability particle k gives to the observed choice of comparison i:

* marginal NLL = −(1/n) Σᵢ log (1/M) Σ_k q_k(i): how well the mean prediction fits each choice alone;
* dyadic joint NLL = −E_{(i, j)} log (1/M) Σ_k q_k(i) q_k(j), over random pairs i ≠ j: it also scores whether
  the particles' errors are correlated the way a posterior's are, which exploration relies on (Osband et al.,
  "Epistemic neural networks", 2023; the first paper's Figs. 6–7). Units: nats per pair;
* polyadic joint NLL (enn's ``make_nll_polyadic_calculator``): groups of τ comparisons resampled with
  replacement from κ anchors, nats per group of τ.

NLLs are in nats; lower is better. Pair and group indices come from a seeded CPU generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from duelgym._validation import check_int
from duelgym.agents.base import ArrayLike, RewardModel
from duelgym.agents.reward_models._inputs import as_comparisons

__all__ = ["accuracy", "choice_log_probabilities", "dyadic_joint_nll", "marginal_nll", "polyadic_joint_nll"]


def choice_log_probabilities(
    model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike
) -> torch.Tensor:
    """log q_k(i): each particle's log-probability of each observed choice, shape (M, n), float64.

    Inputs are checked in float64; each model casts features to its own dtype in ``sample_utilities``.
    """
    first, second, choices = as_comparisons(
        features_first, features_second, choices, model.input_dim, model.device, torch.float64
    )
    utilities = model.sample_utilities(torch.stack([first, second])).to(torch.float64)  # (M, 2, n)
    sign = 2 * choices.to(torch.float64) - 1
    return F.logsigmoid(sign * (utilities[:, 0] - utilities[:, 1]))


def _log_mean_exp(log_values: torch.Tensor) -> torch.Tensor:
    """log (1/M) Σ_k exp(values_k) over dimension 0, computed stably."""
    return torch.logsumexp(log_values, dim=0) - math.log(log_values.shape[0])


def accuracy(model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike) -> float:
    """Fraction of comparisons where the posterior-mean utility ranks the chosen item higher (ties count ½)."""
    log_q = choice_log_probabilities(model, features_first, features_second, choices)
    mean_probability = log_q.exp().mean(dim=0)
    return float(torch.where(mean_probability == 0.5, 0.5, (mean_probability > 0.5).double()).mean())


def marginal_nll(
    model: RewardModel, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike
) -> float:
    """−(1/n) Σᵢ log (1/M) Σ_k q_k(i), in nats per comparison."""
    return float(-_log_mean_exp(choice_log_probabilities(model, features_first, features_second, choices)).mean())


def dyadic_joint_nll(
    model: RewardModel,
    features_first: ArrayLike,
    features_second: ArrayLike,
    choices: ArrayLike,
    num_pairs: int = 1000,
    seed: int = 0,
) -> float:
    """−E log (1/M) Σ_k q_k(i) q_k(j) over ``num_pairs`` pairs i ≠ j drawn uniformly (n ≥ 2), in nats per pair.

    For a point model (M = 1) it equals twice its marginal NLL in expectation; a posterior whose particles
    disagree where data is scarce scores lower.
    """
    log_q = choice_log_probabilities(model, features_first, features_second, choices)
    n = log_q.shape[1]
    if n < 2:
        raise ValueError(f"dyadic_joint_nll needs at least 2 held-out comparisons, got {n}")
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    count = check_int("num_pairs", num_pairs, minimum=1)
    i = torch.randint(n, (count,), generator=generator)
    j = (i + torch.randint(1, n, (count,), generator=generator)) % n  # uniform over j ≠ i
    i, j = i.to(log_q.device), j.to(log_q.device)
    return float(-_log_mean_exp(log_q[:, i] + log_q[:, j]).mean())


def polyadic_joint_nll(
    model: RewardModel,
    features_first: ArrayLike,
    features_second: ArrayLike,
    choices: ArrayLike,
    tau: int = 10,
    kappa: int = 2,
    num_groups: int = 1000,
    seed: int = 0,
) -> float:
    """enn's polyadic joint NLL: per group, κ anchors drawn without replacement, τ points resampled from them with
    replacement; −log (1/M) Σ_k Π_t q_k(t), averaged over ``num_groups`` groups, in nats per group of τ."""
    log_q = choice_log_probabilities(model, features_first, features_second, choices)
    n = log_q.shape[1]
    tau = check_int("tau", tau, minimum=1)
    kappa = check_int("kappa", kappa, minimum=1)
    if kappa > n:
        raise ValueError(f"kappa={kappa} exceeds the {n} held-out comparisons")
    count = check_int("num_groups", num_groups, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    anchors = torch.rand((count, n), generator=generator).argsort(dim=1)[:, :kappa]  # (G, κ)
    picks = torch.randint(kappa, (count, tau), generator=generator)  # (G, τ)
    index = torch.gather(anchors, 1, picks).to(log_q.device)  # (G, τ)
    joint = log_q[:, index].sum(dim=-1)  # (M, G)
    return float(-_log_mean_exp(joint).mean())
