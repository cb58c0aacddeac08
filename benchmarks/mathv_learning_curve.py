"""Does more training data let a router beat the best single model on real MATH-V outcomes?

The goal set for the routers beyond the paper is one whose Ps beats the best single model on MATH-V (20% train, 5 seeds) with an interval
that excludes it. Notebook 9 shows that no router reaches it at 20%, and its headroom step shows why (the models'
errors are nearly independent). This study asks whether the answer changes with more data: the same comparison
(:func:`mmr_utils.experiments.beyond.headroom.routing_comparison`: Ps, paired bootstrap against the best single model, seeds pooled) at
training fractions 0.2, 0.5 and 0.8 for the routers closest to the goal. It is a research log, not a test: it writes
``benchmarks/results/mathv_learning_curve.csv`` and ``.md``.

Run: ``python benchmarks/mathv_learning_curve.py [--fractions 0.2 0.5 0.8] [--seeds 0 1 2 3 4]`` (needs the full
MATH-V set: ``make data-mathv``; about 10 minutes per fraction on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from mmr_utils._io import atomic_write_text
from mmr_utils.data.mathv import load_mathv
from mmr_utils.experiments.beyond import headroom as beyond
from mmr_utils.features import bank as feature_bank

ROUTERS = ("knn_shrunk", "kmeans_shrunk", "gbdt", "knn")
OUT = Path(__file__).resolve().parent / "results"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.2, 0.5, 0.8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--routers", nargs="+", default=list(ROUTERS))
    parser.add_argument("--n-boot", type=int, default=100)
    args = parser.parse_args(argv)
    table = load_mathv("full")
    bank = feature_bank.embed_table(table, "auto", seed=args.seeds[0])
    frames = []
    for fraction in args.fractions:
        start = time.perf_counter()
        result = beyond.routing_comparison(bank, args.routers, seeds=args.seeds, train_fraction=fraction,
                                           n_boot=args.n_boot, metrics=("Ps", "QNC"))
        frame = result.results
        frame.insert(0, "train_fraction", fraction)
        frames.append(frame)
        print(f"train fraction {fraction}: {time.perf_counter() - start:.0f} s", flush=True)
    data = pd.concat(frames, ignore_index=True)
    OUT.mkdir(exist_ok=True)
    atomic_write_text(OUT / "mathv_learning_curve.csv", data.to_csv(index=False))
    ps = data[data["metric"] == "Ps"]
    view = ps.pivot(index="router", columns="train_fraction", values="cell_marked")
    diff = ps[ps["router"] != "Best Single"].assign(
        gain=lambda f: f.apply(lambda r: f"{r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}]", axis=1)
    ).pivot(index="router", columns="train_fraction", values="gain")
    text = (f"# MATH-V: Ps against the training fraction\n\n{len(table.models)} model settings, {table.n} items, "
            f"encoder {bank.encoder}, seeds {args.seeds}, {args.n_boot} bootstrap resamples per seed.\n\n"
            "Ps (mean over seeds, 95% interval from the pooled bootstrap; a mark = paired difference from the best "
            "single model significant after Holm correction):\n\n" + view.to_markdown() + "\n\n"
            "Paired difference from the best single model (the most accurate model on each seed's training rows), "
            "mean [95% interval]:\n\n" + diff.to_markdown() + "\n")
    atomic_write_text(OUT / "mathv_learning_curve.md", text)
    print(text)


if __name__ == "__main__":
    main()
