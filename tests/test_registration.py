"""make, make_vec, register, spec and list_envs."""

from __future__ import annotations

import gymnasium as gym
import pytest

import duelgym
from duelgym.envs import LinearDuelEnv, LinearDuelVectorEnv, MatrixDuelVectorEnv


def test_public_api_is_explicit() -> None:
    assert set(duelgym.__all__) == {
        "UnknownEnvError",
        "__version__",
        "list_envs",
        "make",
        "make_vec",
        "register",
        "spec",
    }
    assert isinstance(duelgym.__version__, str)


def test_short_and_namespaced_ids_build_the_same_env() -> None:
    assert duelgym.list_envs() == ["LLMDuel-v0", "LinearDuel-v0", "MatrixDuel-v0"]
    short = duelgym.make("LinearDuel-v0")
    namespaced = duelgym.make("duelgym/LinearDuel-v0")
    plain = gym.make("duelgym/LinearDuel-v0")
    assert short.spec.id == namespaced.spec.id == plain.spec.id == "duelgym/LinearDuel-v0"
    assert isinstance(short.unwrapped, LinearDuelEnv)
    assert duelgym.spec("LinearDuel-v0") is duelgym.spec("duelgym/LinearDuel-v0")


def test_make_vec_builds_the_native_vector_env() -> None:
    assert isinstance(duelgym.make_vec("LinearDuel-v0", num_envs=4), LinearDuelVectorEnv)
    assert isinstance(duelgym.make_vec("MatrixDuel-v0", num_envs=2, kind="cyclic"), MatrixDuelVectorEnv)


def test_unknown_ids_list_the_known_ones() -> None:
    for make in (duelgym.make, lambda i: duelgym.make_vec(i, num_envs=2)):
        with pytest.raises(duelgym.UnknownEnvError, match="known ids: LLMDuel-v0, LinearDuel-v0, MatrixDuel-v0"):
            make("LinaerDuel-v0")
    with pytest.raises(ValueError, match="unknown duelgym env id 'CartPole-v1'"):
        duelgym.make("CartPole-v1")
    with pytest.raises(TypeError, match="id must be a str"):
        duelgym.make(3)


def test_register_adds_an_id_to_the_namespace() -> None:
    duelgym.register("TinyLinear-v0", entry_point=LinearDuelEnv, kwargs={"dim": 2, "num_arms": 4})
    try:
        assert "TinyLinear-v0" in duelgym.list_envs()
        env = gym.make("duelgym/TinyLinear-v0")
        assert env.observation_space["arms"].shape == (4, 2)
    finally:
        del gym.registry["duelgym/TinyLinear-v0"]
    assert "TinyLinear-v0" not in duelgym.list_envs()
