"""The learnable ceiling of LLMDuel-v0: how well can a reward model on the env's features pick the best candidate?

    python benchmarks/llm_ceiling.py [--train-prompts 2000] [--steps 6000] [--lm duelgym/tiny-transforms]
        [--seeds 2] [--threads 2]

Regression, not preference learning: each network is fitted by least squares to the *true* utility of every
candidate of the training pool (``--train-prompts`` train prompts × 64 candidates, centred within each prompt,
since Bradley-Terry comparisons identify utilities only up to a constant per prompt), which no agent ever sees.
What it then serves is the best of the 64 candidates of each of the 300 eval prompts under its prediction. Printed,
as win rates against the base model's greedy response under the env's fixed reference rater (exact
probabilities):

* the true ceiling: best-of-64 by true utility;
* the default reward-model architecture (the point model's and the ENN's 64 × 64 MLP, on the raw features the
  agents see) and a wider MLP (256 × 256, standardised features), mean ± standard error over ``--seeds``
  initialisations, each with its within-prompt R² on the eval candidates and its win rate per task kind.

An agent learning from comparisons can at best approach these; the gap to the true ceiling is what the features
cannot show (issue 11 asks for at most 0.04). ``--lm`` probes another LM's features (a directory saved with
``save_pretrained``, for example one trained by ``python -m duelgym.lm.train_default --out DIR``).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

import duelgym
from duelgym.evaluation import win_probabilities
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool

NUM_CANDIDATES = 64


def pool_utilities(env, pool: CandidatePool) -> tuple[list[list[str]], torch.Tensor, np.ndarray]:
    core = env.unwrapped
    texts, features = pool.get(core.prompts)
    utilities = np.stack(
        [core.eval_rater.utility([p] * len(row), row) for p, row in zip(core.prompts, texts, strict=True)]
    )
    return texts, features.float().cpu(), utilities


def fit(train: torch.Tensor, targets: torch.Tensor, hidden: tuple[int, ...], standardise: bool, steps: int,
        seed: int) -> torch.nn.Module:  # fmt: skip
    """Least squares by Adam (lr 1e-3, minibatches of 512) of an MLP on features (n, d) -> targets (n,)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    mean, scale = (train.mean(0), train.std(0) + 1e-4) if standardise else (0.0, 1.0)
    layers: list[torch.nn.Module] = []
    width = train.shape[1]
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    network = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)
    inputs = (train - mean) / scale
    for _ in range(steps):
        index = torch.randint(len(inputs), (512,), generator=generator)
        loss = ((network(inputs[index])[:, 0] - targets[index]) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    class Standardised(torch.nn.Module):
        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return network((features - mean) / scale)[..., 0]

    return Standardised()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-prompts", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=6000, help="Adam steps of each regression")
    parser.add_argument("--lm", default=None, help="LM whose features to probe (default: the env's base LM)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    train_env = duelgym.make("LLMDuel-v0", num_prompts=args.train_prompts)
    eval_env = duelgym.make("LLMDuel-v0", split="eval")
    lm = load(args.lm or eval_env.unwrapped.base_lm)
    # The runner's pools: seed 0 for training prompts, seed 1 for eval prompts.
    _, train_features, train_utilities = pool_utilities(train_env, CandidatePool(lm, NUM_CANDIDATES, seed=0))
    eval_texts, eval_features, eval_utilities = pool_utilities(eval_env, CandidatePool(lm, NUM_CANDIDATES, seed=1))
    prompts = eval_env.unwrapped.prompts
    greedy = lm.greedy(prompts)
    wins = np.stack(
        [win_probabilities(eval_env, [p] * len(row), row, [g] * len(row))
         for p, row, g in zip(prompts, eval_texts, greedy, strict=True)]
    )  # fmt: skip
    kinds = np.array([p.split(" ", 1)[0] for p in prompts])
    rows = np.arange(len(prompts))
    ceiling = wins[rows, eval_utilities.argmax(axis=1)]
    print(f"LLMDuel-v0 ceiling probe: {args.lm or 'embedded LM'}, {args.train_prompts} train prompts x "
          f"{NUM_CANDIDATES}, {len(prompts)} eval prompts, win rate vs greedy (reference rater)")  # fmt: skip
    per_kind = "  ".join(f"{k} {ceiling[kinds == k].mean():.3f}" for k in sorted(set(kinds)))
    print(f"  {'best-of-64 by true utility':<34}{ceiling.mean():.3f}                 {per_kind}")

    targets = torch.tensor(train_utilities - train_utilities.mean(axis=1, keepdims=True), dtype=torch.float32)
    centred_eval = eval_utilities - eval_utilities.mean(axis=1, keepdims=True)
    flat_train = train_features.reshape(-1, train_features.shape[-1])
    for label, hidden, standardise in (("default architecture (64x64, raw)", (64, 64), False),
                                       ("MLP 256x256 (standardised)", (256, 256), True)):  # fmt: skip
        results, r_squared, by_kind = [], [], []
        for seed in range(args.seeds):
            network = fit(flat_train, targets.reshape(-1), hidden, standardise, args.steps, seed)
            with torch.no_grad():
                predicted = network(eval_features).numpy()
            served = wins[rows, predicted.argmax(axis=1)]
            results.append(served.mean())
            residual = predicted - predicted.mean(axis=1, keepdims=True) - centred_eval
            r_squared.append(1 - (residual**2).sum() / (centred_eval**2).sum())
            by_kind.append([served[kinds == k].mean() for k in sorted(set(kinds))])
        values = np.array(results)
        error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        kinds_text = "  ".join(
            f"{k} {v:.3f}" for k, v in zip(sorted(set(kinds)), np.mean(by_kind, axis=0), strict=True)
        )
        print(f"  {label:<34}{values.mean():.3f} ± {error:.3f}  R² {np.mean(r_squared):.3f}  {kinds_text}  "
              f"(gap to the ceiling {ceiling.mean() - values.mean():.3f})", flush=True)  # fmt: skip
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
