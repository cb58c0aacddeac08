"""The evaluation protocol: hand-computed cases and properties (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmr_utils.decision import choose_models
from mmr_utils.evaluation import (
    budget_sweep,
    naive_budget_sweep,
    nauc,
    oracle_choice,
    oracle_point,
    pareto_frontier,
    peak_score,
    quality_neutral_cost,
    random_routing,
    shared_cost_range,
    single_model_points,
    summarize,
)

# Two rows, three models. Model 0 cheap and weak, model 2 dear and strong.
Y = np.array([[0, 1, 1], [0, 0, 1]], float)
C = np.array([[1, 2, 4], [1, 2, 4]], float)


def test_threshold_sweep_by_hand():
    U = np.array([[0.1, 0.9, 0.5], [0.2, 0.3, 0.8]])
    P = np.array([[1, 2, 3], [1, 2, 3]], float)
    sweep = budget_sweep(U, P, Y, C)
    # t=1: both rows take model 0; t=2: row 0 model 1, row 1 model 1; t=3: row 0 keeps 1, row 1 takes 2.
    np.testing.assert_allclose(sweep.param, [1, 2, 3])
    np.testing.assert_allclose(sweep.cost, [1, 2, 3])
    np.testing.assert_allclose(sweep.accuracy, [0, 0.5, 1])


def test_unaffordable_rows_go_to_cheapest_predicted_model_not_index_0():
    U = np.array([[0.9, 0.1], [0.9, 0.1]])
    P = np.array([[5.0, 1.0], [0.5, 1.0]])
    Y2 = np.array([[1, 0], [1, 0]], float)
    C2 = np.array([[5.0, 1.0], [5.0, 1.0]])
    picks = choose_models(U, P, budget=0.7)
    assert picks.tolist() == [1, 0]  # row 0: nothing affordable -> cheapest predicted (1), not index 0
    sweep = budget_sweep(U, P, Y2, C2)
    assert sweep.param[0] == 0.5
    assert sweep.cost[0] == pytest.approx((1.0 + 5.0) / 2)


def test_lambda_sweep_by_hand():
    U = np.array([[0.2, 0.6, 1.0]])
    P = np.array([[1.0, 2.0, 4.0]])
    sweep = budget_sweep(U, P, Y[:1], C[:1], rule="lambda")
    # Envelope of 0.2-l, 0.6-2l, 1-4l: model 2 until l=0.2, model 1 until l=0.4, then model 0.
    np.testing.assert_allclose(sweep.param, [0.0, 0.2, 0.4])
    np.testing.assert_allclose(sweep.cost, [4, 2, 1])
    np.testing.assert_allclose(sweep.accuracy, [1, 1, 0])


def test_pareto_frontier_keeps_only_strict_improvements():
    points = np.array([[3, 0.5], [1, 0.2], [2, 0.2], [2, 0.4], [4, 0.5], [5, 0.9], [0.5, 0.1]])
    frontier = pareto_frontier(points)
    np.testing.assert_allclose(frontier, [[0.5, 0.1], [1, 0.2], [2, 0.4], [3, 0.5], [5, 0.9]])
    assert peak_score(frontier) == 0.9


def test_qnc_and_nauc_by_hand():
    frontier = np.array([[1.0, 0.0], [2.0, 0.5], [3.0, 1.0]])
    # Best single model is model 2 (accuracy 1, mean cost 4); the frontier reaches 1.0 at cost 3 -> QNC 0.75.
    assert quality_neutral_cost(frontier, Y, C) == pytest.approx(0.75)
    assert quality_neutral_cost(frontier[:2], Y, C) == float("inf")
    # official: trapezoid over [1, 3] = (0.25 + 0.75) / 2 = 0.5
    assert nauc(frontier, protocol="official") == pytest.approx(0.5)
    # shared over [1, 4]: step envelope 0 on [1,2), 0.5 on [2,3), 1 on [3,4] -> 1.5 / 3
    assert shared_cost_range(C) == (1.0, 4.0)
    assert nauc(frontier, C, protocol="shared") == pytest.approx(0.5)
    assert nauc(frontier[:1], protocol="official") == 0.0
    with pytest.raises(ValueError, match="protocol"):
        nauc(frontier, protocol="bogus")


def test_oracle_cheapest_correct_else_cheapest():
    Y3 = np.array([[0, 1, 1], [0, 0, 0]], float)
    C3 = np.array([[1, 3, 2], [2, 1, 3]], float)
    assert oracle_choice(Y3, C3).tolist() == [2, 1]
    assert oracle_point(Y3, C3) == (pytest.approx(1.5), pytest.approx(0.5))


def test_summarize_drops_incomplete_rows_and_reports_them():
    Yn = np.vstack([Y, [np.nan, 1, 0]])
    Cn = np.vstack([C, [1, 2, 4]])
    U = np.random.default_rng(0).random(Yn.shape)
    result = summarize(U, U, Yn, Cn)
    assert result.rows == 2 and result.rows_dropped == 1
    with pytest.raises(ValueError, match="NaN"):
        budget_sweep(U, U, Yn, Cn)


def test_random_routing_is_seeded_and_between_min_and_max():
    rng = np.random.default_rng(1)
    Yr, Cr = rng.integers(0, 2, (200, 4)).astype(float), rng.random((200, 4))
    a, b = random_routing(Yr, Cr, draws=5, seed=3), random_routing(Yr, Cr, draws=5, seed=3)
    assert a == b
    assert random_routing(Yr, Cr, draws=5, seed=4) != a
    assert Yr.mean(0).min() - 0.1 < a["accuracy"] < Yr.mean(0).max() + 0.1


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="rule"):
        budget_sweep(Y, C, Y, C, rule="quantile")
    with pytest.raises(ValueError, match="shape"):
        budget_sweep(Y[:1], C, Y, C)
    with pytest.raises(ValueError, match="exactly one"):
        choose_models(Y, C)


# --------------------------------------------------------------------------- properties
@st.composite
def routing_problem(draw, max_n=25, max_k=5):
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, max_k))
    discrete = draw(st.booleans())
    # Continuous values on a 1/1000 grid: the naive loop compares U - lambda * P in floats, where a subnormal U would
    # be absorbed and produce a tie the exact sweep does not see.
    values = st.integers(0, 3).map(float) if discrete else st.integers(0, 1000).map(lambda v: v / 1000)
    U = draw(arrays(float, (n, k), elements=values))
    P = draw(arrays(float, (n, k), elements=values))
    Y = draw(arrays(float, (n, k), elements=st.sampled_from([0.0, 1.0])))
    C = draw(arrays(float, (n, k), elements=st.floats(0.0625, 1, allow_nan=False, width=32)))
    return U, P, Y, C


@settings(max_examples=150, deadline=None)
@given(routing_problem())
def test_exact_threshold_sweep_equals_naive_loop(problem):
    U, P, Y, C = problem
    fast, slow = budget_sweep(U, P, Y, C), naive_budget_sweep(U, P, Y, C)
    np.testing.assert_allclose(fast.param, slow.param)
    np.testing.assert_allclose(fast.cost, slow.cost, atol=1e-12)
    np.testing.assert_allclose(fast.accuracy, slow.accuracy, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(routing_problem())
def test_official_fallback_to_first_model_equals_naive_loop(problem):
    U, P, Y, C = problem
    fast = budget_sweep(U, P, Y, C, fallback="first")
    slow = naive_budget_sweep(U, P, Y, C, fallback="first")
    np.testing.assert_allclose(fast.cost, slow.cost, atol=1e-12)
    np.testing.assert_allclose(fast.accuracy, slow.accuracy, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(routing_problem())
def test_exact_lambda_sweep_equals_naive_loop_between_breakpoints(problem):
    U, P, Y, C = problem
    fast = budget_sweep(U, P, Y, C, rule="lambda")
    inside = np.r_[(fast.param[:-1] + fast.param[1:]) / 2, fast.param[-1] * 2 + 1]
    slow = naive_budget_sweep(U, P, Y, C, rule="lambda", params=inside)
    np.testing.assert_allclose(fast.cost, slow.cost, atol=1e-12)
    np.testing.assert_allclose(fast.accuracy, slow.accuracy, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(routing_problem())
def test_frontier_is_monotone_and_oracle_dominates(problem):
    U, P, Y, C = problem
    frontier = pareto_frontier(budget_sweep(U, P, Y, C))
    assert np.all(np.diff(frontier[:, 0]) > 0) or len(frontier) == 1
    assert np.all(np.diff(frontier[:, 1]) > 0) or len(frontier) == 1
    o_cost, o_acc = oracle_point(Y, C)
    # No router point is both more accurate than the oracle, or as accurate and cheaper.
    for cost, acc in frontier:
        assert acc <= o_acc + 1e-12
        if acc >= o_acc - 1e-12:
            assert cost >= o_cost - 1e-12


@settings(max_examples=100, deadline=None)
@given(routing_problem())
def test_peak_score_covers_contained_single_models(problem):
    _, _, Y, C = problem
    singles = single_model_points(Y, C)
    points = np.vstack([singles, [[C.mean(), Y.mean()]]])
    assert peak_score(pareto_frontier(points)) >= singles[:, 1].max() - 1e-12


@settings(max_examples=100, deadline=None)
@given(routing_problem(max_k=1))
def test_threshold_and_lambda_rules_agree_on_a_single_model_table(problem):
    U, P, Y, C = problem
    a, b = budget_sweep(U, P, Y, C), budget_sweep(U, P, Y, C, rule="lambda")
    np.testing.assert_allclose(pareto_frontier(a), pareto_frontier(b))


@settings(max_examples=60, deadline=None)
@given(routing_problem())
def test_nauc_in_unit_interval_and_shared_bounded_by_peak(problem):
    U, P, Y, C = problem
    frontier = pareto_frontier(budget_sweep(U, P, Y, C))
    assert 0 <= nauc(frontier) <= 1
    lo, hi = shared_cost_range(C)
    if hi > lo:
        assert 0 <= nauc(frontier, C, protocol="shared") <= peak_score(frontier) + 1e-12


# --------------------------------------------------------------------------- hardening (issue #9)
@pytest.mark.parametrize("draws", [0, -3])
def test_random_routing_needs_at_least_one_draw(draws):
    """Item 7: no all-NaN baseline from zero draws."""
    with pytest.raises(ValueError, match=f"at least 1 draw, got draws={draws}"):
        random_routing(Y, C, draws=draws)


def test_equal_costs_give_nan_shared_nauc_and_a_note():
    """Item 12: every model with the same cost: nAUC_shared is NaN with a note, the other metrics are computed."""
    same = np.full_like(C, 0.5)
    U = np.array([[0.1, 0.9, 0.5], [0.2, 0.3, 0.8]])
    summary = summarize(U, same, Y, same)
    assert np.isnan(summary.metrics["nAUC_shared"]) and summary.metrics["Ps"] == 1.0
    assert "every model has the same cost" in summary.extra["notes"][0]
    assert np.isnan(nauc(summary.frontier, same, protocol="shared"))
    assert np.isnan(random_routing(Y, same, draws=3)["nAUC_shared"])
    with pytest.raises(ValueError, match="hi >= lo"):
        nauc(summary.frontier, protocol="shared", cost_range=(2.0, 1.0))
    assert "notes" not in summarize(U, C, Y, C).extra


def test_one_model_is_a_plain_error():
    """Item 12: routing needs two models; not "shared cost range must have hi > lo"."""
    with pytest.raises(ValueError, match="at least two candidate models to choose between, got 1"):
        summarize(Y[:, :1], C[:, :1], Y[:, :1], C[:, :1])
