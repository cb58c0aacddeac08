"""Benchmark: fit + predict time of the ten router baselines at default settings (paper Sec. 5.1 baselines).

A synthetic problem of the paper's scale: 2,000 training and 8,000 test queries, 768-d features ([384 text | 384
image], a third of the queries without an image, i.e. a zero image part), 10 models whose correctness depends on
a cluster structure. Each router is fitted once and predicts once (wall-clock, ``time.perf_counter``); the test
accuracy of argmax-U routing is printed as a sanity check. Target: all ten together under 2 minutes on the 2-core
development machine. ``--epochs`` overrides the neural routers' epochs (default: their own default, 100) and is
reported, so a shortened run is never mistaken for a default one.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mmr_utils._io import atomic_write_text
from mmr_utils.routers.base import make_router

ROUTER_NAMES = ["random", "best_single", "knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp",
                "mlp_mf", "cmr"]
NEURAL = {"mlp", "mlp_mf", "cmr"}


def make_problem(n_train: int, n_test: int, dim: int, n_models: int, seed: int):
    """Clustered features; each cluster has its own best model, costs differ by model (log-normal USD)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    n_clusters = 2 * n_models
    centres = rng.normal(size=(n_clusters, dim))
    cluster = rng.integers(0, n_clusters, n)
    X = (centres[cluster] + rng.normal(scale=0.7, size=(n, dim))).astype(np.float32)
    X[rng.random(n) < 1 / 3, dim // 2:] = 0.0
    skill = rng.uniform(0.1, 0.9, size=(n_clusters, n_models))
    Y = (rng.random((n, n_models)) < skill[cluster]).astype(np.float64)
    C = rng.lognormal(mean=-8.0, sigma=1.0, size=n_models)[None, :] * rng.uniform(0.5, 1.5, size=(n, n_models))
    return (X[:n_train], Y[:n_train], C[:n_train]), (X[n_train:], Y[n_train:], C[n_train:])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2_000)
    parser.add_argument("--test", type=int, default=8_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--routers", nargs="+", default=ROUTER_NAMES, choices=ROUTER_NAMES)
    parser.add_argument("--epochs", type=int, default=None, help="override the neural routers' epochs")
    parser.add_argument("--device", default="cpu", help="device of the neural routers (cpu, cuda, auto)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the timings to this JSON file")
    args = parser.parse_args(argv)

    (X_train, Y_train, C_train), (X_test, Y_test, _) = make_problem(args.train, args.test, args.dim,
                                                                         args.models, args.seed)
    print(f"train {args.train} x {args.dim}, test {args.test}, {args.models} models; neural epochs: "
          f"{args.epochs if args.epochs is not None else 'default (100)'}, device {args.device}")
    results = {}
    for name in args.routers:
        params = {"seed": args.seed}
        if name in NEURAL:
            params["device"] = args.device
            if args.epochs is not None:
                params["epochs"] = args.epochs
        if name == "cmr":
            params["text_dim"] = args.dim // 2
        router = make_router(name, **params)
        start = time.perf_counter()
        router.fit(X_train, Y_train, C_train)
        fitted = time.perf_counter()
        U, _ = router.predict(X_test)
        done = time.perf_counter()
        accuracy = float(Y_test[np.arange(len(U)), U.argmax(axis=1)].mean())
        results[name] = {"fit_s": fitted - start, "predict_s": done - fitted, "total_s": done - start,
                         "accuracy_argmax_u": accuracy, "params": router.get_params()}
        print(f"{name:16s} fit {fitted - start:8.2f} s  predict {done - fitted:6.2f} s  "
              f"accuracy(argmax U) {accuracy:.3f}", flush=True)
    total = sum(r["total_s"] for r in results.values())
    target_applies = args.epochs is None and set(args.routers) == set(ROUTER_NAMES)
    status = ("OK" if total < 120 else "MISSED") if target_applies else "n/a (not the default full run)"
    print(f"total            {total:8.2f} s   (target: all ten under 120 s at defaults: {status})")
    summary = {"total_s": total, "routers": results, "train": args.train, "test": args.test, "dim": args.dim,
               "models": args.models, "epochs_override": args.epochs, "device": args.device, "target": status}
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
