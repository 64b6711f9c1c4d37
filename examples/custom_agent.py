"""A new agent in a few lines: serve the best arm of a point model, query it against a random other arm."""

import numpy as np
import torch

import duelgym
import duelgym.agents
from duelgym.agents import CandidateAgent, arm_features_shape


class GreedyVersusRandom(CandidateAgent):
    default_reward_model = "point"

    def pairs(self, features: torch.Tensor) -> torch.Tensor:  # features (B, N, d) -> pairs (B, 2)
        best = self.reward_model.mean_utility(features).argmax(dim=1)
        other = (best + 1 + self._random_integers(features.shape[1] - 1, best.shape)) % features.shape[1]
        return torch.stack([best, other], dim=1)


duelgym.agents.register(
    "greedy-vs-random", lambda env, seed=None, **kw: GreedyVersusRandom(*arm_features_shape(env), seed=seed, **kw)
)

for name in ("greedy-vs-random", "dts"):
    env = duelgym.make_vec("LinearDuel-v0", num_envs=32)
    obs, info = env.reset(seed=0)
    agent = duelgym.agents.make(name, env, seed=0)
    regret = 0.0
    for _ in range(30):  # 960 queries
        pairs = agent.select(obs)
        next_obs, reward, terminated, truncated, info = env.step(pairs)
        agent.observe(obs, pairs, reward)
        obs = next_obs
        regret += float(np.sum(info["final_info"]["regret_strong"]))  # the step's results: info["final_info"]
    print(f"{name:>16}: cumulative strong regret {regret:7.1f} over 960 queries")
