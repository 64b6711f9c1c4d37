"""Checks and conversions at the reward models' boundary: features and comparisons."""

from __future__ import annotations

import numpy as np
import torch

from duelgym.agents.base import ArrayLike

__all__ = ["as_comparisons", "as_features"]


def as_features(
    features: ArrayLike, input_dim: int, device: torch.device, dtype: torch.dtype, name: str = "features"
) -> torch.Tensor:
    """``features`` (..., d) as a tensor on ``device`` with ``dtype``; checks d and finiteness."""
    if isinstance(features, np.ndarray):
        if features.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold numbers, got a numpy array of dtype {features.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(features))
    elif isinstance(features, torch.Tensor):
        tensor = features
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array of shape (..., {input_dim}), got {type(features).__name__}"
        )
    if tensor.ndim < 1 or tensor.shape[-1] != input_dim:
        raise ValueError(f"{name} must have shape (..., {input_dim}), got shape {tuple(tensor.shape)}")
    tensor = tensor.to(device=device, dtype=dtype)
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} holds non-finite values (nan or inf)")
    return tensor


def as_comparisons(
    features_first: ArrayLike,
    features_second: ArrayLike,
    choices: ArrayLike,
    input_dim: int,
    device: torch.device,
    dtype: torch.dtype,
    probabilities: bool = False,
    name: str = "choices",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of n comparisons as tensors (n, d), (n, d), (n,).

    ``choices`` must be exactly 0 or 1 (1 = first preferred); with ``probabilities=True`` any value in [0, 1] is
    accepted (the probability that the first is preferred, e.g. the rater's true ``p_first``). ``name`` is the
    third argument's name in error messages.
    """
    first = as_features(features_first, input_dim, device, dtype, "features_first")
    second = as_features(features_second, input_dim, device, dtype, "features_second")
    if first.ndim != 2 or first.shape != second.shape or first.shape[0] == 0:
        raise ValueError(
            f"features_first and features_second must both have shape (n, {input_dim}) with n >= 1, "
            f"got {tuple(first.shape)} and {tuple(second.shape)}"
        )
    if isinstance(choices, np.ndarray):
        choices = torch.from_numpy(np.ascontiguousarray(choices))
    if not isinstance(choices, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of shape (n,), got {type(choices).__name__}")
    if choices.shape != first.shape[:1]:
        raise ValueError(f"{name} must have shape ({first.shape[0]},) (one per comparison), got {tuple(choices.shape)}")
    choices = choices.to(device=device, dtype=dtype)
    invalid = ~((choices >= 0) & (choices <= 1)) if probabilities else (choices != 0) & (choices != 1)
    if invalid.any():
        index = int(invalid.nonzero()[0, 0])
        expected = "probabilities in [0, 1]" if probabilities else "0 or 1 (1 = first preferred)"
        raise ValueError(f"{name} must be {expected}, got {choices[index].item()} at index {index}")
    return first, second, choices
