"""One router on one split (paper Sec. 3 and 5.1): fused features -> fit on training rows -> predict test rows
(:func:`fit_predict`) under a study's :class:`RunConfig`. Each (features, router and parameters, mode, fusion, seed,
split, package code) is trained once; the run cache (:mod:`mmr_utils.experiments.run_cache`, off with
``MMR_RUN_CACHE=0``) reads it back bit-identical. Router needs come from class capabilities, never names."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from mmr_utils.data.splits import Split
from mmr_utils.experiments.run_cache import as_json, load_run, save_run
from mmr_utils.features.bank import FeatureBank
from mmr_utils.features.fusion import build_features
from mmr_utils.routers.base import ROUTERS, make_router

#: The paper's learned routers (Sec. 5.1), in the order of its Table 2.
LEARNED_ROUTERS: tuple[str, ...] = ("knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp", "mlp_mf", "cmr")
#: Reference rows reported beside the routers.
REFERENCES: tuple[str, ...] = ("random", "best_single", "oracle")
#: The learned routers trained by epochs (their classes say ``neural = True``).
NEURAL_ROUTERS: tuple[str, ...] = tuple(name for name in LEARNED_ROUTERS if ROUTERS[name].neural)
METRICS = ("nAUC", "nAUC_shared", "Ps", "QNC")


@dataclass(frozen=True)
class RunConfig:
    """The settings every run of a study shares (paper Sec. 5.1): training fraction, seeds (one split and router seed
    each), mode (``"22"`` text+image, ``"11"`` text, ``"33"`` image, ``"21"`` both, tested without image), fusion, and
    constructor parameters by router name (``{"mlp": {"epochs": 100}}``; default: the official settings)."""

    train_fraction: float = 0.2
    seeds: tuple[int, ...] = (0,)
    mode: str = "22"
    fusion: str = "mean"
    router_params: dict = field(default_factory=dict)

    def __post_init__(self):
        if not 0 < float(self.train_fraction) < 1:
            raise ValueError(f"RunConfig.train_fraction {self.train_fraction!r}: expected a number in (0, 1)")
        seeds = (self.seeds,) if isinstance(self.seeds, int) else tuple(self.seeds)
        if not seeds or not all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in seeds):
            raise ValueError(f"RunConfig.seeds {self.seeds!r}: expected one or more integers")
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        object.__setattr__(self, "mode", str(self.mode))
        params = dict(self.router_params or {})
        for name, value in params.items():
            if name not in ROUTERS:
                raise ValueError(f"RunConfig.router_params names {name!r}, which is not a router; expected some of "
                                 f"{sorted(ROUTERS)}")
            if not isinstance(value, dict):
                raise ValueError(f"RunConfig.router_params[{name!r}] is {value!r}: expected a mapping of constructor "
                                 f"parameters, e.g. {{'epochs': 100}}")
        object.__setattr__(self, "router_params", params)

    def replace(self, **changes) -> RunConfig:
        """A copy with ``changes`` (e.g. ``config.replace(mode="11")``)."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict:
        """The configuration as plain JSON values, for provenance."""
        return as_json(dataclasses.asdict(self))


#: The wings whose code computes results (editing the report wing, command line or pipeline keeps cached runs).
RESULT_CODE = ("data", "features", "routers", "metrics", "experiments", "_arrays.py", "_io.py", "_torch.py",
               "_archive.py", "paths.py")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source files of :data:`RESULT_CODE`, once per process (a kernel keeps the code it imported)."""
    from pathlib import Path

    package = Path(__file__).parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] not in RESULT_CODE:
            continue
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_enabled() -> bool:
    """The run cache is on unless ``MMR_RUN_CACHE=0``."""
    return os.environ.get("MMR_RUN_CACHE", "1") != "0"


def router_class(name: str):
    """The registered router class (its capabilities say what it needs: fusion, truth, channels, epochs)."""
    if name not in ROUTERS:
        make_router(name)  # raises the registry's error listing the known names
    return ROUTERS[name]


def router_params(cls, config: RunConfig, seed: int) -> dict:
    """Constructor parameters of router class ``cls``: the configuration's, and the seed unless it reads the truth."""
    params = dict(config.router_params.get(cls.name, {}))
    if not cls.uses_truth:
        params.setdefault("seed", seed)
    return params


def check_mode(bank: FeatureBank, mode: str) -> None:
    """Refuse a mode that reads the image channel of a table without images."""
    if not bank.has_images and any(flag in "23" for flag in str(mode)):
        raise ValueError(
            f"mode {mode} uses the image channel, but this table has no images ({bank.table.source.get('images')}); "
            f"only mode 11 (text) makes sense for a text-only table"
        )


@dataclass
class RouterRun:
    """A fitted router's predictions on the test rows of a split, and what produced them."""

    router: str
    U: np.ndarray
    P: np.ndarray
    test: np.ndarray
    info: dict


def _split_hash(split: Split) -> str:
    digest = hashlib.sha256()
    for rows in (split.train, split.test):
        digest.update(np.asarray(rows, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


#: Open counters of :func:`count_run_cache`; every run that is trained or read back adds to each of them.
_COUNTERS: list[dict] = []


@contextlib.contextmanager
def count_run_cache():
    """Count the runs read back from the run cache (hits) and trained into it (misses) inside the ``with`` block:
    ``with count_run_cache() as counts: ...`` leaves ``{"hits": h, "misses": m, "enabled": True}``."""
    counts = {"hits": 0, "misses": 0, "enabled": cache_enabled()}
    _COUNTERS.append(counts)
    try:
        yield counts
    finally:
        _COUNTERS.remove(counts)


def _count(kind: str) -> None:
    for counts in _COUNTERS:
        counts[kind] += 1


def run_key(bank: FeatureBank, router: str, params: dict, split: Split, mode: str, fusion: str, seed: int) -> str:
    """The run cache's entry name: the router and a hash of code, features, parameters, mode, fusion, seed, split."""
    key_text = json.dumps([code_fingerprint(), bank.fingerprint(), router, params, str(mode), fusion, seed,
                           _split_hash(split)], sort_keys=True, default=repr)
    return f"{router}-{hashlib.sha256(key_text.encode()).hexdigest()[:24]}"


@dataclass
class TrainingJob:
    """A run to train: its cache entry name, the router (unfitted), its training data and what finishing needs."""

    name: str
    router: object
    train: tuple
    X_test: np.ndarray
    test_truth: tuple
    split: Split
    info: dict


#: Runs trained ahead while the run cache is off, by entry name, until their :func:`fit_predict` call takes them.
_PREFETCHED: dict[str, RouterRun] = {}
#: Entry names trained ahead and saved: reading one back is not a reuse.
_PREFETCHED_SAVED: set[str] = set()


def router_fusion(cls, fusion: str, has_images: bool) -> dict:
    """The fusion arguments of router class ``cls`` when ``fusion`` is asked for: its own strategy if it requires one,
    ``text`` without images, and ``keep_masked`` for routers that read both channels (CMR)."""
    strategy = cls.fusion or fusion
    if not has_images and strategy != "text":
        strategy = "text"
    return {"strategy": strategy, "keep_masked": cls.needs_both_channels}


@dataclass(frozen=True)
class RunIdentity:
    """A run's identity without its features: class, parameters (before ``text_dim``), fusion arguments, cache name."""

    cls: type
    params: dict
    fusion_args: dict
    name: str


def run_identity(bank: FeatureBank, router: str, split: Split, config: RunConfig, seed: int) -> RunIdentity:
    """The identity of the run :func:`fit_predict` would train, without features or training."""
    check_mode(bank, config.mode)
    cls = router_class(router)
    fusion_args = router_fusion(cls, config.fusion, bank.has_images)
    params = router_params(cls, config, seed)
    # text_dim is a function of the features (in the key), so the parameters before it identify the run.
    name = run_key(bank, router, cls(**params).get_params(), split, config.mode, fusion_args["strategy"], seed)
    return RunIdentity(cls, params, fusion_args, name)


def prepare_run(bank: FeatureBank, router: str, split: Split, config: RunConfig, seed: int, *,
             count: bool = True) -> RouterRun | TrainingJob:
    """The cached or prefetched run of these arguments, else the :class:`TrainingJob` that trains it."""
    identity = run_identity(bank, router, split, config, seed)
    table = bank.table
    cls, fusion_args, name = identity.cls, identity.fusion_args, identity.name
    params = dict(identity.params)
    unlearnable = table.unobserved_models(split.train)
    if unlearnable:
        raise ValueError(f"models {unlearnable} have no observed cell in the {len(split.train)} training rows, so "
                         f"{router} cannot learn them; drop them (OutcomeTable.select_models) or train on more rows")
    if name in _PREFETCHED:
        return _PREFETCHED.pop(name) if count else _PREFETCHED[name]
    if cache_enabled():
        saved = _valid_saved_run(load_run(name), name, split, len(table.models))
        if saved is not None:
            if count and name in _PREFETCHED_SAVED:
                _PREFETCHED_SAVED.discard(name)
            elif count:
                _count("hits")
            return RouterRun(router, saved["U"], saved["P"], saved["test"], saved["info"])
    if count and cache_enabled():
        _count("misses")
    X_train, X_test, finfo = build_features(*bank.channels(split.train, split.test), mode=config.mode, seed=seed,
                                            **fusion_args)
    if cls.needs_text_dim:
        params["text_dim"] = finfo.get("text_dim")
    if cls.needs_both_channels and (finfo.get("text_dim") is None or finfo["text_dim"] >= X_train.shape[1]):
        raise ValueError(f"{router} needs both channels in concat features; this table has text only")
    Y, C = table.correct, table.cost
    info = {"router": router, "mode": config.mode, "fusion": fusion_args["strategy"], "seed": seed,
            "features": _without_row_arrays(finfo), "encoder": bank.encoder, "split": split.info}
    return TrainingJob(name, make_router(router, **params), (X_train, Y[split.train], C[split.train]), X_test,
                (Y[split.test], C[split.test]), split, info)


def _without_row_arrays(info: dict) -> dict:
    """The features' description without its per-row arrays (image used, adaptive weights)."""
    return {k: _without_row_arrays(v) if isinstance(v, dict) else v for k, v in info.items()
            if not isinstance(v, np.ndarray)}


def _valid_saved_run(saved, name: str, split: Split, n_models: int) -> dict | None:
    """``saved`` if it is a run of this split (same test rows, ``U``, ``P`` test rows x models); else None, warning."""
    if saved is None:
        return None
    expected = (len(split.test), n_models)
    problem = None
    if not np.array_equal(saved["test"], split.test):
        problem = f"its test rows differ from the split's {len(split.test)}"
    else:
        for key in ("U", "P"):
            if saved[key].shape != expected:
                problem = f"{key} has shape {saved[key].shape}, expected {expected} (test rows x models)"
                break
    if problem is None:
        return saved
    warnings.warn(f"run cache: entry {name} does not match its record ({problem}); training it again", stacklevel=3)
    return None


def finish_run(job: TrainingJob) -> RouterRun:
    """Predict the test rows with the fitted router of ``job`` and save the run in the run cache (when it is on)."""
    R, split = job.router, job.split
    if R.uses_truth:
        U, P = R.predict(job.X_test, Y=job.test_truth[0], C=job.test_truth[1])
    else:
        U, P = R.predict(job.X_test)
    info = as_json({"router": job.info["router"], "params": R.get_params(),
                    **{k: v for k, v in job.info.items() if k != "router"}})
    if cache_enabled():
        save_run(job.name, U, P, split.test, info)
    return RouterRun(job.info["router"], U, P, split.test, info)


def fit_predict(bank: FeatureBank, router: str, split: Split, config: RunConfig | None = None, *,
                seed: int | None = None) -> RouterRun:
    """Build features for the configuration's mode and fusion, fit ``router`` on the training rows (missing cells
    masked) and predict utility and cost on the test rows; ``seed`` (default: the configuration's first) seeds the
    features and the router. A run cached or trained ahead (:mod:`~mmr_utils.experiments.training`) is read back."""
    config = config or RunConfig()
    job = prepare_run(bank, router, split, config, config.seeds[0] if seed is None else seed)
    if isinstance(job, RouterRun):
        return job
    job.router.fit(*job.train)
    return finish_run(job)


def hand_over(job: TrainingJob) -> RouterRun:
    """Finish a run trained ahead of its :func:`fit_predict`: saved in the run cache (trained), or in memory if off."""
    run = finish_run(job)
    if cache_enabled():
        _count("misses")
        _PREFETCHED_SAVED.add(job.name)
    else:
        _PREFETCHED[job.name] = run
    return run
