"""Convergence of the neural routers: do fewer epochs than the official 100 change Ps or nAUC beyond seed noise?

For MLP, MLPMF and CMR, on the full simulated benchmark (20% train, mode 22, the figures' fusion), one 100-epoch
training run per seed is scored after epochs 5, 10, 25, 50 and 100. Because training for E epochs is exactly the
first E epochs of a longer run with the same seed (same shuffles, same dropout draws), this equals separate runs at
each epoch count, at the cost of one. Writes ``benchmarks/results/epochs_convergence.csv`` (one row per router,
seed, epoch) and ``epochs_convergence.md`` with, per router, the smallest epoch count whose mean Ps and shared nAUC
are not worse than at 100 epochs beyond seed noise (the pooled standard deviation over seeds; see :func:`verdict`).

Run: ``python benchmarks/bench_epochs.py [--scale 1.0] [--seeds 0 1 2]`` (about 15 minutes on 2 CPU cores, CMR
dominating). The parameter files under notebooks/params link the result.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils._io import atomic_write_text
from mmr_utils.data.simulator.calibration import GENERATOR_VERSION
from mmr_utils.data.splits import instance_split
from mmr_utils.features import bank as feature_bank
from mmr_utils.features.fusion import build_features
from mmr_utils.metrics.summary import summarize
from mmr_utils.routers.base import make_router

CHECKPOINTS = (5, 10, 25, 50, 100)
ROUTERS = ("mlp", "mlp_mf", "cmr")
OUT = Path(__file__).resolve().parent / "results"


def run(scale: float, seeds: list[int], routers=ROUTERS, data_seed: int = 0) -> pd.DataFrame:
    bank = feature_bank.load_and_embed("", scale=scale, seed=data_seed)
    table = bank.table
    records = []
    for seed in seeds:
        split = instance_split(table, 0.2, seed=seed)
        rows = split.test[table.complete_rows()[split.test]]
        keep = np.isin(split.test, rows)
        Y, C = table.correct[rows], table.cost[rows]
        for name in routers:
            strategy = "concat" if name == "cmr" else "mean"
            X_train, X_test, finfo = build_features(*bank.channels(split.train, split.test), mode="22",
                                                    strategy=strategy, seed=seed)
            params = {"epochs": max(CHECKPOINTS), "seed": seed}
            if name == "cmr":
                params["text_dim"] = finfo["text_dim"]
            router = make_router(name, **params)
            started = time.perf_counter()

            def score(epoch, fitted, name=name, seed=seed, started=started, X_test=X_test):
                if epoch not in CHECKPOINTS:
                    return
                U, P = fitted._predict(X_test)
                summary = summarize(U[keep], P[keep], Y, C)
                records.append({"router": name, "seed": seed, "epochs": epoch, "Ps": summary.metrics["Ps"],
                                "nAUC_shared": summary.metrics["nAUC_shared"], "QNC": summary.metrics["QNC"],
                                "seconds_so_far": round(time.perf_counter() - started, 1)})
                print(f"{name} seed {seed} epoch {epoch}: Ps {summary.metrics['Ps']:.4f} "
                      f"nAUC {summary.metrics['nAUC_shared']:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)

            router.epoch_callback = score
            router.fit(X_train, table.correct[split.train], table.cost[split.train])
    return pd.DataFrame(records)


def verdict(frame: pd.DataFrame) -> pd.DataFrame:
    """Per router and epoch count: mean Ps / shared nAUC over seeds, the difference from 100 epochs, and the seed
    noise (the pooled standard deviation over seeds of the two epoch counts). ``within_noise``: |difference| <= noise
    for both metrics; ``not_worse``: difference >= -noise for both. Plus, per router, the smallest epoch count that is
    not worse than 100 epochs beyond seed noise (the number the parameter files may use)."""
    rows = []
    full = max(CHECKPOINTS)
    for router, part in frame.groupby("router", sort=False):
        ref = part[part["epochs"] == full].set_index("seed")
        for epochs, sub in part.groupby("epochs"):
            sub = sub.set_index("seed").loc[ref.index]
            row = {"router": router, "epochs": epochs, "seeds": len(sub)}
            within = not_worse = True
            for metric in ("Ps", "nAUC_shared"):
                diff = float(sub[metric].mean() - ref[metric].mean())
                noise = float(np.sqrt((sub[metric].var(ddof=1) + ref[metric].var(ddof=1)) / 2)) if len(sub) > 1 else 0.0
                row.update({f"{metric}_mean": sub[metric].mean(), f"{metric}_diff": diff, f"{metric}_noise": noise})
                within &= abs(diff) <= noise
                not_worse &= diff >= -noise
            row["within_noise"], row["not_worse"] = within, not_worse
            rows.append(row)
    table = pd.DataFrame(rows)
    smallest = table[table["not_worse"]].groupby("router")["epochs"].min().rename("smallest_epochs_not_worse")
    return table.join(smallest, on="router")


def write_results(frame: pd.DataFrame, header: str) -> str:
    """Write the rows (CSV) and the verdict table (Markdown) under ``benchmarks/results``; return the note."""
    table = verdict(frame)
    seconds = frame.groupby(["router", "seed"])["seconds_so_far"].max().groupby("router").mean().round(0)
    OUT.mkdir(exist_ok=True)
    atomic_write_text(OUT / "epochs_convergence.csv", frame.to_csv(index=False))
    note = (f"# Neural routers: epochs vs seed noise\n\n{header} Noise: the pooled standard deviation over seeds; "
            f"within_noise: |mean(E) - mean(100)| <= noise; not_worse: mean(E) - mean(100) >= -noise (Ps and shared "
            f"nAUC both). Mean seconds per 100-epoch run (seed), as measured: "
            + ", ".join(f"{router} {int(s)} s" for router, s in seconds.items()) + ".\n\n"
            + table.round(4).to_markdown(index=False) + "\n")
    atomic_write_text(OUT / "epochs_convergence.md", note)
    return note


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--routers", nargs="+", default=list(ROUTERS))
    parser.add_argument("--rows-only", type=Path, default=None,
                        help="write only this run's rows to this CSV (e.g. one seed per process), no verdict")
    parser.add_argument("--merge", type=Path, nargs="+", default=None,
                        help="train nothing: replace the committed rows of the routers in these CSVs by theirs, then "
                             "write the CSV and the verdict")
    args = parser.parse_args(argv)
    header = (f"Scale {args.scale}, simulator {GENERATOR_VERSION}, 20% train, mode 22, one CPU thread per process "
              f"(MMR_TORCH_THREADS); a shared 2-core machine, so the seconds are upper bounds.")
    if args.merge:
        new = pd.concat([pd.read_csv(path) for path in args.merge], ignore_index=True)
        old = pd.read_csv(OUT / "epochs_convergence.csv")
        frame = pd.concat([old[~old["router"].isin(new["router"].unique())], new], ignore_index=True)
        print(write_results(frame, header + " Seeds " + ", ".join(
            f"{r}: {sorted(part['seed'].unique().tolist())}" for r, part in frame.groupby("router", sort=False)) + "."))
        return
    frame = run(args.scale, args.seeds, args.routers)
    if args.rows_only is not None:
        atomic_write_text(args.rows_only, frame.to_csv(index=False))
        return
    print(write_results(frame, header + f" Seeds {args.seeds}."))


if __name__ == "__main__":
    main()
