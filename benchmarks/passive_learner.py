"""How well passive learns on LLMDuel-v0 under each reward-model setting, side by side on the same seeds.

    python benchmarks/passive_learner.py [--seeds 3] [--queries 12800] [--temperature 0.5] [--variants point,...]
                                         [--jobs 2]

The measurement behind the point model's L2 weight λ (``agents/reward_models/point.py``) and behind the headline's
baselines: passive (a uniformly random pair of the 64 candidates per prompt) feeds every variant the same kind of
data, and each variant is scored on the 300 eval prompts exactly as ``duelgym run`` scores it (the fixed reference
rater's win rate of the served candidate against the base model's greedy response). Printed per variant: the mean
win rate over seeds at doubling query counts, its range over seeds at the end, the training cross-entropy of the
last update (nats per comparison) and the noise floor it should not go below (the mean binary entropy of the
rater's choices on the queried pairs, in nats): a model far below the floor is fitting the rater's noise.

Variants: ``point`` (the default: weight λ / n with λ = 30, hidden layers anchored at their initialisation and the
output layer at 0), ``point-<λ>`` (the default anchor with a constant weight λ), ``point-<anchor>-<λ>`` (a
constant λ with anchor ``features``, ``initialization`` or ``zero``: plain weight decay), ``point-inverse-<λ>``
(the default anchor with weight λ / comparisons, the ENN's schedule), ``enn`` (the default ENN, λ = 30/n),
``enn-inverse-<λ>`` (the ENN with λ / n) and ``enn-constant-<λ>`` (the ENN with a constant λ); any of them
followed by training settings ``+lr=<rate>``, ``+mb=<minibatch>``, ``+steps=<Adam steps per batch>`` (e.g.
``point+lr=3e-4+mb=256``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

import duelgym.agents
from duelgym.agents.reward_models.point import ANCHORS
from duelgym.agents.reward_models.training import TrainingConfig
from duelgym.experiment import RunConfig
from duelgym.experiment.kinds import LLMExperiment

DEFAULT_VARIANTS = "point-2e-2,point-inverse-10,point-inverse-20,point,point-inverse-50,enn-inverse-10,enn"


#: Training-setting suffixes of a variant name (``point+lr=3e-4+mb=256``) -> TrainingConfig fields.
TRAINING_SUFFIXES = {"lr": ("learning_rate", float), "mb": ("minibatch_size", int), "steps": ("steps_per_update", int)}


def reward_model_of(variant: str) -> tuple[str, dict[str, Any]]:
    """(reward model name, its keyword arguments) of a variant name."""
    variant, *suffixes = variant.split("+")
    if suffixes:
        name, kwargs = reward_model_of(variant)
        settings = {}
        for suffix in suffixes:
            key, _, value = suffix.partition("=")
            if key not in TRAINING_SUFFIXES:
                raise SystemExit(f"unknown training setting {key!r} in {suffix!r}: {', '.join(TRAINING_SUFFIXES)}")
            field, kind = TRAINING_SUFFIXES[key]
            settings[field] = kind(value)
        return name, {**kwargs, "training": TrainingConfig(**settings)}
    if variant in ("point", "enn"):
        return variant, {}
    if variant.startswith("point-inverse-"):
        weight = float(variant.removeprefix("point-inverse-"))
        return "point", {"regularization": weight, "regularization_schedule": "inverse_data"}
    if variant.startswith("point-"):
        rest = variant.removeprefix("point-")
        for anchor in ANCHORS:
            if rest.startswith(f"{anchor}-"):
                weight = float(rest.removeprefix(f"{anchor}-"))
                return "point", {"anchor": anchor, "regularization": weight, "regularization_schedule": "constant"}
        return "point", {"regularization": float(rest), "regularization_schedule": "constant"}
    if variant.startswith("enn-inverse-"):
        return "enn", {"regularization": float(variant.removeprefix("enn-inverse-"))}
    if variant.startswith("enn-constant-"):
        weight = float(variant.removeprefix("enn-constant-"))
        return "enn", {"regularization": weight, "regularization_schedule": "constant"}
    raise SystemExit(
        f"unknown variant {variant!r}: point, point-<λ>, point-<anchor>-<λ>, point-inverse-<λ>, enn, "
        "enn-inverse-<λ> or enn-constant-<λ>"
    )


def run(experiment: LLMExperiment, variant: str, seed: int, checks: list[int]) -> dict[str, Any]:
    """One seeded passive run: win rate at each check, last training cross-entropy, choice entropy (nats)."""
    name, kwargs = reward_model_of(variant)
    trial = experiment.start(seed)
    agent = duelgym.agents.make("passive", trial.env, seed=seed, reward_model=name, reward_model_kwargs=kwargs)
    curve, queries, metrics = [], 0, {}
    while queries < checks[-1]:
        obs = trial.obs
        pairs = agent.select(obs)
        reward = trial.step(pairs)
        metrics = agent.observe(obs, pairs, reward)
        queries += len(reward)
        if queries in checks:
            curve.append(trial.evaluate(agent))
    entropy_nats = trial.extras()["choice_entropy"] * np.log(2.0)
    return {"curve": curve, "cross_entropy": float(metrics["cross_entropy"]), "floor": float(entropy_nats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=12_800, help="queries per run (a multiple of 32)")
    parser.add_argument("--temperature", type=float, default=0.5, help="the rater's feedback temperature")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--jobs", type=int, default=2, help="processes that sample the candidates (same results)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = RunConfig(env_kwargs={"temperature": args.temperature})
    if args.queries % config.batch_size:
        raise SystemExit(f"--queries must be a multiple of {config.batch_size}, got {args.queries}")
    checks = sorted({q for q in (256, 1024, 2048, 4096, 8192, 12_800, 25_600, 51_200) if q < args.queries})
    checks.append(args.queries)
    start = time.perf_counter()
    experiment = LLMExperiment(config, "cpu", args.jobs)
    experiment.warm_up(args.jobs)
    print(
        f"passive on LLMDuel-v0 (feedback T = {args.temperature:g}), {args.seeds} seeds; win rate (mean over seeds) at:"
    )
    print(f"{'variant':<20}" + "".join(f"{q:>8,}" for q in checks) + "   range at end   train CE   floor")
    for variant in args.variants.split(","):
        runs = [run(experiment, variant, seed, checks) for seed in range(args.seeds)]
        curves = np.array([r["curve"] for r in runs])
        means = "".join(f"{v:>8.3f}" for v in curves.mean(axis=0))
        spread = f"{curves[:, -1].min():.3f}-{curves[:, -1].max():.3f}"
        ce = np.mean([r["cross_entropy"] for r in runs])
        floor = np.mean([r["floor"] for r in runs])
        print(f"{variant:<20}{means}   {spread:<13}  {ce:8.3f}  {floor:6.3f}", flush=True)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
