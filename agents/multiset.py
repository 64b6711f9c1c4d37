"""Multiset explorer: the batch's pairs chosen together by an optimal-design allocation (seed 004, "Steepish
Descent": playing multisets of actions in simulation)."""

from __future__ import annotations

from typing import Any

import torch

from duelgym._validation import check_positive_finite
from duelgym.agents.candidates import CandidateAgent

__all__ = ["MultisetAgent"]

#: ε, in the reward model's logit units (r = u/T): the gap below which two candidates count as equally good.
#: Measured mean gap between the best and second-best true logits: 0.11 on LinearDuel-v0 (‖θ*‖ = 1), 0.14 on
#: MatrixDuel-v0, 0.03 on LLMDuel-v0 (feedback T = 0.3; median 0: the best response often appears several times
#: among the 64 candidates), so ε = 0.1 separates near-ties on the synthetic envs and treats LLMDuel-v0's top
#: candidates as ties; smaller values spend queries separating near-ties.
DEFAULT_TOLERANCE = 0.1
#: λ of the design matrix V_0 = λI: the Gaussian prior precision of the Laplace reference (1.0).
DEFAULT_DESIGN_REGULARIZATION = 1.0


class MultisetAgent(CandidateAgent):
    """Chooses the B pairs of a batch as a multiset A minimising the allocation objective of seed 004:

        A = argmin_{|A| = B} max_{a ≠ â*} ‖a − â*‖²_{(V + V(A))⁻¹} / Δ̂(a)²,   Δ̂(a) = max(ε, r̄(â*) − r̄(a)),

    where r̄ is the reward model's mean utility, â* its argmax in the context, V = λI + Σ xxᵀ over the feature
    differences x = f_first − f_second of every pair queried so far, and V(A) the same sum over the pairs of A.
    The pairs are duels (â*, a) of the current best against a challenger, whose differences are exactly the
    directions a − â* the objective measures (pairs of two challengers inform a linear model as well but leave a
    non-linear reward model guessing about the top). The argmin is approximated greedily, one pair per context in
    batch order, each pick updating (V + V(A))⁻¹ by Sherman-Morrison. Pure exploration (judge it by the simple
    regret of ``respond``); the quadratic forms treat utilities as linear in the features.

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

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        features = features.double()
        mean = self.reward_model.mean_utility(features).double()  # (B, N)
        rows = torch.arange(features.shape[0], device=features.device)
        best = mean.argmax(dim=1)
        gaps = (mean[rows, best][:, None] - mean).clamp_min(self.tolerance)  # (B, N)
        directions = features - features[rows, best][:, None]  # (B, N, d): a − â*, zero for â* itself
        inverse = torch.linalg.inv(self.design)
        challengers = []
        for b in range(features.shape[0]):
            z = directions[b]  # (N, d); candidate pair (â*, c) adds x = −z_c, and xxᵀ = z_c z_cᵀ
            z_inverse = z @ inverse  # (N, d)
            cross = z_inverse @ z.T  # (N, N): z_aᵀ V⁻¹ z_c
            leverage = cross.diagonal()  # (N,): z_cᵀ V⁻¹ z_c
            norms = leverage[:, None] - cross.square() / (1 + leverage)[None, :]  # (a, c): ‖z_a‖² after adding c
            ratios = norms / gaps[b, :, None].square()
            ratios[best[b]] = -torch.inf  # max over a ≠ â*
            worst = ratios.max(dim=0).values
            worst[best[b]] = torch.inf  # a challenger must differ from â*
            challenger = int(worst.argmin())
            inverse_z = inverse @ z[challenger]
            inverse = inverse - torch.outer(inverse_z, inverse_z) / (1 + z[challenger] @ inverse_z)
            challengers.append(challenger)
        return torch.stack([best, torch.tensor(challengers, device=features.device)], dim=1)

    def _learn(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> dict[str, float]:
        differences = (first - second).double()
        self.design = self.design + differences.T @ differences
        return super()._learn(first, second, choices)
