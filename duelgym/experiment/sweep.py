"""``duelgym sweep``: agents × seeds × env-kwargs grids, one job per (grid point, agent, seed), on Ray or in local
processes, with results in the same format as ``duelgym run`` (one results directory per grid point).

Every job is an ordinary resumable run of one agent and one seed in ``<out>/<point>/jobs/<agent>-seed<seed>/``;
when all are done their ``metrics.jsonl`` are merged into ``<out>/<point>/`` with its ``config.json``, summary and
curves. Scheduling is the backend's: Ray's task scheduler, or ``concurrent.futures.ProcessPoolExecutor``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Literal

from duelgym.experiment.config import ConfigError, RunConfig
from duelgym.experiment.report import write_atomic
from duelgym.experiment.runner import execute, report_settings
from duelgym.experiment.store import read_metrics, write_config, write_reports

__all__ = ["grid_points", "run_job", "sweep"]

Backend = Literal["ray", "processes"]


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (``[{}]`` for an empty grid)."""
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def point_name(point: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in point.items()) or "default"


def run_job(config: dict[str, Any], out: str) -> str:
    """One job: run ``config`` (one agent, one seed) into ``out`` (on one torch thread, as every run). Returns
    ``out``."""
    from rich.console import Console

    execute(RunConfig.from_dict(config), Path(out), Console(quiet=True), display=False)
    return out


def sweep(base: RunConfig, grid: dict[str, list[Any]], out: Path, backend: Backend, workers: int) -> list[Path]:
    """Run every (grid point, agent, seed) job of ``base`` and merge each point's results; returns the points' dirs.

    ``base.agents`` must name the agents (a sweep states what it compares).
    """
    if not base.agents:
        raise ConfigError("a sweep needs --agents (the agents to compare)")
    if backend not in ("ray", "processes"):
        raise ConfigError(f"backend must be 'ray' or 'processes', got {backend!r}")
    points = grid_points(grid)
    jobs: list[tuple[dict[str, Any], str]] = []
    for point in points:
        for agent, seed in itertools.product(base.agents, base.seeds):
            try:
                config = dataclasses.replace(
                    base, env_kwargs={**base.env_kwargs, **point}, agents=(agent,), seeds=(seed,)
                )
            except (TypeError, ValueError) as error:
                raise ConfigError(f"grid point {point_name(point)}: {error}") from error
            jobs.append((config.to_dict(), str(out / point_name(point) / "jobs" / f"{agent}-seed{seed}")))
    if backend == "processes":
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(run_job, *job) for job in jobs]):
                future.result()
    elif backend == "ray":
        try:
            import ray
        except ImportError as error:
            raise ConfigError("--backend ray needs Ray: pip install 'duelgym[ray]'") from error
        ray.init(num_cpus=workers, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
        remote = ray.remote(run_job)
        ray.get([remote.remote(*job) for job in jobs])
    return [merge(base, point, out / point_name(point)) for point in points]


def merge(base: RunConfig, point: dict[str, Any], directory: Path) -> Path:
    """Write a grid point's ``config.json``, merged ``metrics.jsonl``, summary and curves."""
    config = dataclasses.replace(base, env_kwargs={**base.env_kwargs, **point})
    records = [r for job in sorted((directory / "jobs").iterdir()) for r in read_metrics(job / "metrics.jsonl")]
    records.sort(key=lambda r: (r["agent"], r["seed"], r["queries"]))
    write_config(directory / "config.json", config)
    write_atomic(directory / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    write_reports(directory, *report_settings(config))
    return directory
