"""The headline on LLMDuel-v0: queries to fixed targets, against both passive baselines, at two noise levels.

    python benchmarks/data_efficiency.py [--temperatures 0.5,1.0] [--seeds 5] [--jobs 2] [--num-candidates 64]
        [--agents passive,passive-enn,boltzmann-enn,dts,ids] [--results results/data-efficiency]

For each feedback temperature (the rater's noise; scoring always uses the fixed reference rater), runs the main
job's comparison (``duelgym run`` with ``--env-kwargs {"temperature": T}``: passive baselines for 51,200 queries,
the others for 6,400, every batch evaluated up to 1,024 queries) into ``<results>/T=<T>`` (``T=<T>,K=<K>`` with a
candidate pool of K responses per prompt other than the default 64; an existing directory of the same config is
resumed or reused), then prints its summary's targets: the queries each agent needs to reach 50%, 75% and 90% of
the learnable ceiling's gain over 0.5 and stay there, and how many times fewer than passive with the point model
(the paper's baseline) and passive with the same ENN as DTS (exploration only), with seed-bootstrap 95% intervals
(seeds resampled jointly across agents). Boltzmann on the ENN's mean (``boltzmann-enn``) is the "exploration
without uncertainty" control. Also printed: the mean binary entropy (bits) of the rater's choices on the pairs each
agent queried (1 = coin flips), which says how noisy the feedback is where it matters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from duelgym.experiment import RunConfig
from duelgym.experiment.report import summary_markdown
from duelgym.experiment.store import read_metrics


def run(temperature: float, args: argparse.Namespace) -> Path:
    from rich.console import Console

    from duelgym.experiment.runner import execute

    pool = "" if args.num_candidates == RunConfig.num_candidates else f",K={args.num_candidates}"
    out = args.results / f"T={temperature:g}{pool}"
    config = RunConfig(
        agents=tuple(args.agents.split(",")),
        seeds=tuple(range(args.seeds)),
        env_kwargs={"temperature": temperature},
        num_candidates=args.num_candidates,
    )
    execute(config, out, Console(stderr=True), jobs=args.jobs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperatures", default="0.5,1.0", help="feedback temperatures, comma-separated")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--num-candidates", type=int, default=RunConfig.num_candidates, help="responses per prompt (K)")
    parser.add_argument("--agents", default="passive,passive-enn,boltzmann-enn,dts,ids")
    parser.add_argument("--results", type=Path, default=Path("results/data-efficiency"))
    args = parser.parse_args()
    for text in args.temperatures.split(","):
        temperature = float(text)
        start = time.perf_counter()
        out = run(temperature, args)
        summary = json.loads((out / "summary.json").read_text())
        records = read_metrics(out / "metrics.jsonl")
        seconds = time.perf_counter() - start
        setting = f"T = {temperature:g}, {args.num_candidates} candidates"
        print(f"\n## Feedback {setting} ({args.seeds} seeds, {seconds:.0f} s)\n")
        final: dict[tuple[str, int], dict] = {}
        for record in records:  # each run's last record: its choice entropy over all the pairs it queried
            key = (record["agent"], record["seed"])
            if "choice_entropy" in record and record["queries"] >= final.get(key, {"queries": -1})["queries"]:
                final[key] = record
        entropy: dict[str, list[float]] = {}
        for (agent, _), record in final.items():
            entropy.setdefault(agent, []).append(record["choice_entropy"])
        if entropy:
            print("mean choice entropy of the queried pairs (bits): "
                  + ", ".join(f"{a} {np.mean(v):.3f}" for a, v in sorted(entropy.items())) + "\n")  # fmt: skip
        print(summary_markdown(summary))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
