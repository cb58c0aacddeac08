"""Linear routers of the paper's baselines (Sec. 5.1): per-model linear regression ("Linear") and "LinearMF" (truncated
SVD, then ridge) of utility and cost over each model's observed training rows, clipped to [0, 1] and >= 0."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LinearRegression, Ridge

from mmr_utils.routers.base import Router, register


def _fit_per_model(make_estimator, Z: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``make_estimator()`` for every model column on its observed rows; returns ``(coef K x r, intercept K)``."""
    n_models = targets.shape[1]
    coef = np.zeros((n_models, Z.shape[1]))
    intercept = np.zeros(n_models)
    patterns, pattern_of_model = np.unique(mask.T, axis=0, return_inverse=True)
    for pattern_index, rows in enumerate(patterns):
        models = np.flatnonzero(pattern_of_model.ravel() == pattern_index)
        estimator = make_estimator().fit(Z[rows], targets[np.ix_(rows, models)])
        coef[models] = np.atleast_2d(estimator.coef_).reshape(len(models), Z.shape[1])
        intercept[models] = np.atleast_1d(estimator.intercept_)
    return coef, intercept


class _LinearHeads(Router):
    """Shared machinery: ``_project`` maps X to regression inputs; two linear heads give ``U`` and ``P``."""

    def _project(self, X: np.ndarray) -> np.ndarray:
        return X

    def _make_estimator(self):
        raise NotImplementedError

    def _fit_heads(self, Z, Y, C, mask):
        self.utility_coef_, self.utility_intercept_ = _fit_per_model(self._make_estimator, Z, Y, mask)
        self.cost_coef_, self.cost_intercept_ = _fit_per_model(self._make_estimator, Z, C, mask)

    def _predict(self, X):
        Z = self._project(X)
        U = Z @ self.utility_coef_.T + self.utility_intercept_
        P = Z @ self.cost_coef_.T + self.cost_intercept_
        return np.clip(U, 0.0, 1.0), np.maximum(P, 0.0)

    def _head_state(self) -> dict[str, np.ndarray]:
        return {"utility_coef": self.utility_coef_, "utility_intercept": self.utility_intercept_,
                "cost_coef": self.cost_coef_, "cost_intercept": self.cost_intercept_}

    def _set_head_state(self, arrays) -> None:
        self.utility_coef_, self.utility_intercept_ = arrays["utility_coef"], arrays["utility_intercept"]
        self.cost_coef_, self.cost_intercept_ = arrays["cost_coef"], arrays["cost_intercept"]


@register
class LinearRouter(_LinearHeads):
    """Linear router: one ordinary least-squares regression (scikit-learn ``LinearRegression``) per model for
    correctness and one for cost, on that model's observed rows; ``U`` clipped to [0, 1] and ``P`` to >= 0."""

    name = "linear"

    def _make_estimator(self):
        return LinearRegression()

    def _fit(self, X, Y, C, mask):
        self._fit_heads(X, Y, C, mask)

    def _get_state(self):
        return self._head_state()

    def _set_state(self, arrays):
        self._set_head_state(arrays)


@register
class LinearMFRouter(_LinearHeads):
    """LinearMF router: features reduced by truncated SVD (rank ``rank``, clipped to min(n - 1, d - 1), seeded)
    then ridge regression (``alpha``) per model for correctness and for cost on observed rows, clipped as Linear."""

    name = "linear_mf"

    def __init__(self, *, rank: int = 128, alpha: float = 1.0, seed: int = 0):
        super().__init__(seed=seed)
        self.rank = rank
        self.alpha = alpha

    def _make_estimator(self):
        return Ridge(alpha=self.alpha)

    def _project(self, X):
        return X @ self.components_.T

    def _fit(self, X, Y, C, mask):
        n, d = X.shape
        self.rank_ = int(min(self.rank, n - 1, d - 1))
        if self.rank_ < 1:
            raise ValueError(f"LinearMF needs at least 2 training rows and 2 feature columns, got X of shape {X.shape}")
        svd = TruncatedSVD(n_components=self.rank_, random_state=self.seed).fit(X)
        self.components_ = svd.components_.astype(np.float64)
        self._fit_heads(self._project(X), Y, C, mask)

    def _get_state(self):
        return {"components": self.components_, **self._head_state()}

    def _set_state(self, arrays):
        self.components_ = arrays["components"]
        self.rank_ = self.components_.shape[0]
        self._set_head_state(arrays)
