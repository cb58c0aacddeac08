"""Neural training in worker processes: the wall time of :func:`mmr_utils.experiments.training.prefetch_runs` for
one study's neural runs trained in this process (``MMR_TRAIN_WORKERS=1``) and in 2 (or ``--workers``) processes, on
features of the figures' size (the full simulated benchmark's 2,074 training rows per split, offline encoders). Every
run must be bit-identical either way (checked here); only the time may differ.

The runs: MLP and MLPMF on ``--seeds`` split seeds in modes 22 and 11 (batched ensembles) and CMR on the same seeds in
mode 22 (alone), at ``--epochs`` epochs. Writes ``benchmarks/results/workers.md``; on a shared machine the seconds are
upper bounds. Run: ``python benchmarks/bench_workers.py [--epochs 10] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timed_prefetch(requests: list[dict], workers: int) -> tuple[float, dict]:
    """Seconds to prefetch ``requests`` with ``workers`` processes (cache off, cold pool) and the runs, by key."""
    from mmr_utils.experiments import runs, training

    os.environ[training.WORKERS_ENV] = str(workers)
    training.shutdown_workers()  # each measurement starts its own workers, as the first study of a notebook does
    started = time.perf_counter()
    training.prefetch_runs(requests)
    seconds = time.perf_counter() - started
    out = {}
    for request in requests:
        bank, router, split, config, seed = request
        run = runs.fit_predict(bank, router, split, config, seed=seed)
        out[(router, config.mode, seed)] = run.U.tobytes() + run.P.tobytes()
    return seconds, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ["MMR_RUN_CACHE"] = "0"
    from mmr_utils._io import atomic_write_text
    from mmr_utils._torch import usable_cpus
    from mmr_utils.data.splits import instance_split
    from mmr_utils.experiments.runs import RunConfig
    from mmr_utils.features.bank import load_and_embed

    bank = load_and_embed("", scale=1.0, seed=0, encoder="offline")
    splits = {seed: instance_split(bank.table, 0.2, seed=seed) for seed in args.seeds}
    epochs = {name: {"epochs": args.epochs} for name in ("mlp", "mlp_mf", "cmr")}
    requests = [(bank, router, splits[seed], RunConfig(mode=mode, router_params=epochs), seed)
                for router, modes in (("mlp", ("22", "11")), ("mlp_mf", ("22", "11")), ("cmr", ("22",)))
                for mode in modes for seed in args.seeds]
    alone, runs_alone = timed_prefetch(requests, 1)
    parallel, runs_parallel = timed_prefetch(requests, args.workers)
    if runs_alone != runs_parallel:
        different = sorted(key for key in runs_alone if runs_alone[key] != runs_parallel[key])
        raise SystemExit(f"runs trained in {args.workers} workers differ from those trained in-process: {different}")
    cores = usable_cpus()
    note = (f"# Neural training in worker processes\n\n{time.strftime('%Y-%m-%d')}, {cores} usable CPU cores, one "
            f"torch/OpenMP/BLAS thread per process. {len(requests)} runs (MLP and MLPMF x {len(args.seeds)} seeds x "
            f"modes 22 and 11, CMR x {len(args.seeds)} seeds in mode 22), {args.epochs} epochs, 2,074 training rows "
            f"(full simulated benchmark, offline encoders), run cache off. Written by benchmarks/bench_workers.py.\n\n"
            f"| training | seconds | speed-up |\n|---|---:|---:|\n"
            f"| in this process (MMR_TRAIN_WORKERS=1) | {alone:.1f} | 1.0x |\n"
            f"| {args.workers} worker processes | {parallel:.1f} | {alone / parallel:.2f}x |\n\n"
            f"Every run's U and P are bit-identical between the two (checked). The worker time includes starting the "
            f"workers (a fresh interpreter importing torch each), which a notebook pays once.\n")
    atomic_write_text(RESULTS / "workers.md", note)
    print(note)


if __name__ == "__main__":
    main()
