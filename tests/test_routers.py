"""Tests of the router baselines on a small synthetic routing problem built here.

Queries come from 4 well-separated clusters; model k < 4 is usually correct on cluster k only and cheap, model 4
is moderately correct everywhere and expensive. A router that learns the structure routes far better than a random
pick or the best single model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmr_utils.metrics.decision import choose_models
from mmr_utils.routers.base import (
    ROUTERS,
    BestSingleRouter,
    NotFittedError,
    OracleRouter,
    RandomRouter,
    load_router,
    make_router,
)
from mmr_utils.routers.neural import CMRRouter

N_ROWS, N_TRAIN, DIM, TEXT_DIM, N_MODELS, N_CLUSTERS = 600, 400, 24, 12, 5, 4
LEARNED = ["knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp", "mlp_mf", "cmr",
           "carrot_knn", "knn_shrunk", "kmeans_shrunk", "irt", "gbdt", "cascade"]
NEURAL = ["mlp", "mlp_mf", "cmr", "irt"]
FAST_PARAMS = {
    # Few, larger steps: torch ops on a busy 2-core machine are slow to synchronise, so tests count steps.
    "mlp": {"epochs": 10, "batch_size": 100, "lr": 5e-3},
    "mlp_mf": {"epochs": 10, "batch_size": 100, "lr": 5e-3},
    "cmr": {"epochs": 10, "batch_size": 100, "lr": 2e-3, "width": 32, "heads": 4, "text_dim": TEXT_DIM},
    "kmeans": {"n_init": 3},
    "kmeans_adaptive": {"n_init": 3},
    "kmeans_shrunk": {"n_init": 3},
    "irt": {"epochs": 10, "batch_size": 100, "lr": 5e-3},
    "gbdt": {"max_iter": 30},
    "cascade": {"max_iter": 30},
}


def make_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(N_CLUSTERS, DIM))
    cluster = rng.integers(0, N_CLUSTERS, N_ROWS)
    X = (centres[cluster] + rng.normal(size=(N_ROWS, DIM))).astype(np.float32)
    p_correct = np.full((N_ROWS, N_MODELS), 0.1)
    p_correct[np.arange(N_ROWS), cluster] = 0.9
    p_correct[:, 4] = 0.55
    Y = (rng.random((N_ROWS, N_MODELS)) < p_correct).astype(np.float64)
    base_cost = np.array([1.0, 1.5, 2.0, 2.5, 20.0]) * 1e-4
    C = base_cost[None, :] * rng.uniform(0.7, 1.3, size=(N_ROWS, N_MODELS))
    return X, Y, C


X_ALL, Y_ALL, C_ALL = make_problem()
X_TRAIN, Y_TRAIN, C_TRAIN = X_ALL[:N_TRAIN], Y_ALL[:N_TRAIN], C_ALL[:N_TRAIN]
X_TEST, Y_TEST, C_TEST = X_ALL[N_TRAIN:], Y_ALL[N_TRAIN:], C_ALL[N_TRAIN:]


def build(name: str, **overrides):
    return make_router(name, **{**FAST_PARAMS.get(name, {}), **overrides})


_FITTED: dict[str, object] = {}


def fitted(name: str):
    """A router fitted once per test session on the clean training split (seed 0)."""
    if name not in _FITTED:
        _FITTED[name] = build(name).fit(X_TRAIN, Y_TRAIN, C_TRAIN)
    return _FITTED[name]


def accuracy_and_cost(U, P, **rule):
    chosen = choose_models(U, P, **rule)
    rows = np.arange(len(chosen))
    return Y_TEST[rows, chosen].mean(), C_TEST[rows, chosen].mean()


# -- registry and interface -------------------------------------------------------------------------------------


def test_registry_names_and_fusion():
    assert set(ROUTERS) == {"random", "oracle", "best_single", "knn", "kmeans", "kmeans_adaptive", "linear",
                            "linear_mf", "mlp", "mlp_mf", "cmr", "carrot_knn", "knn_shrunk", "kmeans_shrunk", "irt",
                            "gbdt", "cascade"}
    assert len(ROUTERS) >= 15
    for name, cls in ROUTERS.items():
        assert cls.name == name
    assert ROUTERS["kmeans_adaptive"].fusion == "adaptive"
    assert ROUTERS["cmr"].fusion == "concat"
    assert ROUTERS["knn"].fusion is None and ROUTERS["mlp"].fusion is None


def test_capabilities_say_what_each_router_needs():
    """Callers read these instead of testing router names."""
    paper = ("random", "oracle", "best_single", "knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp",
             "mlp_mf", "cmr")
    assert [n for n in paper if ROUTERS[n].uses_truth] == ["oracle"]
    assert [n for n in paper if ROUTERS[n].needs_both_channels] == ["cmr"]
    assert [n for n in paper if ROUTERS[n].needs_text_dim] == ["cmr"]
    assert [n for n in paper if ROUTERS[n].neural] == ["mlp", "mlp_mf", "cmr"]
    assert ROUTERS["cmr"].fusion_label == "cross-attention" and ROUTERS["knn"].fusion_label is None
    for name in paper:
        takes = ROUTERS[name]._param_names()
        assert ("epochs" in takes) == ROUTERS[name].neural, name
        assert ("text_dim" in takes) == ROUTERS[name].needs_text_dim, name


def test_unknown_router_lists_known_names():
    with pytest.raises(ValueError, match="knn") as info:
        make_router("no_such_router")
    assert "cmr" in str(info.value)


def test_get_params_reports_constructor_arguments():
    params = make_router("knn", k=7, seed=3).get_params()
    assert params == {"k": 7, "metric": "cosine", "seed": 3}
    assert make_router("mlp").get_params()["epochs"] == 100
    assert make_router("cmr", text_dim=5).get_params()["text_dim"] == 5


# -- every learned router ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LEARNED + ["random", "best_single"])
def test_predictions_have_right_shape_and_are_finite(name):
    U, P = fitted(name).predict(X_TEST)
    assert U.shape == P.shape == (len(X_TEST), N_MODELS)
    assert np.isfinite(U).all() and np.isfinite(P).all()
    assert (P >= 0).all()


@pytest.mark.parametrize("name", LEARNED)
def test_router_beats_random_and_best_single_and_not_oracle(name):
    U, P = fitted(name).predict(X_TEST)
    router_accuracy, router_cost = accuracy_and_cost(U, P, lam=0.0)
    random_accuracies = [accuracy_and_cost(*RandomRouter(seed=s).fit(X_TRAIN, Y_TRAIN, C_TRAIN).predict(X_TEST),
                                           lam=0.0)[0] for s in range(10)]
    best_single_accuracy, _ = accuracy_and_cost(*fitted("best_single").predict(X_TEST), lam=0.0)
    oracle_accuracy, oracle_cost = accuracy_and_cost(*OracleRouter().predict(X_TEST, Y=Y_TEST, C=C_TEST), lam=1e-3)
    assert router_accuracy > np.mean(random_accuracies) + 0.3
    assert router_accuracy > best_single_accuracy + 0.15
    assert oracle_accuracy >= router_accuracy
    # The router also learned which models are cheap: it spends far less than always calling the expensive one.
    assert router_cost < 0.5 * C_TEST[:, 4].mean()


@pytest.mark.parametrize("name", LEARNED)
def test_budget_rule_trades_accuracy_for_cost(name):
    U, P = fitted(name).predict(X_TEST)
    cheap_accuracy, cheap_cost = accuracy_and_cost(U, P, budget=0.0)
    rich_accuracy, rich_cost = accuracy_and_cost(U, P, budget=1.0)
    assert cheap_cost < rich_cost
    assert cheap_accuracy < rich_accuracy


@pytest.mark.parametrize("name", LEARNED + ["random", "best_single", "oracle"])
def test_save_load_round_trip(name, tmp_path):
    router = fitted(name) if name != "oracle" else OracleRouter().fit(X_TRAIN, Y_TRAIN, C_TRAIN)
    path = router.save(tmp_path / f"{name}.npz")
    restored = load_router(path)
    assert type(restored) is type(router)
    assert restored.get_params() == router.get_params()
    if name == "oracle":
        kwargs = {"Y": Y_TEST, "C": C_TEST}
        assert all(np.array_equal(a, b) for a, b in zip(router.predict(X_TEST, **kwargs),
                                                       restored.predict(X_TEST, **kwargs)))
        return
    U, P = router.predict(X_TEST)
    U2, P2 = restored.predict(X_TEST)
    assert np.array_equal(U, U2) and np.array_equal(P, P2)


@pytest.mark.parametrize("name", LEARNED + ["random"])
def test_same_seed_same_predictions(name):
    U, P = fitted(name).predict(X_TEST)
    U2, P2 = build(name, seed=0).fit(X_TRAIN, Y_TRAIN, C_TRAIN).predict(X_TEST)
    assert np.array_equal(U, U2) and np.array_equal(P, P2)


# The neural routers share one training loop (masked loss, seeding); mlp stands for all three in the two tests
# below, which keeps the file fast on a busy machine.
@pytest.mark.parametrize("name", ["mlp", "random"])
def test_different_seed_differs_for_stochastic_routers(name):
    U, _ = fitted(name).predict(X_TEST)
    U2, _ = build(name, seed=1).fit(X_TRAIN, Y_TRAIN, C_TRAIN).predict(X_TEST)
    assert not np.array_equal(U, U2)


def _hide_model_zero(fraction: float = 0.4, seed: int = 5):
    rng = np.random.default_rng(seed)
    hidden = np.zeros_like(Y_TRAIN, dtype=bool)
    hidden[:, 0] = rng.random(N_TRAIN) < fraction
    return hidden


@pytest.mark.parametrize("name", [name for name in LEARNED if name not in ("mlp_mf", "cmr")])
def test_missing_cells_are_ignored_not_zero(name):
    hidden = _hide_model_zero()
    Y_nan, C_nan = Y_TRAIN.copy(), C_TRAIN.copy()
    Y_nan[hidden] = np.nan
    C_nan[hidden] = np.nan
    U_nan, P_nan = build(name).fit(X_TRAIN, Y_nan, C_nan).predict(X_TEST)

    # Garbage under an explicit mask must give exactly the same router as NaN cells.
    Y_garbage, C_garbage = Y_TRAIN.copy(), C_TRAIN.copy()
    Y_garbage[hidden], C_garbage[hidden] = 7.0, -3.0
    U_mask, P_mask = build(name).fit(X_TRAIN, Y_garbage, C_garbage, mask=~hidden).predict(X_TEST)
    assert np.array_equal(U_nan, U_mask) and np.array_equal(P_nan, P_mask)

    # Treating the hidden cells as 0 would drag model 0's predicted utility and cost down.
    Y_zero, C_zero = Y_TRAIN.copy(), C_TRAIN.copy()
    Y_zero[hidden], C_zero[hidden] = 0.0, 0.0
    U_zero, P_zero = build(name).fit(X_TRAIN, Y_zero, C_zero).predict(X_TEST)
    assert U_nan[:, 0].mean() > U_zero[:, 0].mean() + 0.05
    assert P_nan[:, 0].mean() > P_zero[:, 0].mean() * 1.2
    # ... and the masked fit still estimates model 0's observed mean cost well.
    assert P_nan[:, 0].mean() == pytest.approx(C_TRAIN[~hidden[:, 0], 0].mean(), rel=0.25)


@pytest.mark.parametrize("name", ["knn", "kmeans"])
def test_unobserved_neighbourhood_falls_back_to_global_mean(name):
    mask = np.ones_like(Y_TRAIN, dtype=bool)
    mask[20:, 1] = False  # model 1 observed on 20 training rows only
    router = build(name, **({"k": 5} if name == "knn" else {})).fit(X_TRAIN, Y_TRAIN, C_TRAIN, mask=mask)
    U, P = router.predict(X_TEST)
    global_utility, global_cost = Y_TRAIN[:20, 1].mean(), C_TRAIN[:20, 1].mean()
    if name == "knn":
        assert router.last_fallback_cells_ > 0
    else:
        assert (router.cluster_counts_[:, 1] == 0).any() and (router.cluster_counts_[:, 0] > 0).all()
    at_global = np.isclose(U[:, 1], global_utility) & np.isclose(P[:, 1], global_cost)
    assert at_global.any() and not at_global.all()


@pytest.mark.parametrize("name", LEARNED + ["random", "best_single"])
def test_bad_inputs_raise(name):
    router = build(name)
    with pytest.raises(NotFittedError):
        router.predict(X_TEST)
    with pytest.raises(ValueError, match="2-D"):
        router.fit(X_TRAIN[:, 0], Y_TRAIN, C_TRAIN)
    with pytest.raises(ValueError, match="rows"):
        router.fit(X_TRAIN, Y_TRAIN[:-1], C_TRAIN)
    with pytest.raises(ValueError, match="same shape"):
        router.fit(X_TRAIN, Y_TRAIN, C_TRAIN[:, :-1])
    with pytest.raises(ValueError, match="mask"):
        router.fit(X_TRAIN, Y_TRAIN, C_TRAIN, mask=np.ones((N_TRAIN, N_MODELS - 1), dtype=bool))
    bad_y = Y_TRAIN.copy()
    bad_y[3, 2] = 2.0
    with pytest.raises(ValueError, match="row 3, model column 2"):
        router.fit(X_TRAIN, bad_y, C_TRAIN)
    bad_c = C_TRAIN.copy()
    bad_c[4, 1] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        router.fit(X_TRAIN, Y_TRAIN, bad_c)
    empty = Y_TRAIN.copy()
    empty[:, 3] = np.nan
    with pytest.raises(ValueError, match=r"\[3\]"):
        router.fit(X_TRAIN, empty, C_TRAIN)
    bad_x = X_TRAIN.copy()
    bad_x[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        router.fit(bad_x, Y_TRAIN, C_TRAIN)
    with pytest.raises(ValueError, match="feature columns"):
        fitted(name).predict(X_TEST[:, :-1])


# -- reference routers ------------------------------------------------------------------------------------------


def test_oracle_picks_cheapest_correct_else_cheapest():
    Y = np.array([[1, 1, 0], [0, 0, 0], [np.nan, 1, 1]], dtype=float)
    C = np.array([[3, 1, 0.5], [2, 1, 3], [0.1, 2, 1]], dtype=float)
    X = np.zeros((3, 2))
    oracle = OracleRouter().fit(X, np.ones((3, 3)), np.ones((3, 3)))
    U, P = oracle.predict(X, Y=Y, C=C)
    assert np.isfinite(U).all() and np.isfinite(P).all()
    assert choose_models(U, P, lam=1e-6).tolist() == [1, 1, 2]
    assert choose_models(U, P, budget=10.0).tolist() == [1, 1, 2]
    with pytest.raises(ValueError, match="true test outcomes"):
        oracle.predict(X)


def test_best_single_picks_most_accurate_model():
    router = BestSingleRouter().fit(X_TRAIN, Y_TRAIN, C_TRAIN)
    accuracy = Y_TRAIN.mean(axis=0)
    assert router.best_model_ == int(np.argmax(accuracy))
    U, P = router.predict(X_TEST)
    assert (choose_models(U, P, lam=0.0) == router.best_model_).all()
    assert np.allclose(P[0], C_TRAIN.mean(axis=0))


def test_random_router_is_uniform_over_models():
    U, P = RandomRouter(seed=4).fit(X_TRAIN, Y_TRAIN, C_TRAIN).predict(X_TEST)
    counts = np.bincount(choose_models(U, P, lam=0.0), minlength=N_MODELS)
    assert counts.min() > 0.1 * len(X_TEST)


# -- neural specifics -------------------------------------------------------------------------------------------


def test_neural_fit_leaves_global_torch_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    build("mlp", epochs=1).fit(X_TRAIN, Y_TRAIN, C_TRAIN)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("name", ["mlp_mf", "cmr"])
def test_neural_fit_under_deterministic_algorithms(name):
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        U, P = build(name, epochs=1).fit(X_TRAIN, Y_TRAIN, C_TRAIN).predict(X_TEST)
    finally:
        torch.use_deterministic_algorithms(previous)
    assert np.isfinite(U).all() and np.isfinite(P).all()


def test_cmr_needs_valid_text_dim():
    for text_dim in (None, 0, DIM):
        with pytest.raises(ValueError, match="text_dim"):
            CMRRouter(text_dim=text_dim, epochs=1).fit(X_TRAIN, Y_TRAIN, C_TRAIN)


def test_cmr_uses_missing_image_token_for_zero_image_part():
    router = fitted("cmr")
    X_no_image = X_TEST.copy()
    X_no_image[:, TEXT_DIM:] = 0.0
    U, P = router.predict(X_no_image)
    assert np.isfinite(U).all() and np.isfinite(P).all()
    with torch.no_grad():
        token = router.module_.missing_image.detach().clone()
        router.module_.missing_image.add_(1.0)
        U_shifted, _ = router.predict(X_no_image)
        U_with_image, _ = router.predict(X_TEST)
        router.module_.missing_image.copy_(token)
    assert not np.allclose(U, U_shifted)  # the token is what stands in for the image
    assert np.array_equal(U_with_image, router.predict(X_TEST)[0])  # real images do not use it


def test_log_cost_scale_keeps_small_costs_accurate():
    U, P = fitted("mlp").predict(X_TEST)
    assert np.allclose(P.mean(axis=0), C_TEST.mean(axis=0), rtol=0.35)


# -- persistence errors -------------------------------------------------------------------------------------


def test_load_router_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_router(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a router file"):
        load_router(junk)
    with pytest.raises(NotFittedError):
        make_router("knn").save(tmp_path / "unfitted.npz")


def test_mlp_mf_cost_tower_layouts(tmp_path):
    """With the official separate cost tower, the cost targets cannot move the utility predictions; with one shared
    tower they do. Both layouts survive a save/load round trip, and a bad layout is named."""
    other_cost = C_TRAIN * np.random.default_rng(1).uniform(0.2, 5.0, size=C_TRAIN.shape)
    utilities = {}
    for layout in ("separate", "shared"):
        a = build("mlp_mf", cost_tower=layout).fit(X_TRAIN, Y_TRAIN, C_TRAIN)
        b = build("mlp_mf", cost_tower=layout).fit(X_TRAIN, Y_TRAIN, other_cost)
        utilities[layout] = (a.predict(X_TEST)[0], b.predict(X_TEST)[0])
        restored = load_router(a.save(tmp_path / f"{layout}.npz"))
        assert restored.get_params()["cost_tower"] == layout
        assert all(np.array_equal(x, y) for x, y in zip(a.predict(X_TEST), restored.predict(X_TEST)))
    assert np.array_equal(*utilities["separate"])
    assert not np.allclose(*utilities["shared"])
    with pytest.raises(ValueError, match="cost_tower must be 'separate'"):
        build("mlp_mf", cost_tower="twin")
    with pytest.raises(ValueError, match="embedding_init_sd must be positive"):
        build("mlp_mf", embedding_init_sd=0.0)
