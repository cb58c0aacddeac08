"""Scoring one router's run on its test rows (paper Sec. 3.3): the protocol's metrics per dataset and on the pooled
groups, and the reference rows (Random, Best single, Oracle) on the same rows."""

from __future__ import annotations

import numpy as np

from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.runs import RouterRun
from mmr_utils.metrics import protocol as ev
from mmr_utils.metrics import references, summary

#: Figure 4's pool (no MathVision; docs/paper.md): a group beside "All" when MathVision and 2+ other datasets exist.
FIG4_GROUP = "All but MathVision"


def is_union_group(name: str) -> bool:
    """True for the groups that pool several datasets ("All", :data:`FIG4_GROUP`), not for a single dataset."""
    return name in ("All", FIG4_GROUP)


def complete_test(table: OutcomeTable, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The complete rows of ``test`` (all that is scored): mask into ``test``, rows, outcomes ``Y``, costs ``C``."""
    keep = table.complete_rows()[test]
    rows = test[keep]
    return keep, rows, table.correct[rows], table.cost[rows]


def _groups(table: OutcomeTable, rows: np.ndarray, per_dataset: bool) -> list[tuple[str, np.ndarray]]:
    groups = [("All", np.arange(len(rows)))]
    datasets = table.instances["dataset"].to_numpy()[rows]
    names = list(dict.fromkeys(datasets))
    if per_dataset and len(names) > 1:  # with a single dataset "All" is that dataset
        groups += [(d, np.flatnonzero(datasets == d)) for d in names]
        if "MathVision" in names and len(names) > 2:
            groups.append((FIG4_GROUP, np.flatnonzero(datasets != "MathVision")))
    return groups


def score_run(table: OutcomeTable, run: RouterRun, *, per_dataset: bool = True, rule: str = "threshold",
              fallback: str = "cheapest") -> tuple[list[dict], dict]:
    """Protocol metrics of one run on all test rows and per dataset: records, and frontiers (group -> (f x 2))."""
    Y, C = table.correct[run.test], table.cost[run.test]
    records, frontiers = [], {}
    for group, idx in _groups(table, run.test, per_dataset):
        s = summary.summarize(run.U[idx], run.P[idx], Y[idx], C[idx], rule=rule, fallback=fallback)
        records.append({"router": run.router, "dataset": group, "seed": run.info["seed"], "mode": run.info["mode"],
                        "fusion": run.info["fusion"], **s.metrics, "rows": s.rows, "rows_dropped": s.rows_dropped})
        frontiers[group] = s.frontier
    return records, frontiers


def reference_records(table: OutcomeTable, test: np.ndarray, *, seed: int = 0, random_draws: int = 50,
                      per_dataset: bool = True, random_protocol: str = "official") -> tuple[list[dict], dict]:
    """Random, Best Single and Oracle on the complete test rows (and per dataset). Random is the official baseline
    (``random_draws`` one-point trials, Ps = the best; :func:`mmr_utils.metrics.protocol.random_official`) unless
    ``random_protocol="sweep"`` (:func:`mmr_utils.metrics.protocol.random_sweep`)."""
    _, rows, Y, C = complete_test(table, test)
    records, curves = [], {}
    for group, idx in _groups(table, rows, per_dataset):
        y, c = Y[idx], C[idx]
        lo_hi = ev.shared_cost_range(c)
        rnd = summary.random_routing(y, c, draws=random_draws, seed=seed, protocol=random_protocol)
        records.append({"router": "random", "dataset": group, "seed": seed, "nAUC": rnd["nAUC"],
                        "nAUC_shared": rnd["nAUC_shared"], "Ps": rnd["Ps"], "QNC": rnd["QNC"], "rows": len(idx),
                        "cost": rnd["cost"], "accuracy": rnd["accuracy"], "random_protocol": rnd["protocol"]})
        best = ev.best_single_model(y, c)
        singles = references.single_model_points(y, c)
        acc, cost = singles[best, 1], singles[best, 0]
        records.append({"router": "best_single", "dataset": group, "seed": seed, "nAUC": acc, "nAUC_shared":
                        ev.nauc(singles[best:best + 1], protocol="shared", cost_range=lo_hi), "Ps": acc, "QNC": 1.0,
                        "rows": len(idx), "cost": cost, "accuracy": acc, "model": table.models[best]})
        oracle = summary.summarize(y, c, y, c)
        o_cost, o_acc = oracle.oracle
        records.append({"router": "oracle", "dataset": group, "seed": seed, **oracle.metrics, "rows": len(idx),
                        "cost": o_cost, "accuracy": o_acc})
        curves[group] = {"single_models": singles, "oracle": (o_cost, o_acc), "oracle_frontier": oracle.frontier,
                         "random": (rnd["cost"], rnd["accuracy"]), "best_single": table.models[best]}
    return records, curves
