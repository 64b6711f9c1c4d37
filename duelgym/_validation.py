"""Argument checks shared by the core and the environments: each error names the argument, the value and
what was expected."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

__all__ = ["check_finite", "check_int", "check_positive_finite"]


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int``; bools and floats are rejected with a ``TypeError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_finite(name: str, value: object, minimum: float | None = None) -> float:
    """``value`` as a finite ``float`` (>= ``minimum`` when given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive_finite(name: str, value: object) -> float:
    """``value`` as a finite ``float`` > 0."""
    value = check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value
