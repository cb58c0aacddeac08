"""Check: does the simulator put routing signal in both modalities?

Simulates the benchmark (with images) at ``--scale``, encodes it with the offline encoders (MiniLM text +
imagestats image), and runs every learned router in mode 11 (text only), 33 (image only) and 22 (multimodal, mean
fusion) on ``--seeds`` random 20/80 splits, scored on all test rows and per dataset. Prints, per router, nAUC (the
shared-interval nAUC, comparable across routers and modes, and the official per-router nAUC) averaged over seeds,
whether 22 beats both 11 and 33, and per dataset the 22 - 11 and 22 - 33 gaps averaged over routers.
CMR cross-attends text to image and cannot run on one channel (11/33), so it is reported for 22 only.

Pass criterion: 22 beats 11 and 33 in mean nAUC for at least 6 of the 8 learned routers (of the 7 that
can run unimodally), with the largest 22 - 11 gap on the datasets whose question lives in the image (MathVerse
Vision-Only, OCRBench). Takes several minutes at the default scale on two cores; run it once, not in a loop.

    .venv/bin/python benchmarks/check_modality.py --scale 0.3 --seeds 0 1 2 --out modality_check.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from mmr_utils._io import atomic_write_text
from mmr_utils.data.official import load_table
from mmr_utils.data.simulator import calibration
from mmr_utils.data.simulator.benchmark import simulate_benchmark
from mmr_utils.data.splits import instance_split
from mmr_utils.experiments.runs import LEARNED_ROUTERS, NEURAL_ROUTERS, RunConfig, fit_predict
from mmr_utils.experiments.scoring import score_run
from mmr_utils.features.bank import embed_table

MODES = ("11", "33", "22")
IMAGE_QUESTION_DATASETS = ("MathVerse", "OCRBench")


@contextlib.contextmanager
def cue_weights(changes: dict[str, dict[str, float]] | None):
    """Exploration only: the simulator's per-dataset cue weights updated by ``changes`` ({dataset: {cue: weight}})
    inside the block, restored after. The shared-effect SD is not refitted, so the Oracle calibration drifts a little;
    a variant worth keeping goes into calibration.py and through the fit (``fitting.calibrate``)."""
    saved = {dataset: dict(weights) for dataset, weights in calibration.CUE_WEIGHTS.items()}
    for dataset, weights in (changes or {}).items():
        unknown = set(weights) - set(saved.get(dataset, {}))
        if dataset not in saved or unknown:
            raise SystemExit(f"--cue-weights: unknown dataset {dataset!r} or cues {sorted(unknown)}; expected datasets "
                             f"{list(saved)} and cues {list(next(iter(saved.values())))}")
    try:
        for dataset, weights in (changes or {}).items():
            calibration.CUE_WEIGHTS[dataset].update(weights)
        yield
    finally:
        for dataset, weights in saved.items():
            calibration.CUE_WEIGHTS[dataset].clear()
            calibration.CUE_WEIGHTS[dataset].update(weights)


def run(scale: float, seeds: list[int], routers: list[str], epochs: int | None, data_seed: int,
        weights: dict | None = None) -> pd.DataFrame:
    """One record per (router, mode, seed, group) with the protocol metrics."""
    with tempfile.TemporaryDirectory() as tmp, cue_weights(weights):
        folder = simulate_benchmark(Path(tmp) / "bench", scale=scale, seed=data_seed)
        table = load_table(folder)
        bank = embed_table(table, "offline", seed=0)
    print("encoder that ran:", bank.encoder, "| rows:", table.n, flush=True)
    records = []
    for seed in seeds:
        split = instance_split(table, 0.2, seed=seed)
        for router in routers:
            for mode in MODES:
                if router == "cmr" and mode != "22":
                    continue
                started = time.perf_counter()
                params = {name: {"epochs": epochs} for name in NEURAL_ROUTERS} if epochs else {}
                result = fit_predict(bank, router, split, RunConfig(mode=mode, router_params=params), seed=seed)
                recs, _ = score_run(table, result, per_dataset=True)
                records += recs
                print(f"seed {seed} {router:16s} mode {mode}: nAUC_shared {recs[0]['nAUC_shared']:.4f} "
                      f"({time.perf_counter() - started:.1f}s)", flush=True)
    return pd.DataFrame(records)


def summarise(frame: pd.DataFrame) -> dict:
    """Seed means per router and mode on all rows, the win count, and per-dataset gaps averaged over routers."""
    out = {}
    for metric in ("nAUC_shared", "nAUC"):
        overall = frame[frame["dataset"] == "All"].groupby(["router", "mode"])[metric].mean().unstack("mode")
        wins = overall.dropna().apply(lambda r: bool(r["22"] > r["11"] and r["22"] > r["33"]), axis=1)
        per_dataset = frame.groupby(["dataset", "router", "mode"])[metric].mean().unstack("mode").dropna()
        gaps = pd.DataFrame({"22-11": per_dataset["22"] - per_dataset["11"],
                             "22-33": per_dataset["22"] - per_dataset["33"]}).groupby(level="dataset").mean()
        out[metric] = {"by_router": overall.round(4).to_dict(orient="index"), "wins": wins.to_dict(),
                       "n_wins": int(wins.sum()), "n_comparable": int(len(wins)),
                       "gaps_by_dataset": gaps.round(4).to_dict(orient="index")}
        print(f"\n== {metric}, mean over seeds ==")
        print(overall.assign(mm_beats_both=wins).round(4).to_string())
        print(f"22 beats 11 and 33 for {int(wins.sum())} of {len(wins)} routers that run unimodally")
        print(gaps.sort_values("22-11", ascending=False).round(4).to_string())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--routers", nargs="+", default=list(LEARNED_ROUTERS))
    parser.add_argument("--epochs", type=int, default=None, help="neural routers' epochs (default: theirs)")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write records and summary as JSON here")
    parser.add_argument("--cue-weights", type=json.loads, default=None, metavar="JSON",
                        help='exploration: cue weights to change, e.g. \'{"OCRBench": {"image": 2.5, "text": 0.6}}\'')
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = run(args.scale, args.seeds, args.routers, args.epochs, args.data_seed, args.cue_weights)
    summary = summarise(frame)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    if args.out is not None:
        payload = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                   "summary": summary, "records": frame.to_dict(orient="records")}
        atomic_write_text(args.out, json.dumps(payload, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
