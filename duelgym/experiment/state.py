"""Save state, not objects: the mutable state of an agent or env as tensors, arrays and plain values.

A checkpoint never pickles an object. :func:`extract_state` walks an object's attributes and records what can
change as it runs: tensors, NumPy arrays and scalars, torch, NumPy and Python random generators, module and optimiser
``state_dict()``s, and Python ints, floats, strings, lists, sets and dicts. Everything else (functions, classes,
devices, dtypes) is recorded by name only, as a check. :func:`restore_state` takes an object rebuilt fresh from the same
config and seed (construction is deterministic) and writes the saved state into it, in place where the shapes
match, so objects that share a tensor or generator keep sharing it. The result loads with
``torch.load(..., weights_only=True)``: nothing in it can run code.

Every node is a dict with a ``"kind"``; restoring checks that each node fits the fresh object (same classes,
attribute names, lengths and kinds) and raises :class:`StateMismatch` with the attribute's path if not.
"""

from __future__ import annotations

import enum
import random
import types
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

__all__ = ["StateMismatch", "extract_state", "restore_state"]

_PLAIN = (type(None), bool, int, float, str)
_NAMED = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    type,
    torch.device,
    torch.dtype,
    np.dtype,
    enum.Enum,
)


class StateMismatch(ValueError):
    """A saved state does not fit the object it is restored into (the path names the attribute)."""


def _name(value: Any) -> str:
    """What identifies a constant: its qualified name (functions, classes, modules) or its repr."""
    target = getattr(value, "__func__", value)
    if isinstance(target, (types.FunctionType, types.BuiltinFunctionType, type)):
        return f"{getattr(target, '__module__', '')}.{target.__qualname__}"
    if isinstance(target, types.ModuleType):
        return target.__name__
    return repr(value)


def _seed_sequence(value: np.random.SeedSequence) -> dict[str, Any]:
    entropy = value.entropy
    return {
        "entropy": entropy if isinstance(entropy, int) or entropy is None else [int(e) for e in entropy],
        "spawn_key": [int(k) for k in value.spawn_key],
        "children": int(value.n_children_spawned),
    }


def _class_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def extract_state(value: Any, skip: Iterable[str] = ()) -> Any:
    """The state of ``value`` as nested dicts of tensors and plain values (see the module docstring).

    ``skip`` names top-level attributes left out (parts that follow from the config, such as a large frozen model).
    A ``TypeError`` names the path of a value that cannot be saved as state.
    """
    return _extract(value, "state", {}, frozenset(skip))


def _extract(value: Any, path: str, seen: dict[int, str], skip: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if id(value) in seen:
        return {"kind": "ref", "to": seen[id(value)]}
    seen[id(value)] = path
    if isinstance(value, torch.Tensor):
        return {"kind": "tensor", "value": value.detach().clone()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return {"kind": "ndarray", "text": value.tolist(), "dtype": value.dtype.str}
        if value.dtype.kind not in "biufc":
            raise TypeError(f"cannot save {path} as state: an array of dtype {value.dtype}")
        return {"kind": "ndarray", "value": torch.from_numpy(np.array(value, copy=True))}
    if isinstance(value, np.generic):
        return {"kind": "npscalar", "dtype": value.dtype.str, "value": value.item()}
    if isinstance(value, torch.Generator):
        return {"kind": "torch_generator", "device": str(value.device), "value": value.get_state()}
    if isinstance(value, np.random.Generator):
        return {"kind": "numpy_generator", "value": value.bit_generator.state}
    if isinstance(value, random.Random):
        version, internal, gauss = value.getstate()
        return {"kind": "python_random", "value": {"version": version, "internal": list(internal), "gauss": gauss}}
    if isinstance(value, np.random.BitGenerator):
        return {"kind": "numpy_bit_generator", "value": value.state}
    if isinstance(value, np.random.SeedSequence):
        return {"kind": "seed_sequence", "value": _seed_sequence(value)}
    if isinstance(value, torch.nn.Module):
        return {"kind": "module", "class": _class_name(value), "value": value.state_dict()}
    if isinstance(value, torch.optim.Optimizer):
        return {"kind": "optimizer", "class": _class_name(value), "value": value.state_dict()}
    if isinstance(value, _NAMED):
        return {"kind": "named", "name": _name(value)}
    if isinstance(value, (list, tuple)):
        items = [_extract(v, f"{path}[{i}]", seen) for i, v in enumerate(value)]
        return {"kind": "tuple" if isinstance(value, tuple) else "list", "items": items}
    if isinstance(value, (set, frozenset)):
        if not all(isinstance(v, _PLAIN) for v in value):
            raise TypeError(f"cannot save {path} as state: a set of other than plain values")
        return {"kind": "set", "frozen": isinstance(value, frozenset), "items": list(value)}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, _PLAIN):
                raise TypeError(f"cannot save {path} as state: a dict key {key!r} of type {type(key).__name__}")
        return {"kind": "dict", "items": {k: _extract(v, f"{path}[{k!r}]", seen) for k, v in value.items()}}
    if hasattr(value, "__dict__"):
        attributes = {k: _extract(v, f"{path}.{k}", seen) for k, v in vars(value).items() if k not in skip}
        return {"kind": "object", "class": _class_name(value), "attributes": attributes}
    raise TypeError(f"cannot save {path} as state: {type(value).__name__} is not a tensor, array or plain value")


def restore_state(fresh: Any, state: Any, path: str = "state", skip: Iterable[str] = ()) -> Any:
    """Write ``state`` (from :func:`extract_state`) into ``fresh``; returns the restored value.

    Containers, objects, tensors and arrays of matching shapes are updated in place, so ``fresh`` itself is the
    result for them. A :class:`StateMismatch` names the first path where ``state`` does not fit ``fresh``.
    """
    return _Restorer(path).restore(fresh, state, path, frozenset(skip))


def _mismatch(path: str, expected: str, state: Any) -> StateMismatch:
    got = state.get("kind") if isinstance(state, dict) else type(state).__name__
    detail = state.get("class") if isinstance(state, dict) and "class" in state else got
    return StateMismatch(f"{path}: the saved state holds {detail}, but the run has {expected}")


class _Restorer:
    """One restore: remembers what each path became, so a value saved twice (a ``ref``) is shared again."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.restored: dict[str, Any] = {}

    def restore(self, fresh: Any, state: Any, path: str, skip: frozenset[str] = frozenset()) -> Any:
        value = self._restore(fresh, state, path, skip)
        if not isinstance(state, _PLAIN):
            self.restored["state" + path[len(self.root) :]] = value
        return value

    def _restore(self, fresh: Any, state: Any, path: str, skip: frozenset[str]) -> Any:
        if isinstance(state, _PLAIN):
            if not isinstance(fresh, _PLAIN):
                raise _mismatch(path, type(fresh).__name__, state)
            return state
        if not isinstance(state, dict) or "kind" not in state:
            raise _mismatch(path, type(fresh).__name__, state)
        kind = state["kind"]
        if kind == "ref":
            return self.restored.get(state["to"], fresh)
        if kind == "tensor":
            value = state["value"]
            if isinstance(fresh, torch.Tensor) and fresh.shape == value.shape and fresh.dtype == value.dtype:
                with torch.no_grad():
                    fresh.copy_(value)
                return fresh
            if not (fresh is None or isinstance(fresh, torch.Tensor)):
                raise _mismatch(path, type(fresh).__name__, state)
            return value if fresh is None else value.to(fresh.device)
        if kind == "ndarray":
            value = np.array(state["text"], dtype=state["dtype"]) if "text" in state else state["value"].numpy()
            if isinstance(fresh, np.ndarray) and fresh.shape == value.shape and fresh.dtype == value.dtype:
                if fresh.flags.writeable:
                    np.copyto(fresh, value)
                    return fresh
            elif not (fresh is None or isinstance(fresh, np.ndarray)):
                raise _mismatch(path, type(fresh).__name__, state)
            return value.copy()
        if kind == "npscalar":
            return np.dtype(state["dtype"]).type(state["value"])
        if kind == "torch_generator":
            if not isinstance(fresh, torch.Generator):
                raise _mismatch(path, type(fresh).__name__, state)
            fresh.set_state(state["value"])
            return fresh
        if kind == "numpy_generator":
            if not isinstance(fresh, np.random.Generator):
                raise _mismatch(path, type(fresh).__name__, state)
            try:
                fresh.bit_generator.state = state["value"]
            except (TypeError, ValueError, KeyError) as error:
                raise StateMismatch(f"{path}: the saved generator state does not fit: {error}") from error
            return fresh
        if kind == "python_random":
            if not isinstance(fresh, random.Random):
                raise _mismatch(path, type(fresh).__name__, state)
            saved = state["value"]
            fresh.setstate((saved["version"], tuple(saved["internal"]), saved["gauss"]))
            return fresh
        if kind == "numpy_bit_generator":
            if not isinstance(fresh, np.random.BitGenerator):
                raise _mismatch(path, type(fresh).__name__, state)
            try:
                fresh.state = state["value"]
            except (TypeError, ValueError, KeyError) as error:
                raise StateMismatch(f"{path}: the saved bit generator state does not fit: {error}") from error
            return fresh
        if kind == "seed_sequence":
            # A SeedSequence cannot be written to; one built from the same config must already be the same.
            if not isinstance(fresh, np.random.SeedSequence) or _seed_sequence(fresh) != state["value"]:
                raise _mismatch(path, type(fresh).__name__, state)
            return fresh
        if kind in ("module", "optimizer"):
            if _class_name(fresh) != state["class"]:
                raise _mismatch(path, _class_name(fresh), state)
            try:
                fresh.load_state_dict(state["value"])
            except (RuntimeError, KeyError, ValueError) as error:
                raise StateMismatch(f"{path}: the saved {kind} state does not fit: {error}") from error
            return fresh
        if kind == "named":
            if not isinstance(fresh, _NAMED) or _name(fresh) != state["name"]:
                raise _mismatch(path, _name(fresh) if isinstance(fresh, _NAMED) else type(fresh).__name__, state)
            return fresh
        if kind in ("list", "tuple"):
            items = state["items"]
            if isinstance(fresh, (list, tuple)) and len(fresh) == len(items):
                restored = [
                    self.restore(f, s, f"{path}[{i}]") for i, (f, s) in enumerate(zip(fresh, items, strict=True))
                ]
            elif fresh is None or isinstance(fresh, (list, tuple)):
                restored = [self.restore(None, s, f"{path}[{i}]") for i, s in enumerate(items)]
            else:
                raise _mismatch(path, type(fresh).__name__, state)
            if kind == "tuple":
                return tuple(restored)
            if isinstance(fresh, list):
                fresh[:] = restored
                return fresh
            return restored
        if kind == "set":
            if not (fresh is None or isinstance(fresh, (set, frozenset))):
                raise _mismatch(path, type(fresh).__name__, state)
            return (frozenset if state["frozen"] else set)(state["items"])
        if kind == "dict":
            items = state["items"]
            if isinstance(fresh, dict):
                restored = {k: self.restore(fresh.get(k), s, f"{path}[{k!r}]") for k, s in items.items()}
                fresh.clear()
                fresh.update(restored)
                return fresh
            if fresh is None:
                return {k: self.restore(None, s, f"{path}[{k!r}]") for k, s in items.items()}
            raise _mismatch(path, type(fresh).__name__, state)
        if kind == "object":
            if fresh is None or _class_name(fresh) != state["class"]:
                raise _mismatch(path, "None" if fresh is None else _class_name(fresh), state)
            attributes = state["attributes"]
            missing = sorted(set(vars(fresh)) - set(attributes) - skip)
            if missing:
                raise StateMismatch(f"{path}: the saved state lacks the attribute(s) {', '.join(missing)}")
            for name, saved in attributes.items():
                restored = self.restore(vars(fresh).get(name), saved, f"{path}.{name}")
                if vars(fresh).get(name) is not restored:
                    object.__setattr__(fresh, name, restored)
            return fresh
        raise StateMismatch(f"{path}: unknown state kind {kind!r}")
