"""The measurements behind the policy update's defaults (ε, β, η, learning rate, clip norm) on LLMDuel-v0.

    python benchmarks/online_defaults.py [--seeds 2] [--batches 64] [--jobs 2] [--results results/online-defaults]
        [--schedule online] [--variants defaults,nudge=0.1,...]

Runs one schedule (default ``online``: random pair, point reward model, the update rule's plain setting) with the
defaults and with each setting changed one at a time (each run its own resumable results directory under
``--results``), then prints per variant: the final win rate and the mean over the curve (the area under it: how
fast it gets there), each with its paired difference from the defaults (the same seeds, 95% seed-bootstrap
interval), the lowest policy entropy along the run and the final KL to the initial policy (collapse and drift),
and the drop from the curve's peak to its end (tanking). All from one invocation, on the same seeds. A variant
whose policy collapses onto <eos> (``PolicyCollapse``: the run stops there) is reported with the seed and batch,
and the next variant runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from online_rlhf import paired_difference, read

from duelgym.experiment.report import curves

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

    from duelgym.experiment.online import OnlineConfig, PolicyCollapse, execute_online

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, default=Path("results/online-defaults"))
    parser.add_argument("--schedule", default="online", help="the schedule every variant runs")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of the variants to run")
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; expected names from {list(VARIANTS)}")
    finals, areas, rows, collapsed = {}, {}, [], {}
    for name in names:
        config = OnlineConfig(schedules=(args.schedule,), seeds=tuple(range(args.seeds)), batches=args.batches,
                              **VARIANTS[name])  # fmt: skip
        out = args.results / name if args.schedule == "online" else args.results / f"{args.schedule}-{name}"
        try:
            execute_online(config, out, Console(stderr=True), jobs=args.jobs)
        except PolicyCollapse as error:  # a result of the setting, not a crash: report it and go on
            collapsed[name] = str(error)
            continue
        records = read(out)
        (_, values), (_, entropies), (_, kls) = (curves(records, key)[args.schedule]
                                                 for key in ("value", "entropy", "kl_initial"))  # fmt: skip
        finals[name], areas[name] = values[:, -1], values.mean(axis=1)
        error = values[:, -1].std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        rows.append((name, error, entropies.min(), kls[:, -1].mean(), (values.max(axis=1) - values[:, -1]).mean()))
    print(f"\n{args.schedule}, {args.seeds} seeds; difference = variant − defaults on the same seeds, 95% paired "
          "seed-bootstrap interval\n")  # fmt: skip
    print("| variant | final win rate | difference | mean over the curve | difference | lowest entropy | "
          "final KL to initial | peak − final |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, error, entropy, kl, drop in rows:
        cells = [f"{finals[name].mean():.3f} ± {error:.3f}", difference(finals, name),
                 f"{areas[name].mean():.3f}", difference(areas, name)]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + f" | {entropy:.3f} | {kl:.2f} | {drop:.3f} |")
    for name, where in collapsed.items():
        print(f"| {name} | collapsed, the run stopped there: {where} | | | | | | |")


def difference(per_seed: dict[str, np.ndarray], name: str) -> str:
    """``name``'s mean paired difference from the defaults with its interval ("—" without the defaults)."""
    if name == "defaults" or "defaults" not in per_seed:
        return "—"
    return paired_difference(per_seed[name], per_seed["defaults"])


if __name__ == "__main__":
    main()
