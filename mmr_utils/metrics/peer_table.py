"""All the peer benchmarks' metrics (:mod:`mmr_utils.metrics.peer`) at once: for one frontier, one router, the
references, and a table over routers; plus the call shares at the Ps operating point."""

from __future__ import annotations

import numpy as np

from mmr_utils.metrics.decision import choose_models
from mmr_utils.metrics.peer import (
    FRONTIER_METRICS,
    References,
    aiq,
    apgr,
    cost_at_accuracy,
    cpt,
    hypervolume,
    nauc_orbit,
    orbit_quantile_points,
    savings_ratio,
)
from mmr_utils.metrics.protocol import as_float, budget_sweep, nauc, pareto_frontier
from mmr_utils.metrics.references import oracle_choice, random_official


def choices_at_peak(U, P, Y, C, *, rule: str = "threshold", fallback: str = "cheapest",
                    ties: str = "cheapest") -> np.ndarray:
    """Each row's chosen model at the operating point that attains Ps: among the sweep's operating points with the
    highest mean accuracy, the cheapest, and among equal ones the first in sweep order (lowest threshold / lambda):
    the decision at that threshold, or inside the lambda interval that produces that point."""
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    sweep = budget_sweep(U, P, Y, C, rule=rule, fallback=fallback, ties=ties)
    peak = np.asarray(sweep)
    top = peak[:, 1] == peak[:, 1].max()
    j = int(np.flatnonzero(top & (peak[:, 0] == peak[top, 0].min()))[0])
    if rule == "threshold":
        return choose_models(U, P, budget=sweep.param[j], fallback=fallback, ties=ties)
    lam = (sweep.param[j] + sweep.param[j + 1]) / 2 if j + 1 < len(sweep) else 2 * sweep.param[j] + 1
    return choose_models(U, P, lam=lam)


def call_shares(choices, k: int) -> np.ndarray:
    """Share of rows sent to each of the ``k`` models, from per-row model indices."""
    choices = np.asarray(choices)
    if choices.ndim != 1 or len(choices) == 0:
        raise ValueError(f"choices must be a non-empty 1-D array of model indices, got shape {choices.shape}")
    if choices.min() < 0 or choices.max() >= k:
        raise ValueError(f"choices must lie in [0, {k}), got values in [{choices.min()}, {choices.max()}]")
    return np.bincount(choices.astype(np.int64), minlength=k) / len(choices)


def share_entropy(shares, *, normalize: bool = True) -> float:
    """Shannon entropy ``-sum p log p`` (natural log, 0 log 0 = 0) of call shares; ``normalize`` divides by ``log K``
    so 0 means one model takes every call and 1 means calls are spread evenly (K = 1 gives 0)."""
    shares = np.asarray(shares, dtype=float)
    if shares.ndim != 1 or np.any(shares < 0) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"shares must be a 1-D non-negative vector summing to 1, got {shares}")
    p = shares[shares > 0]
    entropy = float(-np.sum(p * np.log(p)))
    if normalize:
        return entropy / float(np.log(len(shares))) + 0.0 if len(shares) > 1 else 0.0
    return entropy + 0.0  # no negative zero


def metrics_from_frontier(frontier, refs: References, *, names=FRONTIER_METRICS, aiq_upper: float | None = None,
                          hv_reference=None) -> dict:
    """The frontier metrics ``names`` (of :data:`FRONTIER_METRICS`) against ``refs``; ``aiq_upper`` and
    ``hv_reference`` default to the shared upper cost (and accuracy 0)."""
    unknown = set(names) - set(FRONTIER_METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; expected some of {FRONTIER_METRICS}")
    frontier = pareto_frontier(frontier)
    lo, hi = refs.cost_range
    best, weak = refs.single[refs.best], refs.single[refs.weak]
    out = {}
    for name in names:
        if name == "nAUC":
            out[name] = nauc(frontier, protocol="official")
        elif name == "nAUC_shared":
            out[name] = nauc(frontier, protocol="shared", cost_range=(lo, hi)) if hi > lo else float("nan")
        elif name == "Ps":
            out[name] = float(frontier[:, 1].max())
        elif name in ("QNC", "cost_at_best", "savings"):
            cost = cost_at_accuracy(frontier, best[1])
            if name == "cost_at_best":
                out[name] = cost
            elif name == "savings":
                out[name] = savings_ratio(frontier, best)
            elif best[0] <= 0:  # as evaluation.quality_neutral_cost
                out[name] = 0.0 if cost <= 0 else float("inf")
            else:
                out[name] = float(cost / best[0])
        elif name == "AIQ":
            out[name] = aiq(frontier, hi if aiq_upper is None else aiq_upper)
        elif name == "APGR":
            out[name] = apgr(frontier, weak, best)
        elif name == "APGR_10":
            out[name] = apgr(frontier, weak, best, grid=10)
        elif name in ("CPT50", "CPT80"):
            out[name] = cpt(frontier, weak, best, int(name[3:]) / 100)
        elif name == "nAUC_orbit":
            out[name] = nauc_orbit(frontier, (lo, hi), anchor=refs.min_cost_point)
        elif name == "HV":
            reference = (hi, 0.0) if hv_reference is None else hv_reference
            out[name] = hypervolume(frontier, reference, normalize=True) if reference[0] > 0 else float("nan")
    return out


def _complete(U, P, Y, C):
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    if not (U.shape == P.shape == Y.shape == C.shape) or U.ndim != 2:
        raise ValueError(f"U, P, Y, C must share one (n x K) shape, got {U.shape}, {P.shape}, {Y.shape}, {C.shape}")
    complete = np.isfinite(Y).all(axis=1) & np.isfinite(C).all(axis=1)
    if not complete.any():
        raise ValueError("no complete rows to evaluate: every row of Y/C has a missing cell")
    return U[complete], P[complete], Y[complete], C[complete], int((~complete).sum())


def peer_metrics(U, P, Y, C, *, rule: str = "threshold", cost_range=None, aiq_upper: float | None = None,
                 hv_reference=None, orbit_budgets: int = 100, fallback: str = "cheapest",
                 ties: str = "cheapest") -> dict:
    """Every metric of one router on its test rows (:data:`FRONTIER_METRICS`, ``nAUC_orbit_q100``), the call
    ``shares`` at the Ps point and their ``share_entropy``; incomplete rows are dropped (``rows_dropped``)."""
    U, P, Y, C, dropped = _complete(U, P, Y, C)
    refs = References.from_outcomes(Y, C, cost_range=cost_range)
    frontier = pareto_frontier(budget_sweep(U, P, Y, C, rule=rule, fallback=fallback, ties=ties))
    out = metrics_from_frontier(frontier, refs, aiq_upper=aiq_upper, hv_reference=hv_reference)
    out["nAUC_orbit_q100"] = nauc_orbit(orbit_quantile_points(U, P, Y, C, max_budgets=orbit_budgets),
                                        refs.cost_range, anchor=refs.min_cost_point)
    shares = call_shares(choices_at_peak(U, P, Y, C, rule=rule, fallback=fallback, ties=ties), Y.shape[1])
    out.update(shares=shares, share_entropy=share_entropy(shares), rows=int(len(Y)), rows_dropped=dropped)
    return out


def reference_peer_metrics(Y, C, *, random_trials: int = 50, random_seed: int = 42, cost_range=None,
                           aiq_upper: float | None = None, hv_reference=None) -> dict:
    """``{name: metrics}`` for ``Random`` (official trials; shares of the trial attaining Ps), ``Best Single`` and
    ``Oracle``, on the complete rows."""
    Y, C = as_float(Y), as_float(C)
    _, _, Y, C, dropped = _complete(Y, C, Y, C)
    n, k = Y.shape
    refs = References.from_outcomes(Y, C, cost_range=cost_range)
    kw = dict(aiq_upper=aiq_upper, hv_reference=hv_reference)

    random = random_official(Y, C, trials=random_trials, seed=random_seed)
    points = random["points"]
    top = points[:, 1] == points[:, 1].max()
    peak_trial = int(np.flatnonzero(top & (points[:, 0] == points[top, 0].min()))[0])
    draws = np.random.default_rng(random_seed)  # the same draws as random_official, replayed to the peak trial
    for _ in range(peak_trial + 1):
        random_pick = draws.integers(0, k, size=n)

    best = np.full(n, refs.best)
    oracle = oracle_choice(Y, C)
    out = {}
    for name, pts, choices in (("Random", points, random_pick),
                               ("Best Single", refs.single[[refs.best]], best),
                               ("Oracle", np.array([refs.oracle]), oracle)):
        metrics = metrics_from_frontier(pts, refs, **kw)
        metrics["nAUC_orbit_q100"] = metrics["nAUC_orbit"]  # no thresholds to subsample
        shares = call_shares(choices, k)
        metrics.update(shares=shares, share_entropy=share_entropy(shares), rows=n, rows_dropped=dropped)
        out[name] = metrics
    return out


def peer_metrics_table(predictions, Y, C, *, models=None, references: bool = True, study: str | None = None,
                       rule: str = "threshold", random_trials: int = 50, random_seed: int = 42, **kwargs):
    """One row per router (``predictions``: name -> ``(U, P)`` on the rows of ``Y``, ``C``; with ``references`` also
    the reference rows) of every :func:`peer_metrics` metric, ``share[<model>]`` and row counts."""
    import pandas as pd

    Y, C = as_float(Y), as_float(C)
    k = Y.shape[-1]
    models = [f"m{j}" for j in range(k)] if models is None else [str(m) for m in models]
    if len(models) != k:
        raise ValueError(f"{len(models)} model names for arrays with {k} columns")
    if not predictions and not references:
        raise ValueError("no routers to tabulate: predictions is empty and references=False")
    records = []
    for name, pair in predictions.items():
        if len(pair) != 2:
            raise ValueError(f"predictions[{name!r}] must be a (U, P) pair, got {len(pair)} items")
        U, P = pair
        if as_float(U).shape != Y.shape:
            raise ValueError(f"predictions[{name!r}]: U has shape {as_float(U).shape}, expected {Y.shape} like Y")
        records.append((str(name), "router", peer_metrics(U, P, Y, C, rule=rule, **kwargs)))
    if references:
        ref_kw = {key: kwargs[key] for key in ("cost_range", "aiq_upper", "hv_reference") if key in kwargs}
        for name, metrics in reference_peer_metrics(Y, C, random_trials=random_trials, random_seed=random_seed,
                                                    **ref_kw).items():
            records.append((name, "reference", metrics))
    rows = []
    for name, kind, metrics in records:
        row = {} if study is None else {"study": study}
        row.update(router=name, kind=kind)
        row.update({key: value for key, value in metrics.items() if key != "shares"})
        row.update({f"share[{model}]": float(s) for model, s in zip(models, metrics["shares"])})
        rows.append(row)
    return pd.DataFrame(rows)
