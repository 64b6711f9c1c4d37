"""Learning tests of the agents on seeded LinearDuel-v0 runs of T = 1,000 queries (slow tier)."""

from __future__ import annotations

import numpy as np
import pytest

import duelgym
import duelgym.agents

pytestmark = pytest.mark.slow

SEEDS = range(8)
HORIZON, BATCH = 1000, 32


def run(name: str, seed: int) -> tuple[float, float]:
    """(cumulative strong regret of the queried pairs, simple regret of the served arm at the end)."""
    env = duelgym.make_vec("LinearDuel-v0", num_envs=BATCH)
    obs, _ = env.reset(seed=seed)
    agent = duelgym.agents.make(name, env, seed=seed)
    cumulative = 0.0
    for _ in range(HORIZON // BATCH):
        pairs = agent.select(obs)
        next_obs, reward, _, _, info = env.step(pairs)
        agent.observe(obs, pairs, reward)
        cumulative += float(info["final_info"]["regret_strong"].sum())
        obs = next_obs
    utilities = obs["arms"].astype(np.float64) @ env.unwrapped.problem.theta
    served = utilities[np.arange(BATCH), agent.respond(obs)]
    return cumulative, float(np.mean(utilities.max(axis=1) - served))


@pytest.fixture(scope="module")
def passive() -> tuple[float, float]:
    results = np.array([run("passive", seed) for seed in SEEDS])
    return float(results[:, 0].mean()), float(results[:, 1].mean())


@pytest.mark.parametrize("name", ["boltzmann", "dts", "bai-ts", "ids", "laplace-dts"])
def test_regret_minimising_agents_beat_passive_on_cumulative_regret(name: str, passive: tuple[float, float]) -> None:
    cumulative = np.mean([run(name, seed)[0] for seed in SEEDS])
    # measured (8 seeds, agent and reward model seeded apart): boltzmann 0.25x, dts 0.24x, bai-ts 0.69x, ids 0.31x
    assert cumulative < passive[0]
    if name == "laplace-dts":
        assert cumulative <= 0.35 * passive[0]  # exact-posterior DTS: measured 0.22x over these 8 seeds


@pytest.mark.parametrize("name", ["infomax", "multiset"])
def test_pure_explorers_serve_no_worse_than_passive(name: str, passive: tuple[float, float]) -> None:
    simple = np.mean([run(name, seed)[1] for seed in SEEDS])
    # measured mean simple regret: infomax 0.081, multiset 0.005, passive 0.093 (per seed it is 0 or 0.1-0.3: the
    # served arm is the best one or not, so 8-seed means move a lot with the seeding; infomax was 0.022 before the
    # agent and its reward model were seeded apart)
    assert simple <= passive[1]
