"""Ensemble epistemic neural network (ENN) with frozen additive priors (DESIGN.md §4; Osband et al. 2018, 2023).

Particle k computes r_k(f) = g_θk(f) + s·p_k(f): g_θk is a trainable MLP, p_k a frozen random MLP (the prior
function) scaled by s. Each g_θk minimises

    L_k(θk) = mean over a minibatch of BT cross-entropy(r_k(f₁) − r_k(f₂), c) + λ_eff ‖θk − θk(init)‖²,

pulled toward its own initialisation, not toward zero, so that particles stay as diverse as their priors and
initialisations where data is silent. λ_eff = λ (``"constant"``) or λ / (comparisons in the buffer)
(``"inverse_data"``: the weight a Gaussian prior has in a posterior over n data points, as oat scales it). The
summed loss Σ_k L_k is minimised by one Adam optimiser, so each particle gets exactly its own gradient.

All M particles live in stacked tensors (:class:`StackedMLP`) and run as one batched computation on CPU or
CUDA. The prior outputs of every stored comparison are computed once, when it enters the buffer, and those of the
latest large input (an evaluation pool scored again after every batch) are kept while the same features come back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from duelgym._validation import check_finite, check_int
from duelgym.agents.reward_models.networks import StackedMLP
from duelgym.agents.reward_models.training import RegularizationSchedule, TrainedRewardModel, TrainingConfig

__all__ = ["ENN", "LARGE_ENN"]

#: Trainable widths: 2 hidden layers as oat (2×128) and enn's testbed (2×50); 64 sits between, cheap on CPU.
DEFAULT_HIDDEN_SIZES = (64, 64)
#: Prior widths: the matched prior of enn (same architecture as the trainable part).
DEFAULT_PRIOR_HIDDEN_SIZES = (64, 64)
#: s, in logit units (the model learns r = u/T, the rater's Bradley-Terry logits). Measured within-context spread of the
#: particles' prior outputs at s = 10: 0.35 on LinearDuel-v0 arms against a true logit spread of 0.45 (‖θ*‖ = 1, T = 1),
#: 0.36 on LLMDuel-v0 candidates against 0.73 (feedback T = 0.3): about right on the synthetic envs and 2× too narrow on
#: LLMDuel-v0 (the spread grows linearly with s). Joint-NLL excess over Laplace after 128 / 512 / 2,048 comparisons
#: (benchmarks/reward_model_defaults.py, 20 steps, constant λ = 0.01; rerun with the present code): s = 1 0.040 / 0.049
#: / 0.018, s = 3 0.039 / 0.048 / 0.018, s = 10 0.035 / 0.046 / 0.018, s = 30 0.052 / 0.054 / 0.027; with the default λ
#: = 30/n, 1.61, 1.57, 1.31 and 0.92 at 128 comparisons, 0.36, 0.35, 0.32 and 0.22 at 512, and 0.031, 0.031, 0.028 and
#: 0.036 at 2,048. s = 10 is best with the constant everywhere and, with 30/n, best at 2,048 comparisons (0.028); s = 30
#: gains at 128 and 512 comparisons under the strong penalty and loses at 2,048.
DEFAULT_PRIOR_SCALE = 10.0
#: λ and schedule of the anchored penalty: λ_eff = 30 / (comparisons in the buffer), the weight of a fixed prior in a
#: posterior, so the particles keep concentrating as data grows; the same λ and schedule as the point model's, so that
#: passive with either model and the exploring agents differ only in what the comparison is about. On LLMDuel-v0
#: (feedback T = 0.5, where the exploring agents' pairs are coin flips: 0.96–0.99 bits) the earlier 10 / n let the ENN
#: fit the rater's noise: DTS peaked at 0.77 after 512 queries and fell back to 0.75 by 6,400 (main job, 5 seeds), while
#: with 30 / n it reaches 0.88 after 1,024 and 0.90 after 6,400, and with 100 / n 0.78 and 0.90 (2 seeds; scratch probe
#: of the runner's DTS). By the joint NLL on LinearDuel-v0 (s = 10, 20 steps; excess over Laplace after 128 / 512 /
#: 2,048 comparisons, rerun with the present code) the price of 30/n is paid at small and moderate data (at 512
#: comparisons more than 5× the excess of 10/n): 1.311 / 0.318 / 0.028 against 0.655 / 0.057 / 0.013 for 10/n and 0.035
#: / 0.046 / 0.018 for a constant λ = 0.01 (1/n: 0.022 / 0.105 / 0.068). 10/n had cut ENN-DTS's cumulative regret at T =
#: 4,000 to 1.51×, 1.21×, 1.16× that of Laplace-DTS at ‖θ*‖ = 0.5, 1, 2 (from 1.88×, 1.48×, 1.35× with the constant; 4
#: seeds, benchmarks/linear_regret.py); with 30/n, on the vacdb instance at ‖θ*‖ = 1, ENN-DTS's cumulative regret is
#: 1.99× Laplace-DTS's (1.50× with 10/n; 5 and 6 seeds): the price of the LLMDuel-v0 default on the synthetic benchmark.
DEFAULT_REGULARIZATION = 30.0
DEFAULT_REGULARIZATION_SCHEDULE: RegularizationSchedule = "inverse_data"

#: Inputs of at least this many feature rows keep their prior outputs for reuse (one input at a time): the main job
#: scores its 300 × 64 evaluation candidates (19,200 rows) after every batch, and the frozen priors were half of
#: that cost (default ENN, one thread: 0.15 s per evaluation with the kept outputs against 0.28 s without, beside
#: two other jobs); the agents' own batches (32 × 64 = 2,048 rows) change every time and are not worth a copy. The
#: kept copy (about 9 MB for that pool) is part of the model's state, so checkpoints carry it.
PRIOR_CACHE_ROWS = 4096

#: The large configuration of the second paper (100 priors of 2×256 and 100 trainable MLPs of 2×1024), for GPUs:
#: ``ENN(input_dim, **LARGE_ENN)``.
LARGE_ENN = {"num_particles": 100, "hidden_sizes": (1024, 1024), "prior_hidden_sizes": (256, 256)}


class ENN(TrainedRewardModel):
    """Ensemble ENN reward model: M particles r_k = g_θk + s·p_k, p_k frozen (see the module docstring).

    Args:
        input_dim: Feature size d.
        num_particles: M ≥ 1 (10 by default; :data:`LARGE_ENN` has 100).
        hidden_sizes: Widths of each trainable MLP g_θk.
        prior_hidden_sizes: Widths of each frozen prior MLP p_k.
        prior_scale: s ≥ 0, in logit units (0 removes the priors: an anchored ensemble as in oat).
        regularization: λ ≥ 0 of the anchored penalty.
        regularization_schedule: ``"inverse_data"`` (λ_eff = λ / buffer size, the default) or ``"constant"``
            (λ_eff = λ).
        bootstrap_probability: If set, each comparison enters each particle's loss with this probability
            (a Bernoulli mask drawn once, when the comparison is stored). ``None``: every particle sees all data.
        training: Optimiser, minibatch and buffer settings.
        seed: Seed of the initialisations, priors, masks and minibatches (``None``: nondeterministic).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        dtype: ``torch.float32`` or ``torch.float64``.
    """

    def __init__(
        self,
        input_dim: int,
        num_particles: int = 10,
        *,
        hidden_sizes: Sequence[int] = DEFAULT_HIDDEN_SIZES,
        prior_hidden_sizes: Sequence[int] = DEFAULT_PRIOR_HIDDEN_SIZES,
        prior_scale: float = DEFAULT_PRIOR_SCALE,
        regularization: float = DEFAULT_REGULARIZATION,
        regularization_schedule: RegularizationSchedule = DEFAULT_REGULARIZATION_SCHEDULE,
        bootstrap_probability: float | None = None,
        training: TrainingConfig | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(input_dim, training, seed, device, dtype)
        self.num_particles = check_int("num_particles", num_particles, minimum=1)
        self.prior_scale = check_finite("prior_scale", prior_scale, minimum=0.0)
        self._set_penalty(regularization, regularization_schedule)
        if bootstrap_probability is not None:
            bootstrap_probability = check_finite("bootstrap_probability", bootstrap_probability)
            if not 0.0 < bootstrap_probability <= 1.0:
                raise ValueError(f"bootstrap_probability must be in (0, 1] or None, got {bootstrap_probability}")
        self.bootstrap_probability = bootstrap_probability
        build = {"generator": self.generator, "device": self.device, "dtype": dtype}
        self.network = StackedMLP(self.num_particles, self.input_dim, hidden_sizes, **build)
        self.prior = StackedMLP(self.num_particles, self.input_dim, prior_hidden_sizes, trainable=False, **build)
        self.anchors = [p.detach().clone() for p in self.network.parameters()]
        self._finish_setup(anchors=self.anchors)
        self._prior_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def _store(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        with torch.no_grad():
            prior = self.prior(torch.stack([first, second]))  # (M, 2, n)
        fields = {
            "first": first,
            "second": second,
            "choice": choices,
            "prior_difference": (prior[:, 0] - prior[:, 1]).T,
        }
        if self.bootstrap_probability is not None:
            shape = (first.shape[0], self.num_particles)
            mask = torch.rand(shape, generator=self.generator) < self.bootstrap_probability
            fields["mask"] = mask.to(device=self.device, dtype=self.dtype)
        self.buffer.add(**fields)

    def _utilities(self, features: torch.Tensor) -> torch.Tensor:
        if self.prior_scale == 0.0:
            return self.network(features)
        return self.network(features) + self._scaled_prior(features)

    def _scaled_prior(self, features: torch.Tensor) -> torch.Tensor:
        """s·p_k(features): (..., d) -> (M, ...), without gradients.

        The outputs for the latest input of at least :data:`PRIOR_CACHE_ROWS` rows are kept with a copy of that
        input and returned again whenever equal features come back: the priors never change, so the reuse gives
        exactly what a fresh pass would."""
        large = features.numel() >= PRIOR_CACHE_ROWS * self.input_dim
        cached = self._prior_cache
        if large and cached is not None and torch.equal(cached[0], features):  # False for another shape too
            return cached[1]
        with torch.no_grad():
            outputs = self.prior_scale * self.prior(features)
        if large:
            self._prior_cache = (features.clone(), outputs)
        return outputs

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        trainable = self.network(torch.stack([batch["first"], batch["second"]]))  # (M, 2, B)
        logits = trainable[:, 0] - trainable[:, 1] + self.prior_scale * batch["prior_difference"].T  # (M, B)
        cross_entropy = F.binary_cross_entropy_with_logits(logits, batch["choice"].expand_as(logits), reduction="none")
        if "mask" not in batch:
            return cross_entropy.mean(dim=1).sum()
        # Each particle averages over the comparisons its bootstrap mask keeps (none kept: no gradient).
        mask = batch["mask"].T  # (M, B)
        return ((cross_entropy * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).sum()
