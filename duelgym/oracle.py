"""Simulated raters: the Bradley-Terry preference model, the :class:`Rater` protocol and choice sampling.

A rater answers a batch of queries "is ``first`` better than ``second`` for this prompt or context?" with the
probability ``p_first`` that a person would prefer ``first``. The environment then samples one choice per query
(1.0 = first preferred). ``p_first`` is the hidden truth: environments put it in ``info`` for evaluation only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from duelgym._validation import check_int, check_positive_finite

__all__ = [
    "BradleyTerry",
    "CallableRater",
    "HuggingFaceRater",
    "Rater",
    "UtilityRater",
    "check_probabilities",
    "choice_entropy",
    "sample_choices",
]


@runtime_checkable
class Rater(Protocol):
    """A batched preference oracle.

    ``rater(contexts, first, second)`` takes B prompts or contexts and the B first and B second items
    (responses or arm indices) and returns ``p_first``: a float array of shape (B,) in [0, 1], the probability
    that each ``first`` is preferred to its ``second``.
    """

    def __call__(
        self,
        contexts: Sequence[Any] | NDArray[Any],
        first: Sequence[Any] | NDArray[Any],
        second: Sequence[Any] | NDArray[Any],
    ) -> NDArray[np.float64]: ...


class BradleyTerry:
    """Bradley-Terry (logistic) preference model: p(a ≻ b) = σ((u_a − u_b) / T).

    Args:
        temperature: T > 0, in utility units. Small T makes choices nearly deterministic (and uninformative
            about how much better one item is); large T makes them nearly coin flips. Use
            :func:`choice_entropy` to see where a configuration sits.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = check_positive_finite("temperature", temperature)

    def probability(self, u_first: ArrayLike, u_second: ArrayLike) -> NDArray[np.float64]:
        """p(first ≻ second) for utilities of any matching (broadcastable) shapes, as float64.

        Computed as ½(1 + tanh(x/2)) with x = (u_first − u_second)/T, which equals σ(x), never overflows and
        gives exactly ½ when the utilities are equal.
        """
        x = (np.asarray(u_first, dtype=np.float64) - np.asarray(u_second, dtype=np.float64)) / self.temperature
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    def sample(self, u_first: ArrayLike, u_second: ArrayLike, rng: np.random.Generator) -> NDArray[np.float64]:
        """One sampled choice per comparison: 1.0 where first is preferred, else 0.0."""
        return sample_choices(self.probability(u_first, u_second), rng)

    def __repr__(self) -> str:
        return f"BradleyTerry(temperature={self.temperature})"


class UtilityRater:
    """A rater that scores each item with a utility function and prefers by Bradley-Terry on the utilities.

    Args:
        utility: ``utility(contexts, items) -> array (B,)`` of true utilities (the hidden truth).
        temperature: Bradley-Terry temperature T > 0, in utility units.
    """

    def __init__(self, utility: Callable[[Sequence[Any], Sequence[Any]], ArrayLike], temperature: float = 1.0) -> None:
        if not callable(utility):
            raise TypeError(f"utility must be callable as utility(contexts, items), got {utility!r}")
        self.utility_function = utility
        self.bradley_terry = BradleyTerry(temperature)

    def utility(self, contexts: Sequence[Any], items: Sequence[Any]) -> NDArray[np.float64]:
        """True utilities (B,) of B items in their B contexts."""
        values = np.asarray(self.utility_function(contexts, items), dtype=np.float64)
        if values.shape != (len(items),) or not np.isfinite(values).all():
            raise ValueError(f"utility must return {len(items)} finite values, got {values!r}")
        return values

    def p_first(self, contexts: Sequence[Any], first: Sequence[Any], second: Sequence[Any]) -> NDArray[np.float64]:
        """p(first ≻ second) = σ((u(first) − u(second))/T), shape (B,)."""
        return self.bradley_terry.probability(self.utility(contexts, first), self.utility(contexts, second))

    __call__ = p_first


class CallableRater:
    """A user's ``rater(prompts, first, second) -> p_first`` behind the rater interface (``p_first`` only)."""

    def __init__(self, function: Callable[..., ArrayLike]) -> None:
        if not callable(function):
            raise TypeError(f"rater must be callable as rater(prompts, first, second), got {function!r}")
        self.function = function

    def p_first(self, contexts: Sequence[Any], first: Sequence[Any], second: Sequence[Any]) -> NDArray[np.float64]:
        return check_probabilities(self.function(contexts, first, second), source="the rater", size=len(first))

    __call__ = p_first


class HuggingFaceRater:
    """A Hugging Face sequence-classification reward model as a rater: utility = logit 0 of (prompt, response).

    Loads from a local directory or the local Hugging Face cache only (never downloads). Texts are scored in batches
    of ``batch_size``, padded on the right, so a batch gives the same scores as one text at a time.

    Args:
        name_or_path: Directory saved with ``save_pretrained`` or a cached model name.
        temperature: Bradley-Terry temperature on the scores.
        device: Torch device for scoring.
        batch_size: Texts scored per forward pass.
    """

    def __init__(self, name_or_path: str, temperature: float = 1.0, device: str = "cpu", batch_size: int = 256) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(name_or_path, local_files_only=True)
        except (OSError, ValueError) as error:
            raise FileNotFoundError(
                f"cannot load a sequence-classification reward model {name_or_path!r} from a local directory or the "
                f"local Hugging Face cache (offline: nothing is downloaded): {error}"
            ) from error
        self.model = self.model.to(device).eval()
        # Pad on the right when batching: with left padding a model with absolute positions (GPT-2) sees every
        # shorter text shifted and scores it differently than alone. Sequence-classification heads read the first
        # token (encoders) or the last non-padding token (decoders), which right padding leaves in place.
        self.tokenizer.padding_side = "right"
        self.device = device
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.bradley_terry = BradleyTerry(temperature)

    def at_temperature(self, temperature: float) -> HuggingFaceRater:
        """The same reward model (shared, not loaded again) with another Bradley-Terry temperature."""
        other = copy.copy(self)
        other.bradley_terry = BradleyTerry(temperature)
        return other

    def utility(self, contexts: Sequence[str], items: Sequence[str]) -> NDArray[np.float64]:
        import torch

        scores = []
        with torch.no_grad():
            for start in range(0, len(items), self.batch_size):
                batch = self.tokenizer(
                    list(contexts[start : start + self.batch_size]),
                    list(items[start : start + self.batch_size]),
                    return_tensors="pt", padding=True, truncation=True,
                ).to(self.device)  # fmt: skip
                scores.append(self.model(**batch).logits[:, 0].double().cpu().numpy())
        return np.concatenate(scores)

    def p_first(self, contexts: Sequence[str], first: Sequence[str], second: Sequence[str]) -> NDArray[np.float64]:
        return self.bradley_terry.probability(self.utility(contexts, first), self.utility(contexts, second))

    __call__ = p_first


def check_probabilities(p_first: ArrayLike, source: str = "rater", size: int | None = None) -> NDArray[np.float64]:
    """``p_first`` as a float64 array, or an error naming ``source``, what it returned and what was expected.

    Args:
        p_first: Probabilities: an array (or list, or CPU tensor) of real numbers in [0, 1].
        source: Who produced them, for the error messages (``"the rater"``).
        size: If given, the number of pairs asked about: ``p_first`` must have shape ``(size,)``.

    Raises:
        TypeError: ``p_first`` is not an array of real numbers (strings, None, objects, ragged lists).
        ValueError: ``p_first`` has the wrong shape, or an entry is NaN, infinite or outside [0, 1].
    """
    try:
        raw = np.asarray(p_first)
    except (TypeError, ValueError) as error:  # ragged nested sequences, objects numpy cannot convert
        raise TypeError(
            f"{source} returned p_first={_preview(p_first)} of type {type(p_first).__name__}, which is not an array; "
            "expected an array of probabilities in [0, 1]"
        ) from error
    if raw.dtype.kind not in "biuf":
        raise TypeError(
            f"{source} returned p_first={_preview(p_first)} with dtype {raw.dtype}; expected real numbers "
            "(probabilities in [0, 1]), not strings or objects"
        )
    p = raw.astype(np.float64)
    if size is not None and p.shape != (size,):
        raise ValueError(
            f"{source} returned p_first of shape {p.shape} for {size} pairs; expected one probability per pair, "
            f"shape ({size},)"
        )
    bad = ~np.isfinite(p) | (p < 0.0) | (p > 1.0)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{source} returned p_first={p[index]!r} at index {index}; expected probabilities in [0, 1]")
    return p


def _preview(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sample_choices(p_first: ArrayLike, rng: np.random.Generator) -> NDArray[np.float64]:
    """Sample a choice for each probability: 1.0 (first preferred) with probability ``p_first``, else 0.0.

    Uses one uniform draw per entry from ``rng``, so the same generator state gives the same choices.
    """
    p = check_probabilities(p_first)
    return (rng.random(p.shape) < p).astype(np.float64)


def choice_entropy(p_first: ArrayLike) -> float:
    """Mean binary entropy of the choices, in bits: 1 for coin flips, 0 for deterministic choices."""
    p = np.clip(check_probabilities(p_first), 1e-12, 1.0 - 1e-12)
    return float(np.mean(-(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))))
