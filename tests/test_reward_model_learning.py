"""Learning tests of the reward models on seeded LinearDuel-v0 data (slow tier; thresholds from measured runs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import duelgym
from duelgym.agents.reward_models import ENN, PointRewardModel, dyadic_joint_nll
from duelgym.envs import random_comparisons

pytestmark = pytest.mark.slow


def linear_env(seed: int, theta_norm: float = 1.0):
    # Hypercube arms with K = 2^d: every context holds all 32 vertices, a fixed probe set (the thresholds below were
    # measured on it; the env's default draws fresh Gaussian arms per context).
    env = duelgym.make_vec("LinearDuel-v0", num_envs=32, theta_norm=theta_norm, arm_set="hypercube")
    obs, _ = env.reset(seed=seed)
    return env, obs["arms"][0], np.random.default_rng(seed)  # the probe set: all 32 hypercube vertices


def centred(values: np.ndarray) -> np.ndarray:
    return values - values.mean(axis=-1, keepdims=True)  # Bradley-Terry identifies utilities up to a constant


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_model_utility_direction_reaches_cosine_0_9_within_4096_comparisons(seed: int) -> None:
    env, probe, rng = linear_env(seed)
    truth = centred(probe.astype(np.float64) @ env.unwrapped.problem.theta)
    model = PointRewardModel(5, seed=seed)
    for _ in range(4096 // 32):
        model.update(*random_comparisons(env, 1, rng)[:3])
    learned = centred(model.mean_utility(probe).double().numpy())
    cosine = learned @ truth / (np.linalg.norm(learned) * np.linalg.norm(truth))
    assert cosine >= 0.9  # measured 0.969, 0.944, 0.965 for seeds 0, 1, 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_enn_posterior_spread_on_centred_utilities_shrinks_as_data_grows(seed: int) -> None:
    env, probe, rng = linear_env(seed)
    enn = ENN(5, seed=seed)

    def spread() -> float:  # mean over probe arms of the particles' standard deviation
        return float(torch.as_tensor(centred(enn.sample_utilities(probe).double().numpy())).std(dim=0).mean())

    spreads = [spread()]
    seen = 0
    for checkpoint in (256, 1024, 4096):
        while seen < checkpoint:
            enn.update(*random_comparisons(env, 1, rng)[:3])
            seen += 32
        spreads.append(spread())
    # measured with the default λ = 30 / n (seeds 0, 1, 2): 0.357 / 0.372 / 0.324 before any data, then 0.73–0.78
    # of that after 256 comparisons and 0.54–0.62 of the one before at each later step (0.092–0.094 after 4,096;
    # with 10 / n seed 0 went 0.358 -> 0.182 -> 0.107 -> 0.060)
    for before, after in itertools.pairwise(spreads):
        assert after < 0.85 * before, spreads
    assert spreads[-1] < 0.35 * spreads[0], spreads


def test_the_enn_particles_lower_the_joint_nll_of_one_member_trained_alike_on_small_data() -> None:
    # The epistemic machinery against a point model of the same trunk, penalty and schedule (one particle, no prior).
    margins = []
    for seed in range(8):
        env, _, rng = linear_env(seed)
        first, second, _, p_first = random_comparisons(env, 32, rng)
        single, enn = ENN(5, num_particles=1, prior_scale=0.0, seed=seed), ENN(5, seed=seed)
        for _ in range(128 // 32):
            data = random_comparisons(env, 1, rng)[:3]
            single.update(*data)
            enn.update(*data)
        margins.append(dyadic_joint_nll(single, first, second, p_first) - dyadic_joint_nll(enn, first, second, p_first))
    # After 128 comparisons (joint NLL with dyadic sampling, nats per group of 10): measured mean margin 0.044 over 8
    # seeds (smallest −0.023), asserted at 0.02. Against the default PointRewardModel (λ = 1e-2 toward zero) the
    # ENN's margin is −0.054 here and 0.010 after 256: a well-regularised point model predicts random comparisons
    # about as well; the ENN's uncertainty pays off in exploration (tests/test_agent_learning.py).
    assert np.mean(margins) >= 0.02, margins
