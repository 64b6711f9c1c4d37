"""Learning tests of the agents on seeded LinearDuel-v0 runs of T = 1,000 queries (slow tier).

The env is the contextual default (fresh Gaussian arms per context); the measured figures in the comments are from
that default, 8 seeds, batches of 32. The literature's linear baselines are tested on the vacdb instance in
``tests/test_linear_baselines.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import duelgym
import duelgym.agents

pytestmark = pytest.mark.slow

SEEDS = range(8)
HORIZON, BATCH = 1000, 32


def run(name: str, seed: int, **kwargs: object) -> tuple[float, float]:
    """(cumulative strong regret of the queried pairs, simple regret of the served arm at the end)."""
    env = duelgym.make_vec("LinearDuel-v0", num_envs=BATCH)
    obs, _ = env.reset(seed=seed)
    agent = duelgym.agents.make(name, env, seed=seed, **kwargs)
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
    # measured (8 seeds; cumulative regret against passive's 1,838): boltzmann 0.30x, dts 0.29x, bai-ts 0.71x, ids 0.24x
    assert cumulative < passive[0]
    if name == "laplace-dts":
        assert cumulative <= 0.35 * passive[0]  # exact-posterior DTS: measured 0.23x over these 8 seeds


@pytest.mark.parametrize("name", ["infomax", "multiset"])
def test_pure_explorers_serve_about_as_well_as_passive_with_the_same_enn(name: str) -> None:
    # Like with like: both learn with the ENN; only the pairs differ. Measured mean simple regret (8 seeds): infomax
    # 0.051 (1.02x), multiset 0.029 (0.59x), passive with the ENN 0.050 (passive with the point model's previous
    # default, λ = 1e-2 toward zero: 0.032). Asserted with room: at most 1.25x passive's.
    simple = np.mean([run(name, seed)[1] for seed in SEEDS])
    assert simple <= 1.25 * np.mean([run("passive", seed, reward_model="enn")[1] for seed in SEEDS])
