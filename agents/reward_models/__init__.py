"""Reward models of the rater's utility: point estimate, ensemble ENN and the exact-posterior linear reference.

| name | M (posterior samples) | what it is |
|---|---|---|
| :class:`PointRewardModel` | 1 | MLP trained with Bradley-Terry cross-entropy + λ‖θ − θ₀‖² |
| :class:`ENN` | 10 (100 in :data:`LARGE_ENN`) | stacked MLP particles with frozen additive priors, anchored to init |
| :class:`LaplaceRewardModel` | any | Bayesian logistic regression on feature differences, Laplace posterior |

All follow :class:`duelgym.agents.base.RewardModel`; metrics are in :mod:`.metrics`.
"""

from duelgym.agents.reward_models.enn import ENN, LARGE_ENN
from duelgym.agents.reward_models.laplace import LaplaceRewardModel
from duelgym.agents.reward_models.metrics import accuracy, dyadic_joint_nll, marginal_nll, polyadic_joint_nll
from duelgym.agents.reward_models.point import PointRewardModel
from duelgym.agents.reward_models.training import ReplayBuffer, TrainingConfig

__all__ = [
    "ENN",
    "LARGE_ENN",
    "LaplaceRewardModel",
    "PointRewardModel",
    "ReplayBuffer",
    "TrainingConfig",
    "accuracy",
    "dyadic_joint_nll",
    "marginal_nll",
    "polyadic_joint_nll",
]
