"""Test doubles shared by the agent and reward-model tests."""

from __future__ import annotations

import torch


class FixedParticles:
    """A reward model with given particle utilities u_k(f) = w_k · f (M particles, weights (M, d)); it does not
    learn, so an agent's rule can be checked against a brute-force computation on known utilities."""

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights.double()
        self.num_particles, self.input_dim = weights.shape
        self.device = torch.device("cpu")
        self.dtype = torch.float64

    def update(self, features_first, features_second, choices) -> dict[str, float]:
        return {}

    def sample_utilities(self, features) -> torch.Tensor:
        return (torch.as_tensor(features, dtype=torch.float64) @ self.weights.T).movedim(-1, 0)

    def mean_utility(self, features) -> torch.Tensor:
        return self.sample_utilities(features).mean(dim=0)
