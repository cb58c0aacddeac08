"""Paper tables built from study results (:mod:`mmr_utils.experiments.studies`): the layouts of the paper's tables and this
project's summaries of them, and the paper-vs-here comparisons.

- seed aggregation: :func:`aggregate_seeds`, :func:`pivot_seeds`, :func:`select_protocol`;
- :func:`table2` (Table 2), :func:`qnc_table`, :func:`cross_dataset_table` (Table 4), :func:`transfer_table` (the
  stand-in for Table 5), :func:`modality_gaps` (Sec. 5.3), :func:`audit_rank_changes` (the metric audit);
- :func:`qnc_per_dataset`: Table 3 as reconstructed, the Quality-Neutral Cost (QNC, paper Sec. 3.3) of every router on
  every dataset and on all test rows. [uncertain] The paper's Table 3 could not be read; second-hand summaries
  describe it as per-dataset QNC of the routers ("QNC < 1 on several benchmarks", "KNN QNC = inf on several").
- :func:`cost_claim_check`: the numbers behind the paper's headline that routing reaches the best single model's
  accuracy at "about 33%" of its cost, i.e. QNC close to 0.33 [likely; which router and which data slice the claim
  refers to is not known].

Each takes the :class:`mmr_utils.experiments.studies.StudyResult` of the study it lays out (Table 2, QNC and the paper-vs-here
comparisons: :func:`mmr_utils.experiments.studies.main_results`, records per router, seed and dataset, with Best Single rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmr_utils.experiments.runs import METRICS, REFERENCES
from mmr_utils.experiments.scoring import is_union_group
from mmr_utils.experiments.studies import StudyResult

#: The paper's headline cost fraction ("about 33% of the best single model's cost").
PAPER_COST_FRACTION = 0.33


# ------------------------------------------------------------------------------------------------ seeds and layouts
def aggregate_seeds(frame: pd.DataFrame, by, metrics=METRICS) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, grouped by ``by`` (QNC: infinite values kept, so a
    mean is infinite when any seed never reaches the best single model; ``QNC_reached`` gives the fraction that do)."""
    by = [by] if isinstance(by, str) else list(by)
    metrics = [m for m in metrics if m in frame]
    grouped = frame.groupby(by, sort=False)
    out = grouped[metrics].mean()
    spread = grouped[metrics].std(ddof=1).add_suffix("_std")
    result = pd.concat([out, spread], axis=1)
    if "QNC" in metrics:
        result["QNC_reached"] = grouped["QNC"].apply(lambda s: float(np.isfinite(s).mean()))
    result["seeds"] = grouped["seed"].nunique() if "seed" in frame else 1
    return result.reset_index()


def pivot_seeds(frame: pd.DataFrame, index: str, columns: str, metric: str = "nAUC_shared") -> pd.DataFrame:
    """``metric`` averaged over seeds, one row per ``index`` value and one column per ``columns`` value."""
    agg = aggregate_seeds(frame, [index, columns], metrics=(metric,))
    return agg.pivot(index=index, columns=columns, values=metric)


def select_protocol(frame: pd.DataFrame, protocol: str | None = None) -> pd.DataFrame:
    """The rows of one training protocol of :func:`main_results` plus the protocol-free reference rows. ``None``
    takes the official ``per_dataset`` protocol when present, else the only one there."""
    if "protocol" not in frame:
        return frame
    present = list(dict.fromkeys(frame["protocol"].dropna()))
    if protocol is None:
        protocol = "per_dataset" if "per_dataset" in present else (present[0] if present else None)
    if protocol is None:
        return frame
    if protocol not in present:
        raise ValueError(f"protocol {protocol!r} not in the result (present: {present})")
    return frame[frame["protocol"].isna() | (frame["protocol"] == protocol)]


def table2(result: StudyResult, metric: str = "nAUC_shared", protocol: str | None = None) -> pd.DataFrame:
    """Paper Table 2 layout: one row per router (references first), one column per dataset and All, for
    ``metric`` (mean over seeds). ``protocol`` picks the router records of one training protocol of
    :func:`main_results` (see :func:`select_protocol`)."""
    frame = select_protocol(result.results, protocol)
    result = StudyResult(frame, result.curves, result.provenance)
    wide = pivot_seeds(result.results, "router", "dataset", metric)
    datasets = [d for d in dict.fromkeys(result.results["dataset"]) if not is_union_group(d)] + (
        ["All"] if "All" in wide.columns else [])
    order = [r for r in ("random", "best_single") if r in wide.index] + [
        r for r in dict.fromkeys(result.results["router"]) if r not in REFERENCES] + (
        ["oracle"] if "oracle" in wide.index else [])
    return wide.loc[order, datasets]


def qnc_table(result: StudyResult) -> pd.DataFrame:
    """How cheaply each router reaches the best single model's accuracy on all test rows (QNC, mean over seeds),
    with the best single model's name."""
    frame = select_protocol(result.results)
    frame = frame[frame["dataset"] == "All"]
    agg = aggregate_seeds(frame[~frame["router"].isin(REFERENCES)], "router", metrics=("QNC", "Ps"))
    best = frame[frame["router"] == "best_single"]
    agg["best_single_model"] = best["model"].iloc[0] if len(best) else None
    agg["best_single_accuracy"] = best["accuracy"].mean() if len(best) else np.nan
    return agg.sort_values("QNC").reset_index(drop=True)


def cross_dataset_table(result: StudyResult, metric: str = "Ps") -> pd.DataFrame:
    """Paper Table 4 layout: one row per (scenario, source -> target), one column per router plus the best single
    model on the target (``metric`` mean over seeds; the best single model is scored by its accuracy)."""
    frame = result.results.copy()
    frame.loc[frame["router"] == "best_single", metric] = frame.loc[frame["router"] == "best_single", "Ps"]
    agg = frame.groupby(["scenario", "source", "target", "router"], sort=False)[metric].mean().reset_index()
    wide = agg.pivot_table(index=["scenario", "source", "target"], columns="router", values=metric, sort=False)
    routers = [r for r in dict.fromkeys(frame["router"]) if r != "best_single"]
    wide = wide[routers + ["best_single"]].reset_index()
    wide.index = (wide["source"] + " -> " + wide["target"]).rename("source -> target")
    return wide.drop(columns=["source", "target"])


def modality_gaps(result: StudyResult, metric: str = "nAUC_shared", versus: str = "best") -> pd.DataFrame:
    """Where multimodal routing pays (paper Sec. 5.3): per router and dataset, ``metric`` of mode 22 minus a
    unimodal mode (mean over seeds): ``versus="best"`` the better of 11 and 33 (positive = both channels beat either
    alone), ``"11"`` text only (what the image adds), ``"33"`` image only (what the text adds). Routers without a
    unimodal run (CMR) are NaN. A last row averages the routers."""
    if versus not in ("best", "11", "33"):
        raise ValueError(f"versus must be 'best', '11' or '33', got {versus!r}")
    frame = result.results[(result.results["study"] == "mode") & result.results["mode"].isin(["11", "22", "33"])]
    means = frame.groupby(["router", "dataset", "mode"], sort=False)[metric].mean().unstack("mode")
    baseline = means[["11", "33"]].max(axis=1, skipna=False) if versus == "best" else means[versus]
    gap = (means["22"] - baseline).unstack("dataset")
    columns = [d for d in dict.fromkeys(frame["dataset"]) if not is_union_group(d)] + ["All"]
    gap = gap[[c for c in columns if c in gap.columns]]
    gap.loc["mean over routers"] = gap.mean(axis=0)
    return gap


def transfer_table(result: StudyResult, metric: str = "Ps") -> pd.DataFrame:
    """Image-masked transfer as a table: ``metric`` (mean over seeds) per router and dataset when tested with the
    image masked (mode 21), and its change from testing with the image (21 minus 22)."""
    frame = result.results
    masked = pivot_seeds(frame[frame["mode"] == "21"], "router", "dataset", metric)
    full = pivot_seeds(frame[frame["mode"] == "22"], "router", "dataset", metric)
    columns = [d for d in dict.fromkeys(frame["dataset"]) if not is_union_group(d)] + ["All"]
    masked, change = masked[columns], (masked - full)[columns]
    return pd.concat({f"{metric} image masked (21)": masked, "change vs multimodal (21 - 22)": change}, axis=1)


def audit_rank_changes(result: StudyResult) -> pd.DataFrame:
    """Mean rank of each learned router under the official and the fixed protocol, and the change."""
    frame = result.results.dropna(subset=["rank_official_protocol"])
    ranks = frame.groupby("router", sort=False)[["rank_official_protocol", "rank_fixed_protocol"]].mean()
    ranks["change"] = ranks["rank_fixed_protocol"] - ranks["rank_official_protocol"]
    return ranks.sort_values("rank_fixed_protocol")



def _check_result(result: StudyResult) -> pd.DataFrame:
    frame = result.results
    missing = {"router", "dataset", "seed", "QNC"} - set(frame.columns)
    if missing:
        raise ValueError(f"study result lacks columns {sorted(missing)}; expected the output of studies.main_results")
    if not (frame["router"] == "best_single").any():
        raise ValueError("study result has no best_single reference rows; expected the output of studies.main_results")
    return select_protocol(frame)


def _dataset_order(frame: pd.DataFrame) -> list[str]:
    names = [d for d in dict.fromkeys(frame["dataset"]) if not is_union_group(d)]
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
    if not claim > 0:
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


# ------------------------------------------------------------------------------------------------ Table 2 vs here
#: The paper's Table 2 (nAUC, Ps) per dataset and on the full set, as printed [exact, from the paper's Result.png].
#: Random's nAUC is printed as "-" (NaN here). Best Single's nAUC of 1.0 everywhere is an artefact of the official
#: code (a single point's frontier over its own zero-width span), not a measurement.
PAPER_TABLE2_DATASETS = ("OCRBench", "SEEDBench2_Plus", "MMStar", "RealWorldQA", "MathVista", "MathVerse",
                         "MathVision", "All")
PAPER_TABLE2: dict[str, dict[str, tuple[tuple[float, float], ...]]] = {
    # router: (nAUC, Ps) per dataset in PAPER_TABLE2_DATASETS order
    "random": {"values": ((np.nan, 0.8075), (np.nan, 0.7102), (np.nan, 0.6942), (np.nan, 0.7108),
                          (np.nan, 0.6688), (np.nan, 0.4800), (np.nan, 0.3927), (np.nan, 0.6135))},
    "linear_mf": {"values": ((0.8789, 0.9088), (0.7376, 0.7458), (0.7496, 0.7683), (0.8036, 0.8252),
                             (0.7724, 0.8038), (0.6837, 0.7258), (0.5565, 0.6826), (0.7042, 0.7533))},
    "mlp_mf": {"values": ((0.8952, 0.9088), (0.7443, 0.7508), (0.7615, 0.7817), (0.8097, 0.8268),
                          (0.7751, 0.8038), (0.6784, 0.7337), (0.5494, 0.6937), (0.6913, 0.7494))},
    "knn": {"values": ((0.8913, 0.9150), (0.7375, 0.7425), (0.7560, 0.7767), (0.8009, 0.8252),
                       (0.7807, 0.8075), (0.6881, 0.7194), (0.5610, 0.6867), (0.6950, 0.7457))},
    "kmeans": {"values": ((0.9126, 0.9138), (0.7382, 0.7475), (0.7564, 0.7733), (0.8072, 0.8235),
                          (0.7763, 0.8038), (0.6835, 0.7194), (0.5639, 0.6933), (0.6885, 0.7496))},
    "oracle": {"values": ((0.9663, 0.9825), (0.8854, 0.8913), (0.9563, 0.9650), (0.9773, 0.9853),
                          (0.9310, 0.9475), (0.8806, 0.8954), (0.8031, 0.8741), (0.8897, 0.9188))},
    "best_single": {"values": ((1.0, 0.9050), (1.0, 0.7502), (1.0, 0.7716), (1.0, 0.8235),
                               (1.0, 0.8037), (1.0, 0.7194), (1.0, 0.6932), (1.0, 0.7412))},
}
PAPER_LEARNED = ("linear_mf", "mlp_mf", "knn", "kmeans")


def paper_table2_long() -> pd.DataFrame:
    """The paper's Table 2 as tidy rows: router, dataset, metric (``nAUC`` or ``Ps``), paper value."""
    rows = []
    for router, entry in PAPER_TABLE2.items():
        for dataset, (nauc, ps) in zip(PAPER_TABLE2_DATASETS, entry["values"]):
            rows += [{"router": router, "dataset": dataset, "metric": "nAUC", "paper": nauc},
                     {"router": router, "dataset": dataset, "metric": "Ps", "paper": ps}]
    return pd.DataFrame(rows)


def paper_vs_here(result: StudyResult) -> pd.DataFrame:
    """Every cell of the paper's Table 2 beside the regenerated value (mean over seeds) and the difference.

    ``nAUC`` here is the official protocol's nAUC (each frontier over its own span, the column the paper reports);
    Best Single's "here" value is its test accuracy for ``Ps`` and NaN for ``nAUC`` (a single point has no frontier area;
    the paper's 1.0 is an artefact). A cell whose router or dataset the study did not run is NaN.
    """
    frame = _check_result(result)
    here = frame.copy()
    here.loc[here["router"] == "best_single", "nAUC"] = np.nan
    means = here.groupby(["router", "dataset"])[["nAUC", "Ps"]].mean()
    table = paper_table2_long()
    table["here"] = [means[m].get((r, d), np.nan) for r, d, m in zip(table["router"], table["dataset"],
                                                                      table["metric"])]
    table["difference"] = table["here"] - table["paper"]
    return table


def paper_vs_here_summary(comparison: pd.DataFrame, *, ps_tolerance: float = 0.02) -> dict:
    """The fidelity targets, computed from :func:`paper_vs_here`: how many learned-router Ps cells are
    within ``ps_tolerance`` of the paper per dataset, and whether every learned router's full-set Ps is above the
    best single model's (as the paper reports)."""
    ps = comparison[comparison["metric"] == "Ps"].set_index(["router", "dataset"])
    learned = ps.loc[list(PAPER_LEARNED)]
    learned = learned[learned["here"].notna()]
    within = (learned["difference"].abs() <= ps_tolerance)
    full_best = ps.loc[("best_single", "All"), "here"]
    full_learned = {r: ps.loc[(r, "All"), "here"] for r in PAPER_LEARNED if not np.isnan(ps.loc[(r, "All"), "here"])}
    return {"learned_ps_cells": int(len(learned)), "within_tolerance": int(within.sum()), "tolerance": ps_tolerance,
            "max_abs_difference": float(learned["difference"].abs().max()) if len(learned) else np.nan,
            "best_single_full_ps": float(full_best),
            "learned_above_best_single_on_full": {r: bool(v > full_best) for r, v in full_learned.items()}}
