"""Checkpoints of a run in progress: state, not objects, with a header saying what they belong to.

A checkpoint is one file written atomically (write, then rename) by ``torch.save`` of a dict: ``"header"``, a
JSON string (format, duelgym version, agent, seed, config identity, batch), and ``"state"``, tensors, arrays and
plain values only (:mod:`duelgym.experiment.state`). It is read back with ``torch.load(..., weights_only=True)``,
which refuses anything that would build an object or run code, so opening someone's results directory never runs
their code. The header is verified before the state is used: a checkpoint copied to another agent's or seed's
name, or left by another config, is refused with a message naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from duelgym.experiment.config import ConfigError, RunConfig

__all__ = [
    "FORMAT",
    "CheckpointHeader",
    "config_identity",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "verify_header",
]

#: Name and version of the checkpoint format, in every header.
FORMAT = "duelgym-checkpoint/1"

#: The header: ``{"format", "version", "agent", "seed", "config", "batch"}``.
CheckpointHeader = dict[str, Any]


def config_identity(config: RunConfig) -> str:
    """A short hash of everything that determines a config's results (its :meth:`RunConfig.to_dict`)."""
    return hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def save_checkpoint(path: Path, header: CheckpointHeader, state: dict[str, Any]) -> None:
    """Write ``header`` and ``state`` to a temporary file beside ``path``, then rename it over ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    torch.save({"header": json.dumps({"format": FORMAT, **header}, sort_keys=True), "state": state}, temporary)
    os.replace(temporary, path)


def _unreadable(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"checkpoint {path} {why}; nothing was changed. Move it out of the directory to restart that (agent, seed) "
        "from the beginning, or use --out with a new directory"
    )


def read_checkpoint(path: Path) -> tuple[CheckpointHeader, dict[str, Any]]:
    """``(header, state)`` of a checkpoint file, loaded with ``weights_only=True``; a ``ConfigError`` naming the
    file if it is not a readable duelgym checkpoint."""
    try:
        data = torch.load(path, weights_only=True)
    except Exception as error:  # any failure to read the file is reported with its name
        why = f"cannot be read safely (truncated, corrupted or not a duelgym checkpoint: {error})"
        raise _unreadable(path, why) from error
    if not isinstance(data, dict) or set(data) != {"header", "state"} or not isinstance(data["header"], str):
        raise _unreadable(path, "is not a duelgym checkpoint (no header)")
    try:
        header = json.loads(data["header"])
    except json.JSONDecodeError as error:
        raise _unreadable(path, f"has a corrupted header ({error})") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _unreadable(path, f"has the format {header.get('format') if isinstance(header, dict) else None!r}, "
                          f"not {FORMAT!r}")  # fmt: skip
    if not isinstance(data["state"], dict):
        raise _unreadable(path, "holds no state")
    return header, data["state"]


def verify_header(path: Path, header: CheckpointHeader, agent: str, seed: int, config: RunConfig) -> None:
    """A ``ConfigError`` naming the file unless ``header`` belongs to ``agent``, ``seed`` and ``config``."""
    expected = {"agent": agent, "seed": seed, "config": config_identity(config)}
    differing = {k: header.get(k) for k, v in expected.items() if header.get(k) != v}
    if differing:
        found = ", ".join(f"{k}={v!r}" for k, v in differing.items())
        wanted = ", ".join(f"{k}={expected[k]!r}" for k in differing)
        raise _unreadable(path, f"belongs to {found}, not {wanted}")


def load_checkpoint(path: Path, agent: str, seed: int, config: RunConfig) -> tuple[CheckpointHeader, dict[str, Any]]:
    """:func:`read_checkpoint`, verified to belong to ``agent``, ``seed`` and ``config``."""
    header, state = read_checkpoint(path)
    verify_header(path, header, agent, seed, config)
    return header, state
