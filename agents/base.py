"""Types and protocols of the agents package: no implementations here.

Features are torch tensors whose last dimension is the feature size d: arm features for synthetic envs,
candidate-response embeddings for LLM envs. A comparison is ``(features_first, features_second, choice)`` with
choice 1.0 when the first was preferred, as in the env's reward.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["ArrayLike", "RewardModel"]

#: What reward-model methods accept: a torch tensor, or a numpy array converted to the model's device and dtype.
ArrayLike: TypeAlias = torch.Tensor | NDArray[np.floating] | NDArray[np.integer]


@runtime_checkable
class RewardModel(Protocol):
    """A model of the rater's utility, with M posterior samples (M = 1 for a point estimate).

    Attributes:
        num_particles: M, the number of posterior samples :meth:`sample_utilities` returns.
        input_dim: d, the feature size.
        device: Where parameters live and results are returned.
    """

    num_particles: int
    input_dim: int
    device: torch.device

    def update(self, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike) -> dict[str, float]:
        """Learn from a batch of n comparisons: features (n, d), (n, d) and choices (n,) in {0, 1}.

        Returns training metrics (for example the loss) as plain floats.
        """
        ...

    def sample_utilities(self, features: ArrayLike) -> torch.Tensor:
        """Utilities under M posterior samples: features (..., d) -> tensor (M, ...)."""
        ...

    def mean_utility(self, features: ArrayLike) -> torch.Tensor:
        """Posterior-mean utility: features (..., d) -> tensor (...)."""
        ...
