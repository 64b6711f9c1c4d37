"""Online RLHF on the embedded LLMDuel-v0: how many fewer labels the online schedules need than offline RLHF.

    python benchmarks/online_rlhf.py [--seeds 3] [--batches 64] [--jobs 2] [--results results/online-rlhf]

One run (``duelgym online`` with every schedule below, the same seeds and label budget; an existing directory of
the same config is resumed or reused) into ``--results``, then prints, side by side from that run:

* the queries each schedule needs to reach offline's final win rate and stay there, as a multiplier against
  offline (the paper: > 10× at 20K labels), with paired seed-bootstrap 95% intervals;
* the ablations, each against the schedule it differs from in one thing: no nudge (ε = 0) for online and
  online-ids, no anchor (β = 0), a random pair with the same ENN instead of IDS among the S samples, and offline
  optimised with the online rule's fresh-batch step (extreme pairs among S samples, with ε) instead of the paper's
  offline rule (one random pair both ways, ε = 0).
  For each: final win rate, its paired difference (interval over seeds), and the collapse indicators: the lowest
  policy entropy and distinct-response count along the run, the drop from the curve's peak to its end
  ("tanking"), and the final KL to the initial policy;
* the fitted w(n) = 1 − ½ (n/a)^(−b) per schedule and the labels each would need to match offline's fit at 1×,
  10× and 100× the budget (extrapolations, labelled as such);
* tanking: ``online`` against ``online-no-nudge`` over a longer run (``--tanking-batches``, default 256 batches,
  4,096 labels; its own results directory ``<results>-tanking``), with the same indicators.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from duelgym.experiment.store import read_metrics

SCHEDULES = ("offline", "periodic", "online", "online-ids", "offline-extremes", "online-no-nudge",
             "online-ids-no-nudge", "online-no-anchor", "online-enn")  # fmt: skip
#: (variant, the schedule it differs from, what differs).
ABLATIONS = (
    ("online-no-nudge", "online", "ε = 0"),
    ("online-ids-no-nudge", "online-ids", "ε = 0"),
    ("online-no-anchor", "online", "no anchor (β = 0)"),
    ("online-enn", "online-ids", "random pair instead of IDS (same ENN)"),
    ("offline-extremes", "offline", "the online rule's fresh-batch step, with ε, instead of a random pair"),
)
BOOTSTRAP_DRAWS = 2000


def by_schedule(records: list[dict]) -> dict[str, dict[int, list[dict]]]:
    out: dict[str, dict[int, list[dict]]] = {}
    for record in sorted(records, key=lambda r: r["queries"]):
        out.setdefault(record["agent"], {}).setdefault(record["seed"], []).append(record)
    return out


def indicators(runs: dict[int, list[dict]]) -> dict[str, np.ndarray]:
    """Per seed: final win rate, lowest entropy and distinct count, peak-to-final drop, final KL to the initial."""
    seeds = sorted(runs)
    values = [np.array([r["value"] for r in runs[s]]) for s in seeds]
    return {
        "final": np.array([v[-1] for v in values]),
        "min_entropy": np.array([min(r["entropy"] for r in runs[s]) for s in seeds]),
        "min_distinct": np.array([min(r["distinct"] for r in runs[s]) for s in seeds]),
        "drop": np.array([v.max() - v[-1] for v in values]),
        "kl_initial": np.array([runs[s][-1]["kl_initial"] for s in seeds]),
    }


def paired_interval(difference: np.ndarray, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(difference), size=(BOOTSTRAP_DRAWS, len(difference)))
    means = difference[draws].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def main() -> None:
    from rich.console import Console

    from duelgym.experiment.online import OnlineConfig, execute_online

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, default=Path("results/online-rlhf"))
    parser.add_argument("--tanking-batches", type=int, default=256, help="batches of the ε = 0 long run (0: skip)")
    args = parser.parse_args()
    config = OnlineConfig(schedules=SCHEDULES, seeds=tuple(range(args.seeds)), batches=args.batches)
    start = time.perf_counter()
    execute_online(config, args.results, Console(stderr=True), jobs=args.jobs)
    print(f"# Online RLHF on LLMDuel-v0 ({args.seeds} seeds, {config.queries} labels, "
          f"{time.perf_counter() - start:.0f} s)\n")  # fmt: skip
    print((args.results / "summary.md").read_text())
    summary = json.loads((args.results / "summary.json").read_text())
    print(
        f"## The paper's multiplier: offline's budget ({config.queries:,} labels) / the labels each schedule needs to "
        f"reach offline's final win rate {summary['target']:.3f} (the table above divides offline's own labels to "
        "that level instead, which is smaller wherever offline's curve has flattened before its budget)\n"
    )
    print("| schedule | labels | offline's budget / labels |")
    print("|---|---|---|")
    for name, entry in summary.get("vs_offline", {}).items():
        low, high = entry["queries_interval"]
        ratio = "not reached" if entry["queries"] is None else (
            f"{config.queries / entry['queries']:.1f}x [{'n.r.' if high is None else f'{config.queries / high:.1f}'}, "
            f"{'inf' if low is None else f'{config.queries / low:.1f}'}]")  # fmt: skip
        labels = "not reached" if entry["queries"] is None else f"{entry['queries']:,.0f}"
        print(f"| {name} | {labels} | {ratio} |")
    print()
    runs = by_schedule(read(args.results))
    print("## Ablations (mean over seeds; difference = variant − base, 95% paired seed-bootstrap interval)\n")
    print("| variant | vs | final win rate | base's | difference | min entropy | min distinct | peak − final | "
          "KL to initial |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, base, what in ABLATIONS:
        if variant in runs and base in runs:
            print(ablation_row(runs, variant, base, what))
    print("\n(in the indicator columns: the variant's value, then the base's in parentheses)")
    if args.tanking_batches:
        long = OnlineConfig(schedules=("online", "online-no-nudge"), seeds=config.seeds, batches=args.tanking_batches)
        out = args.results.with_name(args.results.name + "-tanking")
        execute_online(long, out, Console(stderr=True), jobs=args.jobs)
        print(f"\n## Tanking: ε = 0 against the default ε over {long.queries:,} labels ({args.seeds} seeds)\n")
        print("| variant | vs | final win rate | base's | difference | min entropy | min distinct | peak − final | "
              "KL to initial |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        print(ablation_row(by_schedule(read(out)), "online-no-nudge", "online", "ε = 0"))


def read(directory: Path) -> list[dict]:
    return read_metrics(directory / "metrics.jsonl")


def paired_difference(variant: np.ndarray, base: np.ndarray) -> str:
    """The mean of the per-seed differences ``variant − base`` (same seeds) and its 95% paired bootstrap interval."""
    low, high = paired_interval(variant - base)
    return f"{(variant - base).mean():+.3f} [{low:+.3f}, {high:+.3f}]"


def ablation_row(runs: dict[str, dict[int, list[dict]]], variant: str, base: str, what: str) -> str:
    mine, theirs = indicators(runs[variant]), indicators(runs[base])
    cells = [f"{mine[k].mean():.3f} ({theirs[k].mean():.3f})" for k in ("min_entropy", "min_distinct", "drop",
                                                                          "kl_initial")]  # fmt: skip
    return (
        f"| {variant} ({what}) | {base} | {mine['final'].mean():.3f} | {theirs['final'].mean():.3f} | "
        f"{paired_difference(mine['final'], theirs['final'])} | " + " | ".join(cells) + " |"
    )


if __name__ == "__main__":
    main()
