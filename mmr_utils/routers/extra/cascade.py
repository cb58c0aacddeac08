"""A calibrated cascade (in the manner of FrugalGPT's LLM cascade, Chen, Zaharia & Zou 2023, with the stopping score
replaced by a calibrated per-model probability of correct).

Models are tried from cheap to expensive (order: mean observed training cost, ties by column index); the cascade
stops at the first model whose calibrated probability of answering the query correctly exceeds a threshold ``t``
(strictly), and that model's answer is returned; if none does, the last (most expensive) model answers. The cost of
a query is the sum of the true costs of every model called, and the accuracy that of the answering model. The
probabilities are those of :class:`~mmr_utils.routers.extra.boosting.BoostingRouter` (per-model calibrated gradient-boosted
classifiers, ``calibration="sigmoid"``); they depend on the query features only, not on the models' answers (the
project's outcome table has no answer text to score), so this is a deferral rule with a known stopping point, and
the price of the models called before it is what it pays for being a cascade.

Scoring: a cascade's curve comes from sweeping ``t``, not from the budget sweep over ``(U, P)``, so
:meth:`CascadeRouter.cascade_curve` returns the operating points ``(cost, accuracy, thresholds)`` on a test set;
``np.column_stack([cost, accuracy])`` goes to :func:`mmr_utils.metrics.protocol.pareto_frontier`, ``peak_score`` and
``nauc`` like any other curve.

In the standard pipeline (``predict`` + budget sweep) it still runs: ``U`` is the calibrated probability and
``P[:, k]`` the expected cost of a cascade that ends at model ``k`` (the summed predicted costs of ``k`` and every
cheaper model), so a budget buys a position in the cascade. The evaluation then charges only the chosen model's true
cost, so those numbers describe a router that uses the cascade's predictions, not the cascade itself; compare
cascades with :meth:`~CascadeRouter.cascade_curve`.
"""

from __future__ import annotations

import numpy as np

from mmr_utils.routers.base import _check_features, register
from mmr_utils.routers.extra.boosting import BoostingRouter

#: Default number of thresholds in :meth:`CascadeRouter.cascade_curve` (all distinct probabilities when fewer).
MAX_THRESHOLDS = 257


@register
class CascadeRouter(BoostingRouter):
    """Calibrated cascade from cheap to expensive (module docstring); parameters are those of ``gbdt`` (sigmoid
    calibration, mean training cost). ``order_`` is the cascade order (model column indices). Seeded."""

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
        """Operating points of the cascade on a test set: mean cost (every model called counts) and mean accuracy
        (the answering model's) for each threshold, in the order of ``thresholds``.

        ``Y`` and ``C`` (n x K, the true test outcomes) must be complete. ``thresholds`` defaults to 0 and every
        distinct predicted probability (subsampled to :data:`MAX_THRESHOLDS` quantiles when there are more): every
        distinct cascade decision appears, from "the cheapest model answers almost everything" to "call them all".
        """
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
