"""Training a study's neural runs ahead of its :func:`mmr_utils.experiments.runs.fit_predict` calls, the one way
this project uses several cores: runs that differ only in their seed train as one batched ensemble (each member
bit-identical to training it alone), and the units of work train in worker processes, one torch thread each.
Neither changes a result (benchmarks/results/ensemble.md, workers.md).
"""

from __future__ import annotations

import os

from mmr_utils.experiments.runs import TrainingJob, hand_over, prepare_run, router_class

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


def _work(unit: list[TrainingJob]) -> float:
    """Estimated training work of a unit: rows x epochs per run, weighted for runs that train alone."""
    router = unit[0].router
    weight = 1.0 if router.batchable else _UNBATCHED_COST
    return weight * sum(job.train[0].shape[0] * getattr(job.router, "epochs", 1) for job in unit)


def _training_units(jobs: list[TrainingJob], workers: int) -> list[list[TrainingJob]]:
    """Split the jobs into units of work, largest first: each ensemble (batchable runs of one class that agree on
    everything but the seed and on their data's shapes) cut into at most ``workers`` near-equal chunks, and each
    other run alone. How runs are grouped never changes a result (each is bit-identical to training it alone)."""
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


def _train_jobs(jobs: list[TrainingJob], workers: int, *, forced: bool = False) -> None:
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
    """Train ahead the neural runs among ``requests`` (tuples of :func:`fit_predict`'s arguments: bank, router,
    split, config, seed) that are neither cached nor already prefetched; the later :func:`fit_predict` calls with the same
    arguments read them back (from the run cache, or from memory when it is off). Returns the number trained.

    Two savings, neither of which changes a result: runs of a batchable router (MLP, MLPMF) that agree on everything
    but the seed, and whose features have the same shape (typically a study's seeds), train as one batched ensemble,
    each member bit-identical to training it alone (``Router.fit_many``), since a small network's training step is
    mostly fixed overhead that an ensemble shares; and the units of work (ensemble chunks, other neural runs such as
    CMR) train in :func:`training_workers` processes at once, each on one torch thread by default
    (benchmarks/results/speed.md). Predictions are made here, after training, as for a run trained in place."""
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
