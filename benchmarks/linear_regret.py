"""Every agent on LinearDuel-v0 in one run: cumulative strong regret and simple regret of `respond`.

    python benchmarks/linear_regret.py [--instance vacdb] [--seeds 6] [--horizon 4000] [--batch-size 1]
        [--theta-norms 1] [--agents ...] [--jobs 2] [--out results.jsonl] [--summarise]

The default is the published benchmark of Di et al. (ICLR 2024, code uclaml/VACDB): ``instance="vacdb"`` (d = 5,
K = 32 fixed arms, θ* on two coordinates, scale ‖θ*‖ = 1), one query per round, T = 4,000, 6 seeds. Regret is the
env's ``regret_strong``, i.e. VACDB's Σ (2x* − x − y)ᵀθ*/scale on that instance (2u* − u_a − u_b on the contextual
one). For each ‖θ*‖ and agent it prints, as mean ± standard error over seeds:
* cumulative strong regret of the queried pairs, and its ratio to the best of the literature's baselines (MaxInP,
  CoLSTIM, MaxPairUCB: the lowest mean) and to passive;
* simple regret of the served arm (u* − u(respond)) on 300 held-out contexts at the end (the same fixed arms for
  vacdb), and the queries each agent needs to bring its mean simple-regret curve (checked every ``--every``
  queries) down to passive's final value;
* ENN-DTS against Laplace-DTS (target: ≤ 1.25× on both measures).
DTS appears with both fallbacks for the second arm ("second_best", the default, and the paper's "uniform").

ENN agents update once per round, so a T = 4,000 run with one query per round takes minutes per seed and agent:
``--jobs`` runs (agent, seed) pairs in parallel processes, each result is appended to ``--out`` as it finishes (a
rerun with the same ``--out`` skips what is there), and ``--summarise`` prints the table from ``--out`` alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

import duelgym
import duelgym.agents
from duelgym.evaluation import queries_to_target

BASELINES = ("maxinp", "colstim", "maxpairucb")
VARIANTS = {
    "passive": ("passive", {}),
    "boltzmann": ("boltzmann", {}),
    "infomax": ("infomax", {}),
    "dts": ("dts", {}),
    "dts-uniform": ("dts", {"fallback": "uniform"}),
    "bai-ts": ("bai-ts", {}),
    "ids": ("ids", {}),
    "laplace-dts": ("laplace-dts", {}),
    "laplace-dts-uniform": ("laplace-dts", {"fallback": "uniform"}),
    "multiset": ("multiset", {}),
    "maxinp": ("maxinp", {}),
    "colstim": ("colstim", {}),
    "maxpairucb": ("maxpairucb", {}),
}
HELD_OUT = 300


def run(task: dict[str, Any]) -> dict[str, Any]:
    """One seeded run: cumulative strong regret and the simple-regret curve (one value every ``every`` queries)."""
    torch.set_num_threads(task["threads"])
    name, kwargs = VARIANTS[task["agent"]]
    batch = task["batch_size"]
    env = duelgym.make_vec("LinearDuel-v0", num_envs=batch, theta_norm=task["theta_norm"], instance=task["instance"])
    obs, _ = env.reset(seed=task["seed"])
    if name in BASELINES:
        kwargs = {**kwargs, "horizon": task["horizon"]}
    agent = duelgym.agents.make(name, env, seed=task["seed"], **kwargs)
    held_out = env.unwrapped.problem.draw_contexts(np.random.default_rng(10_000 + task["seed"]), HELD_OUT)
    rows = np.arange(HELD_OUT)
    start = time.perf_counter()
    cumulative, curve = 0.0, []
    every = max(1, task["every"] // batch)
    for step in range(1, task["horizon"] // batch + 1):
        pairs = agent.select(obs)
        next_obs, reward, _, _, info = env.step(pairs)
        agent.observe(obs, pairs, reward)
        cumulative += float(info["final_info"]["regret_strong"].sum())
        obs = next_obs
        if step % every == 0:
            served = agent.respond({"arms": held_out.arms})
            curve.append(float(np.mean(held_out.scores.max(axis=1) - held_out.scores[rows, served])))
    return {**task, "cumulative": cumulative, "curve": curve, "seconds": time.perf_counter() - start}


def mean_se(values: np.ndarray) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():8.1f} ± {se:5.1f}"


def summarise(results: list[dict[str, Any]], variants: list[str]) -> None:
    """Print one table per (instance, ‖θ*‖, T, batch size) from the results of finished runs."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    seen: set[tuple] = set()
    for r in results:
        key = (r["agent"], r["seed"], r["theta_norm"], r["instance"], r["horizon"], r["batch_size"])
        if key in seen:  # a run repeated by overlapping invocations: keep the first
            continue
        seen.add(key)
        groups.setdefault((r["instance"], r["theta_norm"], r["horizon"], r["batch_size"], r["every"]), []).append(r)
    for (instance, theta_norm, horizon, batch, every), group in sorted(groups.items()):
        by_agent = {v: [r for r in group if r["agent"] == v] for v in variants}
        by_agent = {v: sorted(rs, key=lambda r: r["seed"]) for v, rs in by_agent.items() if rs}
        cumulative = {v: np.array([r["cumulative"] for r in rs]) for v, rs in by_agent.items()}
        curves = {v: np.stack([r["curve"] for r in rs]) for v, rs in by_agent.items()}
        seconds = {v: np.mean([r["seconds"] for r in rs]) for v, rs in by_agent.items()}
        baselines = [v for v in BASELINES if v in cumulative]
        best = min(baselines, key=lambda v: cumulative[v].mean()) if baselines else None
        target = float(curves["passive"].mean(axis=0)[-1]) if "passive" in curves else None
        print(
            f"\ninstance={instance}, ||theta*|| = {theta_norm}, T = {horizon}, {batch} query per round, "
            f"seeds per agent: {', '.join(f'{v} {len(rs)}' for v, rs in by_agent.items())}"
        )
        print(f"best baseline: {best}")
        print(
            f"{'agent':<20} {'cumulative strong regret':>26} {'vs best baseline':>17} {'vs passive':>11} "
            f"{'final simple regret':>22} {'queries to passive':>19} {'s/seed':>7}"
        )
        for v in by_agent:
            final = curves[v][:, -1]
            vs_best = cumulative[v].mean() / cumulative[best].mean() if best else float("nan")
            vs_passive = cumulative[v].mean() / cumulative["passive"].mean() if "passive" in cumulative else np.nan
            checkpoints = np.arange(1, curves[v].shape[1] + 1) * max(1, every // batch) * batch
            reach = (
                None
                if target is None
                else queries_to_target(
                    np.column_stack([checkpoints, curves[v].mean(axis=0)]), target, higher_is_better=False
                )
            )
            reach_text = "not reached" if reach is None else f"{reach:,.0f}"
            se = final.std(ddof=1) / np.sqrt(len(final)) if len(final) > 1 else float("nan")
            print(
                f"{v:<20} {mean_se(cumulative[v]):>26} {vs_best:>16.2f}x {vs_passive:>10.3f}x "
                f"{final.mean():>13.4f} ± {se:.4f} {reach_text:>19} {seconds[v]:>7.0f}"
            )
        if {"dts", "laplace-dts"} <= set(cumulative):
            cum_ratio = cumulative["dts"].mean() / cumulative["laplace-dts"].mean()
            simple = curves["dts"][:, -1].mean(), curves["laplace-dts"][:, -1].mean()
            simple_text = f"{simple[0] / simple[1]:.2f}x" if simple[1] > 0 else f"{simple[0]:.4f} vs {simple[1]:.4f}"
            print(
                f"ENN-DTS / Laplace-DTS: cumulative {cum_ratio:.2f}x (target <= 1.25), "
                f"final simple regret {simple_text}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="vacdb", choices=["vacdb", "contextual"])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--theta-norms", default="1")
    parser.add_argument("--horizon", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=1, help="queries per round (the vector env's num_envs)")
    parser.add_argument("--every", type=int, default=320, help="queries between simple-regret checks")
    parser.add_argument("--agents", default=",".join(VARIANTS))
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes, one (agent, seed) run each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run (default 2 // jobs)")
    parser.add_argument("--out", type=Path, default=None, help="JSONL file the results are appended to")
    parser.add_argument("--summarise", action="store_true", help="print the table from --out, run nothing")
    args = parser.parse_args()
    variants = args.agents.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown agent(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    done: list[dict[str, Any]] = []
    if args.out is not None and args.out.exists():
        done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    if args.summarise:
        if args.out is None:
            parser.error("--summarise needs --out")
        summarise(done, variants)
        return
    threads = args.threads or max(1, 2 // args.jobs)
    keys = {(r["agent"], r["seed"], r["theta_norm"], r["instance"], r["horizon"], r["batch_size"]) for r in done}
    tasks = [
        {"agent": v, "seed": seed, "theta_norm": theta_norm, "instance": args.instance, "horizon": args.horizon,
         "batch_size": args.batch_size, "every": args.every, "threads": threads}
        for theta_norm in map(float, args.theta_norms.split(","))
        for seed in range(args.seeds)
        for v in variants
    ]  # fmt: skip
    tasks = [
        t for t in tasks
        if (t["agent"], t["seed"], t["theta_norm"], t["instance"], t["horizon"], t["batch_size"]) not in keys
    ]  # fmt: skip
    results = list(done)
    with multiprocessing.Pool(args.jobs) if args.jobs > 1 else _Serial() as pool:
        for result in pool.imap_unordered(run, tasks):
            results.append(result)
            if args.out is not None:
                with args.out.open("a") as file:
                    file.write(json.dumps(result) + "\n")
    summarise([r for r in results if r["instance"] == args.instance and r["horizon"] == args.horizon], variants)


class _Serial:
    """A stand-in for ``multiprocessing.Pool`` that runs the tasks in this process."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        return map(function, tasks)


if __name__ == "__main__":
    main()
