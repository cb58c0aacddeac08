"""Neural training as batched ensembles: seconds per epoch *per run* for MLP and MLPMF trained
alone and as ensembles of S runs that differ only in seed (``Router.fit_many``; what ``prefetch_runs`` does for a
study's seeds and modes), on a problem of the figures' size (2,074 training rows x 640 features, 10 models, batch 32,
one torch thread). Each member's result is bit-identical to training it alone (checked here again on the first
member), so the speed-up changes no number.

Also the arithmetic floor: multiply-adds per training row-epoch of each network (forward + backward ~ 3x forward)
and the machine's measured single-thread matrix-product speed give the least time 100 epochs of every neural run of
a cold ``make figures`` can take (row-epochs from bench_figures_cost.py's count), whatever the implementation.

Run: ``python benchmarks/bench_ensemble.py [--epochs 2] [--sizes 1 3 8 16]``; writes
``benchmarks/results/ensemble.md``. On a shared machine the seconds are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"
#: Row-epochs (millions) of a cold make figures at 100 epochs, from figures_cost.md (bench_figures_cost.py).
ROW_EPOCHS_100 = {"mlp": 1.24 + 3.73 + 12.49, "mlp_mf": 1.24 + 3.73 + 12.49, "cmr": 1.24 + 0.62}


def multiply_adds_per_row(name: str, features: int = 640, models: int = 10) -> int:
    """Multiply-adds of one forward pass for one row (the networks' shapes in mmr_utils.routers.neural)."""
    if name == "mlp":
        return features * 256 + 256 * 128 + 2 * 128 * models
    if name == "mlp_mf":
        return features * 256 + 256 * 128 + 128 * 64 + 2 * 64 * models
    if name == "cmr":  # two tokens, width 512, two post-LN layers with FFN 4x, then two heads on the pooled token
        width = 512
        projections = 384 * width + 256 * width
        layer = 2 * (4 * width * width + 2 * width * 4 * width)
        return projections + 2 * layer + 2 * width * models
    raise ValueError(name)


def matmul_gflops(seconds: float = 2.0) -> float:
    """Single-thread float32 matrix-product speed at the training's shapes (32 x 640 @ 640 x 256)."""
    import torch

    a, b = torch.randn(32, 640), torch.randn(640, 256)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            a @ b
        count += 100
    return 2 * 32 * 640 * 256 * count / (time.perf_counter() - started) / 1e9


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 8, 16])
    parser.add_argument("--routers", nargs="+", default=["mlp", "mlp_mf"])
    args = parser.parse_args(argv)
    os.environ.setdefault("MMR_TORCH_THREADS", "1")
    from bench_speed import problem

    from mmr_utils._io import atomic_write_text
    from mmr_utils._torch import configure_threads
    from mmr_utils.routers.base import make_router

    configure_threads()
    X, Y, C, _ = problem()
    rows, identical = [], {}
    for name in args.routers:
        make_router(name, epochs=1, seed=0).fit(X[:64], Y[:64], C[:64])  # warm-up
        alone = make_router(name, epochs=args.epochs, seed=0).fit(X, Y, C)
        for size in args.sizes:
            members = [make_router(name, epochs=args.epochs, seed=seed) for seed in range(size)]
            started = time.perf_counter()
            type(members[0]).fit_many(members, [(X, Y, C)] * size)
            per_run = (time.perf_counter() - started) / args.epochs / size
            rows.append((name, size, per_run))
            identical[(name, size)] = all(a.tobytes() == b.tobytes() for a, b in
                                          zip(alone.predict(X[:256]), members[0].predict(X[:256])))
    gflops = matmul_gflops()
    lines = ["| router | ensemble size S | s/epoch per run | speed-up vs S=1 | member 0 bit-identical to alone |",
             "|---|---:|---:|---:|:---:|"]
    for name, size, per_run in rows:
        base = next(r[2] for r in rows if r[0] == name and r[1] == args.sizes[0])
        lines.append(f"| {name} | {size} | {per_run:.3f} | {base / per_run:.1f}x | {identical[(name, size)]} |")
    floor = ["| router | multiply-adds per row (forward) | row-epochs at 100 epochs (millions) | least single-thread "
             "minutes at the measured speed |", "|---|---:|---:|---:|"]
    total = 0.0
    for name, millions in ROW_EPOCHS_100.items():
        flops = 2 * 3 * multiply_adds_per_row(name) * millions * 1e6
        minutes = flops / (gflops * 1e9) / 60
        total += minutes
        floor.append(f"| {name} | {multiply_adds_per_row(name):,} | {millions:.2f} | {minutes:.0f} |")
    note = (f"# Neural training as batched ensembles\n\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
            f"one torch thread, load average {os.getloadavg()[0]:.1f} at the end (a shared machine: seconds are upper "
            f"bounds). {args.epochs} timed epoch(s), 2,074 x 640 training rows, batch 32. Written by "
            f"benchmarks/bench_ensemble.py.\n\n" + "\n".join(lines) + "\n\n"
            f"## The floor\n\nMeasured single-thread matrix-product speed at the training's shapes: {gflops:.1f} "
            f"GFLOP/s. Training costs about 3x the forward multiply-adds (forward, two backward products), 2 FLOP "
            f"each. With every neural run of a cold `make figures` at the official 100 epochs:\n\n"
            + "\n".join(floor) + f"\n\nIn all at least {total:.0f} single-thread minutes ({total / 2:.0f} on two "
            f"cores if perfectly parallel) before anything else, so a 12-minute cold `make figures` at 100 epochs "
            f"is out of reach of two CPU cores whatever the implementation; CMR alone needs a GPU.\n")
    OUT.mkdir(exist_ok=True)
    atomic_write_text(OUT / "ensemble.md", note)
    print(note)


if __name__ == "__main__":
    main()
