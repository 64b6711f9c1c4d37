"""The ``duelgym`` command: ``duelgym run`` compares agents and writes results; ``duelgym report DIR`` redraws them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from duelgym._version import __version__
from duelgym.experiment.config import QUICK, RunConfig
from duelgym.experiment.report import load_metrics, plot, summarize, summary_markdown, write_atomic
from duelgym.experiment.runner import append_line, metric_of, run_all

__all__ = ["main"]


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` lists seeds; a single number N means seeds 0 … N−1."""
    try:
        if "," in text:
            return tuple(int(s) for s in text.split(",") if s.strip())
        return tuple(range(int(text)))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"--seeds must be a count such as 3 or a list such as 0,1,2, got {text!r}"
        ) from error


def parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--env-kwargs must be a JSON object, got {text!r}: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--env-kwargs must be a JSON object, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duelgym", description="Learning from human preferences as a Gymnasium env.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="compare agents on an env and write metrics, summary and curves")
    run.add_argument("--env", default="LLMDuel-v0", help="env id (default LLMDuel-v0)")
    run.add_argument("--env-kwargs", type=parse_json, default={}, help="JSON object of env keyword arguments")
    run.add_argument("--agents", default="", help="comma list (default: every built-in agent that fits the env)")
    run.add_argument("--seeds", type=parse_seeds, default=None, help="a count (3) or a list (0,1,2); default 3")
    run.add_argument("--queries", type=int, default=None, help="rater queries per run (default 6400)")
    run.add_argument("--batch-size", type=int, default=None, help="queries per batch (default 32)")
    run.add_argument("--eval-every", type=int, default=None, help="batches between evaluations (default 10)")
    run.add_argument("--reward-model", choices=("point", "enn"), default=None, help="override every agent's model")
    run.add_argument("--num-particles", type=int, default=None, help="ENN particles with --reward-model enn")
    run.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    run.add_argument("--out", type=Path, default=None, help="results directory (default results/<env>); rerunning "
                     "the same config there resumes it")  # fmt: skip
    run.add_argument("--quick", action="store_true", help="a run of about a minute: fewer queries, seeds, candidates")
    run.add_argument("--log-format", default="", help="also log through stable-baselines3's logger into OUT/logs: "
                     "csv, tensorboard (needs the tensorboard package), or both, comma-separated")  # fmt: skip
    sweep = commands.add_parser("sweep", help="agents x seeds x env-kwargs grid, one job each, on Ray or in processes")
    for action in run._actions[1:]:
        if action.dest not in ("out", "quick"):
            sweep._add_action(action)
    sweep.add_argument(
        "--grid", type=parse_json, default={}, help='JSON object of lists, e.g. {"theta_norm": [0.5, 1]}'
    )
    sweep.add_argument("--backend", choices=("ray", "processes"), default="processes")
    sweep.add_argument("--workers", type=int, default=2, help="parallel jobs (one torch thread each)")
    sweep.add_argument("--out", type=Path, default=Path("results/sweep"), help="one results directory per grid point")
    sweep.add_argument("--quick", action="store_true", help="the --quick budget for every job")
    report = commands.add_parser("report", help="redraw summary and curves of a results directory from metrics.jsonl")
    report.add_argument("directory", type=Path)
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    given = {
        "env": args.env, "env_kwargs": args.env_kwargs, "seeds": args.seeds, "queries": args.queries,
        "batch_size": args.batch_size, "eval_every": args.eval_every, "reward_model": args.reward_model,
        "num_particles": args.num_particles, "device": args.device,
        "agents": tuple(a.strip() for a in args.agents.split(",") if a.strip()),
    }  # fmt: skip
    values.update({k: v for k, v in given.items() if v is not None})
    return RunConfig(**values)


def prepare_directory(out: Path, config: RunConfig, console: Console) -> set[tuple[str, int, int]]:
    """Create ``out`` or check that it holds a run of the same config; return the results already written."""
    stored_path = out / "config.json"
    if stored_path.exists():
        stored = json.loads(stored_path.read_text())
        version = stored.pop("version", None)
        differing = sorted(k for k in set(stored) | set(config.to_dict()) if stored.get(k) != config.to_dict().get(k))
        if differing:
            raise SystemExit(
                f"error: {out} holds a run of another config (fields that differ: {', '.join(differing)}); "
                "pass the same arguments to resume it, or --out with a new directory"
            )
        if version != __version__:
            console.print(f"[yellow]warning: {out} was written by duelgym {version}; resuming with {__version__}")
    try:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        if not stored_path.exists():
            config.write(stored_path, __version__)
    except OSError as error:
        raise SystemExit(f"error: cannot write the results directory {out}: {error}") from error
    metrics = out / "metrics.jsonl"
    if not metrics.exists():
        return set()
    repair_metrics(metrics)
    return {(r["agent"], r["seed"], r["queries"]) for r in load_metrics(metrics)}


def repair_metrics(path: Path) -> None:
    """Drop a trailing partial line (a write cut short by a kill); whole lines are never lost."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as file:
            file.truncate(data.rfind(b"\n") + 1)


def write_reports(out: Path, metric: str, higher_is_better: bool) -> dict[str, Any]:
    records = load_metrics(out / "metrics.jsonl")
    summary = summarize(records, metric, higher_is_better)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_atomic(out / "summary.md", summary_markdown(summary))
    plot(records, summary, out / "curves.png")
    return summary


def execute(
    config: RunConfig, out: Path, console: Console, display: bool = True, log_formats: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run (or resume) ``config`` into ``out`` and write the reports; returns the summary.

    ``log_formats`` (``"csv"``, ``"tensorboard"``) also send every evaluation to stable-baselines3's logger in
    ``out/logs``, keyed ``<agent>/seed<seed>/<metric>`` with the query count as the step.
    """
    recorded = prepare_directory(out, config, console)
    logger = None
    if log_formats:
        from stable_baselines3.common.logger import configure

        unknown = set(log_formats) - {"csv", "tensorboard"}
        if unknown:
            raise SystemExit(f"error: --log-format takes csv and tensorboard, got {', '.join(sorted(unknown))}")
        try:
            logger = configure(str(out / "logs"), list(log_formats))
        except (ImportError, AssertionError) as error:
            raise SystemExit(f"error: --log-format {','.join(log_formats)}: {error}") from error
    if recorded and display:
        console.print(f"resuming the run in {out}: {len(recorded)} results already written")
    metric, higher_is_better = metric_of(config)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, disable=not display) as progress:
        tasks: dict[tuple[str, int], Any] = {}

        def on_start(agent: str, seed: int) -> None:
            tasks[agent, seed] = progress.add_task(f"{agent} seed {seed}", total=config.queries, status="")

        try:
            for result in run_all(config, on_start, out / "checkpoints", recorded):
                record = {"agent": result.agent, "seed": result.seed, "queries": result.queries, "metric": metric,
                          "value": result.value, **result.extra}  # fmt: skip
                append_line(out / "metrics.jsonl", record)
                if logger is not None:
                    for key, value in {**result.extra, metric: result.value}.items():
                        logger.record(f"{result.agent}/seed{result.seed}/{key}", value)
                    logger.dump(step=result.queries)
                progress.update(tasks[result.agent, result.seed], completed=result.queries,
                                status=f"{metric} {result.value:.3f}")  # fmt: skip
        except (TypeError, ValueError) as error:
            raise SystemExit(f"error: {error}") from error
    return write_reports(out, metric, higher_is_better)


def command_run(args: argparse.Namespace, console: Console) -> None:
    try:
        config = config_from(args)
    except (TypeError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    out = args.out or Path("results") / config.env.removeprefix("duelgym/")
    start = time.perf_counter()
    formats = tuple(f.strip() for f in args.log_format.split(",") if f.strip())
    summary = execute(config, out, console, log_formats=formats)
    console.print(summary_markdown(summary), soft_wrap=True)
    console.print(f"{time.perf_counter() - start:.0f} s; results in {out}/ (curves: {out / 'curves.png'})")


def command_report(args: argparse.Namespace, console: Console) -> None:
    directory: Path = args.directory
    if not (directory / "metrics.jsonl").is_file():
        raise SystemExit(f"error: {directory} has no metrics.jsonl")
    config = json.loads((directory / "config.json").read_text())
    metric, higher_is_better = metric_of(RunConfig(env=config["env"]))
    console.print(summary_markdown(write_reports(directory, metric, higher_is_better)), soft_wrap=True)


def command_sweep(args: argparse.Namespace, console: Console) -> None:
    from duelgym.experiment.sweep import sweep

    try:
        config = config_from(args)
        directories = sweep(config, args.grid, args.out, args.backend, args.workers)
    except (TypeError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    for directory in directories:
        console.print(f"\n{directory}:\n" + (directory / "summary.md").read_text(), soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    console = Console()
    {"run": command_run, "sweep": command_sweep, "report": command_report}[args.command](args, console)


if __name__ == "__main__":
    main(sys.argv[1:])
