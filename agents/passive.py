"""Passive exploration: two distinct candidates uniformly at random (the first paper's baseline)."""

from __future__ import annotations

import torch

from duelgym.agents.candidates import CandidateAgent, RewardModelChoice

__all__ = ["PassiveAgent"]


class PassiveAgent(CandidateAgent):
    """Queries two distinct candidates drawn uniformly; serves the argmax of a point reward model by default."""

    default_reward_model: RewardModelChoice = "point"

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        batch, n = features.shape[:2]
        first = self._random_integers(n, (batch,))
        second = (first + 1 + self._random_integers(n - 1, (batch,))) % n  # uniform over the others
        return torch.stack([first, second], dim=1)
