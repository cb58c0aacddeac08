"""Everything at once for one router's predictions: operating points, frontier, Ps, QNC, nAUC (official and shared) and
the references on the same test rows (paper Sec. 3.3), fixed or emulating the official code. ``Y`` and ``C`` must be
complete where scored: :func:`summarize` keeps rows observed for every model and reports how many it dropped."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from mmr_utils.metrics.protocol import (
    OperatingPoints,
    as_float,
    best_single_model,
    budget_sweep,
    check_arrays,
    frontier_metrics,
    pareto_frontier,
    shared_cost_range,
)
from mmr_utils.metrics.references import official_model_order, oracle_point, random_official, single_model_points

#: How Random routing is scored: the official one-point trials or a swept curve of random utilities.
RANDOM_PROTOCOLS = ("official", "sweep")


@dataclass
class Summary:
    """What :func:`summarize` returns (also a ``dict`` via :meth:`as_dict`)."""

    metrics: dict
    points: OperatingPoints
    frontier: np.ndarray
    single_models: np.ndarray
    best_single: int
    oracle: tuple[float, float]
    rows: int
    rows_dropped: int
    rule: str
    cost_range: tuple[float, float]
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.as_dict()[key]

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out["points"] = np.asarray(self.points)
        return out


def summarize(U, P, Y, C, *, rule: str = "threshold", cost_range=None, fallback: str = "cheapest",
              ties: str = "cheapest") -> Summary:
    """Sweep, frontier and every metric (``nAUC`` of the official protocol, ``nAUC_shared``, ``Ps``, ``QNC``) for one
    router on one set of test rows; rows with a missing cell are dropped and counted in ``rows_dropped``."""
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    if not (U.shape == P.shape == Y.shape == C.shape):
        raise ValueError(f"U, P, Y, C must share one (n x K) shape, got {U.shape}, {P.shape}, {Y.shape}, {C.shape}")
    complete = np.isfinite(Y).all(axis=1) & np.isfinite(C).all(axis=1)
    dropped = int((~complete).sum())
    if dropped:
        U, P, Y, C = U[complete], P[complete], Y[complete], C[complete]
    if len(Y) == 0:
        raise ValueError("no complete rows to evaluate: every row has a missing cell")
    if Y.shape[1] < 2:
        raise ValueError(f"routing needs at least two candidate models to choose between, got {Y.shape[1]}")
    points = budget_sweep(U, P, Y, C, rule=rule, fallback=fallback, ties=ties)
    frontier = pareto_frontier(points)
    cost_range = shared_cost_range(C) if cost_range is None else tuple(map(float, cost_range))
    notes = []
    if cost_range[1] == cost_range[0]:
        notes.append(f"nAUC_shared is NaN: every model has the same cost on these {len(Y)} rows (shared cost range "
                     f"[{cost_range[0]:g}, {cost_range[1]:g}] has no width), so there is no cost axis to integrate")
    return Summary(metrics=frontier_metrics(frontier, Y, C, cost_range), points=points, frontier=frontier,
                   single_models=single_model_points(Y, C), best_single=best_single_model(Y, C),
                   oracle=oracle_point(Y, C), rows=int(len(Y)), rows_dropped=dropped, rule=rule,
                   cost_range=cost_range, extra={"notes": notes} if notes else {})


def summarize_official(U, P, Y, C, models) -> Summary:
    """:func:`summarize` as the official code scores: columns in sorted-name order (:func:`official_model_order`), no
    affordable model -> model 0, utility ties to the lower index, thresholds at every unique predicted cost. ``models``
    names the columns; ``best_single``, ``single_models`` refer to sorted order."""
    order = official_model_order(models)
    if len(order) != as_float(U).shape[-1]:
        raise ValueError(f"{len(order)} model names for arrays with {as_float(U).shape[-1]} columns")
    return summarize(as_float(U)[:, order], as_float(P)[:, order], as_float(Y)[:, order], as_float(C)[:, order], fallback="first",
                     ties="index")


def random_sweep(Y, C, *, draws: int = 50, seed: int = 0) -> dict:
    """Random routing as a budget sweep (this project's variant, not the official baseline): per seeded draw, every row
    to a uniformly random model (the point), and random utilities with the mean prices as predicted costs (a curve, via
    :func:`summarize`). Mean and sd over ``draws`` of cost, accuracy, nAUC (both), Ps; QNC median, ``QNC_reached``."""
    Y, C = as_float(Y), as_float(C)
    n, k = check_arrays(Y=Y, C=C)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"random routing needs at least 1 draw, got draws={draws!r}")
    rng = np.random.default_rng(seed)
    prices = np.broadcast_to(C.mean(axis=0), (n, k))
    records = {"cost": [], "accuracy": [], "nAUC": [], "nAUC_shared": [], "Ps": [], "QNC": []}
    rows = np.arange(n)
    for _ in range(draws):
        pick = rng.integers(0, k, size=n)
        records["cost"].append(C[rows, pick].mean())
        records["accuracy"].append(Y[rows, pick].mean())
        metrics = summarize(rng.random((n, k)), prices, Y, C)["metrics"]
        for key in ("nAUC", "nAUC_shared", "Ps", "QNC"):
            records[key].append(metrics[key])
    out = {"protocol": "sweep", "draws": draws, "seed": seed}
    qnc = np.asarray(records.pop("QNC"), dtype=float)
    for key, values in records.items():
        values = np.asarray(values, dtype=float)
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if draws > 1 else 0.0
    # QNC is infinite for draws that never reach the best single model: report the median and the reach rate.
    out["QNC"] = float(np.median(qnc))
    out["QNC_reached"] = float(np.isfinite(qnc).mean())
    return out


def random_routing(Y, C, *, draws: int = 50, seed: int = 42, protocol: str = "official") -> dict:
    """The Random reference row: :func:`random_official` (``protocol="official"``, the default; ``draws`` trials) or
    :func:`random_sweep` (``protocol="sweep"``), with its ``protocol``."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"random routing needs at least 1 draw, got draws={draws}")
    if protocol == "official":
        return random_official(Y, C, trials=draws, seed=seed)
    if protocol == "sweep":
        return random_sweep(Y, C, draws=draws, seed=seed)
    raise ValueError(f"unknown random protocol {protocol!r}; expected one of {RANDOM_PROTOCOLS}")
