"""A cache of N candidate responses per prompt, sampled once from a frozen LM with their features."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

from duelgym._validation import check_int
from duelgym.lm.model import LanguageModel

__all__ = ["CandidatePool"]


class CandidatePool:
    """Samples ``num_candidates`` responses for each new prompt once, and returns them from a cache afterwards.

    The fixed-LM mode of the first paper: an agent picks pairs among these candidates and serves the best of them
    under its reward model. Each prompt is sampled with its own seed, derived from the pool's seed and a hash of
    the prompt, so its candidates do not depend on which prompts were asked for before or beside it (a resumed run
    sees the same candidates as an uninterrupted one). One generation call per prompt costs about 20% more than
    batching prompts together (benchmarks/env_throughput.py).

    Memory: per prompt, ``num_candidates × feature_dim`` float32 features (64 × 104 × 4 B ≈ 27 KB for the embedded
    LM) plus the texts; 2,000 prompts take about 60 MB.

    Args:
        lm: The frozen base LM.
        num_candidates: N responses per prompt (default 64).
        seed: Seed of the sampling.
        temperature, top_k: Sampling settings of the LM.
    """

    def __init__(
        self,
        lm: LanguageModel,
        num_candidates: int = 64,
        seed: int = 0,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> None:
        self.lm = lm
        self.num_candidates = check_int("num_candidates", num_candidates, minimum=2)
        self.seed = check_int("seed", seed, minimum=0)
        self.temperature = temperature
        self.top_k = top_k
        self._texts: dict[str, list[str]] = {}
        self._features: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, prompts: Sequence[str]) -> tuple[list[list[str]], torch.Tensor]:
        """Candidates of each prompt: texts [P][N] and features (P, N, feature_dim) on the LM's device."""
        for prompt in dict.fromkeys(p for p in prompts if p not in self._texts):
            digest = int.from_bytes(hashlib.sha256(f"{self.seed}:{prompt}".encode()).digest()[:4], "little")
            texts, features = self.lm.sample_with_features(
                [prompt], self.num_candidates, digest, self.temperature, self.top_k
            )
            self._texts[prompt] = texts[0]
            self._features[prompt] = features[0]
        return [self._texts[p] for p in prompts], torch.stack([self._features[p] for p in prompts])
