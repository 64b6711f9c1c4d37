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
| ``maxinp`` | :class:`MaxInPAgent` | most uncertain pair among arms not ruled out (Saha 2021; linear MLE) |
| ``colstim`` | :class:`CoLSTIMAgent` | Gumbel-perturbed first arm, optimistic challenger (Bengs et al. 2022) |
| ``maxpairucb`` | :class:`MaxPairUCBAgent` | argmax θ̂ᵀx_i + θ̂ᵀx_j + β‖x_i − x_j‖_{V⁻¹} (VACDB baseline) |

Every agent serves (``respond``) the argmax of its reward model's posterior-mean utility. The last three are the
linear dueling-bandit literature's baselines (:mod:`duelgym.agents.linear_confidence`): like ``laplace-dts`` they
need arm features on which the utility is linear.
"""

from duelgym.agents.bai_ts import BestArmThompsonAgent
from duelgym.agents.base import Agent, RewardModel
from duelgym.agents.boltzmann import BoltzmannAgent
from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.colstim import CoLSTIMAgent
from duelgym.agents.dts import DoubleThompsonAgent
from duelgym.agents.ids import InformationDirectedAgent
from duelgym.agents.infomax import InfomaxAgent
from duelgym.agents.linear_confidence import LinearConfidenceAgent
from duelgym.agents.maxinp import MaxInPAgent
from duelgym.agents.maxpairucb import MaxPairUCBAgent
from duelgym.agents.multiset import MultisetAgent
from duelgym.agents.passive import PassiveAgent
from duelgym.agents.registry import arm_features_shape, list_agents, make, register

__all__ = [
    "Agent",
    "BestArmThompsonAgent",
    "BoltzmannAgent",
    "CandidateAgent",
    "CoLSTIMAgent",
    "DoubleThompsonAgent",
    "InfomaxAgent",
    "InformationDirectedAgent",
    "LinearConfidenceAgent",
    "MaxInPAgent",
    "MaxPairUCBAgent",
    "MultisetAgent",
    "PassiveAgent",
    "RewardModel",
    "arm_features_shape",
    "list_agents",
    "make",
    "register",
]
