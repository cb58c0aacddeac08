"""Peer benchmarks' metrics: hand-computed cases, edge cases, and properties against naive implementations."""

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmr_utils.metrics import protocol as evaluation
from mmr_utils.metrics.peer import (
    FRONTIER_METRICS,
    METRIC_INFO,
    References,
    aiq,
    apgr,
    cost_at_accuracy,
    cpt,
    hypervolume,
    nauc_orbit,
    nondecreasing_hull,
    orbit_quantile_points,
    pgr,
    savings_ratio,
)
from mmr_utils.metrics.peer_table import (
    call_shares,
    choices_at_peak,
    metrics_from_frontier,
    peer_metrics,
    peer_metrics_table,
    reference_peer_metrics,
    share_entropy,
)
from mmr_utils.metrics.protocol import budget_sweep, pareto_frontier, quality_neutral_cost
from mmr_utils.metrics.references import random_official
from mmr_utils.metrics.summary import summarize


# --------------------------------------------------------------------------- naive references
def naive_hull_value(points, x):
    """Highest accuracy reachable at cost x by mixing two points (or one) whose costs bracket x: the concave majorant,
    made non-decreasing by taking the best over all costs <= x; 0 below the cheapest point."""
    points = np.asarray(points, float)
    if x < points[:, 0].min():
        return 0.0
    best = -np.inf
    for (c1, a1), (c2, a2) in itertools.product(points, repeat=2):
        for z in np.linspace(0, 1, 11):  # mixtures z * p1 + (1 - z) * p2 cost at most x
            cost, acc = z * c1 + (1 - z) * c2, z * a1 + (1 - z) * a2
            if cost <= x + 1e-12:
                best = max(best, acc)
        # the exact mixture that spends exactly x, when x lies between the two costs
        if min(c1, c2) <= x <= max(c1, c2) and c1 != c2:
            z = (x - c2) / (c1 - c2)
            best = max(best, z * a1 + (1 - z) * a2)
    return best


def dense_integral(f, lo, hi, n=20001):
    x = np.linspace(lo, hi, n)
    y = np.array([f(v) for v in x])
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


def naive_hypervolume(points, reference, grid=400):
    c_ref, a_ref = reference
    points = np.asarray(points, float)
    xs = (np.arange(grid) + 0.5) / grid * c_ref
    ys = a_ref + (np.arange(grid) + 0.5) / grid * (1 - a_ref)
    X, Yg = np.meshgrid(xs, ys)
    dominated = np.zeros(X.shape, bool)
    for c, a in points:
        dominated |= (c <= X) & (a >= Yg)
    return dominated.mean() * c_ref * (1 - a_ref)


@st.composite
def point_sets(draw, max_m=6):
    m = draw(st.integers(1, max_m))
    cost = draw(arrays(float, m, elements=st.integers(0, 20).map(lambda v: v / 10)))
    acc = draw(arrays(float, m, elements=st.integers(0, 20).map(lambda v: v / 20)))
    return np.column_stack([cost, acc])


# --------------------------------------------------------------------------- AIQ
def test_hull_by_hand_drops_points_under_the_chord_and_after_the_peak():
    points = np.array([[0, 0.2], [1, 0.3], [2, 0.8], [3, 0.85], [4, 0.6], [2, 0.1]])
    # (1, 0.3) lies under the chord from (0, 0.2) to (2, 0.8); (4, 0.6) is after the peak.
    np.testing.assert_allclose(nondecreasing_hull(points), [[0, 0.2], [2, 0.8], [3, 0.85]])
    # area: [0,2] trapezoid 1.0, [2,3] 0.825, flat 0.85 on [3,4]: 2.675 / 4
    assert aiq(points, 4.0) == pytest.approx(2.675 / 4)
    assert aiq(points) == pytest.approx(2.675 / 4)  # default upper: the points' largest cost
    # RouterBench's paper normalisation over [c_min, c_max]
    assert aiq(points, 4.0, lower=0.0) == aiq(points, 4.0)
    assert aiq([[1, 0.5]], 2.0, lower=1.0) == pytest.approx(0.5)


def test_aiq_single_point_and_equal_costs():
    assert aiq([[1.0, 0.6]], 2.0) == pytest.approx(0.6 / 2)  # zero below the point, flat after
    assert aiq([[1.0, 0.6], [1.0, 0.9]], 1.0) == pytest.approx(0.0)  # a vertical hull has no area before upper
    assert aiq([[1.0, 0.6], [1.0, 0.9]], 3.0) == pytest.approx(0.9 * 2 / 3)
    with pytest.raises(ValueError, match="upper > lower"):
        aiq([[1.0, 0.6]], 0.0)


@settings(max_examples=30, deadline=None)
@given(point_sets(max_m=5))
def test_aiq_equals_dense_integral_of_the_naive_mixture_hull(points):
    upper = float(points[:, 0].max()) + 0.5
    naive = dense_integral(lambda x: naive_hull_value(points, x), 0.0, upper, n=401) / upper
    # the dense trapezoid rule misses at most the jump at the cheapest point: one grid step times accuracy <= 1
    assert aiq(points, upper) == pytest.approx(naive, abs=2 * upper / 400 + 1e-9)
    hull = nondecreasing_hull(points)
    assert np.all(np.diff(hull[:, 0]) > 0) and np.all(np.diff(hull[:, 1]) >= 0)


# --------------------------------------------------------------------------- RouteLLM
WEAK, STRONG = (1.0, 0.5), (3.0, 0.9)


def test_pgr_apgr_cpt_by_hand():
    frontier = np.array([[1.5, 0.7], [2.5, 0.9]])
    # s = 0.25 -> cost 1.5: PGR (0.7-0.5)/0.4 = 0.5; s = 0.75 -> cost 2.5: PGR 1
    np.testing.assert_allclose(pgr(frontier, WEAK, STRONG, [0.0, 0.25, 0.5, 0.75, 1.0]), [0, 0.5, 0.5, 1, 1])
    assert apgr(frontier, WEAK, STRONG) == pytest.approx(0.25 * 0 + 0.5 * 0.5 + 0.25 * 1)
    assert apgr(frontier, WEAK, STRONG, grid=4) == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)
    assert cpt(frontier, WEAK, STRONG, 0.5) == pytest.approx(0.25)
    assert cpt(frontier, WEAK, STRONG, 0.8) == pytest.approx(0.75)
    # below the weak model's cost the normalised cost is clipped at 0
    assert cpt(np.array([[0.5, 0.8]]), WEAK, STRONG, 0.5) == 0.0


def test_router_never_reaching_the_target_has_infinite_cpt_and_equal_models_give_nan():
    frontier = np.array([[1.5, 0.6], [2.0, 0.7]])
    assert cpt(frontier, WEAK, STRONG, 0.5) == pytest.approx(0.5)
    assert cpt(frontier, WEAK, STRONG, 0.8) == float("inf")
    assert np.isnan(apgr(frontier, WEAK, (3.0, 0.5))) and np.isnan(cpt(frontier, WEAK, (3.0, 0.5), 0.5))
    with pytest.raises(ValueError, match="cost more"):
        apgr(frontier, WEAK, (0.5, 0.9))
    with pytest.raises(ValueError, match="grid"):
        apgr(frontier, WEAK, STRONG, grid=0)


@settings(max_examples=50, deadline=None)
@given(point_sets())
def test_apgr_equals_dense_mean_of_explicitly_interpolated_pgr(points):
    frontier = pareto_frontier(points)

    def explicit_pgr(s):
        budget = WEAK[0] + s * (STRONG[0] - WEAK[0])
        affordable = [a for c, a in points if c <= budget]
        return (max(affordable) - WEAK[1]) / (STRONG[1] - WEAK[1]) if affordable else 0.0

    s = (np.arange(2000) + 0.5) / 2000
    targets = np.array([explicit_pgr(v) for v in s])
    assert apgr(frontier, WEAK, STRONG) == pytest.approx(targets.mean(), abs=len(points) * 2e-3)
    for goal in (0.5, 0.8):
        hit = s[targets >= goal - 1e-9]
        value = cpt(frontier, WEAK, STRONG, goal)
        if len(hit):
            assert hit[0] - 1.0 / 2000 - 1e-9 <= value <= hit[0] + 1e-9
        elif value != float("inf"):
            assert value > 1.0 - 1e-9  # reached only above the strong model's cost


# --------------------------------------------------------------------------- ORBIT
def _orbit_reference(points, bounds):
    """ORBIT's normalized_auc written out from its description, point by point."""
    front = []
    for c in sorted({p[0] for p in points}):
        best = max(p[1] for p in points if p[0] == c)
        if not front or best > front[-1][1]:
            front.append((c, best))
    lo, hi = bounds
    if hi == lo:
        return max([a for c, a in front if c <= hi], default=0.0)
    current = max([a for c, a in front if c <= lo], default=0.0)
    xs, ys = [lo], [current]
    for c, a in front:
        # Every frontier point strictly inside, including one of accuracy 0 when nothing is affordable at lo
        # (the curve then starts at the default 0, not at a point, and must still pass through it).
        if lo < c < hi:
            xs.append(c)
            ys.append(a)
            current = a
    current = max([current] + [a for c, a in front if c <= hi])
    xs.append(hi)
    ys.append(current)
    return float(np.trapezoid(ys, xs) / (hi - lo))


@settings(max_examples=80, deadline=None)
@given(point_sets(), st.integers(0, 10), st.integers(0, 10))
@example(points=np.array([[0.2, 0.05], [0.1, 0.0]]), a=0, b=1)  # a frontier point of accuracy 0 inside (lo, hi)
def test_nauc_orbit_matches_the_written_out_orbit_rule(points, a, b):
    lo, hi = sorted((a / 5, b / 5))
    assert nauc_orbit(points, (lo, hi)) == pytest.approx(_orbit_reference(points.tolist(), (lo, hi)))


def test_nauc_orbit_by_hand_with_anchor():
    points = np.array([[2.0, 0.6], [3.0, 0.8]])
    # lower 1: nothing affordable -> 0, ramp to 0.6 at 2, to 0.8 at 3, flat to 4: (0.3 + 0.7 + 0.8) / 3
    assert nauc_orbit(points, (1.0, 4.0)) == pytest.approx(1.8 / 3)
    # ORBIT's anchor: the cheapest-true-model policy at the lower bound
    assert nauc_orbit(points, (1.0, 4.0), anchor=(1.0, 0.3)) == pytest.approx((0.45 + 0.7 + 0.8) / 3)
    with pytest.raises(ValueError, match="lo <= hi"):
        nauc_orbit(points, (2.0, 1.0))


def test_orbit_quantile_sweep_is_exact_with_few_costs_and_subsamples_many():
    rng = np.random.default_rng(0)
    U, P = rng.random((300, 4)), rng.random((300, 4))
    Y, C = (rng.random((300, 4)) < 0.6).astype(float), rng.random((300, 4))
    q = orbit_quantile_points(U, P, Y, C, max_budgets=100)
    assert len(q) == 100
    exact = budget_sweep(U, P, Y, C, ties="index")
    np.testing.assert_allclose(q.cost[-1], exact.cost[-1])
    Pc = np.round(P * 5) / 5  # 6 unique costs: every threshold kept
    np.testing.assert_allclose(np.asarray(orbit_quantile_points(U, Pc, Y, C)),
                               np.asarray(budget_sweep(U, Pc, Y, C, ties="index")))


# --------------------------------------------------------------------------- savings and hypervolume
def test_cost_at_accuracy_and_savings():
    frontier = np.array([[1.0, 0.5], [2.0, 0.8]])
    assert cost_at_accuracy(frontier, 0.6) == 2.0 and cost_at_accuracy(frontier, 0.9) == float("inf")
    assert savings_ratio(frontier, (4.0, 0.8)) == pytest.approx(0.5)
    assert np.isnan(savings_ratio(frontier, (4.0, 0.9)))


@settings(max_examples=60, deadline=None)
@given(point_sets(), st.integers(1, 25), st.integers(0, 10))
def test_hypervolume_equals_brute_force_grid(points, c_ref, a_ref):
    reference = (c_ref / 10, a_ref / 20)
    # points sit on a 0.1 x 0.05 lattice that the 400-cell grid resolves exactly when c_ref is a multiple of 0.1
    exact = hypervolume(points, reference)
    assert exact == pytest.approx(naive_hypervolume(points, reference), abs=2e-2 * reference[0])
    assert 0 <= hypervolume(points, reference, normalize=True) <= 1 + 1e-12 if reference[1] < 1 else True


def test_hypervolume_by_hand():
    points = np.array([[1.0, 0.5], [2.0, 0.8], [5.0, 0.9]])
    # reference (4, 0): 0.5 on [1,2] + 0.8 on [2,4]; (5, 0.9) is beyond the reference cost
    assert hypervolume(points, (4.0, 0.0)) == pytest.approx(0.5 + 1.6)
    assert hypervolume(points, (4.0, 0.0), normalize=True) == pytest.approx(2.1 / 4)
    assert hypervolume(points, (0.5, 0.0)) == 0.0


# --------------------------------------------------------------------------- call shares
def test_choices_at_peak_reproduce_ps_and_shares_sum_to_one():
    rng = np.random.default_rng(3)
    n, k = 400, 5
    Y = (rng.random((n, k)) < np.linspace(0.3, 0.8, k)).astype(float)
    C = rng.random((n, k)) * np.arange(1, k + 1)
    U, P = Y * 0.4 + rng.random((n, k)), C + rng.normal(0, 0.2, (n, k))
    for rule in ("threshold", "lambda"):
        choices = choices_at_peak(U, P, Y, C, rule=rule)
        ps = summarize(U, P, Y, C, rule=rule).metrics["Ps"]
        assert Y[np.arange(n), choices].mean() == pytest.approx(ps)
    shares = call_shares(choices, k)
    assert shares.sum() == pytest.approx(1.0) and shares.shape == (k,)
    assert share_entropy(np.ones(4) / 4) == pytest.approx(1.0)
    assert share_entropy([0.0, 1.0, 0.0]) == 0.0
    assert share_entropy([0.5, 0.5], normalize=False) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="lie in"):
        call_shares([0, 5], 5)
    with pytest.raises(ValueError, match="summing to 1"):
        share_entropy([0.5, 0.6])


# --------------------------------------------------------------------------- all together
def _problem(seed=1, n=300, k=4):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, k)) < np.linspace(0.4, 0.8, k)).astype(float)
    C = rng.random((n, k)) * np.arange(1, k + 1)
    U, P = Y * 0.3 + rng.random((n, k)), C * np.exp(rng.normal(0, 0.3, (n, k)))
    return U, P, Y, C


def test_peer_metrics_agree_with_summarize_and_each_other():
    U, P, Y, C = _problem()
    metrics = peer_metrics(U, P, Y, C)
    base = summarize(U, P, Y, C).metrics
    for key in ("nAUC", "nAUC_shared", "Ps", "QNC"):
        assert metrics[key] == pytest.approx(base[key])
    assert metrics["savings"] == pytest.approx(1 - metrics["QNC"])
    assert set(FRONTIER_METRICS) | {"nAUC_orbit_q100", "share_entropy"} <= set(metrics) <= set(METRIC_INFO) | {
        "shares", "rows", "rows_dropped"}
    frontier = summarize(U, P, Y, C).frontier
    assert metrics["QNC"] == pytest.approx(quality_neutral_cost(frontier, Y, C))
    with pytest.raises(AttributeError):
        evaluation.not_a_metric  # noqa: B018


def test_table_has_one_row_per_router_plus_references():
    U, P, Y, C = _problem()
    U2 = np.random.default_rng(9).random(U.shape)
    table = peer_metrics_table({"good": (U, P), "noise": (U2, P)}, Y, C, models=list("abcd"), study="demo")
    assert table["router"].tolist() == ["good", "noise", "Random", "Best Single", "Oracle"]
    assert (table["study"] == "demo").all()
    assert {"AIQ", "APGR", "CPT50", "CPT80", "nAUC_orbit", "nAUC_orbit_q100", "HV", "share[a]"} <= set(table)
    shares = table[[f"share[{m}]" for m in "abcd"]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    best = table.set_index("router").loc["Best Single"]
    assert best["QNC"] == pytest.approx(1.0) and best["share_entropy"] == 0.0
    oracle = table.set_index("router").loc["Oracle"]
    assert oracle["Ps"] >= table["Ps"].max() - 1e-12
    assert table.set_index("router").loc["good", "nAUC_shared"] > table.set_index("router").loc["noise", "nAUC_shared"]
    with pytest.raises(ValueError, match="model names"):
        peer_metrics_table({"good": (U, P)}, Y, C, models=["a"])
    with pytest.raises(ValueError, match=r"predictions\['bad'\]"):
        peer_metrics_table({"bad": (U[:5], P[:5])}, Y, C)


def test_reference_random_shares_come_from_its_peak_trial():
    _, _, Y, C = _problem()
    refs = reference_peer_metrics(Y, C)
    result = random_official(Y, C)
    assert refs["Random"]["Ps"] == pytest.approx(result["Ps"])
    assert 0.9 < refs["Random"]["share_entropy"] <= 1.0


def test_metrics_from_frontier_rejects_unknown_names():
    U, P, Y, C = _problem()
    with pytest.raises(ValueError, match="unknown metric"):
        metrics_from_frontier(np.array([[1.0, 0.5]]), References.from_outcomes(Y, C), names=["bogus"])
