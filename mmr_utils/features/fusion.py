"""Fusing text and image embeddings into router features, with the paper's modality-masking modes (Sec. 5).

A mode is two digits, train then test: 1 = text only, 2 = text + image, 3 = image only ("21": masked images at test).
Departures from the official code: a masked channel or absent image becomes the channel's training centroid (weight 0 in
the adaptive strategies), a channel masked on both sides is dropped, rows have unit norm in every mode, all statistics
are fitted on training rows, and channels of different widths meet through a seeded isometry."""

from __future__ import annotations

import numpy as np

from mmr_utils._arrays import unit_rows
from mmr_utils.features.confidence import ADAPTIVE_ETA, MarginConfidence, PrototypeNormConfidence, adaptive_weights

MODES = tuple(f"{train}{test}" for train in "123" for test in "123")
STRATEGIES = ("text", "image", "mean", "concat", "adaptive", "adaptive_margin")
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


def _check_mode_strategy(mode, strategy) -> str:
    mode = str(mode)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} (train flag then test flag; 1 text, 2 both, 3 image), got {mode!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    return mode


class Fuser:
    """The fitted fusion for one ``mode`` and ``strategy`` (:func:`build_features`): :meth:`fit` learns the channel
    centroids, the width isometry and the adaptive confidences from training rows; :meth:`transform` applies them with
    the mode's train or test flag (``side``); :meth:`state` / :meth:`from_state` save it without pickle."""

    def __init__(self, mode: str = "22", strategy: str = "mean", *, seed: int = 0, n_clusters: int = 8,
                 eta: float = ADAPTIVE_ETA, keep_masked: bool = False):
        self.mode = _check_mode_strategy(mode, strategy)
        self.strategy = strategy
        self.keep_masked = keep_masked
        self.seed = seed
        self.n_clusters = n_clusters
        self.eta = eta
        self.fitted_ = False

    def fit(self, text, image=None, present=None) -> Fuser:
        """Learn the fusion's statistics from the training rows: ``text`` (n x d_t), ``image`` (n x d_i) or None when
        the table has no images, ``present`` (n bools, None = every image present)."""
        mode, strategy = self.mode, self.strategy
        text = _check_block("text_train", text)
        n = len(text)
        self.has_images_ = image is not None
        if self.has_images_:
            image = _check_block("image_train", image, n)
            present = _check_present("present_train", present, n)
        elif "3" in mode or "2" in mode or strategy in ("image", *_TWO_CHANNEL[1:]):
            raise ValueError(f"mode {mode!r} with strategy {strategy!r} needs image embeddings, but none were given")
        train_channels, test_channels = _FLAG_CHANNELS[mode[0]], _FLAG_CHANNELS[mode[1]]
        available = ("text", "image") if self.has_images_ else ("text",)
        channels = [c for c in available if c in train_channels or c in test_channels
                    or (self.keep_masked and strategy in _TWO_CHANNEL)]
        effective = strategy
        if strategy in ("text", "image") and strategy not in channels:
            raise ValueError(f"strategy {strategy!r} uses only the {strategy} channel, which mode {mode!r} masks on "
                             f"both train and test")
        if strategy in _TWO_CHANNEL and len(channels) == 1:
            effective = channels[0]
        if strategy in ("text", "image"):
            channels = [strategy]
        self.channels_, self.effective_ = channels, effective
        self.dims_ = {"text": int(text.shape[1]), "image": int(image.shape[1]) if self.has_images_ else None}

        # Norms before normalisation: the official adaptive fusion's norm confidence reads them.
        raw_norms = {"text": np.linalg.norm(text, axis=1)}
        blocks = {"text": (unit_rows(text), np.ones(n, bool))}
        if self.has_images_:
            raw_norms["image"] = np.linalg.norm(image, axis=1)
            blocks["image"] = (unit_rows(image), present)
        self.centroids_, training_present = {}, {}
        for channel in channels:
            values, channel_present = blocks[channel]
            if not channel_present.any():
                raise ValueError(f"no training row has a {channel} vector; cannot build the {channel} centroid")
            self.centroids_[channel] = _unit_vector(values[channel_present].mean(axis=0))
            training_present[channel] = values[channel_present]

        self.matrix_, self.common_width_, self.confidences_ = None, None, {}
        if effective in ("mean", "adaptive", "adaptive_margin"):
            self.matrix_, self.common_width_ = _width_map(self.dims_["text"], self.dims_["image"], self.seed)
            if effective != "mean":
                fit_text, fit_image = self._to_common("text", training_present["text"]), self._to_common(
                    "image", training_present["image"])
                if effective == "adaptive":
                    self.confidences_ = {"text": PrototypeNormConfidence.fit(fit_text, raw_norms["text"]),
                                         "image": PrototypeNormConfidence.fit(fit_image, raw_norms["image"][present])}
                else:
                    self.confidences_ = {"text": MarginConfidence.fit(fit_text, self.n_clusters, self.seed),
                                         "image": MarginConfidence.fit(fit_image, self.n_clusters, self.seed)}
        self.fitted_ = True
        return self

    def _to_common(self, channel: str, values: np.ndarray) -> np.ndarray:
        """``values`` of ``channel`` in the common width (the isometry applies to the narrower channel only)."""
        if self.common_width_ and self.common_width_["mapped"] == channel:
            return values @ self.matrix_
        return values

    def transform(self, text, image=None, present=None, *, side: str = "test") -> tuple[np.ndarray, dict]:
        """Router features (float32, unit rows) of the given rows and what was done to them, under the mode's
        ``"train"`` or ``"test"`` flag (``side``); ``image=None`` imputes every row's image by the centroid."""
        if not self.fitted_:
            raise RuntimeError("Fuser is not fitted; call fit(text_train, image_train, present_train) first")
        if side not in ("train", "test"):
            raise ValueError(f"side must be 'train' or 'test', got {side!r}")
        label = f"text_{side}"
        text = _check_block(label, text)
        n = len(text)
        if text.shape[1] != self.dims_["text"]:
            raise ValueError(f"{label} has width {text.shape[1]} but the fuser was fitted on text of width "
                             f"{self.dims_['text']}")
        flag_channels = _FLAG_CHANNELS[self.mode[0] if side == "train" else self.mode[1]]
        raw_norms = {"text": np.linalg.norm(text, axis=1)}
        blocks = {"text": (unit_rows(text), np.ones(n, bool))}
        if self.has_images_:
            if image is None:
                image, present = np.zeros((n, self.dims_["image"]), np.float32), np.zeros(n, bool)
            image = _check_block(f"image_{side}", image, n)
            if image.shape[1] != self.dims_["image"]:
                raise ValueError(f"image_{side} has width {image.shape[1]} but the fuser was fitted on images of "
                                 f"width {self.dims_['image']}")
            present = _check_present(f"present_{side}", present, n)
            raw_norms["image"] = np.linalg.norm(image, axis=1)
            blocks["image"] = (unit_rows(image), present)
        elif image is not None:
            raise ValueError("the fuser was fitted without images; give image=None")

        filled, used, channel_info = {}, {}, {}
        for channel in self.channels_:
            values, channel_present = blocks[channel]
            use = channel_present & (channel in flag_channels)
            filled[channel] = np.where(use[:, None], values, self.centroids_[channel])
            used[channel] = use
            channel_info[channel] = {"dim": int(values.shape[1]), "imputed": int((~use).sum())}
        info = {"channel_info": channel_info}
        if "image" in used:
            info["image_used"] = used["image"]

        effective = self.effective_
        if effective in ("text", "image"):
            x = filled[effective]
        elif effective == "concat":
            x = np.concatenate([filled["text"], filled["image"]], axis=1) * np.float32(1.0 / np.sqrt(2.0))
        else:
            t, i = self._to_common("text", filled["text"]), self._to_common("image", filled["image"])
            if effective == "mean":
                x = t + i
            elif effective == "adaptive":
                # A row whose channel was imputed has the centroid's norm (1), not its own.
                norms = {c: np.where(used[c], raw_norms[c], 1.0) for c in ("text", "image")}
                c_text = self.confidences_["text"].confidence(t, norms["text"])
                c_image = self.confidences_["image"].confidence(i, norms["image"])
                w_text, w_image = adaptive_weights(c_text, c_image, self.eta, used["text"], used["image"])
                x = w_text[:, None] * t + w_image[:, None] * i + 0.5 * (t * i) + 0.5 * np.abs(t - i)
                info["text_weight"] = w_text
            else:
                w_text = self.confidences_["text"].confidence(t) * used["text"]
                w_image = self.confidences_["image"].confidence(i) * used["image"]
                total = w_text + w_image
                neither = total <= 0
                w_text = np.where(neither, 0.5, w_text / np.where(neither, 1.0, total))[:, None]
                w_image = 1.0 - w_text
                x = np.concatenate([unit_rows(w_text * t + w_image * i), unit_rows(t * i), unit_rows(t - i)], axis=1)
                info["text_weight"] = w_text[:, 0]
        return unit_rows(x), info

    @property
    def text_dim(self) -> int | None:
        """Width of the text block of the features: all of them for text-only features, 0 for image-only, the text
        width for ``concat`` (what CMR splits at), None for the mixed strategies."""
        if self.effective_ == "text":
            return self.dims_["text"]
        if self.effective_ == "image":
            return 0
        if self.effective_ == "concat":
            return self.dims_["text"]
        return None

    def describe(self) -> dict:
        """The fitted settings as JSON-able values (what :func:`build_features` reports in its ``info``)."""
        info = {"mode": self.mode, "strategy": self.strategy, "effective_strategy": self.effective_,
                "channels": list(self.channels_), "seed": self.seed, "imputation": "training centroid of the channel",
                "keep_masked": self.keep_masked}
        if self.common_width_ is not None:
            info["common_width"] = dict(self.common_width_)
        return info

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(settings, arrays)``: JSON-able settings and the fitted arrays, enough for :meth:`from_state`."""
        if not self.fitted_:
            raise RuntimeError("Fuser is not fitted; nothing to save")
        arrays = {f"centroid/{c}": v for c, v in self.centroids_.items()}
        if self.matrix_ is not None:
            arrays["matrix"] = self.matrix_
        kinds = {}
        for channel, confidence in self.confidences_.items():
            kinds[channel] = type(confidence).__name__
            for name, value in vars(confidence).items():
                arrays[f"confidence/{channel}/{name}"] = np.asarray(value)
        settings = {"mode": self.mode, "strategy": self.strategy, "seed": self.seed, "n_clusters": self.n_clusters,
                    "eta": self.eta, "keep_masked": self.keep_masked, "has_images": self.has_images_,
                    "channels": list(self.channels_), "effective": self.effective_, "dims": self.dims_,
                    "common_width": self.common_width_, "confidences": kinds}
        return settings, arrays

    @classmethod
    def from_state(cls, settings: dict, arrays: dict[str, np.ndarray]) -> Fuser:
        """The fuser :meth:`state` described."""
        fuser = cls(settings["mode"], settings["strategy"], seed=settings["seed"], n_clusters=settings["n_clusters"],
                    eta=settings["eta"], keep_masked=bool(settings.get("keep_masked", False)))
        fuser.has_images_ = bool(settings["has_images"])
        fuser.channels_, fuser.effective_ = list(settings["channels"]), settings["effective"]
        fuser.dims_, fuser.common_width_ = dict(settings["dims"]), settings["common_width"]
        fuser.centroids_ = {c: arrays[f"centroid/{c}"] for c in fuser.channels_}
        fuser.matrix_ = arrays.get("matrix")
        kinds = {"PrototypeNormConfidence": PrototypeNormConfidence, "MarginConfidence": MarginConfidence}
        fuser.confidences_ = {}
        for channel, kind in settings["confidences"].items():
            if kind not in kinds:
                raise ValueError(f"unknown fusion confidence {kind!r} for the {channel} channel")
            prefix = f"confidence/{channel}/"
            fields = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            fuser.confidences_[channel] = kinds[kind](**{k: (v if v.ndim else float(v)) for k, v in fields.items()})
        fuser.fitted_ = True
        return fuser


def build_features(text_train, image_train, present_train, text_test, image_test, present_test, mode: str = "22",
                   strategy: str = "mean", *, seed: int = 0, n_clusters: int = 8, eta: float = ADAPTIVE_ETA,
                   keep_masked: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Router features ``(X_train, X_test, info)`` (float32, unit rows) for ``mode`` and ``strategy`` (paper Sec. 5):
    ``text`` / ``image``; ``mean`` (normalised average, the official default); ``concat`` (``[text | image] / sqrt(2)``,
    ``info["text_dim"]`` for CMR); ``adaptive`` (official ``kmeansnew``: ``w_t t + w_i i + 0.5 t*i + 0.5 |t - i|``,
    unit-normalised, :func:`adaptive_weights`); ``adaptive_margin`` (this project's: KMeans-margin weights, normalised
    blocks ``[weighted | t*i | t - i]``). ``keep_masked=True`` keeps a doubly masked channel as a constant block (CMR
    reads two tokens); ``image_*`` None: text only. ``info``: channels, widths, imputation counts,
    ``image_used_train/test``. Threads from :func:`mmr_utils._torch.configure_threads` (machine-independent k-means)."""
    from mmr_utils._torch import configure_threads

    configure_threads()
    mode = _check_mode_strategy(mode, strategy)
    text_train = _check_block("text_train", text_train)
    text_test = _check_block("text_test", text_test)
    if text_train.shape[1] != text_test.shape[1]:
        raise ValueError(f"text_train has width {text_train.shape[1]} but text_test {text_test.shape[1]}")
    if (image_train is None) != (image_test is None):
        raise ValueError("give both image_train and image_test, or neither")
    if image_train is not None:
        image_train = _check_block("image_train", image_train, len(text_train))
        image_test = _check_block("image_test", image_test, len(text_test))
        if image_train.shape[1] != image_test.shape[1]:
            raise ValueError(f"image_train has width {image_train.shape[1]} but image_test {image_test.shape[1]}")
    fuser = Fuser(mode, strategy, seed=seed, n_clusters=n_clusters, eta=eta, keep_masked=keep_masked).fit(
        text_train, image_train, present_train)
    x_train, train_info = fuser.transform(text_train, image_train, present_train, side="train")
    x_test, test_info = fuser.transform(text_test, image_test, present_test, side="test")
    info = fuser.describe()
    info["channel_info"] = {c: {"dim": train_info["channel_info"][c]["dim"],
                                "imputed_train": train_info["channel_info"][c]["imputed"],
                                "imputed_test": test_info["channel_info"][c]["imputed"]} for c in fuser.channels_}
    if "image_used" in train_info:
        info["image_used_train"], info["image_used_test"] = train_info["image_used"], test_info["image_used"]
    if fuser.effective_ == "adaptive":
        w_train, w_test = train_info["text_weight"], test_info["text_weight"]
        info["adaptive"] = {"variant": "official (prototype + norm confidence, softmax weights)", "eta": float(eta),
                            "mean_text_weight_train": float(w_train.mean()),
                            "mean_text_weight_test": float(w_test.mean()), "text_weight_train": w_train,
                            "text_weight_test": w_test, "terms": ["w_t t + w_i i", "0.5 t*i", "0.5 |t - i|"]}
    elif fuser.effective_ == "adaptive_margin":
        w_train, w_test = train_info["text_weight"], test_info["text_weight"]
        info["adaptive"] = {"variant": "kmeans margin (this project)",
                            "n_clusters": int(fuser.confidences_["text"].centroids.shape[0]),
                            "mean_text_weight_train": float(w_train.mean()),
                            "mean_text_weight_test": float(w_test.mean()),
                            "blocks": ["weighted", "product", "difference"]}
    if fuser.text_dim is not None:
        info["text_dim"] = fuser.text_dim
    info["dim"] = int(x_train.shape[1])
    return x_train, x_test, info


def _width_map(text_dim: int, image_dim: int, seed: int) -> tuple[np.ndarray | None, dict]:
    """The isometry mapping the narrower channel into the wider channel's width (None for equal widths)."""
    if text_dim == image_dim:
        return None, {"dim": int(text_dim), "mapped": None}
    if text_dim < image_dim:
        return isometric_embedding(text_dim, image_dim, seed), {"dim": int(image_dim), "mapped": "text", "seed": seed}
    return isometric_embedding(image_dim, text_dim, seed), {"dim": int(text_dim), "mapped": "image", "seed": seed}
