"""The measurements behind the policy update's defaults (ε, β, η, learning rate, clip norm) on LLMDuel-v0.

    python benchmarks/online_defaults.py [--seeds 2] [--batches 64] [--jobs 2] [--results results/online-defaults]

Runs the ``online`` schedule (random pair, point reward model: the update rule's plain setting) with the defaults
and with each setting changed one at a time (each run its own resumable results directory under ``--results``),
then prints per variant: the final win rate and the mean over the curve (the area under it: how fast it gets
there), the lowest policy entropy along the run and the final KL to the initial policy (collapse and drift), and
the drop from the curve's peak to its end (tanking). All from one invocation, on the same seeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

#: One change from the defaults each.
VARIANTS = {
    "defaults": {},
    "nudge=0": {"nudge": 0.0}, "nudge=0.05": {"nudge": 0.05}, "nudge=0.1": {"nudge": 0.1},
    "kl_weight=0": {"kl_weight": 0.0}, "kl_weight=0.1": {"kl_weight": 0.1}, "kl_weight=0.3": {"kl_weight": 0.3},
    "anchor_rate=0.002": {"anchor_rate": 0.002}, "anchor_rate=0.05": {"anchor_rate": 0.05},
    "learning_rate=1e-4": {"learning_rate": 1e-4}, "learning_rate=1e-3": {"learning_rate": 1e-3},
    "clip_norm=0.3": {"clip_norm": 0.3}, "clip_norm=3": {"clip_norm": 3.0},
}  # fmt: skip


def main() -> None:
    from rich.console import Console

    from duelgym.experiment.online import OnlineConfig, execute_online

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, default=Path("results/online-defaults"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of the variants to run")
    args = parser.parse_args()
    rows = []
    for name in args.variants.split(","):
        config = OnlineConfig(schedules=("online",), seeds=tuple(range(args.seeds)), batches=args.batches,
                              **VARIANTS[name])  # fmt: skip
        out = args.results / name
        execute_online(config, out, Console(stderr=True), jobs=args.jobs)
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        seeds = sorted({r["seed"] for r in records})
        runs = [sorted((r for r in records if r["seed"] == s), key=lambda r: r["queries"]) for s in seeds]
        values = np.array([[r["value"] for r in run] for run in runs])
        error = values[:, -1].std(ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else 0.0
        entropy = min(r["entropy"] for run in runs for r in run)
        kl = np.mean([run[-1]["kl_initial"] for run in runs])
        rows.append((name, values[:, -1].mean(), error, values.mean(), entropy, kl,
                     (values.max(axis=1) - values[:, -1]).mean()))  # fmt: skip
    print("\n| variant | final win rate | mean over the curve | lowest entropy | final KL to initial | peak − final |")
    print("|---|---|---|---|---|---|")
    for name, final, error, area, entropy, kl, drop in rows:
        print(f"| {name} | {final:.3f} ± {error:.3f} | {area:.3f} | {entropy:.3f} | {kl:.2f} | {drop:.3f} |")


if __name__ == "__main__":
    main()
