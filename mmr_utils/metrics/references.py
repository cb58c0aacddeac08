"""The references reported beside every router (paper Sec. 3.3, Table 2): single models, the Oracle (cheapest correct
model per row) and Random in the official one-point form (:func:`random_official`, 50 trials; swept:
:func:`mmr_utils.metrics.summary.random_sweep`). ``fallback="first"`` and :func:`first_correct_oracle` use column 0 as
the official code does: pass columns in :func:`official_model_order` (sorted names) to reproduce it."""

from __future__ import annotations

import numpy as np

from mmr_utils.metrics.protocol import as_float, check_arrays, frontier_metrics, pareto_frontier, shared_cost_range


def single_model_points(Y, C) -> np.ndarray:
    """(K x 2) array of (mean cost, accuracy) of always calling each model."""
    Y, C = as_float(Y), as_float(C)
    check_arrays(Y=Y, C=C)
    return np.column_stack([C.mean(axis=0), Y.mean(axis=0)])


def oracle_choice(Y, C) -> np.ndarray:
    """The oracle's pick per row: the cheapest correct model, else the cheapest (ties: the lower index)."""
    Y, C = as_float(Y), as_float(C)
    check_arrays(Y=Y, C=C)
    k = Y.shape[1]
    correct_first = np.lexsort((np.broadcast_to(np.arange(k), Y.shape), C, -Y), axis=1)
    return correct_first[:, 0]


def oracle_point(Y, C) -> tuple[float, float]:
    """(mean cost, accuracy) of the oracle (:func:`oracle_choice`)."""
    pick = oracle_choice(Y, C)
    rows = np.arange(len(pick))
    return float(as_float(C)[rows, pick].mean()), float(as_float(Y)[rows, pick].mean())


def random_official(Y, C, *, trials: int = 50, seed: int = 42) -> dict:
    """The official Random baseline (Table 2, "Random"): each of ``trials`` trials sends every row to a uniformly random
    model (``default_rng(seed).integers(0, K, size=n)``, as the official code), one operating point each, scored as a
    curve, so ``Ps`` is the best trial [likely what the paper ran]. Returns ``points`` (draw order), ``Ps``, ``nAUC``,
    ``nAUC_shared``, ``QNC``, mean/sd of cost and accuracy."""
    Y, C = as_float(Y), as_float(C)
    n, k = check_arrays(Y=Y, C=C)
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    points = np.empty((trials, 2))
    for trial in range(trials):
        pick = rng.integers(0, k, size=n)
        points[trial] = C[rows, pick].mean(), Y[rows, pick].mean()
    frontier = pareto_frontier(points)
    metrics = frontier_metrics(frontier, Y, C, shared_cost_range(C))
    out = {"protocol": "official", "trials": trials, "draws": trials, "seed": seed, "points": points,
           **{key: metrics[key] for key in ("Ps", "nAUC", "nAUC_shared", "QNC")}}
    for key, column in (("cost", 0), ("accuracy", 1)):
        out[key] = float(points[:, column].mean())
        out[f"{key}_std"] = float(points[:, column].std(ddof=1)) if trials > 1 else 0.0
    return out


def official_model_order(models) -> np.ndarray:
    """The permutation putting model columns in the official loader's ``sorted()`` order (index 0 gets unaffordable
    rows: ``Claude3-7V_Sonnet`` for the paper's models). Apply as ``U[:, order]``."""
    models = [str(m) for m in models]
    if len(set(models)) != len(models):
        raise ValueError(f"model names must be unique, got {models}")
    if not models:
        raise ValueError("no model names given")
    return np.array(sorted(range(len(models)), key=models.__getitem__), dtype=np.int64)


def first_correct_oracle(Y, C) -> tuple[float, float]:
    """The official oracle's best point: each row goes to the first correct model in column order (argmax of
    correctness, whatever it costs; a row with no correct model goes to column 0)."""
    Y, C = as_float(Y), as_float(C)
    check_arrays(Y=Y, C=C)
    rows = np.arange(len(Y))
    pick = np.argmax(Y, axis=1)
    return float(C[rows, pick].mean()), float(Y[rows, pick].mean())


