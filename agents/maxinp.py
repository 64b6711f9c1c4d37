"""MaxInP (Saha, "Optimal algorithms for stochastic contextual preference bandits", NeurIPS 2021)."""

from __future__ import annotations

import torch

from duelgym.agents.linear_confidence import LinearConfidenceAgent
from duelgym.agents.uncertainty import flat_argmax_pairs, mask_diagonal

__all__ = ["MaxInPAgent"]


class MaxInPAgent(LinearConfidenceAgent):
    """MaxInP: among the arms not yet ruled out, the pair whose preference is most uncertain.

    Rule (Saha 2021, the MaxInP algorithm), in each context of candidates x_1 … x_N, with θ̂ the logistic MLE and
    V = λI + Σ zzᵀ (see :mod:`duelgym.agents.linear_confidence`):

        C_t = { i : θ̂ᵀ(x_i − x_j) + β‖x_i − x_j‖_{V⁻¹} ≥ 0 for every j }      (arms that may still be the best)
        (first, second) = argmax_{i ≠ j, i, j ∈ C_t} ‖x_i − x_j‖_{V⁻¹}             (maximum informative pair)

    C_t is never empty (the θ̂-best arm is in it). When it holds a single arm i, the pair is (i, j) with j the arm
    of largest ‖x_i − x_j‖_{V⁻¹}: duelgym's agents always query two distinct arms (VACDB's implementation would
    duel i with itself, a query with zero regret and no information). Ties go to the first pair in row-major
    order: the rule is deterministic.

    Args:
        **kwargs: See :class:`~duelgym.agents.linear_confidence.LinearConfidenceAgent` (β, T, λ) and
            :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    def active_set(self, features: torch.Tensor) -> torch.Tensor:
        """C_t of every context as a boolean mask: features (B, N, d) -> (B, N)."""
        utilities = self.estimated_utilities(features)
        upper = utilities[:, :, None] - utilities[:, None, :] + self.confidence_width * self.pair_widths(features)
        return (upper >= 0).all(dim=2)

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        widths = self.pair_widths(features)
        active = self.active_set(features).to(widths.dtype)
        members = active[:, :, None] + active[:, None, :]  # how many of the pair's two arms are in C_t
        # Lexicographic: pairs inside C_t first, then pairs with one arm in it; the width decides within each.
        scores = members * (widths.amax(dim=(1, 2), keepdim=True) + 1.0) + widths
        return flat_argmax_pairs(mask_diagonal(scores, -torch.inf))
