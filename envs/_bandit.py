"""What every arm-feature dueling bandit shares: the problem interface, the single env and the native vector env.

A concrete env (linear, matrix) only says how to draw a problem instance, how to draw contexts (the arms'
features and their true scores) and how likely the first arm of a pair is to be preferred. Validation of
actions, one-step episodes, seeding, regret bookkeeping and batching live here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from duelgym.envs._vector import object_array, same_step_info
from duelgym.evaluation import pair_regrets
from duelgym.oracle import check_probabilities, sample_choices
from duelgym.spaces import ArmPair

__all__ = ["ArmDuelEnv", "ArmDuelVectorEnv", "ArmProblem", "Contexts", "random_comparisons"]


@dataclass(frozen=True)
class Contexts:
    """A batch of B contexts of K arms.

    Attributes:
        arms: Arm features shown to the agent, float32, shape (B, K, d).
        scores: True per-arm scores used for regret (utilities for linear envs), float64, shape (B, K).
    """

    arms: NDArray[np.float32]
    scores: NDArray[np.float64]


class ArmProblem(ABC):
    """A dueling bandit over ``num_arms`` arms described by ``feature_dim`` features each."""

    num_arms: int
    feature_dim: int

    @abstractmethod
    def arm_space(self) -> spaces.Box:
        """The space of one context's arm features, shape (K, d), float32."""

    @abstractmethod
    def draw_instance(self, rng: np.random.Generator) -> None:
        """Draw the hidden problem instance (kept until the next call)."""

    @abstractmethod
    def draw_contexts(self, rng: np.random.Generator, batch: int) -> Contexts:
        """Draw ``batch`` independent contexts of the current instance."""

    @abstractmethod
    def p_first(self, contexts: Contexts, first: NDArray[np.int64], second: NDArray[np.int64]) -> NDArray[np.float64]:
        """True probability that ``first`` (shape (B,)) is preferred to ``second`` in each context."""


def as_pairs(action: Any, num_arms: int, num_envs: int | None) -> NDArray[np.int64]:
    """Validate an action and return it as an int64 array of shape (B, 2) (B = 1 for a single env)."""
    expected = (2,) if num_envs is None else (num_envs, 2)
    if not isinstance(action, (np.ndarray, tuple, list)):
        raise TypeError(
            f"action must be an int array of shape {expected} (or a tuple of two ints for one env), "
            f"got {action!r} of type {type(action).__name__}"
        )
    try:
        pairs = np.asarray(action)
    except ValueError as error:  # ragged nested sequences
        raise ValueError(f"action must have shape {expected}, got a ragged sequence {action!r}") from error
    if pairs.dtype.kind not in "iu":
        raise TypeError(f"action must hold integer arm indices, got dtype {pairs.dtype} in {action!r}")
    if pairs.shape != expected:
        raise ValueError(f"action must have shape {expected}, got shape {pairs.shape}")
    out_of_range = (pairs < 0) | (pairs >= num_arms)
    if out_of_range.any():
        bad = pairs[out_of_range].flat[0]
        raise ValueError(f"action holds arm index {bad}; expected indices in [0, {num_arms - 1}]")
    return pairs.astype(np.int64).reshape(-1, 2)


def step_outcome(
    problem: ArmProblem, contexts: Contexts, pairs: NDArray[np.int64], rng: np.random.Generator
) -> tuple[NDArray[np.float64], dict[str, NDArray[Any]]]:
    """Sample one choice per pair; return the rewards (B,) and the per-pair info arrays (B,)."""
    first, second = pairs[:, 0], pairs[:, 1]
    p_first = check_probabilities(
        problem.p_first(contexts, first, second), source=f"{type(problem).__name__}.p_first", size=len(first)
    )
    rewards = sample_choices(p_first, rng)
    regret_strong, regret_weak = pair_regrets(contexts.scores, first, second)
    info = {
        "p_first": p_first,
        "regret_strong": regret_strong,
        "regret_weak": regret_weak,
        "best_arm": contexts.scores.argmax(axis=1),
    }
    return rewards, info


def observation_space(problem: ArmProblem) -> spaces.Dict:
    return spaces.Dict({"arms": problem.arm_space()})


class ArmDuelEnv(gym.Env[dict[str, Any], NDArray[np.int64]]):
    """One-step dueling bandit episodes over a problem's contexts (see the concrete envs' docstrings)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, problem: ArmProblem) -> None:
        self.problem = problem
        self.observation_space = observation_space(problem)
        self.action_space = ArmPair(problem.num_arms)
        self._has_instance = False
        self._contexts: Contexts | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, Any]]:
        """Draw a new context; with a ``seed`` (or on the first reset) draw a new problem instance first."""
        super().reset(seed=seed)
        if seed is not None or not self._has_instance:
            self.problem.draw_instance(self.np_random)
            self._has_instance = True
        self._contexts = self.problem.draw_contexts(self.np_random, 1)
        return {"arms": self._contexts.arms[0].copy()}, {}

    def step(self, action: Any) -> tuple[dict[str, NDArray[np.float32]], float, bool, bool, dict[str, Any]]:
        """Query the rater with the pair ``action``; the episode ends after this step."""
        if self._contexts is None:
            raise ResetNeeded("Cannot call env.step() before calling env.reset() (episodes last one step)")
        pairs = as_pairs(action, self.problem.num_arms, None)
        contexts, self._contexts = self._contexts, None
        rewards, info = step_outcome(self.problem, contexts, pairs, self.np_random)
        info = {key: value[0].item() for key, value in info.items()}
        return {"arms": contexts.arms[0].copy()}, float(rewards[0]), True, False, info


class ArmDuelVectorEnv(VectorEnv[dict[str, NDArray[np.float32]], NDArray[np.int64], NDArray[Any]]):
    """``num_envs`` one-step episodes per step, computed as one batch (autoreset ``SAME_STEP``).

    All sub-envs share one problem instance and one random stream: a step is a batch of ``num_envs`` queries
    to the same rater. Observations batch to ``{"arms": (B, K, d)}`` and actions to an int array (B, 2). Every
    episode ends at every step, and the info follows Gymnasium's ``SAME_STEP`` layout exactly (what
    ``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)`` over the single env returns): the observation a
    step returns is the next context of every sub-env; the step's own results are under ``info["final_info"]``
    (``p_first``, ``regret_strong``, ``regret_weak``, ``best_arm``: arrays of length B with their ``"_key"``
    masks) and the queried contexts under ``info["final_obs"]`` (an object array of B ``{"arms": (K, d)}``), with
    the masks ``info["_final_info"]`` and ``info["_final_obs"]`` (all true). The reset info is empty.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, problem: ArmProblem, num_envs: int) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        self.problem = problem
        self.num_envs = int(num_envs)
        self.single_observation_space = observation_space(problem)
        self.single_action_space = ArmPair(problem.num_arms)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._has_instance = False
        self._contexts: Contexts | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, Any]]:
        """Draw ``num_envs`` contexts; with an int ``seed`` (or on the first reset) draw a new instance first."""
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None (one instance for all sub-envs), got {seed!r}")
        super().reset(seed=seed)
        if seed is not None or not self._has_instance:
            self.problem.draw_instance(self.np_random)
            self._has_instance = True
        self._contexts = self.problem.draw_contexts(self.np_random, self.num_envs)
        return {"arms": self._contexts.arms}, {}

    def step(
        self, actions: Any
    ) -> tuple[
        dict[str, NDArray[np.float32]],
        NDArray[np.float64],
        NDArray[np.bool_],
        NDArray[np.bool_],
        dict[str, Any],
    ]:
        """Query the rater once per sub-env and start the next episodes (same step)."""
        if self._contexts is None:
            raise ResetNeeded("Cannot call env.step() before calling env.reset()")
        pairs = as_pairs(actions, self.problem.num_arms, self.num_envs)
        rewards, step_info = step_outcome(self.problem, self._contexts, pairs, self.np_random)
        final_obs = object_array(({"arms": arms} for arms in self._contexts.arms), self.num_envs)
        info = same_step_info(final_obs, step_info, {})
        self._contexts = self.problem.draw_contexts(self.np_random, self.num_envs)
        terminated = np.ones(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return {"arms": self._contexts.arms}, rewards, terminated, truncated, info


def random_comparisons(
    env: ArmDuelVectorEnv, num_steps: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float64], NDArray[np.float64]]:
    """Comparisons of uniformly random pairs (the passive baseline's data), for reward-model experiments.

    Steps ``env`` (reset beforehand) ``num_steps`` times with uniformly random pairs of distinct arms and
    returns ``(features_first (n, d), features_second (n, d), choices (n,), p_first (n,))`` with
    n = num_steps × num_envs. ``p_first`` is the hidden truth, for evaluation only.
    """
    if env._contexts is None:
        raise ResetNeeded("reset the env before drawing comparisons")
    rows = np.arange(env.num_envs)
    num_arms = env.problem.num_arms
    out: list[tuple[NDArray[Any], ...]] = []
    for _ in range(num_steps):
        arms = env._contexts.arms
        first = rng.integers(num_arms, size=env.num_envs)
        second = (first + rng.integers(1, num_arms, size=env.num_envs)) % num_arms
        _, choices, _, _, info = env.step(np.stack([first, second], axis=1))
        out.append((arms[rows, first], arms[rows, second], choices, info["final_info"]["p_first"]))
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))  # type: ignore[return-value]
