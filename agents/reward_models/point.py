"""Point-estimate reward model: one MLP trained with the Bradley-Terry likelihood (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from duelgym._validation import check_finite
from duelgym.agents.reward_models.networks import StackedMLP
from duelgym.agents.reward_models.training import TrainedRewardModel, TrainingConfig

__all__ = ["PointRewardModel"]

#: Hidden widths: the same trunk as the ENN's trainable part, so the two differ only in epistemic machinery.
DEFAULT_HIDDEN_SIZES = (64, 64)
#: λ of the L2 penalty: small, against drift of unused directions; the cosine learning test passes with it.
DEFAULT_REGULARIZATION = 1e-4


class PointRewardModel(TrainedRewardModel):
    """r_θ(f) = MLP_θ(f); loss = BT cross-entropy on observed choices + λ‖θ‖².

    The cross-entropy of a comparison with choice c is −[c log σ(r(f₁) − r(f₂)) + (1 − c) log σ(r(f₂) − r(f₁))],
    averaged over a minibatch from the replay buffer (schedule in :class:`TrainingConfig`).

    Args:
        input_dim: Feature size d.
        hidden_sizes: MLP widths; ``()`` gives a linear utility θᵀf + b.
        regularization: λ ≥ 0 of the L2 penalty on all weights and biases.
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
        training: TrainingConfig | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(input_dim, training, seed, device, dtype)
        self.regularization = check_finite("regularization", regularization, minimum=0.0)
        self.network = StackedMLP(1, self.input_dim, hidden_sizes, self.generator, device=self.device, dtype=dtype)
        self._finish_setup(anchors=None)

    def _store(self, first: torch.Tensor, second: torch.Tensor, choices: torch.Tensor) -> None:
        self.buffer.add(first=first, second=second, choice=choices)

    def _utilities(self, features: torch.Tensor) -> torch.Tensor:
        return self.network(features)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        utilities = self.network(torch.stack([batch["first"], batch["second"]]))[0]  # (2, B)
        return F.binary_cross_entropy_with_logits(utilities[0] - utilities[1], batch["choice"])

    def _penalty_weight(self) -> float:
        return self.regularization
