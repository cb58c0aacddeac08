"""Bootstrap intervals over test rows, pooled over seeds, and paired tests between routers on the same rows.

:func:`bootstrap_metric` recomputes sweep, frontier, references and metric on ``n_boot`` row resamples (reweighting the
exact sweep's per-row events, :class:`mmr_utils.metrics.protocol.SweepEvents`); :func:`paired_bootstrap` scores two
routers on the same resamples; :func:`combine_seeds` pools seeds; :func:`uncertainty_table` renders "0.745 ± 0.012"
cells with Holm-corrected marks against a reference row. Metrics: names in
:data:`mmr_utils.metrics.peer.FRONTIER_METRICS` or a callable ``metric(U, P, Y, C) -> float``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mmr_utils.metrics.peer import FRONTIER_METRICS, References
from mmr_utils.metrics.peer_table import metrics_from_frontier
from mmr_utils.metrics.protocol import as_float, check_arrays, pareto_frontier, sweep_events
from mmr_utils.metrics.references import oracle_choice

Metric = str | Callable


@dataclass(frozen=True)
class BootstrapResult:
    """A metric on the full rows (``estimate``), its ``level`` percentile interval ``[low, high]``, the
    ``replicates`` (NaN where undefined) and the share of them that is defined (``valid``)."""

    metric: str
    estimate: float
    low: float
    high: float
    level: float
    replicates: np.ndarray
    n_boot: int
    seed: int
    valid: float


@dataclass(frozen=True)
class PairedResult(BootstrapResult):
    """:class:`BootstrapResult` of ``a - b`` on the same resamples, with the two-sided bootstrap ``p_value``."""

    p_value: float = float("nan")
    replicates_a: np.ndarray | None = None
    replicates_b: np.ndarray | None = None


@dataclass(frozen=True)
class SeedSummary:
    """Several seeds combined by :func:`combine_seeds`."""

    metric: str
    estimate: float
    low: float
    high: float
    level: float
    between_sd: float
    n_seeds: int
    replicates: np.ndarray
    p_value: float = float("nan")


def _check_level(level: float) -> float:
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), e.g. 0.95, got {level}")
    return level


def _check_n_boot(n_boot) -> int:
    if int(n_boot) != n_boot or int(n_boot) < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    return int(n_boot)


def _metric_name(metric: Metric) -> str:
    if callable(metric):
        return getattr(metric, "__name__", "metric")
    if metric not in FRONTIER_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected a callable or one of {FRONTIER_METRICS}")
    return metric


def resample_indices(n: int, n_boot: int, seed) -> np.ndarray:
    """(n_boot x n) row indices drawn with replacement; the same seed gives the same resamples (pairing)."""
    if int(n) < 1:
        raise ValueError(f"need at least one row to resample, got n={n}")
    return np.random.default_rng(seed).integers(0, int(n), size=(_check_n_boot(n_boot), int(n)))


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    b = len(indices)
    flat = (indices + np.arange(b)[:, None] * n).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def percentile_interval(replicates, level: float = 0.95) -> tuple[float, float]:
    """The ``level`` percentile interval of bootstrap replicates, NaNs ignored (order statistics if any infinite)."""
    level = _check_level(level)
    reps = np.asarray(replicates, dtype=float)
    reps = reps[~np.isnan(reps)]
    if len(reps) == 0:
        return float("nan"), float("nan")
    method = "linear" if np.all(np.isfinite(reps)) else "inverted_cdf"
    low, high = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2], method=method)
    return float(low), float(high)


def bootstrap_p_value(differences) -> float:
    """Two-sided bootstrap p-value of "difference 0": ``min(1, 2 min(#(d <= 0) + 1, #(d >= 0) + 1) / (B + 1))``."""
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return float("nan")
    tail = min(np.sum(d <= 0), np.sum(d >= 0)) + 1
    return float(min(1.0, 2 * tail / (len(d) + 1)))


def _references(W: np.ndarray, Y: np.ndarray, C: np.ndarray, cost_range) -> list[References]:
    """References (:class:`mmr_utils.metrics.peer.References`) of each weighted resample, computed together."""
    rows = np.arange(len(Y))
    total = W.sum(axis=1)
    cheapest, oracle = np.argmin(C, axis=1), oracle_choice(Y, C)
    cost, acc = (W @ C) / total[:, None], (W @ Y) / total[:, None]
    lo, hi = (W @ C.min(axis=1)) / total, (W @ C.max(axis=1)) / total
    min_cost = np.column_stack([W @ C[rows, cheapest], W @ Y[rows, cheapest]]) / total[:, None]
    orc = np.column_stack([W @ C[rows, oracle], W @ Y[rows, oracle]]) / total[:, None]
    return [References(single=np.column_stack([cost[b], acc[b]]),
                       cost_range=(float(lo[b]), float(hi[b])) if cost_range is None else cost_range,
                       min_cost_point=tuple(min_cost[b]), oracle=tuple(orc[b])) for b in range(len(W))]


def _replicates(U, P, Y, C, metrics: Sequence[Metric], indices: np.ndarray, *, rule: str, cost_range,
                fallback: str, ties: str, chunk: int = 64) -> tuple[dict, dict]:
    """Point estimates on the full rows and (B,) replicates for each metric."""
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    n, _ = check_arrays(U=U, P=P, Y=Y, C=C)
    if cost_range is not None:
        cost_range = tuple(map(float, cost_range))
    names = [m for m in metrics if not callable(m)]
    funcs = [m for m in metrics if callable(m)]
    estimates, reps = {}, {}
    events = sweep_events(U, P, Y, C, rule, fallback=fallback, ties=ties)
    if names:
        full = References.from_outcomes(Y, C, cost_range=cost_range)
        estimates.update(metrics_from_frontier(pareto_frontier(events.points()), full, names=names))
        out = {name: np.empty(len(indices)) for name in names}
        for start in range(0, len(indices), chunk):
            W = _counts(indices[start:start + chunk], n)
            cost, acc = events.weighted(W)
            for offset, refs in enumerate(_references(W, Y, C, cost_range)):
                frontier = pareto_frontier(np.column_stack([cost[offset], acc[offset]]))
                values = metrics_from_frontier(frontier, refs, names=names)
                for name in names:
                    out[name][start + offset] = values[name]
        reps.update(out)
    for func in funcs:
        name = _metric_name(func)
        estimates[name] = float(func(U, P, Y, C))
        reps[name] = np.array([float(func(U[i], P[i], Y[i], C[i])) for i in indices])
    return estimates, reps


def _result(name, estimate, reps, level, n_boot, seed) -> BootstrapResult:
    low, high = percentile_interval(reps, level)
    return BootstrapResult(name, float(estimate), low, high, level, reps, n_boot, seed, float(np.mean(~np.isnan(reps))))


def bootstrap_metric(U, P, Y, C, metric: Metric = "nAUC_shared", *, n_boot: int = 1000, seed=0,
                     level: float = 0.95, rule: str = "threshold", cost_range=None, fallback: str = "cheapest",
                     ties: str = "cheapest") -> BootstrapResult:
    """Bootstrap percentile interval of one router's metric over its (complete) test rows: ``n_boot`` resamples,
    each with its own sweep, frontier, references and shared cost interval (unless ``cost_range`` fixes it)."""
    level, n_boot, name = _check_level(level), _check_n_boot(n_boot), _metric_name(metric)
    U = as_float(U)
    indices = resample_indices(U.shape[0] if U.ndim == 2 else 0, n_boot, seed)
    estimates, reps = _replicates(U, P, Y, C, [metric], indices, rule=rule, cost_range=cost_range,
                                  fallback=fallback, ties=ties)
    return _result(name, estimates[name], reps[name], level, n_boot, seed)


def _paired(name, est_a, est_b, reps_a, reps_b, level, n_boot, seed) -> PairedResult:
    with np.errstate(invalid="ignore"):
        diff = reps_a - reps_b
        estimate = est_a - est_b
    low, high = percentile_interval(diff, level)
    return PairedResult(name, float(estimate), low, high, level, diff, n_boot, seed, float(np.mean(~np.isnan(diff))),
                        p_value=bootstrap_p_value(diff), replicates_a=reps_a, replicates_b=reps_b)


def paired_bootstrap(U_a, P_a, U_b, P_b, Y, C, metric: Metric = "nAUC_shared", *, n_boot: int = 1000, seed=0,
                     level: float = 0.95, rule: str = "threshold", cost_range=None) -> PairedResult:
    """Paired bootstrap of ``metric(a) - metric(b)``: both routers on the same resamples, so row difficulty cancels."""
    level, n_boot, name = _check_level(level), _check_n_boot(n_boot), _metric_name(metric)
    U_a, U_b = as_float(U_a), as_float(U_b)
    if U_a.shape != U_b.shape:
        raise ValueError(f"router a has predictions of shape {U_a.shape}, router b {U_b.shape}: pair them on the "
                         f"same rows and models")
    indices = resample_indices(U_a.shape[0] if U_a.ndim == 2 else 0, n_boot, seed)
    kw = dict(rule=rule, cost_range=cost_range, fallback="cheapest", ties="cheapest")
    est_a, reps_a = _replicates(U_a, P_a, Y, C, [metric], indices, **kw)
    est_b, reps_b = _replicates(U_b, P_b, Y, C, [metric], indices, **kw)
    return _paired(name, est_a[name], est_b[name], reps_a[name], reps_b[name], level, n_boot, seed)


def constant_policy(model: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(U, P) that always call ``model``: a single model as a "router" for :func:`paired_bootstrap`."""
    if not 0 <= int(model) < int(k):
        raise ValueError(f"model index {model} out of range for {k} models")
    U = np.zeros((int(n), int(k)))
    U[:, int(model)] = 1.0
    return U, np.zeros((int(n), int(k)))


def combine_seeds(results: Sequence[BootstrapResult], *, level: float | None = None) -> SeedSummary:
    """One metric's bootstrap results per seed combined: the mean estimate, the percentile interval of the pooled
    replicates (row sampling and seed spread together, conservative for the mean), ``between_sd`` of the estimates,
    and for paired inputs a p-value from the pooled differences."""
    results = list(results)
    if not results:
        raise ValueError("combine_seeds needs at least one result")
    names = {r.metric for r in results}
    if len(names) != 1:
        raise ValueError(f"results are for different metrics {sorted(names)}; combine one metric at a time")
    level = _check_level(results[0].level if level is None else level)
    estimates = np.array([r.estimate for r in results], dtype=float)
    pooled = np.concatenate([np.asarray(r.replicates, dtype=float) for r in results])
    low, high = percentile_interval(pooled, level)
    paired = all(isinstance(r, PairedResult) for r in results)
    finite = estimates[np.isfinite(estimates)]
    return SeedSummary(metric=names.pop(), estimate=float(estimates.mean()), low=low, high=high, level=level,
                       between_sd=float(finite.std(ddof=1)) if len(finite) > 1 else 0.0, n_seeds=len(results),
                       replicates=pooled, p_value=bootstrap_p_value(pooled) if paired else float("nan"))


def format_mean_interval(estimate, low=None, high=None, *, digits: int = 3, style: str = "pm", pm: str = "±") -> str:
    """"0.745 ± 0.012" (``style="pm"``, half the interval's width) or "0.745 [0.733, 0.757]" (``"interval"``);
    ``estimate`` may be a result object; inf prints as "inf", NaN as "n/a"."""
    if low is None and high is None and hasattr(estimate, "estimate"):
        estimate, low, high = estimate.estimate, estimate.low, estimate.high
    if style not in ("pm", "interval"):
        raise ValueError(f"style must be 'pm' or 'interval', got {style!r}")

    def fmt(value):
        value = float(value)
        if np.isnan(value):
            return "n/a"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}f}"

    if low is None or high is None:
        return fmt(estimate)
    if style == "interval":
        return f"{fmt(estimate)} [{fmt(low)}, {fmt(high)}]"
    half = (float(high) - float(low)) / 2 if np.isfinite([low, high]).all() else float("inf")
    if not np.isfinite(float(estimate)):
        return fmt(estimate)
    return f"{fmt(estimate)} {pm} {fmt(half)}"


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down p-values ``max_{j <= i} min(1, (m - j + 1) p(j))`` (sorted); NaNs stay, not counted in m."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def significance_marks(comparisons: Mapping[str, PairedResult | SeedSummary], *, alpha: float = 0.05,
                       correction: str = "holm"):
    """Which routers differ from the reference: per router (``comparisons``: router -> paired result, router minus
    reference) the difference, its interval, ``p_value``, ``p_adjusted`` (Holm or ``"none"``), ``significant``
    (``p_adjusted < alpha``) and ``mark`` ("▲" higher, "▼" lower)."""
    import pandas as pd

    if correction not in ("holm", "none"):
        raise ValueError(f"correction must be 'holm' or 'none', got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    names = list(comparisons)
    p = np.array([comparisons[name].p_value for name in names], dtype=float)
    adjusted = holm_adjust(p) if correction == "holm" else p
    rows = []
    for name, p_raw, p_adj in zip(names, p, adjusted):
        r = comparisons[name]
        significant = bool(p_adj < alpha)
        rows.append(dict(router=name, metric=r.metric, difference=r.estimate, low=r.low, high=r.high,
                         excludes_zero=bool(r.low > 0 or r.high < 0), p_value=p_raw, p_adjusted=p_adj,
                         significant=significant,
                         mark=("▲" if r.estimate > 0 else "▼") if significant else ""))
    return pd.DataFrame(rows, columns=["router", "metric", "difference", "low", "high", "excludes_zero", "p_value",
                                       "p_adjusted", "significant", "mark"])


def uncertainty_table(splits, metrics: Sequence[str] = ("nAUC_shared", "Ps", "QNC"), *, reference: str | None = None,
                      n_boot: int = 1000, seed: int = 0, level: float = 0.95, alpha: float = 0.05,
                      rule: str = "threshold", digits: int = 3):
    """Router x metric rows of mean ± interval over splits (:func:`combine_seeds`), each ``(Y, C, predictions)`` (router
    -> ``(U, P)``), resampled with seed ``(seed, i)`` for every router (paired). With ``reference`` (a router or ``"Best
    Single"``) also the paired difference, its interval, Holm p-values per metric, ``mark`` and ``cell_marked``."""
    import pandas as pd

    splits = list(splits)
    if not splits:
        raise ValueError("uncertainty_table needs at least one split")
    for metric in metrics:
        _metric_name(metric)
    per_router: dict[str, dict[str, list]] = {}
    per_diff: dict[str, dict[str, list]] = {}
    for i, split in enumerate(splits):
        if len(split) != 3:
            raise ValueError(f"split {i} must be (Y, C, predictions), got {len(split)} items")
        Y, C, predictions = split
        Y, C = as_float(Y), as_float(C)
        predictions = dict(predictions)
        if reference == "Best Single":
            predictions["Best Single"] = constant_policy(References.from_outcomes(Y, C).best, *Y.shape)
        elif reference is not None and reference not in predictions:
            raise ValueError(f"reference {reference!r} is not a router of split {i}: {sorted(predictions)}")
        split_seed = np.random.SeedSequence([int(seed), i])
        indices = resample_indices(len(Y), n_boot, split_seed)
        results = {}
        for name, pair in predictions.items():
            if len(pair) != 2:
                raise ValueError(f"split {i}, router {name!r}: expected a (U, P) pair, got {len(pair)} items")
            est, reps = _replicates(pair[0], pair[1], Y, C, list(metrics), indices, rule=rule, cost_range=None,
                                    fallback="cheapest", ties="cheapest")
            results[name] = (est, reps)
            for metric in metrics:
                per_router.setdefault(name, {}).setdefault(metric, []).append(
                    _result(metric, est[metric], reps[metric], level, n_boot, i))
        if reference is not None:
            ref_est, ref_reps = results[reference]
            for name, (est, reps) in results.items():
                if name == reference:
                    continue
                for metric in metrics:
                    per_diff.setdefault(name, {}).setdefault(metric, []).append(
                        _paired(metric, est[metric], ref_est[metric], reps[metric], ref_reps[metric], level,
                                n_boot, i))
    rows = []
    for name, by_metric in per_router.items():
        for metric, results in by_metric.items():
            s = combine_seeds(results)
            rows.append(dict(router=name, metric=metric, estimate=s.estimate, low=s.low, high=s.high,
                             between_sd=s.between_sd, n_seeds=s.n_seeds,
                             cell=format_mean_interval(s, digits=digits)))
    table = pd.DataFrame(rows)
    if reference is None:
        return table
    marks = []
    for metric in metrics:
        combined = {name: combine_seeds(by_metric[metric]) for name, by_metric in per_diff.items()}
        if combined:
            frame = significance_marks(combined, alpha=alpha)
            marks.append(frame.rename(columns={"difference": "diff", "low": "diff_low", "high": "diff_high"}))
    if marks:
        table = table.merge(pd.concat(marks)[["router", "metric", "diff", "diff_low", "diff_high", "p_value",
                                              "p_adjusted", "significant", "mark"]], on=["router", "metric"],
                            how="left")
    else:
        table = table.assign(mark="")
    table["mark"] = table["mark"].fillna("")
    table["cell_marked"] = table["cell"] + table["mark"].map(lambda m: f" {m}" if m else "")
    return table
