"""Table 3 (per-dataset QNC) and the "about 33% of the best single model's cost" check, on hand-made study results."""

import numpy as np
import pandas as pd
import pytest

from mmr_utils.paper_tables import PAPER_COST_FRACTION, cost_claim_check, qnc_per_dataset
from mmr_utils.studies import StudyResult

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
