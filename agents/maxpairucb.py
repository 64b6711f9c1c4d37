"""MaxPairUCB: the pair of largest joint upper confidence bound, as implemented in VACDB's code (Di et al. 2024)."""

from __future__ import annotations

import torch

from duelgym.agents.linear_confidence import LinearConfidenceAgent
from duelgym.agents.uncertainty import flat_argmax_pairs, mask_diagonal

__all__ = ["MaxPairUCBAgent"]


class MaxPairUCBAgent(LinearConfidenceAgent):
    """MaxPairUCB: both arms at once, by an optimistic estimate of the pair's total utility.

    Rule (the ``MaxPairUCB`` baseline of Di et al., "Variance-aware regret bounds for stochastic contextual dueling
    bandits", ICLR 2024, code uclaml/VACDB), with θ̂ the logistic MLE and V = λI + Σ zzᵀ
    (see :mod:`duelgym.agents.linear_confidence`):

        (first, second) = argmax_{i ≠ j} θ̂ᵀx_i + θ̂ᵀx_j + β‖x_i − x_j‖_{V⁻¹}

    The utility terms keep both arms near the top; the width term pays for pairs whose comparison is uncertain.
    VACDB's version ranges over i = j too (a zero-width, zero-information duel); duelgym's agents always query two
    distinct arms. Deterministic: ties go to the first pair in row-major order.

    Args:
        **kwargs: See :class:`~duelgym.agents.linear_confidence.LinearConfidenceAgent` (β, T, λ) and
            :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        utilities = self.estimated_utilities(features)
        scores = utilities[:, :, None] + utilities[:, None, :] + self.confidence_width * self.pair_widths(features)
        return flat_argmax_pairs(mask_diagonal(scores, -torch.inf))
