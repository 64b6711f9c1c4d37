"""Run arm-feature agents on LLMDuel-v0: candidates' features in, indices out, text pairs to the env."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from duelgym.envs._bandit import as_pairs
from duelgym.lm.candidates import CandidatePool

__all__ = ["CandidateWrapper"]


class CandidateWrapper(VectorWrapper):
    """Shows a text vector env's prompts as ``{"arms": (B, N, d)}``: the features of N cached candidate responses.

    Fixed-LM mode of the first paper: every prompt's N candidates are sampled once from the frozen base LM (a
    :class:`~duelgym.lm.CandidatePool`); an agent picks a pair of candidate indices (int array (B, 2)), which the
    wrapper turns into a pair of texts for the env. :meth:`responses` turns served indices back into texts, for
    win rates. So every agent written for arm features runs unchanged::

        env = CandidateWrapper(duelgym.make_vec("LLMDuel-v0", num_envs=32), CandidatePool(duelgym.lm.load(...)))
        agent = duelgym.agents.make("dts", env, seed=0)
    """

    def __init__(self, env: VectorEnv, pool: CandidatePool) -> None:
        super().__init__(env)
        self.pool = pool
        shape = (pool.num_candidates, pool.lm.feature_dim)
        self.single_observation_space = spaces.Dict({"arms": spaces.Box(-np.inf, np.inf, shape, np.float32)})
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.single_action_space = spaces.MultiDiscrete([pool.num_candidates, pool.num_candidates])
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._texts: list[list[str]] = []
        self.prompts: tuple[str, ...] = ()

    def observe_prompts(self, prompts: tuple[str, ...]) -> dict[str, NDArray[np.float32]]:
        """The observation of a batch of prompts (also what a resumed run calls to rebuild its state)."""
        self.prompts = tuple(prompts)
        self._texts, features = self.pool.get(self.prompts)
        return {"arms": features.float().cpu().numpy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        prompts, info = self.env.reset(seed=seed, options=options)
        return self.observe_prompts(prompts), info

    def step(self, actions: Any):
        pairs = as_pairs(actions, self.pool.num_candidates, self.num_envs)
        texts = [(self._texts[row][a], self._texts[row][b]) for row, (a, b) in enumerate(pairs)]
        prompts, rewards, terminated, truncated, info = self.env.step(texts)
        return self.observe_prompts(prompts), rewards, terminated, truncated, info

    def responses(self, indices: NDArray[np.integer]) -> list[str]:
        """The texts of candidate ``indices[i]`` of the current prompt i (for example an agent's ``respond``)."""
        return [self._texts[row][int(i)] for row, i in enumerate(indices)]
