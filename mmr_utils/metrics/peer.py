"""Peer benchmarks' routing metrics computed from the same predictions as MMR-Bench's (numpy only).

Inputs as for MMR-Bench's metrics: operating points or a frontier (:mod:`mmr_utils.metrics.protocol`) and
:class:`References` from the test rows' ``Y`` and ``C`` (mean true cost per query, mean correctness).
:data:`METRIC_INFO` says what each measures and its source; :mod:`mmr_utils.metrics.peer_table` runs them all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmr_utils.metrics.protocol import (
    as_float,
    as_points,
    check_arrays,
    naive_budget_sweep,
    pareto_frontier,
    shared_cost_range,
)
from mmr_utils.metrics.references import oracle_choice

#: name -> (what it measures, where it comes from, True if higher is better)
METRIC_INFO = {
    "nAUC": ("area under the frontier over its own cost span / that span", "MMR-Bench official code", True),
    "nAUC_shared": ("area under the frontier's step envelope over the shared cost interval", "this project", True),
    "Ps": ("best accuracy on the frontier", "MMR-Bench Sec. 3.3", True),
    "QNC": ("cost reaching the best single model's accuracy / its cost", "MMR-Bench Sec. 3.3", False),
    "AIQ": ("area under the non-decreasing concave hull, flat to the upper cost, / upper cost",
            "RouterBench (Hu et al. 2024)", True),
    "APGR": ("mean performance gap recovered, weak=cheapest, strong=best single, exact integral",
             "RouteLLM (Ong et al. 2024), generalised to K models", True),
    "APGR_10": ("APGR as the mean over the normalised costs 0.1, ..., 1.0", "RouteLLM Eq. 8 discretisation", True),
    "CPT50": ("normalised cost to recover 50% of the weak-strong gap", "RouteLLM (Ong et al. 2024)", False),
    "CPT80": ("normalised cost to recover 80% of the weak-strong gap", "RouteLLM (Ong et al. 2024)", False),
    "nAUC_orbit": ("ORBIT's shared-interval trapezoid nAUC on the exact sweep", "ORBIT utils/metrics.py", True),
    "nAUC_orbit_q100": ("ORBIT's nAUC on at most 100 quantile thresholds (approximation)", "ORBIT methods/base.py",
                        True),
    "cost_at_best": ("cheapest frontier cost reaching the best single model's accuracy", "this project", False),
    "savings": ("1 - cost_at_best / best single model's cost (= 1 - QNC)", "this project", True),
    "HV": ("Pareto hypervolume vs (upper shared cost, accuracy 0), / the box to the ideal point (0, 1)",
           "multi-objective convention", True),
    "share_entropy": ("Shannon entropy of the call shares at the Ps operating point / log K", "this project", None),
}
FRONTIER_METRICS = ("nAUC", "nAUC_shared", "Ps", "QNC", "AIQ", "APGR", "APGR_10", "CPT50", "CPT80", "nAUC_orbit",
                    "cost_at_best", "savings", "HV")


@dataclass(frozen=True)
class References:
    """What the peer metrics need from the test rows' true outcomes: ``single`` (K x 2 mean cost and accuracy per
    model), the shared ``cost_range``, ``min_cost_point`` (each row to its cheapest true model, ORBIT's anchor) and
    the ``oracle`` point (:func:`mmr_utils.metrics.references.oracle_choice`)."""

    single: np.ndarray
    cost_range: tuple[float, float]
    min_cost_point: tuple[float, float]
    oracle: tuple[float, float]

    @classmethod
    def from_outcomes(cls, Y, C, *, cost_range=None) -> References:
        Y, C = as_float(Y), as_float(C)
        check_arrays(Y=Y, C=C)
        rows = np.arange(len(Y))
        cheapest = np.argmin(C, axis=1)
        oracle = oracle_choice(Y, C)
        return cls(
            single=np.column_stack([C.mean(axis=0), Y.mean(axis=0)]),
            cost_range=shared_cost_range(C) if cost_range is None else tuple(map(float, cost_range)),
            min_cost_point=(float(C[rows, cheapest].mean()), float(Y[rows, cheapest].mean())),
            oracle=(float(C[rows, oracle].mean()), float(Y[rows, oracle].mean())),
        )

    @property
    def best(self) -> int:
        """The best single model: highest accuracy, then lower cost, then lower index (as ``best_single_model``)."""
        cost, acc = self.single[:, 0], self.single[:, 1]
        return int(np.lexsort((np.arange(len(acc)), cost, -acc))[0])

    @property
    def weak(self) -> int:
        """RouteLLM's weak model generalised: the cheapest single model (ties: more accurate, then lower index)."""
        cost, acc = self.single[:, 0], self.single[:, 1]
        return int(np.lexsort((np.arange(len(acc)), -acc, cost))[0])


def _envelope(frontier: np.ndarray, x) -> np.ndarray:
    """Step envelope of a Pareto frontier: the best accuracy at cost <= x; NaN where nothing is affordable."""
    at = np.searchsorted(frontier[:, 0], np.asarray(x, dtype=float), side="right") - 1
    return np.where(at >= 0, frontier[np.maximum(at, 0), 1], np.nan)


def cost_at_accuracy(frontier, target: float, *, atol: float = 1e-12) -> float:
    """The cheapest frontier cost whose accuracy is at least ``target`` (``inf`` when none is)."""
    frontier = pareto_frontier(frontier)
    reaching = frontier[frontier[:, 1] >= target - atol]
    return float(reaching[0, 0]) if len(reaching) else float("inf")


def savings_ratio(frontier, best_point, *, atol: float = 1e-12) -> float:
    """``1 - cost_at_accuracy(frontier, a_b) / c_b`` for the best single model's point ``(c_b, a_b)`` (= 1 - QNC):
    the share of its cost saved while matching its accuracy; NaN when never reached or ``c_b <= 0``."""
    c_b, a_b = map(float, best_point)
    cost = cost_at_accuracy(frontier, a_b, atol=atol)
    if not np.isfinite(cost) or c_b <= 0:
        return float("nan")
    return 1.0 - cost / c_b


def nondecreasing_hull(points) -> np.ndarray:
    """RouterBench's "non-decreasing convex hull": the upper concave envelope of the (cost, accuracy) points from the
    cheapest up to the most accurate point (h x 2, by cost; Andrew's monotone chain, collinear points dropped)."""
    points = as_points(points)
    order = np.lexsort((-points[:, 1], points[:, 0]))
    ordered = points[order]
    first_at_cost = np.r_[True, ordered[1:, 0] != ordered[:-1, 0]]
    hull: list[np.ndarray] = []
    for p in ordered[first_at_cost]:
        while len(hull) >= 2:
            (ox, oy), (ax, ay) = hull[-2], hull[-1]
            # Drop the middle point when it is on or below the chord from hull[-2] to p.
            if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    hull_array = np.array(hull)
    return hull_array[: int(np.argmax(hull_array[:, 1])) + 1]


def aiq(points, upper: float | None = None, *, lower: float = 0.0) -> float:
    """RouterBench's AIQ (Hu et al. 2024, ``evaluation/AIQ.py``): ``1 / (upper - lower) * integral H(c) dc`` over
    ``[lower, upper]``, ``H`` the :func:`nondecreasing_hull` (linear between points, flat after the last, 0 before the
    first). ``lower = 0`` as in its code ([uncertain] its paper uses ``[c_min, c_max]``: pass ``lower=c_min``);
    ``upper`` defaults to the largest cost (the peer table passes the shared one)."""
    points = as_points(points)
    hull = nondecreasing_hull(points)
    upper = float(points[:, 0].max() if upper is None else upper)
    lower = float(lower)
    if not upper > lower:
        raise ValueError(f"AIQ needs upper > lower, got lower={lower}, upper={upper}")
    xs = np.unique(np.r_[lower, upper, np.clip(hull[:, 0], lower, upper)])
    left, right = xs[:-1], xs[1:]
    # H is linear on each [left, right]; take its right-limit at ``left`` and its left-limit at ``right``.
    start = hull[0, 0]
    h_left = np.where(left >= start, np.interp(left, hull[:, 0], hull[:, 1]), 0.0)
    h_right = np.where(right > start, np.interp(right, hull[:, 0], hull[:, 1]), 0.0)
    return float(np.sum((h_left + h_right) / 2 * (right - left)) / (upper - lower))


def _gap(weak, strong) -> tuple[float, float, float, float] | None:
    c_w, a_w = map(float, weak)
    c_s, a_s = map(float, strong)
    if not a_s > a_w:
        return None
    if not c_s > c_w:
        raise ValueError(f"the strong model {(c_s, a_s)} must cost more than the weak model {(c_w, a_w)}")
    return c_w, a_w, c_s, a_s


def pgr(frontier, weak, strong, s) -> np.ndarray:
    """RouteLLM's performance gap recovered (Ong et al. 2024, Eq. 6) on a frontier: ``PGR(s) = (A(c_w + s (c_s -
    c_w)) - a_w) / (a_s - a_w)``, ``A(x)`` the best frontier accuracy at cost <= x (0 when nothing is affordable),
    ``(c_w, a_w)``/``(c_s, a_s)`` the weak and strong models. NaN when ``a_s <= a_w``."""
    frontier = pareto_frontier(frontier)
    s = np.asarray(s, dtype=float)
    gap = _gap(weak, strong)
    if gap is None:
        return np.full(s.shape, np.nan)
    c_w, a_w, c_s, a_s = gap
    acc = _envelope(frontier, c_w + s * (c_s - c_w))
    return np.where(np.isnan(acc), 0.0, (acc - a_w) / (a_s - a_w))


def apgr(frontier, weak, strong, *, grid: int | None = None) -> float:
    """RouteLLM's APGR (Eq. 7): ``integral_0^1 PGR(s) ds``, exact for ``grid=None``; ``grid=N`` is the mean of PGR at
    ``s = 1/N, ..., 1`` (Eq. 8; [uncertain] whether RouteLLM includes 0). NaN when ``a_s <= a_w``."""
    frontier = pareto_frontier(frontier)
    gap = _gap(weak, strong)
    if gap is None:
        return float("nan")
    if grid is not None:
        if int(grid) < 1:
            raise ValueError(f"grid must be a positive number of points, got {grid}")
        return float(pgr(frontier, weak, strong, np.arange(1, int(grid) + 1) / int(grid)).mean())
    c_w, a_w, c_s, a_s = gap
    s_points = (frontier[:, 0] - c_w) / (c_s - c_w)
    edges = np.unique(np.r_[0.0, s_points[(s_points > 0) & (s_points < 1)], 1.0])
    # The step function on [edge_i, edge_i+1), looked up on the s scale itself so that a point's own breakpoint is
    # never lost to rounding in c_w + s (c_s - c_w).
    at = np.searchsorted(s_points, edges[:-1], side="right") - 1
    values = np.where(at >= 0, (frontier[np.maximum(at, 0), 1] - a_w) / (a_s - a_w), 0.0)
    return float(np.sum(values * np.diff(edges)))


def cpt(frontier, weak, strong, target: float, *, atol: float = 1e-12) -> float:
    """RouteLLM's CPT(x%): the smallest normalised cost ``s >= 0`` at which :func:`pgr` reaches ``target`` (0.5 for
    CPT(50%)); ``inf`` when never reached, NaN when ``a_s <= a_w``."""
    frontier = pareto_frontier(frontier)
    gap = _gap(weak, strong)
    if gap is None:
        return float("nan")
    c_w, a_w, c_s, a_s = gap
    cost = cost_at_accuracy(frontier, a_w + float(target) * (a_s - a_w), atol=atol)
    return float(max(0.0, (cost - c_w) / (c_s - c_w))) if np.isfinite(cost) else float("inf")


def nauc_orbit(points, cost_range, *, anchor=None) -> float:
    """ORBIT's normalised AUC (``utils/metrics.py::normalized_auc``, the MMR-Bench authors' later toolbox): on the
    frontier of ``points`` + ``anchor`` (:attr:`References.min_cost_point`), the curve ``(lo, best affordable at lo,
    else 0)`` -> points in ``(lo, hi)`` -> ``(hi, best affordable at hi)``; trapezoid area / (hi - lo) (linear, unlike
    ``nauc(protocol="shared")``); ``hi == lo``: the accuracy at hi."""
    points = as_points(points)
    if anchor is not None:
        points = np.vstack([points, np.asarray(anchor, dtype=float).reshape(1, 2)])
    frontier = pareto_frontier(points)
    lo, hi = map(float, cost_range)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise ValueError(f"cost_range must be finite with lo <= hi, got ({lo}, {hi})")
    at_hi = _envelope(frontier, hi)
    end = 0.0 if np.isnan(at_hi) else float(at_hi)
    if hi == lo:
        return end
    at_lo = _envelope(frontier, lo)
    inside = frontier[(frontier[:, 0] > lo) & (frontier[:, 0] < hi)]
    xs = np.r_[lo, inside[:, 0], hi]
    ys = np.r_[0.0 if np.isnan(at_lo) else float(at_lo), inside[:, 1], end]
    return float(np.sum((ys[1:] + ys[:-1]) * np.diff(xs)) / 2.0 / (hi - lo))


def orbit_quantile_points(U, P, Y, C, *, max_budgets: int = 100):
    """ORBIT's approximate sweep (``build_tradeoff_points``): at most ``max_budgets`` thresholds, quantiles of the
    unique predicted costs; no affordable model -> the cheapest predicted; ties -> the lower index."""
    if int(max_budgets) < 1:
        raise ValueError(f"max_budgets must be positive, got {max_budgets}")
    unique = np.unique(as_float(P))
    budgets = (np.unique(np.quantile(unique, np.linspace(0.0, 1.0, int(max_budgets))))
               if unique.size > max_budgets else unique)
    return naive_budget_sweep(U, P, Y, C, params=budgets, ties="index")


def hypervolume(frontier, reference, *, normalize: bool = False) -> float:
    """2-D Pareto hypervolume (cost minimised, accuracy maximised) against ``reference = (c_ref, a_ref)``:
    ``integral^{c_ref} max(0, A(c) - a_ref) dc`` with ``A`` the step envelope; ``normalize`` divides by the box
    ``c_ref * (1 - a_ref)`` to the ideal point (0, 1)."""
    frontier = pareto_frontier(frontier)
    c_ref, a_ref = map(float, reference)
    kept = frontier[(frontier[:, 0] <= c_ref) & (frontier[:, 1] >= a_ref)]
    area = float(np.sum((kept[:, 1] - a_ref) * np.diff(np.r_[kept[:, 0], c_ref]))) if len(kept) else 0.0
    if not normalize:
        return area
    if not (c_ref > 0 and a_ref < 1):
        raise ValueError(f"normalised hypervolume needs c_ref > 0 and a_ref < 1, got {reference}")
    return area / (c_ref * (1.0 - a_ref))
