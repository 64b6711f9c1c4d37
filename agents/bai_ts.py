"""BAI-TS, the default explorer of the oat library (SEA, arXiv 2411.01493): Thompson first arm, then the
candidate the posterior disagrees about most against it."""

from __future__ import annotations

import torch

from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.dts import thompson_first
from duelgym.agents.uncertainty import difference_variance

__all__ = ["BestArmThompsonAgent"]


class BestArmThompsonAgent(CandidateAgent):
    """first = argmax under one sampled particle; second = argmax over j ≠ first of Var_k[r_k(first) − r_k(j)]."""

    min_particles = 2

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        samples = self.reward_model.sample_utilities(features)
        _, choices = thompson_first(samples, self.generator)
        first = choices[:, 0]
        variance = difference_variance(samples, first)  # (B, N)
        variance[torch.arange(first.shape[0], device=first.device), first] = -1.0
        return torch.stack([first, variance.argmax(dim=1)], dim=1)
