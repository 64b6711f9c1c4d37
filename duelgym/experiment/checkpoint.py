"""Checkpoints of a run in progress: the agent, the env and the loop's position, written atomically.

Agents and envs are pickled whole (their torch modules, optimisers, replay buffers, NumPy and torch random
generators). Torch's ``Generator`` is not picklable by itself; this module registers a reducer that stores its
device and state, so a restored run draws exactly the random numbers an uninterrupted one would.
"""

from __future__ import annotations

import copyreg
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["load_checkpoint", "save_checkpoint"]


def _rebuild_generator(device: str, state: torch.Tensor) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.set_state(state)
    return generator


def _reduce_generator(generator: torch.Generator) -> tuple[Any, tuple[str, torch.Tensor]]:
    return _rebuild_generator, (str(generator.device), generator.get_state())


copyreg.pickle(torch.Generator, _reduce_generator)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to a temporary file beside ``path``, then rename it over ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state saved by :func:`save_checkpoint` (a file this package wrote: it is unpickled)."""
    return torch.load(path, weights_only=False)
