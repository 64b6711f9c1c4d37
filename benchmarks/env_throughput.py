"""Pairs per second of the native vector envs against loops of single envs (and LinearDuel-v0 against numpy).

    python benchmarks/env_throughput.py [--num-envs 1024] [--llm-num-envs 256] [--seconds 2]

All three are measured in one run on the same machine, interleaved in rounds, and the script prints the ratios
(targets: vector env ≥ 50× the loop, and ≥ 0.25× the numpy reference, which is the machine's limit). The numpy
reference does the same work as a vector step (draw contexts, utilities, Bradley-Terry choices, regrets) with no
validation, no info dict and no Gymnasium plumbing.

LLMDuel-v0: make_vec(..., 256) against a loop of 256 single envs, both answering each prompt with one fixed pair
of noisy demonstrations made beforehand, so the rater's utility (memoised) and the env plumbing are measured, not
the LM (target ≥ 10×). Then the embedded LM's candidate generation with features: 32 prompts × 64 samples in
one batched call against one call per prompt.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import duelgym


def pairs_per_second(step: Callable[[], None], pairs_per_call: int, seconds: float) -> float:
    step()  # warm-up
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step()
        calls += 1
    return calls * pairs_per_call / elapsed


def vector_step(num_envs: int, kwargs: dict) -> Callable[[], None]:
    env = duelgym.make_vec("LinearDuel-v0", num_envs=num_envs, **kwargs)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    num_arms = env.single_action_space.num_arms

    def step() -> None:
        env.step(rng.integers(num_arms, size=(num_envs, 2)))

    return step


def loop_step(num_envs: int, kwargs: dict) -> Callable[[], None]:
    envs = [duelgym.make("LinearDuel-v0", **kwargs) for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    num_arms = envs[0].action_space.num_arms

    def step() -> None:
        actions = rng.integers(num_arms, size=(num_envs, 2))
        for env, action in zip(envs, actions, strict=True):
            env.step(action)
            env.reset()

    return step


def numpy_step(num_envs: int, kwargs: dict) -> Callable[[], None]:
    """The same step in plain numpy: LinearDuel-v0's default, fresh Gaussian arms N(0, I/d) for every context."""
    dim, num_arms = kwargs.get("dim", 5), kwargs.get("num_arms", 32)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(dim)
    theta /= np.linalg.norm(theta)
    rows = np.arange(num_envs)

    def step() -> None:
        arms = (rng.standard_normal((num_envs, num_arms, dim)) / np.sqrt(dim)).astype(np.float32)
        utilities = arms.astype(np.float64) @ theta
        pairs = rng.integers(num_arms, size=(num_envs, 2))
        u_first, u_second = utilities[rows, pairs[:, 0]], utilities[rows, pairs[:, 1]]
        p_first = 1.0 / (1.0 + np.exp(u_second - u_first))
        _choices = (rng.random(num_envs) < p_first).astype(np.float64)
        best = utilities.max(axis=1)
        _strong = 2 * best - u_first - u_second
        _weak = best - np.maximum(u_first, u_second)
        _best_arm = utilities.argmax(axis=1)

    return step


def llm_steps(num_envs: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """(vector step, loop step) on LLMDuel-v0 with precomputed responses for every prompt."""
    from duelgym.tasks import TransformTask

    vector = duelgym.make_vec("LLMDuel-v0", num_envs=num_envs)
    prompts, _ = vector.reset(seed=0)
    task, rng = TransformTask(0), np.random.default_rng(0)
    # One fixed pair of noisy demonstrations per prompt: choosing it costs a dict lookup in both measurements.
    pairs = {p: (task.demonstration(p, rng), task.demonstration(p, rng)) for p in vector.unwrapped.prompts}
    singles = [duelgym.make("LLMDuel-v0") for _ in range(num_envs)]
    current = [env.reset(seed=i)[0] for i, env in enumerate(singles)]
    state = {"prompts": prompts}

    def vector_step() -> None:
        state["prompts"], *_ = vector.step([pairs[p] for p in state["prompts"]])

    def loop_step() -> None:
        for i, env in enumerate(singles):
            env.step(pairs[current[i]])
            current[i] = env.reset()[0]

    return vector_step, loop_step


def generation(seconds: float) -> tuple[float, float]:
    """Responses per second with features: 32 prompts × 64 samples in one call vs one call per prompt."""
    from duelgym.lm import load
    from duelgym.tasks import TransformTask

    lm = load("duelgym/tiny-transforms")
    prompts = TransformTask(0).prompts("train", 32)
    batched = pairs_per_second(lambda: lm.sample_with_features(prompts, 64, seed=0), 32 * 64, seconds)
    one_at_a_time = pairs_per_second(
        lambda: [lm.sample_with_features([p], 64, seed=0) for p in prompts], 32 * 64, seconds
    )
    return batched, one_at_a_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported")
    parser.add_argument("--llm-num-envs", type=int, default=256)
    args = parser.parse_args()

    kwargs: dict = {}
    steps = {
        "vector env": vector_step(args.num_envs, kwargs),
        "loop of single envs": loop_step(args.num_envs, kwargs),
        "numpy reference": numpy_step(args.num_envs, kwargs),
    }
    results: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            results[name].append(pairs_per_second(step, args.num_envs, args.seconds))
    rate = {name: float(np.median(values)) for name, values in results.items()}

    print(f"LinearDuel-v0 defaults, {args.num_envs} pairs per step, median of {args.rounds} rounds")
    for name, value in rate.items():
        print(f"  {name:<20} {value:>14,.0f} pairs/s")
    print(f"vector env / loop of single envs: {rate['vector env'] / rate['loop of single envs']:8.1f}x  (target >= 50)")
    print(f"vector env / numpy reference:     {rate['vector env'] / rate['numpy reference']:8.2f}x  (target >= 0.25)")

    llm_vector_step, llm_loop_step = llm_steps(args.llm_num_envs)
    llm = {"vector env": [], "loop of single envs": []}
    for _ in range(args.rounds):
        llm["vector env"].append(pairs_per_second(llm_vector_step, args.llm_num_envs, args.seconds))
        llm["loop of single envs"].append(pairs_per_second(llm_loop_step, args.llm_num_envs, args.seconds))
    llm_rate = {name: float(np.median(values)) for name, values in llm.items()}
    print(f"\nLLMDuel-v0, {args.llm_num_envs} pairs per step (precomputed responses), median of {args.rounds} rounds")
    for name, value in llm_rate.items():
        print(f"  {name:<20} {value:>14,.0f} pairs/s")
    ratio = llm_rate["vector env"] / llm_rate["loop of single envs"]
    print(f"vector env / loop of single envs: {ratio:8.1f}x  (target >= 10)")
    batched, one_at_a_time = generation(args.seconds)
    print(
        f"\nembedded LM, responses with features per second: batched {batched:,.0f}, one prompt at a time "
        f"{one_at_a_time:,.0f}: {batched / one_at_a_time:.1f}x"
    )


if __name__ == "__main__":
    main()
