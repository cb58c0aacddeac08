"""Table 3 (per-dataset QNC) and the "about 33% of the best single model's cost" check, on hand-made study results."""

import numpy as np
import pandas as pd
import pytest

from mmr_utils.experiments.studies import StudyResult
from mmr_utils.report.paper_tables import PAPER_COST_FRACTION, cost_claim_check, qnc_per_dataset

INF = float("inf")


def _result():
    records = []
    qnc = {("knn", "A"): (0.30, 0.40), ("knn", "B"): (INF, 0.9), ("knn", "All"): (0.5, 0.7),
           ("linear_mf", "A"): (0.60, 0.60), ("linear_mf", "B"): (INF, INF), ("linear_mf", "All"): (0.3, 0.34)}
    for (router, dataset), values in qnc.items():
        for seed, value in enumerate(values):
            records.append({"router": router, "dataset": dataset, "seed": seed, "QNC": value, "Ps": 0.8})
    for dataset, model, cost in (("A", "m1", 2.0), ("B", "m2", 4.0), ("All", "m1", 3.0)):
        for seed in (0, 1):
            records.append({"router": "best_single", "dataset": dataset, "seed": seed, "QNC": 1.0, "Ps": 0.7,
                            "model": model, "accuracy": 0.7 + 0.1 * seed, "cost": cost})
            records.append({"router": "random", "dataset": dataset, "seed": seed, "QNC": INF, "Ps": 0.5})
    return StudyResult(pd.DataFrame(records), {}, {})


def test_qnc_per_dataset_is_router_by_dataset_mean_over_seeds():
    wide = qnc_per_dataset(_result())
    assert list(wide.index) == ["knn", "linear_mf"] and list(wide.columns) == ["A", "B", "All"]
    assert wide.loc["knn", "A"] == pytest.approx(0.35)
    assert wide.loc["knn", "B"] == INF  # one unreached seed makes the mean infinite
    assert wide.loc["linear_mf", "All"] == pytest.approx(0.32)
    long = qnc_per_dataset(_result(), long=True).set_index(["router", "dataset"])
    assert long.loc[("knn", "B"), "QNC_reached"] == 0.5 and long.loc[("knn", "B"), "QNC_median"] == INF
    assert long.loc[("knn", "A"), "best_single_model"] == "m1"
    assert long.loc[("knn", "A"), "best_single_accuracy"] == pytest.approx(0.75)
    assert (long["seeds"] == 2).all()


def test_cost_claim_check_returns_the_numbers():
    check = cost_claim_check(_result())
    assert list(check.index) == ["A", "B", "All"]
    assert check.loc["A", "best_router"] == "knn" and check.loc["A", "best_QNC"] == pytest.approx(0.35)
    assert check.loc["A", "router_cost"] == pytest.approx(0.35 * 2.0)
    assert check.loc["A", "claim"] == PAPER_COST_FRACTION == 0.33
    assert check.loc["A", "difference"] == pytest.approx(0.02)
    assert bool(check.loc["A", "within_tolerance"]) and check.loc["A", "routers_at_or_below_claim"] == 1
    assert pd.isna(check.loc["B", "best_router"]) and check.loc["B", "best_QNC"] == INF
    assert not check.loc["B", "at_or_below_claim"] and check.loc["B", "routers_reaching"] == 0
    assert check.loc["All", "best_router"] == "linear_mf"
    strict = cost_claim_check(_result(), claim=0.2, tolerance=0.0)
    assert not strict["at_or_below_claim"].any()
    assert np.isinf(strict.loc["B", "difference"])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="best_single"):
        qnc_per_dataset(StudyResult(pd.DataFrame({"router": ["knn"], "dataset": ["A"], "seed": [0], "QNC": [1.0]}),
                                    {}, {}))
    with pytest.raises(ValueError, match="lacks columns"):
        qnc_per_dataset(StudyResult(pd.DataFrame({"router": ["knn"]}), {}, {}))
    with pytest.raises(ValueError, match="claim"):
        cost_claim_check(_result(), claim=0.0)


def test_paper_table2_has_every_cell():
    from mmr_utils.report.paper_tables import PAPER_TABLE2_DATASETS, paper_table2_long

    table = paper_table2_long()
    assert len(table) == 7 * len(PAPER_TABLE2_DATASETS) * 2
    full = table.set_index(["router", "dataset", "metric"])["paper"]
    assert full[("linear_mf", "All", "Ps")] == 0.7533 and full[("oracle", "MathVision", "Ps")] == 0.8741
    assert np.isnan(full[("random", "OCRBench", "nAUC")])


def test_paper_vs_here_lines_up_routers_datasets_and_differences():
    from mmr_utils.experiments.studies import StudyResult
    from mmr_utils.report.paper_tables import paper_vs_here, paper_vs_here_summary

    rows = []
    for seed in (0, 1):
        for dataset in ("OCRBench", "All"):
            rows += [{"router": "knn", "dataset": dataset, "seed": seed, "nAUC": 0.8, "Ps": 0.9 + 0.01 * seed, "QNC": 0.5},
                     {"router": "best_single", "dataset": dataset, "seed": seed, "nAUC": 0.7, "Ps": 0.7, "QNC": 1.0,
                      "accuracy": 0.7}]
    comparison = paper_vs_here(StudyResult(pd.DataFrame(rows), {}, {}))
    cell = comparison.set_index(["router", "dataset", "metric"])
    assert cell.loc[("knn", "OCRBench", "Ps"), "here"] == pytest.approx(0.905)
    assert cell.loc[("knn", "OCRBench", "Ps"), "difference"] == pytest.approx(0.905 - 0.9150)
    assert np.isnan(cell.loc[("best_single", "All", "nAUC"), "here"])
    assert np.isnan(cell.loc[("kmeans", "All", "Ps"), "here"])
    summary = paper_vs_here_summary(comparison)
    assert summary["learned_ps_cells"] == 2 and summary["within_tolerance"] == 1
    assert summary["learned_above_best_single_on_full"] == {"knn": True}


def test_modality_gaps_against_each_unimodal_mode():
    from mmr_utils.report.paper_tables import modality_gaps

    rows = [{"router": r, "dataset": d, "seed": s, "mode": m, "study": "mode", "nAUC_shared": v + 0.01 * s}
            for r in ("knn", "linear") for s in (0, 1)
            for d, values in (("MathVerse", {"11": 0.5, "33": 0.7, "22": 0.72}), ("MMStar", {"11": 0.6, "33": 0.6,
                                                                                              "22": 0.61}))
            for m, v in values.items()]
    result = StudyResult(pd.DataFrame(rows), {}, {})
    best, text, image = (modality_gaps(result, versus=v) for v in ("best", "11", "33"))
    assert best.loc["knn", "MathVerse"] == pytest.approx(0.02)
    assert text.loc["mean over routers", "MathVerse"] == pytest.approx(0.22)
    assert image.loc["linear", "MMStar"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="versus must be"):
        modality_gaps(result, versus="21")
