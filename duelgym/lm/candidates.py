"""A cache of N candidate responses per prompt, sampled once from a frozen LM with their features."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Sequence

import numpy as np
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
        self._sample_here(self._missing(prompts))
        return [self._texts[p] for p in prompts], torch.stack([self._features[p] for p in prompts])

    def fill(self, prompts: Sequence[str], jobs: int = 1) -> None:
        """Sample the candidates of every prompt not cached yet, split over ``jobs`` forked processes with one
        torch thread each (on a CPU LM; a CUDA LM samples in this process). Each prompt is sampled with its own
        seed, so the cache ends up exactly as :meth:`get` would fill it, for any ``jobs``. Sampling 64 candidates
        costs 0.075–0.1 s per prompt with the embedded LM on one core (2,000 prompts: 2.5–3.5 minutes; 200 took
        15.1 s with one job and 7.1 s with two)."""
        jobs = check_int("jobs", jobs, minimum=1)
        missing = self._missing(prompts)
        if jobs == 1 or len(missing) < 2 or self.lm.device.type != "cpu":
            self._sample_here(missing)
            return
        global _FORKED
        _FORKED = self
        try:
            with multiprocessing.get_context("fork").Pool(
                jobs, initializer=torch.set_num_threads, initargs=(1,)
            ) as pool:
                sampled = pool.map(_sample_in_worker, missing, chunksize=max(1, len(missing) // (8 * jobs)))
        finally:
            _FORKED = None
        for prompt, (texts, features) in zip(missing, sampled, strict=True):
            self._texts[prompt], self._features[prompt] = texts, torch.from_numpy(features)

    def _sample_here(self, prompts: list[str]) -> None:
        """Sample and cache ``prompts`` (none cached yet) one after the other in this process."""
        for prompt in prompts:
            self._texts[prompt], self._features[prompt] = self._sample(prompt)

    def _missing(self, prompts: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(p for p in prompts if p not in self._texts))

    def _sample(self, prompt: str) -> tuple[list[str], torch.Tensor]:
        """The N candidates of one prompt, sampled with the prompt's own seed: texts and features (N, d)."""
        digest = int.from_bytes(hashlib.sha256(f"{self.seed}:{prompt}".encode()).digest()[:4], "little")
        texts, features = self.lm.sample_with_features(
            [prompt], self.num_candidates, digest, self.temperature, self.top_k
        )
        return texts[0], features[0]


#: The pool a forked :meth:`CandidatePool.fill` worker samples from (inherited from the parent).
_FORKED: CandidatePool | None = None


def _sample_in_worker(prompt: str) -> tuple[list[str], np.ndarray]:
    assert _FORKED is not None
    texts, features = _FORKED._sample(prompt)
    return texts, features.numpy()
