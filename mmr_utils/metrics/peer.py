"""Peer benchmarks' routing metrics computed from the same predictions as MMR-Bench's.

numpy only; :mod:`mmr_utils.metrics.peer_table` runs them all for one router or a table of them. Every function takes what MMR-Bench's own
metrics take: operating points or a Pareto frontier (:mod:`mmr_utils.metrics.protocol`), and reference points computed from
the true outcomes ``Y`` and costs ``C`` of the test rows (:class:`References`). Costs are mean true cost per query,
accuracies mean true correctness, as in :func:`mmr_utils.metrics.protocol.budget_sweep`.

==================  =====================================================================================  =============
name                what                                                                                   source
==================  =====================================================================================  =============
``AIQ``             area under the non-decreasing concave hull of (cost, accuracy), extended flat to an    RouterBench
                    upper cost, divided by it                                                              (Hu et al.
                                                                                                           2024)
``APGR``            average performance gap recovered between the cheapest (weak) and the best single      RouteLLM
                    (strong) model, exact integral over the normalised cost; ``APGR_10`` the 10-point      (Ong et al.
                    discretisation                                                                         2024)
``CPT50/CPT80``     normalised cost needed to recover 50% / 80% of that gap                                RouteLLM
``nAUC_orbit``      ORBIT's area: shared cost interval, trapezoids between Pareto points, best affordable  ORBIT (same
                    accuracy at the lower bound, last accuracy carried to the upper; the exact sweep plus  group as
                    the cheapest-true-model anchor point; ``nAUC_orbit_q100`` the same on ORBIT's 100       MMR-Bench)
                    quantile thresholds
``cost_at_best``    cheapest frontier cost reaching the best single model's accuracy; ``savings`` = 1 -    QNC's
                    that cost / the best single model's cost                                               companions
``HV``              Pareto hypervolume (cost minimised, accuracy maximised) against a reference point,     multi-objective
                    normalised by the box between the ideal point (0, 1) and the reference                 convention
``share_*``         share of queries sent to each model at the operating point that attains Ps, and the   this project
                    normalised Shannon entropy of those shares
==================  =====================================================================================  =============
"""

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

# name -> (what it measures, where it comes from, True if higher is better)
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


# --------------------------------------------------------------------------- reference points
@dataclass(frozen=True)
class References:
    """Everything the peer metrics need from the true outcomes of the test rows.

    ``single``: (K x 2) mean cost and accuracy of always calling each model; ``cost_range``: the shared cost interval
    (:func:`mmr_utils.metrics.protocol.shared_cost_range`); ``min_cost_point``: (cost, accuracy) of sending each row to its
    cheapest true model (ORBIT's anchor policy; ties: the lower index); ``oracle``: (cost, accuracy) of
    :func:`mmr_utils.metrics.protocol.oracle_choice`.
    """

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


# --------------------------------------------------------------------------- curve helpers
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
    """``1 - cost_at_accuracy(frontier, a_b) / c_b`` for the best single model's point ``best_point = (c_b, a_b)``:
    the share of the best single model's cost saved while matching its accuracy (this project's reading of "cost at
    best-single accuracy"; it equals ``1 - QNC``). NaN when the frontier never reaches ``a_b`` or ``c_b <= 0``;
    negative when it reaches it only at a higher cost."""
    c_b, a_b = map(float, best_point)
    cost = cost_at_accuracy(frontier, a_b, atol=atol)
    if not np.isfinite(cost) or c_b <= 0:
        return float("nan")
    return 1.0 - cost / c_b


def nondecreasing_hull(points) -> np.ndarray:
    """RouterBench's "non-decreasing convex hull": the upper concave envelope of the (cost, accuracy) points from the
    cheapest point (the most accurate one at that cost) up to the most accurate point, as an (h x 2) array sorted by
    cost. Any point on it is attainable by randomly mixing two routers' operating points, which is why RouterBench
    scores the hull rather than the points. Computed by Andrew's monotone chain; collinear points are dropped."""
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
    """RouterBench's AIQ (average improvement in quality; Hu et al. 2024, "RouterBench", Sec. on metrics, and its
    code ``evaluation/AIQ.py``):

        AIQ = 1 / (upper - lower) * integral_{lower}^{upper} H(c) dc,

    where ``H`` is :func:`nondecreasing_hull` of the points, linear between hull points, carried flat from its last
    point to ``upper`` and 0 below its cheapest point. Defaults follow RouterBench's code: ``lower = 0`` (the code
    integrates the hull from its first point and divides by the largest cost) and ``upper`` = the largest cost among
    the routers compared (here: the points' own largest cost when not given; :func:`peer_metrics` passes the shared
    upper cost, the mean row-max true cost, which bounds every policy's cost, so AIQ does not depend on which routers
    share a table). [uncertain] The paper writes the normalisation as ``1 / (c_max - c_min)`` over ``[c_min,
    c_max]``; pass ``lower=c_min`` for that variant.
    """
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
    """RouteLLM's performance gap recovered at normalised cost ``s`` (Ong et al. 2024, Eq. 6), generalised from two
    models to a cost-accuracy frontier: ``PGR(s) = (A(c_w + s (c_s - c_w)) - a_w) / (a_s - a_w)``, where ``A(x)`` is
    the best frontier accuracy at mean cost <= x and (c_w, a_w), (c_s, a_s) are the weak and strong models' points.
    ``s`` replaces RouteLLM's share of calls to the strong model (with two models of fixed price they coincide).
    Budgets where no operating point is affordable count as PGR 0. NaN everywhere when ``a_s <= a_w``."""
    frontier = pareto_frontier(frontier)
    s = np.asarray(s, dtype=float)
    gap = _gap(weak, strong)
    if gap is None:
        return np.full(s.shape, np.nan)
    c_w, a_w, c_s, a_s = gap
    acc = _envelope(frontier, c_w + s * (c_s - c_w))
    return np.where(np.isnan(acc), 0.0, (acc - a_w) / (a_s - a_w))


def apgr(frontier, weak, strong, *, grid: int | None = None) -> float:
    """RouteLLM's APGR (average performance gap recovered; Ong et al. 2024, Eq. 7): ``integral_0^1 PGR(s) ds`` with
    :func:`pgr`. ``grid=None`` integrates the step function exactly; ``grid=N`` is RouteLLM's discretisation (Eq. 8)
    as the mean of PGR at ``s = 1/N, 2/N, ..., 1`` ([uncertain] whether RouteLLM's N evenly spaced call shares
    include 0 or not; we exclude it). NaN when the strong model is not more accurate than the weak one."""
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
    """RouteLLM's CPT(x%) (call-performance threshold; Ong et al. 2024): the smallest normalised cost ``s >= 0`` at
    which :func:`pgr` reaches ``target`` (0.5 for CPT(50%)). ``inf`` when the frontier never recovers that share of
    the gap (e.g. a router that never reaches the strong model's accuracy has CPT(100%) = inf); NaN when the strong
    model is not more accurate than the weak one. Values above 1 mean more than the strong model's cost."""
    frontier = pareto_frontier(frontier)
    gap = _gap(weak, strong)
    if gap is None:
        return float("nan")
    c_w, a_w, c_s, a_s = gap
    cost = cost_at_accuracy(frontier, a_w + float(target) * (a_s - a_w), atol=atol)
    return float(max(0.0, (cost - c_w) / (c_s - c_w))) if np.isfinite(cost) else float("inf")


def nauc_orbit(points, cost_range, *, anchor=None) -> float:
    """ORBIT's normalised AUC (LAMDA-Model-Reuse/ORBIT, ``utils/metrics.py::normalized_auc`` as called by
    ``methods/base.py``; the MMR-Bench authors' later toolbox). On the Pareto frontier of ``points`` plus ``anchor``
    (ORBIT adds the policy "each row's cheapest true model", :attr:`References.min_cost_point`) and a shared cost
    interval ``[lo, hi]`` (the mean row-min and row-max true costs): the curve starts at ``(lo, best accuracy
    affordable at lo, else 0)``, takes every frontier point strictly inside ``(lo, hi)``, ends at ``(hi, best
    accuracy affordable at hi)``; nAUC = trapezoid area / (hi - lo). Unlike ``nauc(protocol="shared")`` it
    interpolates linearly between points (a step envelope would be attainable; a chord is attainable only by mixing
    policies). ``hi == lo`` gives the best affordable accuracy."""
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
    """ORBIT's approximate sweep (``utils/metrics.py::build_tradeoff_points``): when there are more than
    ``max_budgets`` unique predicted costs, the thresholds are ``unique(quantile(unique costs, linspace(0, 1,
    max_budgets)))``; a row with no affordable model goes to its cheapest predicted model; equal utilities go to the
    lower model index (``np.argmax``). Returns :class:`mmr_utils.metrics.protocol.OperatingPoints`; an approximation of the
    exact sweep, kept to show how much the quantile subset moves nAUC."""
    if int(max_budgets) < 1:
        raise ValueError(f"max_budgets must be positive, got {max_budgets}")
    unique = np.unique(as_float(P))
    budgets = (np.unique(np.quantile(unique, np.linspace(0.0, 1.0, int(max_budgets))))
               if unique.size > max_budgets else unique)
    return naive_budget_sweep(U, P, Y, C, params=budgets, ties="index")


def hypervolume(frontier, reference, *, normalize: bool = False) -> float:
    """2-D Pareto hypervolume with cost minimised and accuracy maximised: the area of the points ``(c, a)`` with
    ``c <= c_ref``, ``a >= a_ref`` that some operating point dominates (``c_i <= c``, ``a_i >= a``), for the
    reference point ``reference = (c_ref, a_ref)``. Equals ``integral_{-inf}^{c_ref} max(0, A(c) - a_ref) dc`` with
    ``A`` the frontier's step envelope. ``normalize`` divides by ``c_ref * (1 - a_ref)``, the box between the ideal
    point (cost 0, accuracy 1) and the reference (costs must be >= 0 for it to lie in [0, 1])."""
    frontier = pareto_frontier(frontier)
    c_ref, a_ref = map(float, reference)
    kept = frontier[(frontier[:, 0] <= c_ref) & (frontier[:, 1] >= a_ref)]
    area = float(np.sum((kept[:, 1] - a_ref) * np.diff(np.r_[kept[:, 0], c_ref]))) if len(kept) else 0.0
    if not normalize:
        return area
    if not (c_ref > 0 and a_ref < 1):
        raise ValueError(f"normalised hypervolume needs c_ref > 0 and a_ref < 1, got {reference}")
    return area / (c_ref * (1.0 - a_ref))
