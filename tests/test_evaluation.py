"""The evaluation protocol: hand-computed cases and properties (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmr_utils.metrics.decision import choose_models
from mmr_utils.metrics.protocol import (
    budget_sweep,
    naive_budget_sweep,
    nauc,
    pareto_frontier,
    peak_score,
    quality_neutral_cost,
    shared_cost_range,
)
from mmr_utils.metrics.references import (
    first_correct_oracle,
    official_model_order,
    oracle_choice,
    oracle_point,
    random_official,
    single_model_points,
)
from mmr_utils.metrics.summary import random_routing, random_sweep, summarize, summarize_official

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


def test_random_sweep_is_seeded_and_between_min_and_max():
    rng = np.random.default_rng(1)
    Yr, Cr = rng.integers(0, 2, (200, 4)).astype(float), rng.random((200, 4))
    a, b = random_sweep(Yr, Cr, draws=5, seed=3), random_sweep(Yr, Cr, draws=5, seed=3)
    assert a == b and a["protocol"] == "sweep"
    assert random_sweep(Yr, Cr, draws=5, seed=4) != a
    assert Yr.mean(0).min() - 0.1 < a["accuracy"] < Yr.mean(0).max() + 0.1
    assert random_routing(Yr, Cr, draws=5, seed=3, protocol="sweep") == a


def test_random_official_is_fifty_one_point_trials_drawn_like_the_official_code():
    rng = np.random.default_rng(1)
    Yr, Cr = rng.integers(0, 2, (300, 5)).astype(float), rng.random((300, 5))
    result = random_official(Yr, Cr)
    assert result["protocol"] == "official" and result["seed"] == 42
    assert result["points"].shape == (50, 2)
    # The official draws: one default_rng(42), integers(0, K, size=n) per trial, in order.
    draws = np.random.default_rng(42)
    rows = np.arange(300)
    for trial in range(50):
        pick = draws.integers(0, 5, size=300)
        np.testing.assert_allclose(result["points"][trial], [Cr[rows, pick].mean(), Yr[rows, pick].mean()])
    # Ps is the best trial (the top of the points' frontier), not the mean.
    assert result["Ps"] == pytest.approx(result["points"][:, 1].max())
    assert result["Ps"] > result["accuracy"]
    assert result["accuracy"] == pytest.approx(result["points"][:, 1].mean())
    again = random_official(Yr, Cr)
    np.testing.assert_array_equal(again["points"], result["points"])
    assert not np.array_equal(random_official(Yr, Cr, seed=0)["points"], result["points"])
    # The default Random reference is the official one.
    np.testing.assert_array_equal(random_routing(Yr, Cr)["points"], result["points"])
    with pytest.raises(ValueError, match="random protocol"):
        random_routing(Yr, Cr, protocol="quantile")
    with pytest.raises(ValueError, match="trials"):
        random_official(Yr, Cr, trials=0)


PAPER_MODELS = ["Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-72B-Instruct", "InternVL3-78B", "Gemma3-4B",
                "Qwen2.5-VL-7B-Instruct", "Claude3-7V_Sonnet", "gpt-5-nano-2025-08-07", "GeminiPro2-5",
                "gpt-5-2025-08-07", "GeminiFlash2-5"]


def test_official_model_order_puts_claude_first_like_the_sorted_official_loader():
    order = official_model_order(PAPER_MODELS)
    names = [PAPER_MODELS[i] for i in order]
    assert names[0] == "Claude3-7V_Sonnet"
    assert names == sorted(PAPER_MODELS)
    assert names[-2:] == ["gpt-5-2025-08-07", "gpt-5-nano-2025-08-07"]  # lower case after upper case
    with pytest.raises(ValueError, match="unique"):
        official_model_order(["a", "a"])


def _official_loop(U, P, Y, C):
    # The official evaluate_under_cost, written from its description: every unique predicted cost is a threshold,
    # unaffordable models get -inf, and argmax picks (index 0 when nothing is affordable, lowest index on ties).
    rows = np.arange(len(U))
    points = []
    for t in np.unique(P):
        pick = np.argmax(np.where(t >= P, U, -np.inf), axis=1)
        points.append((C[rows, pick].mean(), Y[rows, pick].mean()))
    return np.array(points)


def test_index_ties_differ_from_cheapest_ties_when_utilities_tie():
    U = np.array([[1.0, 1.0]])
    P = np.array([[2.0, 1.0]])
    Yt, Ct = np.array([[1.0, 0.0]]), np.array([[2.0, 1.0]])
    assert budget_sweep(U, P, Yt, Ct).accuracy[-1] == 0.0  # equal utility: the cheaper model 1
    assert budget_sweep(U, P, Yt, Ct, ties="index").accuracy[-1] == 1.0  # official argmax: model 0
    with pytest.raises(ValueError, match="threshold rule only"):
        budget_sweep(U, P, Yt, Ct, rule="lambda", ties="index")


def test_official_emulation_sends_unaffordable_rows_to_the_sorted_first_model():
    # Columns as a table holds them: "b-cheap" first; the official loader sorts names, so "A-dear" is its model 0.
    models = ["b-cheap", "A-dear"]
    U = np.array([[0.9, 0.1], [0.9, 0.1]])
    P = np.array([[1.0, 5.0], [2.0, 5.0]])
    Yo = np.array([[0.0, 1.0], [0.0, 1.0]])
    Co = np.array([[1.0, 9.0], [1.0, 9.0]])
    official = summarize_official(U, P, Yo, Co, models)
    # At the first threshold (1.0) row 1 affords nothing and goes to "A-dear" (cost 9), not the first column.
    assert official.points.cost[0] == pytest.approx((1.0 + 9.0) / 2)
    column_first = summarize(U, P, Yo, Co, fallback="first")
    assert column_first.points.cost[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="model names"):
        summarize_official(U, P, Yo, Co, ["only-one"])


def test_first_correct_oracle_follows_column_order():
    Yo = np.array([[0, 1, 1], [0, 0, 0]], float)
    Co = np.array([[1, 5, 2], [3, 1, 2]], float)
    assert first_correct_oracle(Yo, Co) == pytest.approx(((5 + 3) / 2, 0.5))
    order = np.array([2, 0, 1])
    assert first_correct_oracle(Yo[:, order], Co[:, order]) == pytest.approx(((2 + 2) / 2, 0.5))


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


@settings(max_examples=100, deadline=None)
@given(routing_problem())
def test_first_fallback_with_index_ties_reproduces_the_official_loop(problem):
    U, P, Y, C = problem
    fast = budget_sweep(U, P, Y, C, fallback="first", ties="index")
    np.testing.assert_allclose(np.asarray(fast), _official_loop(U, P, Y, C), atol=1e-12)
    slow = naive_budget_sweep(U, P, Y, C, fallback="first", ties="index")
    np.testing.assert_allclose(fast.accuracy, slow.accuracy, atol=1e-12)
# --------------------------------------------------------------------------- hardening
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
