"""Types and protocols of the agents package: no implementations here.

Features are torch tensors whose last dimension is the feature size d: arm features for synthetic envs,
candidate-response embeddings for LLM envs. A comparison is ``(features_first, features_second, choice)`` with
choice 1.0 when the first was preferred, as in the env's reward.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["Agent", "ArrayLike", "RewardModel"]

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


@runtime_checkable
class Agent(Protocol):
    """A batched dueling-bandit agent: what to query (explore) is separate from what to serve (exploit).

    The canonical loop, for a vector env of B sub-envs::

        pairs = agent.select(obs)                      # int array (B, 2)
        next_obs, reward, terminated, truncated, info = env.step(pairs)
        agent.observe(obs, pairs, reward)
        obs = next_obs

    For arm-feature envs an observation batch is ``{"arms": (B, N, d)}``: N candidates with d features each.
    """

    def select(self, observations: Any) -> NDArray[np.int64]:
        """The pairs to query: int array (B, 2) of candidate indices."""
        ...

    def observe(self, observations: Any, pairs: NDArray[np.integer], choices: NDArray[np.floating]) -> dict[str, float]:
        """Learn from the rater's choices (B,) on ``pairs`` (B, 2) queried for ``observations``; returns metrics."""
        ...

    def respond(self, observations: Any) -> NDArray[np.int64]:
        """The candidate served for each context (the exploit policy): int array (B,)."""
        ...
