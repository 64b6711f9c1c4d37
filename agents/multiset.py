"""Multiset explorer: the batch's pairs chosen together by an optimal-design allocation (seed 004, "Steepish
Descent": playing multisets of actions in simulation)."""

from __future__ import annotations

from typing import Any

import torch

from duelgym._validation import check_positive_finite
from duelgym.agents.candidates import CandidateAgent

__all__ = ["MultisetAgent"]

#: ε, in utility units: the simple-regret tolerance below which two candidates count as equally good. About a
#: fifth of LinearDuel-v0's utility spread at ‖θ*‖ = 1; smaller values spend queries separating near-ties.
DEFAULT_TOLERANCE = 0.1
#: λ of the design matrix V_0 = λI: the Gaussian prior precision of the Laplace reference (1.0).
DEFAULT_DESIGN_REGULARIZATION = 1.0


class MultisetAgent(CandidateAgent):
    """Chooses the B pairs of a batch as a multiset A minimising the allocation objective of seed 004:

        A = argmin_{|A| = B} max_{a ≠ â*} ‖a − â*‖²_{(V + V(A))⁻¹} / Δ̂(a)²,   Δ̂(a) = max(ε, r̄(â*) − r̄(a)),

    where r̄ is the reward model's mean utility, â* its argmax in the context, V = λI + Σ xxᵀ over the feature
    differences x = f_first − f_second of every pair queried so far, and V(A) the same sum over the pairs of A.
    The argmin is approximated greedily, one pair per context in batch order, each pick updating (V + V(A))⁻¹
    by Sherman-Morrison. Pure exploration (judge it by the simple regret of ``respond``); the quadratic forms
    treat utilities as linear in the features.

    Args:
        tolerance: ε > 0 (default :data:`DEFAULT_TOLERANCE`).
        design_regularization: λ > 0 of V's initial value λI.
        **kwargs: See :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    def __init__(
        self,
        *args: Any,
        tolerance: float = DEFAULT_TOLERANCE,
        design_regularization: float = DEFAULT_DESIGN_REGULARIZATION,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tolerance = check_positive_finite("tolerance", tolerance)
        regularization = check_positive_finite("design_regularization", design_regularization)
        self.design = regularization * torch.eye(self.feature_dim, dtype=torch.float64, device=self.device)
        first, second = torch.triu_indices(self.num_candidates, self.num_candidates, offset=1, device=self.device)
        self._candidate_pairs = torch.stack([first, second], dim=1)  # (P, 2), i < j

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        features = features.double()
        mean = self.reward_model.mean_utility(features).double()  # (B, N)
        rows = torch.arange(features.shape[0], device=features.device)
        best = mean.argmax(dim=1)
        gaps = (mean[rows, best][:, None] - mean).clamp_min(self.tolerance)  # (B, N)
        inverse = torch.linalg.inv(self.design)
        chosen = []
        for b in range(features.shape[0]):
            directions = features[b] - features[b, best[b]]  # (N, d); the best arm's own row is zero
            differences = features[b, self._candidate_pairs[:, 0]] - features[b, self._candidate_pairs[:, 1]]  # (P, d)
            z_inverse = directions @ inverse  # (N, d)
            cross = z_inverse @ differences.T  # (N, P): zᵀV⁻¹x
            leverage = ((differences @ inverse) * differences).sum(dim=1)  # (P,): xᵀV⁻¹x
            norms = (z_inverse * directions).sum(dim=1)[:, None] - cross.square() / (1 + leverage)  # (N, P)
            ratios = norms / gaps[b, :, None].square()
            ratios[best[b]] = -torch.inf  # a ≠ â*
            pick = int(ratios.max(dim=0).values.argmin())
            x = differences[pick]
            inverse_x = inverse @ x
            inverse = inverse - torch.outer(inverse_x, inverse_x) / (1 + x @ inverse_x)
            chosen.append(self._candidate_pairs[pick])
        return torch.stack(chosen)

    def _learn(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> dict[str, float]:
        differences = (first - second).double()
        self.design = self.design + differences.T @ differences
        return super()._learn(first, second, choices)
