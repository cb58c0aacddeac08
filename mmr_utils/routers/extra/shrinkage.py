"""Empirical-Bayes shrinkage for the neighbour and cluster routers: a local mean over ``n`` observed cells is pulled
toward the model's training mean ``m_k``: ``shrunk = (n * local_mean + kappa_k * m_k) / (n + kappa_k)``, the posterior
mean under a ``Beta(kappa_k m_k, kappa_k (1 - m_k))`` prior (Efron & Morris 1975; normal-normal for cost). ``kappa_k``
is fitted per model and target by the method of moments on the training groups (clusters, or each training query's
leave-one-out neighbourhood): with group means ``p_g`` over ``n_g`` cells, single-observation variance ``v`` and ``h =
mean_g 1 / n_g``, ``tau^2 = (mean_g (p_g - m)^2 - v h) / (1 - h)`` and ``kappa = (v - tau^2) / tau^2``; ``tau^2 <= 0``
gives ``kappa = MAX_KAPPA``: the global means, i.e. the best single model."""

from __future__ import annotations

import numpy as np

from mmr_utils.routers.base import masked_column_means, register
from mmr_utils.routers.neighbours import KMeansRouter, KNNRouter

#: Cap on the prior strength (no between-group signal): the estimate is then the training mean to ~1e-6.
MAX_KAPPA = 1e6


def prior_strength(group_means: np.ndarray, group_counts: np.ndarray, global_mean: np.ndarray,
                   unit_variance: np.ndarray) -> np.ndarray:
    """Method-of-moments prior strength ``kappa`` in [0, MAX_KAPPA] per column (module docstring) from (g x K) group
    means and counts (empty groups ignored) and the (K,) variance of a single observation."""
    kappa = np.full(group_means.shape[1], MAX_KAPPA)
    for column in range(group_means.shape[1]):
        used = group_counts[:, column] > 0
        v = float(unit_variance[column])
        if used.sum() < 2 or v <= 0:
            continue
        h = float(np.mean(1.0 / group_counts[used, column]))
        spread = float(np.mean((group_means[used, column] - global_mean[column]) ** 2))
        if h >= 1.0:
            continue  # every group holds a single cell: no within-group information to separate the two variances
        tau2 = (spread - v * h) / (1.0 - h)
        if tau2 > 0:
            kappa[column] = min(max(v - tau2, 0.0) / tau2, MAX_KAPPA)
    return kappa


def shrink(local_means: np.ndarray, counts: np.ndarray, global_mean: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """``(n * local + kappa * m) / (n + kappa)`` cell by cell; a cell with ``n = 0`` gets ``m``."""
    local = np.where(counts > 0, local_means, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = (counts * local + kappa * global_mean) / (counts + kappa)
    # kappa = 0 (more spread between groups than chance) would make an empty cell 0/0.
    return np.where(counts > 0, shrunk, np.broadcast_to(global_mean, shrunk.shape))


def _unit_variances(Y, C, mask) -> tuple[np.ndarray, np.ndarray]:
    m_y, m_c = masked_column_means(Y, mask), masked_column_means(C, mask)
    var_y = masked_column_means((Y - m_y) ** 2, mask)
    var_c = masked_column_means((C - m_c) ** 2, mask)
    return var_y, var_c


@register
class KNNShrunkRouter(KNNRouter):
    """kNN with empirical-Bayes shrinkage (module docstring): the ``k`` = 50 cosine neighbours' observed mean
    correctness and cost, each pulled toward the model's training mean with strengths ``utility_kappa_`` and
    ``cost_kappa_`` fitted by the method of moments on leave-one-out training neighbourhoods. Deterministic."""

    name = "knn_shrunk"

    def _fit(self, X, Y, C, mask):
        super()._fit(X, Y, C, mask)
        n = X.shape[0]
        if n < 3:
            raise ValueError(f"knn_shrunk needs at least 3 training rows to fit its prior, got {n}")
        k = min(self.k_, n - 1)
        neighbours = loo_neighbours(self.index_, X, k)
        counts = mask[neighbours].sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_y = (Y[neighbours] * mask[neighbours]).sum(axis=1) / counts
            mean_c = (C[neighbours] * mask[neighbours]).sum(axis=1) / counts
        var_y, var_c = _unit_variances(Y, C, mask)
        self.utility_kappa_ = prior_strength(mean_y, counts, self.global_utility_, var_y)
        self.cost_kappa_ = prior_strength(mean_c, counts, self.global_cost_, var_c)

    def _predict(self, X):
        neighbours = self.index_.kneighbors(X, return_distance=False)
        mask = self.train_mask_[neighbours]
        counts = mask.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_y = (self.train_Y_[neighbours] * mask).sum(axis=1) / counts
            mean_c = (self.train_C_[neighbours] * mask).sum(axis=1) / counts
        self.last_fallback_cells_ = int((counts == 0).sum())
        return (shrink(mean_y, counts, self.global_utility_, self.utility_kappa_),
                shrink(mean_c, counts, self.global_cost_, self.cost_kappa_))

    def _get_state(self):
        return {**super()._get_state(), "utility_kappa": self.utility_kappa_, "cost_kappa": self.cost_kappa_}

    def _set_state(self, arrays):
        super()._set_state(arrays)
        self.utility_kappa_, self.cost_kappa_ = arrays["utility_kappa"], arrays["cost_kappa"]


def loo_neighbours(index, X: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest training rows of every training row ``i`` but ``i`` itself: of ``k + 1`` neighbours, row
    ``i`` is dropped where it appears, else the farthest (a row with exact duplicates may not list itself first)."""
    found = index.kneighbors(X, n_neighbors=k + 1, return_distance=False)
    is_self = found == np.arange(X.shape[0])[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(found, dtype=bool)
    keep[np.arange(X.shape[0]), drop] = False
    return found[keep].reshape(X.shape[0], k)


@register
class KMeansShrunkRouter(KMeansRouter):
    """k-means with empirical-Bayes shrinkage (module docstring): each cluster's observed mean correctness and cost
    (seeded k-means as in ``kmeans``) pulled toward the model's training mean, strengths ``utility_kappa_`` /
    ``cost_kappa_`` fitted over the training clusters; ``cluster_counts_`` is the evidence ``n`` per cluster and model."""

    name = "kmeans_shrunk"

    def _fit(self, X, Y, C, mask):
        super()._fit(X, Y, C, mask)
        counts = self.cluster_counts_.astype(np.float64)
        global_y, global_c = masked_column_means(Y, mask), masked_column_means(C, mask)
        var_y, var_c = _unit_variances(Y, C, mask)
        self.utility_kappa_ = prior_strength(self.cluster_utility_, counts, global_y, var_y)
        self.cost_kappa_ = prior_strength(self.cluster_cost_, counts, global_c, var_c)
        self.raw_cluster_utility_, self.raw_cluster_cost_ = self.cluster_utility_, self.cluster_cost_
        self.cluster_utility_ = shrink(self.cluster_utility_, counts, global_y, self.utility_kappa_)
        self.cluster_cost_ = shrink(self.cluster_cost_, counts, global_c, self.cost_kappa_)

    def _get_state(self):
        return {**super()._get_state(), "utility_kappa": self.utility_kappa_, "cost_kappa": self.cost_kappa_}

    def _set_state(self, arrays):
        super()._set_state(arrays)
        self.utility_kappa_, self.cost_kappa_ = arrays["utility_kappa"], arrays["cost_kappa"]
