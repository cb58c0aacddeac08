"""Paper tables built from study results that :mod:`mmr_utils.studies` does not lay out itself.

- :func:`qnc_per_dataset`: Table 3 as reconstructed, the Quality-Neutral Cost (QNC, paper Sec. 3.3) of every router on
  every dataset and on all test rows. [uncertain] The paper's Table 3 could not be read; second-hand summaries
  describe it as per-dataset QNC of the routers ("QNC < 1 on several benchmarks", "KNN QNC = inf on several").
- :func:`cost_claim_check`: the numbers behind the paper's headline that routing reaches the best single model's
  accuracy at "about 33%" of its cost, i.e. QNC close to 0.33 [likely; which router and which data slice the claim
  refers to is not known].

Both take the :class:`mmr_utils.studies.StudyResult` of :func:`mmr_utils.studies.main_results` (records per router,
seed and dataset, with Best Single reference rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .studies import REFERENCES, StudyResult

#: The paper's headline cost fraction ("about 33% of the best single model's cost").
PAPER_COST_FRACTION = 0.33


def _check_result(result: StudyResult) -> pd.DataFrame:
    frame = result.results
    missing = {"router", "dataset", "seed", "QNC"} - set(frame.columns)
    if missing:
        raise ValueError(f"study result lacks columns {sorted(missing)}; expected the output of studies.main_results")
    if not (frame["router"] == "best_single").any():
        raise ValueError("study result has no best_single reference rows; expected the output of studies.main_results")
    return frame


def _dataset_order(frame: pd.DataFrame) -> list[str]:
    names = [d for d in dict.fromkeys(frame["dataset"]) if d != "All"]
    return names + (["All"] if (frame["dataset"] == "All").any() else [])


def qnc_per_dataset(result: StudyResult, *, long: bool = False) -> pd.DataFrame:
    """Table 3 (reconstructed): QNC of every learned router per dataset and on all test rows ("All").

    QNC = cheapest frontier cost reaching the best single model's accuracy on those rows / that model's mean cost;
    ``inf`` when never reached. Over seeds the mean is reported, so one unreached seed makes the cell ``inf``.

    ``long=False`` (default): one row per router, one column per dataset (then ``All``). ``long=True``: one row per
    (router, dataset) with ``QNC`` (mean), ``QNC_median``, ``QNC_reached`` (fraction of seeds that reach it),
    ``seeds``, and the best single model of that dataset (most frequent over seeds), its mean accuracy and mean cost.
    """
    frame = _check_result(result)
    routers = frame[~frame["router"].isin(REFERENCES)]
    if routers.empty:
        raise ValueError("study result has no learned-router rows")
    grouped = routers.groupby(["router", "dataset"], sort=False)["QNC"]
    table = pd.DataFrame({
        "QNC": grouped.mean(),
        "QNC_median": grouped.median(),
        "QNC_reached": grouped.apply(lambda s: float(np.isfinite(s).mean())),
        "seeds": routers.groupby(["router", "dataset"], sort=False)["seed"].nunique(),
    }).reset_index()
    best = frame[frame["router"] == "best_single"].groupby("dataset", sort=False).agg(
        best_single_model=("model", lambda s: s.mode().iloc[0]),
        best_single_accuracy=("accuracy", "mean"),
        best_single_cost=("cost", "mean"))
    table = table.join(best, on="dataset")
    if long:
        return table
    wide = table.pivot(index="router", columns="dataset", values="QNC")
    return wide.loc[list(dict.fromkeys(routers["router"])), _dataset_order(frame)]


def cost_claim_check(result: StudyResult, *, claim: float = PAPER_COST_FRACTION, tolerance: float = 0.05
                     ) -> pd.DataFrame:
    """Check the paper's "about 33% of the best single model's cost" against per-dataset QNC.

    One row per dataset (then ``All``): the router with the lowest QNC (``best_router``) and that QNC
    (``best_QNC``, the fraction of the best single model's cost at which the best router first matches its accuracy),
    the money that means (``router_cost`` = best_QNC x ``best_single_cost``), ``claim``, ``difference`` (best_QNC -
    claim), ``within_tolerance`` (|difference| <= ``tolerance``), ``at_or_below_claim`` (best_QNC <= claim + tolerance),
    and ``routers_at_or_below_claim`` / ``routers_reaching`` (how many routers have QNC <= claim + tolerance / finite).
    A dataset where no router reaches the best single model has ``best_router`` missing (NaN) and ``best_QNC`` inf.
    """
    if not 0 < claim:
        raise ValueError(f"claim must be a positive cost fraction, got {claim}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    table = qnc_per_dataset(result, long=True)
    rows = []
    for dataset in _dataset_order(result.results):
        part = table[table["dataset"] == dataset]
        if part.empty:
            continue
        finite = part[np.isfinite(part["QNC"])]
        best = finite.loc[finite["QNC"].idxmin()] if len(finite) else None
        best_qnc = float(best["QNC"]) if best is not None else float("inf")
        cost = float(part["best_single_cost"].iloc[0])
        rows.append({
            "dataset": dataset,
            "best_router": best["router"] if best is not None else None,
            "best_QNC": best_qnc,
            "best_single_model": part["best_single_model"].iloc[0],
            "best_single_cost": cost,
            "router_cost": best_qnc * cost,
            "claim": claim,
            "difference": best_qnc - claim,
            "within_tolerance": bool(abs(best_qnc - claim) <= tolerance),
            "at_or_below_claim": bool(best_qnc <= claim + tolerance),
            "routers_at_or_below_claim": int((part["QNC"] <= claim + tolerance).sum()),
            "routers_reaching": int(len(finite)),
        })
    return pd.DataFrame(rows).set_index("dataset")
