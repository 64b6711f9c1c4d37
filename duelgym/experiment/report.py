"""The analysis: reduce metrics records to ``summary.json``, ``summary.md`` and ``curves.png`` (written atomically)."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from duelgym.evaluation import data_efficiency_multiplier, queries_to_target

__all__ = ["curves", "plot", "summarize", "summary_markdown", "write_atomic"]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(temporary, path)


def curves(records: list[dict[str, Any]], key: str = "value") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per agent: (queries (n,), values (seeds, n)) of ``key``, seeds in ascending order."""
    by_agent: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        if key in record:
            by_agent[record["agent"]][record["seed"]][record["queries"]] = record[key]
    out = {}
    for agent, seeds in by_agent.items():
        queries = sorted(set.intersection(*(set(v) for v in seeds.values())))
        out[agent] = (np.array(queries), np.array([[seeds[s][q] for q in queries] for s in sorted(seeds)]))
    return out


def _stderr(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def summarize(records: list[dict[str, Any]], metric: str, higher_is_better: bool) -> dict[str, Any]:
    """The ``summary.json`` schema: metric, target (passive's final mean) and per-agent figures.

    ``queries_to_target`` interpolates the query count after which each agent's mean curve stays at passive's
    final mean (``null`` when it does not, or when there is no passive run): passive's own curve is noisy near its
    plateau, and a first crossing would credit it with an early fluctuation. ``multiplier`` = passive's queries
    to that target / the agent's.
    """
    agent_curves = curves(records)
    target = float(agent_curves["passive"][1][:, -1].mean()) if "passive" in agent_curves else None
    baseline = None
    if target is not None:
        queries, values = agent_curves["passive"]
        baseline = queries_to_target(np.column_stack([queries, values.mean(axis=0)]), target, higher_is_better, True)
    agents = {}
    for agent, (queries, values) in sorted(agent_curves.items()):
        reach = None
        if target is not None:
            reach = queries_to_target(np.column_stack([queries, values.mean(axis=0)]), target, higher_is_better, True)
        entry = {
            "final_mean": float(values[:, -1].mean()),
            "final_stderr": _stderr(values[:, -1]),
            "queries_to_target": reach,
            "multiplier": data_efficiency_multiplier(baseline, reach),
        }
        regret = curves([r for r in records if r["agent"] == agent], "cumulative_regret").get(agent)
        if regret is not None:
            entry["cumulative_regret_mean"] = float(regret[1][:, -1].mean())
            entry["cumulative_regret_stderr"] = _stderr(regret[1][:, -1])
        agents[agent] = entry
    return {"metric": metric, "higher_is_better": higher_is_better, "target": target, "agents": agents}


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table."""
    metric = summary["metric"].replace("_", " ")
    regret = any("cumulative_regret_mean" in a for a in summary["agents"].values())
    header = f"| agent | final {metric} | queries to passive's final | multiplier vs passive |"
    rule = "|---|---|---|---|"
    if regret:
        header += " cumulative regret |"
        rule += "---|"
    lines = [header, rule]
    for agent, entry in summary["agents"].items():
        reach = "not reached" if entry["queries_to_target"] is None else f"{entry['queries_to_target']:,.0f}"
        multiplier = "n/a" if entry["multiplier"] is None else f"{entry['multiplier']:.2f}x"
        line = f"| {agent} | {entry['final_mean']:.4f} ± {entry['final_stderr']:.4f} | {reach} | {multiplier} |"
        if regret:
            mean, error = entry.get("cumulative_regret_mean", float("nan")), entry.get("cumulative_regret_stderr", 0.0)
            line += f" {mean:,.1f} ± {error:.1f} |"
        lines.append(line)
    target = "none (no passive run)" if summary["target"] is None else f"{summary['target']:.4f}"
    return f"Target (passive's final {metric}): {target}\n\n" + "\n".join(lines) + "\n"


def plot(records: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    """``curves.png``: the metric (and cumulative regret, for synthetic envs) vs queries, log x, mean ± s.e."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("value", summary["metric"].replace("_", " "))]
    if any("cumulative_regret" in r for r in records):
        panels.append(("cumulative_regret", "cumulative strong regret"))
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    # One colour per agent, stable across panels: tab10 repeats after ten agents, so past ten take tab20's.
    agents = sorted({r["agent"] for r in records})
    palette = plt.get_cmap("tab10" if len(agents) <= 10 else "tab20").colors
    colours = {agent: palette[i % len(palette)] for i, agent in enumerate(agents)}
    for axis, (key, label) in zip(axes[0], panels, strict=True):
        for agent, (queries, values) in sorted(curves(records, key).items()):
            mean = values.mean(axis=0)
            error = values.std(axis=0, ddof=1) / math.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
            axis.plot(queries, mean, label=agent, color=colours[agent])
            axis.fill_between(queries, mean - error, mean + error, alpha=0.2, color=colours[agent])
        axis.set_xscale("log")
        axis.set_xlabel("rater queries")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    temporary = path.with_name(path.name + ".tmp.png")
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    os.replace(temporary, path)
