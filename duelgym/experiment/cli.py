"""The ``duelgym`` command: ``duelgym run`` compares agents and writes results; ``duelgym online`` runs online RLHF
schedules; ``duelgym report DIR`` redraws either kind of results.

Bad user input (a :class:`~duelgym.experiment.config.ConfigError`, or a config value :class:`RunConfig` rejects)
ends the command with a one-line ``error: …``; any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from duelgym.agents.online import KL_ESTIMATORS, SCHEDULES
from duelgym.experiment.config import BASELINE_QUERIES, QUICK, ConfigError, RunConfig
from duelgym.experiment.kinds import experiment_kind
from duelgym.experiment.online import ONLINE_QUICK, OnlineConfig, execute_online, online_ceiling, write_online_reports
from duelgym.experiment.report import summary_markdown
from duelgym.experiment.runner import CHECKPOINT_SECONDS, execute, report_settings
from duelgym.experiment.store import read_config, write_reports
from duelgym.experiment.sweep import sweep

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
    run.add_argument("--seeds", type=parse_seeds, default=None, help="a count (5) or a list (0,1,2); default 5")
    run.add_argument("--queries", type=int, default=None, help="rater queries per run (default 6400)")
    run.add_argument("--baseline-queries", type=int, default=None, help="queries of the passive baselines, passive "
                     "and passive-enn (default 51,200; with --queries, the same as --queries)")  # fmt: skip
    run.add_argument("--batch-size", type=int, default=None, help="queries per batch (default 32)")
    run.add_argument("--eval-every", type=int, default=None, help="batches between evaluations (default 10)")
    run.add_argument("--reward-model", choices=("point", "enn"), default=None, help="override every agent's model")
    run.add_argument("--num-particles", type=int, default=None, help="ENN particles with --reward-model enn")
    run.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    run.add_argument("--out", type=Path, default=None, help="results directory (default results/<env>); rerunning "
                     "the same config there resumes it")  # fmt: skip
    run.add_argument("--quick", action="store_true", help="a run of about a minute: fewer queries, seeds, "
                     "candidates (and on LLMDuel-v0 without --env-kwargs 640 training prompts)")  # fmt: skip
    run.add_argument("--jobs", type=int, default=2, help="(agent, seed) runs in parallel processes, one torch "
                     "thread each (default 2; the results are the same for any number)")  # fmt: skip
    run.add_argument("--checkpoint-seconds", type=float, default=CHECKPOINT_SECONDS, help="seconds of work between "
                     f"checkpoints of a run (default {CHECKPOINT_SECONDS:g}; 0: at every evaluation)")  # fmt: skip
    run.add_argument("--log-format", default="", help="also log through stable-baselines3's logger into OUT/logs: "
                     "csv, tensorboard (needs the tensorboard package), or both, comma-separated")  # fmt: skip
    sweep = commands.add_parser("sweep", help="agents x seeds x env-kwargs grid, one job each, on Ray or in processes")
    for action in run._actions[1:]:
        if action.dest not in ("out", "quick", "jobs", "checkpoint_seconds"):
            sweep._add_action(action)
    sweep.add_argument(
        "--grid", type=parse_json, default={}, help='JSON object of lists, e.g. {"theta_norm": [0.5, 1]}'
    )
    sweep.add_argument("--backend", choices=("ray", "processes"), default="processes")
    sweep.add_argument("--workers", type=int, default=2, help="parallel jobs (one torch thread each)")
    sweep.add_argument("--out", type=Path, default=Path("results/sweep"), help="one results directory per grid point")
    sweep.add_argument("--quick", action="store_true", help="the --quick budget for every job")
    online = commands.add_parser("online", help="online RLHF on LLMDuel-v0: offline, periodic, online and online-ids "
                                 "schedules train the policy LM; writes metrics, summary and curves")  # fmt: skip
    online.add_argument("--schedules", default="", help="comma list (default offline,periodic,online,online-ids; "
                        f"known: {', '.join(SCHEDULES)})")  # fmt: skip
    online.add_argument("--seeds", type=parse_seeds, default=None, help="a count (3) or a list (0,1,2); default 3")
    online.add_argument("--batches", type=int, default=None, help="query batches per run (default 64)")
    online.add_argument("--batch-size", type=int, default=None, help="prompts (queries) per batch (default 16)")
    online.add_argument("--env-kwargs", type=parse_json, default={}, help="JSON object of LLMDuel-v0 keyword arguments")
    for name in ("nudge", "kl-weight", "anchor-rate", "learning-rate"):
        online.add_argument(f"--{name}", type=float, default=None, help="policy update setting (see README)")
    online.add_argument("--kl", choices=KL_ESTIMATORS, default=None, help="KL estimator (default exact)")
    online.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    online.add_argument("--out", type=Path, default=Path("results/online"), help="results directory (default "
                        "results/online); rerunning the same config there resumes it")  # fmt: skip
    online.add_argument("--quick", action="store_true", help="a run of about 2 minutes: fewer batches and seeds")
    online.add_argument("--jobs", type=int, default=2, help="runs in parallel processes (default 2; same results)")
    online.add_argument("--checkpoint-seconds", type=float, default=CHECKPOINT_SECONDS, help="seconds of work between "
                        f"checkpoints of a run (default {CHECKPOINT_SECONDS:g})")  # fmt: skip
    report = commands.add_parser("report", help="redraw summary and curves of a results directory from metrics.jsonl")
    report.add_argument("directory", type=Path)
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    """The config of ``run`` or ``sweep`` arguments; a ``ConfigError`` for values :class:`RunConfig` rejects."""
    if args.num_particles is not None and args.reward_model != "enn":
        raise ConfigError(f"--num-particles {args.num_particles} applies to --reward-model enn only")
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    given = {
        "env": args.env, "env_kwargs": args.env_kwargs, "seeds": args.seeds, "queries": args.queries,
        "batch_size": args.batch_size, "eval_every": args.eval_every, "reward_model": args.reward_model,
        "num_particles": args.num_particles, "device": args.device,
        "agents": tuple(a.strip() for a in args.agents.split(",") if a.strip()),
    }  # fmt: skip
    values.update({k: v for k, v in given.items() if v is not None})
    if args.quick and not values.get("env_kwargs"):
        values["env_kwargs"] = dict(experiment_kind(values["env"]).quick_env_kwargs)
    if args.baseline_queries is not None:
        values["agent_queries"] = dict.fromkeys(BASELINE_QUERIES, args.baseline_queries)
    elif args.queries is not None:
        values["agent_queries"] = {}
    try:
        return RunConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


def check_parallel_options(args: argparse.Namespace) -> None:
    """``--jobs`` and ``--checkpoint-seconds`` of ``run`` and ``online``, as one-line errors."""
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    if not math.isfinite(args.checkpoint_seconds) or args.checkpoint_seconds < 0:
        raise ConfigError(f"--checkpoint-seconds must be a finite number >= 0, got {args.checkpoint_seconds}")


def command_run(args: argparse.Namespace, console: Console) -> None:
    config = config_from(args)
    out = args.out or Path("results") / config.env.removeprefix("duelgym/")
    start = time.perf_counter()
    formats = tuple(f.strip() for f in args.log_format.split(",") if f.strip())
    check_parallel_options(args)
    summary = execute(config, out, console, log_formats=formats, jobs=args.jobs,
                      checkpoint_seconds=args.checkpoint_seconds)  # fmt: skip
    console.print(summary_markdown(summary), soft_wrap=True, markup=False)
    console.print(f"{time.perf_counter() - start:.0f} s; results in {out}/ (curves: {out / 'curves.png'})")


def online_config_from(args: argparse.Namespace) -> OnlineConfig:
    values: dict[str, Any] = dict(ONLINE_QUICK) if args.quick else {}
    given = {
        "seeds": args.seeds, "batches": args.batches, "batch_size": args.batch_size, "env_kwargs": args.env_kwargs,
        "nudge": args.nudge, "kl_weight": args.kl_weight, "anchor_rate": args.anchor_rate,
        "learning_rate": args.learning_rate, "kl": args.kl, "device": args.device,
        "schedules": tuple(s.strip() for s in args.schedules.split(",") if s.strip()) or None,
    }  # fmt: skip
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return OnlineConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


def command_online(args: argparse.Namespace, console: Console) -> None:
    config = online_config_from(args)
    check_parallel_options(args)
    start = time.perf_counter()
    execute_online(config, args.out, console, jobs=args.jobs, checkpoint_seconds=args.checkpoint_seconds)
    console.print((args.out / "summary.md").read_text(), soft_wrap=True, markup=False)
    console.print(f"{time.perf_counter() - start:.0f} s; results in {args.out}/ (curves: {args.out / 'curves.png'}; "
                  f"policies: {args.out / 'policies'})")  # fmt: skip


def command_report(args: argparse.Namespace, console: Console) -> None:
    directory: Path = args.directory
    if not (directory / "metrics.jsonl").is_file() or not (directory / "config.json").is_file():
        raise ConfigError(f"{directory} has no metrics.jsonl and config.json (not a results directory)")
    stored = read_config(directory / "config.json")
    if stored.get("kind") == "online":
        try:
            online = OnlineConfig.from_dict(stored)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{directory / 'config.json'} does not hold a valid config: {error}") from error
        write_online_reports(directory, online_ceiling(online))
        console.print((directory / "summary.md").read_text(), soft_wrap=True, markup=False)
        return
    try:
        config = RunConfig.from_dict(stored)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{directory / 'config.json'} does not hold a valid config: {error}") from error
    summary = write_reports(directory, *report_settings(config))
    console.print(summary_markdown(summary), soft_wrap=True, markup=False)


def command_sweep(args: argparse.Namespace, console: Console) -> None:
    directories = sweep(config_from(args), args.grid, args.out, args.backend, args.workers)
    for directory in directories:
        console.print(f"\n{directory}:\n" + (directory / "summary.md").read_text(), soft_wrap=True, markup=False)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        commands = {"run": command_run, "sweep": command_sweep, "online": command_online, "report": command_report}
        commands[args.command](args, console)
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from error


if __name__ == "__main__":
    main(sys.argv[1:])
