"""The MMR-Bench evaluation protocol (paper Sec. 3.3), with the official code's defects fixed; numpy only.

Inputs are n x K arrays over the test rows: true correctness ``Y`` and cost ``C``, predicted utility ``U`` and cost
``P``. :func:`budget_sweep` gives operating points (mean true cost, mean true accuracy) at every distinct decision, by
the official threshold rule (a row with no affordable model goes to its cheapest predicted model, not model 0) or
``argmax_k U - lambda * P``; :func:`pareto_frontier`, :func:`peak_score` (Ps), :func:`quality_neutral_cost` (QNC) and
:func:`nauc` summarise a curve. References: :mod:`mmr_utils.metrics.references`; one router's scores:
:func:`mmr_utils.metrics.summary.summarize`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmr_utils.metrics.decision import FALLBACKS, TIE_BREAKS, choose_models

RULES = ("threshold", "lambda")
NAUC_PROTOCOLS = ("official", "shared")


def check_arrays(**arrays) -> tuple[int, int]:
    """The common shape (n, K) of 2-D arrays given by name; a ValueError names the array that differs."""
    shape = None
    for name, array in arrays.items():
        if array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D (n x K) array, got shape {array.shape}")
        if shape is None:
            shape = array.shape
        elif array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape} like the other arrays")
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"{name} contains NaN/inf: the protocol needs complete rows (use OutcomeTable.complete_rows() or "
                f"summarize(), which drops incomplete rows and reports them)"
            )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"empty arrays of shape {shape}")
    return shape


def as_float(array) -> np.ndarray:
    """``array`` as a float ndarray (the protocol computes in float64)."""
    return np.asarray(array, dtype=float)


@dataclass(frozen=True)
class OperatingPoints:
    """A cost-accuracy curve: ``cost[j]``, ``accuracy[j]`` at ``param[j]``; ``np.asarray``: (m x 2) (cost, accuracy)."""

    cost: np.ndarray
    accuracy: np.ndarray
    param: np.ndarray
    rule: str

    def __array__(self, dtype=None, copy=None):
        return np.column_stack([self.cost, self.accuracy]).astype(dtype or float)

    def __len__(self) -> int:
        return len(self.cost)


def as_points(points) -> np.ndarray:
    """Operating points as an (m x 2) float array of (cost, accuracy); an error for any other shape or none."""
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"operating points must be an (m x 2) array of (cost, accuracy), got shape {array.shape}")
    if len(array) == 0:
        raise ValueError("no operating points")
    return array


@dataclass(frozen=True)
class SweepEvents:
    """A sweep as per-row events, re-scorable under row weights (the bootstrap) without re-sorting: rows start at
    ``base_cost``/``base_acc``; event ``e`` moves row ``rows[e]``, changing its cost by ``d_cost[e]`` and correctness
    by ``d_acc[e]``; operating point ``j`` is the state after event ``group_end[j]``, at parameter ``param[j]``."""

    base_cost: np.ndarray
    base_acc: np.ndarray
    rows: np.ndarray
    d_cost: np.ndarray
    d_acc: np.ndarray
    group_end: np.ndarray
    param: np.ndarray
    rule: str

    def points(self) -> OperatingPoints:
        """The operating points with every row weighted equally (what :func:`budget_sweep` returns)."""
        n = len(self.base_cost)
        cum_cost = self.base_cost.sum() + np.cumsum(self.d_cost)
        cum_acc = self.base_acc.sum() + np.cumsum(self.d_acc)
        return OperatingPoints(cum_cost[self.group_end] / n, cum_acc[self.group_end] / n, self.param, self.rule)

    def weighted(self, weights) -> tuple[np.ndarray, np.ndarray]:
        """Mean cost and accuracy (two B x m arrays) of every operating point under (B x n) row ``weights``, e.g.
        bootstrap counts: the sweep of the rows repeated ``weights[b]`` times."""
        W = np.atleast_2d(np.asarray(weights, dtype=float))
        if W.shape[1] != len(self.base_cost):
            raise ValueError(f"weights have {W.shape[1]} columns, expected one per row ({len(self.base_cost)})")
        total = W.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError("every weight vector needs a positive sum")
        W_events = W[:, self.rows]
        cost = W @ self.base_cost
        acc = W @ self.base_acc
        cost = cost[:, None] + np.cumsum(W_events * self.d_cost, axis=1)[:, self.group_end]
        acc = acc[:, None] + np.cumsum(W_events * self.d_acc, axis=1)[:, self.group_end]
        return cost / total, acc / total


def _threshold_events(U, P, Y, C, fallback: str = "cheapest", ties: str = "cheapest") -> SweepEvents:
    n, k = U.shape
    rows = np.arange(n)
    # Each row's models in the order they become affordable as the threshold rises (cost, then index).
    order = np.lexsort((np.broadcast_to(np.arange(k), (n, k)), P), axis=1)
    U_sorted = np.take_along_axis(U, order, axis=1)
    # best[:, j]: the row's pick once its j+1 cheapest models are affordable; a later model replaces the pick only
    # with strictly higher utility (equal utility keeps the cheaper or lower-index one, as choose_models does), or,
    # with ties="index", with equal utility and a lower model index (the official argmax).
    best = np.empty((n, k), dtype=np.int64)
    best[:, 0] = 0
    best_u = U_sorted[:, 0].copy()
    best_model = order[:, 0].copy()
    for j in range(1, k):
        better = U_sorted[:, j] > best_u
        if ties == "index":
            better |= (U_sorted[:, j] == best_u) & (order[:, j] < best_model)
        best[:, j] = np.where(better, j, best[:, j - 1])
        best_u = np.where(better, U_sorted[:, j], best_u)
        best_model = np.where(better, order[:, j], best_model)
    picks = np.take_along_axis(order, best, axis=1)
    cost_path = C[rows[:, None], picks]
    acc_path = Y[rows[:, None], picks]
    # Until its cheapest model is affordable a row sits at its fallback: the cheapest predicted model (ours) or model
    # index 0 (the official code).
    fallback = order[:, 0] if fallback == "cheapest" else np.zeros(n, dtype=np.int64)
    base_cost, base_acc = C[rows, fallback], Y[rows, fallback]
    d_cost = np.diff(np.column_stack([base_cost, cost_path]), axis=1).ravel()
    d_acc = np.diff(np.column_stack([base_acc, acc_path]), axis=1).ravel()
    t = np.take_along_axis(P, order, axis=1).ravel()
    event_order = np.argsort(t, kind="stable")
    t = t[event_order]
    last_of_group = np.flatnonzero(np.r_[t[1:] != t[:-1], True])
    return SweepEvents(base_cost, base_acc, np.repeat(rows, k)[event_order], d_cost[event_order],
                       d_acc[event_order], last_of_group, t[last_of_group], "threshold")


def _lambda_events(U, P, Y, C) -> SweepEvents:
    n, k = U.shape
    rows = np.arange(n)
    idx = np.broadcast_to(np.arange(k), (n, k))
    # Decision at lambda = 0+: highest U, then lowest P, then lowest index (choose_models' tie-break).
    current = np.lexsort((-idx, -P, U), axis=1)[:, -1]
    base_cost, base_acc = C[rows, current], Y[rows, current]
    lam_events, ev_rows, d_cost, d_acc = [], [], [], []
    active = np.ones(n, bool)
    lam_now = np.zeros(n)
    # Walk each row's upper envelope of the lines U_k - lambda * P_k: at most K-1 switches, each to a cheaper model.
    for _ in range(k - 1):
        u_cur = U[rows, current][:, None]
        p_cur = P[rows, current][:, None]
        cheaper = p_cur > P
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(cheaper, (u_cur - U) / (p_cur - P), np.inf)
        cross = np.maximum(cross, lam_now[:, None])
        # Among the earliest crossings, the cheapest model wins for every larger lambda (then the lowest index).
        nxt = np.lexsort((idx, P, cross), axis=1)[:, 0]
        lam_next = cross[rows, nxt]
        switch = active & np.isfinite(lam_next)
        if not switch.any():
            break
        r = rows[switch]
        lam_events.append(lam_next[switch])
        ev_rows.append(r)
        d_cost.append(C[r, nxt[switch]] - C[r, current[switch]])
        d_acc.append(Y[r, nxt[switch]] - Y[r, current[switch]])
        current = np.where(switch, nxt, current)
        lam_now = np.where(switch, lam_next, lam_now)
        active = switch
    # A zero event at lambda = 0 (on row 0) makes the starting decision an operating point.
    lam = np.concatenate([[0.0], *lam_events])
    ev_rows = np.concatenate([[0], *ev_rows]).astype(np.int64)
    d_cost = np.concatenate([[0.0], *d_cost])
    d_acc = np.concatenate([[0.0], *d_acc])
    event_order = np.argsort(lam, kind="stable")
    lam = lam[event_order]
    # Crossings of different line pairs that are equal in exact arithmetic can differ in the last bits: merge them.
    gap = np.diff(lam) > 1e-12 * np.maximum(1.0, np.abs(lam[1:]))
    last_of_group = np.flatnonzero(np.r_[gap, True])
    first_of_group = np.r_[0, last_of_group[:-1] + 1]
    return SweepEvents(base_cost, base_acc, ev_rows[event_order], d_cost[event_order], d_acc[event_order],
                       last_of_group, lam[first_of_group], "lambda")


def sweep_events(U, P, Y, C, rule: str = "threshold", *, fallback: str = "cheapest",
                 ties: str = "cheapest") -> SweepEvents:
    """:func:`budget_sweep` as per-row events (:class:`SweepEvents`); ``.points()`` is the sweep."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    check_arrays(U=U, P=P, Y=Y, C=C)
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    if ties not in TIE_BREAKS:
        raise ValueError(f"ties must be one of {TIE_BREAKS}, got {ties!r}")
    if rule == "lambda" and (fallback, ties) != ("cheapest", "cheapest"):
        raise ValueError("fallback= and ties= apply to the threshold rule only")
    return _threshold_events(U, P, Y, C, fallback, ties) if rule == "threshold" else _lambda_events(U, P, Y, C)


def budget_sweep(U, P, Y, C, rule: str = "threshold", *, fallback: str = "cheapest",
                 ties: str = "cheapest") -> OperatingPoints:
    """The cost-accuracy curve (paper Sec. 3.3): mean true cost and accuracy of the picks at every threshold (each
    unique predicted cost, as the official code) or lambda breakpoint; exact, O(nK log nK), equal to
    :func:`naive_budget_sweep`. ``fallback``, ``ties`` (threshold rule only): as in
    :func:`~mmr_utils.metrics.decision.choose_models`."""
    return sweep_events(U, P, Y, C, rule, fallback=fallback, ties=ties).points()


def naive_budget_sweep(U, P, Y, C, rule: str = "threshold", params=None, *, fallback: str = "cheapest",
                       ties: str = "cheapest") -> OperatingPoints:
    """Reference, O(T nK): each row's pick at every ``params`` (default: unique predicted costs/lambda breakpoints)."""
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    check_arrays(U=U, P=P, Y=Y, C=C)
    if params is None:
        params = np.unique(P) if rule == "threshold" else budget_sweep(U, P, Y, C, rule="lambda").param
    rows = np.arange(len(U))
    cost, acc = [], []
    for value in params:
        picks = (choose_models(U, P, budget=value, fallback=fallback, ties=ties) if rule == "threshold"
                 else choose_models(U, P, lam=value))
        cost.append(C[rows, picks].mean())
        acc.append(Y[rows, picks].mean())
    return OperatingPoints(np.array(cost), np.array(acc), np.asarray(params, dtype=float), rule)


def pareto_frontier(points) -> np.ndarray:
    """The cost-accuracy Pareto frontier: sorted by cost, a point is kept only if it is more accurate than every
    cheaper point (and the most accurate at its own cost). Returns an (f x 2) array of (cost, accuracy)."""
    points = as_points(points)
    order = np.lexsort((-points[:, 1], points[:, 0]))
    ordered = points[order]
    running = np.maximum.accumulate(ordered[:, 1])
    keep = np.r_[True, ordered[1:, 1] > running[:-1]]
    return ordered[keep]


def peak_score(frontier) -> float:
    """Ps: the best accuracy reached anywhere on the frontier (paper Sec. 3.3)."""
    return float(as_points(frontier)[:, 1].max())


def best_single_model(Y, C) -> int:
    """Index of the most accurate single model on these rows (ties: the cheaper one, then the lower index)."""
    Y, C = as_float(Y), as_float(C)
    check_arrays(Y=Y, C=C)
    acc, cost = Y.mean(axis=0), C.mean(axis=0)
    return int(np.lexsort((np.arange(len(acc)), cost, -acc))[0])


def quality_neutral_cost(frontier, Y, C, *, atol: float = 1e-12) -> float:
    """QNC (Sec. 3.3): cheapest frontier cost reaching the best single's accuracy / its mean cost; ``inf`` if never."""
    frontier = as_points(frontier)
    Y, C = as_float(Y), as_float(C)
    best = best_single_model(Y, C)
    target, price = Y[:, best].mean(), C[:, best].mean()
    reaching = frontier[frontier[:, 1] >= target - atol]
    if len(reaching) == 0:
        return float("inf")
    if price <= 0:
        return 0.0 if reaching[:, 0].min() <= 0 else float("inf")
    return float(reaching[:, 0].min() / price)


def shared_cost_range(C) -> tuple[float, float]:
    """The cost interval every router on the same rows shares: [mean row-min true cost, mean row-max true cost]."""
    C = as_float(C)
    check_arrays(C=C)
    return float(C.min(axis=1).mean()), float(C.max(axis=1).mean())


def frontier_metrics(frontier, Y, C, cost_range) -> dict:
    """The paper's summaries of one frontier (Sec. 3.3): nAUC (official), nAUC_shared over ``cost_range``, Ps, QNC."""
    return {"nAUC": nauc(frontier, protocol="official"),
            "nAUC_shared": nauc(frontier, protocol="shared", cost_range=cost_range),
            "Ps": peak_score(frontier), "QNC": quality_neutral_cost(frontier, Y, C)}


def nauc(frontier, C=None, *, protocol: str = "official", cost_range=None) -> float:
    """Normalised area under the cost-accuracy frontier (paper Sec. 3.3). ``official``: trapezoids over the
    frontier's own cost span / that span (a single point: its accuracy). ``shared``: the step envelope (0 below the
    cheapest point) over ``cost_range`` (default :func:`shared_cost_range` of ``C``) / its width; NaN for no width."""
    frontier = pareto_frontier(frontier)
    if protocol == "official":
        cost, acc = frontier[:, 0], frontier[:, 1]
        span = cost[-1] - cost[0]
        if span <= 0:
            return float(acc.max())
        return float(np.sum((acc[1:] + acc[:-1]) * np.diff(cost)) / 2.0 / span)
    if protocol != "shared":
        raise ValueError(f"unknown nAUC protocol {protocol!r}; expected one of {NAUC_PROTOCOLS}")
    if cost_range is None:
        if C is None:
            raise ValueError("nauc(protocol='shared') needs C (true costs) or an explicit cost_range=(lo, hi)")
        cost_range = shared_cost_range(C)
    lo, hi = map(float, cost_range)
    if hi == lo:  # every model costs the same on these rows: no cost axis to integrate over
        return float("nan")
    if not hi > lo:
        raise ValueError(f"shared cost range must have hi >= lo, got ({lo}, {hi})")
    cost = np.clip(frontier[:, 0], lo, hi)
    acc = frontier[:, 1]
    edges = np.r_[cost, hi]
    return float(np.sum(acc * np.diff(edges)) / (hi - lo))
