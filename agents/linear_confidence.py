"""What the linear dueling-bandit baselines (MaxInP, CoLSTIM, MaxPairUCB) share: a logistic MLE and a Gram matrix.

Model: p(x ≻ y) = σ(θᵀ(x − y)). The estimate θ̂ is the regularised logistic MLE on the feature differences
z = x − y of every comparison seen, i.e. the MAP of :class:`~duelgym.agents.reward_models.LaplaceRewardModel`
(minimises Σᵢ −log σ(±θᵀzᵢ) + (α/2)‖θ‖², α = ``reward_model_kwargs["prior_precision"]``, default 1, solved by
Newton's method on all data). Confidence widths use the regularised Gram matrix of the queried differences,
V = λI + Σᵢ zᵢzᵢᵀ (not the Laplace posterior's Hessian, which weights each zᵢ by σ'(θ̂ᵀzᵢ)): the width of a pair is
‖x − y‖_{V⁻¹} and of an arm ‖x‖_{V⁻¹}.

Defaults follow the published benchmark's code (uclaml/VACDB, Di et al., ICLR 2024), where all three baselines run:
* λ = 0.001 (``gram_regularisation``): VACDB's value; it only matters until the queried differences span R^d.
* β = 2√(d ln T) (``confidence_width``), T = ``horizon`` = 4,000, i.e. β ≈ 12.9 at d = 5: the width VACDB's code
  uses for every baseline (its comment: chosen after the value the CoLSTIM paper reports, instead of the theoretical
  one). The theoretical width of MaxInP, (1/κ)√((d/2) ln(1 + 2t/(dλ)) + ln(1/δ)) with VACDB's κ = 0.1 and δ = 1/T,
  is about 66 at t = T: five times wider, it keeps the algorithms exploring for most of the run.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from duelgym._validation import check_finite, check_int, check_positive_finite
from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.reward_models import LaplaceRewardModel

__all__ = ["DEFAULT_GRAM_REGULARISATION", "DEFAULT_HORIZON", "LinearConfidenceAgent", "default_confidence_width"]

#: The horizon of the published benchmark (VACDB's T): sets β and CoLSTIM's schedule unless given.
DEFAULT_HORIZON = 4000
#: λ of V = λI + Σ zzᵀ, as in VACDB's code.
DEFAULT_GRAM_REGULARISATION = 1e-3


def default_confidence_width(dim: int, horizon: int) -> float:
    """β = 2√(d ln T), VACDB's confidence width for its baselines."""
    return 2.0 * math.sqrt(dim * math.log(horizon))


class LinearConfidenceAgent(CandidateAgent):
    """Base of the linear baselines: θ̂ (logistic MLE), V and the widths ‖·‖_{V⁻¹}; subclasses implement the rule.

    Args:
        confidence_width: β ≥ 0 of the upper confidence bounds (default 2√(d ln T), see the module docstring).
        horizon: T ≥ 2, the number of queries the run will make (default 4,000, the published benchmark's); sets the
            default β and CoLSTIM's schedule.
        gram_regularisation: λ > 0 of V = λI + Σ zzᵀ (default 0.001, VACDB's).
        **kwargs: See :class:`~duelgym.agents.candidates.CandidateAgent`; the reward model must be ``"laplace"``
            (the default), whose MAP is the regularised MLE.

    Attributes:
        gram: V, float64 (d, d), on the agent's device.
        comparisons_seen: The number of comparisons learnt from (t − 1 in round t).
    """

    default_reward_model = "laplace"

    def __init__(
        self,
        *args: Any,
        confidence_width: float | None = None,
        horizon: int = DEFAULT_HORIZON,
        gram_regularisation: float = DEFAULT_GRAM_REGULARISATION,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.reward_model, LaplaceRewardModel):
            raise TypeError(
                f"{type(self).__name__} needs reward_model='laplace' (its MAP is the logistic MLE the rule is built "
                f"on), got {type(self.reward_model).__name__}"
            )
        self.horizon = check_int("horizon", horizon, minimum=2)
        self.gram_regularisation = check_positive_finite("gram_regularisation", gram_regularisation)
        self.confidence_width = (
            default_confidence_width(self.feature_dim, self.horizon)
            if confidence_width is None
            else check_finite("confidence_width", confidence_width, minimum=0.0)
        )
        eye = torch.eye(self.feature_dim, dtype=torch.float64, device=self.device)
        self.gram = self.gram_regularisation * eye
        self._gram_inverse = eye / self.gram_regularisation
        self.comparisons_seen = 0

    def _learn(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> dict[str, float]:
        metrics = super()._learn(first, second, choices)
        differences = (first - second).to(torch.float64)
        self.gram = self.gram + differences.T @ differences
        self._gram_inverse = torch.cholesky_inverse(torch.linalg.cholesky(self.gram))
        self.comparisons_seen += differences.shape[0]
        return metrics

    def estimated_utilities(self, features: torch.Tensor) -> torch.Tensor:
        """θ̂ᵀx for every candidate: features (B, N, d) -> (B, N), float64."""
        return self.reward_model.mean_utility(features)

    def arm_widths(self, features: torch.Tensor) -> torch.Tensor:
        """‖x‖_{V⁻¹} for every candidate: features (B, N, d) -> (B, N)."""
        f = features.to(torch.float64)
        return torch.einsum("bnd,de,bne->bn", f, self._gram_inverse, f).clamp_min(0.0).sqrt()

    def pair_widths(self, features: torch.Tensor) -> torch.Tensor:
        """‖x_i − x_j‖_{V⁻¹} for every pair: features (B, N, d) -> (B, N, N), zero on the diagonal."""
        f = features.to(torch.float64)
        inner = f @ self._gram_inverse @ f.transpose(1, 2)  # (B, N, N): x_iᵀV⁻¹x_j
        norms = inner.diagonal(dim1=1, dim2=2)
        return (norms[:, :, None] + norms[:, None, :] - 2 * inner).clamp_min(0.0).sqrt()
