"""Per-model gradient-boosted classifiers with calibrated probabilities (``gbdt``), and the calibrated cascade built
on them (``cascade``, :mod:`mmr_utils.routers.extra.cascade`).

For every candidate model, a scikit-learn ``HistGradientBoostingClassifier`` (``max_iter`` = 100 boosting rounds,
``learning_rate`` = 0.1, ``max_leaf_nodes`` = 31, no early stopping, ``random_state = seed``) predicts from the query
features whether the model answers correctly; its probabilities are calibrated by ``CalibratedClassifierCV`` with
``calibration`` = ``"sigmoid"`` (Platt scaling: a two-parameter logistic map, robust on the few hundred training rows of
the paper's 20 % split; ``"isotonic"`` is available and needs more data) on ``cv`` = 3 stratified folds shuffled with
``seed``; the three calibrated fold models are averaged. Only a model's observed training rows are used; correctness
in [0, 1] is binarised at 0.5 (the official table is 0/1 already).

A model whose observed training labels are all one class (or whose minority class has fewer than ``cv`` rows, too few
to calibrate) gets a constant probability, its training mean, and is listed in ``constant_models_`` (column indices)
rather than reported through a warning.

Cost: ``cost_model="mean"`` (default) predicts each model's mean observed training cost for every query (the
per-model cost hardly varies with the query in MMR-Bench, where it is dominated by the model's price);
``cost_model="hgb"`` fits a ``HistGradientBoostingRegressor`` per model on the standardised log cost of the neural
routers (:class:`~mmr_utils.routers.neural.LogCostScaler`) and maps it back.

Threads: fits and predictions run under ``threadpoolctl.threadpool_limits(threads)`` (default 1 OpenMP thread):
the per-model fits are small, OpenMP's thread start-up dominates them and thrashes on a busy machine (one fit took
60x longer with 2 threads than with 1 on a loaded 2-core box), and a fixed thread count keeps the fit reproducible.
``threads=None`` leaves scikit-learn's default.

Persistence without pickle: scikit-learn estimators are not plain arrays, so the ``.npz`` file holds the training
set and :func:`~mmr_utils.routers.base.load_router` refits with the saved parameters and seed. The fit is
deterministic, so the round trip gives identical predictions (tested), at the price of refitting on load.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from mmr_utils.routers.base import Router, masked_column_means, register
from mmr_utils.routers.neural import LogCostScaler

CALIBRATIONS = ("sigmoid", "isotonic")
COST_MODELS = ("mean", "hgb")


@register
class BoostingRouter(Router):
    """Per-model calibrated gradient-boosted classifiers (module docstring): ``U`` = calibrated probability of
    correct, ``P`` = mean training cost (or a boosted log-cost regression with ``cost_model="hgb"``). Seeded."""

    name = "gbdt"

    def __init__(self, *, max_iter: int = 100, learning_rate: float = 0.1, max_leaf_nodes: int = 31,
                 calibration: str = "sigmoid", cv: int = 3, cost_model: str = "mean", threads: int | None = 1,
                 seed: int = 0):
        super().__init__(seed=seed)
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration = calibration
        self.cv = cv
        self.cost_model = cost_model
        self.threads = threads

    def _check_params(self) -> None:
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}")
        if self.cost_model not in COST_MODELS:
            raise ValueError(f"cost_model must be one of {COST_MODELS}, got {self.cost_model!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")
        if not isinstance(self.cv, int) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2 (calibration folds), got {self.cv!r}")

    def _classifier(self) -> CalibratedClassifierCV:
        booster = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                 max_leaf_nodes=self.max_leaf_nodes, early_stopping=False,
                                                 random_state=self.seed)
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.seed)
        return CalibratedClassifierCV(booster, method=self.calibration, cv=folds)

    def _fit(self, X, Y, C, mask):
        self._check_params()
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            self._fit_estimators(X, Y, C, mask)

    def _fit_estimators(self, X, Y, C, mask):
        self.train_X_, self.train_Y_, self.train_C_, self.train_mask_ = X, Y, C, mask
        self.mean_cost_ = masked_column_means(C, mask)
        self.classifiers_: list[CalibratedClassifierCV | float] = []
        self.constant_models_: list[int] = []
        for model in range(Y.shape[1]):
            rows = mask[:, model]
            labels = (Y[rows, model] >= 0.5).astype(np.int64)
            minority = min(int(labels.sum()), int(labels.size - labels.sum()))
            if minority < self.cv:
                self.classifiers_.append(float(labels.mean()))
                self.constant_models_.append(model)
            else:
                self.classifiers_.append(self._classifier().fit(X[rows], labels))
        self.cost_regressors_ = None
        if self.cost_model == "hgb":
            self.cost_scaler_ = LogCostScaler.fit(C, mask)
            self.cost_regressors_ = []
            for model in range(Y.shape[1]):
                rows = mask[:, model]
                target = self.cost_scaler_.transform(C[rows, model])
                regressor = HistGradientBoostingRegressor(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                          max_leaf_nodes=self.max_leaf_nodes, early_stopping=False,
                                                          random_state=self.seed)
                self.cost_regressors_.append(regressor.fit(X[rows], target))

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probability that each model answers each query correctly (n x K)."""
        return self.predict(X)[0]

    def _probabilities(self, X: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._probability_columns(X)

    def _probability_columns(self, X: np.ndarray) -> np.ndarray:
        columns = []
        for classifier in self.classifiers_:
            if isinstance(classifier, float):
                columns.append(np.full(X.shape[0], classifier))
            else:
                columns.append(classifier.predict_proba(X)[:, 1])
        return np.column_stack(columns)

    def _costs(self, X: np.ndarray) -> np.ndarray:
        if self.cost_regressors_ is None:
            return np.broadcast_to(self.mean_cost_, (X.shape[0], self.n_models_)).copy()
        return np.column_stack([self.cost_scaler_.inverse(r.predict(X)) for r in self.cost_regressors_])

    def _predict(self, X):
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._probabilities(X), self._costs(X)

    def _get_state(self):
        return {"X": self.train_X_, "Y": self.train_Y_, "C": self.train_C_, "mask": self.train_mask_}

    def _set_state(self, arrays):
        self._fit(arrays["X"], arrays["Y"], arrays["C"], arrays["mask"].astype(bool))
