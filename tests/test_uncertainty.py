"""Bootstrap intervals, paired tests, seed pooling and significance marks."""

import numpy as np
import pytest

from mmr_utils.metrics.peer_table import peer_metrics
from mmr_utils.metrics.summary import summarize
from mmr_utils.metrics.uncertainty import (
    PairedResult,
    SeedSummary,
    bootstrap_metric,
    bootstrap_p_value,
    combine_seeds,
    constant_policy,
    format_mean_interval,
    holm_adjust,
    paired_bootstrap,
    percentile_interval,
    resample_indices,
    significance_marks,
    uncertainty_table,
)


def _problem(seed=0, n=150, k=4):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, k)) < np.linspace(0.4, 0.8, k)).astype(float)
    C = rng.random((n, k)) * np.arange(1, k + 1)
    U, P = Y * 0.5 + rng.random((n, k)), C * np.exp(rng.normal(0, 0.3, (n, k)))
    return U, P, Y, C


@pytest.mark.parametrize("rule", ["threshold", "lambda"])
def test_replicates_equal_the_metric_recomputed_on_explicit_resamples(rule):
    U, P, Y, C = _problem()
    indices = resample_indices(len(Y), 6, seed=5)
    for metric in ("nAUC_shared", "Ps", "QNC", "AIQ", "APGR", "CPT80", "nAUC_orbit", "HV"):
        result = bootstrap_metric(U, P, Y, C, metric, n_boot=6, seed=5, rule=rule)
        for b, i in enumerate(indices):
            expected = peer_metrics(U[i], P[i], Y[i], C[i], rule=rule)[metric]
            np.testing.assert_allclose(result.replicates[b], expected, rtol=1e-10, atol=1e-12, err_msg=metric)
        assert result.estimate == pytest.approx(peer_metrics(U, P, Y, C, rule=rule)[metric])


def test_deterministic_in_the_seed_and_callable_metrics_work():
    U, P, Y, C = _problem()
    a = bootstrap_metric(U, P, Y, C, "nAUC_shared", n_boot=50, seed=3)
    b = bootstrap_metric(U, P, Y, C, "nAUC_shared", n_boot=50, seed=3)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert (a.low, a.high) == (b.low, b.high)
    c = bootstrap_metric(U, P, Y, C, "nAUC_shared", n_boot=50, seed=4)
    assert not np.array_equal(a.replicates, c.replicates)
    assert a.low <= a.estimate <= a.high

    def ps(U, P, Y, C):
        return summarize(U, P, Y, C).metrics["Ps"]

    slow = bootstrap_metric(U, P, Y, C, ps, n_boot=20, seed=3)
    fast = bootstrap_metric(U, P, Y, C, "Ps", n_boot=20, seed=3)
    assert slow.metric == "ps"
    np.testing.assert_allclose(slow.replicates, fast.replicates)


def test_interval_covers_a_known_accuracy_in_most_repetitions():
    # Always calling one model: Ps is that model's accuracy on the rows, whose truth is the Bernoulli rate 0.7.
    rng = np.random.default_rng(11)
    covered = 0
    for rep in range(40):
        Y = (rng.random((200, 2)) < [0.7, 0.4]).astype(float)
        C = np.tile([2.0, 1.0], (200, 1))
        U, P = constant_policy(0, 200, 2)
        result = bootstrap_metric(U, P, Y, C, "Ps", n_boot=300, seed=rep)
        covered += result.low <= 0.7 <= result.high
        assert result.high - result.low < 0.2
    assert covered >= 33  # nominal 95% of 40 = 38; a binomial lower tail well below 1%


def test_paired_bootstrap_finds_a_planted_difference_and_not_a_null_one():
    U, P, Y, C = _problem(seed=2, n=300)
    noise = np.random.default_rng(7).random(U.shape)
    planted = paired_bootstrap(U, P, noise, P, Y, C, "nAUC_shared", n_boot=300, seed=1)
    assert isinstance(planted, PairedResult)
    assert planted.estimate > 0 and planted.low > 0 and planted.p_value < 0.01
    np.testing.assert_allclose(planted.replicates, planted.replicates_a - planted.replicates_b)
    same = paired_bootstrap(U, P, U.copy(), P, Y, C, "nAUC_shared", n_boot=300, seed=1)
    assert same.estimate == 0 and same.low == 0 == same.high and same.p_value == 1.0
    noise2 = np.random.default_rng(8).random(U.shape)
    null = paired_bootstrap(noise2, P, noise, P, Y, C, "nAUC_shared", n_boot=300, seed=1)
    assert null.p_value > 0.05 and null.low < 0 < null.high


def test_p_value_and_percentile_interval_by_hand():
    assert bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)
    assert bootstrap_p_value(np.r_[np.ones(50), -np.ones(49)]) == pytest.approx(1.0)
    assert np.isnan(bootstrap_p_value([np.nan]))
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
    low, high = percentile_interval(np.r_[np.arange(95.0), np.full(5, np.inf)], 0.95)
    assert np.isfinite(low) and high == np.inf


def test_combine_seeds_pools_replicates_and_averages_estimates():
    U, P, Y, C = _problem()
    results = [bootstrap_metric(*_problem(seed=s), "Ps", n_boot=40, seed=s) for s in range(3)]
    combined = combine_seeds(results)
    assert isinstance(combined, SeedSummary) and combined.n_seeds == 3
    assert combined.estimate == pytest.approx(np.mean([r.estimate for r in results]))
    assert combined.replicates.shape == (120,)
    assert combined.between_sd == pytest.approx(np.std([r.estimate for r in results], ddof=1))
    assert min(r.low for r in results) <= combined.low <= combined.high <= max(r.high for r in results)
    with pytest.raises(ValueError, match="different metrics"):
        combine_seeds([results[0], bootstrap_metric(U, P, Y, C, "QNC", n_boot=5)])
    with pytest.raises(ValueError, match="at least one"):
        combine_seeds([])


def test_formatting_holm_and_marks():
    assert format_mean_interval(0.7451, 0.733, 0.757) == "0.745 ± 0.012"
    assert format_mean_interval(0.7451, 0.733, 0.757, pm="+-", digits=2) == "0.75 +- 0.01"
    assert format_mean_interval(0.7451, 0.733, 0.757, style="interval") == "0.745 [0.733, 0.757]"
    assert format_mean_interval(float("inf"), 1.0, float("inf")) == "inf"
    assert format_mean_interval(float("nan")) == "n/a"
    with pytest.raises(ValueError, match="style"):
        format_mean_interval(1.0, 0.0, 2.0, style="box")
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03, np.nan])[:3], [0.03, 0.06, 0.06])
    assert np.isnan(holm_adjust([0.01, np.nan])[1])

    def fake(estimate, p):
        return PairedResult("Ps", estimate, estimate - 0.01, estimate + 0.01, 0.95, np.zeros(1), 1, 0, 1.0,
                            p_value=p)

    marks = significance_marks({"a": fake(0.05, 0.001), "b": fake(-0.05, 0.03), "c": fake(0.02, 0.04)})
    # Holm: 0.003, 0.06, 0.06 -> only a significant, though every raw p and interval says so
    np.testing.assert_allclose(marks["p_adjusted"], [0.003, 0.06, 0.06])
    assert marks["mark"].tolist() == ["▲", "", ""]
    assert marks["excludes_zero"].all()
    low_b = significance_marks({"b": fake(-0.05, 0.001)})
    assert low_b["mark"].item() == "▼"
    assert significance_marks({"c": fake(0.02, 0.04)}, correction="none")["significant"].item()


def test_uncertainty_table_over_two_seeds_against_best_single():
    splits = []
    for s in range(2):
        U, P, Y, C = _problem(seed=s)
        noise = np.random.default_rng(100 + s).random(U.shape)
        splits.append((Y, C, {"good": (U, P), "noise": (noise, P)}))
    table = uncertainty_table(splits, metrics=("nAUC_shared", "Ps"), reference="Best Single", n_boot=60, seed=0)
    assert set(table["router"]) == {"good", "noise", "Best Single"}
    assert len(table) == 6 and (table["n_seeds"] == 2).all()
    good = table[(table["router"] == "good") & (table["metric"] == "nAUC_shared")].iloc[0]
    assert good["significant"] and good["mark"] == "▲" and good["cell_marked"].endswith("▲")
    assert "±" in good["cell"]
    again = uncertainty_table(splits, metrics=("nAUC_shared", "Ps"), reference="Best Single", n_boot=60, seed=0)
    assert table.equals(again)
    plain = uncertainty_table(splits[:1], metrics=("Ps",), n_boot=10)
    assert list(plain["router"]) == ["good", "noise"] and "mark" not in plain


def test_bad_inputs_are_named():
    U, P, Y, C = _problem()
    with pytest.raises(ValueError, match="level"):
        bootstrap_metric(U, P, Y, C, "Ps", level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_metric(U, P, Y, C, "Ps", n_boot=0)
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_metric(U, P, Y, C, "accuracy")
    Yn = Y.copy()
    Yn[3, 1] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN"):
        bootstrap_metric(U, P, Yn, C, "Ps", n_boot=5)
    with pytest.raises(ValueError, match="same rows"):
        paired_bootstrap(U, P, U[:5], P[:5], Y, C, "Ps", n_boot=5)
    with pytest.raises(ValueError, match="reference 'x'"):
        uncertainty_table([(Y, C, {"a": (U, P)})], reference="x", n_boot=5)
    with pytest.raises(ValueError, match="out of range"):
        constant_policy(4, 10, 4)
