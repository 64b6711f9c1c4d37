"""Gymnasium's info layout for native vector envs whose episodes all end every step (autoreset ``SAME_STEP``).

``gymnasium.vector.SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)`` over one-step envs returns, after
each step, the observation of the episodes that start (the reset observation), and an info dict laid out as::

    {
        "final_obs": object array (B,) of the ended episodes' last observations, "_final_obs": bool mask (B,),
        "final_info": {key: array (B,), "_key": bool mask (B,), ...}  (the step's info), "_final_info": mask (B,),
        key: array (B,), "_key": mask (B,), ...                      (the reset info of the episodes that start)
    }

The native envs build the same layout in one batch, so code written for Gymnasium's vector envs reads them alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["object_array", "same_step_info", "with_masks"]


def object_array(items: Iterable[Any], num_envs: int) -> NDArray[np.object_]:
    """A 1-D object array of ``num_envs`` items (as Gymnasium stores ``final_obs``)."""
    return np.fromiter(items, dtype=object, count=num_envs)


def with_masks(info: dict[str, NDArray[Any]], num_envs: int) -> dict[str, NDArray[Any]]:
    """``info`` with Gymnasium's boolean ``"_key"`` mask after each key, all true (every sub-env has every key)."""
    out: dict[str, NDArray[Any]] = {}
    for key, value in info.items():
        out[key] = value
        out[f"_{key}"] = np.ones(num_envs, dtype=bool)
    return out


def same_step_info(
    final_obs: NDArray[np.object_], final_info: dict[str, NDArray[Any]], reset_info: dict[str, NDArray[Any]]
) -> dict[str, Any]:
    """The info of a step in which all ``len(final_obs)`` episodes ended and new ones started (see the module)."""
    num_envs = len(final_obs)
    return {
        "final_obs": final_obs,
        "_final_obs": np.ones(num_envs, dtype=bool),
        "final_info": with_masks(final_info, num_envs),
        "_final_info": np.ones(num_envs, dtype=bool),
        **with_masks(reset_info, num_envs),
    }
