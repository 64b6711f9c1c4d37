"""Experiments: run configurations, kinds of experiment, the runner, the results store and reports (the
``duelgym`` command)."""

from duelgym.experiment.config import QUICK, ConfigError, RunConfig
from duelgym.experiment.kinds import ExperimentKind, Trial, register_kind
from duelgym.experiment.report import summarize
from duelgym.experiment.runner import plan, run_all
from duelgym.experiment.store import ResultsStore, read_metrics

__all__ = [
    "QUICK",
    "ConfigError",
    "ExperimentKind",
    "ResultsStore",
    "RunConfig",
    "Trial",
    "plan",
    "read_metrics",
    "register_kind",
    "run_all",
    "summarize",
]
