"""duelgym: learning from human preferences as a Gymnasium environment.

>>> import duelgym
>>> env = duelgym.make("LinearDuel-v0")
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step((0, 1))
"""

from duelgym._version import __version__
from duelgym.registration import UnknownEnvError, list_envs, make, make_vec, register, spec

__all__ = ["UnknownEnvError", "__version__", "list_envs", "make", "make_vec", "register", "spec"]

import duelgym.envs  # noqa: F401  (registers the built-in envs)
