"""Agents by name: ``make(name, env)``, ``register(name, factory)``, ``list_agents()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from duelgym.agents.bai_ts import BestArmThompsonAgent
from duelgym.agents.base import Agent
from duelgym.agents.boltzmann import BoltzmannAgent
from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.colstim import CoLSTIMAgent
from duelgym.agents.dts import DoubleThompsonAgent
from duelgym.agents.ids import InformationDirectedAgent
from duelgym.agents.infomax import InfomaxAgent
from duelgym.agents.maxinp import MaxInPAgent
from duelgym.agents.maxpairucb import MaxPairUCBAgent
from duelgym.agents.multiset import MultisetAgent
from duelgym.agents.passive import PassiveAgent

__all__ = ["AgentFactory", "arm_features_shape", "list_agents", "make", "register"]

#: ``factory(env, seed=..., **kwargs) -> Agent``; ``env`` is a single or vector env.
AgentFactory = Callable[..., Agent]

_REGISTRY: dict[str, AgentFactory] = {}


def arm_features_shape(env: gym.Env | gym.vector.VectorEnv, agent: str = "this agent") -> tuple[int, int]:
    """(N, d): candidates per context and features per candidate, read from the env's observation space."""
    space = getattr(env, "single_observation_space", None) or env.observation_space
    arms = space.spaces.get("arms") if isinstance(space, spaces.Dict) else None
    if not isinstance(arms, spaces.Box) or len(arms.shape) != 2:
        raise ValueError(
            f"agent {agent!r} needs candidates described by features, observations like {{'arms': Box(N, d)}}; "
            f"this env's observation space is {space}"
        )
    if arms.shape[0] < 2:
        raise ValueError(f"agent {agent!r} needs at least 2 candidates per context, the env has {arms.shape[0]}")
    return int(arms.shape[0]), int(arms.shape[1])


def register(name: str, factory: AgentFactory) -> None:
    """Make ``factory`` available as ``make(name, env, seed=..., **kwargs)`` (and to the runner by name)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable as factory(env, seed=..., **kwargs), got {factory!r}")
    if name in _REGISTRY:
        raise ValueError(f"agent {name!r} is already registered; choose another name")
    _REGISTRY[name] = factory


def list_agents() -> list[str]:
    """The registered agent names, sorted."""
    return sorted(_REGISTRY)


def make(name: str, env: gym.Env | gym.vector.VectorEnv, seed: int | None = None, **kwargs: Any) -> Agent:
    """Build the agent ``name`` for ``env`` (single or vector: the agent reads its spaces).

    Extra keyword arguments go to the agent (for the built-ins: ``reward_model``, ``reward_model_kwargs``,
    ``device`` and the algorithm's own options).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(list_agents())}")
    return _REGISTRY[name](env, seed=seed, **kwargs)


def _candidate_factory(name: str, agent_class: type[CandidateAgent], **defaults: Any) -> AgentFactory:
    def factory(env: gym.Env | gym.vector.VectorEnv, seed: int | None = None, **kwargs: Any) -> Agent:
        num_candidates, feature_dim = arm_features_shape(env, name)
        for key, value in defaults.items():
            if key in kwargs and kwargs[key] != value:
                raise ValueError(f"agent {name!r} fixes {key}={value!r}; got {key}={kwargs[key]!r}")
        return agent_class(num_candidates, feature_dim, seed=seed, **{**defaults, **kwargs})

    return factory


for _name, _class, _defaults in (
    ("passive", PassiveAgent, {}),
    # Passive with the ENN that DTS uses: the exploration-only baseline (the same reward model on both sides).
    ("passive-enn", PassiveAgent, {"reward_model": "enn"}),
    ("boltzmann", BoltzmannAgent, {}),
    # Boltzmann on the ENN's mean: exploration that uses the reward model but not its uncertainty (the control).
    ("boltzmann-enn", BoltzmannAgent, {"reward_model": "enn"}),
    ("infomax", InfomaxAgent, {}),
    ("dts", DoubleThompsonAgent, {}),
    ("bai-ts", BestArmThompsonAgent, {}),
    ("ids", InformationDirectedAgent, {}),
    ("laplace-dts", DoubleThompsonAgent, {"reward_model": "laplace"}),
    ("multiset", MultisetAgent, {}),
    ("maxinp", MaxInPAgent, {}),
    ("colstim", CoLSTIMAgent, {}),
    ("maxpairucb", MaxPairUCBAgent, {}),
):
    register(_name, _candidate_factory(_name, _class, **_defaults))
