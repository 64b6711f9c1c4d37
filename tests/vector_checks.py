"""A checker for native vector envs, in the spirit of Gymnasium's ``check_env`` (which covers single envs only)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space


def _run(make_env, seed: int, steps: int):
    env = make_env()
    trajectory = [env.reset(seed=seed)]
    env.action_space.seed(seed)
    for _ in range(steps):
        trajectory.append(env.step(env.action_space.sample()))
    env.close()
    return trajectory


def check_vector_env(make_env, steps: int = 3) -> None:
    """Check the vector env that ``make_env()`` builds: spaces, shapes, dtypes, seeding, autoreset and reuse."""
    env: gym.vector.VectorEnv = make_env()
    n = env.num_envs
    assert env.metadata.get("autoreset_mode") == AutoresetMode.SAME_STEP
    assert env.observation_space == batch_space(env.single_observation_space, n)
    if isinstance(env.single_action_space, gym.spaces.Tuple):  # text pairs batch row-wise: one pair per sub-env
        assert len(env.action_space) == n and all(space == env.single_action_space for space in env.action_space)
    else:
        assert env.action_space == batch_space(env.single_action_space, n)
    with pytest.raises(ResetNeeded):
        env.step(env.action_space.sample())

    obs, info = env.reset(seed=7)
    assert obs in env.observation_space and isinstance(info, dict)
    previous = obs
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs in env.observation_space
        if isinstance(obs, dict):
            assert not np.shares_memory(obs["arms"], previous["arms"]), "returned observations reuse memory"
        previous = obs
        assert reward.shape == (n,) and reward.dtype == np.float64
        assert set(np.unique(reward)) <= {0.0, 1.0}
        assert terminated.shape == truncated.shape == (n,)
        assert terminated.dtype == truncated.dtype == np.bool_
        for key, value in info.items():
            assert isinstance(value, np.ndarray) and value.shape == (n,), key
            if not key.startswith("_"):
                assert info[f"_{key}"].all(), key
    env.close()

    first, second = _run(make_env, 3, steps), _run(make_env, 3, steps)
    assert data_equivalence(first, second, exact=True), "same seed gave different trajectories"
    other = _run(make_env, 4, steps)
    assert not data_equivalence(first, other), "different seeds gave the same trajectory"
