"""Which LM features carry the utility signal: a point reward model on passive comparisons, three feature sets.

    python benchmarks/llm_features.py [--seeds 2]

Trains the default point reward model on random pairs of cached candidates of LLMDuel-v0 train prompts, using
(a) the mean final hidden state only, (b) the eight token log-probability statistics only, (c) both (the default
features), and prints the best-of-64 win rate against the base greedy response on the 300 eval prompts after 800
and 3,200 comparisons (mean over seeds).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import duelgym
from duelgym.agents.reward_models import PointRewardModel
from duelgym.lm import NUM_STATISTICS, load
from duelgym.lm.candidates import CandidatePool
from duelgym.oracle import BradleyTerry

CHECKPOINTS = (800, 3200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    evaluation = duelgym.make("LLMDuel-v0", split="eval").unwrapped
    training = duelgym.make("LLMDuel-v0").unwrapped
    lm = load(evaluation.base_lm)
    rater = evaluation.rater
    eval_texts, eval_features = CandidatePool(lm, 64, seed=12345).get(evaluation.prompts)
    greedy_utilities = rater.utility(evaluation.prompts, lm.greedy(evaluation.prompts))
    eval_utilities = np.stack(
        [rater.utility([p] * 64, row) for p, row in zip(evaluation.prompts, eval_texts, strict=True)]
    )
    wins = BradleyTerry(0.1).probability(eval_utilities, greedy_utilities[:, None])
    pool = CandidatePool(lm, 64, seed=0)
    hidden = lm.feature_dim - NUM_STATISTICS
    subsets = {
        "hidden state only": slice(0, hidden),
        "log-prob statistics only": slice(hidden, None),
        "both": slice(None),
    }
    print(f"best-of-64 win rate of a point reward model, passive comparisons, {args.seeds} seeds")
    print(f"  {'features':<28}" + "".join(f"{c:>10,}" for c in CHECKPOINTS))
    for name, columns in subsets.items():
        results = np.zeros((args.seeds, len(CHECKPOINTS)))
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            dim = eval_features[..., columns].shape[-1]
            model, seen = PointRewardModel(dim, seed=seed), 0
            for i, checkpoint in enumerate(CHECKPOINTS):
                while seen < checkpoint:
                    prompts = [training.prompts[j] for j in rng.integers(len(training.prompts), size=32)]
                    texts, features = pool.get(prompts)
                    first = rng.integers(64, size=32)
                    second = (first + rng.integers(1, 64, size=32)) % 64
                    rows = np.arange(32)
                    p = rater.p_first(prompts, [texts[r][a] for r, a in zip(rows, first, strict=True)],
                                      [texts[r][b] for r, b in zip(rows, second, strict=True)])  # fmt: skip
                    choices = (rng.random(32) < p).astype(np.float64)
                    features = features[..., columns]
                    model.update(features[rows, first], features[rows, second], choices)
                    seen += 32
                served = model.mean_utility(eval_features[..., columns]).argmax(dim=1).numpy()
                results[seed, i] = wins[np.arange(len(served)), served].mean()
        print(f"  {name:<28}" + "".join(f"{v:>10.3f}" for v in results.mean(axis=0)), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
