"""Posterior disagreement measures over M utility samples (particles), vectorised over contexts and pairs."""

from __future__ import annotations

import torch

__all__ = ["difference_variance", "expected_pair_regret", "flat_argmax_pairs", "mask_diagonal", "preference_variance"]


def preference_variance(samples: torch.Tensor) -> torch.Tensor:
    """Var_k σ(r_k(i) − r_k(j)) for every pair: samples (M, B, N) -> (B, N, N), zero on the diagonal.

    The variance across particles of the predicted preference probability: the information proxy of infomax and
    IDS (first paper, "infomax"; 0 for a point model, M = 1).
    """
    probabilities = torch.sigmoid(samples[..., :, None] - samples[..., None, :])  # (M, B, N, N)
    return probabilities.var(dim=0, unbiased=False)


def difference_variance(samples: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Var_k [r_k(first) − r_k(j)] for each candidate j: samples (M, B, N), first (B,) -> (B, N) (oat's BAI-TS)."""
    chosen = samples.gather(2, first.view(1, -1, 1).expand(samples.shape[0], -1, 1))  # (M, B, 1)
    return (chosen - samples).var(dim=0, unbiased=False)


def expected_pair_regret(samples: torch.Tensor) -> torch.Tensor:
    """E_k[2 max_n r_k(n) − r_k(i) − r_k(j)]: the posterior expected strong regret of every pair, (B, N, N)."""
    best = samples.max(dim=-1, keepdim=True).values  # (M, B, 1)
    gaps = best - samples  # (M, B, N)
    return (gaps[..., :, None] + gaps[..., None, :]).mean(dim=0)


def mask_diagonal(scores: torch.Tensor, value: float) -> torch.Tensor:
    """``scores`` (B, N, N) with the diagonal (i = j pairs) set to ``value``."""
    eye = torch.eye(scores.shape[-1], dtype=torch.bool, device=scores.device)
    return scores.masked_fill(eye, value)


def flat_argmax_pairs(scores: torch.Tensor) -> torch.Tensor:
    """The (i, j) of the largest entry of each (N, N) score matrix: scores (B, N, N) -> int64 (B, 2)."""
    n = scores.shape[-1]
    flat = scores.reshape(scores.shape[0], -1).argmax(dim=1)
    return torch.stack([flat // n, flat % n], dim=1)
