"""``duelgym online``: online RLHF on LLMDuel-v0, each schedule of :mod:`duelgym.agents.online` over seeds.

One (schedule, seed) run, per batch of B training prompts (the env's prompts, drawn by the env):

1. the data-collecting policy samples S responses per prompt (top-k); their features come from the frozen initial
   LM (the reward model's backbone, which never sees the rater), so the reward model reads the same features
   whatever the policy has become;
2. the schedule's agent picks one pair among the S, the env's rater makes one choice, and the agent's reward model
   learns from the pair and its reverse;
3. online schedules then take two policy steps (:mod:`duelgym.agents.online`); offline and periodic ones, every
   τ = ``period`` batches (and at the last), optimise a fresh copy of the initial policy against the reward model
   with their phase pairs for as many steps as an online run would have taken on the same data
   (``phase_steps_per_batch`` × batches so far), keep a checkpoint every ``checkpoint_every`` steps and serve the
   one with the best win rate on the test prompts (periodic also collects with it).

Evaluation: the exact win rate (the env's fixed reference rater, no sampling) of the policy's greedy response
against the initial policy's greedy response on the eval prompts, with diagnostics (:meth:`OnlineTrial.evaluate`).
Train, test and eval prompts are disjoint: the env's train split, and two disjoint slices of its eval split.

The results directory is :class:`~duelgym.experiment.store.ResultsStore`'s (config, metrics, checkpoints,
summary, curves), with the schedules in the agents' place, plus ``policies/<schedule>-seed<seed>/``: the served
policy, written with ``save_pretrained`` (atomically) at every checkpoint and at the end, which
``duelgym.lm.load`` loads.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from rich.console import Console

import duelgym
import duelgym.agents
from duelgym._validation import check_int
from duelgym.agents.online import (
    SCHEDULES,
    Policy,
    PolicyUpdateConfig,
    extreme_pairs,
    pair_signals,
    queried_and_extreme_pairs,
    reversed_pairs,
    sequence_kl,
)
from duelgym.evaluation import PowerLawFit, fit_win_rate_curve, win_probabilities
from duelgym.experiment.config import ConfigError, check_device, check_no_repeats, check_seeds
from duelgym.experiment.report import curves, multiplier_text, queries_text, reach_targets
from duelgym.experiment.runner import RunResult, one_torch_thread, progress_display, run_device, run_pending
from duelgym.experiment.state import StateMismatch, extract_state, restore_state
from duelgym.experiment.store import ResultsStore, write_reports
from duelgym.lm import load
from duelgym.lm.model import LanguageModel
from duelgym.oracle import choice_entropy

__all__ = ["EMBEDDED_CEILING", "ONLINE_QUICK", "OnlineConfig", "OnlineTrial", "PolicyCollapse", "execute_online",
           "online_ceiling", "run_online", "write_online_reports"]  # fmt: skip

METRIC = "win_rate"
#: The best response's exact win rate against the initial policy's greedy response on the embedded default:
#: ``"{answer}"`` (utility 1.3) against the embedded LM's greedy response, the plain correct answer on every eval
#: prompt (utility 1.0), scored at the reference temperature 0.1: σ(0.3 / 0.1) ≈ 0.9526 (tests/test_online_runner.py
#: checks it). No policy can score above it, so the extrapolation uses fits with this ceiling.
EMBEDDED_CEILING = 1.0 / (1.0 + math.exp(-3.0))
#: Attributes of the text vector env that follow from the config: not state.
_CONFIG_PARTS = ("duel", "spec")


class PolicyCollapse(ValueError):
    """A policy whose every sampled response to a prompt is empty (it collapsed onto <eos>): no pair to learn from."""


@dataclass(frozen=True)
class OnlineConfig:
    """Everything that determines an online run's results.

    Attributes:
        env_kwargs: LLMDuel-v0 keyword arguments (the embedded default when empty; never ``split``).
        schedules: Names from :data:`~duelgym.agents.online.SCHEDULES`, no repeats.
        seeds: One run per schedule and seed.
        batches: Query batches per run; queries = ``batches × batch_size``.
        batch_size: B, prompts per batch, one query each (the paper's 64; 16 on CPU).
        num_samples: S, responses sampled per prompt (the paper's 16).
        top_k: Top-k of the sampling (DESIGN.md §6: 5).
        period: τ, batches between the periodic refreshes and between the offline budgets evaluated.
        phase_steps_per_batch: Policy steps of an offline or periodic optimisation per batch of data it has: 2, the
            steps an online run takes per batch, so both sides get the same optimisation.
        checkpoint_every: Policy steps between the offline checkpoints compared on the test prompts.
        dense_batches: The online schedules evaluate after every batch up to this many, then every
            ``eval_every``.
        eval_every: Batches between evaluations of the online schedules after ``dense_batches``.
        eval_prompts, test_prompts: Held-out prompts for evaluation and for choosing offline checkpoints.
        diagnostic_prompts: Eval prompts whose S samples give the diagnostics.
        num_particles: Particles of the ENN reward model (``online-ids``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        nudge, kl_weight, anchor_rate, learning_rate, clip_norm, kl: The policy update
            (:class:`~duelgym.agents.online.PolicyUpdateConfig`, whose defaults these are).
    """

    env_kwargs: dict[str, Any] = field(default_factory=dict)
    schedules: tuple[str, ...] = ("offline", "periodic", "online", "online-ids")
    #: Three seeds: the issue's minimum, what 20 minutes on 2 CPU cores allow.
    seeds: tuple[int, ...] = (0, 1, 2)
    batches: int = 64
    batch_size: int = 16
    num_samples: int = 16
    top_k: int = 5
    period: int = 16
    phase_steps_per_batch: int = 2
    checkpoint_every: int = 16
    dense_batches: int = 8
    eval_every: int = 4
    eval_prompts: int = 200
    test_prompts: int = 100
    diagnostic_prompts: int = 16
    num_particles: int = 10
    device: str = "cpu"
    nudge: float = PolicyUpdateConfig.nudge
    kl_weight: float = PolicyUpdateConfig.kl_weight
    anchor_rate: float = PolicyUpdateConfig.anchor_rate
    learning_rate: float = PolicyUpdateConfig.learning_rate
    clip_norm: float = PolicyUpdateConfig.clip_norm
    kl: str = PolicyUpdateConfig.kl

    def __post_init__(self) -> None:
        positive = ("batches", "batch_size", "top_k", "period", "phase_steps_per_batch", "checkpoint_every",
                    "eval_every", "eval_prompts", "test_prompts", "diagnostic_prompts", "num_particles")  # fmt: skip
        for name in positive:
            check_int(name, getattr(self, name), minimum=1)
        check_int("dense_batches", self.dense_batches, minimum=0)
        check_int("num_samples", self.num_samples, minimum=2)
        if self.diagnostic_prompts > self.eval_prompts:
            raise ValueError(
                f"diagnostic_prompts={self.diagnostic_prompts} must be <= eval_prompts={self.eval_prompts}"
            )
        self.policy_config()  # checks ε, β, η, learning rate, clip norm and the KL estimator
        check_seeds(self.seeds)
        if not self.schedules:
            raise ValueError("schedules must name at least one schedule")
        check_no_repeats("schedules", self.schedules)
        unknown = [s for s in self.schedules if s not in SCHEDULES]
        if unknown:
            raise ValueError(f"unknown schedule(s) {', '.join(unknown)}; known: {', '.join(SCHEDULES)}")
        needs_extremes = any(SCHEDULES[s].mode == "online" or SCHEDULES[s].phase_pairs == "extremes"
                             for s in self.schedules)  # fmt: skip
        if needs_extremes and self.num_samples < 4:
            raise ValueError(f"online schedules pick (2nd-highest, 2nd-lowest) pairs: num_samples must be >= 4, "
                             f"got {self.num_samples}")  # fmt: skip
        if not isinstance(self.env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a dict, got {type(self.env_kwargs).__name__}")
        for key in ("split", "prompts"):
            if key in self.env_kwargs:
                raise ValueError(
                    f"env_kwargs must not set {key}: online runs use the task's train split for "
                    "training and two disjoint slices of its eval split for test and evaluation"
                )
        check_device(self.device)

    @property
    def queries(self) -> int:
        return self.batches * self.batch_size

    def policy_config(self, schedule: str | None = None) -> PolicyUpdateConfig:
        """The policy update of ``schedule`` (ε = 0 where it has no nudge; β applies only with an anchor)."""
        nudge = self.nudge if schedule is None or SCHEDULES[schedule].nudge else 0.0
        kl_weight = self.kl_weight if schedule is None or SCHEDULES[schedule].anchor else 0.0
        return PolicyUpdateConfig(nudge=nudge, kl_weight=kl_weight, anchor_rate=self.anchor_rate,
                                  learning_rate=self.learning_rate, clip_norm=self.clip_norm, kl=self.kl)  # fmt: skip

    def evaluates_at(self, batch: int, schedule: str) -> bool:
        """Offline and periodic evaluate at each budget (every ``period`` batches); online schedules after every
        batch up to ``dense_batches``, then every ``eval_every``; all at the end."""
        if batch == self.batches:
            return True
        if SCHEDULES[schedule].mode != "online":
            return batch % self.period == 0
        return batch <= self.dense_batches or batch % self.eval_every == 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "online", "env": "LLMDuel-v0",
                **{k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}}  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> OnlineConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if k in ("schedules", "seeds") else v for k, v in values.items() if k in names})


#: ``--quick``: about 2 minutes on 2 CPU cores (2 seeds, 32 batches of 16 prompts = 512 labels, 8 samples each).
ONLINE_QUICK: dict[str, Any] = {
    "seeds": (0, 1), "batches": 32, "batch_size": 16, "num_samples": 8, "period": 8, "checkpoint_every": 8,
    "dense_batches": 4, "eval_every": 4, "eval_prompts": 50, "test_prompts": 30, "diagnostic_prompts": 8,
}  # fmt: skip


def _seed(*parts: int) -> int:
    """A sampling seed for one purpose of one run (independent of what ran before: resumes see the same)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "little")


class OnlineShared:
    """What every run of a config shares: the frozen initial LM, the prompts and the initial greedy responses."""

    def __init__(self, config: OnlineConfig, device: str) -> None:
        self.config = config
        self.device = device
        try:
            self.probe = duelgym.make_vec("LLMDuel-v0", num_envs=config.batch_size, **config.env_kwargs)
            held_out = duelgym.make("LLMDuel-v0", split="eval", num_prompts=config.eval_prompts + config.test_prompts,
                                    **config.env_kwargs)  # fmt: skip
        except (TypeError, ValueError) as error:
            raise ConfigError(f"LLMDuel-v0 cannot be built with env_kwargs {config.env_kwargs}: {error}") from error
        self.eval_env = held_out
        prompts = held_out.unwrapped.prompts
        self.eval_prompts = prompts[: config.eval_prompts]
        self.test_prompts = prompts[config.eval_prompts :]
        self.train_prompts = self.probe.unwrapped.prompts
        self.base = load(self.probe.unwrapped.base_lm, device=device)
        self.base.model.requires_grad_(False)
        self.eval_greedy = self.base.greedy(self.eval_prompts)
        self.test_greedy = self.base.greedy(self.test_prompts)

    def features(self, prompts: list[str], texts: list[list[str]]) -> torch.Tensor:
        """Reward-model features (P, S, d) of S responses per prompt, from the frozen initial LM."""
        flat = [p for p, row in zip(prompts, texts, strict=True) for _ in row]
        features = self.base.embed(flat, [t for row in texts for t in row])
        return features.reshape(len(prompts), len(texts[0]), -1)

    def win_rate(self, lm: LanguageModel, test: bool = False) -> float:
        """Exact win rate of ``lm``'s greedy responses against the initial greedy ones (eval or test prompts)."""
        prompts, baseline = (self.test_prompts, self.test_greedy) if test else (self.eval_prompts, self.eval_greedy)
        return float(win_probabilities(self.eval_env, prompts, lm.greedy(prompts), baseline).mean())

    def fresh_policy(self, schedule: str) -> Policy:
        return Policy(self.base.with_model(copy.deepcopy(self.base.model)), self.config.policy_config(schedule))


class OnlineTrial:
    """One (schedule, seed) run: its env, agent (pair selection and reward model), policy and position."""

    def __init__(self, shared: OnlineShared, schedule: str, seed: int) -> None:
        self.shared, self.schedule, self.seed = shared, SCHEDULES[schedule], seed
        self.name = schedule
        config = shared.config
        self.env = duelgym.make_vec("LLMDuel-v0", num_envs=config.batch_size, **config.env_kwargs)
        self.obs, _ = self.env.reset(seed=seed)
        self.rng = np.random.default_rng([seed, 1])
        dim = shared.base.feature_dim
        probe = SimpleNamespace(single_observation_space=spaces.Dict(
            {"arms": spaces.Box(-np.inf, np.inf, (config.num_samples, dim), np.float32)}))  # fmt: skip
        kwargs: dict[str, Any] = {"device": shared.device, "reward_model": self.schedule.reward_model}
        if self.schedule.reward_model == "enn":
            kwargs["reward_model_kwargs"] = {"num_particles": config.num_particles}
        self.agent = duelgym.agents.make(self.schedule.agent, probe, seed=seed, **kwargs)
        #: The policy served and (except offline) collecting; online schedules train it in place.
        self.policy = shared.fresh_policy(schedule)
        self.batch = 0
        self.entropy_sum = 0.0
        #: Steps and test win rate of the offline checkpoint served (offline and periodic).
        self.served_step, self.served_test, self.phase_collapse_step = 0, 0.5, 0

    @property
    def collector(self) -> LanguageModel:
        return self.shared.base if self.schedule.mode == "offline" else self.policy.lm

    def _sample(self, lm: LanguageModel, prompts: list[str], count: int, *purpose: int) -> list[list[str]]:
        try:
            texts = lm.sample(prompts, count, seed=_seed(self.seed, self.batch, *purpose),
                              top_k=self.shared.config.top_k)  # fmt: skip
        except RuntimeError as error:
            if "nan" not in str(error) and "inf" not in str(error):
                raise
            raise FloatingPointError(f"{self.name} seed {self.seed}, batch {self.batch + 1}: the policy's "
                                     f"next-token probabilities are not finite ({error})") from error  # fmt: skip
        for prompt, row in zip(prompts, texts, strict=True):
            if not any(row):
                raise PolicyCollapse(f"{self.name} seed {self.seed}, batch {self.batch + 1}: every one of the "
                                     f"policy's {count} responses to {prompt!r} is empty; an empty pair carries no "
                                     "preference (the policy collapsed onto <eos>: lower learning_rate or raise "
                                     "kl_weight)")  # fmt: skip
        return texts

    def _policy_step(self, policy: Policy, prompts: list[str], texts: list[list[str]], utilities: torch.Tensor,
                     pairs: torch.Tensor) -> None:  # fmt: skip
        """One policy step on every sample that leads one of ``pairs`` (B, P, 2), weighted by its signal: a sample
        whose signal is 0 (a tie, with ε = 0) still gets the KL term."""
        weights = pair_signals(utilities, pairs, policy.config.nudge)
        leads = torch.zeros_like(weights, dtype=torch.bool).scatter_(1, pairs[..., 0], True)
        rows, columns = leads.nonzero(as_tuple=True)
        rows_, columns_ = rows.tolist(), columns.tolist()
        try:
            policy.update([prompts[r] for r in rows_], [texts[r][c] for r, c in zip(rows_, columns_, strict=True)],
                          weights[rows, columns])  # fmt: skip
        except FloatingPointError as error:
            raise FloatingPointError(f"{self.name} seed {self.seed}, batch {self.batch + 1}: {error}") from error

    def _utilities(self, features: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.agent.reward_model.mean_utility(features).float().cpu()

    def step(self) -> dict[str, float]:
        """One batch: sample, query, learn the reward model, then the schedule's policy updates."""
        config, shared = self.shared.config, self.shared
        prompts = list(self.obs)
        texts = self._sample(self.collector, prompts, config.num_samples, 0)
        features = shared.features(prompts, texts)
        pairs = self.agent.select({"arms": features})
        actions = [(row[a], row[b]) for row, (a, b) in zip(texts, pairs, strict=True)]
        self.obs, choices, _, _, info = self.env.step(actions)
        p_first = info["final_info"]["p_first"]
        self.entropy_sum += choice_entropy(p_first) * len(p_first)
        both = torch.cat([features, features])
        metrics = self.agent.observe({"arms": both}, np.concatenate([pairs, pairs[:, ::-1]]),
                                     np.concatenate([choices, 1.0 - choices]))  # fmt: skip
        if self.schedule.mode == "online":
            utilities = self._utilities(features)
            queried = torch.as_tensor(pairs, dtype=torch.int64)
            self._policy_step(self.policy, prompts, texts, utilities, queried_and_extreme_pairs(queried, utilities))
            fresh = [shared.train_prompts[i] for i in self.rng.integers(len(shared.train_prompts), size=len(prompts))]
            fresh_texts = self._sample(self.policy.lm, fresh, config.num_samples, 1)
            fresh_utilities = self._utilities(shared.features(fresh, fresh_texts))
            self._policy_step(self.policy, fresh, fresh_texts, fresh_utilities, extreme_pairs(fresh_utilities))
        self.batch += 1
        if self.schedule.mode != "online" and (self.batch % config.period == 0 or self.batch == config.batches):
            self._optimise_offline()
        return {k: float(v) for k, v in metrics.items()}

    def _optimise_offline(self) -> None:
        """Optimise a fresh copy of the initial policy against the reward model (the schedule's phase pairs, on
        fresh training prompts); serve the checkpoint with the best test win rate (the initial policy's is ½).

        A phase that over-optimises the fixed reward model until it collapses onto <eos> stops there (it has nothing
        left to learn from) and serves its best checkpoint before the collapse; ``phase_collapse_step`` records the
        step (0: none). The test is the sampler's (every sample to one prompt is empty), so it fires on a less
        collapsed policy under the random-pair rule, which draws 2 samples per prompt, than under the extreme-pair
        rule's S; in the measured runs only an extreme-pair phase ever collapsed."""
        config, shared = self.shared.config, self.shared
        phase = shared.fresh_policy(self.name)
        best = (0.5, 0, copy.deepcopy(phase.state()))
        random_pairs = self.schedule.phase_pairs == "random"
        samples = 2 if random_pairs else config.num_samples
        steps = config.phase_steps_per_batch * self.batch
        self.phase_collapse_step = 0
        for step in range(1, steps + 1):
            prompts = [shared.train_prompts[i] for i in self.rng.integers(len(shared.train_prompts),
                                                                        size=config.batch_size)]  # fmt: skip
            try:
                texts = self._sample(phase.lm, prompts, samples, 2, step)
            except PolicyCollapse:
                self.phase_collapse_step = step
                break
            utilities = self._utilities(shared.features(prompts, texts))
            pairs = (reversed_pairs(torch.tensor([[0, 1]]).expand(len(prompts), 2)) if random_pairs
                     else extreme_pairs(utilities))  # fmt: skip
            self._policy_step(phase, prompts, texts, utilities, pairs)
            if step % config.checkpoint_every == 0 or step == steps:
                score = shared.win_rate(phase.lm, test=True)
                if score > best[0]:
                    best = (score, step, copy.deepcopy(phase.state()))
        self.served_test, self.served_step, state = best
        self.policy.lm.model.load_state_dict(state["model"])
        self.policy.anchor.model.load_state_dict(state["anchor"])

    def evaluate(self) -> tuple[float, dict[str, float]]:
        """The win rate and the diagnostics on the S samples of the diagnostic prompts:

        ``entropy`` (mean per-token entropy of the policy along its samples, nats), ``distinct`` (distinct
        responses per prompt, of S), ``kl_anchor`` and ``kl_initial`` (exact KL per response to the anchor and to
        the initial policy, nats), ``rm_agreement`` (the share of the samples' pairs, (1st, 2nd), (3rd, 4th), …,
        with different responses, on which the reward model and the rater prefer the same one: reward hacking
        shows here first), ``choice_entropy`` (bits, the feedback's noise on the pairs queried so far), and for
        offline and periodic the served checkpoint's ``served_step`` and ``served_test_win_rate`` and the last
        optimisation's ``phase_collapse_step`` (the step at which it collapsed onto <eos> and stopped; 0: it did not).
        """
        config, shared = self.shared.config, self.shared
        lm = self.policy.lm
        value = shared.win_rate(lm)
        prompts = shared.eval_prompts[: config.diagnostic_prompts]
        texts = lm.sample(prompts, config.num_samples, seed=_seed(self.seed, self.batch, 3), top_k=config.top_k)
        flat_prompts = [p for p in prompts for _ in range(config.num_samples)]
        flat = [t for row in texts for t in row]
        with torch.no_grad():
            logits, tokens, mask, _ = lm.response_logits(flat_prompts, flat)
            log_probs = logits.log_softmax(dim=-1)
            weights = mask.float()
            entropy = -(log_probs.exp() * log_probs).sum(-1)
            kls = {name: float(sequence_kl(log_probs, other.response_logits(flat_prompts, flat)[0].log_softmax(-1),
                                           tokens, mask).mean())
                   for name, other in (("kl_anchor", self.policy.anchor), ("kl_initial", shared.base))}  # fmt: skip
        utilities = self._utilities(shared.features(prompts, texts)).numpy()
        half = config.num_samples // 2 * 2
        first = [row[i] for row in texts for i in range(0, half, 2)]
        second = [row[i + 1] for row in texts for i in range(0, half, 2)]
        pair_prompts = [p for p in prompts for _ in range(0, half, 2)]
        p_first = win_probabilities(shared.eval_env, pair_prompts, first, second)  # checked probabilities
        gaps = (utilities[:, 0:half:2] - utilities[:, 1:half:2]).reshape(-1)
        differ = (np.array(first) != np.array(second)) & (p_first != 0.5)
        agreement = float(np.mean((gaps[differ] > 0) == (p_first[differ] > 0.5))) if differ.any() else math.nan
        extra = {
            "entropy": float((entropy * weights).sum() / weights.sum()),
            "distinct": float(np.mean([len(set(row)) for row in texts])),
            **kls,
            "rm_agreement": agreement,
            "choice_entropy": self.entropy_sum / max(self.batch * config.batch_size, 1),
            "policy_steps": float(self.policy.steps),
        }
        if self.schedule.mode != "online":
            extra.update(served_step=float(self.served_step), served_test_win_rate=float(self.served_test),
                         phase_collapse_step=float(self.phase_collapse_step))  # fmt: skip
        return value, extra

    def state(self) -> dict[str, Any]:
        return {"env": extract_state(self.env, skip=_CONFIG_PARTS), "prompts": list(self.obs),
                "rng": extract_state(self.rng), "agent": extract_state(self.agent), "policy": self.policy.state(),
                "batch": self.batch, "entropy_sum": self.entropy_sum,
                "served": [self.served_step, self.served_test, self.phase_collapse_step]}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        restore_state(self.env, state["env"], "env", skip=_CONFIG_PARTS)
        self.obs = tuple(state["prompts"])
        restore_state(self.rng, state["rng"], "rng")
        restore_state(self.agent, state["agent"], "agent")
        self.policy.restore(state["policy"])
        self.batch, self.entropy_sum = int(state["batch"]), float(state["entropy_sum"])
        if len(state["served"]) != 3:  # a checkpoint from before phase_collapse_step was saved
            raise StateMismatch(f"state.served: {len(state['served'])} values saved, expected 3 (served step, test "
                                "win rate, collapse step)")  # fmt: skip
        step, score, collapse = state["served"]
        self.served_step, self.served_test, self.phase_collapse_step = int(step), float(score), int(collapse)


def save_policy(lm: LanguageModel, directory: Path) -> None:
    """``save_pretrained`` the policy with its tokenizer and generation settings into ``directory``, atomically
    (written beside it, then swapped in), so that ``duelgym.lm.load(directory)`` loads it as it was trained."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    temporary = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    lm.model.save_pretrained(temporary)
    lm.tokenizer.save_pretrained(temporary)
    settings = {"generation": {"prompt_suffix": lm.prompt_suffix, "max_new_tokens": lm.max_new_tokens}}
    (temporary / "training.json").write_text(json.dumps(settings, indent=2) + "\n")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(temporary, directory)
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class OnlinePlan:
    """A checked config and what its runs share."""

    config: OnlineConfig
    device: str
    shared: OnlineShared


def plan_online(config: OnlineConfig) -> OnlinePlan:
    device = run_device(config.device)
    with one_torch_thread():
        return OnlinePlan(config, device, OnlineShared(config, device))


def _policy_directory(store: ResultsStore, schedule: str, seed: int) -> Path:
    return store.directory / "policies" / f"{schedule}-seed{seed}"


def _run_one(prepared: OnlinePlan, name: str, seed: int, store: ResultsStore | None,
             recorded: set[tuple[str, int, int]], checkpoint_seconds: float,
             before_checkpoint: Callable[[], None] = lambda: None) -> Iterator[RunResult]:  # fmt: skip
    """One (schedule, seed) run, resumed from its checkpoint if it has one (see ``runner._run_one``)."""
    config = prepared.config
    trial = OnlineTrial(prepared.shared, name, seed)
    saved = store.load_checkpoint(name, seed) if store is not None else None
    if saved is not None and store is not None:
        try:
            trial.restore(saved["trial"])
            result = RunResult(**saved["result"])
        except (StateMismatch, KeyError, TypeError, RuntimeError) as error:
            raise ConfigError(
                f"checkpoint {store.checkpoint_path(name, seed)} does not fit {name} seed {seed} of this config "
                f"({error}); nothing was changed. Move it out of the directory to restart that run"
            ) from error
        if (result.agent, result.seed, result.queries) not in recorded:
            yield result
    last_saved = time.monotonic()
    while trial.batch < config.batches:
        metrics = trial.step()
        if config.evaluates_at(trial.batch, name):
            value, extra = trial.evaluate()
            result = RunResult(name, seed, trial.batch * config.batch_size, value, {**metrics, **extra})
            finished = trial.batch == config.batches
            if store is not None and (finished or time.monotonic() - last_saved >= checkpoint_seconds):
                before_checkpoint()
                save_policy(trial.policy.lm, _policy_directory(store, name, seed))
                if not finished:
                    store.save_checkpoint(name, seed, trial.batch, {"trial": trial.state(), "result": vars(result)})
                last_saved = time.monotonic()
            if (name, seed, result.queries) not in recorded:
                yield result


def run_online(config: OnlineConfig, on_start: Callable[[str, int], None] | None = None,
               store: ResultsStore | None = None, prepared: OnlinePlan | None = None, jobs: int = 1,
               checkpoint_seconds: float = 30.0) -> Iterator[RunResult]:  # fmt: skip
    """Run every (schedule, seed) of ``config`` (resuming from ``store``); yield one result per evaluation.

    As :func:`duelgym.experiment.run_all`: ``jobs`` forked workers with one torch thread each give the same
    results as one process; finished runs are skipped; checkpoints every ``checkpoint_seconds`` of work.
    """
    prepared = prepared or plan_online(config)
    jobs = check_int("jobs", jobs, minimum=1)
    recorded = set(store.recorded) if store is not None else set()
    pending = []
    for name in config.schedules:
        for seed in config.seeds:
            if (name, seed, config.queries) in recorded:
                if store is not None:
                    store.finish(name, seed)
                continue
            pending.append((name, seed))
    # Offline and periodic optimise at every budget: the longest runs go first so that parallel jobs end together.
    pending.sort(key=lambda task: SCHEDULES[task[0]].mode == "online")
    yield from run_pending(prepared, pending, store, recorded, jobs, on_start, checkpoint_seconds, _run_one)


def online_ceiling(config: OnlineConfig) -> float | None:
    """:data:`EMBEDDED_CEILING` on the embedded default (any feedback temperature: scoring uses the fixed reference
    rater), ``None`` for other raters, LMs or prompts."""
    return EMBEDDED_CEILING if set(config.env_kwargs) <= {"temperature"} else None


def _fit_entry(fit: PowerLawFit | None) -> dict[str, Any] | None:
    return None if fit is None else fit._asdict()


def extend_summary(records: list[dict[str, Any]], summary: dict[str, Any], ceiling: float | None = None) -> None:
    """Add to an online summary:

    * ``vs_offline``: per schedule, the queries its mean curve needs to reach offline's final mean win rate and
      stay there, and the multiplier against offline, with paired seed-bootstrap 95% intervals
      (:func:`~duelgym.experiment.report.reach_targets`; left out while the schedules have run different seeds);
    * ``fits``: the paper's w(n) = 1 − ½ (n/a)^(−b) per schedule, fit to its mean curve (a, b, rmse, points,
      ceiling 1); with a known ``ceiling`` (the best response's win rate) also ``fits_ceiling``, the same form
      with that ceiling, w(n) = c − (c − ½)(n/a)^(−b);
    * ``extrapolation``: by the ceiling fits where there are some (else the paper's), the labels each schedule
      would need to match offline's fitted win rate at 1×, 10× and 100× the run's budget, and the gain offline's
      labels / the schedule's: extrapolations, not measurements. ``extrapolation_ceiling`` says which ceiling.
    """
    agent_curves = curves(records)
    seed_counts = {len(values) for _, values in agent_curves.values()}
    if summary["target"] is not None and len(seed_counts) == 1:
        reached = reach_targets(agent_curves, [summary["target"]], True, baselines=("offline",))
        summary["vs_offline"] = {name: entries[0] for name, entries in reached.items()}
    means = {name: (queries, values.mean(axis=0)) for name, (queries, values) in agent_curves.items()}
    summary["fits"] = {name: _fit_entry(fit_win_rate_curve(q, w)) for name, (q, w) in means.items()}
    chosen = summary["fits"]
    if ceiling is not None:
        summary["fits_ceiling"] = {
            name: _fit_entry(fit_win_rate_curve(q, w, ceiling)) for name, (q, w) in means.items()
        }
        chosen = summary["fits_ceiling"]
    summary["extrapolation_ceiling"] = 1.0 if ceiling is None else ceiling
    offline = chosen.get("offline")
    if offline is None or not records:
        return
    horizon = max(r["queries"] for r in records)
    reference = PowerLawFit(**offline)
    rows = []
    for budget in (horizon, 10 * horizon, 100 * horizon):
        target = float(reference.win_rate(budget))
        row: dict[str, Any] = {"offline_labels": budget, "offline_win_rate": target, "labels": {}, "gain": {}}
        for name, entry in chosen.items():
            if name == "offline" or entry is None or not 0.5 < target < entry["ceiling"]:
                continue
            labels = PowerLawFit(**entry).labels_for(target)
            row["labels"][name] = labels if math.isfinite(labels) else None
            row["gain"][name] = budget / labels if math.isfinite(labels) and labels > 0 else None
        rows.append(row)
    summary["extrapolation"] = rows


def _fits_table(title: str, fitted: dict[str, Any]) -> list[str]:
    lines = [title, "", "| schedule | a | b | rmse | points |", "|---|---|---|---|---|"]
    for name, fit in fitted.items():
        if fit is None:
            lines.append(f"| {name} | no fit (fewer than 2 points between ½ and the ceiling) | | | |")
        else:
            lines.append(f"| {name} | {fit['a']:.3g} | {fit['b']:.3f} | {fit['rmse']:.4f} | {fit['points']} |")
    return [*lines, ""]


def online_markdown(summary: dict[str, Any]) -> str:
    """The online additions to ``summary.md``: the multipliers against offline with intervals, the fits and the
    extrapolation."""
    lines = []
    if "vs_offline" in summary:
        lines += [f"Queries to reach offline's final win rate {summary['target']:.3f} and stay there, and how many "
                  "times fewer than offline (95% paired seed-bootstrap intervals):", "",
                  "| schedule | queries | x vs offline |", "|---|---|---|"]  # fmt: skip
        for name, entry in summary["vs_offline"].items():
            lines.append(f"| {name} | {queries_text(entry['queries'], entry['queries_interval'])} | "
                         f"{multiplier_text(entry['multipliers'].get('offline'))} |")  # fmt: skip
        lines.append("")
    lines += _fits_table("The paper's form w(n) = 1 − ½ (n/a)^(−b), fit per schedule to its mean curve (rmse in "
                         "win-rate units):", summary.get("fits", {}))  # fmt: skip
    ceiling = summary.get("extrapolation_ceiling", 1.0)
    if "fits_ceiling" in summary:
        lines += _fits_table(f"With the env's ceiling c = {ceiling:.4f} (the best response's win rate): w(n) = c − "
                             "(c − ½)(n/a)^(−b):", summary["fits_ceiling"])  # fmt: skip
    rows = summary.get("extrapolation", [])
    if rows:
        names = sorted({n for row in rows for n in row["labels"]})
        lines += [f"Extrapolated by the fits with ceiling {ceiling:.4f} (not measured): labels each schedule needs to "
                  "match offline's fitted win rate at a budget, and the gain (offline's labels / the schedule's):",
                  "", "| offline labels | offline w | " + " | ".join(names) + " |",
                  "|---|---|" + "---|" * len(names)]  # fmt: skip
        for row in rows:
            cells = []
            for name in names:
                labels, gain = row["labels"].get(name), row["gain"].get(name)
                cells.append("never" if labels is None else f"{labels:,.0f} ({gain:.1f}x)")
            lines.append(f"| {row['offline_labels']:,} | {row['offline_win_rate']:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_online_reports(directory: Path, ceiling: float | None = None) -> dict[str, Any]:
    """``summary.json``, ``summary.md`` and ``curves.png`` of an online results directory (offline the baseline;
    ``ceiling``: the best response's win rate, when known, for the ceiling fits)."""

    def extend(records: list[dict[str, Any]], summary: dict[str, Any]) -> str:
        extend_summary(records, summary, ceiling)
        return online_markdown(summary)

    return write_reports(directory, METRIC, True, None, baseline="offline", extend=extend)


def execute_online(config: OnlineConfig, out: Path, console: Console, display: bool = True, jobs: int = 1,
                   checkpoint_seconds: float = 30.0) -> dict[str, Any]:  # fmt: skip
    """Run (or resume) ``config`` into ``out`` and write the reports (everything checked before anything is
    written); returns the summary."""
    jobs = check_int("jobs", jobs, minimum=1)
    prepared = plan_online(config)
    store = ResultsStore.open(out, config)  # type: ignore[arg-type]  # duck-typed: to_dict, evaluates_at, batch_size
    if store.warning:
        console.print(f"[yellow]warning: {store.warning}")
    if store.recorded and display:
        console.print(f"resuming the run in {out}: {len(store.recorded)} results already written")
    with progress_display(console, display) as progress:
        tasks: dict[tuple[str, int], Any] = {}

        def on_start(name: str, seed: int) -> None:
            tasks[name, seed] = progress.add_task(f"{name} seed {seed}", total=config.queries, status="")

        for result in run_online(config, on_start, store, prepared, jobs, checkpoint_seconds):
            store.append(result.record(METRIC))
            progress.update(tasks[result.agent, result.seed], completed=result.queries,
                            status=f"win rate {result.value:.3f}")  # fmt: skip
    return write_online_reports(out, online_ceiling(config))
