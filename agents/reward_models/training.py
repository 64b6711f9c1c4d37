"""What the point and ENN reward models share: a replay buffer (all comparisons, or a FIFO) and the training schedule.

Schedule: every :meth:`update` adds its batch of comparisons to the buffer and then takes
``steps_per_update`` Adam steps, each on a minibatch of ``minibatch_size`` comparisons drawn uniformly without
replacement from the buffer (the whole buffer while it is smaller).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from duelgym._devices import resolve_device
from duelgym._validation import check_finite, check_int, check_positive_finite
from duelgym.agents.base import ArrayLike
from duelgym.agents.reward_models._inputs import as_comparisons, as_features

__all__ = ["REGULARIZATION_SCHEDULES", "RegularizationSchedule", "ReplayBuffer", "TrainedRewardModel", "TrainingConfig"]

RegularizationSchedule = Literal["constant", "inverse_data"]
#: How the penalty's weight w follows the data: ``"constant"`` (w = λ) or ``"inverse_data"`` (w = λ / comparisons in
#: the buffer: the weight a fixed Gaussian prior has in a posterior over n comparisons, as oat scales it).
REGULARIZATION_SCHEDULES: tuple[RegularizationSchedule, ...] = ("constant", "inverse_data")


@dataclass(frozen=True)
class TrainingConfig:
    """How a reward model trains on its replay buffer.

    Defaults, each with its reason; the measurements come from ``benchmarks/reward_model_defaults.py``: joint NLL
    (dyadic sampling, κ = 2, τ = 10, labels from the true p_first; nats per group of 10) in excess of the Laplace
    reference on LinearDuel-v0, ‖θ*‖ = 3, 3 seeds, after 128 / 512 / 2,048 comparisons.
    """

    #: Adam learning rate: oat's ``rm_lr`` and enn's demo value (REFERENCES.md §1, §2). 3e-3 with 10 steps was no
    #: better overall with the default penalty (30/n): point model 1.995 / 0.607 / 0.115 and default ENN 1.274 /
    #: 0.310 / 0.059, against 1.985 / 0.722 / 0.060 and 1.311 / 0.318 / 0.028 at 1e-3 with 20 steps (both end worse
    #: at 3e-3).
    learning_rate: float = 1e-3
    #: Adam steps per update of 32 queries: oat's 5 learned too slowly (excess after 512 comparisons 1.639 for the
    #: point model and 0.704 for the default ENN, against 0.722 and 0.318 with 20 steps); 20 costs 4× the time of 5.
    steps_per_update: int = 20
    #: Comparisons per Adam step: twice the 32 queries of a batch, so each step mixes new and replayed data.
    minibatch_size: int = 64
    #: Comparisons kept for replay; ``None`` keeps every one (the default). The first paper's FIFO of 3,200
    #: (REFERENCES.md §3) starved passive on LLMDuel-v0: with it the point model stayed at a 0.50–0.53 win rate from
    #: 3,200 to 51,200 queries, while keeping everything it climbed to 0.66 (notes/llmduel-audit.md). With a fixed
    #: number of steps per batch the training compute grows with the data. An int gives the FIFO.
    buffer_capacity: int | None = None

    def __post_init__(self) -> None:
        check_positive_finite("learning_rate", self.learning_rate)
        check_int("steps_per_update", self.steps_per_update, minimum=1)
        check_int("minibatch_size", self.minibatch_size, minimum=1)
        if self.buffer_capacity is not None:
            check_int("buffer_capacity", self.buffer_capacity, minimum=1)


class ReplayBuffer:
    """Comparisons stored as named tensors with a shared leading dimension: all of them, or the latest ``capacity``.

    Args:
        capacity: ``None`` keeps every comparison (storage doubles as it fills); an int is the maximum number kept,
            the oldest overwritten first (a FIFO ring).
        generator: CPU generator for minibatch indices (so sampling is reproducible on any device).

    Storage is allocated on the first :meth:`add`, on the device and with the dtype of the tensors given.
    Memory: (comparisons kept, at most twice that while growing) × (sum of the per-comparison field sizes)
    elements; 51,200 LLMDuel-v0 comparisons of two 104-dim float32 features take about 43 MB.
    """

    def __init__(self, capacity: int | None, generator: torch.Generator) -> None:
        self.capacity = None if capacity is None else check_int("capacity", capacity, minimum=1)
        self.generator = generator
        self._fields: dict[str, torch.Tensor] = {}
        self._size = 0
        self._next = 0

    def __len__(self) -> int:
        return self._size

    def add(self, **fields: torch.Tensor) -> None:
        """Append n comparisons: every field is a tensor (n, ...) with the same n and, after the first call,
        the same trailing shape as before. Beyond capacity the oldest comparisons are dropped."""
        sizes = {name: value.shape[0] for name, value in fields.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"every field must hold the same number of comparisons, got {sizes}")
        if self._fields and set(fields) != set(self._fields):
            raise ValueError(f"fields must be {sorted(self._fields)}, got {sorted(fields)}")
        n = next(iter(sizes.values()))
        if self.capacity is None:
            self._grow(fields, self._size + n)
            for name, value in fields.items():
                self._fields[name][self._size : self._size + n] = value
            self._size += n
            return
        if not self._fields:
            self._fields = {
                name: torch.empty((self.capacity, *value.shape[1:]), dtype=value.dtype, device=value.device)
                for name, value in fields.items()
            }
        keep = min(n, self.capacity)
        slots = (self._next + torch.arange(keep)) % self.capacity
        for name, value in fields.items():
            self._fields[name][slots.to(value.device)] = value[n - keep :]
        self._next = (self._next + keep) % self.capacity
        self._size = min(self._size + keep, self.capacity)

    def _grow(self, fields: dict[str, torch.Tensor], needed: int) -> None:
        """Make room for ``needed`` comparisons, doubling the storage (amortised O(1) per comparison)."""
        allocated = next(iter(self._fields.values())).shape[0] if self._fields else 0
        if needed <= allocated:
            return
        rows = max(needed, 2 * allocated, 256)
        grown = {}
        for name, value in fields.items():
            storage = torch.empty((rows, *value.shape[1:]), dtype=value.dtype, device=value.device)
            if self._fields:
                storage[: self._size] = self._fields[name][: self._size]
            grown[name] = storage
        self._fields = grown

    def sample(self, size: int) -> dict[str, torch.Tensor]:
        """``size`` comparisons drawn uniformly without replacement (all of them if fewer are stored)."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        order = torch.randperm(self._size, generator=self.generator)[:size]
        device = next(iter(self._fields.values())).device
        index = order.to(device)
        return {name: value[index] for name, value in self._fields.items()}


class TrainedRewardModel:
    """Base of the reward models trained by Adam on a replay buffer (point and ENN).

    Both minimise a Bradley-Terry cross-entropy plus an L2 penalty w·‖θ − θ_anchor‖² per member network (for the
    point model the hidden layers' initialisation and 0 for the output layer by default, see its ``anchor``; each
    particle's initialisation for the ENN). The cross-entropy goes through autograd; the penalty's gradient
    2w(θ − θ_anchor) is added to the parameters' gradients directly with fused ``torch._foreach`` operations,
    which gives the same gradient at a fraction of the cost for large ensembles.

    Subclasses build ``self.network`` and call :meth:`_finish_setup`, then define what a stored comparison holds
    (:meth:`_store`), the utilities with gradients (:meth:`_utilities`, (M, ...)), the minibatch cross-entropy
    (:meth:`_loss`); the penalty's λ and schedule are set with :meth:`_set_penalty`.
    """

    num_particles: int
    network: torch.nn.Module

    def __init__(
        self,
        input_dim: int,
        training: TrainingConfig | None,
        seed: int | None,
        device: str | torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.input_dim = check_int("input_dim", input_dim, minimum=1)
        if training is not None and not isinstance(training, TrainingConfig):
            raise TypeError(f"training must be a TrainingConfig or None, got {type(training).__name__}")
        self.training = training or TrainingConfig()
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.device = resolve_device(device)
        self.dtype = dtype
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(check_int("seed", seed, minimum=0))
        self.buffer = ReplayBuffer(self.training.buffer_capacity, self.generator)
        self.updates = 0
        self.comparisons_seen = 0

    def _set_penalty(self, regularization: float, schedule: RegularizationSchedule) -> None:
        """λ ≥ 0 of the penalty and its schedule (:data:`REGULARIZATION_SCHEDULES`)."""
        self.regularization = check_finite("regularization", regularization, minimum=0.0)
        if schedule not in REGULARIZATION_SCHEDULES:
            raise ValueError(f"regularization_schedule must be one of {REGULARIZATION_SCHEDULES}, got {schedule!r}")
        self.regularization_schedule = schedule

    def _finish_setup(self, anchors: list[torch.Tensor] | None) -> None:
        """Register the penalty's anchors (``None``: zero) and build the fused Adam optimiser."""
        self._parameters = list(self.network.parameters())
        self._anchors = anchors
        self.optimizer = torch.optim.Adam(self._parameters, lr=self.training.learning_rate, fused=True)

    def update(self, features_first: ArrayLike, features_second: ArrayLike, choices: ArrayLike) -> dict[str, float]:
        """Add n comparisons ((n, d), (n, d), (n,) with choice 1.0 = first preferred) and train on the buffer.

        Takes ``training.steps_per_update`` Adam steps on minibatches from the buffer. Returns the last step's
        ``cross_entropy`` (nats per comparison, averaged over the M member networks, so that the point model and
        the ENN report on one scale: ln 2 ≈ 0.69 for utilities that are all equal), the ``regularization``
        penalty (mean over members) after the update, ``buffer_size`` and ``comparisons_seen``. A non-finite loss
        stops training before the parameters change, with a ``FloatingPointError`` naming the update and its
        comparisons.
        """
        first, second, choices = as_comparisons(
            features_first, features_second, choices, self.input_dim, self.device, self.dtype
        )
        self.updates += 1
        start = self.comparisons_seen
        self.comparisons_seen += first.shape[0]
        self._store(first, second, choices)
        context = f"{type(self).__name__} update {self.updates} (comparisons {start}..{self.comparisons_seen - 1})"
        steps = self.training.steps_per_update
        for step in range(1, steps + 1):
            loss = self._loss(self.buffer.sample(self.training.minibatch_size))
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{context}: the loss is {loss.item()} at Adam step {step} of {steps}; the parameters were left "
                    "as they were before this step (check the features' scale and the learning rate)"
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._add_penalty_gradients()
            self.optimizer.step()
        return {
            "cross_entropy": loss.item() / self.num_particles,
            "regularization": self._penalty(),
            "buffer_size": float(len(self.buffer)),
            "comparisons_seen": float(self.comparisons_seen),
        }

    def _anchor_offsets(self) -> list[torch.Tensor]:
        with torch.no_grad():
            return self._parameters if self._anchors is None else torch._foreach_sub(self._parameters, self._anchors)

    def _add_penalty_gradients(self) -> None:
        """Add ∇ w‖θ − θ_anchor‖² = 2w(θ − θ_anchor) to every parameter's gradient."""
        weight = self._penalty_weight()
        if weight > 0:
            gradients = [p.grad for p in self._parameters]
            torch._foreach_add_(gradients, self._anchor_offsets(), alpha=2.0 * weight)  # type: ignore[arg-type]

    def _penalty(self) -> float:
        """w‖θ − θ_anchor‖², averaged over the M member networks."""
        squares = sum(norm.item() ** 2 for norm in torch._foreach_norm(self._anchor_offsets()))
        return self._penalty_weight() * squares / self.num_particles

    def sample_utilities(self, features: ArrayLike) -> torch.Tensor:
        """Utilities under the model's M posterior samples: features (..., d) -> (M, ...), without gradients."""
        with torch.no_grad():
            return self._utilities(as_features(features, self.input_dim, self.device, self.dtype))

    def mean_utility(self, features: ArrayLike) -> torch.Tensor:
        """Mean utility over the M samples: features (..., d) -> (...), without gradients."""
        return self.sample_utilities(features).mean(dim=0)

    def _store(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        raise NotImplementedError

    def _utilities(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Bradley-Terry cross-entropy of a minibatch, summed over member networks (the penalty is separate)."""
        raise NotImplementedError

    def _penalty_weight(self) -> float:
        """w of the penalty now: λ, or λ / (comparisons in the buffer) on the ``"inverse_data"`` schedule."""
        if self.regularization_schedule == "inverse_data":
            return self.regularization / max(1, len(self.buffer))
        return self.regularization
