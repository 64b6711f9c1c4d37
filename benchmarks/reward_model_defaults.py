"""The measurement behind the reward models' defaults: joint NLL (dyadic sampling) in excess of Laplace.

    python benchmarks/reward_model_defaults.py [--theta-norm 3] [--seeds 3]

For the point model's L2 weight λ, its schedule and its anchor (``ANCHORS``, default training), each
training schedule (learning rate, Adam steps per update) and each ENN setting (prior scale s, penalty λ and its
schedule), trains on passive LinearDuel-v0 comparisons (32 per update) and prints the dyadic joint NLL (κ = 2,
τ = 10, labels drawn from the rater's true p_first; nats per group of 10) on 1,024 held-out comparisons minus that
of the exact-posterior Laplace model, after 128, 512 and 2,048 comparisons (mean over seeds; lower is better, 0 =
as good as the reference). The point model is printed for each schedule as the baseline. All models see the same
comparisons and are scored on the same groups and labels.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

import duelgym
from duelgym.agents.base import RewardModel
from duelgym.agents.reward_models import ENN, LaplaceRewardModel, PointRewardModel, TrainingConfig, dyadic_joint_nll
from duelgym.agents.reward_models.point import ANCHORS
from duelgym.envs import random_comparisons

CHECKPOINTS = (128, 512, 2048)


def joint_nll_curve(factory: Callable[..., RewardModel], theta_norm: float, seeds: int) -> np.ndarray:
    values = np.zeros((seeds, len(CHECKPOINTS)))
    for seed in range(seeds):
        env = duelgym.make_vec("LinearDuel-v0", num_envs=32, theta_norm=theta_norm)
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        first, second, _, p_first = random_comparisons(env, 32, rng)
        model, seen = factory(seed=seed), 0
        for i, checkpoint in enumerate(CHECKPOINTS):
            while seen < checkpoint:
                model.update(*random_comparisons(env, 1, rng)[:3])
                seen += 32
            values[seed, i] = dyadic_joint_nll(model, first, second, p_first)
    return values.mean(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theta-norm", type=float, default=3.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    reference = joint_nll_curve(partial(LaplaceRewardModel, 5), args.theta_norm, args.seeds)
    print(
        f"LinearDuel-v0, ||theta*|| = {args.theta_norm}, {args.seeds} seeds; Laplace dyadic joint NLL:",
        reference.round(4),
    )
    print(f"excess over Laplace after {', '.join(map(str, CHECKPOINTS))} comparisons (nats per group of 10):")
    point_penalties = [("constant", weight) for weight in (1e-3, 3e-3, 1e-2, 2e-2, 3e-2)]
    point_penalties += [("inverse_data", weight) for weight in (3.0, 10.0, 30.0, 100.0)]
    for anchor, (schedule, regularization) in itertools.product(ANCHORS, point_penalties):
        factory = partial(
            PointRewardModel, 5, regularization=regularization, regularization_schedule=schedule, anchor=anchor
        )
        point = joint_nll_curve(factory, args.theta_norm, args.seeds)
        label = f"point model λ={regularization:g} {schedule} {anchor}"
        print(f"  default training, {label:<44}", (point - reference).round(3))
    penalties = (("inverse_data", 30.0), ("inverse_data", 10.0), ("inverse_data", 1.0), ("constant", 0.01))
    for learning_rate, steps in ((1e-3, 5), (1e-3, 20), (3e-3, 10)):
        training = TrainingConfig(learning_rate=learning_rate, steps_per_update=steps)
        point = joint_nll_curve(partial(PointRewardModel, 5, training=training), args.theta_norm, args.seeds)
        print(f"  lr={learning_rate:g} steps={steps:<3} point model                    ", (point - reference).round(3))
        for scale, (schedule, regularization) in itertools.product((1.0, 3.0, 10.0, 30.0), penalties):
            enn = partial(
                ENN,
                5,
                training=training,
                prior_scale=scale,
                regularization=regularization,
                regularization_schedule=schedule,
            )
            curve = joint_nll_curve(enn, args.theta_norm, args.seeds)
            print(
                f"  lr={learning_rate:g} steps={steps:<3} ENN s={scale:<4g} λ={regularization:<5g} {schedule:<12}",
                (curve - reference).round(3),
            )


if __name__ == "__main__":
    main()
