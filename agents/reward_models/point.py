"""Point-estimate reward model: one MLP trained with the Bradley-Terry likelihood (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from duelgym.agents.reward_models.networks import StackedMLP
from duelgym.agents.reward_models.training import RegularizationSchedule, TrainedRewardModel, TrainingConfig

__all__ = ["PointRewardModel"]

#: Hidden widths: the same trunk as the ENN's trainable part, so the two differ only in epistemic machinery.
DEFAULT_HIDDEN_SIZES = (64, 64)
#: λ of the L2 penalty, its schedule and where it pulls (ANCHORS), measured together (benchmarks/passive_learner.py:
#: passive on LLMDuel-v0, 2 seeds, mean win rate after 1,024 / 4,096 / 12,800 / 51,200 queries, ceiling 0.919).
#: The penalty's weight is λ / n, n the comparisons kept: a fixed Gaussian prior over θ − θ_anchor, whose weight in
#: the posterior shrinks as data grows (the ENN's schedule). A constant weight keeps its pull for good and serves
#: worse the longer passive runs: λ = 2e-2 (the previous default) 0.80 / 0.85 / 0.83 / 0.80 at feedback T = 0.3,
#: falling from 0.87 to 0.70 on one seed. At T = 0.3: λ = 20 0.78 / 0.88 / 0.87 / 0.91, 50 0.54 / 0.88 / 0.91 /
#: 0.91, 100 0.50 / 0.67 / 0.89 / 0.91. At T = 0.5 (the env's default): 10 0.60 / 0.57 / 0.68 / 0.78 (fits the
#: noise: training cross-entropy 0.594 nats against a floor of 0.655), 20 0.65 / 0.82 / 0.80 / 0.88, **30 0.52 /
#: 0.87 / 0.86 / 0.90**, 50 0.50 / 0.84 / 0.88 / 0.91. At the default noise λ = 30 is ahead of 50 up to 4,096
#: queries (0.68 against 0.54 after 2,048) and within 0.02 of it after; 20 and 10 fall behind from 4,096 on.
DEFAULT_REGULARIZATION = 30.0
DEFAULT_REGULARIZATION_SCHEDULE: RegularizationSchedule = "inverse_data"
#: Where the penalty pulls the weights θ = (hidden layers, output layer):
#:   ``"features"`` (the default): the hidden layers toward their initialisation θ₀ (the random features of the
#:   initial network), the output layer toward 0, so the utility at the anchor is 0;
#:   ``"initialization"``: every layer toward θ₀ (the ENN's form with one network and no prior), which keeps the
#:   initial network's random utility as a bias the data must overcome (vacdb's near-tied arms show it);
#:   ``"zero"``: plain weight decay λ‖θ‖². On weak signals it kills the ReLU network for good (a constant utility,
#:   training cross-entropy ln 2): passive on LLMDuel-v0 at feedback T = 1.0 peaked at 0.91 after 3,200 queries and
#:   sat at 0.50 from about 9,600 on, and Boltzmann's model collapsed on 2 of 6 vacdb seeds.
ANCHORS = ("features", "initialization", "zero")


class PointRewardModel(TrainedRewardModel):
    """r_θ(f) = MLP_θ(f); loss = BT cross-entropy on observed choices + (λ / n)‖θ − θ_anchor‖² (n comparisons kept).

    The mean cross-entropy over n comparisons plus (λ/n)‖θ − θ_anchor‖² is 1/n times the negative log posterior
    under a Gaussian prior θ ~ N(θ_anchor, I/(2λ)): a MAP estimate (DESIGN.md §4), as each ENN particle is.

    The cross-entropy of a comparison with choice c is −[c log σ(r(f₁) − r(f₂)) + (1 − c) log σ(r(f₂) − r(f₁))],
    averaged over a minibatch from the replay buffer (schedule in :class:`TrainingConfig`).

    Args:
        input_dim: Feature size d.
        hidden_sizes: MLP widths; ``()`` gives a linear utility θᵀf + b.
        regularization: λ ≥ 0 of the L2 penalty on all weights and biases.
        regularization_schedule: ``"inverse_data"`` (the penalty's weight is λ / comparisons in the buffer; the
            default) or ``"constant"`` (λ).
        anchor: θ_anchor (:data:`ANCHORS`): ``"features"`` (θ₀, the network's weights when built, for the hidden
            layers and 0 for the output layer), ``"initialization"`` (θ₀ for every layer) or ``"zero"``.
        training: Optimiser, minibatch and buffer settings.
        seed: Seed of the initialisation and of minibatch sampling (``None``: nondeterministic).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        dtype: ``torch.float32`` or ``torch.float64``.
    """

    num_particles = 1

    def __init__(
        self,
        input_dim: int,
        hidden_sizes: Sequence[int] = DEFAULT_HIDDEN_SIZES,
        regularization: float = DEFAULT_REGULARIZATION,
        anchor: str = "features",
        regularization_schedule: RegularizationSchedule = DEFAULT_REGULARIZATION_SCHEDULE,
        training: TrainingConfig | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(input_dim, training, seed, device, dtype)
        self._set_penalty(regularization, regularization_schedule)
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        self.anchor = anchor
        self.network = StackedMLP(1, self.input_dim, hidden_sizes, self.generator, device=self.device, dtype=dtype)
        #: θ_anchor as a copy of each parameter (``None`` for zero).
        self.anchors = [p.detach().clone() for p in self.network.parameters()] if anchor != "zero" else None
        if anchor == "features":  # the output layer's weight and bias pull toward 0: the utility at the anchor is 0
            self.anchors[-2:] = [torch.zeros_like(p) for p in self.anchors[-2:]]
        self._finish_setup(anchors=self.anchors)

    def _store(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        self.buffer.add(first=first, second=second, choice=choices)

    def _utilities(self, features: torch.Tensor) -> torch.Tensor:
        return self.network(features)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        utilities = self.network(torch.stack([batch["first"], batch["second"]]))[0]  # (2, B)
        return F.binary_cross_entropy_with_logits(utilities[0] - utilities[1], batch["choice"])
