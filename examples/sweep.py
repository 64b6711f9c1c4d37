"""A sweep: DTS against passive on LinearDuel-v0 over a grid of problem scales, in local processes (or on Ray).

    python examples/sweep.py [--backend processes|ray]

The same as ``duelgym sweep --env LinearDuel-v0 --agents passive,dts --grid '{"theta_norm": [0.5, 1, 2]}' --quick``;
each grid point gets a results directory in the format of ``duelgym run``.
"""

import argparse
import json
from pathlib import Path

from duelgym.experiment.cli import main


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("processes", "ray"), default="processes")
    parser.add_argument("--out", default="results/example-sweep")
    args = parser.parse_args()
    grid = {"theta_norm": [0.5, 1.0, 2.0]}
    main(["sweep", "--env", "LinearDuel-v0", "--agents", "passive,dts", "--grid", json.dumps(grid), "--quick",
          "--backend", args.backend, "--out", args.out])  # fmt: skip
    for point in grid["theta_norm"]:
        summary = json.loads((Path(args.out) / f"theta_norm={point}" / "summary.json").read_text())
        regret = {agent: round(entry["cumulative_regret_mean"]) for agent, entry in summary["agents"].items()}
        print(f"theta_norm={point}: cumulative regret {regret}")


if __name__ == "__main__":  # the processes backend starts workers by importing this file: keep the guard
    run()
