"""Model-pool shift: leave-one-model-out and adding a model from K labelled queries, on the
shared simulated table (offline encoders) reduced to five models so the loops stay quick."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import epochs

from mmr_utils.data.splits import instance_split
from mmr_utils.experiments.beyond import shift
from mmr_utils.experiments.runs import RunConfig, fit_predict
from mmr_utils.features.bank import FeatureBank
from mmr_utils.metrics import references, summary
from mmr_utils.report import beyond_plots


@pytest.fixture(scope="module")
def bank5(sim_bank):
    table = sim_bank.table.select_models(list(sim_bank.table.models[:5]))
    return FeatureBank(table, sim_bank.choice, sim_bank.text, sim_bank.image, sim_bank.info)


def _with_table(bank, table):
    return FeatureBank(table, bank.choice, bank.text, bank.image, bank.info)


def test_leave_one_out_removes_the_model_and_scores_the_reduced_pool(bank5):
    table = bank5.table
    result = shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn"])
    frame = result.results
    split = instance_split(table, 0.2, seed=0)
    rows = split.test[table.complete_rows()[split.test]]
    leave = frame[frame["scenario"] == "leave_out"].set_index("removed")
    assert sorted(leave.index) == sorted(table.models) and (leave["models"] == 4).all()
    for model in table.models:
        reduced = shift.pool_bank(bank5, model)
        assert model not in reduced.table.models and len(reduced.table.models) == 4
        run = fit_predict(reduced, "knn", split, RunConfig(), seed=0)
        assert run.U.shape[1] == 4  # the router's choices range over the four remaining models only
        kept = [k for k, m in enumerate(table.models) if m != model]
        Y, C = table.correct[rows][:, kept], table.cost[rows][:, kept]
        assert leave.loc[model, "oracle_Ps"] == pytest.approx(references.oracle_point(Y, C)[1])
        keep = np.isin(run.test, rows)
        assert leave.loc[model, "Ps"] == pytest.approx(summary.summarize(run.U[keep], run.P[keep], Y, C).metrics["Ps"])
    full = frame[frame["scenario"] == "full"].iloc[0]
    assert (leave["oracle_Ps"] <= full["oracle_Ps"] + 1e-12).all()
    assert leave["d_Ps"].to_numpy() == pytest.approx((leave["Ps"] - full["Ps"]).to_numpy())


def test_named_scenarios_use_training_accuracy_and_cost(bank5):
    table = bank5.table
    frame = shift.pool_shift(bank5, RunConfig(seeds=(1,)), ["knn"]).results
    train = instance_split(table, 0.2, seed=1).train
    accuracy = np.nanmean(table.correct[train], axis=0)
    cost = np.nanmean(table.cost[train], axis=0)
    strongest = frame.loc[frame["scenario"] == "remove_strongest", "removed"].item()
    cheapest = frame.loc[frame["scenario"] == "remove_cheapest", "removed"].item()
    assert accuracy[table.models.index(strongest)] == accuracy.max()
    assert cost[table.models.index(cheapest)] == cost.min()
    with pytest.raises(ValueError, match="not in the pool"):
        shift.pool_bank(bank5, "no-such-model")


def _planted(bank, new, seed, k):
    """The bank with the new model's training outcomes outside the K profiled rows turned upside down."""
    table = bank.table
    split = instance_split(table, 0.2, seed=seed)
    outside = np.setdiff1d(split.train, shift.profiled_rows(split.train, k, seed))
    j = table.models.index(new)
    correct, cost = table.correct.copy(), table.cost.copy()
    correct[outside, j] = 1 - correct[outside, j]
    cost[outside, j] = cost[outside, j] * 50 + 1
    return _with_table(bank, dataclasses.replace(table, correct=correct, cost=cost)), split


@pytest.mark.parametrize("router", ["knn", "linear_mf"])
def test_only_the_k_profiled_rows_of_the_new_model_are_used(bank5, router):
    new, seed, k = bank5.table.models[2], 0, 10
    planted, split = _planted(bank5, new, seed, k)
    j = bank5.table.models.index(new)
    mask = np.ones((len(split.train), 5), dtype=bool)
    mask[:, j] = np.isin(split.train, shift.profiled_rows(split.train, k, seed))
    U0, P0 = shift.fit_predict_masked(bank5, router, split, mask, RunConfig(router_params=epochs(2)), seed=seed)
    U1, P1 = shift.fit_predict_masked(planted, router, split, mask, RunConfig(router_params=epochs(2)), seed=seed)
    np.testing.assert_array_equal(U0, U1)
    np.testing.assert_array_equal(P0, P1)
    everything = np.ones_like(mask)  # with every row labelled, the planted labels must show
    Ua, _ = shift.fit_predict_masked(bank5, router, split, everything, RunConfig(router_params=epochs(2)), seed=seed)
    Ub, _ = shift.fit_predict_masked(planted, router, split, everything, RunConfig(router_params=epochs(2)), seed=seed)
    assert not np.array_equal(Ua, Ub)


def test_add_model_curve_ignores_labels_outside_k_and_meets_its_references(bank5):
    new = bank5.table.models[2]
    kwargs = dict(new_model=new, ks=(0, 5, 10, None))
    result = shift.add_model_curve(bank5, RunConfig(), ["knn", "kmeans_shrunk"], **kwargs)
    frame, refs = result.results, result.curves["references"]
    assert list(dict.fromkeys(frame["K"])) == ["0", "5", "10", "all"]
    planted, _ = _planted(bank5, new, 0, 10)
    again = shift.add_model_curve(planted, RunConfig(), ["knn", "kmeans_shrunk"], **kwargs).results
    for k in ("0", "5", "10"):  # K rows nested in the 10 kept: identical; K = all sees the planted labels
        pd.testing.assert_frame_equal(frame[frame["K"] == k].reset_index(drop=True),
                                      again[again["K"] == k].reset_index(drop=True))
    for router in ("knn", "kmeans_shrunk"):
        ref = refs[refs["router"] == router].set_index("pool")
        row = frame[frame["router"] == router].set_index("K")
        assert row.loc["all", "nAUC"] == pytest.approx(ref.loc["full", "nAUC"])
        assert row.loc["all", "Ps"] == pytest.approx(ref.loc["full", "Ps"])
        assert row.loc["0", "Ps"] == pytest.approx(ref.loc["without", "Ps"]) and row.loc["0", "share_new"] == 0
    assert (frame["new_model"] == new).all()


def test_add_model_defaults_to_strongest_skips_large_k_and_is_deterministic(bank5):
    first = shift.add_model_curve(bank5, RunConfig(seeds=(0, 1)), ["knn"], ks=(0, 8, 10_000))
    second = shift.add_model_curve(bank5, RunConfig(seeds=(0, 1)), ["knn"], ks=(0, 8, 10_000))
    pd.testing.assert_frame_equal(first.results, second.results)
    assert set(first.curves["skipped"]["K"]) == {10_000} and "10000" not in set(first.results["K"])
    table = bank5.table
    for seed, group in first.results.groupby("seed"):
        train = instance_split(table, 0.2, seed=seed).train
        profile = shift.training_profile(table, train)
        assert profile.loc[group["new_model"].iloc[0], "accuracy"] == profile["accuracy"].max()
    fig = beyond_plots.plot_add_model(first)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="not in the pool"):
        shift.add_model_curve(bank5, RunConfig(seeds=(0, 1)), ["knn"], new_model="nope")
    with pytest.raises(ValueError, match="non-negative integers"):
        shift.add_model_curve(bank5, RunConfig(seeds=(0, 1)), ["knn"], ks=(-1,))
    split = instance_split(table, 0.2, seed=0)
    with pytest.raises(ValueError, match="true test outcomes"):
        shift.fit_predict_masked(bank5, "oracle", split, np.ones((len(split.train), 5), dtype=bool), RunConfig(), seed=0)


def test_pool_shift_is_deterministic(bank5):
    a = shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn_shrunk"]).results
    b = shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn_shrunk"]).results
    pd.testing.assert_frame_equal(a, b)


def test_shrinkage_gives_the_training_mean_to_empty_cells_even_with_zero_prior_strength():
    from mmr_utils.routers.extra.shrinkage import shrink

    local = np.array([[0.0, 1.0], [np.nan, 0.5]])
    counts = np.array([[2.0, 0.0], [0.0, 3.0]])
    out = shrink(local, counts, np.array([0.4, 0.7]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(out, [[0.0, 0.7], [0.4, 0.5]])


def test_pool_shift_named_runs_only_the_two_named_removals(bank5):
    result = shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn"], remove="named")
    frame, named = result.results, result.curves["named"].iloc[0]
    assert set(frame.loc[frame["scenario"] == "leave_out", "removed"]) == {named["strongest"], named["cheapest"]}
    full = shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn"]).results
    pick = ["scenario", "removed", "router", "nAUC", "Ps", "d_Ps"]
    for scenario in ("remove_strongest", "remove_cheapest"):
        pd.testing.assert_frame_equal(frame.loc[frame["scenario"] == scenario, pick].reset_index(drop=True),
                                      full.loc[full["scenario"] == scenario, pick].reset_index(drop=True))
    with pytest.raises(ValueError, match="remove='some'"):
        shift.pool_shift(bank5, RunConfig(seeds=(0,)), ["knn"], remove="some")
