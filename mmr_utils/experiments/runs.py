"""One router on one split (paper Sec. 3 and 5.1): fused features -> fit on the training rows -> predict the test
rows -> the protocol of :mod:`mmr_utils.metrics.protocol`, on all test rows and per dataset; and the run cache.

- :func:`fit_predict` -> :class:`RouterRun` (U, P on the test rows, and what produced them). Its result is cached
  on disk (the *run cache*): a (features, router and its full parameters, mode, fusion, seed, split)
  combination is trained once across all notebooks and studies. Entries are data only (:mod:`mmr_utils.experiments.store`:
  JSON + ``.npz``, never pickle), keyed also by the package's code fingerprint; ``MMR_STUDY_CACHE=0`` turns the
  cache off. :func:`count_run_cache` counts hits and misses for a study's provenance.
- :func:`score_run` and :func:`reference_records`: metrics of a run, and of Random / Best Single / Oracle.

What a router needs (its fusion, the truth, both channels, epochs, the text width) is read from the router class's
capabilities (:mod:`mmr_utils.routers.base`), never from its name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import warnings
from dataclasses import dataclass

import numpy as np

from mmr_utils.data.splits import Split
from mmr_utils.features.bank import FeatureBank
from mmr_utils.features.fusion import build_features
from mmr_utils.routers import ROUTERS, make_router

#: The paper's learned routers (Sec. 5.1), in the order of its Table 2.
LEARNED_ROUTERS: tuple[str, ...] = ("knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp", "mlp_mf", "cmr")
#: Reference rows reported beside the routers.
REFERENCES: tuple[str, ...] = ("random", "best_single", "oracle")
#: The learned routers trained by epochs (their classes say ``neural = True``).
NEURAL_ROUTERS: tuple[str, ...] = tuple(name for name in LEARNED_ROUTERS if ROUTERS[name].neural)
METRICS = ("nAUC", "nAUC_shared", "Ps", "QNC")


# --------------------------------------------------------------------------- code fingerprint
#: The wings whose code computes results (data, features, routers, metrics, experiments, and the small helpers they
#: share). The report wing, the command line and the pipeline only present or wrap results, so editing them keeps
#: cached runs and study results.
RESULT_CODE = ("data", "features", "routers", "metrics", "experiments", "_arrays.py", "_io.py", "_torch.py",
               "_archive.py", "paths.py")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source files of :data:`RESULT_CODE`: any change to them invalidates cached runs and study results
    (computed once per process: a running kernel keeps the code it imported)."""
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
    """The run cache and the study cache are on unless ``MMR_STUDY_CACHE=0``."""
    return os.environ.get("MMR_STUDY_CACHE", "1") != "0"


# --------------------------------------------------------------------------- one router, one split
def epochs_for(name: str, neural_epochs: int | dict | None) -> int | None:
    """The training epochs a study gives neural router ``name``: ``neural_epochs`` itself when it is one number (every
    neural router), or its entry for ``name`` when it maps router names to epochs (``{"mlp": 25, "cmr": 100}``, as the
    parameter files set them from benchmarks/results/epochs_convergence.md); ``None`` (the router's own default, the
    official 100) when absent. A mapping that names an unknown or non-neural router is an error."""
    if not isinstance(neural_epochs, dict):
        return neural_epochs
    for key in neural_epochs:
        if key not in ROUTERS or not ROUTERS[key].neural:
            known = sorted(k for k, c in ROUTERS.items() if c.neural)
            raise ValueError(f"neural_epochs names {key!r}, which is not a neural router; expected some of {known}")
    return neural_epochs.get(name)


def _router_params(cls, router_params: dict | None, neural_epochs: int | dict | None, seed: int) -> dict:
    """Constructor parameters of router class ``cls``: the caller's, the study's epochs for a neural router (one
    number, or per router: :func:`epochs_for`), the seed (the oracle, which reads the truth, takes none).
    ``text_dim`` is added once the features are built."""
    params = dict((router_params or {}).get(cls.name, {}))
    epochs = epochs_for(cls.name, neural_epochs)
    if epochs is not None and cls.neural:
        params.setdefault("epochs", epochs)
    if not cls.uses_truth:
        params.setdefault("seed", seed)
    return params


def router_class(name: str):
    """The registered router class (its capabilities say what it needs: fusion, truth, channels, epochs)."""
    if name not in ROUTERS:
        make_router(name)  # raises the registry's error listing the known names
    return ROUTERS[name]


def _check_mode(bank: FeatureBank, mode: str) -> None:
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


#: Open run-cache counters (see :func:`count_run_cache`); every fit_predict call adds to each of them.
_COUNTERS: list[dict] = []


@contextlib.contextmanager
def count_run_cache():
    """Count run-cache hits and misses of the :func:`fit_predict` calls inside the ``with`` block::

        with count_run_cache() as counts:
            ...
        counts  # {"hits": h, "misses": m, "enabled": True}
    """
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
    """The run cache's entry name: router name and a hash of (package code, features, router name and full parameters,
    mode, fusion strategy, seed, split rows)."""
    key_text = json.dumps([code_fingerprint(), bank.fingerprint(), router, params, str(mode), fusion, seed,
                           _split_hash(split)], sort_keys=True, default=repr)
    return f"{router}-{hashlib.sha256(key_text.encode()).hexdigest()[:24]}"


def _run_store():
    from mmr_utils import paths
    from mmr_utils.experiments.store import ResultStore

    return ResultStore(paths.CACHE / "runs")


@dataclass
class _Job:
    """A run to train: its cache entry name, the router (unfitted), its training data and what finishing needs."""

    name: str
    router: object
    train: tuple
    X_test: np.ndarray
    test_truth: tuple
    split: Split
    info: dict


#: Runs trained by :func:`prefetch_runs` that the run cache does not hold (it is off), by entry name, until the
#: :func:`fit_predict` call they were trained for takes them.
_PREFETCHED: dict[str, RouterRun] = {}
#: Entry names :func:`prefetch_runs` wrote to the run cache: the fit_predict call reading one back counts no hit.
_PREFETCHED_SAVED: set[str] = set()


def router_fusion(cls, fusion: str, has_images: bool) -> dict:
    """The fusion arguments a router of class ``cls`` gets when ``fusion`` is asked for: its own strategy if it
    requires one (KMeans-adaptive, CMR), ``text`` when the table has no images, and ``keep_masked`` for routers that
    read both channels (CMR: a masked channel stays as a constant block, see :func:`mmr_utils.features.fusion.build_features`).
    One place for :func:`fit_predict`, :mod:`mmr_utils.pipeline` and :mod:`mmr_utils.experiments.beyond.shift`."""
    strategy = cls.fusion or fusion
    if not has_images and strategy != "text":
        strategy = "text"
    return {"strategy": strategy, "keep_masked": cls.needs_both_channels}


@dataclass(frozen=True)
class RunIdentity:
    """What identifies one run without building its features: the router class, its constructor parameters (before
    ``text_dim``, which follows from the features), the fusion arguments it runs with, and the run cache's entry name."""

    cls: type
    params: dict
    fusion_args: dict
    name: str


def run_identity(bank: FeatureBank, router: str, split: Split, *, mode: str = "22", fusion: str = "mean",
                 seed: int = 0, router_params: dict | None = None,
                 neural_epochs: int | dict | None = None) -> RunIdentity:
    """The identity of the run :func:`fit_predict` would train for these arguments (cheap: no features, no
    training); benchmarks that count a study's runs use it, so they can never disagree with the run cache."""
    _check_mode(bank, mode)
    cls = router_class(router)
    fusion_args = router_fusion(cls, fusion, bank.has_images)
    params = _router_params(cls, router_params, neural_epochs, seed)
    # text_dim is a function of the features (in the key), so the parameters before it identify the run.
    name = run_key(bank, router, cls(**params).get_params(), split, mode, fusion_args["strategy"], seed)
    return RunIdentity(cls, params, fusion_args, name)


def _prepare(bank: FeatureBank, router: str, split: Split, *, mode: str = "22", fusion: str = "mean", seed: int = 0,
             router_params: dict | None = None, neural_epochs: int | dict | None = None,
             count: bool = True) -> RouterRun | _Job:
    """The cached or prefetched run of these arguments, else the :class:`_Job` that trains it."""
    identity = run_identity(bank, router, split, mode=mode, fusion=fusion, seed=seed, router_params=router_params,
                            neural_epochs=neural_epochs)
    table = bank.table
    cls, fusion_args, name = identity.cls, identity.fusion_args, identity.name
    strategy = fusion_args["strategy"]
    params = dict(identity.params)
    unlearnable = table.unobserved_models(split.train)
    if unlearnable:
        raise ValueError(f"models {unlearnable} have no observed cell in the {len(split.train)} training rows, so "
                         f"{router} cannot learn them; drop them (OutcomeTable.select_models) or train on more rows")
    if name in _PREFETCHED:
        return _PREFETCHED.pop(name) if count else _PREFETCHED[name]
    if cache_enabled():
        saved = _valid_saved_run(_run_store().load(name), name, split, len(table.models))
        if saved is not None:
            if count:
                if name in _PREFETCHED_SAVED:
                    _PREFETCHED_SAVED.discard(name)
                else:
                    _count("hits")
            return RouterRun(router, saved["U"], saved["P"], saved["test"], saved["info"])
    if count and cache_enabled():
        _count("misses")
    blocks = bank.channels(split.train, split.test)
    X_train, X_test, finfo = build_features(*blocks, mode=mode, seed=seed, **fusion_args)
    if cls.needs_text_dim:
        params["text_dim"] = finfo.get("text_dim")
    if cls.needs_both_channels and (finfo.get("text_dim") is None or finfo["text_dim"] >= X_train.shape[1]):
        raise ValueError(f"{router} needs both channels in concat features; this table has text only")
    R = make_router(router, **params)
    Y, C = table.correct, table.cost
    info = {"router": router, "mode": mode, "fusion": strategy, "seed": seed, "features": finfo,
            "encoder": bank.encoder, "split": split.info}
    return _Job(name, R, (X_train, Y[split.train], C[split.train]), X_test, (Y[split.test], C[split.test]), split,
                info)


def _valid_saved_run(saved, name: str, split: Split, n_models: int) -> dict | None:
    """``saved`` (a run-cache entry) when it is a run of this split: ``test`` equal to the split's test rows, ``U`` and
    ``P`` arrays of shape (test rows, models), ``info`` a mapping; else None with a warning naming the entry (a
    miss: the run is recomputed and saved over it)."""
    if saved is None:
        return None
    expected = (len(split.test), n_models)
    problem = None
    if not isinstance(saved, dict) or not {"U", "P", "test", "info"} <= set(saved):
        problem = "it is not a saved run (U, P, test, info)"
    elif not isinstance(saved["test"], np.ndarray) or not np.array_equal(saved["test"], split.test):
        problem = f"its test rows differ from the split's {len(split.test)}"
    elif not isinstance(saved["info"], dict):
        problem = "its info is not a mapping"
    else:
        for key in ("U", "P"):
            value = saved[key]
            if not isinstance(value, np.ndarray) or value.shape != expected:
                shape = getattr(value, "shape", type(value).__name__)
                problem = f"{key} has shape {shape}, expected {expected} (test rows x models)"
                break
    if problem is None:
        return saved
    warnings.warn(f"run cache: entry {name} does not match its record ({problem}); recomputing it", stacklevel=3)
    return None


def _finish(job: _Job) -> RouterRun:
    """Predict the test rows with the fitted router of ``job`` and save the run in the run cache (when it is on)."""
    R, split = job.router, job.split
    if R.uses_truth:
        U, P = R.predict(job.X_test, Y=job.test_truth[0], C=job.test_truth[1])
    else:
        U, P = R.predict(job.X_test)
    info = {"router": job.info["router"], "params": R.get_params(), **{k: v for k, v in job.info.items()
                                                                       if k != "router"}}
    run = RouterRun(job.info["router"], U, P, split.test, info)
    if cache_enabled():
        _run_store().save(job.name, {"U": U, "P": P, "test": split.test, "info": info})
    return run


def fit_predict(bank: FeatureBank, router: str, split: Split, *, mode: str = "22", fusion: str = "mean",
                seed: int = 0, router_params: dict | None = None, neural_epochs: int | dict | None = None) -> RouterRun:
    """Build features for ``mode``/``fusion`` (the router's own fusion if it requires one), fit ``router`` on the
    training rows (missing cells masked) and predict utility and cost on the test rows.

    A run computed before with the same features, router parameters, mode, fusion, seed, split and package code is
    read back from the run cache (bit-identical ``U`` and ``P``) instead of being trained again; so is a run that
    :func:`prefetch_runs` trained ahead of this call."""
    job = _prepare(bank, router, split, mode=mode, fusion=fusion, seed=seed, router_params=router_params,
                   neural_epochs=neural_epochs)
    if isinstance(job, RouterRun):
        return job
    job.router.fit(*job.train)
    return _finish(job)


#: Environment variable naming how many worker processes :func:`prefetch_runs` trains in (default: the CPUs this
#: process may use). ``1`` trains in this process, as before workers existed.
WORKERS_ENV = "MMR_TRAIN_WORKERS"


def training_workers() -> int:
    """Worker processes for :func:`prefetch_runs`: ``MMR_TRAIN_WORKERS``, else the number of CPUs this process may run
    on. Each worker runs torch on :func:`mmr_utils._torch.configure_threads`'s threads (default one), so on CPU the
    workers, not torch's threads, are what uses the cores: a small network gains almost nothing from a second
    intra-op thread (benchmarks/results/speed.md) but trains two runs at once on two cores."""
    from mmr_utils._torch import positive_int_from_env, usable_cpus

    workers = positive_int_from_env(WORKERS_ENV, "processes that train routers")
    if workers is not None:
        return workers
    import torch

    if torch.cuda.is_available():
        return 1  # the routers train on the GPU (device "auto"); processes would only queue for it
    return usable_cpus()


#: Relative cost per row-epoch of a run that trains alone (CMR: 3.3 s against MLP's 0.17 s per epoch at 2,074 rows
#: on one thread, benchmarks/results/speed.md); batchable runs count 1.
_UNBATCHED_COST = 20.0
#: Least training work (row-epochs, weighted as in :func:`_work`) for which :func:`prefetch_runs` starts worker
#: processes when ``MMR_TRAIN_WORKERS`` is unset: about 20 s of one-thread MLP training. Starting a worker (a fresh
#: interpreter importing torch) takes seconds that smaller batches of runs, such as the notebooks' small defaults or a
#: cross-dataset pair at 5 epochs, would not win back. Setting the variable always uses that many workers.
MIN_PARALLEL_WORK = 250_000


def _work(unit: list[_Job]) -> float:
    """Estimated training work of a unit: rows x epochs per run, weighted for runs that train alone."""
    router = unit[0].router
    weight = 1.0 if router.batchable else _UNBATCHED_COST
    return weight * sum(job.train[0].shape[0] * getattr(job.router, "epochs", 1) for job in unit)


def _training_units(jobs: list[_Job], workers: int) -> list[list[_Job]]:
    """Split the jobs into units of work, largest first: each ensemble (batchable runs of one class that agree on
    everything but the seed and on their data's shapes) cut into at most ``workers`` near-equal chunks, and each
    other run alone. How runs are grouped never changes a result (each is bit-identical to training it alone)."""
    from mmr_utils.routers.neural import ensemble_key

    groups: dict[str, list[_Job]] = {}
    for index, job in enumerate(jobs):
        X, Y = job.train[0], job.train[1]
        key = ensemble_key(job.router, X.shape, Y.shape) if job.router.batchable else f"single-{index}"
        groups.setdefault(key, []).append(job)
    units = []
    for members in groups.values():
        chunks = min(workers, len(members))
        units += [members[i::chunks] for i in range(chunks)]
    return sorted(units, key=_work, reverse=True)


def _train_unit(routers: list, datasets: list) -> list:
    """Fit ``routers`` on ``datasets`` (in a worker process) and return them fitted."""
    from mmr_utils._torch import configure_threads

    configure_threads()
    return type(routers[0]).fit_many(routers, datasets)


#: The worker processes, started on first use and kept for the life of this process (a kernel runs many studies;
#: starting workers for each would cost more than small studies train): [(number of workers, executor)].
_POOL: list = []


def _worker_pool(workers: int):
    """The process pool of ``workers`` workers (spawned, so no worker inherits this process's threads or locks)."""
    import concurrent.futures
    import multiprocessing

    if _POOL and _POOL[0][0] == workers:
        return _POOL[0][1]
    shutdown_workers()
    executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    _POOL.append((workers, executor))
    return executor


def shutdown_workers() -> None:
    """Stop the training workers, if any; the next :func:`prefetch_runs` that needs them starts fresh ones."""
    while _POOL:
        _POOL.pop()[1].shutdown()


def _train_jobs(jobs: list[_Job], workers: int, *, forced: bool = False) -> None:
    """Fit every job's router: in this process when one worker is asked for, when there is one unit of work, or (unless
    ``forced``, i.e. the worker count was set explicitly) when the work is below :data:`MIN_PARALLEL_WORK`; else in
    the worker pool."""
    units = _training_units(jobs, workers)
    if workers == 1 or len(units) == 1 or (not forced and sum(map(_work, units)) < MIN_PARALLEL_WORK):
        for unit in _training_units(jobs, 1):  # whole ensembles: cheapest in one process
            _train_unit([job.router for job in unit], [job.train for job in unit])
        return
    import concurrent.futures

    pool = _worker_pool(workers)
    futures = [pool.submit(_train_unit, [job.router for job in unit], [job.train for job in unit]) for unit in units]
    try:
        for unit, future in zip(units, futures):
            for job, fitted in zip(unit, future.result(), strict=True):
                job.router = fitted
    except concurrent.futures.process.BrokenProcessPool:
        _POOL.clear()  # a worker died (e.g. out of memory): the next call starts a fresh pool
        raise


def prefetch_runs(requests) -> int:
    """Train ahead the neural runs among ``requests`` (each a dict of :func:`fit_predict`'s arguments) that are
    neither cached nor already prefetched; the later :func:`fit_predict` calls with the same arguments read them back
    (from the run cache, or from memory when it is off). Returns the number trained.

    Two savings, neither of which changes a result: runs of a batchable router (MLP, MLPMF) that agree on everything
    but the seed, and whose features have the same shape (typically a study's seeds), train as one batched ensemble,
    each member bit-identical to training it alone (``Router.fit_many``), since a small network's training step is
    mostly fixed overhead that an ensemble shares; and the units of work (ensemble chunks, other neural runs such as
    CMR) train in :func:`training_workers` processes at once, each on one torch thread by default
    (benchmarks/results/speed.md). Predictions are made here, after training, as for a run trained in place."""
    jobs: dict[str, _Job] = {}
    for request in requests:
        if not router_class(request["router"]).neural:
            continue
        job = _prepare(**request, count=False)
        if isinstance(job, _Job):
            jobs.setdefault(job.name, job)
    if not jobs:
        return 0
    _train_jobs(list(jobs.values()), training_workers(), forced=WORKERS_ENV in os.environ)
    for job in jobs.values():
        run = _finish(job)
        if cache_enabled():
            _count("misses")
            _PREFETCHED_SAVED.add(job.name)
        else:
            _PREFETCHED[job.name] = run
    return len(jobs)
