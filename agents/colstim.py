"""CoLSTIM (Bengs, Saha & Hüllermeier, "Stochastic contextual dueling bandits under linear stochastic transitivity
models", ICML 2022)."""

from __future__ import annotations

import math

import torch

from duelgym.agents.linear_confidence import LinearConfidenceAgent

__all__ = ["CoLSTIMAgent"]

#: Keeps uniform draws inside (0, 1) so that the Gumbel transform −log(−log u) stays finite.
_UNIFORM_FLOOR = 1e-12


class CoLSTIMAgent(LinearConfidenceAgent):
    """CoLSTIM: the first arm imitates the rater's choice under perturbed utilities, the second is its most
    optimistic challenger.

    Rule (Bengs et al. 2022, the CoLSTIM algorithm, with the settings of VACDB's implementation), in round t (the
    ``comparisons_seen + 1``-th query; the contexts of one batch share t), θ̂ the logistic MLE and
    V = λI + Σ zzᵀ (see :mod:`duelgym.agents.linear_confidence`):

        ε_i ~ Gumbel(0, 1) i.i.d. per arm; with probability p_t = min(1, (d/√t) ln(dT)) one draw ε_1 for all arms
        ε̃_i = clip(ε_i, −C, C),  C = √(d ln T)
        first  = argmax_i θ̂ᵀx_i + ε̃_i ‖x_i‖_{V⁻¹}
        second = argmax_{j ≠ first} θ̂ᵀx_j + β‖x_j − x_first‖_{V⁻¹}

    Gumbel perturbations imitate the logistic link: the difference of two independent Gumbel(0, 1) variables is
    standard logistic, so under the true θ the first arm wins a perturbed comparison as often as the rater would
    choose it. The shared draw with probability p_t (which is 1 for the first (d ln(dT))² ≈ 2,450 rounds at d = 5,
    T = 4,000) follows VACDB's code. The second arm may not equal the first (duelgym's agents query two distinct
    arms; VACDB's version allows it). Randomised through the agent's seed.

    Args:
        **kwargs: See :class:`~duelgym.agents.linear_confidence.LinearConfidenceAgent` (β, T, λ) and
            :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    @property
    def perturbation_bound(self) -> float:
        """C = √(d ln T), the clip of the Gumbel perturbations."""
        return math.sqrt(self.feature_dim * math.log(self.horizon))

    def shared_probability(self, round_index: int) -> float:
        """p_t = min(1, (d/√t) ln(dT)): the probability that all arms of a context share one perturbation."""
        return min(1.0, self.feature_dim / math.sqrt(round_index) * math.log(self.feature_dim * self.horizon))

    def perturbations(self, batch: int, n: int) -> torch.Tensor:
        """ε̃ for ``batch`` contexts of ``n`` arms, float64 (B, N), on the agent's device."""
        uniform = torch.rand((batch, n), generator=self.generator, dtype=torch.float64)
        gumbel = -torch.log(-torch.log(uniform.clamp(_UNIFORM_FLOOR, 1.0 - _UNIFORM_FLOOR)))
        shared = torch.rand((batch, 1), generator=self.generator, dtype=torch.float64)
        shared = shared < self.shared_probability(self.comparisons_seen + 1)
        epsilon = torch.where(shared, gumbel[:, :1], gumbel)
        bound = self.perturbation_bound
        return epsilon.clamp(-bound, bound).to(self.device)

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        batch, n = features.shape[:2]
        utilities = self.estimated_utilities(features)
        first = (utilities + self.perturbations(batch, n) * self.arm_widths(features)).argmax(dim=1)
        rows = torch.arange(batch, device=features.device)
        challenge = utilities + self.confidence_width * self.pair_widths(features)[rows, first]
        challenge[rows, first] = -torch.inf
        return torch.stack([first, challenge.argmax(dim=1)], dim=1)
