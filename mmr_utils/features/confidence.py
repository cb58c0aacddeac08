"""How confident each channel of a query is, for the adaptive fusion strategies (paper Sec. 5, "adaptive" fusion):
the prototype-norm confidence of the paper's adaptive fusion, its weights, and the nearest-centroid margin confidence
of ``adaptive_margin``. Every statistic is fitted on the training rows only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmr_utils._arrays import unit_rows

#: Sharpness of the adaptive weights' softmax over the two channels' confidences.
ADAPTIVE_ETA = 5.0


@dataclass
class PrototypeNormConfidence:
    """The official adaptive fusion's per-channel confidence (``kmeansnew``), fitted on training rows (officially: the
    batch encoded): ``c = clip(0.5 * (cos(x, prototype) + 1) / 2 + 0.5 * sigmoid((||x|| - mean_norm) / std_norm), 0,
    1)``, norms before unit normalisation; a norm spread below ``1e-6`` of the mean counts as none (term 0.5)."""

    prototype: np.ndarray
    norm_mean: float
    norm_std: float

    @classmethod
    def fit(cls, vectors: np.ndarray, norms: np.ndarray) -> PrototypeNormConfidence:
        if len(vectors) == 0:
            raise ValueError("adaptive fusion needs at least one training row with this channel present")
        mean, std = float(norms.mean()), float(norms.std())
        return cls(vectors.mean(axis=0).astype(np.float32), mean, std if std > 1e-6 * max(mean, 1e-12) else 0.0)

    def confidence(self, vectors: np.ndarray, norms: np.ndarray) -> np.ndarray:
        prototype_norm = float(np.linalg.norm(self.prototype))
        row_norms = np.linalg.norm(vectors, axis=1)
        cosine = (vectors @ self.prototype) / np.maximum(row_norms * prototype_norm, 1e-12)
        z = (norms - self.norm_mean) / self.norm_std if self.norm_std > 0 else np.zeros(len(norms))
        c_norm = 1.0 / (1.0 + np.exp(-z))
        return np.clip(0.5 * (cosine + 1.0) / 2.0 + 0.5 * c_norm, 0.0, 1.0).astype(np.float32)


def adaptive_weights(c_text, c_image, eta: float = ADAPTIVE_ETA, use_text=None, use_image=None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Channel weights of the official adaptive fusion: ``(w_t, w_i) = softmax(eta * c_t, eta * c_i)`` per row, so
    ``w_t + w_i = 1``; a larger ``eta`` sharpens them towards the more confident channel (``eta = 0``: 0.5 each).
    A channel not used for a row (masked by the mode or absent) gets weight 0; a row with neither gets 0.5 each."""
    c_text, c_image = np.asarray(c_text, dtype=np.float64), np.asarray(c_image, dtype=np.float64)
    if c_text.shape != c_image.shape or c_text.ndim != 1:
        raise ValueError(f"c_text and c_image must be 1-D of one length, got {c_text.shape} and {c_image.shape}")
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    use_text = np.ones(len(c_text), bool) if use_text is None else np.asarray(use_text, bool)
    use_image = np.ones(len(c_image), bool) if use_image is None else np.asarray(use_image, bool)
    logits = np.stack([eta * c_text, eta * c_image], axis=1)
    usable = np.stack([use_text, use_image], axis=1)
    neither = ~usable.any(axis=1)
    logits[neither] = 0.0
    usable[neither] = True
    logits = np.where(usable, logits, -np.inf)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights[:, 0].astype(np.float32), weights[:, 1].astype(np.float32)


@dataclass
class MarginConfidence:
    """KMeans centroids of one channel and the training mean/std of the nearest-centroid margin."""

    centroids: np.ndarray
    margin_mean: float
    margin_std: float

    @classmethod
    def fit(cls, vectors: np.ndarray, n_clusters: int, seed: int) -> MarginConfidence:
        from sklearn.cluster import KMeans

        k = max(2, min(n_clusters, len(vectors)))
        if len(vectors) < 2:
            raise ValueError("adaptive fusion needs at least 2 training rows per channel to fit its confidence")
        kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(vectors)
        centroids = unit_rows(kmeans.cluster_centers_)
        margins = cls._margins(vectors, centroids)
        return cls(centroids, float(margins.mean()), float(margins.std()) or 1.0)

    @staticmethod
    def _margins(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        similarities = np.sort(vectors @ centroids.T, axis=1)
        return similarities[:, -1] - similarities[:, -2]

    def confidence(self, vectors: np.ndarray) -> np.ndarray:
        """How clearly each row falls into one training cluster: sigmoid of its standardised nearest-centroid
        margin (cosine to the nearest minus the second-nearest centroid), in (0, 1)."""
        standardised = (self._margins(vectors, self.centroids) - self.margin_mean) / self.margin_std
        return (1.0 / (1.0 + np.exp(-standardised))).astype(np.float32)
