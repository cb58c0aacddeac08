"""Benchmark: the exact budget sweep against a per-threshold loop on a 10,370 x 10 table (the evaluation protocol).

Predicted costs are continuous, so there are about n*K = 103,700 unique thresholds. The loop recomputes every row's
pick with numpy (mmr_utils.metrics.decision.choose_models) at each threshold; timing all 103,700 would take minutes, so it is
timed on a random sample of thresholds and scaled up to the full count (stated in the output). Targets: exact sweep
under 0.2 s on the 2-core development machine and at least 100x faster than the loop.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mmr_utils.metrics.protocol import budget_sweep, naive_budget_sweep


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_370)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--sample", type=int, default=300, help="thresholds timed in the naive loop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    shape = (args.rows, args.models)
    U, P = rng.random(shape), rng.lognormal(-7, 1.5, shape)
    Y, C = (rng.random(shape) < 0.6).astype(float), rng.lognormal(-7, 1.5, shape)

    budget_sweep(U, P, Y, C)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        sweep = budget_sweep(U, P, Y, C)
        times.append(time.perf_counter() - start)
    exact = min(times)
    thresholds = np.unique(P)
    sample = np.sort(rng.choice(thresholds, size=min(args.sample, len(thresholds)), replace=False))
    start = time.perf_counter()
    naive = naive_budget_sweep(U, P, Y, C, params=sample)
    per_threshold = (time.perf_counter() - start) / len(sample)
    loop = per_threshold * len(thresholds)
    # The sampled naive points must equal the exact sweep's points at the same thresholds.
    at = np.searchsorted(sweep.param, sample)
    assert np.allclose(sweep.cost[at], naive.cost) and np.allclose(sweep.accuracy[at], naive.accuracy)

    lam_start = time.perf_counter()
    lam = budget_sweep(U, P, Y, C, rule="lambda")
    lam_time = time.perf_counter() - lam_start
    ratio = loop / exact
    print(f"table {args.rows} x {args.models}, {len(thresholds):,} unique predicted costs (thresholds)")
    print(f"exact threshold sweep : {exact:8.4f} s  (best of {args.repeats}; {len(sweep):,} operating points)")
    print(
        f"per-threshold loop    : {loop:8.2f} s  (timed on {len(sample)} sampled thresholds, "
        f"{per_threshold * 1e3:.2f} ms each, scaled to {len(thresholds):,})"
    )
    print(f"speed-up              : {ratio:8.0f}x   (targets: exact < 0.2 s, speed-up >= 100x)")
    print(f"exact lambda sweep    : {lam_time:8.4f} s  ({len(lam):,} breakpoints)")
    status = "OK" if exact < 0.2 and ratio >= 100 else "MISSED"
    print(f"targets: {status}")
    return {"exact_s": exact, "loop_s": loop, "ratio": ratio, "lambda_s": lam_time}


if __name__ == "__main__":
    main()
