"""Evaluation helpers: regret of a queried pair, queries needed to reach a target, data-efficiency multiplier.

These use the hidden truth (utilities, learning curves) and are meant for whoever evaluates an agent, never for
the agent itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from duelgym.oracle import check_probabilities

__all__ = [
    "PowerLawFit",
    "WinRate",
    "data_efficiency_multiplier",
    "fit_win_rate_curve",
    "max_at_k",
    "pair_diversity",
    "pair_regrets",
    "pass_at_k",
    "queries_to_target",
    "strong_regret",
    "weak_regret",
    "win_probabilities",
    "win_rate",
]


def pair_regrets(
    utilities: ArrayLike, first: ArrayLike, second: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Strong and weak regret of each queried pair, computed together.

    Args:
        utilities: True utilities, shape (..., K): K arms per context.
        first, second: Arm indices, shape (...) (the utilities' batch shape).

    Returns:
        ``(strong, weak)``, float64 arrays of shape (...): strong = 2u* − u_first − u_second and
        weak = u* − max(u_first, u_second). Both are ≥ 0, weak ≤ strong, and both are 0 exactly when the two
        arms are best.
    """
    u = np.asarray(utilities, dtype=np.float64)
    if u.ndim < 1 or u.shape[-1] == 0:
        raise ValueError(f"utilities must have shape (..., K) with K >= 1, got shape {u.shape}")
    first = np.asarray(first)
    second = np.asarray(second)
    if first.shape != u.shape[:-1] or second.shape != u.shape[:-1]:
        raise ValueError(
            f"first and second must have shape {u.shape[:-1]} (the utilities' batch shape), "
            f"got {first.shape} and {second.shape}"
        )
    best = u.max(axis=-1)
    u_first = np.take_along_axis(u, first[..., None], axis=-1)[..., 0]
    u_second = np.take_along_axis(u, second[..., None], axis=-1)[..., 0]
    return (best - u_first) + (best - u_second), best - np.maximum(u_first, u_second)


def strong_regret(utilities: ArrayLike, first: ArrayLike, second: ArrayLike) -> NDArray[np.float64]:
    """Strong regret 2u* − u_first − u_second of each queried pair (shapes as :func:`pair_regrets`)."""
    return pair_regrets(utilities, first, second)[0]


def weak_regret(utilities: ArrayLike, first: ArrayLike, second: ArrayLike) -> NDArray[np.float64]:
    """Weak regret u* − max(u_first, u_second) of each queried pair (shapes as :func:`pair_regrets`)."""
    return pair_regrets(utilities, first, second)[1]


def max_at_k(utilities: ArrayLike, chosen: ArrayLike) -> NDArray[np.float64]:
    """max@k of an exploration policy: the best true utility among the k candidates it played in each context.

    Args:
        utilities: True utilities (..., K).
        chosen: Indices of the k candidates played, (..., k); a queried pair is k = 2, and max@2 = u* − weak regret.

    Returns:
        float64 array (...). Seed 004 proposes max@k (pass@k for binary rewards) as a measure of exploration.
    """
    u = np.asarray(utilities, dtype=np.float64)
    chosen = np.asarray(chosen)
    if chosen.shape[:-1] != u.shape[:-1]:
        raise ValueError(f"chosen must have shape {u.shape[:-1]} + (k,), got {chosen.shape}")
    return np.take_along_axis(u, chosen, axis=-1).max(axis=-1)


def pass_at_k(utilities: ArrayLike, chosen: ArrayLike, tolerance: float = 0.0) -> NDArray[np.bool_]:
    """pass@k: whether one of the k candidates played is within ``tolerance`` of the best, shapes as max@k."""
    best = np.asarray(utilities, dtype=np.float64).max(axis=-1)
    return max_at_k(utilities, chosen) >= best - tolerance


def pair_diversity(pairs: ArrayLike) -> float:
    """Fraction of distinct unordered pairs in a batch of queried pairs (B, 2): 1 when all differ, 1/B when all
    repeat one pair."""
    pairs = np.sort(np.asarray(pairs), axis=1)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
        raise ValueError(f"pairs must have shape (B, 2) with B >= 1, got {pairs.shape}")
    return len(np.unique(pairs, axis=0)) / pairs.shape[0]


def queries_to_target(
    curve: ArrayLike, target: float, higher_is_better: bool = True, sustained: bool = False
) -> float | None:
    """Number of queries at which a learning curve first reaches ``target``, or ``None`` if it never does.

    Args:
        curve: Points ``(queries, metric)``, shape (n, 2), with strictly increasing ``queries``.
        target: The metric value to reach.
        higher_is_better: ``True`` for win rate (reaching means getting up to ``target``); ``False`` for regret
            (reaching means getting down to it).
        sustained: If True, use the crossing after which the curve stays at the target (robust to a noisy curve
            that touches the target early and falls back); if False, the first crossing.

    Returns:
        The queries at the crossing, linearly interpolated between the two points that bracket it (the first
        point's queries if the curve reaches the target from its start), or ``None`` when no point reaches it (or,
        with ``sustained``, the last point does not): "not reached" is never turned into a number.
    """
    points = np.asarray(curve, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(f"curve must have shape (n, 2) with n >= 1 points (queries, metric), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("curve must hold finite numbers only")
    queries, values = points[:, 0], points[:, 1]
    if np.any(np.diff(queries) <= 0):
        raise ValueError(f"curve queries must be strictly increasing, got {queries.tolist()}")
    target = float(target)
    if not math.isfinite(target):
        raise ValueError(f"target must be finite, got {target}")
    reached = values >= target if higher_is_better else values <= target
    if not reached.any() or (sustained and not reached[-1]):
        return None
    i = int(len(reached) - np.argmin(reached[::-1])) if sustained and not reached.all() else int(np.argmax(reached))
    if i == 0:
        return float(queries[0])
    q0, q1, v0, v1 = queries[i - 1], queries[i], values[i - 1], values[i]
    return float(q0 + (target - v0) * (q1 - q0) / (v1 - v0))


class PowerLawFit(NamedTuple):
    """w(n) = c − (c − ½) (n/a)^(−b): the win rate after n labels. With the ceiling c = 1 this is the second
    paper's scaling form w(n) = 1 − ½ (n/a)^(−b); a known lower ceiling (the best response's win rate) keeps an
    extrapolation from promising win rates no response can reach.

    Attributes: ``a`` (labels at which w = ½), ``b`` (the exponent), ``rmse`` (root-mean-square residual of the
    fitted win rates, in win-rate units), ``points`` (how many points it was fit to) and ``ceiling`` (c).
    """

    a: float
    b: float
    rmse: float
    points: int
    ceiling: float = 1.0

    def win_rate(self, labels: ArrayLike) -> NDArray[np.float64]:
        """w(n) at the given label counts."""
        n = np.asarray(labels, dtype=np.float64)
        return self.ceiling - (self.ceiling - 0.5) * (n / self.a) ** (-self.b)

    def labels_for(self, win_rate: float) -> float:
        """The n with w(n) = ``win_rate`` (in (½, c)): a ((c − w) / (c − ½))^(−1/b); ``inf`` where the fit never
        gets there (b ≤ 0)."""
        if not 0.5 < win_rate < self.ceiling:
            raise ValueError(f"win_rate must be in (0.5, {self.ceiling:g}), got {win_rate}")
        if self.b <= 0:
            return math.inf
        return float(self.a * ((self.ceiling - win_rate) / (self.ceiling - 0.5)) ** (-1.0 / self.b))


def fit_win_rate_curve(labels: ArrayLike, win_rates: ArrayLike, ceiling: float = 1.0) -> PowerLawFit | None:
    """Least-squares fit of w(n) = c − (c − ½) (n/a)^(−b) on the log scale where it is linear.

    ln((c − w) / (c − ½)) = −b ln n + b ln a, fit to the points with ½ < w < c (the others carry no information
    about the form: w ≤ ½ is at or below the start, w ≥ c at or above the ceiling). Returns ``None`` with fewer
    than two such points or equal label counts.

    Args:
        labels: (n,) label (query) counts, > 0.
        win_rates: (n,) win rates at those counts.
        ceiling: c in (½, 1]: 1 for the paper's form.
    """
    n = np.asarray(labels, dtype=np.float64)
    w = np.asarray(win_rates, dtype=np.float64)
    if n.shape != w.shape or n.ndim != 1:
        raise ValueError(f"labels and win_rates must be 1-D of the same length, got {n.shape} and {w.shape}")
    if np.any(n <= 0) or not np.isfinite(n).all() or not np.isfinite(w).all():
        raise ValueError("labels must be finite and > 0, win_rates finite")
    if not 0.5 < ceiling <= 1.0:
        raise ValueError(f"ceiling must be in (0.5, 1], got {ceiling}")
    keep = (w > 0.5) & (w < ceiling)
    if keep.sum() < 2 or np.ptp(n[keep]) == 0:
        return None
    x, y = np.log(n[keep]), np.log((ceiling - w[keep]) / (ceiling - 0.5))
    slope, intercept = np.polyfit(x, y, 1)
    b = float(-slope)
    # a = exp(intercept / b) under- or overflows for a nearly flat curve (a = 0 or inf: it never leaves its level),
    # so the residuals come from the fitted line itself.
    with np.errstate(over="ignore", under="ignore"):
        a = float(np.exp(intercept / b)) if b != 0 else math.inf
    fitted = ceiling - (ceiling - 0.5) * np.exp(slope * x + intercept)
    rmse = float(np.sqrt(np.mean((fitted - w[keep]) ** 2)))
    return PowerLawFit(a, b, rmse, int(keep.sum()), float(ceiling))


def data_efficiency_multiplier(baseline_queries: float | None, agent_queries: float | None) -> float | None:
    """How many times fewer queries an agent needs than a baseline to reach the same target.

    Both arguments come from :func:`queries_to_target` on the same target. Returns ``baseline / agent``, or
    ``None`` when either did not reach the target (a multiplier against "not reached" is not a number).
    """
    if baseline_queries is None or agent_queries is None:
        return None
    for name, value in (("baseline_queries", baseline_queries), ("agent_queries", agent_queries)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0 or None, got {value}")
    return float(baseline_queries) / float(agent_queries)


class WinRate(NamedTuple):
    """A win rate over prompts and its standard error (over prompts)."""

    mean: float
    stderr: float


def win_probabilities(
    env: Any, prompts: Sequence[str], responses: Sequence[str], baseline: Sequence[str]
) -> NDArray[np.float64]:
    """The reference rater's exact probability that each response beats its baseline response, shape (P,), float64.

    ``env`` is an LLMDuel env (single or vector) whose ``unwrapped.eval_rater`` (the fixed reference rater, whatever
    the feedback temperature) scores the pairs; the rater's output
    is checked (one probability in [0, 1] per prompt). :func:`win_rate` averages it; the experiment runner calls it
    once per eval prompt for all its cached candidates.
    """
    if len(responses) != len(prompts) or len(baseline) != len(prompts):
        raise ValueError(
            f"need one response and one baseline per prompt: {len(prompts)} prompts, {len(responses)} responses, "
            f"{len(baseline)} baseline responses"
        )
    p_first = env.unwrapped.eval_rater.p_first(list(prompts), list(responses), list(baseline))
    return check_probabilities(p_first, source="the rater", size=len(prompts))


def win_rate(
    respond: Callable[[list[str]], Sequence[str]],
    env: Any,
    prompts: Sequence[str] | None = None,
    baseline: Sequence[str] | None = None,
) -> WinRate:
    """Mean true probability that ``respond``'s response beats the base model's greedy response, per prompt.

    Exact: it averages the reference rater's ``p_first`` (``env.unwrapped.eval_rater``, fixed whatever the feedback
    temperature) instead of sampling choices. Use an env built with
    ``split="eval"`` to evaluate on held-out prompts.

    Args:
        respond: ``respond(prompts) -> list of responses``, the policy being evaluated.
        env: An LLMDuel env (single or vector); its ``prompts``, ``eval_rater`` and ``base_lm`` are used.
        prompts: Prompts to evaluate on (default: all of the env's prompts).
        baseline: The baseline responses (default: greedy decoding of ``env.unwrapped.base_lm``, loaded offline).

    Returns:
        ``WinRate(mean, stderr)``; the base model's greedy response against itself scores exactly ½.
    """
    core = env.unwrapped
    prompts = list(core.prompts if prompts is None else prompts)
    if baseline is None:
        from duelgym.lm import load

        baseline = load(core.base_lm).greedy(prompts)
    p = win_probabilities(core, prompts, list(respond(prompts)), list(baseline))
    stderr = float(p.std(ddof=1) / math.sqrt(len(p))) if len(p) > 1 else 0.0
    return WinRate(float(p.mean()), stderr)
