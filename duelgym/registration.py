"""The duelgym registry: Gymnasium ids in the ``duelgym`` namespace, reachable by their short names too.

``duelgym.make("LinearDuel-v0")`` and ``gymnasium.make("duelgym/LinearDuel-v0")`` build the same env.
"""

from __future__ import annotations

from typing import Any

import gymnasium
from gymnasium.envs.registration import EnvSpec

__all__ = ["NAMESPACE", "UnknownEnvError", "list_envs", "make", "make_vec", "register", "spec"]

NAMESPACE = "duelgym"


class UnknownEnvError(gymnasium.error.UnregisteredEnv, ValueError):
    """An id that is not registered in the ``duelgym`` namespace."""


def _full_id(env_id: str) -> str:
    if not isinstance(env_id, str):
        raise TypeError(f"id must be a str such as 'LinearDuel-v0', got {env_id!r} of type {type(env_id).__name__}")
    return env_id if env_id.startswith(f"{NAMESPACE}/") else f"{NAMESPACE}/{env_id}"


def list_envs() -> list[str]:
    """The registered duelgym ids, short form (without the namespace), sorted."""
    prefix = f"{NAMESPACE}/"
    return sorted(i.removeprefix(prefix) for i in gymnasium.registry if i.startswith(prefix))


def spec(env_id: str) -> EnvSpec:
    """The :class:`gymnasium.envs.registration.EnvSpec` of a duelgym id (short or namespaced)."""
    full = _full_id(env_id)
    if full not in gymnasium.registry:
        raise UnknownEnvError(f"unknown duelgym env id {env_id!r}; known ids: {', '.join(list_envs())}")
    return gymnasium.registry[full]


def register(env_id: str, entry_point: Any, vector_entry_point: Any = None, **kwargs: Any) -> None:
    """Register an env under the ``duelgym`` namespace.

    Args:
        env_id: Short (``"MyDuel-v0"``) or namespaced (``"duelgym/MyDuel-v0"``) id.
        entry_point: Env class, factory or ``"module:attr"`` string.
        vector_entry_point: Optional native vector env (``make_vec`` uses it instead of a loop of envs).
        **kwargs: Passed to :func:`gymnasium.register` (``kwargs=``, ``max_episode_steps=``, ...).
    """
    gymnasium.register(id=_full_id(env_id), entry_point=entry_point, vector_entry_point=vector_entry_point, **kwargs)


def make(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """Build a duelgym env by id, short or namespaced, e.g. ``make("LinearDuel-v0", dim=8)``."""
    return gymnasium.make(spec(env_id), **kwargs)


def make_vec(env_id: str, num_envs: int, **kwargs: Any) -> gymnasium.vector.VectorEnv:
    """Build ``num_envs`` copies of a duelgym env as one vector env.

    Envs with a native vector version (all built-in ones) run every sub-env in one batched computation with
    ``autoreset_mode=SAME_STEP``; their sub-envs share one problem instance, so a step is a batch of queries to
    the same rater.
    """
    return gymnasium.make_vec(spec(env_id).id, num_envs=num_envs, **kwargs)
