"""A calibrated cascade (FrugalGPT, Chen, Zaharia & Zou 2023, stopping on a calibrated probability of correct): models
are tried from cheap to expensive (mean training cost, ties by column index) until one's
:class:`~mmr_utils.routers.extra.boosting.BoostingRouter` probability exceeds ``t``, else the last answers; a query
costs every model called. :meth:`CascadeRouter.cascade_curve` sweeps ``t``. In the standard budget sweep ``U`` is the
probability and ``P[:, k]`` the summed predicted costs of ``k`` and every cheaper model, but only the chosen model is
charged: a router using the cascade's predictions, not the cascade itself."""

from __future__ import annotations

import numpy as np

from mmr_utils.routers.base import _check_features, register
from mmr_utils.routers.extra.boosting import BoostingRouter

#: Default number of thresholds in :meth:`CascadeRouter.cascade_curve` (all distinct probabilities when fewer).
MAX_THRESHOLDS = 257


@register
class CascadeRouter(BoostingRouter):
    """Calibrated cascade (module docstring) with the parameters of ``gbdt``; ``order_`` is the cascade order."""

    name = "cascade"

    def _fit(self, X, Y, C, mask):
        super()._fit(X, Y, C, mask)
        self.order_ = np.lexsort((np.arange(self.n_models_), self.mean_cost_))

    def _predict(self, X):
        U, costs = super()._predict(X)
        P = np.empty_like(costs)
        P[:, self.order_] = np.cumsum(costs[:, self.order_], axis=1)
        return U, P

    def _stops(self, probabilities_in_order: np.ndarray, threshold: float) -> np.ndarray:
        """Position in the cascade where each query stops for threshold ``threshold``."""
        exceeds = probabilities_in_order > threshold
        return np.where(exceeds.any(axis=1), exceeds.argmax(axis=1), self.n_models_ - 1)

    def route(self, X, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """For each query: the answering model (column index) and the number of models called, at ``threshold``."""
        self._require_fitted()
        X = _check_features(X, self.n_features_)
        stops = self._stops(self._probabilities(X)[:, self.order_], float(threshold))
        return self.order_[stops], stops + 1

    def cascade_curve(self, X, Y, C, thresholds=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cascade's mean cost and accuracy on complete test outcomes ``Y``, ``C`` for each of ``thresholds``
        (default: 0 and every distinct predicted probability, at most :data:`MAX_THRESHOLDS` quantiles of them)."""
        self._require_fitted()
        X = _check_features(X, self.n_features_)
        Y = np.asarray(Y, dtype=np.float64)
        C = np.asarray(C, dtype=np.float64)
        expected = (X.shape[0], self.n_models_)
        for label, array in (("Y", Y), ("C", C)):
            if array.shape != expected:
                raise ValueError(f"{label} must have shape {expected} (test rows x models), got {array.shape}")
            if not np.isfinite(array).all():
                row, col = np.argwhere(~np.isfinite(array))[0]
                raise ValueError(f"{label} is NaN/inf at row {row}, model column {col}: the cascade curve needs "
                                 f"complete test rows (see OutcomeTable.complete_rows)")
        probabilities = self._probabilities(X)[:, self.order_]
        if thresholds is None:
            thresholds = np.unique(np.r_[0.0, probabilities.ravel()])
            if thresholds.size > MAX_THRESHOLDS:
                thresholds = np.unique(np.quantile(thresholds, np.linspace(0.0, 1.0, MAX_THRESHOLDS)))
        thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
        if thresholds.size == 0 or not np.isfinite(thresholds).all():
            raise ValueError("thresholds must be a non-empty list of finite numbers")
        rows = np.arange(X.shape[0])
        spent = np.cumsum(C[:, self.order_], axis=1)
        correct = Y[:, self.order_]
        cost, accuracy = np.empty(thresholds.size), np.empty(thresholds.size)
        for j, threshold in enumerate(thresholds):
            stops = self._stops(probabilities, threshold)
            cost[j] = spent[rows, stops].mean()
            accuracy[j] = correct[rows, stops].mean()
        return cost, accuracy, thresholds
