"""TF-IDF of question texts: the cheap text baseline, fitted on training questions only."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from mmr_utils.features.encoders.base import BaseEncoder, Embeddings


class TfidfEncoder(BaseEncoder):
    """TF-IDF of question texts, fitted on training questions only (``fit``), reduced to ``dim`` by TruncatedSVD when
    the vocabulary is wider, L2-normalised. Not cached: its output depends on the training split, and it is cheap."""

    name = "tfidf"
    modalities = frozenset({"text"})
    rows_independent_in_batch = True  # sparse rows times a dense matrix: each row is computed on its own

    def __init__(self, dim: int = 256, *, seed: int = 0, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1,
                 max_features: int | None = 50_000, progress: bool = True):
        super().__init__(cache_dir=None, use_cache=False, progress=progress, batch_size=4096, num_workers=0)
        self.dim = dim
        self.seed = seed
        self.vectorizer_params = {"ngram_range": tuple(ngram_range), "min_df": min_df, "max_features": max_features,
                                  "sublinear_tf": True, "strip_accents": "unicode", "lowercase": True}
        self.vectorizer = None
        self.svd = None
        self._fit_fingerprint = None

    @property
    def revision(self) -> str:
        return f"fit:{self._fit_fingerprint}" if self._fit_fingerprint else "unfitted"

    @property
    def model_id(self) -> str:
        return f"tfidf(dim={self.dim},seed={self.seed})"

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        """Fit vocabulary, IDF weights and the SVD on training questions only."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        if not texts:
            raise ValueError("tfidf: fit needs at least one training text")
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"tfidf: training text at row {row} is {type(text).__name__}, expected str")
        self.vectorizer = TfidfVectorizer(**self.vectorizer_params)
        matrix = self.vectorizer.fit_transform(texts)
        n_features = matrix.shape[1]
        width = min(self.dim, n_features - 1, len(texts) - 1)
        self.svd = None
        if n_features > self.dim and width >= 1:
            self.svd = TruncatedSVD(n_components=width, algorithm="randomized", random_state=self.seed)
            self.svd.fit(matrix)
        self._fit_fingerprint = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
        self.n_train = len(texts)
        return self

    def expected_dim(self) -> int:
        self._check_fitted()
        return self.svd.n_components if self.svd is not None else len(self.vectorizer.vocabulary_)

    def _check_fitted(self) -> None:
        if self.vectorizer is None:
            raise RuntimeError("tfidf encoder is not fitted: call fit(training_texts) before encoding")

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        self._check_fitted()
        matrix = self.vectorizer.transform(texts)
        return self.svd.transform(matrix) if self.svd is not None else matrix.toarray()

    def encode_texts(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        self._check_fitted()
        embeddings = super().encode_texts(texts, batch_size=batch_size)
        embeddings.info["n_all_zero"] = int((np.abs(embeddings.values).sum(axis=1) == 0).sum())
        embeddings.info["n_train"] = self.n_train
        return embeddings
