"""Neural training speed before and after setting torch's CPU threads once (``MMR_TORCH_THREADS``).

Each neural router (MLP, MLPMF, CMR) is trained for ``--epochs`` epochs on a problem of the figures' size (2,074
training rows = 20% of the simulated benchmark, 640 features = [384 text | 256 image], 10 models, batch 32), once per
thread count, each thread count in a fresh process because torch's thread pool is set once per process. "Before" is
torch's default (one thread per core, what every run used until then); "after" is one thread, the default now.
A one-epoch fit on 64 rows first warms up the lazy initialisation, so seconds per epoch = t(E epochs) / E.

Also checks that the predictions of the two thread counts agree to float32 rounding, and reports how far apart they
are: the order of floating-point sums in a matrix product depends on the thread count, so results are identical for
a given thread count, not across thread counts (one more reason to fix it). Writes ``benchmarks/results/speed.md`` and ``speed.json`` (read by bench_figures_cost.py).

Run: ``python benchmarks/bench_speed.py [--epochs 3] [--threads 1 2]``. On a shared machine the seconds are upper
bounds and the ratio depends on how busy the other cores are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results"
ROUTERS = ("mlp", "mlp_mf", "cmr")


def problem(seed: int = 0):
    """A masked routing problem of the figures' size (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n, text_dim, image_dim, models = 2074, 384, 256, 10
    X = rng.normal(size=(n, text_dim + image_dim)).astype(np.float32)
    X[rng.random(n) < 0.2, text_dim:] = 0.0
    Y = (rng.random((n, models)) < 0.6).astype(np.float64)
    C = rng.lognormal(-8.0, 1.0, size=(n, models))
    return X, Y, C, text_dim


def child(epochs: int, routers: list[str], predictions: Path) -> dict:
    """Time the routers in this process (threads from ``MMR_TORCH_THREADS``); save their predictions."""
    import torch

    from mmr_utils._torch import configure_threads
    from mmr_utils.routers.base import make_router

    threads = configure_threads()
    X, Y, C, text_dim = problem()
    seconds, saved = {}, {}
    for name in routers:
        extra = {"text_dim": text_dim} if name == "cmr" else {}
        make_router(name, epochs=1, seed=0, **extra).fit(X[:64], Y[:64], C[:64])  # warm-up: lazy initialisation
        router = make_router(name, epochs=epochs, seed=0, **extra)
        started = time.perf_counter()
        router.fit(X, Y, C)
        seconds[name] = (time.perf_counter() - started) / epochs
        saved[f"{name}_U"], saved[f"{name}_P"] = router.predict(X[:512])
    np.savez(predictions, **saved)
    return {"threads": threads, "torch_threads": torch.get_num_threads(), "seconds_per_epoch": seconds}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    parser.add_argument("--routers", nargs="+", default=list(ROUTERS))
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.epochs, args.routers, args.child)))
        return
    from mmr_utils._io import atomic_write_text
    from mmr_utils._torch import THREADS_ENV

    results, predictions = {}, {}
    scratch = OUT / ".speed_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    for threads in args.threads:
        path = scratch / f"threads{threads}.npz"
        done = subprocess.run([sys.executable, __file__, "--child", str(path), "--epochs", str(args.epochs),
                               "--routers", *args.routers], env={**os.environ, THREADS_ENV: str(threads)},
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"bench_speed child with {THREADS_ENV}={threads} failed:\n{done.stderr[-2000:]}")
        results[threads] = json.loads(done.stdout.strip().splitlines()[-1])["seconds_per_epoch"]
        with np.load(path) as arrays:
            predictions[threads] = {key: arrays[key] for key in arrays.files}
        path.unlink()
    scratch.rmdir()
    base, lines = args.threads[0], []
    for name in args.routers:
        row = [name] + [f"{results[t][name]:.3f}" for t in args.threads]
        row.append(f"{results[base][name] / results[args.threads[-1]][name]:.1f}x")
        diff = max(float(np.max(np.abs(predictions[base][f"{name}_{o}"] - predictions[args.threads[-1]][f"{name}_{o}"])
                                / (np.abs(predictions[base][f"{name}_{o}"]) + 1e-12))) for o in ("U", "P"))
        row.append(f"{diff:.1e}")
        lines.append("| " + " | ".join(row) + " |")
    head = ("| router | " + " | ".join(f"s/epoch, {t} thread(s)" for t in args.threads)
            + f" | speed-up {base} -> {args.threads[-1]} | max relative difference of U, P |")
    note = (f"# Neural training speed: torch CPU threads\n\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
            f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine: seconds are upper bounds). "
            f"{args.epochs} timed epoch(s) per router (after a warm-up), 2,074 x 640 training rows, batch 32. "
            f"Written by benchmarks/bench_speed.py.\n\n{head}\n|" + "---|" * (len(args.threads) + 3) + "\n"
            + "\n".join(lines) + "\n")
    OUT.mkdir(exist_ok=True)
    atomic_write_text(OUT / "speed.md", note)
    atomic_write_text(OUT / "speed.json", json.dumps({"rows": 2074, "epochs_timed": args.epochs, "seconds_per_epoch": {
        str(t): results[t] for t in args.threads}}, indent=1) + "\n")
    print(note)


if __name__ == "__main__":
    main()
