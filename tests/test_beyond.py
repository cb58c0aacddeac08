"""Headroom analysis (``beyond.headroom``): each measure against a hand computation on small tables."""

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.beyond import headroom as beyond


def _table(Y):
    n, k = Y.shape
    instances = pd.DataFrame({"dataset_idx": [f"D_{i}" for i in range(n)], "dataset": "D", "scenario": "S",
                              "question": [f"q{i}" for i in range(n)], "answer": "A", "image_path": None})
    return OutcomeTable(models=[f"m{j}" for j in range(k)], correct=Y.astype(float), cost=np.ones((n, k)),
                        instances=instances, source={"simulated": True})


def test_group_oracle_finds_the_best_model_per_group():
    # model 0 is right on the first half, model 1 on the second half: each alone scores 0.5, the grouping 1.0
    Y = np.zeros((8, 2))
    Y[:4, 0] = 1
    Y[4:, 1] = 1
    half = np.array(["a"] * 4 + ["b"] * 4)
    mixed = np.array(["a", "b"] * 4)
    frame = beyond.headroom(_table(Y), {"half": half, "mixed": mixed}).set_index("measure")["value"]
    assert frame["best_single"] == 0.5
    assert frame["oracle"] == 1.0
    assert frame["group_oracle:half"] == 1.0
    assert frame["group_oracle:mixed"] == 0.5
    assert frame["mean_error_correlation"] == pytest.approx(-1.0)


def test_independent_oracle_and_noise_match_the_formulas():
    rng = np.random.default_rng(0)
    Y = (rng.random((400, 3)) < [0.2, 0.3, 0.5]).astype(float)
    frame = beyond.headroom(_table(Y), train_fraction=0.25).set_index("measure")["value"]
    p = Y.mean(axis=0)
    assert frame["oracle_if_independent"] == pytest.approx(1 - np.prod(1 - p))
    assert frame["test_sd_best_single"] == pytest.approx(np.sqrt(p.max() * (1 - p.max()) / 300))


def test_grouping_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="grouping 'g' has 3 labels; the table has 8 rows"):
        beyond.headroom(_table(np.eye(8, 2)), {"g": ["a", "b", "c"]})


def test_group_router_learns_a_real_grouping_out_of_sample_and_not_a_random_one():
    rng = np.random.default_rng(1)
    n = 600
    half = np.where(np.arange(n) < n // 2, "a", "b")
    Y = np.zeros((n, 2))
    Y[:n // 2, 0] = rng.random(n // 2) < 0.8
    Y[:n // 2, 1] = rng.random(n // 2) < 0.2
    Y[n // 2:, 0] = rng.random(n // 2) < 0.3
    Y[n // 2:, 1] = rng.random(n // 2) < 0.7
    noise = rng.choice(["x", "y", "z"], size=n)
    frame = beyond.headroom(_table(Y), {"half": half, "noise": noise}, seeds=(0, 1, 2)).set_index("measure")["value"]
    assert frame["group_router:half"] > 0.15
    assert abs(frame["group_router:noise"]) < 0.05
    again = beyond.headroom(_table(Y), {"half": half, "noise": noise}, seeds=(0, 1, 2)).set_index("measure")["value"]
    assert again.equals(frame)
