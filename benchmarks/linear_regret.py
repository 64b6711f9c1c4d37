"""Every agent on LinearDuel-v0 in one run: cumulative strong regret and simple regret of `respond`.

    python benchmarks/linear_regret.py [--seeds 8] [--theta-norms 0.5,1,2] [--horizon 4000] [--agents ...]

For each ‖θ*‖ and agent, runs seeded episodes of `horizon` queries in batches of 32 (d = 5, K = 32) and prints,
as mean ± standard error over seeds:
* cumulative strong regret of the queried pairs (Σ 2u* − u_a − u_b);
* simple regret of the served arm (u* − u(respond)) on the env's contexts at the end, and the queries each agent
  needs to bring its mean simple-regret curve (checked every 320 queries) down to passive's final value;
* ratios against passive, and ENN-DTS against Laplace-DTS (targets: ENN-DTS ≤ 1.25× Laplace-DTS on both
  measures; the best agent's cumulative regret ≤ 0.2× passive's).
DTS appears with both fallbacks for the second arm ("second_best", the default, and the paper's "uniform").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import duelgym
import duelgym.agents
from duelgym.evaluation import queries_to_target

BATCH = 32
VARIANTS = {
    "passive": ("passive", {}),
    "boltzmann": ("boltzmann", {}),
    "infomax": ("infomax", {}),
    "dts": ("dts", {}),
    "dts-uniform": ("dts", {"fallback": "uniform"}),
    "bai-ts": ("bai-ts", {}),
    "ids": ("ids", {}),
    "laplace-dts": ("laplace-dts", {}),
    "laplace-dts-uniform": ("laplace-dts", {"fallback": "uniform"}),
    "multiset": ("multiset", {}),
}


def run(variant: str, theta_norm: float, seed: int, horizon: int, every: int) -> tuple[float, np.ndarray]:
    """Cumulative strong regret and the simple-regret curve (one value every `every` batches)."""
    name, kwargs = VARIANTS[variant]
    env = duelgym.make_vec("LinearDuel-v0", num_envs=BATCH, theta_norm=theta_norm)
    obs, _ = env.reset(seed=seed)
    agent = duelgym.agents.make(name, env, seed=seed, **kwargs)
    theta = env.unwrapped.problem.theta
    cumulative, curve = 0.0, []
    for batch in range(1, horizon // BATCH + 1):
        pairs = agent.select(obs)
        next_obs, reward, _, _, info = env.step(pairs)
        agent.observe(obs, pairs, reward)
        cumulative += float(info["final_info"]["regret_strong"].sum())
        obs = next_obs
        if batch % every == 0:
            utilities = obs["arms"].astype(np.float64) @ theta
            served = utilities[np.arange(BATCH), agent.respond(obs)]
            curve.append(float(np.mean(utilities.max(axis=1) - served)))
    return cumulative, np.asarray(curve)


def mean_se(values: np.ndarray) -> str:
    return f"{values.mean():8.1f} ± {values.std(ddof=1) / np.sqrt(len(values)):5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--theta-norms", default="0.5,1,2")
    parser.add_argument("--horizon", type=int, default=4000)
    parser.add_argument("--every", type=int, default=10, help="batches between simple-regret checks")
    parser.add_argument("--agents", default=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = args.agents.split(",")
    for theta_norm in map(float, args.theta_norms.split(",")):
        start = time.perf_counter()
        results = {
            v: [run(v, theta_norm, seed, args.horizon, args.every) for seed in range(args.seeds)] for v in variants
        }
        cumulative = {v: np.array([r[0] for r in rs]) for v, rs in results.items()}
        curves = {v: np.stack([r[1] for r in rs]) for v, rs in results.items()}
        checkpoints = np.arange(1, curves[variants[0]].shape[1] + 1) * args.every * BATCH
        target = float(curves["passive"].mean(axis=0)[-1]) if "passive" in curves else None
        print(
            f"\n||theta*|| = {theta_norm}, T = {args.horizon}, {args.seeds} seeds ({time.perf_counter() - start:.0f} s)"
        )
        print(
            f"{'agent':<20} {'cumulative strong regret':>26} {'vs passive':>11} "
            f"{'final simple regret':>22} {'queries to passive':>19}"
        )
        for v in variants:
            final = curves[v][:, -1]
            ratio = cumulative[v].mean() / cumulative["passive"].mean() if "passive" in cumulative else float("nan")
            reach = (
                None
                if target is None
                else queries_to_target(
                    np.column_stack([checkpoints, curves[v].mean(axis=0)]), target, higher_is_better=False
                )
            )
            reach_text = "not reached" if reach is None else f"{reach:,.0f}"
            print(
                f"{v:<20} {mean_se(cumulative[v]):>26} {ratio:>10.3f}x "
                f"{final.mean():>13.4f} ± {final.std(ddof=1) / np.sqrt(len(final)):.4f} {reach_text:>19}"
            )
        if {"dts", "laplace-dts"} <= set(variants):
            cum_ratio = cumulative["dts"].mean() / cumulative["laplace-dts"].mean()
            simple = curves["dts"][:, -1].mean(), curves["laplace-dts"][:, -1].mean()
            simple_text = f"{simple[0] / simple[1]:.2f}x" if simple[1] > 0 else f"{simple[0]:.4f} vs {simple[1]:.4f}"
            print(
                f"ENN-DTS / Laplace-DTS: cumulative {cum_ratio:.2f}x (target <= 1.25), "
                f"final simple regret {simple_text}"
            )


if __name__ == "__main__":
    main()
