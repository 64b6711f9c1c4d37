"""Quick start: query uniformly random pairs on LinearDuel-v0 and print a regret summary.

    python examples/quickstart.py [--batches 200] [--batch-size 32] [--seed 0]

This is the passive baseline in its simplest form; the agents in ``duelgym.agents`` replace the random pairs.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import duelgym
from duelgym.oracle import choice_entropy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200, help="number of vector-env steps")
    parser.add_argument("--batch-size", type=int, default=32, help="queries per step (sub-envs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem instance and the agent")
    args = parser.parse_args()

    env = duelgym.make_vec("LinearDuel-v0", num_envs=args.batch_size)
    obs, _ = env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)

    def select(obs: dict[str, np.ndarray]) -> np.ndarray:
        """Uniformly random pairs (the two arms may coincide): int array (B, 2)."""
        batch, num_arms = obs["arms"].shape[:2]
        return rng.integers(num_arms, size=(batch, 2))

    strong, weak, p_first, choices = [], [], [], []
    with Progress() as progress:
        task = progress.add_task("random pairs on LinearDuel-v0", total=args.batches)
        for _ in range(args.batches):
            pairs = select(obs)  # an agent's select(obs) goes here
            obs, reward, _, _, info = env.step(pairs)  # obs: the next contexts (autoreset SAME_STEP)
            step_info = info["final_info"]  # the results of the episodes this step ended
            strong.append(step_info["regret_strong"])
            weak.append(step_info["regret_weak"])
            p_first.append(step_info["p_first"])
            choices.append(reward)
            progress.advance(task)

    queries = args.batches * args.batch_size
    table = Table(title=f"Uniformly random pairs, {queries} queries (seed {args.seed})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("mean strong regret per query (2u* − u_a − u_b)", f"{np.mean(strong):.4f}")
    table.add_row("mean weak regret per query (u* − max(u_a, u_b))", f"{np.mean(weak):.4f}")
    table.add_row("cumulative strong regret", f"{np.sum(strong):.1f}")
    table.add_row("first arm chosen (fraction)", f"{np.mean(choices):.3f}")
    table.add_row("rater choice entropy (bits)", f"{choice_entropy(np.concatenate(p_first)):.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
