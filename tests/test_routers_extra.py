"""Behaviour specific to the routers beyond the paper: CARROT kNN, empirical-Bayes shrinkage,
the IRT router, calibrated gradient boosting and the calibrated cascade. The shared contract (shapes, save/load,
seeding, masks, bad inputs, beating Random and the best single model) is tested for them in test_routers.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_routers import C_TEST, C_TRAIN, N_MODELS, N_TRAIN, X_TEST, X_TRAIN, Y_TEST, Y_TRAIN, build, fitted

from mmr_utils.metrics.decision import choose_models
from mmr_utils.metrics.protocol import pareto_frontier
from mmr_utils.routers.base import ROUTERS, load_router
from mmr_utils.routers.extra.carrot import lambda_from_mu, mu_from_lambda
from mmr_utils.routers.extra.shrinkage import MAX_KAPPA, prior_strength, shrink


def test_registry_holds_at_least_fifteen_routers():
    assert len(ROUTERS) >= 15
    assert {"carrot_knn", "knn_shrunk", "kmeans_shrunk", "irt", "gbdt", "cascade"} <= set(ROUTERS)


# -- CARROT ------------------------------------------------------------------------------------------------------


def test_carrot_defaults_follow_the_paper():
    assert build("carrot_knn").get_params() == {"k": 40, "k_cost": None, "metric": "cosine", "seed": 0}


@pytest.mark.parametrize("mu", [0.0, 0.2, 0.5, 0.9])
def test_carrot_mu_rule_equals_lambda_rule(mu):
    router = fitted("carrot_knn")
    U, P = router.predict(X_TEST)
    assert np.array_equal(router.route(X_TEST, mu), choose_models(U, P, lam=lambda_from_mu(mu)))
    assert mu_from_lambda(lambda_from_mu(mu)) == pytest.approx(mu)


def test_carrot_mu_one_picks_cheapest_and_bad_mu_raises():
    router = fitted("carrot_knn")
    _, P = router.predict(X_TEST)
    assert np.array_equal(router.route(X_TEST, 1.0), P.argmin(axis=1))
    with pytest.raises(ValueError, match="mu"):
        router.route(X_TEST, 1.5)
    with pytest.raises(ValueError, match="mu"):
        lambda_from_mu(1.0)


def test_carrot_uses_per_model_neighbours_where_knn_falls_back():
    mask = np.ones_like(Y_TRAIN, dtype=bool)
    mask[20:, 1] = False  # model 1 observed on 20 training rows only
    router = build("carrot_knn", k=5, k_cost=3).fit(X_TRAIN, Y_TRAIN, C_TRAIN, mask=mask)
    U, P = router.predict(X_TEST)
    # Every estimate of model 1 is a mean over 5 (utility) / 3 (cost) of its 20 observed rows.
    assert np.allclose(U[:, 1] * 5, np.round(U[:, 1] * 5))
    rows = np.arange(20)
    assert set(np.round(U[:, 1] * 5).astype(int)) <= set(range(6))
    assert P[:, 1].min() >= np.sort(C_TRAIN[rows, 1])[:3].mean() - 1e-15
    assert P[:, 1].max() <= np.sort(C_TRAIN[rows, 1])[-3:].mean() + 1e-15
    # kNN over all rows sees model 1 in few neighbourhoods and uses the global mean there.
    knn = build("knn", k=5).fit(X_TRAIN, Y_TRAIN, C_TRAIN, mask=mask)
    knn.predict(X_TEST)
    assert knn.last_fallback_cells_ > 0


# -- shrinkage ---------------------------------------------------------------------------------------------------


def test_prior_strength_recovers_known_between_group_variance():
    rng = np.random.default_rng(0)
    kappa_true, m, groups, size = 8.0, 0.6, 4000, 30
    rates = rng.beta(kappa_true * m, kappa_true * (1 - m), size=groups)
    successes = rng.binomial(size, rates)
    kappa = prior_strength((successes / size)[:, None], np.full((groups, 1), size), np.array([m]),
                           np.array([m * (1 - m)]))
    assert kappa[0] == pytest.approx(kappa_true, rel=0.15)


def test_prior_strength_without_signal_is_maximal_and_shrink_formula():
    rng = np.random.default_rng(1)
    successes = rng.binomial(30, 0.6, size=(500, 1))
    kappa = prior_strength(successes / 30, np.full((500, 1), 30), np.array([0.6]), np.array([0.24]))
    assert kappa[0] == MAX_KAPPA
    shrunk = shrink(np.array([[1.0, 0.0]]), np.array([[4.0, 0.0]]), np.array([0.5, 0.3]), np.array([4.0, 2.0]))
    assert np.allclose(shrunk, [[0.75, 0.3]])


def _noise_labels(seed: int = 1):
    """Correctness independent of the query: model 3 is best everywhere, nothing local to learn."""
    rng = np.random.default_rng(seed)
    return (rng.random(Y_TRAIN.shape) < np.array([0.5, 0.52, 0.55, 0.62, 0.5])).astype(np.float64)


@pytest.mark.parametrize("plain, shrunk", [("knn", "knn_shrunk"), ("kmeans", "kmeans_shrunk")])
def test_shrinkage_stays_with_best_single_model_without_local_evidence(plain, shrunk):
    Y_noise = _noise_labels()
    picks = {name: choose_models(*build(name).fit(X_TRAIN, Y_noise, C_TRAIN).predict(X_TEST), lam=0.0)
             for name in (plain, shrunk)}
    assert np.mean(picks[shrunk] == 3) >= 0.9
    assert np.mean(picks[plain] == 3) < 0.5


@pytest.mark.parametrize("name", ["knn_shrunk", "kmeans_shrunk"])
def test_shrinkage_keeps_real_local_structure(name):
    router = fitted(name)
    # Models 0-3 are cluster specialists: their prior strength is small (a few observations move the estimate).
    assert (router.utility_kappa_[:4] < 10).all()
    # Model 4 is equally good everywhere: no between-cluster signal beyond chance.
    assert router.utility_kappa_[4] > 30


# -- IRT ---------------------------------------------------------------------------------------------------------


def test_irt_outputs_probabilities_and_abilities():
    router = fitted("irt")
    U, _ = router.predict(X_TEST)
    assert ((U > 0) & (U < 1)).all()
    assert router.abilities().shape == (N_MODELS, 25)
    assert router.get_params()["dim"] == 25
    with pytest.raises(ValueError, match="dim"):
        build("irt", dim=0).fit(X_TRAIN, Y_TRAIN, C_TRAIN)


def test_irt_loss_is_binary_cross_entropy():
    import torch

    router = build("irt")
    logits = torch.tensor([[0.0, 2.0]])
    loss = router._utility_loss(logits, torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert float(loss) == pytest.approx(np.log(2.0))


# -- gradient boosting -------------------------------------------------------------------------------------------


def test_gbdt_one_class_models_get_constant_probability_without_warnings():
    Y = Y_TRAIN.copy()
    Y[:, 2] = 1.0  # always right
    Y[:, 3] = 0.0
    Y[:2, 3] = 1.0  # two positives: too few for 3 calibration folds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        router = build("gbdt").fit(X_TRAIN, Y, C_TRAIN)
        U, _ = router.predict(X_TEST)
    assert router.constant_models_ == [2, 3]
    assert np.all(U[:, 2] == 1.0) and np.allclose(U[:, 3], 2 / N_TRAIN)
    assert U[:, 0].std() > 0.1


def test_gbdt_probabilities_are_calibrated_on_held_out_rows():
    U, _ = fitted("gbdt").predict(X_TEST)
    # Reliability: in bins of predicted probability, the observed rate is close to the mean prediction.
    bins = np.digitize(U.ravel(), [0.3, 0.7])
    for b in range(3):
        chosen = bins == b
        assert abs(U.ravel()[chosen].mean() - Y_TEST.ravel()[chosen].mean()) < 0.12


def test_gbdt_options_and_errors():
    router = build("gbdt", calibration="isotonic", cost_model="hgb").fit(X_TRAIN, Y_TRAIN, C_TRAIN)
    U, P = router.predict(X_TEST)
    assert ((U >= 0) & (U <= 1)).all() and (P >= 0).all()
    assert np.corrcoef(P[:, 4], C_TEST[:, 4])[0, 1] < 0.9  # a regression, not the truth
    assert P[:, 4].mean() == pytest.approx(C_TRAIN[:, 4].mean(), rel=0.2)
    for bad in ({"calibration": "platt"}, {"cost_model": "knn"}, {"cv": 1}, {"threads": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            build("gbdt", **bad).fit(X_TRAIN, Y_TRAIN, C_TRAIN)


# -- cascade -----------------------------------------------------------------------------------------------------


def test_cascade_predicted_cost_is_cumulative_in_cost_order():
    router = fitted("cascade")
    U, P = router.predict(X_TEST)
    mean_cost = C_TRAIN.mean(axis=0)
    assert list(router.order_) == list(np.argsort(mean_cost))
    assert np.allclose(P[0, router.order_], np.cumsum(mean_cost[router.order_]))
    assert np.allclose(U, fitted("gbdt").predict(X_TEST)[0])


def _brute_force_cascade(probabilities, order, threshold):
    costs, correct = [], []
    for row in range(len(probabilities)):
        spent = 0.0
        for position, model in enumerate(order):
            spent += C_TEST[row, model]
            if probabilities[row, model] > threshold or position == len(order) - 1:
                costs.append(spent)
                correct.append(Y_TEST[row, model])
                break
    return np.mean(costs), np.mean(correct)


def test_cascade_curve_matches_a_row_by_row_cascade():
    router = fitted("cascade")
    probabilities = router.predict(X_TEST)[0]
    cost, accuracy, thresholds = router.cascade_curve(X_TEST, Y_TEST, C_TEST, thresholds=[0.0, 0.5, 0.8, 1.0])
    for j, threshold in enumerate(thresholds):
        assert (cost[j], accuracy[j]) == pytest.approx(_brute_force_cascade(probabilities, router.order_, threshold))
    # Threshold 1: nothing exceeds it, every model is called and the last one answers.
    assert cost[-1] == pytest.approx(C_TEST.sum(axis=1).mean())
    assert accuracy[-1] == pytest.approx(Y_TEST[:, router.order_[-1]].mean())
    chosen, called = router.route(X_TEST, 0.5)
    assert ((called >= 1) & (called <= N_MODELS)).all()
    assert chosen.shape == (len(X_TEST),)


def test_cascade_default_curve_feeds_the_frontier_and_beats_the_cheapest_model():
    cost, accuracy, thresholds = fitted("cascade").cascade_curve(X_TEST, Y_TEST, C_TEST)
    assert len(cost) == len(accuracy) == len(thresholds) >= 10
    assert np.all(np.diff(thresholds) > 0)
    frontier = pareto_frontier(np.column_stack([cost, accuracy]))
    cheapest = int(np.argmin(C_TRAIN.mean(axis=0)))
    assert frontier[:, 1].max() > Y_TEST[:, cheapest].mean() + 0.3


def test_cascade_curve_needs_complete_rows_and_survives_round_trip(tmp_path):
    router = fitted("cascade")
    Y = Y_TEST.copy()
    Y[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7, model column 2"):
        router.cascade_curve(X_TEST, Y, C_TEST)
    with pytest.raises(ValueError, match="shape"):
        router.cascade_curve(X_TEST, Y_TEST[:, :-1], C_TEST)
    restored = load_router(router.save(tmp_path / "cascade.npz"))
    curves = [r.cascade_curve(X_TEST, Y_TEST, C_TEST) for r in (router, restored)]
    assert all(np.array_equal(a, b) for a, b in zip(*curves))
