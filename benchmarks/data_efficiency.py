"""Data-efficiency multipliers against passive on LLMDuel-v0, with seed-bootstrap confidence intervals.

    python benchmarks/data_efficiency.py [--results DIR] [--seeds 3] [--bootstrap 2000]

Runs the main job's comparison (``duelgym run`` with the default config, into ``--results``; an existing results
directory of the same config is resumed or reused) and prints, for DTS, IDS, infomax and Boltzmann, how many times
fewer queries than passive each needs for its mean win-rate curve to reach and stay at a target. Targets: passive's
final win rate (the ceiling-sensitive one), and 50% and 90% of passive's final gain over 0.5, the base model's
greedy response against itself. Intervals: 2.5th and 97.5th percentiles over bootstrap resamples of seeds (each
agent's seeds resampled with replacement); "not reached" counts the resamples where a curve never stays at the
target. Target of the project: ≥ 10× for DTS and IDS.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from duelgym.evaluation import queries_to_target
from duelgym.experiment.report import curves
from duelgym.experiment.store import read_metrics

AGENTS = ("dts", "ids", "infomax", "boltzmann")
BASE_WIN_RATE = 0.5


def multiplier(passive: np.ndarray, agent: np.ndarray, queries: np.ndarray, target: float) -> float | None:
    baseline = queries_to_target(np.column_stack([queries, passive.mean(axis=0)]), target, sustained=True)
    reach = queries_to_target(np.column_stack([queries, agent.mean(axis=0)]), target, sustained=True)
    return None if baseline is None or reach is None else baseline / reach


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/data-efficiency"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=2000)
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "duelgym.experiment.cli",
        "run",
        "--seeds",
        str(args.seeds),
        "--out",
        str(args.results),
    ]
    subprocess.run(command, check=True)
    agent_curves = curves(read_metrics(args.results / "metrics.jsonl"))
    queries, passive = agent_curves["passive"]
    final = passive[:, -1].mean()
    targets = {
        "passive's final": final,
        "90% of passive's gain": BASE_WIN_RATE + 0.9 * (final - BASE_WIN_RATE),
        "50% of passive's gain": BASE_WIN_RATE + 0.5 * (final - BASE_WIN_RATE),
    }
    rng = np.random.default_rng(0)
    print(f"\npassive's final win rate {final:.4f} over {len(passive)} seeds; multiplier [95% bootstrap interval]")
    for label, target in targets.items():
        print(f"target {label} = {target:.4f}")
        for agent in AGENTS:
            if agent not in agent_curves:
                continue
            values = agent_curves[agent][1]
            point = multiplier(passive, values, queries, target)
            samples, missing = [], 0
            for _ in range(args.bootstrap):
                resampled = multiplier(
                    passive[rng.integers(len(passive), size=len(passive))],
                    values[rng.integers(len(values), size=len(values))],
                    queries,
                    target,
                )
                if resampled is None:
                    missing += 1
                else:
                    samples.append(resampled)
            interval = (
                f"[{np.percentile(samples, 2.5):.1f}, {np.percentile(samples, 97.5):.1f}]" if samples else "[n/a]"
            )
            point_text = "not reached" if point is None else f"{point:.1f}x"
            share = missing / args.bootstrap
            print(f"  {agent:<10} {point_text:>12} {interval:>16}   not reached in {share:.0%} of resamples")


if __name__ == "__main__":
    main()
