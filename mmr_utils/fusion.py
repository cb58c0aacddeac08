"""Fusing text and image embeddings into router features, with the paper's modality-masking modes (paper Sec. 5,
"modality" study; official code's train/test flags).

A mode is two digits, train flag then test flag: 1 = text only (image channel masked), 2 = text + image,
3 = image only (text channel masked). "21" trains on both and tests with images masked.

Principles (where this departs from the official code, on purpose):

* A masked channel, and an image that is absent (``present`` False), are treated alike: the channel's vector is
  replaced by the *training centroid* of that channel (mean of the training split's present vectors, renormalised),
  i.e. "the average image/question"; for ``adaptive``/``adaptive_margin`` its weight is also set to zero. A channel
  masked on both sides (e.g. the image in "11") carries no information and is dropped.
* Every output row has unit L2 norm in every mode and strategy, so train and test features are on the same scale (the
  official code's text-only test features have a different norm from its fused training features).
* All statistics (centroids, prototypes, norm statistics, KMeans confidence statistics) are fitted on the training
  split only and applied to test (the official code recomputes its adaptive-fusion statistics on the test batch).
* ``mean``/``adaptive``/``adaptive_margin`` need one width: when the widths differ (offline pair: 384-d MiniLM vs
  imagestats) the narrower channel is mapped into the wider space by a fixed, seeded random matrix with orthonormal
  columns (an isometry: norms and inner products preserved, nothing lost). CLIP's shared space needs no mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import unit_rows

MODES = tuple(f"{train}{test}" for train in "123" for test in "123")
STRATEGIES = ("text", "image", "mean", "concat", "adaptive", "adaptive_margin")
#: Softmax temperature of the official adaptive fusion (``kmeansnew``: eta = 5).
ADAPTIVE_ETA = 5.0
_TWO_CHANNEL = ("mean", "concat", "adaptive", "adaptive_margin")
_FLAG_CHANNELS = {"1": ("text",), "2": ("text", "image"), "3": ("image",)}


def _unit_vector(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def _check_block(name: str, values, rows: int | None = None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n x d), got shape {values.shape}")
    if rows is not None and values.shape[0] != rows:
        raise ValueError(f"{name} has {values.shape[0]} rows, expected {rows} (one per query)")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def _check_present(name: str, present, rows: int) -> np.ndarray:
    if present is None:
        return np.ones(rows, dtype=bool)
    present = np.asarray(present)
    if present.shape != (rows,) or present.dtype != bool:
        raise ValueError(f"{name} must be a bool vector of length {rows}, got {present.dtype} {present.shape}")
    return present


def isometric_embedding(source_dim: int, target_dim: int, seed: int = 0) -> np.ndarray:
    """A (source_dim x target_dim) matrix with orthonormal rows drawn with ``seed``: x -> x @ M keeps norms and
    inner products. Used to put the narrower channel into the wider one's width for ``mean``/``adaptive``."""
    if source_dim > target_dim:
        raise ValueError(f"cannot embed {source_dim} dimensions isometrically into {target_dim}")
    generator = np.random.default_rng(seed)
    gaussian = generator.standard_normal((target_dim, source_dim))
    orthonormal, upper = np.linalg.qr(gaussian)
    orthonormal *= np.sign(np.diag(upper))  # makes the factorisation unique, hence deterministic across LAPACKs
    return orthonormal.T.astype(np.float32)


@dataclass
class PrototypeNormConfidence:
    """The official adaptive fusion's per-channel confidence (``kmeansnew``), with its statistics fitted once:

    ``c = clip(0.5 * (cos(x, prototype) + 1) / 2 + 0.5 * sigmoid((||x|| - mean_norm) / std_norm), 0, 1)``

    where ``prototype`` is the mean training vector of the channel and ``mean_norm``/``std_norm`` are the mean and
    standard deviation of the training vectors' norms (the official code takes both from the batch being encoded,
    train or test). ``norms`` are the vectors' norms *before* unit normalisation; CLIP embeddings arrive with unit
    norm, so this term is then 0.5 for every row. [uncertain] The official code divides by ``std + 1e-8`` and so turns
    float rounding of unit norms into a spread of confidences; here a spread below ``1e-6`` of the mean norm counts as
    none and gives 0.5.
    """

    prototype: np.ndarray
    norm_mean: float
    norm_std: float

    @classmethod
    def fit(cls, vectors: np.ndarray, norms: np.ndarray) -> "PrototypeNormConfidence":
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
class _ModalityConfidence:
    """KMeans centroids of one channel and the training mean/std of the nearest-centroid margin."""

    centroids: np.ndarray
    margin_mean: float
    margin_std: float

    @classmethod
    def fit(cls, vectors: np.ndarray, n_clusters: int, seed: int) -> "_ModalityConfidence":
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


def build_features(text_train, image_train, present_train, text_test, image_test, present_test, mode: str = "22",
                   strategy: str = "mean", *, seed: int = 0, n_clusters: int = 8, eta: float = ADAPTIVE_ETA
                   ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Router features X_train, X_test (float32, unit rows) from per-channel embeddings, for ``mode`` and
    ``strategy`` (paper Sec. 5; official fusion modes and KMeans-adaptive variant).

    Strategies: ``text`` / ``image`` (one channel), ``mean`` (normalised average of the two unit vectors, the official
    default), ``concat`` (``[text | image] / sqrt(2)``; ``info["text_dim"]`` gives the text width, for CMR),
    ``adaptive`` (the official ``kmeansnew`` fusion, paper Sec. 5 "adaptive fusion": ``w_t t + w_i i + 0.5 t*i +
    0.5 |t - i|`` summed and unit-normalised, one block of the common width, with ``(w_t, w_i)`` the softmax of
    ``eta`` times each channel's :class:`PrototypeNormConfidence`, fitted on training rows only; see
    :func:`adaptive_weights`), ``adaptive_margin`` (this project's variant: weights proportional to a sigmoid of each
    channel's nearest-KMeans-centroid margin, and three blocks ``[weighted | t*i | t - i]`` each normalised and
    concatenated, 3x the width). In both adaptive strategies a masked or absent channel gets weight 0 and is imputed
    by its training centroid (the official code encodes a black image instead).

    ``image_*`` may be None when there are no images (then only the text channel exists). Returns
    ``(X_train, X_test, info)``; ``info`` records mode, strategy, channels used, widths, imputation counts and
    ``image_used_train/test`` (rows whose own image entered the features).
    """
    mode = str(mode)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} (train flag then test flag; 1 text, 2 both, 3 image), got {mode!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    text_train = _check_block("text_train", text_train)
    text_test = _check_block("text_test", text_test)
    n_train, n_test = len(text_train), len(text_test)
    if text_train.shape[1] != text_test.shape[1]:
        raise ValueError(f"text_train has width {text_train.shape[1]} but text_test {text_test.shape[1]}")
    has_images = image_train is not None or image_test is not None
    if has_images:
        if image_train is None or image_test is None:
            raise ValueError("give both image_train and image_test, or neither")
        image_train = _check_block("image_train", image_train, n_train)
        image_test = _check_block("image_test", image_test, n_test)
        if image_train.shape[1] != image_test.shape[1]:
            raise ValueError(f"image_train has width {image_train.shape[1]} but image_test {image_test.shape[1]}")
        present_train = _check_present("present_train", present_train, n_train)
        present_test = _check_present("present_test", present_test, n_test)
    elif "3" in mode or "2" in mode or strategy in ("image", *_TWO_CHANNEL[1:]):
        raise ValueError(f"mode {mode!r} with strategy {strategy!r} needs image embeddings, but none were given")

    train_flag, test_flag = mode
    train_channels, test_channels = _FLAG_CHANNELS[train_flag], _FLAG_CHANNELS[test_flag]
    channels = [c for c in ("text", "image") if c in train_channels or c in test_channels]
    effective = strategy
    if strategy in ("text", "image") and strategy not in channels:
        raise ValueError(f"strategy {strategy!r} uses only the {strategy} channel, which mode {mode!r} masks on both "
                         f"train and test")
    if strategy in _TWO_CHANNEL and len(channels) == 1:
        effective = channels[0]
    if strategy in ("text", "image"):
        channels = [strategy]

    # Norms before normalisation: the official adaptive fusion's norm confidence reads them.
    raw_norms = {"text": (np.linalg.norm(text_train, axis=1), np.linalg.norm(text_test, axis=1))}
    text_train, text_test = unit_rows(text_train), unit_rows(text_test)
    blocks = {"text": (text_train, text_test, np.ones(n_train, bool), np.ones(n_test, bool))}
    if has_images:
        raw_norms["image"] = (np.linalg.norm(image_train, axis=1), np.linalg.norm(image_test, axis=1))
        blocks["image"] = (unit_rows(image_train), unit_rows(image_test), present_train, present_test)

    # Per channel: the rows whose own vector is used (not masked by the flag, and present), and the imputed rest.
    filled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    training_present: dict[str, np.ndarray] = {}
    used: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    info_channels = {}
    for channel in channels:
        train_values, test_values, train_present, test_present = blocks[channel]
        centroid_rows = train_present
        if not centroid_rows.any():
            raise ValueError(f"no training row has a {channel} vector; cannot build the {channel} centroid")
        centroid = _unit_vector(train_values[centroid_rows].mean(axis=0))
        training_present[channel] = train_values[centroid_rows]
        use_train = train_present & (channel in train_channels)
        use_test = test_present & (channel in test_channels)
        filled[channel] = (np.where(use_train[:, None], train_values, centroid),
                           np.where(use_test[:, None], test_values, centroid))
        used[channel] = (use_train, use_test)
        info_channels[channel] = {"dim": int(train_values.shape[1]), "imputed_train": int((~use_train).sum()),
                                  "imputed_test": int((~use_test).sum())}

    info = {"mode": mode, "strategy": strategy, "effective_strategy": effective, "channels": channels,
            "channel_info": info_channels, "seed": seed, "imputation": "training centroid of the channel"}
    if "image" in used:
        info["image_used_train"], info["image_used_test"] = used["image"]

    if effective in ("text", "image"):
        x_train, x_test = filled[effective]
        info["text_dim"] = int(x_train.shape[1]) if effective == "text" else 0
    elif effective == "concat":
        (t_train, t_test), (i_train, i_test) = filled["text"], filled["image"]
        scale = np.float32(1.0 / np.sqrt(2.0))
        x_train = np.concatenate([t_train, i_train], axis=1) * scale
        x_test = np.concatenate([t_test, i_test], axis=1) * scale
        info["text_dim"] = int(t_train.shape[1])
    else:
        (t_train, t_test), (i_train, i_test) = _common_width(filled["text"], filled["image"], seed, info)
        if effective == "mean":
            x_train, x_test = t_train + i_train, t_test + i_test
        else:
            fit_text, fit_image = _common_width((training_present["text"],) * 2, (training_present["image"],) * 2,
                                                seed, {})
            if effective == "adaptive":
                x_train, x_test = _adaptive(t_train, i_train, t_test, i_test, fit_text[0], fit_image[0], used,
                                            raw_norms, blocks, eta, info)
            else:
                x_train, x_test = _adaptive_margin(t_train, i_train, t_test, i_test, fit_text[0], fit_image[0],
                                                   used, n_clusters, seed, info)
    x_train, x_test = unit_rows(x_train), unit_rows(x_test)
    info["dim"] = int(x_train.shape[1])
    return x_train, x_test, info


def _common_width(text_pair, image_pair, seed: int, info: dict):
    """Map the narrower channel isometrically into the wider channel's width (no-op for equal widths)."""
    text_dim, image_dim = text_pair[0].shape[1], image_pair[0].shape[1]
    if text_dim == image_dim:
        info["common_width"] = {"dim": int(text_dim), "mapped": None}
        return text_pair, image_pair
    if text_dim < image_dim:
        matrix = isometric_embedding(text_dim, image_dim, seed)
        info["common_width"] = {"dim": int(image_dim), "mapped": "text", "seed": seed}
        return tuple(values @ matrix for values in text_pair), image_pair
    matrix = isometric_embedding(image_dim, text_dim, seed)
    info["common_width"] = {"dim": int(text_dim), "mapped": "image", "seed": seed}
    return text_pair, tuple(values @ matrix for values in image_pair)


def _adaptive(t_train, i_train, t_test, i_test, fit_text, fit_image, used, raw_norms, blocks, eta, info):
    """The official adaptive fusion (``kmeansnew``), statistics fitted on the training split's present vectors of each
    channel (like the centroids: split-level statistics, even where the train flag masks that channel)."""
    confidences = {}
    for channel, fit_vectors in (("text", fit_text), ("image", fit_image)):
        present_train = blocks[channel][2]
        confidences[channel] = PrototypeNormConfidence.fit(fit_vectors, raw_norms[channel][0][present_train])

    def fuse(text, image, norms_text, norms_image, use_text, use_image):
        c_text = confidences["text"].confidence(text, norms_text)
        c_image = confidences["image"].confidence(image, norms_image)
        w_text, w_image = adaptive_weights(c_text, c_image, eta, use_text, use_image)
        fused = w_text[:, None] * text + w_image[:, None] * image + 0.5 * (text * image) + 0.5 * np.abs(text - image)
        return fused, w_text

    # A row whose channel was imputed has the centroid's norm (1), not its own.
    norms = {c: tuple(np.where(used[c][side], raw_norms[c][side], 1.0) for side in (0, 1)) for c in ("text", "image")}
    x_train, w_train = fuse(t_train, i_train, norms["text"][0], norms["image"][0], used["text"][0], used["image"][0])
    x_test, w_test = fuse(t_test, i_test, norms["text"][1], norms["image"][1], used["text"][1], used["image"][1])
    info["adaptive"] = {"variant": "official (prototype + norm confidence, softmax weights)", "eta": float(eta),
                        "mean_text_weight_train": float(w_train.mean()), "mean_text_weight_test": float(w_test.mean()),
                        "text_weight_train": w_train, "text_weight_test": w_test,
                        "terms": ["w_t t + w_i i", "0.5 t*i", "0.5 |t - i|"]}
    return x_train, x_test


def _adaptive_margin(t_train, i_train, t_test, i_test, fit_text, fit_image, used, n_clusters, seed, info):
    """KMeans-margin adaptive fusion (this project's variant, not the official formula). Its statistics are fitted on
    the training split's present vectors of each channel."""
    use_text_train, use_text_test = used["text"]
    use_image_train, use_image_test = used["image"]
    text_confidence = _ModalityConfidence.fit(fit_text, n_clusters, seed)
    image_confidence = _ModalityConfidence.fit(fit_image, n_clusters, seed)

    def fuse(text, image, use_text, use_image):
        w_text = text_confidence.confidence(text) * use_text
        w_image = image_confidence.confidence(image) * use_image
        total = w_text + w_image
        neither = total <= 0
        w_text = np.where(neither, 0.5, w_text / np.where(neither, 1.0, total))[:, None]
        w_image = 1.0 - w_text
        weighted = unit_rows(w_text * text + w_image * image)
        product = unit_rows(text * image)
        difference = unit_rows(text - image)
        return np.concatenate([weighted, product, difference], axis=1), w_text[:, 0]

    x_train, w_train = fuse(t_train, i_train, use_text_train, use_image_train)
    x_test, w_test = fuse(t_test, i_test, use_text_test, use_image_test)
    info["adaptive"] = {"variant": "kmeans margin (this project)",
                        "n_clusters": int(text_confidence.centroids.shape[0]),
                        "mean_text_weight_train": float(w_train.mean()), "mean_text_weight_test": float(w_test.mean()),
                        "blocks": ["weighted", "product", "difference"]}
    return x_train, x_test
