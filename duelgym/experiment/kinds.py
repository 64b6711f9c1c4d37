"""Kinds of experiment: what an env needs to be trained on, evaluated and checkpointed (bsuite's "environment +
config + analysis", one object per kind).

An :class:`ExperimentKind` holds what every (agent, seed) run of a comparison shares (for LLMDuel-v0: the LM, the
candidate pool and the eval win matrix); :meth:`ExperimentKind.start` opens one :class:`Trial`, which owns that
run's env, its current observation, its evaluation and its checkpoint state. The runner's loop only talks to these
two interfaces, so a new kind plugs in beside the built-in ones with :func:`register_kind`.

Built-in kinds:

* :class:`SyntheticExperiment` (every arm-feature env, e.g. LinearDuel-v0): the metric is the simple regret of
  the served arm on held-out contexts of the same instance, with the cumulative strong regret of the queried pairs.
* :class:`LLMExperiment` (LLMDuel-v0): agents choose among cached candidates
  (:class:`~duelgym.envs.candidates.CandidateWrapper`) and the metric is the exact win rate of best-of-N under the
  agent's reward model against the base model's greedy response, on eval prompts no training step ever shows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

import duelgym
from duelgym.envs.candidates import CandidateWrapper
from duelgym.evaluation import win_probabilities
from duelgym.experiment.config import ConfigError, RunConfig
from duelgym.experiment.state import extract_state, restore_state
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool
from duelgym.oracle import choice_entropy

__all__ = [
    "ExperimentKind",
    "LLMExperiment",
    "SyntheticExperiment",
    "Trial",
    "experiment_kind",
    "register_kind",
    "split_prompts",
]

#: Held-out contexts of a synthetic env are drawn with the run's seed plus this offset (never seen in training).
_HELD_OUT_SEED_OFFSET = 1_000_003
#: Best-of-64 win rate of a reward model regressed on the true utilities of the training pool's candidates, on the
#: embedded LLMDuel-v0 default (``python benchmarks/llm_ceiling.py``: 0.919 for the default 64 × 64 architecture
#: and for a 256 × 256 MLP, equal to best-of-64 by true utility): what a reward model on the env's features can
#: reach at best. The summary's targets are fractions of its gain over 0.5.
LEARNABLE_CEILING = 0.919
#: Seed of the fixed shuffle that picks the eval prompts out of a user's prompt list.
_PROMPT_SPLIT_SEED = 0


class Trial(ABC):
    """One (agent, seed) run of an experiment kind: its env, the current observation, evaluation and state."""

    #: The vector env the agent is built for and queries.
    env: Any
    #: The observation batch the agent chooses its next pairs from.
    obs: Any

    @abstractmethod
    def step(self, pairs: Any) -> Any:
        """Query ``pairs`` (B, 2), advance :attr:`obs`, and return the rater's choices (B,)."""

    @abstractmethod
    def evaluate(self, agent: Any) -> float:
        """The kind's metric of what ``agent`` serves."""

    def extras(self) -> dict[str, float]:
        """Figures of the run so far recorded beside each evaluation (none by default)."""
        return {}

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything of the run that changes as it goes (tensors, arrays and plain values, no objects)."""

    @abstractmethod
    def restore(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` of a trial started with the same config and seed."""


class ExperimentKind(ABC):
    """What every run of a comparison on one kind of env shares, and how to start one run.

    Args:
        config: The comparison.
        device: The resolved torch device of models built for it.
        jobs: Processes it may use to compute what its runs share (the same result for any ``jobs``).

    Constructing a kind builds its envs from the config, so bad env kwargs fail here, before anything is written.
    """

    #: Name of the metric :meth:`Trial.evaluate` computes, and whether higher is better.
    metric: ClassVar[str]
    higher_is_better: ClassVar[bool]
    #: The env kwargs ``--quick`` uses when the user gives none (none by default).
    quick_env_kwargs: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: RunConfig, device: str, jobs: int = 1) -> None:
        self.config = config
        self.device = device
        #: What the kind decided on the user's behalf, for the display (for example how prompts were split).
        self.notes: list[str] = []

    @abstractmethod
    def probe_env(self) -> Any:
        """A vector env with the spaces of the runs' envs (agents are built against it to check that they fit)."""

    @abstractmethod
    def start(self, seed: int) -> Trial:
        """A fresh run: its env built and reset with ``seed``."""

    @classmethod
    def learnable_ceiling(cls, config: RunConfig) -> float | None:
        """The best value of the metric a reward model on this env's features can reach, if known (it sets the
        summary's fixed targets); ``None`` by default."""
        return None

    def warm_up(self, jobs: int = 1) -> None:
        """Compute now, with up to ``jobs`` processes, what the runs would otherwise compute lazily and share
        (called before parallel workers fork, so that they inherit it instead of each computing it again).
        Nothing by default."""
        return None


def _make_vec(config: RunConfig, **overrides: Any) -> Any:
    kwargs = {**config.env_kwargs, **overrides}
    try:
        return duelgym.make_vec(config.env, num_envs=config.batch_size, **kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.env} cannot be built with env_kwargs {config.env_kwargs}: {error}") from error


class SyntheticTrial(Trial):
    def __init__(self, env: Any, config: RunConfig, seed: int) -> None:
        self.env = env
        self.obs, _ = env.reset(seed=seed)
        self._contexts = env.unwrapped.problem.draw_contexts(
            np.random.default_rng(seed + _HELD_OUT_SEED_OFFSET), config.eval_prompts
        )
        self.cumulative_regret = 0.0

    def step(self, pairs: Any) -> Any:
        self.obs, reward, _, _, info = self.env.step(pairs)
        # Every episode ends at each step, so the step's own info is under final_info (Gymnasium's SAME_STEP layout).
        self.cumulative_regret += float(np.sum(info["final_info"]["regret_strong"]))
        return reward

    def evaluate(self, agent: Any) -> float:
        contexts = self._contexts
        served = _served(agent, {"arms": contexts.arms}, contexts.scores.shape)
        best = contexts.scores.max(axis=1)
        return float(np.mean(best - contexts.scores[np.arange(len(served)), served]))

    def extras(self) -> dict[str, float]:
        return {"cumulative_regret": self.cumulative_regret}

    def state(self) -> dict[str, Any]:
        return {
            "env": extract_state(self.env),
            "obs": extract_state(self.obs),
            "cumulative_regret": self.cumulative_regret,
        }

    def restore(self, state: dict[str, Any]) -> None:
        restore_state(self.env, state["env"], "env")
        self.obs = restore_state(self.obs, state["obs"], "obs")
        self.cumulative_regret = float(state["cumulative_regret"])


class SyntheticExperiment(ExperimentKind):
    """Arm-feature envs (LinearDuel-v0, MatrixDuel-v0, …): simple regret on held-out contexts of the instance."""

    metric = "simple_regret"
    higher_is_better = False

    def __init__(self, config: RunConfig, device: str, jobs: int = 1) -> None:
        super().__init__(config, device, jobs)
        self._probe = _make_vec(config)

    def probe_env(self) -> Any:
        return self._probe

    def start(self, seed: int) -> Trial:
        return SyntheticTrial(_make_vec(self.config), self.config, seed)


def split_prompts(prompts: Sequence[str], eval_count: int) -> tuple[list[str], list[str]]:
    """(train, eval) of a user's prompt list: ``eval_count`` distinct prompts picked by a fixed shuffle (seed 0)
    for evaluation, every other prompt (in the user's order, repeats kept) for training.

    A ``ConfigError`` if that leaves no training prompt.
    """
    distinct = list(dict.fromkeys(prompts))
    if len(distinct) <= eval_count:
        raise ConfigError(
            f"env_kwargs prompts: {len(distinct)} distinct prompts cannot be split into eval_prompts={eval_count} "
            "held-out prompts and at least 1 training prompt; pass more prompts or set a smaller eval_prompts"
        )
    order = np.random.default_rng(_PROMPT_SPLIT_SEED).permutation(len(distinct))
    held_out = {distinct[i] for i in order[:eval_count]}
    return [p for p in prompts if p not in held_out], [p for p in distinct if p in held_out]


def _served(agent: Any, observations: dict[str, Any], scores_shape: tuple[int, ...]) -> Any:
    """The agent's served candidates of an eval batch, checked: int array (P,) of indices below N."""
    served = np.asarray(agent.respond(observations))
    rows, candidates = scores_shape
    if served.shape != (rows,) or not np.issubdtype(served.dtype, np.integer):
        raise ValueError(f"{type(agent).__name__}.respond must return int indices of shape ({rows},), got {served!r}")
    if served.size and (served.min() < 0 or served.max() >= candidates):
        raise ValueError(f"{type(agent).__name__}.respond returned indices outside [0, {candidates})")
    return served


#: Attributes of the text vector env that follow from the config (a rater may hold a large model): not state.
_CONFIG_PARTS = ("duel", "spec")


class LLMTrial(Trial):
    def __init__(self, experiment: LLMExperiment, seed: int) -> None:
        self.experiment = experiment
        self.env = CandidateWrapper(_make_vec(experiment.config, **experiment.train_kwargs), experiment.pool)
        self.obs, _ = self.env.reset(seed=seed)
        self.entropy_sum, self.queries = 0.0, 0

    def step(self, pairs: Any) -> Any:
        self.obs, reward, _, _, info = self.env.step(pairs)
        p_first = info["final_info"]["p_first"]
        self.entropy_sum += choice_entropy(p_first) * len(p_first)
        self.queries += len(p_first)
        return reward

    def extras(self) -> dict[str, float]:
        """``choice_entropy``: the mean binary entropy (bits) of the feedback rater's choices on the pairs queried so
        far (1 = coin flips, 0 = deterministic): how noisy the feedback is where the agent asks."""
        return {"choice_entropy": self.entropy_sum / max(self.queries, 1)}

    def evaluate(self, agent: Any) -> float:
        wins = self.experiment.wins
        served = _served(agent, {"arms": self.experiment.eval_features}, wins.shape)
        return float(wins[np.arange(len(served)), served].mean())

    def state(self) -> dict[str, Any]:
        # The text env's prompts, rater and spec follow from the config; its generator and prompt ids do not.
        return {"env": extract_state(self.env.env, skip=_CONFIG_PARTS), "prompts": list(self.env.prompts),
                "entropy_sum": self.entropy_sum, "queries": self.queries}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        restore_state(self.env.env, state["env"], "env", skip=_CONFIG_PARTS)
        self.obs = self.env.observe_prompts(tuple(state["prompts"]))
        self.entropy_sum, self.queries = float(state["entropy_sum"]), int(state["queries"])


class LLMExperiment(ExperimentKind):
    """LLMDuel-v0 in fixed-LM mode: the win rate of best-of-N against the base model's greedy response.

    The eval prompts are the env's ``"eval"`` split (``eval_prompts`` of them), disjoint from the train split; with
    the user's own ``prompts`` in the env kwargs, :func:`split_prompts` holds ``eval_prompts`` of them out for
    evaluation and trains on the rest (and says so in :attr:`notes`).

    Attributes:
        eval_env: The single env of the eval prompts (its ``prompts``, ``rater`` and ``base_lm``).
        eval_texts: The N eval candidates of each eval prompt, [P][N].
        greedy: The base model's greedy response to each eval prompt.
        wins: (P, N) exact probabilities that each eval candidate beats the greedy response, from the rater's
            ``p_first`` (checked to be probabilities). The win rate of serving ``served`` (P,) is
            ``wins[rows, served].mean()``, which equals :func:`duelgym.evaluation.win_rate` of those responses.
    """

    metric = "win_rate"
    higher_is_better = True
    #: 640 training prompts instead of 2,000 (the quick runs draw at most 1,280 per seed; sampling the candidates of
    #: all 2,000 took 47 of the 68 s ``--quick`` took with them).
    quick_env_kwargs: ClassVar[dict[str, Any]] = {"num_prompts": 640}

    def __init__(self, config: RunConfig, device: str, jobs: int = 1) -> None:
        super().__init__(config, device, jobs)
        user_prompts = config.env_kwargs.get("prompts")
        if user_prompts is None:
            self.train_kwargs: dict[str, Any] = {}
            eval_kwargs: dict[str, Any] = {"split": "eval", "num_prompts": config.eval_prompts}
        else:
            if isinstance(user_prompts, str) or not isinstance(user_prompts, Sequence):
                raise ConfigError(f"env_kwargs prompts must be a list of str, got {user_prompts!r}")
            train, held_out = split_prompts(user_prompts, config.eval_prompts)
            self.train_kwargs = {"prompts": train}
            eval_kwargs = {"prompts": held_out}
            self.notes.append(
                f"your {len(user_prompts)} prompts are split by a fixed shuffle: {len(held_out)} held out for "
                f"evaluation (eval_prompts), {len(train)} for training"
            )
        try:
            self.eval_env = duelgym.make(config.env, **{**config.env_kwargs, **eval_kwargs})
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{config.env} cannot be built with env_kwargs {config.env_kwargs}: {error}") from error
        self._probe = _make_vec(config, **self.train_kwargs)
        overlap = set(self.eval_env.unwrapped.prompts) & set(self._probe.unwrapped.prompts)
        if overlap:
            raise ConfigError(f"{len(overlap)} eval prompts are also training prompts, e.g. {sorted(overlap)[0]!r}")
        core = self.eval_env.unwrapped
        self.lm = load(core.base_lm, device=device)
        self.pool = CandidatePool(self.lm, config.num_candidates, seed=0)
        prompts = core.prompts
        eval_pool = CandidatePool(self.lm, config.num_candidates, seed=1)
        eval_pool.fill(prompts, jobs)  # 300 prompts: 29 s with one job
        self.eval_texts, features = eval_pool.get(prompts)
        self.eval_features = features.float().cpu().numpy()
        self.greedy = self.lm.greedy(prompts)
        self.wins = np.stack(
            [
                win_probabilities(core, [p] * len(row), row, [g] * len(row))
                for p, row, g in zip(prompts, self.eval_texts, self.greedy, strict=True)
            ]
        )  # (P, N)

    def probe_env(self) -> Any:
        return CandidateWrapper(self._probe, self.pool)

    @classmethod
    def learnable_ceiling(cls, config: RunConfig) -> float | None:
        """:data:`LEARNABLE_CEILING` on the embedded default with 64 candidates and 300 eval prompts, where it was
        measured (any feedback temperature: scoring uses the fixed reference rater); ``None`` for other prompts,
        raters, LMs, candidate or eval-prompt counts."""
        changed = set(config.env_kwargs) - {"temperature"}
        measured = config.num_candidates == 64 and config.eval_prompts == 300
        return LEARNABLE_CEILING if not changed and measured else None

    def warm_up(self, jobs: int = 1) -> None:
        """Sample the candidates of every training prompt in ``jobs`` processes (each prompt's own seed: the same
        as sampled lazily)."""
        self.pool.fill(self._probe.unwrapped.prompts, jobs)

    def start(self, seed: int) -> Trial:
        return LLMTrial(self, seed)


_KINDS: dict[str, type[ExperimentKind]] = {"LLMDuel-v0": LLMExperiment}


def register_kind(env_id: str, kind: type[ExperimentKind]) -> None:
    """Run ``env_id`` as ``kind`` (envs without a kind run as :class:`SyntheticExperiment`)."""
    if not (isinstance(kind, type) and issubclass(kind, ExperimentKind)):
        raise TypeError(f"kind must be a subclass of ExperimentKind, got {kind!r}")
    if env_id in _KINDS:
        raise ValueError(f"env {env_id!r} already has the experiment kind {_KINDS[env_id].__name__}")
    _KINDS[env_id] = kind


def experiment_kind(env: str) -> type[ExperimentKind]:
    """The kind of experiment of an env id, or a ``ConfigError`` listing the known envs."""
    name = env.removeprefix("duelgym/")
    if name not in duelgym.list_envs():
        raise ConfigError(f"unknown env {env!r}; known envs: {', '.join(duelgym.list_envs())}")
    return _KINDS.get(name, SyntheticExperiment)
