"""Exploration agents and reward models, installed as ``duelgym.agents``.

>>> env = duelgym.make_vec("LinearDuel-v0", num_envs=8)
>>> agent = duelgym.agents.make("dts", env, seed=0)

| name | class | what it queries |
|---|---|---|
| ``passive`` | :class:`PassiveAgent` | two distinct candidates uniformly (point reward model) |
| ``boltzmann`` | :class:`BoltzmannAgent` | softmax(r̄/τ) draws without replacement (point reward model) |
| ``infomax`` | :class:`InfomaxAgent` | the pair of largest Var_k σ(r_k(i) − r_k(j)) (ENN) |
| ``dts`` | :class:`DoubleThompsonAgent` | argmax under two sampled particles (ENN) |
| ``bai-ts`` | :class:`BestArmThompsonAgent` | Thompson first arm, then the most uncertain difference (ENN) |
| ``ids`` | :class:`InformationDirectedAgent` | argmin Δ²/I over pairs (ENN) |
| ``laplace-dts`` | :class:`DoubleThompsonAgent` | DTS with the exact Laplace posterior (linear features only) |
| ``multiset`` | :class:`MultisetAgent` | the batch as an optimal-design multiset of pairs (ENN) |

Every agent serves (``respond``) the argmax of its reward model's posterior-mean utility.
"""

from duelgym.agents.bai_ts import BestArmThompsonAgent
from duelgym.agents.base import Agent, RewardModel
from duelgym.agents.boltzmann import BoltzmannAgent
from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.dts import DoubleThompsonAgent
from duelgym.agents.ids import InformationDirectedAgent
from duelgym.agents.infomax import InfomaxAgent
from duelgym.agents.multiset import MultisetAgent
from duelgym.agents.passive import PassiveAgent
from duelgym.agents.registry import arm_features_shape, list_agents, make, register

__all__ = [
    "Agent",
    "BestArmThompsonAgent",
    "BoltzmannAgent",
    "CandidateAgent",
    "DoubleThompsonAgent",
    "InfomaxAgent",
    "InformationDirectedAgent",
    "MultisetAgent",
    "PassiveAgent",
    "RewardModel",
    "arm_features_shape",
    "list_agents",
    "make",
    "register",
]
