"""Training a study's neural runs ahead of its :func:`mmr_utils.experiments.runs.fit_predict` calls, the one use of
several cores: runs differing only in seed train as one batched ensemble, units of work in worker processes (one torch
thread each). Neither changes a result (benchmarks/results/ensemble.md, workers.md)."""

from __future__ import annotations

import os

from mmr_utils.experiments.runs import TrainingJob, hand_over, prepare_run, router_class

#: Environment variable naming how many worker processes :func:`prefetch_runs` trains in; ``1``: this process.
WORKERS_ENV = "MMR_TRAIN_WORKERS"


def training_workers() -> int:
    """Worker processes for :func:`prefetch_runs`: ``MMR_TRAIN_WORKERS``, else the usable CPUs (one on CUDA); each runs
    torch on one thread by default (:func:`mmr_utils._torch.configure_threads`), so the workers use the cores."""
    from mmr_utils._torch import positive_int_from_env, usable_cpus

    workers = positive_int_from_env(WORKERS_ENV, "processes that train routers")
    if workers is not None:
        return workers
    import torch

    if torch.cuda.is_available():
        return 1  # the routers train on the GPU (device "auto"); processes would only queue for it
    return usable_cpus()


#: Relative cost per row-epoch of a run that trains alone (CMR against MLP); batchable runs count 1.
_UNBATCHED_COST = 20.0
#: Least training work (weighted row-epochs, :func:`_work`; about 20 s of one-thread MLP training) for which
#: :func:`prefetch_runs` starts worker processes when ``MMR_TRAIN_WORKERS`` is unset: starting one takes seconds.
MIN_PARALLEL_WORK = 250_000


def _work(unit: list[TrainingJob]) -> float:
    """Estimated training work of a unit: rows x epochs per run, weighted for runs that train alone."""
    router = unit[0].router
    weight = 1.0 if router.batchable else _UNBATCHED_COST
    return weight * sum(job.train[0].shape[0] * getattr(job.router, "epochs", 1) for job in unit)


def _training_units(jobs: list[TrainingJob], workers: int) -> list[list[TrainingJob]]:
    """Units of work, largest first: each ensemble (batchable runs agreeing on everything but the seed and on their
    data's shapes) cut into at most ``workers`` near-equal chunks, and each other run alone."""
    from mmr_utils.routers.neural import ensemble_key

    groups: dict[str, list[TrainingJob]] = {}
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


#: The worker processes, started on first use and kept for the life of this process: [(workers, executor)].
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


def _train_jobs(jobs: list[TrainingJob], workers: int, *, forced: bool = False) -> None:
    """Fit every job's router in the worker pool, or in this process for one worker, one unit of work, or (unless
    ``forced``: the count was set explicitly) less work than :data:`MIN_PARALLEL_WORK`."""
    from mmr_utils._progress import progress

    units = _training_units(jobs, workers)
    if workers == 1 or len(units) == 1 or (not forced and sum(map(_work, units)) < MIN_PARALLEL_WORK):
        whole = _training_units(jobs, 1)  # whole ensembles: cheapest in one process
        for unit in progress(whole, desc=f"training {len(jobs)} neural runs", unit="group"):
            _train_unit([job.router for job in unit], [job.train for job in unit])
        return
    import concurrent.futures

    pool = _worker_pool(workers)
    futures = [pool.submit(_train_unit, [job.router for job in unit], [job.train for job in unit]) for unit in units]
    try:
        done = progress(zip(units, futures), desc=f"training {len(jobs)} neural runs in {workers} processes",
                        total=len(units), unit="group")
        for unit, future in done:
            for job, fitted in zip(unit, future.result(), strict=True):
                job.router = fitted
    except concurrent.futures.process.BrokenProcessPool:
        _POOL.clear()  # a worker died (e.g. out of memory): the next call starts a fresh pool
        raise


def prefetch_runs(requests) -> int:
    """Train ahead the neural runs among ``requests`` (tuples of :func:`fit_predict`'s arguments) that are neither
    cached nor prefetched, for the later :func:`fit_predict` calls to read back (batched and in
    :func:`training_workers` processes, as the module docstring says); returns the number trained."""
    jobs: dict[str, TrainingJob] = {}
    for request in requests:
        if not router_class(request[1]).neural:
            continue
        job = prepare_run(*request, count=False)
        if isinstance(job, TrainingJob):
            jobs.setdefault(job.name, job)
    if not jobs:
        return 0
    _train_jobs(list(jobs.values()), training_workers(), forced=WORKERS_ENV in os.environ)
    for job in jobs.values():
        hand_over(job)
    return len(jobs)
