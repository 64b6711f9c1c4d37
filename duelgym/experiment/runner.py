"""Run every agent on one env over several seeds, evaluating what each serves, and append the results.

The experiment package is the only place that wires envs, agents and outputs together. For LLMDuel-v0 the agents
choose among cached candidates (:class:`~duelgym.envs.candidates.CandidateWrapper`) and the metric is the exact win
rate of best-of-N under the agent's reward model against the base model's greedy response on eval prompts; for
synthetic envs it is the simple regret of the served arm on held-out contexts of the same instance, with the
cumulative strong regret of the queried pairs beside it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import duelgym
import duelgym.agents
from duelgym.envs.candidates import CandidateWrapper
from duelgym.experiment.checkpoint import load_checkpoint, save_checkpoint
from duelgym.experiment.config import RunConfig
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool

__all__ = ["Evaluation", "RunResult", "append_line", "metric_of", "resolve_device", "run_all"]

#: Held-out contexts of a synthetic env are drawn with the run's seed plus this offset (never seen in training).
_HELD_OUT_SEED_OFFSET = 1_000_003


#: What an evaluation computes: the metric of what an agent serves (see :func:`metric_of` for its name).
Evaluation = Callable[[Any], float]


@dataclass(frozen=True)
class RunResult:
    agent: str
    seed: int
    queries: int
    value: float
    extra: dict[str, float]


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device} was requested but CUDA is not available on this machine; use cpu or auto")
    return device


class _LLMSetup:
    """What every LLMDuel-v0 run of a comparison shares: the LM, the candidate pool and the eval win matrix."""

    def __init__(self, config: RunConfig, device: str) -> None:
        evaluation = duelgym.make(
            "LLMDuel-v0", **{**config.env_kwargs, "split": "eval", "num_prompts": config.eval_prompts}
        )
        core = evaluation.unwrapped
        self.lm = load(core.base_lm, device=device)
        self.pool = CandidatePool(self.lm, config.num_candidates, seed=0)
        prompts = core.prompts
        texts, features = CandidatePool(self.lm, config.num_candidates, seed=1).get(prompts)
        self.eval_features = features.float().cpu().numpy()
        greedy = self.lm.greedy(prompts)
        # Exact win probabilities of every eval candidate against the greedy response, from any rater's p_first.
        self.wins = np.stack(
            [
                core.rater.p_first([p] * len(row), row, [g] * len(row))
                for p, row, g in zip(prompts, texts, greedy, strict=True)
            ]
        )  # (P, N)

    def env(self, config: RunConfig) -> CandidateWrapper:
        return CandidateWrapper(
            duelgym.make_vec("LLMDuel-v0", num_envs=config.batch_size, **config.env_kwargs), self.pool
        )

    def evaluation(self) -> Evaluation:
        rows = np.arange(self.wins.shape[0])
        return lambda agent: float(self.wins[rows, agent.respond({"arms": self.eval_features})].mean())


def _synthetic_evaluation(env: Any, config: RunConfig, seed: int) -> Evaluation:
    contexts = env.unwrapped.problem.draw_contexts(
        np.random.default_rng(seed + _HELD_OUT_SEED_OFFSET), config.eval_prompts
    )
    rows = np.arange(config.eval_prompts)
    best = contexts.scores.max(axis=1)

    def simple_regret(agent: Any) -> float:
        return float(np.mean(best - contexts.scores[rows, agent.respond({"arms": contexts.arms})]))

    return simple_regret


def agent_names(config: RunConfig, env: Any) -> list[str]:
    """The configured agents, or every registered agent that can be built for ``env``."""
    if config.agents:
        unknown = [a for a in config.agents if a not in duelgym.agents.list_agents()]
        if unknown:
            raise ValueError(
                f"unknown agent(s) {', '.join(unknown)}; known agents: {', '.join(duelgym.agents.list_agents())}"
            )
        return list(config.agents)
    names = []
    for name in duelgym.agents.list_agents():
        try:
            duelgym.agents.make(name, env, seed=0, **_agent_kwargs(config, "cpu"))
        except (ValueError, TypeError):
            continue
        names.append(name)
    return names


def _agent_kwargs(config: RunConfig, device: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"device": device}
    if config.reward_model is not None:
        kwargs["reward_model"] = config.reward_model
        if config.reward_model == "enn":
            kwargs["reward_model_kwargs"] = {"num_particles": config.num_particles}
    return kwargs


def run_all(
    config: RunConfig,
    on_start: Callable[[str, int], None] | None = None,
    checkpoints: Path | None = None,
    recorded: set[tuple[str, int, int]] | None = None,
) -> Iterator[RunResult]:
    """Run every (agent, seed) of ``config``; yield one :class:`RunResult` per evaluation, in order.

    Args:
        config: The run.
        on_start: Called as ``on_start(agent, seed)`` before each (agent, seed) that still has work to do.
        checkpoints: Directory for checkpoints. At every evaluation the agent, the env and the loop's position are
            saved (atomically) before the result is yielded; a later call continues each unfinished (agent, seed)
            from its checkpoint, so at most one evaluation interval of work is lost, and yields a result again if it
            is missing from ``recorded`` (the run was killed between the checkpoint and the write).
        recorded: ``(agent, seed, queries)`` of the results already written; finished runs are skipped.

    :func:`metric_of` names the metric and its direction.
    """
    recorded = recorded or set()
    device = resolve_device(config.device)
    if config.env not in duelgym.list_envs() and config.env.removeprefix("duelgym/") not in duelgym.list_envs():
        raise ValueError(f"unknown env {config.env!r}; known envs: {', '.join(duelgym.list_envs())}")
    llm = _LLMSetup(config, device) if config.env.removeprefix("duelgym/") == "LLMDuel-v0" else None
    probe = llm.env(config) if llm else duelgym.make_vec(config.env, num_envs=config.batch_size, **config.env_kwargs)
    for name in agent_names(config, probe):
        for seed in config.seeds:
            if (name, seed, config.queries) in recorded:
                continue
            if on_start is not None:
                on_start(name, seed)
            path = None if checkpoints is None else checkpoints / f"{name}-seed{seed}.pt"
            if path is not None and path.exists():
                state = load_checkpoint(path)
                agent, cumulative, done = state["agent"], state["cumulative"], state["batch"]
                if llm:
                    env = CandidateWrapper(state["env"], llm.pool)
                    obs = env.observe_prompts(state["prompts"])
                else:
                    env, obs = state["env"], state["obs"]
                result: RunResult = state["result"]
                if (result.agent, result.seed, result.queries) not in recorded:
                    yield result
            else:
                env = (
                    llm.env(config)
                    if llm
                    else duelgym.make_vec(config.env, num_envs=config.batch_size, **config.env_kwargs)
                )
                obs, _ = env.reset(seed=seed)
                agent = duelgym.agents.make(name, env, seed=seed, **_agent_kwargs(config, device))
                cumulative, done = 0.0, 0
            evaluation = llm.evaluation() if llm else _synthetic_evaluation(env, config, seed)
            for batch in range(done + 1, config.num_batches + 1):
                pairs = agent.select(obs)
                next_obs, reward, _, _, info = env.step(pairs)
                metrics = agent.observe(obs, pairs, reward)
                obs = next_obs
                if "regret_strong" in info.get("final_info", {}):
                    cumulative += float(np.sum(info["final_info"]["regret_strong"]))
                if config.evaluates_at(batch):
                    extra = {k: float(v) for k, v in metrics.items()}
                    if llm is None:
                        extra["cumulative_regret"] = cumulative
                    result = RunResult(name, seed, batch * config.batch_size, evaluation(agent), extra)
                    if path is not None:
                        saved = {"agent": agent, "cumulative": cumulative, "batch": batch, "result": result}
                        if llm:
                            saved.update(env=env.env, prompts=env.prompts)
                        else:
                            saved.update(env=env, obs=obs)
                        save_checkpoint(path, saved)
                    yield result
            if path is not None:
                path.unlink(missing_ok=True)


def metric_of(config: RunConfig) -> tuple[str, bool]:
    """(metric name, higher is better) of a config's env."""
    return ("win_rate", True) if config.env.removeprefix("duelgym/") == "LLMDuel-v0" else ("simple_regret", False)


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk, so a killed run never leaves a partial line behind."""
    with path.open("a") as file:
        file.write(json.dumps(record, sort_keys=True) + "\n")
        file.flush()
        os.fsync(file.fileno())
