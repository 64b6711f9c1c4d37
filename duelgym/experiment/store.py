"""The results store: one directory per comparison, holding

* ``config.json``: the config, the duelgym version that wrote it, the machine it started on (:func:`machine_record`)
  and the agents left out of a default list (with their reasons);
* ``metrics.jsonl``: one JSON record per evaluation, appended and flushed as the run goes;
* ``checkpoints/<agent>-seed<seed>.pt``: the state of each unfinished (agent, seed)
  (:mod:`duelgym.experiment.checkpoint`);
* ``summary.json``, ``summary.md`` and ``curves.png``: the reports (:mod:`duelgym.experiment.report`).

:meth:`ResultsStore.open` reads and checks everything already there before it writes anything, so a refused run
leaves the directory as it was; every unreadable file is reported with its name and what to do, never repaired
or overwritten.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from duelgym._version import __version__
from duelgym.experiment.checkpoint import (
    CheckpointHeader,
    config_identity,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    verify_header,
)
from duelgym.experiment.config import ConfigError, RunConfig
from duelgym.experiment.report import plot, summarize, summary_markdown, write_atomic

__all__ = [
    "ResultsStore",
    "append_line",
    "config_json",
    "machine_record",
    "read_config",
    "read_metrics",
    "write_config",
    "write_reports",
]

#: Fields of ``config.json`` that are not part of the config.
_RECORD_FIELDS = ("version", "machine", "left_out")


def machine_record() -> dict[str, str]:
    """What decides a run's floating-point results besides its config and seeds: the versions of Python, torch,
    transformers and numpy, and the CPU instruction set torch's kernels use (``torch.backends.cpu``). Runs reproduce
    to the last digit where these match; a CPU with another instruction set gives other sums, so other samples and
    other curves from the same seeds."""
    try:
        transformers = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        transformers = "not installed"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers,
        "numpy": np.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk, so a killed run never leaves a partial line behind."""
    with path.open("a") as file:
        file.write(json.dumps(record, sort_keys=True) + "\n")
        file.flush()
        os.fsync(file.fileno())


def config_json(config: RunConfig, left_out: dict[str, str] | None = None) -> str:
    """The text of ``config.json``: the config, this duelgym version and machine, and the agents left out, if any; a
    ``ConfigError`` if the config does not fit in JSON (for example a callable rater in ``env_kwargs``)."""
    record: dict[str, Any] = {"version": __version__, "machine": machine_record(), **config.to_dict()}
    if left_out:
        record["left_out"] = left_out
    try:
        return json.dumps(record, indent=2, sort_keys=True) + "\n"
    except (TypeError, ValueError) as error:
        raise ConfigError(f"a config stored in a results directory must be JSON: {error}") from error


def write_config(path: Path, config: RunConfig, left_out: dict[str, str] | None = None) -> None:
    """Write :func:`config_json` to ``path`` atomically."""
    write_atomic(path, config_json(config, left_out))


def read_config(path: Path) -> dict[str, Any]:
    """The stored ``config.json`` as a dict, or a ``ConfigError`` naming the file."""
    try:
        stored = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{path} is corrupted ({error}); nothing was changed. Restore it, or use --out with a new directory"
        ) from error
    if not isinstance(stored, dict) or not isinstance(stored.get("env"), str):
        raise ConfigError(
            f"{path} is not a duelgym config (no env); nothing was changed. Use --out with a new directory"
        )
    return stored


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``, or a ``ConfigError`` naming the file and the first bad line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        lines = data.count(b"\n") + 1
        raise ConfigError(
            f"{path} ends in an incomplete line {lines} (truncated, or a write cut short); nothing was changed. "
            "Delete that line to resume (its result is written again from the checkpoint), or use --out with a "
            "new directory"
        )
    records = []
    for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            record = error
        if not isinstance(record, dict) or not {"agent", "seed", "queries", "value"} <= set(record):
            raise ConfigError(
                f"{path} line {number} is not a metrics record ({line[:60]!r}); nothing was changed. "
                "Restore the file, or use --out with a new directory"
            )
        records.append(record)
    return records


def write_reports(
    directory: Path, metric: str, higher_is_better: bool, ceiling: float | None = None, baseline: str = "passive",
    extend: Callable[[list[dict[str, Any]], dict[str, Any]], str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Reduce ``directory/metrics.jsonl`` to ``summary.json``, ``summary.md`` and ``curves.png``; returns the
    summary (``ceiling``: the metric's learnable ceiling, for fixed targets; ``baseline``: the agent the others are
    compared with; see :func:`summarize`). ``extend(records, summary)`` may add fields to the summary before it
    is written, and returns Markdown for the end of ``summary.md`` (each file is written once, atomically)."""
    records = read_metrics(directory / "metrics.jsonl")
    summary = summarize(records, metric, higher_is_better, ceiling, baseline)
    markdown = summary_markdown(summary)
    if extend is not None:
        markdown += "\n" + extend(records, summary)
    write_atomic(directory / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_atomic(directory / "summary.md", markdown)
    plot(records, summary, directory / "curves.png")
    return summary


class ResultsStore:
    """A results directory of one config (see the module docstring). Build it with :meth:`open`."""

    def __init__(self, directory: Path, config: RunConfig) -> None:
        self.directory = directory
        self.config = config
        self.config_path = directory / "config.json"
        self.metrics_path = directory / "metrics.jsonl"
        self.checkpoints = directory / "checkpoints"
        #: ``(agent, seed, queries)`` of the results already written.
        self.recorded: set[tuple[str, int, int]] = set()
        #: A warning for the display (a run written by another duelgym version or on another machine), or ``None``.
        self.warning: str | None = None

    @classmethod
    def open(cls, directory: Path, config: RunConfig, left_out: dict[str, str] | None = None) -> ResultsStore:
        """Check ``directory`` (new, or a run of the same config), then create what is missing.

        Refused with a ``ConfigError``, before anything is written: another config; a corrupted ``config.json``,
        ``metrics.jsonl`` or checkpoint; a checkpoint of another agent, seed or config; ``metrics.jsonl`` missing
        (or missing results that a checkpoint says were written) in a directory that has a config.
        """
        store = cls(directory, config)
        store._check()
        store._create(left_out or {})
        return store

    def _check(self) -> None:
        config_exists = self.config_path.is_file()
        if config_exists:
            stored = read_config(self.config_path)
            version = stored.get("version")
            fields = {k: v for k, v in stored.items() if k not in _RECORD_FIELDS}
            current = self.config.to_dict()
            differing = sorted(k for k in set(fields) | set(current) if fields.get(k) != current.get(k))
            if differing:
                raise ConfigError(
                    f"{self.directory} holds a run of another config (fields that differ: {', '.join(differing)}); "
                    "pass the same arguments to resume it, or --out with a new directory"
                )
            warnings = []
            if version != __version__:
                warnings.append(f"{self.directory} was written by duelgym {version}; resuming with {__version__}")
            machine = stored.get("machine")
            if machine is not None and machine != machine_record():
                warnings.append(
                    f"{self.directory} was started on another machine ({machine}); runs resumed here will not match "
                    "uninterrupted ones to the last digit"
                )
            self.warning = "; ".join(warnings) or None
        if self.metrics_path.exists():
            records = read_metrics(self.metrics_path)
            if records and not config_exists:
                raise ConfigError(
                    f"{self.metrics_path} has results but {self.config_path} is missing; nothing was changed. "
                    "Restore config.json, or use --out with a new directory"
                )
            self.recorded = {(r["agent"], r["seed"], r["queries"]) for r in records}
        elif config_exists:
            raise ConfigError(
                f"{self.metrics_path} is missing from a results directory that has a config.json (deleted or moved "
                "while the run was going?); nothing was changed. Restore it, or use --out with a new directory"
            )
        if self.checkpoints.is_dir():
            for path in sorted(self.checkpoints.glob("*.pt")):
                header, _ = read_checkpoint(path)
                self._check_checkpoint(path, header)

    def _check_checkpoint(self, path: Path, header: CheckpointHeader) -> None:
        """A checkpoint must sit at its own name, belong to this config, and follow the results written."""
        agent, seed = header.get("agent"), header.get("seed")
        if not isinstance(agent, str) or not isinstance(seed, int) or path != self.checkpoint_path(agent, seed):
            raise ConfigError(
                f"checkpoint {path} belongs to agent={agent!r}, seed={seed!r}, not to the run its name says; "
                "nothing was changed. Move it out of the directory to restart that run from the beginning"
            )
        verify_header(path, header, agent, seed, self.config)
        batch = header.get("batch")
        earlier = [b for b in range(1, batch if isinstance(batch, int) else 0) if self.config.evaluates_at(b, agent)]
        missing = [b * self.config.batch_size for b in earlier if (agent, seed, b * self.config.batch_size)
                   not in self.recorded]  # fmt: skip
        if missing:
            raise ConfigError(
                f"{self.metrics_path} lacks {len(missing)} result(s) of {agent} seed {seed} that were written before "
                f"its checkpoint {path} (queries {missing[0]}, …): the file was truncated or replaced; nothing was "
                "changed. Restore it, or use --out with a new directory"
            )

    def _create(self, left_out: dict[str, str]) -> None:
        text = config_json(self.config, left_out)  # checked before anything is written
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            if not self.metrics_path.exists():
                self.metrics_path.touch()
            if not self.config_path.exists():
                write_atomic(self.config_path, text)
        except OSError as error:
            raise ConfigError(f"cannot write the results directory {self.directory}: {error}") from error

    def checkpoint_path(self, agent: str, seed: int) -> Path:
        return self.checkpoints / f"{agent}-seed{seed}.pt"

    def append(self, record: dict[str, Any]) -> None:
        append_line(self.metrics_path, record)
        self.recorded.add((record["agent"], record["seed"], record["queries"]))

    def save_checkpoint(self, agent: str, seed: int, batch: int, state: dict[str, Any]) -> None:
        header = {"version": __version__, "agent": agent, "seed": seed, "config": config_identity(self.config),
                  "batch": batch}  # fmt: skip
        save_checkpoint(self.checkpoint_path(agent, seed), header, state)

    def load_checkpoint(self, agent: str, seed: int) -> dict[str, Any] | None:
        """The verified state of ``(agent, seed)``'s checkpoint, or ``None`` if it has none."""
        path = self.checkpoint_path(agent, seed)
        if not path.exists():
            return None
        return load_checkpoint(path, agent, seed, self.config)[1]

    def finish(self, agent: str, seed: int) -> None:
        """Drop ``(agent, seed)``'s checkpoint: its results are all written."""
        self.checkpoint_path(agent, seed).unlink(missing_ok=True)
