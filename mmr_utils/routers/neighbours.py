"""Non-parametric routers of the paper's baselines (Sec. 5.1), kNN and k-means: a query's utility and cost are masked
means of similar training queries' observed outcomes (a model never observed there: its global training mean)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from mmr_utils.routers.base import Router, masked_column_means, register


def _grouped_means(values: np.ndarray, mask: np.ndarray, weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``weights`` (g x n) selects rows per group; masked mean per group and model, ``fallback`` where empty."""
    counts = weights @ mask
    sums = weights @ (values * mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return np.where(counts > 0, means, fallback[None, :])


@register
class KNNRouter(Router):
    """kNN router: mean observed correctness and cost of the ``k`` nearest training queries (cosine, brute force; ``k_``
    capped at the training size); ``last_fallback_cells_``: cells of the last ``predict`` at the global mean."""

    name = "knn"

    def __init__(self, *, k: int = 50, metric: str = "cosine", seed: int = 0):
        super().__init__(seed=seed)
        self.k = k
        self.metric = metric

    def _build_index(self) -> None:
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        self.k_ = int(min(self.k, self.train_X_.shape[0]))
        self.index_ = NearestNeighbors(n_neighbors=self.k_, metric=self.metric, algorithm="brute")
        self.index_.fit(self.train_X_)

    def _fit(self, X, Y, C, mask):
        self.train_X_, self.train_Y_, self.train_C_, self.train_mask_ = X, Y, C, mask
        self.global_utility_ = masked_column_means(Y, mask)
        self.global_cost_ = masked_column_means(C, mask)
        self._build_index()

    def _predict(self, X):
        neighbours = self.index_.kneighbors(X, return_distance=False)
        mask = self.train_mask_[neighbours]
        counts = mask.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            U = (self.train_Y_[neighbours] * mask).sum(axis=1) / counts
            P = (self.train_C_[neighbours] * mask).sum(axis=1) / counts
        self.last_fallback_cells_ = int((counts == 0).sum())
        U = np.where(counts > 0, U, self.global_utility_[None, :])
        P = np.where(counts > 0, P, self.global_cost_[None, :])
        return U, P

    def _get_state(self):
        return {"X": self.train_X_, "Y": self.train_Y_, "C": self.train_C_, "mask": self.train_mask_}

    def _set_state(self, arrays):
        self.train_X_, self.train_Y_, self.train_C_ = arrays["X"], arrays["Y"], arrays["C"]
        self.train_mask_ = arrays["mask"].astype(bool)
        self.global_utility_ = masked_column_means(self.train_Y_, self.train_mask_)
        self.global_cost_ = masked_column_means(self.train_C_, self.train_mask_)
        self._build_index()


@register
class KMeansRouter(Router):
    """k-means router: a query gets the masked mean correctness and cost of its nearest centroid's cluster
    (``KMeans`` seeded by ``seed``, ``n_clusters`` capped at the training size); ``cluster_counts_`` records the
    observations behind every cell (0: global-mean fallback)."""

    name = "kmeans"

    def __init__(self, *, n_clusters: int = 20, n_init: int = 10, max_iter: int = 300, seed: int = 0):
        super().__init__(seed=seed)
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter

    def _assign(self, X: np.ndarray) -> np.ndarray:
        """Index of the nearest centroid (squared Euclidean distance; ties to the lower index)."""
        distances = (np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * X @ self.centroids_.T
                     + np.einsum("ij,ij->i", self.centroids_, self.centroids_)[None, :])
        return np.argmin(distances, axis=1)

    def _fit(self, X, Y, C, mask):
        if not isinstance(self.n_clusters, (int, np.integer)) or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be a positive integer, got {self.n_clusters!r}")
        self.n_clusters_ = int(min(self.n_clusters, X.shape[0]))
        kmeans = KMeans(n_clusters=self.n_clusters_, n_init=self.n_init, max_iter=self.max_iter, random_state=self.seed)
        kmeans.fit(X)
        self.centroids_ = kmeans.cluster_centers_.astype(np.float64)
        labels = self._assign(X)
        membership = (labels[None, :] == np.arange(self.n_clusters_)[:, None]).astype(np.float64)
        self.cluster_utility_ = _grouped_means(Y, mask, membership, masked_column_means(Y, mask))
        self.cluster_cost_ = _grouped_means(C, mask, membership, masked_column_means(C, mask))
        self.cluster_counts_ = (membership @ mask).astype(np.int64)

    def _predict(self, X):
        labels = self._assign(X)
        return self.cluster_utility_[labels], self.cluster_cost_[labels]

    def _get_state(self):
        return {"centroids": self.centroids_, "utility": self.cluster_utility_, "cost": self.cluster_cost_,
                "counts": self.cluster_counts_}

    def _set_state(self, arrays):
        self.centroids_ = arrays["centroids"]
        self.n_clusters_ = self.centroids_.shape[0]
        self.cluster_utility_, self.cluster_cost_ = arrays["utility"], arrays["cost"]
        self.cluster_counts_ = arrays["counts"]


@register
class KMeansAdaptiveRouter(KMeansRouter):
    """The k-means router on adaptively fused features (paper Sec. 5.1, "KMeans-adaptive"; official ``kmeansnew``):
    it requires the ``"adaptive"`` fusion strategy of :mod:`mmr_utils.features.fusion`."""

    name = "kmeans_adaptive"
    fusion = "adaptive"
