"""Information-directed sampling for pairs (Russo & Van Roy 2018; the second paper's pair selection)."""

from __future__ import annotations

from typing import Any, Literal

import torch

from duelgym._validation import check_int
from duelgym.agents.candidates import CandidateAgent
from duelgym.agents.uncertainty import expected_pair_regret, flat_argmax_pairs, mask_diagonal, preference_variance

__all__ = ["InformationDirectedAgent"]

Rule = Literal["ratio", "max_variance"]

#: Floor of the information proxy, so that a pair the particles agree on exactly has a huge, finite ratio.
_MIN_INFORMATION = 1e-12


class InformationDirectedAgent(CandidateAgent):
    """IDS: the pair i ≠ j minimising Δ(i, j)² / I(i, j).

    Estimators, from the M posterior samples r_k: Δ(i, j) = E_k[2 max_n r_k(n) − r_k(i) − r_k(j)], the posterior
    expected strong regret of the pair; I(i, j) = Var_k σ(r_k(i) − r_k(j)), the variance proxy of the
    information the rater's choice carries (as infomax). Deterministic IDS over pairs, not the randomised
    two-point mixture of the original.

    Args:
        rule: ``"ratio"`` (Δ²/I) or ``"max_variance"`` (argmax I: the second paper's rule).
        num_sampled: If set, choose among this many candidates drawn at random per context (the second paper used
            the pairs of 16 sampled responses); ``None`` uses all N.
        **kwargs: See :class:`~duelgym.agents.candidates.CandidateAgent`.
    """

    min_particles = 2

    def __init__(self, *args: Any, rule: Rule = "ratio", num_sampled: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if rule not in ("ratio", "max_variance"):
            raise ValueError(f"rule must be 'ratio' or 'max_variance', got {rule!r}")
        self.rule = rule
        self.num_sampled = None if num_sampled is None else check_int("num_sampled", num_sampled, minimum=2)

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        batch, n = features.shape[:2]
        subset = None
        if self.num_sampled is not None and self.num_sampled < n:
            subset = torch.rand((batch, n), generator=self.generator).argsort(dim=1)[:, : self.num_sampled]
            subset = subset.to(features.device)
            features = features.gather(1, subset[..., None].expand(-1, -1, features.shape[2]))
        samples = self.reward_model.sample_utilities(features)
        information = preference_variance(samples)
        if self.rule == "max_variance":
            scores = information
        else:
            scores = -expected_pair_regret(samples).square() / information.clamp_min(_MIN_INFORMATION)
        pairs = flat_argmax_pairs(mask_diagonal(scores, -torch.inf))
        return pairs if subset is None else subset.gather(1, pairs)
