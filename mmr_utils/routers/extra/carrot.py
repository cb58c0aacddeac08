"""CARROT-style kNN router (Somerstep et al. 2025, "CARROT: A Cost Aware Rate Optimal Router"): estimates ``q_k(x)`` and
``c_k(x)`` by cosine kNN regression (``k`` = 40; cost ``k_cost``), each model with its own index over its observed rows,
and routes to ``argmax_k (1 - mu) q_k(x) - mu c_k(x)``. :meth:`predict` returns ``U = q``, ``P = c``; as that rule is
``(1 - mu) (q - lam c)`` with ``lam = mu / (1 - mu)``, the lambda sweep traces CARROT's ``mu`` in [0, 1)
(:func:`mu_from_lambda`); :meth:`route` applies one ``mu``."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from mmr_utils.routers.base import Router, register


def lambda_from_mu(mu: float) -> float:
    """The lambda-rule weight equivalent to CARROT's ``mu`` in [0, 1): ``mu / (1 - mu)``."""
    if not 0.0 <= mu < 1.0:
        raise ValueError(f"mu must be in [0, 1) to map to a finite lambda, got {mu!r}")
    return mu / (1.0 - mu)


def mu_from_lambda(lam: float) -> float:
    """CARROT's ``mu`` equivalent to a lambda-rule weight ``lam >= 0``: ``lam / (1 + lam)``."""
    if lam < 0:
        raise ValueError(f"lambda must be >= 0, got {lam!r}")
    return lam / (1.0 + lam)


@register
class CarrotKNNRouter(Router):
    """CARROT kNN: per model, the mean observed correctness of the ``k`` = 40 nearest training queries that observed
    that model and, separately, the mean observed cost of its ``k_cost`` (default: ``k``) nearest ones; cosine
    distance, brute force, ``k`` capped at the model's number of observed rows. Deterministic (``seed`` unused)."""

    name = "carrot_knn"

    def __init__(self, *, k: int = 40, k_cost: int | None = None, metric: str = "cosine", seed: int = 0):
        super().__init__(seed=seed)
        self.k = k
        self.k_cost = k_cost
        self.metric = metric

    def _build_indexes(self) -> None:
        for label, value in (("k", self.k), ("k_cost", self.k if self.k_cost is None else self.k_cost)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        k_cost = self.k if self.k_cost is None else self.k_cost
        self.indexes_ = []
        for model in range(self.n_models_):
            rows = np.flatnonzero(self.train_mask_[:, model])
            index = NearestNeighbors(metric=self.metric, algorithm="brute").fit(self.train_X_[rows])
            self.indexes_.append((rows, index, int(min(self.k, rows.size)), int(min(k_cost, rows.size))))

    def _fit(self, X, Y, C, mask):
        self.train_X_, self.train_Y_, self.train_C_, self.train_mask_ = X, Y, C, mask
        self._build_indexes()

    def _predict(self, X):
        U = np.empty((X.shape[0], self.n_models_))
        P = np.empty_like(U)
        for model, (rows, index, k, k_cost) in enumerate(self.indexes_):
            neighbours = rows[index.kneighbors(X, n_neighbors=max(k, k_cost), return_distance=False)]
            U[:, model] = self.train_Y_[neighbours[:, :k], model].mean(axis=1)
            P[:, model] = self.train_C_[neighbours[:, :k_cost], model].mean(axis=1)
        return U, P

    def route(self, X, mu: float) -> np.ndarray:
        """CARROT's decision for trade-off ``mu`` in [0, 1]: ``argmax_k (1 - mu) q_k - mu c_k`` per query (ties: the
        lower predicted cost, then the lower model index)."""
        if not 0.0 <= mu <= 1.0:
            raise ValueError(f"mu must be in [0, 1], got {mu!r}")
        U, P = self.predict(X)
        score = (1.0 - mu) * U - mu * P
        n, k = U.shape
        order = np.lexsort((-np.broadcast_to(np.arange(k), (n, k)), -P, score), axis=1)
        return order[:, -1]

    def _get_state(self):
        return {"X": self.train_X_, "Y": self.train_Y_, "C": self.train_C_, "mask": self.train_mask_}

    def _set_state(self, arrays):
        self.train_X_, self.train_Y_, self.train_C_ = arrays["X"], arrays["Y"], arrays["C"]
        self.train_mask_ = arrays["mask"].astype(bool)
        self._build_indexes()

