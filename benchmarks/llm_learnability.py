"""Head-room and learnability of LLMDuel-v0's embedded default, measured in one run.

    python benchmarks/llm_learnability.py [--seeds 3] [--agents passive,dts] [--temperature 0.1]

Head-room: on the 300 eval prompts, the win rate against the base model's greedy response of one random sample,
and of the best of 16 and of 64 candidates picked by the true utility (exact probabilities). Learnability: each
agent learns from rater queries on train prompts (32 per batch, pairs among the 64 cached candidates of each
prompt) and serves the best of the 64 eval candidates under its reward model; its win rate is printed after 100,
200, 400, ..., 6,400 comparisons, mean ± standard error over seeds.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

import duelgym
import duelgym.agents
from duelgym.envs.candidates import CandidateWrapper
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool
from duelgym.oracle import BradleyTerry

CHECKPOINTS = (100, 200, 400, 800, 1600, 3200, 6400)
BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--agents", default="passive,dts")
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    evaluation = duelgym.make("LLMDuel-v0", split="eval", temperature=args.temperature).unwrapped
    lm = load(evaluation.base_lm)
    prompts = evaluation.prompts
    greedy = lm.greedy(prompts)
    eval_texts, eval_features = CandidatePool(lm, 64, seed=12345).get(prompts)
    utility = evaluation.rater.utility
    candidate_utilities = np.stack([utility([p] * 64, row) for p, row in zip(prompts, eval_texts, strict=True)])
    greedy_utilities = utility(prompts, greedy)
    wins = BradleyTerry(args.temperature).probability(candidate_utilities, greedy_utilities[:, None])  # (P, 64)
    print(f"LLMDuel-v0 head-room on {len(prompts)} eval prompts, T = {args.temperature} (win rate vs greedy):")
    bradley_terry = BradleyTerry(args.temperature)
    best_of_16 = bradley_terry.probability(candidate_utilities[:, :16].max(axis=1), greedy_utilities).mean()
    best_of_64 = bradley_terry.probability(candidate_utilities.max(axis=1), greedy_utilities).mean()
    print(f"  one random sample {wins[:, 0].mean():.3f}   best-of-16 by true utility {best_of_16:.3f}   ", end="")
    print(f"best-of-64 by true utility {best_of_64:.3f}")

    pool = CandidatePool(lm, 64, seed=0)
    batches = [math.ceil(c / BATCH) for c in CHECKPOINTS]
    rows = np.arange(len(prompts))
    print(f"\nbest-of-64 win rate under each agent's reward model after n comparisons, {args.seeds} seeds:")
    print(f"  {'agent':<10}" + "".join(f"{c:>14,}" for c in CHECKPOINTS))
    for name in args.agents.split(","):
        curves = []
        for seed in range(args.seeds):
            env = CandidateWrapper(duelgym.make_vec("LLMDuel-v0", num_envs=BATCH, temperature=args.temperature), pool)
            obs, _ = env.reset(seed=seed)
            agent = duelgym.agents.make(name, env, seed=seed)
            curve = []
            for batch in range(1, batches[-1] + 1):
                pairs = agent.select(obs)
                next_obs, reward, _, _, _ = env.step(pairs)
                agent.observe(obs, pairs, reward)
                obs = next_obs
                if batch in batches:
                    served = agent.respond({"arms": eval_features.float().cpu().numpy()})
                    curve.append(wins[rows, served].mean())
            curves.append(curve)
        curves = np.asarray(curves)
        se = curves.std(axis=0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros(curves.shape[1])
        print(
            f"  {name:<10}" + "".join(f"{m:>8.3f} ±{s:.3f}" for m, s in zip(curves.mean(axis=0), se, strict=True)),
            flush=True,
        )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
