"""Run every agent on one env over several seeds, evaluating what each serves, and append the results.

The experiment package is the only place that wires envs, agents and outputs together. :func:`plan` checks a
config and builds what its runs share (the :class:`~duelgym.experiment.kinds.ExperimentKind` of its env, the
agents that will run); :func:`run_all` is the loop, the same for every kind of env; :func:`execute` runs a config
into a results directory (:class:`~duelgym.experiment.store.ResultsStore`) with a progress display.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import duelgym.agents
from duelgym import _devices
from duelgym._validation import check_finite, check_int
from duelgym.experiment.config import ConfigError, RunConfig
from duelgym.experiment.kinds import ExperimentKind, experiment_kind
from duelgym.experiment.state import StateMismatch, extract_state, restore_state
from duelgym.experiment.store import ResultsStore, write_reports

__all__ = ["CHECKPOINT_SECONDS", "Plan", "RunResult", "execute", "plan", "progress_display", "report_settings",
           "run_all", "run_device", "run_parallel", "run_pending"]  # fmt: skip


@dataclass(frozen=True)
class RunResult:
    """One evaluation: the metric's ``value`` after ``queries`` queries, and the ``extra`` figures beside it."""

    agent: str
    seed: int
    queries: int
    value: float
    extra: dict[str, float]

    def record(self, metric: str) -> dict[str, Any]:
        """The ``metrics.jsonl`` record of this result."""
        return {"agent": self.agent, "seed": self.seed, "queries": self.queries, "metric": metric,
                "value": self.value, **self.extra}  # fmt: skip


_RESULT_FIELDS = {f.name for f in fields(RunResult)}


@dataclass(frozen=True)
class Plan:
    """A checked config and what its runs share.

    Attributes:
        config: The config.
        device: The resolved device (``"auto"`` decided).
        experiment: The kind of experiment of the env, with its shared setup.
        agents: The agents that run, in order.
        left_out: Agents of the default list that cannot run on this env, with the reason (empty when the config
            names its agents).
    """

    config: RunConfig
    device: str
    experiment: ExperimentKind
    agents: tuple[str, ...]
    left_out: dict[str, str] = field(default_factory=dict)


def run_device(device: str) -> str:
    """A config's device, resolved: ``"auto"`` is CUDA when available, else CPU; a ``ConfigError`` if the device
    cannot be used here."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        _devices.resolve_device(device)
    except ValueError as error:
        raise ConfigError(f"--device {device}: {error}") from error
    return device


def _agent_kwargs(config: RunConfig, device: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"device": device}
    if config.reward_model is not None:
        kwargs["reward_model"] = config.reward_model
        if config.reward_model == "enn":
            kwargs["reward_model_kwargs"] = {"num_particles": config.num_particles}
    return kwargs


def resolve_agents(config: RunConfig, env: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    """``(agents, left_out)``: the configured agents, each checked to build for ``env`` as asked (a ``ConfigError``
    naming the first that does not, and why), or every registered agent that builds, with the reason each other
    one is left out. Only ``ValueError`` (an agent saying it does not fit) counts as "does not fit"; any other
    exception from a constructor propagates."""
    known = duelgym.agents.list_agents()
    kwargs = _agent_kwargs(config, "cpu")
    if config.agents:
        unknown = [a for a in config.agents if a not in known]
        if unknown:
            raise ConfigError(f"unknown agent(s) {', '.join(unknown)}; known agents: {', '.join(known)}")
        for name in config.agents:
            try:
                duelgym.agents.make(name, env, seed=0, **kwargs)
            except ValueError as error:
                raise ConfigError(f"agent {name!r} cannot run as asked on {config.env}: {error}") from error
        return config.agents, {}
    agents, left_out = [], {}
    for name in known:
        try:
            duelgym.agents.make(name, env, seed=0, **kwargs)
        except ValueError as error:
            left_out[name] = str(error)
            continue
        agents.append(name)
    if not agents:
        raise ConfigError(f"no agent can run on {config.env} as configured: {left_out}")
    return tuple(agents), left_out


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with one torch thread (restored afterwards). Float reductions, hence an LM's features and a
    reward model's updates, change in their last bits with the thread count, so everything that determines results
    runs on one thread: the same numbers on any machine, and for any ``jobs``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def plan(config: RunConfig, jobs: int = 1) -> Plan:
    """Check ``config`` and build what its runs share (with one torch thread, in up to ``jobs`` processes where the
    experiment kind can split the work); every bad input is a ``ConfigError`` raised here, before a run starts or
    anything is written."""
    jobs = check_int("jobs", jobs, minimum=1)
    device = run_device(config.device)
    with one_torch_thread():
        experiment = experiment_kind(config.env)(config, device, jobs)
        agents, left_out = resolve_agents(config, experiment.probe_env())
    return Plan(config, device, experiment, agents, left_out)


#: Seconds of work between checkpoints of one run: a killed run loses at most about this much. (Saving at every
#: evaluation would write a replay buffer that keeps every comparison, tens of MB, hundreds of times.)
CHECKPOINT_SECONDS = 30.0


def _pending(prepared: Plan, store: ResultsStore | None) -> list[tuple[str, int]]:
    """The (agent, seed) runs that still have work to do, longest first (so that parallel jobs end together);
    finished ones have their checkpoint dropped."""
    config = prepared.config
    recorded = store.recorded if store is not None else set()
    pending = []
    for name in prepared.agents:
        for seed in config.seeds:
            if (name, seed, config.queries_of(name)) in recorded:
                if store is not None:
                    store.finish(name, seed)
                continue
            pending.append((name, seed))
    return sorted(pending, key=lambda task: -config.queries_of(task[0]))  # stable: ties keep their order


def _run_one(
    prepared: Plan,
    name: str,
    seed: int,
    store: ResultsStore | None,
    recorded: set[tuple[str, int, int]],
    checkpoint_seconds: float,
    before_checkpoint: Callable[[], None] = lambda: None,
) -> Iterator[RunResult]:
    """One (agent, seed) run, resumed from its checkpoint if it has one; yields the results not in ``recorded``.

    ``before_checkpoint()`` returns once every result yielded so far has been written (a worker process waits for
    the parent's acknowledgements), so a checkpoint never runs ahead of ``metrics.jsonl`` by more than its own
    result, which it holds."""
    config, experiment, device = prepared.config, prepared.experiment, prepared.device
    trial = experiment.start(seed)
    agent = duelgym.agents.make(name, trial.env, seed=seed, **_agent_kwargs(config, device))
    done = 0
    saved = store.load_checkpoint(name, seed) if store is not None else None
    if saved is not None and store is not None:
        path = store.checkpoint_path(name, seed)
        try:
            if set(saved) != {"agent", "trial", "batch", "result"} or set(saved["result"]) != _RESULT_FIELDS:
                raise StateMismatch(f"state: the saved keys are {sorted(saved)}")
            restore_state(agent, saved["agent"], "agent")
            trial.restore(saved["trial"])
            done = int(saved["batch"])
            result = RunResult(**saved["result"])
        except (StateMismatch, KeyError) as error:
            raise ConfigError(
                f"checkpoint {path} does not fit {name} seed {seed} of this config ({error}); nothing was "
                "changed. Move it out of the directory to restart that run from the beginning"
            ) from error
        if (result.agent, result.seed, result.queries) not in recorded:
            yield result
    last_saved = time.monotonic()
    for batch in range(done + 1, config.num_batches(name) + 1):
        obs = trial.obs
        pairs = agent.select(obs)
        reward = trial.step(pairs)
        metrics = agent.observe(obs, pairs, reward)
        if config.evaluates_at(batch, name):
            extra = {**{k: float(v) for k, v in metrics.items()}, **trial.extras()}
            result = RunResult(name, seed, batch * config.batch_size, trial.evaluate(agent), extra)
            if store is not None and time.monotonic() - last_saved >= checkpoint_seconds:
                before_checkpoint()
                state = {"agent": extract_state(agent), "trial": trial.state(), "batch": batch,
                         "result": vars(result)}  # fmt: skip
                store.save_checkpoint(name, seed, batch, state)
                last_saved = time.monotonic()
            # After a resume, the results between the checkpoint and the kill are computed again (the same
            # numbers: runs are deterministic) but were already written.
            if (name, seed, result.queries) not in recorded:
                yield result


def run_all(
    config: RunConfig,
    on_start: Callable[[str, int], None] | None = None,
    store: ResultsStore | None = None,
    prepared: Plan | None = None,
    jobs: int = 1,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
) -> Iterator[RunResult]:
    """Run every (agent, seed) of ``config``; yield one :class:`RunResult` per evaluation.

    Args:
        config: The run.
        on_start: Called as ``on_start(agent, seed)`` before each (agent, seed) that still has work to do.
        store: Results directory for checkpoints and the results already written (``None``: nothing is saved).
            Each run checkpoints its agent's and trial's state and the loop's position (atomically) at the first
            evaluation after every ``checkpoint_seconds`` of work (``0``: at every evaluation); a later call
            rebuilds each unfinished (agent, seed) from the config, restores its state and continues, yielding
            only the results missing from ``store.recorded``. Finished runs are skipped.
        prepared: The config's :func:`plan`, if already made.
        jobs: Runs in parallel: ``1`` runs them one after the other in this process; more fork that many worker
            processes (one torch thread each), which share what the runs share (the LM, candidates, eval
            matrices) and run whole (agent, seed) runs, longest first. Every run is seeded on its own and, like
            :func:`plan` and the sampling of shared candidates, uses one torch thread (:func:`one_torch_thread`),
            so the results are the same for any ``jobs`` and any number of cores; only their order differs (a
            run's own results stay in order).

    :func:`report_settings` names the metric and its direction.
    """
    jobs = check_int("jobs", jobs, minimum=1)
    prepared = prepared or plan(config, jobs)
    checkpoint_seconds = check_finite("checkpoint_seconds", checkpoint_seconds, minimum=0.0)
    recorded = set(store.recorded) if store is not None else set()
    pending = _pending(prepared, store)
    yield from run_pending(prepared, pending, store, recorded, jobs, on_start, checkpoint_seconds, _run_one,
                           prepared.experiment.warm_up)  # fmt: skip


#: ``run_one(prepared, name, seed, store, recorded, checkpoint_seconds, before_checkpoint)``: one run's results.
RunOne = Callable[..., Iterator[RunResult]]


def run_pending(prepared: Any, pending: list[tuple[str, int]], store: ResultsStore | None,
                recorded: set[tuple[str, int, int]], jobs: int, on_start: Callable[[str, int], None] | None,
                checkpoint_seconds: float, run_one: RunOne,
                warm_up: Callable[[int], None] = lambda jobs: None) -> Iterator[RunResult]:  # fmt: skip
    """Run the ``pending`` (name, seed) runs with one torch thread: one after the other in this process
    (``jobs == 1``) or in :func:`run_parallel`'s workers (after ``warm_up(jobs)``, which computes what the runs
    share before the workers inherit it); finished runs drop their checkpoints. Used by :func:`run_all` and
    ``duelgym online``."""
    with one_torch_thread():  # as in a worker: results do not depend on thread counts
        if jobs == 1 or len(pending) <= 1:
            for name, seed in pending:
                if on_start is not None:
                    on_start(name, seed)
                yield from run_one(prepared, name, seed, store, recorded, checkpoint_seconds)
                if store is not None:
                    store.finish(name, seed)
            return
        jobs = min(jobs, len(pending))
        warm_up(jobs)
        yield from run_parallel(prepared, pending, store, recorded, jobs, on_start,
                                checkpoint_seconds, run_one)  # fmt: skip


def _worker(index: int, prepared: Any, store: ResultsStore | None, recorded: set[tuple[str, int, int]],
            checkpoint_seconds: float, run_one: RunOne, tasks: Any, results: Any, acks: Any) -> None:  # fmt: skip
    """Worker process ``index``: runs (agent, seed) tasks until ``None``, sending (index, "start" | "result" |
    "done" | "error", ...) messages to the parent, which acknowledges each result on ``acks`` once written. It
    exits within a second of the parent's death (a killed ``duelgym run`` leaves no worker behind to write
    checkpoints beside the run that resumes it)."""
    torch.set_num_threads(1)
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    sent = acknowledged = 0

    def wait_until_written() -> None:
        nonlocal acknowledged
        while acknowledged < sent:
            acks.get()
            acknowledged += 1

    try:
        while (task := tasks.get()) is not None:
            name, seed = task
            results.put((index, "start", name, seed))
            for result in run_one(prepared, name, seed, store, recorded, checkpoint_seconds, wait_until_written):
                results.put((index, "result", result))
                sent += 1
            results.put((index, "done", name, seed))
    except BaseException as error:  # the parent re-raises it: nothing fails silently in a worker
        results.put((index, "error", error, traceback.format_exc()))


def run_parallel(
    prepared: Any,
    pending: list[tuple[str, int]],
    store: ResultsStore | None,
    recorded: set[tuple[str, int, int]],
    jobs: int,
    on_start: Callable[[str, int], None] | None,
    checkpoint_seconds: float,
    run_one: RunOne,
) -> Iterator[RunResult]:
    """Run the ``pending`` (name, seed) runs with ``run_one`` in ``jobs`` forked workers (which inherit
    ``prepared``: what the runs share), yielding each result once the caller has taken it; a worker's exception
    is re-raised here with its traceback. Used by :func:`run_all` and ``duelgym online``."""
    context = multiprocessing.get_context("fork")
    tasks, results = context.Queue(), context.Queue()
    acks = [context.Queue() for _ in range(jobs)]
    for task in pending:
        tasks.put(task)
    for _ in range(jobs):
        tasks.put(None)
    workers = [
        context.Process(
            target=_worker,
            args=(index, prepared, store, recorded, checkpoint_seconds, run_one, tasks, results, acks[index]),
            daemon=True,
        )
        for index in range(jobs)
    ]
    for worker in workers:
        worker.start()
    remaining = len(pending)
    try:
        while remaining:
            try:
                message = results.get(timeout=5.0)
            except queue.Empty:
                dead = [w for w in workers if not w.is_alive() and w.exitcode != 0]
                if dead:
                    raise RuntimeError(
                        f"a worker process died (exit code {dead[0].exitcode}) without reporting an error; the "
                        "results written so far are kept, and rerunning the same command resumes the run"
                    ) from None
                continue
            index, kind, *body = message
            if kind == "start" and on_start is not None:
                on_start(*body)
            elif kind == "result":
                yield body[0]  # returns here once the consumer has written it
                acks[index].put(True)
            elif kind == "done":
                remaining -= 1
                if store is not None:
                    store.finish(*body)
            elif kind == "error":
                error, trace = body
                error.add_note(f"raised in a worker process:\n{trace}")
                raise error
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()


def progress_display(console: Console, display: bool = True) -> Progress:
    """The live display of a comparison: one bar per (name, seed) with its latest metric, elapsed and remaining
    time (``display=False``: silent)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    return Progress(*columns, console=console, disable=not display)


def report_settings(config: RunConfig) -> tuple[str, bool, float | None]:
    """(metric name, higher is better, learnable ceiling or ``None``) of a config: what :func:`write_reports` takes."""
    kind = experiment_kind(config.env)
    return kind.metric, kind.higher_is_better, kind.learnable_ceiling(config)


def execute(
    config: RunConfig,
    out: Path,
    console: Console,
    display: bool = True,
    log_formats: tuple[str, ...] = (),
    jobs: int = 1,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
) -> dict[str, Any]:
    """Run (or resume) ``config`` into the results directory ``out`` and write the reports; returns the summary.

    Everything is checked before anything is written (:func:`plan`, then :meth:`ResultsStore.open`): bad input is
    a ``ConfigError``. ``log_formats`` (``"csv"``, ``"tensorboard"``) also send every evaluation to
    stable-baselines3's logger in ``out/logs``, keyed ``<agent>/seed<seed>/<metric>`` with the query count as the
    step. ``jobs`` runs that many (agent, seed) runs in parallel processes, and each run checkpoints after
    ``checkpoint_seconds`` of work (:func:`run_all`).
    """
    jobs = check_int("jobs", jobs, minimum=1)
    unknown = set(log_formats) - {"csv", "tensorboard"}
    if unknown:
        raise ConfigError(f"--log-format takes csv and tensorboard, got {', '.join(sorted(unknown))}")
    prepared = plan(config, jobs)
    for name, reason in prepared.left_out.items():
        console.print(f"[yellow]left out {name}: {escape(reason)}")
    for note in prepared.experiment.notes:
        console.print(f"note: {escape(note)}")
    store = ResultsStore.open(out, config, prepared.left_out)
    if store.warning:
        console.print(f"[yellow]warning: {escape(store.warning)}")
    logger = None
    if log_formats:
        from stable_baselines3.common.logger import configure

        try:
            logger = configure(str(out / "logs"), list(log_formats))
        except (ImportError, AssertionError) as error:
            raise ConfigError(f"--log-format {','.join(log_formats)}: {error}") from error
    if store.recorded and display:
        console.print(f"resuming the run in {out}: {len(store.recorded)} results already written")
    settings = report_settings(config)
    metric = settings[0]
    with progress_display(console, display) as progress:
        tasks: dict[tuple[str, int], Any] = {}

        def on_start(agent: str, seed: int) -> None:
            tasks[agent, seed] = progress.add_task(f"{agent} seed {seed}", total=config.queries_of(agent), status="")

        for result in run_all(config, on_start, store, prepared, jobs, checkpoint_seconds):
            store.append(result.record(metric))
            if logger is not None:
                for key, value in {**result.extra, metric: result.value}.items():
                    logger.record(f"{result.agent}/seed{result.seed}/{key}", value)
                logger.dump(step=result.queries)
            progress.update(tasks[result.agent, result.seed], completed=result.queries,
                            status=f"{metric} {result.value:.3f}")  # fmt: skip
    return write_reports(out, *settings)
