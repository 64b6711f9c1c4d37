"""Dueling environments, registered in the ``duelgym`` Gymnasium namespace when duelgym is imported.

| id | class | what it is |
|---|---|---|
| ``LinearDuel-v0`` | :class:`LinearDuelEnv` | contextual linear-utility dueling bandit |
| ``MatrixDuel-v0`` | :class:`MatrixDuelEnv` | fixed preference matrix (Bradley-Terry, Condorcet, cyclic) |
| ``LLMDuel-v0`` | ``duelgym.envs.llm.LLMDuelEnv`` | prompts and pairs of LM responses, programmatic rater |
"""

from duelgym.envs._bandit import random_comparisons
from duelgym.envs.linear import LinearDuelEnv, LinearDuelVectorEnv
from duelgym.envs.matrix import MatrixDuelEnv, MatrixDuelVectorEnv
from duelgym.registration import register

__all__ = ["LinearDuelEnv", "LinearDuelVectorEnv", "MatrixDuelEnv", "MatrixDuelVectorEnv", "random_comparisons"]

register(
    "LinearDuel-v0",
    entry_point="duelgym.envs.linear:LinearDuelEnv",
    vector_entry_point="duelgym.envs.linear:LinearDuelVectorEnv",
)
# LLMDuel-v0 loads torch and transformers on first use only: `import duelgym` stays light.
register(
    "LLMDuel-v0",
    entry_point="duelgym.envs.llm:LLMDuelEnv",
    vector_entry_point="duelgym.envs.llm:LLMDuelVectorEnv",
)
register(
    "MatrixDuel-v0",
    entry_point="duelgym.envs.matrix:MatrixDuelEnv",
    vector_entry_point="duelgym.envs.matrix:MatrixDuelVectorEnv",
)
