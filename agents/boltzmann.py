"""Boltzmann exploration: a ~ softmax(r/τ) under the reward model's mean, b from the same law without a."""

from __future__ import annotations

from typing import Any

import torch

from duelgym._validation import check_positive_finite
from duelgym.agents.candidates import CandidateAgent, RewardModelChoice

__all__ = ["BoltzmannAgent"]

#: τ in the reward model's units: logits r = u/T of the rater's Bradley-Terry law (reward models learn σ(r₁ − r₂)),
#: not utilities. Measured within-context spread (std) of the true logits: LinearDuel-v0 0.45 (‖θ*‖ = 1, T = 1),
#: MatrixDuel-v0 0.33, LLMDuel-v0 0.73 (feedback T = 0.3, 64 candidates, 300 training prompts). So spread/τ is
#: 4.5, 3.3 and 7.3: the best arm is several times likelier than an average one without ignoring the rest
#: (benchmarks/linear_regret.py, measured on the earlier LinearDuel-v0 default: the 32 hypercube vertices in every
#: context); on LLMDuel-v0 a learned model concentrates on the top few candidates.
DEFAULT_TEMPERATURE = 0.1


class BoltzmannAgent(CandidateAgent):
    """First paper's Boltzmann exploration with a point reward model (by default).

    Args:
        temperature: τ > 0, in logit units (see :data:`DEFAULT_TEMPERATURE`); τ → 0 queries the two best
            candidates under the mean utility.
        **kwargs: See :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    default_reward_model: RewardModelChoice = "point"

    def __init__(self, *args: Any, temperature: float = DEFAULT_TEMPERATURE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.temperature = check_positive_finite("temperature", temperature)

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.reward_model.mean_utility(features) / self.temperature  # (B, N)
        first = self._sample(logits)
        rows = torch.arange(logits.shape[0], device=logits.device)
        logits = logits.clone()
        logits[rows, first] = -torch.inf
        return torch.stack([first, self._sample(logits)], dim=1)

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        """One draw per row from softmax(logits) by the Gumbel-max trick (exact, and stable as τ → 0)."""
        uniform = torch.rand(logits.shape, generator=self.generator, dtype=torch.float64).to(logits.device)
        gumbel = -torch.log(-torch.log(uniform.clamp_min(1e-300)))
        return (logits.double() + gumbel).argmax(dim=1)
