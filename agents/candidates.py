"""The base of agents that choose among N candidates described by features: observations, reward model, respond.

An observation batch is ``{"arms": (B, N, d)}`` (a numpy array or tensor); the agent turns it into a float tensor
on its reward model's device, picks pairs with :meth:`CandidateAgent.pairs` (the algorithm, one per module),
learns from the features of the queried pairs, and serves the argmax of the posterior-mean utility.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray

from duelgym._validation import check_int
from duelgym.agents.base import RewardModel
from duelgym.agents.reward_models import ENN, LaplaceRewardModel, PointRewardModel

__all__ = ["CandidateAgent", "RewardModelChoice", "build_reward_model", "derive_seeds"]

RewardModelChoice = Literal["point", "enn", "laplace"]


def derive_seeds(seed: int | None, count: int) -> list[int | None]:
    """``count`` independent integer seeds derived from one ``seed`` (``None``: ``count`` times ``None``).

    Spawned with :class:`numpy.random.SeedSequence`, so the streams they start are uncorrelated with each other and
    with a generator seeded by ``seed`` itself, and one seed fixes them all.
    """
    if seed is None:
        return [None] * count
    children = np.random.SeedSequence(check_int("seed", seed, minimum=0)).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0]) for child in children]


def build_reward_model(
    reward_model: RewardModelChoice | RewardModel,
    input_dim: int,
    seed: int | None,
    device: str | torch.device,
    reward_model_kwargs: dict[str, Any] | None,
) -> RewardModel:
    """A reward model by name (``"point"``, ``"enn"``, ``"laplace"``) with extra keyword arguments, or as given."""
    kwargs = dict(reward_model_kwargs or {})
    if isinstance(reward_model, str):
        classes = {"point": PointRewardModel, "enn": ENN, "laplace": LaplaceRewardModel}
        if reward_model not in classes:
            raise ValueError(f"reward_model must be one of {sorted(classes)} or a RewardModel, got {reward_model!r}")
        return classes[reward_model](input_dim, seed=seed, device=device, **kwargs)
    if kwargs:
        raise ValueError("reward_model_kwargs apply to a reward model given by name, not to an instance")
    if not isinstance(reward_model, RewardModel):
        raise TypeError(
            f"reward_model must be a name or follow the RewardModel protocol, got {type(reward_model).__name__}"
        )
    if reward_model.input_dim != input_dim:
        raise ValueError(
            f"reward_model.input_dim is {reward_model.input_dim}, but the env's arms have {input_dim} features"
        )
    return reward_model


class CandidateAgent:
    """Shared machinery of the built-in agents; subclasses implement :meth:`pairs`.

    Args:
        num_candidates: N, candidates per context (from the env).
        feature_dim: d, features per candidate.
        reward_model: ``"point"``, ``"enn"``, ``"laplace"`` or a :class:`~duelgym.agents.base.RewardModel`.
        reward_model_kwargs: Keyword arguments for a reward model given by name.
        seed: One seed for the whole agent (``None``: nondeterministic). Two independent seeds are derived from it
            (:func:`derive_seeds`): one for the agent's own generator (its random choices), one for a reward model
            built by name, so the two never share a stream.
        device: Device of the reward model and of the agent's computations.
    """

    default_reward_model: RewardModelChoice = "enn"
    #: Posterior samples the algorithm needs: 2 for the agents that compare particles (a point model has 1).
    min_particles: int = 1

    def __init__(
        self,
        num_candidates: int,
        feature_dim: int,
        reward_model: RewardModelChoice | RewardModel | None = None,
        reward_model_kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.num_candidates = check_int("num_candidates", num_candidates, minimum=2)
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        agent_seed, model_seed = derive_seeds(seed, 2)
        choice = self.default_reward_model if reward_model is None else reward_model
        self.reward_model = build_reward_model(choice, self.feature_dim, model_seed, device, reward_model_kwargs)
        particles = getattr(self.reward_model, "num_particles", 1)
        if particles < self.min_particles:
            raise ValueError(
                f"{type(self).__name__} compares posterior samples and needs a reward model with at least "
                f"{self.min_particles} particles; reward_model={choice!r} has num_particles={particles} "
                "(use 'enn' with num_particles >= 2, or 'laplace')"
            )
        self.device = self.reward_model.device
        self.generator = torch.Generator()
        if agent_seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(agent_seed)

    def features(self, observations: Any) -> torch.Tensor:
        """The candidates' features of an observation batch as a float tensor (B, N, d) on the agent's device."""
        arms = observations.get("arms") if isinstance(observations, dict) else None
        if arms is None:
            raise TypeError(
                f"{type(self).__name__} expects an observation batch {{'arms': array (B, N, d)}}, "
                f"got {type(observations).__name__}"
            )
        tensor = torch.as_tensor(np.asarray(arms) if not isinstance(arms, torch.Tensor) else arms)
        expected = f"(B, {self.num_candidates}, {self.feature_dim})"
        if tensor.ndim != 3 or tensor.shape[1:] != (self.num_candidates, self.feature_dim):
            hint = " (add a batch dimension for a single env: obs['arms'][None])" if tensor.ndim == 2 else ""
            raise ValueError(f"observations['arms'] must have shape {expected}, got {tuple(tensor.shape)}{hint}")
        dtype = (
            torch.float64
            if isinstance(self.reward_model, LaplaceRewardModel)
            else getattr(self.reward_model, "dtype", torch.float32)
        )
        return tensor.to(device=self.device, dtype=dtype)

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        """The algorithm: candidate features (B, N, d) -> pairs to query, int64 tensor (B, 2)."""
        raise NotImplementedError

    def select(self, observations: Any) -> NDArray[np.int64]:
        """Pairs to query for an observation batch: int array (B, 2)."""
        return self.pairs(self.features(observations)).cpu().numpy().astype(np.int64)

    def observe(self, observations: Any, pairs: Any, choices: Any) -> dict[str, float]:
        """Update the reward model on the features of the queried pairs and the choices (1.0 = first preferred).

        ``pairs`` is an int array (B, 2) of candidate indices in [0, N − 1]; anything else raises a ``ValueError``.
        """
        features = self.features(observations)
        pairs = torch.as_tensor(np.asarray(pairs), device=self.device)
        batch = features.shape[0]
        if pairs.shape != (batch, 2) or pairs.dtype not in (torch.int32, torch.int64):
            raise ValueError(
                f"pairs must be an int array of shape ({batch}, 2), got {tuple(pairs.shape)} {pairs.dtype}"
            )
        out_of_range = (pairs < 0) | (pairs >= self.num_candidates)
        if out_of_range.any():
            row, column = (int(i) for i in out_of_range.nonzero()[0])
            raise ValueError(
                f"pairs[{row}, {column}] = {int(pairs[row, column])} is not a candidate index; expected indices in "
                f"[0, {self.num_candidates - 1}] (negative indices do not count from the end)"
            )
        rows = torch.arange(batch, device=self.device)
        first, second = features[rows, pairs[:, 0]], features[rows, pairs[:, 1]]
        return self._learn(first, second, torch.as_tensor(np.asarray(choices, dtype=np.float64)))

    def _learn(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> dict[str, float]:
        """Learn from comparisons: features (B, d), (B, d) and choices (B,). Default: update the reward model."""
        return self.reward_model.update(first, second, choices)

    def respond(self, observations: Any) -> NDArray[np.int64]:
        """The candidate with the highest posterior-mean utility in each context: int array (B,)."""
        return self.reward_model.mean_utility(self.features(observations)).argmax(dim=-1).cpu().numpy()

    def _random_integers(self, high: int, size: tuple[int, ...]) -> torch.Tensor:
        return torch.randint(high, size, generator=self.generator).to(self.device)
