"""Double Thompson sampling (Wu & Liu 2016; the first paper's best agent): two arms, each the argmax of a sample."""

from __future__ import annotations

from typing import Any, Literal

import torch

from duelgym._validation import check_int
from duelgym.agents.candidates import CandidateAgent

__all__ = ["DoubleThompsonAgent", "thompson_first"]

Fallback = Literal["uniform", "second_best"]


def thompson_first(samples: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per context, a random order of the M particles and the argmax under the first of them.

    Args:
        samples: Utilities (M, B, N).
        generator: CPU generator for the orders.

    Returns:
        ``(order, choices)``: particle orders (B, M) and the argmax candidate of each ordered particle (B, M); the
        first arm of a Thompson-sampling pair is ``choices[:, 0]``.
    """
    m, b, _ = samples.shape
    order = torch.rand((b, m), generator=generator).argsort(dim=1).to(samples.device)
    return order, samples.argmax(dim=-1).T.gather(1, order)


class DoubleThompsonAgent(CandidateAgent):
    """DTS: first = argmax under one sampled particle; second = argmax under the next sampled particles, tried in
    random order until one differs from the first (at most ``max_tries``), else the fallback.

    Once the posterior concentrates every particle agrees on the best arm and the fallback picks the second arm,
    so it decides the regret of late queries: ``"uniform"`` (the paper) draws it uniformly among the others;
    ``"second_best"`` takes the best remaining arm under the second sample, which keeps exploring near the top.

    Args:
        max_tries: Particles tried for a second arm that differs from the first (default: all M − 1 others).
        fallback: ``"uniform"`` or ``"second_best"`` (default: lower regret in benchmarks/linear_regret.py on the
            earlier LinearDuel-v0 default, all 32 hypercube vertices in every context, batches of 32; on the vacdb
            instance, one query per round, Laplace-DTS does better with ``"uniform"``: see the README).
        **kwargs: See :class:`~duelgym.agents.candidates.CandidateAgent`; the reward model needs M ≥ 2 samples.
    """

    min_particles = 2

    def __init__(
        self, *args: Any, max_tries: int | None = None, fallback: Fallback = "second_best", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_tries = (
            self.reward_model.num_particles - 1 if max_tries is None else check_int("max_tries", max_tries, minimum=1)
        )
        if fallback not in ("uniform", "second_best"):
            raise ValueError(f"fallback must be 'uniform' or 'second_best', got {fallback!r}")
        self.fallback = fallback

    def pairs(self, features: torch.Tensor) -> torch.Tensor:
        samples = self.reward_model.sample_utilities(features)  # (M, B, N)
        order, choices = thompson_first(samples, self.generator)
        first = choices[:, 0]
        tries = choices[:, 1 : 1 + self.max_tries]
        differs = tries != first[:, None]
        second = tries.gather(1, differs.to(torch.uint8).argmax(dim=1, keepdim=True))[:, 0]
        batch, n = first.shape[0], features.shape[1]
        rows = torch.arange(batch, device=features.device)
        if self.fallback == "uniform":
            fallback = (first + 1 + self._random_integers(n - 1, (batch,))) % n
        else:
            second_sample = samples[order[:, 1], rows].clone()  # (B, N): the second particle of each row
            second_sample[rows, first] = -torch.inf
            fallback = second_sample.argmax(dim=1)
        return torch.stack([first, torch.where(differs.any(dim=1), second, fallback)], dim=1)
