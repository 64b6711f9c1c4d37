"""The configuration of a comparison run: which env, which agents, how many seeds and queries."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from duelgym._validation import check_int

__all__ = ["BASELINE_QUERIES", "QUICK", "ConfigError", "RunConfig", "check_device", "check_no_repeats", "check_seeds"]

#: The passive baselines' default budget: 8× the others', so that they reach the targets (issue 11: 51,200).
BASELINE_QUERIES = {"passive": 51200, "passive-enn": 51200}


def check_no_repeats(name: str, values: tuple[Any, ...]) -> None:
    """A ``ValueError`` naming the values of ``name`` that appear more than once."""
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{name} must not repeat: {', '.join(repeated)} appear more than once in {values}")


def check_seeds(seeds: tuple[Any, ...]) -> None:
    """At least one seed, each an int >= 0, none repeated."""
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    for seed in seeds:
        check_int("seed", seed, minimum=0)
    check_no_repeats("seeds", seeds)


def check_device(device: str) -> None:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (whether it can be used here is the runner's check)."""
    if device not in ("cpu", "cuda", "auto") and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")


class ConfigError(ValueError):
    """Bad user input to an experiment (config values, env kwargs, agents that cannot run as asked, results
    directories): the ``duelgym`` command prints its message on one line. Any other exception is a bug and keeps its
    traceback."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's results (``out`` and the display do not).

    Attributes:
        env: Env id (default ``"LLMDuel-v0"``).
        env_kwargs: Keyword arguments for ``duelgym.make_vec`` (never ``split``: runs train on the train split and
            evaluate on held-out prompts or contexts).
        agents: Agent names, each of which must run as configured; empty means every registered agent that fits
            the env and the reward model (the others are left out with their reason). No repeats.
        seeds: One run per agent and seed. No repeats.
        queries: Rater queries per run (a multiple of ``batch_size``).
        agent_queries: Queries of the agents that run longer (or shorter) than ``queries``, by name: by default the
            passive baselines run 51,200 queries, long enough to reach the targets the others are measured at (an
            agent not in the comparison is ignored; each value a multiple of ``batch_size``).
        batch_size: Queries per batch (the vector env's ``num_envs``).
        dense_queries: Evaluate after every batch up to this many queries, so that no early query count (where
            exploration makes its difference) rests on interpolation between coarse points.
        eval_every: Batches between evaluations after ``dense_queries`` and up to ``queries``; past ``queries`` (the
            longer baselines) the spacing doubles with every doubling of the queries, which keeps the points evenly
            spread on the log-x curves.
        reward_model: Override every agent's reward model (``"point"`` or ``"enn"``), or ``None`` for their defaults.
        num_particles: ENN particles when the reward model is an ENN.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        num_candidates: Candidates per prompt on LLMDuel-v0.
        eval_prompts: Eval prompts for the win rate on LLMDuel-v0 (held out of the user's ``prompts`` when given;
            held-out contexts on synthetic envs).
    """

    env: str = "LLMDuel-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agents: tuple[str, ...] = ()
    #: Five seeds: the fewest that give the headline's seed-bootstrap intervals some meaning (issue 11).
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    #: 6,400 queries for the exploring agents, 51,200 for the passive baselines (``agent_queries``): the whole
    #: default comparison fits the 15 minutes on 2 CPU cores the main job allows (README).
    queries: int = 6400
    agent_queries: dict[str, int] = field(default_factory=lambda: dict(BASELINE_QUERIES))
    batch_size: int = 32
    dense_queries: int = 1024
    eval_every: int = 10
    reward_model: Literal["point", "enn"] | None = None
    num_particles: int = 10
    device: str = "cpu"
    num_candidates: int = 64
    eval_prompts: int = 300

    def __post_init__(self) -> None:
        batch = check_int("batch_size", self.batch_size, minimum=1)
        queries = check_int("queries", self.queries, minimum=1)
        if queries % batch:
            raise ValueError(f"queries must be a multiple of batch_size={batch}, got {queries}")
        check_int("eval_every", self.eval_every, minimum=1)
        check_int("dense_queries", self.dense_queries, minimum=0)
        if not isinstance(self.agent_queries, dict):
            raise TypeError(f"agent_queries must be a dict of agent name -> queries, got {self.agent_queries!r}")
        for agent, count in self.agent_queries.items():
            check_int(f"agent_queries[{agent!r}]", count, minimum=1)
            if count % batch:
                raise ValueError(f"agent_queries[{agent!r}] must be a multiple of batch_size={batch}, got {count}")
        check_int("num_particles", self.num_particles, minimum=1)
        check_int("num_candidates", self.num_candidates, minimum=2)
        check_int("eval_prompts", self.eval_prompts, minimum=1)
        check_seeds(self.seeds)
        check_no_repeats("agents", self.agents)
        if self.reward_model not in (None, "point", "enn"):
            raise ValueError(f"reward_model must be 'point', 'enn' or None, got {self.reward_model!r}")
        check_device(self.device)
        if not isinstance(self.env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a dict, got {type(self.env_kwargs).__name__}")
        if "split" in self.env_kwargs:
            raise ValueError(
                f"env_kwargs must not set split (got split={self.env_kwargs['split']!r}): runs train on the train "
                "split and evaluate on held-out prompts or contexts"
            )

    def queries_of(self, agent: str) -> int:
        """The queries ``agent`` runs (``agent_queries`` or ``queries``)."""
        return self.agent_queries.get(agent, self.queries)

    def num_batches(self, agent: str) -> int:
        return self.queries_of(agent) // self.batch_size

    def evaluates_at(self, batch: int, agent: str) -> bool:
        """Whether ``agent``'s run evaluates after ``batch`` batches (1-based): after every batch up to
        ``dense_queries``, then every ``eval_every`` batches (``2^k × eval_every`` between ``2^k`` and ``2^(k+1)``
        times ``queries``), and at the end."""
        done = batch * self.batch_size
        if done <= self.dense_queries or batch == self.num_batches(agent):
            return True
        doublings = max(0, math.floor(math.log2(done / self.queries)))
        return batch % (self.eval_every * 2**doublings) == 0

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """The config of :meth:`to_dict`'s output (other keys, such as a results directory's ``version``, are
        ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if k in ("agents", "seeds") else v for k, v in values.items() if k in names})


#: ``--quick``: a run of about a minute on 2 CPU cores.
QUICK = {
    "queries": 320, "agent_queries": {"passive": 1280, "passive-enn": 1280}, "seeds": (0, 1), "dense_queries": 128,
    "eval_every": 2, "num_candidates": 16, "eval_prompts": 50,
}  # fmt: skip
