"""Infomax: the pair whose preference the posterior is least sure of (first paper, "infomax")."""

from __future__ import annotations

import torch

from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.uncertainty import flat_argmax_pairs, mask_diagonal, preference_variance

__all__ = ["InfomaxAgent"]


class InfomaxAgent(CandidateAgent):
    """Queries argmax over i ≠ j of Var_k σ(r_k(i) − r_k(j)) across the ENN's particles, all pairs at once.

    Pure exploration: it ignores how good the candidates are, so judge it by the simple regret of :meth:`respond`.
    """

    min_particles = 2

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        variance = preference_variance(self.reward_model.sample_utilities(features))
        return flat_argmax_pairs(mask_diagonal(variance, -1.0))
