"""A checker for native vector envs, in the spirit of Gymnasium's ``check_env`` (which covers single envs only)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode, SyncVectorEnv
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
        # Every episode lasts one step: SAME_STEP puts the step's results under final_obs / final_info.
        assert terminated.all() and not truncated.any()
        assert info["final_obs"].dtype == object and info["final_obs"].shape == (n,)
        assert all(final in env.single_observation_space for final in info["final_obs"])
        assert isinstance(info["final_info"], dict)
        for layer in (info, info["final_info"]):
            for key, value in layer.items():
                if key == "final_info":
                    continue
                assert isinstance(value, np.ndarray) and value.shape == (n,), key
                if not key.startswith("_"):
                    assert layer[f"_{key}"].dtype == np.bool_ and layer[f"_{key}"].all(), key
    env.close()

    first, second = _run(make_env, 3, steps), _run(make_env, 3, steps)
    assert data_equivalence(first, second, exact=True), "same seed gave different trajectories"
    other = _run(make_env, 4, steps)
    assert not data_equivalence(first, other), "different seeds gave the same trajectory"


def _column_wise(actions):
    """Row-wise text pairs (one (first, second) per sub-env) as the column-wise batch SyncVectorEnv iterates."""
    if isinstance(actions, np.ndarray):
        return actions
    firsts, seconds = zip(*actions, strict=True)
    return (firsts, seconds)


def _assert_same(native, reference, what: str) -> None:
    if isinstance(reference, dict):
        assert isinstance(native, dict), f"{what}: {type(native).__name__} instead of a dict"
        assert sorted(native) == sorted(reference), f"{what}: keys {sorted(native)} instead of {sorted(reference)}"
        for key in reference:
            _assert_same(native[key], reference[key], f"{what}[{key!r}]")
    else:
        assert data_equivalence(native, reference, exact=True), f"{what}: {native!r} instead of {reference!r}"


def check_matches_sync_vector_env(make_single, make_native, align=None, num_envs: int = 3, steps: int = 3) -> None:
    """Step a native vector env beside ``SyncVectorEnv(..., autoreset_mode=SAME_STEP)`` over the single env.

    ``make_single()`` and ``make_native(num_envs)`` build the two; ``align(native, sync)``, if given, makes the
    sub-envs' hidden instances equal after the seeded reset (a native env shares one instance, Gymnasium seeds each
    sub-env apart). The configuration must make everything but the sampled choices deterministic: then keys,
    ``"_key"`` masks, dtypes and values of the observations and infos must be the same, at reset and every step.
    """
    native = make_native(num_envs)
    sync = SyncVectorEnv([make_single for _ in range(num_envs)], autoreset_mode=AutoresetMode.SAME_STEP)
    assert native.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    native_obs, native_info = native.reset(seed=0)
    sync_obs, sync_info = sync.reset(seed=0)
    if align is not None:
        align(native, sync)
        native_obs, native_info = native.reset()
        sync_obs, sync_info = sync.reset()
    _assert_same(native_obs, sync_obs, "reset observation")
    _assert_same(native_info, sync_info, "reset info")
    native.action_space.seed(1)
    for step in range(steps):
        actions = native.action_space.sample()
        native_out = native.step(actions)
        sync_out = sync.step(_column_wise(actions))
        _assert_same(native_out[0], sync_out[0], f"step {step} observation")
        for index, name in ((1, "reward"), (2, "terminated"), (3, "truncated")):
            assert native_out[index].shape == sync_out[index].shape, f"step {step} {name}"
            assert native_out[index].dtype == sync_out[index].dtype, f"step {step} {name}"
        assert np.array_equal(native_out[2], sync_out[2]) and np.array_equal(native_out[3], sync_out[3])
        _assert_same(native_out[4], sync_out[4], f"step {step} info")
    native.close()
    sync.close()
