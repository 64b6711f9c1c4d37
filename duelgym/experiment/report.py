"""The analysis: reduce metrics records to ``summary.json``, ``summary.md`` and ``curves.png`` (written atomically)."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from duelgym.evaluation import data_efficiency_multiplier, queries_to_target

__all__ = ["BASELINES", "TARGET_FRACTIONS", "curves", "multiplier_text", "plot", "queries_text", "reach_targets",
           "summarize", "summary_markdown", "write_atomic"]  # fmt: skip

#: The baselines every agent is compared with, when they ran: passive with its default point model (the paper's
#: baseline) and passive with the same ENN as DTS (exploration only: the same reward model on both sides).
BASELINES = ("passive", "passive-enn")
#: Fixed targets as fractions of the learnable ceiling's gain over the start (a win rate of 0.5 on LLMDuel-v0).
TARGET_FRACTIONS = (0.5, 0.75, 0.9)
#: Seed-bootstrap resamples behind every interval (the seeds are resampled jointly across agents: paired).
BOOTSTRAP_DRAWS = 2000


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


def _reach(queries: np.ndarray, values: np.ndarray, target: float, higher_is_better: bool) -> float:
    """Queries after which the mean curve of ``values`` (seeds, n) stays at ``target``; ``inf`` if it does not."""
    reach = queries_to_target(np.column_stack([queries, values.mean(axis=0)]), target, higher_is_better, True)
    return math.inf if reach is None else reach


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _interval(draws: np.ndarray) -> list[float | None]:
    """The 95% percentile interval of bootstrap draws; an end that falls on "not reached" (``inf`` queries, or a
    multiplier of 0 or ``inf`` because one side did not reach the target) is ``null``."""
    low, high = np.quantile(draws, [0.025, 0.975], method="inverted_cdf")
    return [_number(low) if low > 0 else None, _number(high)]


def reach_targets(
    agent_curves: dict[str, tuple[np.ndarray, np.ndarray]],
    targets: list[float],
    higher_is_better: bool,
    seed: int = 0,
    baselines: tuple[str, ...] = BASELINES,
) -> dict[str, list[dict[str, Any]]]:
    """Per agent and target: the queries its mean curve needs to reach the target and stay there, and the
    multipliers against each of ``baselines`` that ran (default :data:`BASELINES`), with seed-bootstrap 95%
    intervals.

    Each bootstrap draw resamples the seeds with replacement, the same seeds for every agent (runs of one seed
    share their queries' prompts, so the comparison is paired), and recomputes every mean curve's crossing. A curve
    that does not reach the target within its run is "not reached": ``queries`` is ``null``, and a multiplier
    against a baseline that did not reach it is not a number but a bound, ``at_least`` = the baseline's queries
    run / the agent's queries. Interval ends are ``null`` where the draws include "not reached".

    Returns ``{agent: [{"target", "queries", "queries_interval", "multipliers": {baseline: {"value",
    "interval", "at_least"}}}, ...]}``, one entry per target in order.
    """
    rng = np.random.default_rng(seed)
    seeds = {len(values) for _, values in agent_curves.values()}
    if len(seeds) != 1:
        raise ValueError(f"every agent must have run the same seeds to be compared, got seed counts {sorted(seeds)}")
    count = seeds.pop()
    draws = rng.integers(count, size=(BOOTSTRAP_DRAWS, count))
    out: dict[str, list[dict[str, Any]]] = {agent: [] for agent in agent_curves}
    for target in targets:
        point = {a: _reach(q, v, target, higher_is_better) for a, (q, v) in agent_curves.items()}
        sampled = {
            a: np.array([_reach(q, v[index], target, higher_is_better) for index in draws])
            for a, (q, v) in agent_curves.items()
        }
        for agent in agent_curves:
            multipliers = {}
            for baseline in baselines:
                if baseline not in agent_curves:
                    continue
                horizon = float(agent_curves[baseline][0][-1])
                with np.errstate(invalid="ignore"):
                    ratios = sampled[baseline] / sampled[agent]  # inf/inf (neither reached) is nan: no number
                ratios = np.where(np.isnan(ratios), np.inf, ratios)
                both = math.isfinite(point[baseline]) and math.isfinite(point[agent])
                multipliers[baseline] = {
                    "value": point[baseline] / point[agent] if both else None,
                    "interval": _interval(ratios),
                    "at_least": horizon / point[agent]
                    if math.isinf(point[baseline]) and math.isfinite(point[agent])
                    else None,
                }
            out[agent].append(
                {
                    "target": float(target),
                    "queries": _number(point[agent]),
                    "queries_interval": _interval(sampled[agent]),
                    "multipliers": multipliers,
                }
            )
    return out


def summarize(
    records: list[dict[str, Any]], metric: str, higher_is_better: bool, ceiling: float | None = None,
    baseline: str = "passive",
) -> dict[str, Any]:  # fmt: skip
    """The ``summary.json`` schema: metric, target (the baseline's final mean), fixed targets and per-agent figures.

    ``queries_to_target`` interpolates the query count after which each agent's mean curve stays at the
    ``baseline`` agent's final mean (``passive`` for ``duelgym run``, ``offline`` for ``duelgym online``; ``null``
    when it does not, or when the baseline did not run): the baseline's own curve is noisy near its plateau, and a
    first crossing would credit it with an early fluctuation. ``multiplier`` = the baseline's queries to that
    target / the agent's.

    With a ``ceiling`` (the learnable ceiling of the metric, e.g. from ``benchmarks/llm_ceiling.py``), the
    summary also has ``ceiling`` and ``targets`` (the start value 0.5 plus each of :data:`TARGET_FRACTIONS` of
    the ceiling's gain over it; win rates only), and each agent a list ``targets`` from :func:`reach_targets`
    (left out while the agents have run different numbers of seeds, e.g. while a run is still going).
    """
    agent_curves = curves(records)
    target = float(agent_curves[baseline][1][:, -1].mean()) if baseline in agent_curves else None
    baseline_reach = None
    if target is not None:
        queries, values = agent_curves[baseline]
        baseline_reach = queries_to_target(np.column_stack([queries, values.mean(axis=0)]), target, higher_is_better,
                                           True)  # fmt: skip
    agents = {}
    for agent, (queries, values) in sorted(agent_curves.items()):
        reach = None
        if target is not None:
            reach = queries_to_target(np.column_stack([queries, values.mean(axis=0)]), target, higher_is_better, True)
        entry = {
            "final_mean": float(values[:, -1].mean()),
            "final_stderr": _stderr(values[:, -1]),
            "queries_to_target": reach,
            "multiplier": data_efficiency_multiplier(baseline_reach, reach),
        }
        regret = curves([r for r in records if r["agent"] == agent], "cumulative_regret").get(agent)
        if regret is not None:
            entry["cumulative_regret_mean"] = float(regret[1][:, -1].mean())
            entry["cumulative_regret_stderr"] = _stderr(regret[1][:, -1])
        agents[agent] = entry
    summary = {"metric": metric, "higher_is_better": higher_is_better, "target": target, "baseline": baseline,
               "agents": agents}  # fmt: skip
    seed_counts = {len(values) for _, values in agent_curves.values()}
    if ceiling is not None and len(seed_counts) == 1:  # a partial run (some seeds missing) has no paired headline
        start = 0.5
        targets = [start + fraction * (ceiling - start) for fraction in TARGET_FRACTIONS]
        summary["ceiling"] = float(ceiling)
        summary["targets"] = [{"fraction": f, "value": t} for f, t in zip(TARGET_FRACTIONS, targets, strict=True)]
        for agent, reached in reach_targets(agent_curves, targets, higher_is_better).items():
            agents[agent]["targets"] = reached
    return summary


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table."""
    metric = summary["metric"].replace("_", " ")
    regret = any("cumulative_regret_mean" in a for a in summary["agents"].values())
    baseline = summary.get("baseline", "passive")
    header = f"| agent | final {metric} | queries to {baseline}'s final | multiplier vs {baseline} |"
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
    target = f"none (no {baseline} run)" if summary["target"] is None else f"{summary['target']:.4f}"
    text = f"Target ({baseline}'s final {metric}): {target}\n\n" + "\n".join(lines) + "\n"
    if "targets" in summary:
        text += "\n" + _targets_markdown(summary)
    return text


def queries_text(value: float | None, interval: list[float | None]) -> str:
    """Queries to a target with its interval, "not reached" where it was not."""
    if value is None:
        return "not reached"
    ends = ["not reached" if end is None else f"{end:,.0f}" for end in interval]
    return f"{value:,.0f} [{ends[0]}, {ends[1]}]"


def multiplier_text(entry: dict[str, Any] | None) -> str:
    """A multiplier entry of :func:`reach_targets` as text: value [interval], a bound, or n/a."""
    if entry is None:
        return "n/a"
    if entry["value"] is None:
        return f"> {entry['at_least']:.1f}x (baseline not reached)" if entry["at_least"] is not None else "n/a"
    low, high = entry["interval"]  # null ends: the agent (low) or the baseline (high) did not reach it in some draws
    low_text = "n.r." if low is None else f"{low:.1f}"
    high_text = "inf" if high is None else f"{high:.1f}"
    return f"{entry['value']:.1f}x [{low_text}, {high_text}]"


def _targets_markdown(summary: dict[str, Any]) -> str:
    """Queries to each fixed target and the multipliers against both baselines, with 95% seed-bootstrap intervals."""
    baselines = [b for b in BASELINES if b in summary["agents"]]
    lines = [f"Learnable ceiling {summary['ceiling']:.3f}; targets are fractions of its gain over 0.5. Queries to "
             "reach a target and stay there, and how many times fewer than each baseline (95% seed-bootstrap "
             "intervals).", ""]  # fmt: skip
    for index, target in enumerate(summary["targets"]):
        lines.append(f"Target {target['value']:.3f} ({target['fraction']:.0%} of the gain):")
        lines.append("")
        lines.append("| agent | queries | " + " | ".join(f"x vs {b}" for b in baselines) + " |")
        lines.append("|---|---|" + "---|" * len(baselines))
        for agent, entry in summary["agents"].items():
            reached = entry["targets"][index]
            cells = [multiplier_text(reached["multipliers"].get(b)) for b in baselines]
            lines.append(f"| {agent} | {queries_text(reached['queries'], reached['queries_interval'])} | "
                         + " | ".join(cells) + " |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


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
