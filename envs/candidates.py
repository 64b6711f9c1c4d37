"""Run arm-feature agents on LLMDuel-v0: candidates' features in, indices out, text pairs to the env."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from duelgym.envs._bandit import as_pairs
from duelgym.envs._vector import object_array
from duelgym.lm.candidates import CandidatePool

__all__ = ["CandidateWrapper"]


class CandidateWrapper(VectorWrapper):
    """Shows a text vector env's prompts as ``{"arms": (B, N, d)}``: the features of N cached candidate responses.

    Fixed-LM mode of the first paper: every prompt's N candidates are sampled once from the frozen base LM (a
    :class:`~duelgym.lm.CandidatePool`); an agent picks a pair of candidate indices (int array (B, 2)), which the
    wrapper turns into a pair of texts for the env. :meth:`responses` turns served indices back into texts, for
    win rates. The env's info passes through, except ``info["final_obs"]``, which holds the queried prompts'
    observations in this wrapper's space (``{"arms": (N, d)}`` per sub-env), as Gymnasium's observation wrappers
    do under autoreset ``SAME_STEP``. So every agent written for arm features runs unchanged::

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
        self._arms: NDArray[np.float32] | None = None
        self.prompts: tuple[str, ...] = ()

    def observe_prompts(self, prompts: tuple[str, ...]) -> dict[str, NDArray[np.float32]]:
        """The observation of a batch of prompts (also what a resumed run calls to rebuild its state)."""
        self.prompts = tuple(prompts)
        self._texts, features = self.pool.get(self.prompts)
        self._arms = features.float().cpu().numpy()
        return {"arms": self._arms}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        prompts, info = self.env.reset(seed=seed, options=options)
        return self.observe_prompts(prompts), info

    def step(self, actions: Any):
        pairs = as_pairs(actions, self.pool.num_candidates, self.num_envs)
        texts = [(self._texts[row][a], self._texts[row][b]) for row, (a, b) in enumerate(pairs)]
        queried = self._arms
        prompts, rewards, terminated, truncated, info = self.env.step(texts)
        if "final_obs" in info and queried is not None:
            ended = info["_final_obs"]
            info["final_obs"] = object_array(
                ({"arms": arms} if done else None for arms, done in zip(queried, ended, strict=True)), self.num_envs
            )
        return self.observe_prompts(prompts), rewards, terminated, truncated, info

    def responses(self, indices: NDArray[np.integer]) -> list[str]:
        """The texts of candidate ``indices[i]`` of the current prompt i (for example an agent's ``respond``).

        ``indices`` is an int array (B,) of candidate indices in [0, N − 1]; anything else raises an error (a
        negative index would otherwise silently pick a candidate counted from the end).
        """
        served = np.asarray(indices)
        if served.dtype.kind not in "iu" or served.shape != (len(self._texts),):
            raise ValueError(
                f"indices must be an int array of shape ({len(self._texts)},), one candidate per prompt, "
                f"got shape {served.shape} and dtype {served.dtype}"
            )
        out_of_range = (served < 0) | (served >= self.pool.num_candidates)
        if out_of_range.any():
            row = int(np.argmax(out_of_range))
            raise ValueError(
                f"indices[{row}] = {served[row]} is not a candidate index; expected indices in "
                f"[0, {self.pool.num_candidates - 1}]"
            )
        return [self._texts[row][int(i)] for row, i in enumerate(served)]
