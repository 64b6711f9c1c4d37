"""Experiments: run configurations, the runner, results files and reports (the ``duelgym`` command)."""

from duelgym.experiment.config import QUICK, RunConfig
from duelgym.experiment.report import load_metrics, summarize
from duelgym.experiment.runner import run_all

__all__ = ["QUICK", "RunConfig", "load_metrics", "run_all", "summarize"]
