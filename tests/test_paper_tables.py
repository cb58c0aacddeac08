"""Table 3 (per-dataset QNC) and the "about 33% of the best single model's cost" check, on hand-made study results."""

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data.paper import PAPER_COST_FRACTION
from mmr_utils.experiments.studies import StudyResult
from mmr_utils.report.paper_tables import cost_claim_check, qnc_per_dataset

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
    from mmr_utils.data.paper import PAPER_TABLE2_DATASETS
    from mmr_utils.report.paper_tables import paper_table2_long

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
    assert summary["learned_ps_cells"] == 2 and summary["within_tolerance"] == 1 and summary["gains_within"] == 0
    assert summary["learned_above_best_single_on_full"] == {"knn": True}
    assert summary["misses"] == [("knn", "All", pytest.approx(0.905 - 0.7457))]
    here_gain, paper_gain, within = summary["gains"]["knn"]
    assert here_gain == pytest.approx(0.205) and paper_gain == pytest.approx(0.7457 - 0.7412) and not within
    assert cell.loc[("knn", "OCRBench", "Ps"), "tolerance"] == 0.02
    assert np.isnan(cell.loc[("knn", "OCRBench", "nAUC"), "tolerance"])
    assert np.isnan(cell.loc[("oracle", "All", "Ps"), "tolerance"])


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


# ------------------------------------------------------------------------------ real data beside the paper
def _fig4_result():
    """Two seeds: every paper model on the Figure 4 group at known (cost, accuracy), and knn / kmeans records there."""
    from mmr_utils.data.paper import PAPER_MODELS
    from mmr_utils.experiments.scoring import FIG4_GROUP

    models = list(PAPER_MODELS)
    refs = {}
    for seed in (0, 1):
        singles = np.array([[0.001 * (k + 1) * (1 + seed), 0.5 + 0.02 * k + 0.01 * seed] for k in range(len(models))])
        refs[seed] = {FIG4_GROUP: {"single_models": singles}}
    records = [{"router": r, "dataset": FIG4_GROUP, "seed": s, "Ps": ps + 0.01 * s, "QNC": q, "nAUC": 0.5}
               for r, ps, q in (("knn", 0.78, 0.9), ("kmeans", 0.70, INF)) for s in (0, 1)]
    records += [{"router": "best_single", "dataset": FIG4_GROUP, "seed": s, "Ps": 0.7, "QNC": 1.0, "model": "x",
                 "accuracy": 0.7, "cost": 1.0} for s in (0, 1)]
    return StudyResult(pd.DataFrame(records), {"references": refs}, {"data": {"models": models}}), models


def test_fig4_models_sit_beside_the_paper_points_with_unit_free_costs():
    from mmr_utils.data.paper import COST_REFERENCE_MODEL, PAPER_FIG4_MODELS
    from mmr_utils.report.paper_tables import fig4_models_vs_here

    result, models = _fig4_result()
    table = fig4_models_vs_here(result)
    assert list(table.index) == list(PAPER_FIG4_MODELS)
    k = models.index("Claude3-7V_Sonnet")
    here_acc = np.mean([0.5 + 0.02 * k, 0.5 + 0.02 * k + 0.01])
    assert table.loc["Claude3-7V_Sonnet", "here_accuracy"] == pytest.approx(here_acc)
    assert table.loc["Claude3-7V_Sonnet", "accuracy_difference"] == pytest.approx(here_acc - 0.636)
    ref = models.index(COST_REFERENCE_MODEL)
    assert table.loc["Claude3-7V_Sonnet", "here_cost_vs_gpt5"] == pytest.approx((k + 1) / (ref + 1))
    assert table.loc["Claude3-7V_Sonnet", "paper_cost_vs_gpt5"] == pytest.approx(3.01 / 3.90)
    assert table.loc[COST_REFERENCE_MODEL, "cost_vs_gpt5_difference"] == pytest.approx(0.0)
    assert np.isnan(table.loc["Gemma3-4B", "accuracy_difference"]) and "off the paper" in table.loc["Gemma3-4B", "note"]
    reordered = fig4_models_vs_here(result, models=models[::-1])  # the table's order decides which model is which
    assert reordered.loc["Claude3-7V_Sonnet", "here_accuracy"] != pytest.approx(here_acc)


def test_fig4_routers_take_peak_and_qnc_from_the_paper_curves():
    from mmr_utils.report.paper_tables import fig4_routers_vs_here

    result, _ = _fig4_result()
    table = fig4_routers_vs_here(result)
    assert table.loc["kmeans", "paper_Ps"] == 0.7770 and table.loc["knn", "paper_Ps"] == 0.7768
    # most accurate icon: Gemini 2.5 Pro (4.42, 0.775); KMeans first reaches it at cost 3.286
    assert table.loc["kmeans", "paper_QNC"] == pytest.approx(3.286 / 4.42)
    assert table.loc["linear", "paper_QNC"] == INF and np.isnan(table.loc["linear", "here_Ps"])
    assert table.loc["knn", "here_Ps"] == pytest.approx(0.785)
    assert table.loc["knn", "Ps_difference"] == pytest.approx(0.785 - 0.7768)
    assert table.loc["knn", "QNC_difference"] == pytest.approx(0.9 - 3.716 / 4.42)
    assert np.isnan(table.loc["kmeans", "QNC_difference"])  # never reached here: no finite difference


def test_table3_statements_are_checked_against_this_run():
    from mmr_utils.report.paper_tables import table3_vs_here

    table = table3_vs_here(_result())
    headline = table.iloc[0]
    assert headline["paper"] == 0.33 and headline["here"] == pytest.approx(0.32) and bool(headline["holds"])
    assert "linear_mf" in table.index[0]
    linear = table.loc[next(s for s in table.index if s.startswith("LinearMF"))]
    assert linear["here"] == 1.0 and not linear["holds"]  # QNC < 1 on dataset A only
    knn = table.loc[next(s for s in table.index if s.startswith("KNN"))]
    assert knn["here"] == 1.0 and not knn["holds"]  # infinite on B only


def test_known_differences_name_epochs_defects_and_protocol():
    from mmr_utils.report.paper_tables import known_differences, paper_comparable

    settings = {"seeds": [0, 1, 2], "router_params": {"mlp_mf": {"epochs": 100}, "cmr": {"epochs": 10}}, "random_draws": 50}
    assert "training length: 10 epochs" in known_differences("cmr", "Ps", settings, "clip")
    mlp_mf = known_differences("mlp_mf", "Ps", settings, "minilm (text) + imagestats (image)")
    assert "epochs" not in mlp_mf and "model index 0" in mlp_mf and "3 seed(s)" in mlp_mf and "CLIP" in mlp_mf
    assert "not cost-optimal" in known_differences("oracle", "nAUC", settings)
    assert "artefact" in known_differences("best_single", "nAUC", settings)
    assert "artefact" not in known_differences("best_single", "Ps", settings)
    assert "best of 5" in known_differences("random", "Ps", {**settings, "random_draws": 5})

    class Table:  # the two attributes paper_comparable reads
        models, datasets = ("a", "b"), ["OCRBench"]
    assert "not the paper's ten-model pool" in paper_comparable(Table())
