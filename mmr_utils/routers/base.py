"""The router interface (paper Sec. 3: query features -> per-model utility ``U`` and cost ``P``), the registry of the
paper's baselines (Sec. 5.1) and the reference routers Random / Oracle / BestSingle. Contract (:class:`Router`):
``fit(X, Y, C, mask=None)`` on fused features (n x d), correctness and USD cost (n x K), from observed cells only
(``mask``, default the finite ones; never filled in); ``predict(X) -> (U, P)``, finite; ``save(path)`` /
:func:`load_router`, one pickle-free ``.npz`` (a round trip predicts the same); ``get_params()``; class attributes
``name`` (registry key) and the capabilities callers read instead of testing names."""

from __future__ import annotations

import inspect
import io
import json
import os
from pathlib import Path
from typing import ClassVar

import numpy as np

from mmr_utils._io import atomic_open

#: Identifies the file layout written by :meth:`Router.save`.
FORMAT = "mmr_utils.router/1"

#: Registry: router name -> class. Filled by :func:`register`; see :func:`make_router`.
ROUTERS: dict[str, type[Router]] = {}


class NotFittedError(RuntimeError):
    """Raised when ``predict``/``save`` is called on a router that has not been fitted."""


def register(cls: type[Router]) -> type[Router]:
    """Class decorator adding ``cls`` to :data:`ROUTERS` under ``cls.name``."""
    if cls.name in ROUTERS and ROUTERS[cls.name] is not cls:
        raise ValueError(f"router name {cls.name!r} is already registered by {ROUTERS[cls.name].__name__}")
    ROUTERS[cls.name] = cls
    return cls


def make_router(name: str, **params) -> Router:
    """Construct the router registered as ``name`` with constructor parameters ``params``."""
    if name not in ROUTERS:
        raise ValueError(f"unknown router {name!r}; known routers: {', '.join(sorted(ROUTERS))}")
    return ROUTERS[name](**params)


def _check_features(X, expected_dim: int | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D (n x d) feature array, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must be a real numeric array, got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"X contains NaN/inf ({int(bad.sum())} cells, first at row {row}, column {col})")
    if expected_dim is not None and X.shape[1] != expected_dim:
        raise ValueError(f"X has {X.shape[1]} feature columns but the router was fitted on {expected_dim}")
    return X


def check_outcomes(X, Y, C, mask=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The validated ``(X, Y, C, mask)``; unobserved ``Y`` and ``C`` cells are 0 (so masked sums stay finite)."""
    X = _check_features(X)
    n = X.shape[0]
    arrays = {}
    for label, array in (("Y", Y), ("C", C)):
        array = np.asarray(array, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != n:
            raise ValueError(f"{label} must be an (n x K) array with n = {n} rows like X, got shape {array.shape}")
        arrays[label] = array
    Y, C = arrays["Y"], arrays["C"]
    if Y.shape != C.shape:
        raise ValueError(f"Y and C must have the same shape, got {Y.shape} and {C.shape}")
    if Y.shape[1] == 0:
        raise ValueError("Y and C must have at least one model column")
    if mask is None:
        mask = np.isfinite(Y) & np.isfinite(C)
    else:
        mask = np.asarray(mask)
        if mask.shape != Y.shape:
            raise ValueError(f"mask must have the shape of Y {Y.shape}, got {mask.shape}")
        if mask.dtype != bool:
            raise ValueError(f"mask must be a boolean array (True = observed), got dtype {mask.dtype}")
        for label, array in (("Y", Y), ("C", C)):
            bad = mask & ~np.isfinite(array)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise ValueError(f"{label} is NaN/inf at row {row}, model column {col}, which mask marks as observed")
    bad_y = mask & ((Y < 0) | (Y > 1))
    if bad_y.any():
        row, col = np.argwhere(bad_y)[0]
        raise ValueError(f"Y must be a correctness in [0, 1]; got {Y[row, col]!r} at row {row}, model column {col}")
    bad_c = mask & (C < 0)
    if bad_c.any():
        row, col = np.argwhere(bad_c)[0]
        raise ValueError(f"C must be a non-negative cost in USD; got {C[row, col]!r} at row {row}, model column {col}")
    empty = np.flatnonzero(~mask.any(axis=0))
    if empty.size:
        raise ValueError(f"model columns {empty.tolist()} have no observed training cell; cannot learn them")
    return X, np.where(mask, Y, 0.0), np.where(mask, C, 0.0), mask


def masked_column_means(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-model mean of ``values`` over observed cells (every column must have one)."""
    return (values * mask).sum(axis=0) / mask.sum(axis=0)


class Router:
    """Base class of all routers; subclasses implement ``_fit``, ``_predict``, ``_get_state`` and ``_set_state``, and
    store keyword-only constructor parameters under attributes of the same name (for :meth:`get_params`)."""

    name: ClassVar[str] = ""
    #: The fusion strategy the router requires (None: any, the caller's choice).
    fusion: ClassVar[str | None] = None
    #: How result tables name the fusion when the router fuses the channels itself (None: the fusion strategy).
    fusion_label: ClassVar[str | None] = None
    #: ``predict(X, Y=..., C=...)`` reads the true test outcomes (the oracle); no seed, cannot route new queries.
    uses_truth: ClassVar[bool] = False
    #: The features must carry both channels (train and test), e.g. to attend across them.
    needs_both_channels: ClassVar[bool] = False
    #: The constructor takes ``text_dim``: where the text block of concat features ends.
    needs_text_dim: ClassVar[bool] = False
    #: Trained by epochs (the constructor takes ``epochs``), so studies may shorten training with ``neural_epochs``.
    neural: ClassVar[bool] = False
    #: Instances equal but for ``seed`` train as one batched ensemble, bit-identical to each alone (:meth:`fit_many`).
    batchable: ClassVar[bool] = False

    def __init__(self, *, seed: int = 0):
        self.seed = seed

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self) -> dict:
        """The constructor parameters (JSON-serialisable), e.g. for a result file."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "n_models_", None) is not None

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, Y, C) first")

    def fit(self, X, Y, C, mask=None) -> Router:
        """Learn from the observed cells of ``Y`` (correctness) and ``C`` (cost) given features ``X``."""
        X, Y, C, mask = check_outcomes(X, Y, C, mask)
        self.n_features_ = X.shape[1]
        self.n_models_ = Y.shape[1]
        self._fit(X, Y, C, mask)
        return self

    @classmethod
    def fit_many(cls, routers, datasets) -> list[Router]:
        """Fit each of ``routers`` on its ``(X, Y, C[, mask])`` in ``datasets`` (batchable routers train together)."""
        return [router.fit(*data) for router, data in zip(routers, datasets, strict=True)]

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Predicted utility ``U`` and cost ``P`` (both n x K, finite float64) for the queries ``X``."""
        self._require_fitted()
        X = _check_features(X, self.n_features_)
        U, P = self._predict(X)
        U = np.asarray(U, dtype=np.float64)
        P = np.asarray(P, dtype=np.float64)
        expected = (X.shape[0], self.n_models_)
        if U.shape != expected or P.shape != expected:
            raise RuntimeError(f"{type(self).__name__} predicted shapes {U.shape}, {P.shape}; expected {expected}")
        if not (np.isfinite(U).all() and np.isfinite(P).all()):
            raise RuntimeError(f"{type(self).__name__} produced non-finite predictions")
        return U, P

    def _fit(self, X: np.ndarray, Y: np.ndarray, C: np.ndarray, mask: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _get_state(self) -> dict[str, np.ndarray]:
        """Fitted arrays to save (names without '/' prefix conflicts; values numpy arrays)."""
        raise NotImplementedError

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _extra_meta(self) -> dict:
        """JSON-serialisable fitted facts besides arrays (e.g. the device a network was trained on)."""
        return {}

    def _set_extra_meta(self, meta: dict) -> None:
        pass

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted router to ``path`` (one ``.npz`` file, atomically) and return the path."""
        self._require_fitted()
        meta = {
            "format": FORMAT,
            "class": type(self).__name__,
            "name": self.name,
            "params": self.get_params(),
            "seed": self.seed,
            "n_features": int(self.n_features_),
            "n_models": int(self.n_models_),
            "extra": self._extra_meta(),
        }
        arrays = {f"state/{key}": np.asarray(value) for key, value in self._get_state().items()}
        buffer = io.BytesIO()
        np.savez(buffer, __meta__=np.array(json.dumps(meta)), **arrays)
        path = Path(path)
        with atomic_open(path, "wb") as handle:
            handle.write(buffer.getvalue())
        return path


def load_router(path: str | os.PathLike) -> Router:
    """Read a router written by :meth:`Router.save`, as an instance of the class that wrote it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"router file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["__meta__"]))
            arrays = {key[len("state/"):]: archive[key] for key in archive.files if key.startswith("state/")}
    except (ValueError, KeyError, OSError) as error:
        raise ValueError(f"{path} is not a router file written by Router.save ({error})") from error
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown router file format {meta.get('format')!r}, expected {FORMAT!r}")
    cls = ROUTERS.get(meta["name"])
    if cls is None or cls.__name__ != meta["class"]:
        raise ValueError(f"{path}: router {meta['name']!r} / class {meta['class']!r} is not registered here")
    router = cls(**meta["params"])
    router.n_features_ = meta["n_features"]
    router.n_models_ = meta["n_models"]
    router._set_extra_meta(meta.get("extra", {}))
    router._set_state(arrays)
    return router


@register
class RandomRouter(Router):
    """Random routing (paper Sec. 5.1): ``U`` i.i.d. uniform (``default_rng(seed)``), ``P`` mean training costs."""

    name = "random"

    def _fit(self, X, Y, C, mask):
        self.mean_cost_ = masked_column_means(C, mask)

    def _predict(self, X):
        rng = np.random.default_rng(self.seed)
        U = rng.uniform(size=(X.shape[0], self.n_models_))
        return U, np.broadcast_to(self.mean_cost_, U.shape).copy()

    def _get_state(self):
        return {"mean_cost": self.mean_cost_}

    def _set_state(self, arrays):
        self.mean_cost_ = arrays["mean_cost"]


@register
class OracleRouter(Router):
    """The oracle (paper Sec. 5.1): ``U = Y`` and ``P = C`` of the true test outcomes (``predict(X, Y=..., C=...)``),
    so the cheapest correct model; a missing cell gets ``U = -1`` and the row's largest observed cost."""

    name = "oracle"
    uses_truth = True

    def fit(self, X, Y, C, mask=None) -> OracleRouter:
        """No learning: checks the arrays and records ``n_features_`` and ``n_models_``."""
        return super().fit(X, Y, C, mask)

    def _fit(self, X, Y, C, mask):
        pass

    def predict(self, X, Y=None, C=None) -> tuple[np.ndarray, np.ndarray]:
        if Y is None or C is None:
            raise ValueError("OracleRouter.predict needs the true test outcomes: predict(X, Y=..., C=...)")
        X = _check_features(X)
        Y = np.asarray(Y, dtype=np.float64)
        C = np.asarray(C, dtype=np.float64)
        if Y.ndim != 2 or Y.shape != C.shape or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Y {Y.shape} and C {C.shape} must both be (n x K) with n = {X.shape[0]} rows like X")
        if self.is_fitted and Y.shape[1] != self.n_models_:
            raise ValueError(f"Y has {Y.shape[1]} model columns, the oracle was fitted on {self.n_models_}")
        observed = np.isfinite(Y) & np.isfinite(C)
        if (observed & (C < 0)).any():
            raise ValueError("C must be non-negative")
        U = np.where(observed, Y, -1.0)
        row_max = np.max(np.where(observed, C, -np.inf), axis=1, keepdims=True)
        fallback = np.where(np.isfinite(row_max), row_max, np.max(C[observed], initial=0.0))
        P = np.where(observed, C, fallback)
        return U, P

    def _get_state(self):
        return {}

    def _set_state(self, arrays):
        pass


@register
class BestSingleRouter(Router):
    """The best single model (paper Sec. 5.1): ``U`` indicates the most accurate model in training (ties: cheaper,
    then lower index), ``P`` each model's mean training cost."""

    name = "best_single"

    def _fit(self, X, Y, C, mask):
        accuracy = masked_column_means(Y, mask)
        self.mean_cost_ = masked_column_means(C, mask)
        order = np.lexsort((np.arange(self.n_models_), self.mean_cost_, -accuracy))
        self.best_model_ = int(order[0])
        self.train_accuracy_ = accuracy

    def _predict(self, X):
        U = np.zeros((X.shape[0], self.n_models_))
        U[:, self.best_model_] = 1.0
        return U, np.broadcast_to(self.mean_cost_, U.shape).copy()

    def _get_state(self):
        return {"mean_cost": self.mean_cost_, "best_model": np.array(self.best_model_),
                "train_accuracy": self.train_accuracy_}

    def _set_state(self, arrays):
        self.mean_cost_ = arrays["mean_cost"]
        self.best_model_ = int(arrays["best_model"])
        self.train_accuracy_ = arrays["train_accuracy"]
