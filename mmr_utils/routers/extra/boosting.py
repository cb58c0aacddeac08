"""Per-model gradient-boosted classifiers with calibrated probabilities (``gbdt``; the cascade on them:
:mod:`mmr_utils.routers.extra.cascade`). Per model, a ``HistGradientBoostingClassifier`` (no early stopping,
``random_state = seed``) predicts correctness (observed training rows, binarised at 0.5), calibrated by
``CalibratedClassifierCV`` (``"sigmoid"``: Platt, or ``"isotonic"``) on ``cv`` stratified folds shuffled with ``seed``;
a model with fewer than ``cv`` rows in its minority class gets its training mean (``constant_models_``). Cost:
``cost_model="mean"`` (mean training cost) or ``"hgb"`` (boosted regression on the standardised log cost,
:class:`~mmr_utils.routers.neural.LogCostScaler`). Runs under ``threadpool_limits(threads)`` (default 1; ``None``:
scikit-learn's default). Saving stores the training set; loading refits it (deterministic, same predictions)."""

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
    """``U`` = calibrated probability of correct, ``P`` = predicted cost (module docstring). Seeded."""

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

    def _probabilities(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability that each model answers each query correctly (n x K)."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return np.column_stack([np.full(X.shape[0], c) if isinstance(c, float) else c.predict_proba(X)[:, 1]
                                    for c in self.classifiers_])

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
