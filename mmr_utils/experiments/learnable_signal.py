"""The calibration step for the simulator's learnable structure (docs/simulator.md, "Learnable signal").
Fits per dataset the learnable-signal strength ``s_d`` (:data:`~.calibration.LEARNABLE_SIGNAL`) so that the learned
routers' Ps match the paper's Table 2, refitting ``sigma_d`` to the Oracle row for each value tried
(:func:`~.fitting.calibrate`). Content is simulated and embedded once, outcomes redrawn per trial; :func:`fit_signal`
is a bracketed secant search on each dataset's mean Ps gap under the official per-dataset protocol; :func:`check`
scores four routers against :data:`TARGETS`. ``python -m mmr_utils.experiments.learnable_signal`` fits, checks and
writes :data:`~.calibration.FITTED_FILE` (``--no-write`` only reports)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils.data.paper import PAPER_LEARNED
from mmr_utils.data.simulator import calibration as cal
from mmr_utils.data.simulator.calibration import TARGETS, paper_full_gains, paper_learned_ps
from mmr_utils.data.simulator.outcomes import (
    _check_seed,
    _draw_outcomes,
    _draw_tokens,
    correctness_probabilities,
    simulate_latents,
)

#: The routers whose mean Ps per dataset the fit matches to the paper's (the four learned routers of Table 2).
CALIBRATION_ROUTERS: tuple[str, ...] = PAPER_LEARNED
#: The paper's four learned routers of Table 2, scored by :func:`check`.
CHECK_ROUTERS: tuple[str, ...] = PAPER_LEARNED
#: The protocol the fit and the check run under (the settings of notebook 3's ``make figures`` run).
PROTOCOL: dict = {"train_fraction": 0.2, "mode": "22", "fusion": "mean", "encoder": "offline",
                  "router_params": {"mlp_mf": {"epochs": 100}, "mlp": {"epochs": 100}, "cmr": {"epochs": 10}}}
#: Search range of the learnable-signal strength.
SIGNAL_BRACKET: tuple[float, float] = (0.0, 2.0)


@contextlib.contextmanager
def _no_result_cache():
    """Trial outcomes are throwaway: keep their router runs out of the on-disk run cache inside the block."""
    saved = os.environ.get("MMR_RUN_CACHE")
    os.environ["MMR_RUN_CACHE"] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MMR_RUN_CACHE", None)
        else:
            os.environ["MMR_RUN_CACHE"] = saved


@dataclasses.dataclass
class CalibrationData:
    """The fixed part of the calibration: the simulated content at ``(scale, seed)``, its latents (all rows), the
    features of the rows it keeps, and those rows' positions in the latents (``rows``)."""

    scale: float
    seed: int
    latents: pd.DataFrame
    bank: object  # mmr_utils.features.bank.FeatureBank
    rows: np.ndarray


def calibration_data(scale: float = cal.CALIBRATION_SCALE, seed: int = cal.CALIBRATION_SEED, *,
                     encoder: str = PROTOCOL["encoder"], datasets=None) -> CalibrationData:
    """The benchmark at ``(scale, seed)`` simulated, loaded, restricted to ``datasets`` and embedded once (its content
    depends on neither the learnable signal nor the shared effect; :func:`with_outcomes` redraws the outcomes)."""
    from mmr_utils.data.official import load_table
    from mmr_utils.data.simulator.benchmark import simulate_benchmark
    from mmr_utils.features.bank import embed_table

    seed = _check_seed(seed)
    latents = simulate_latents(scale, seed)
    with tempfile.TemporaryDirectory() as tmp:
        table = load_table(simulate_benchmark(Path(tmp) / "bench", scale=scale, seed=seed))
        ids = table.instances["dataset_idx"].astype(str).to_numpy()
        if not np.array_equal(ids, latents["dataset_idx"].to_numpy()):
            raise RuntimeError("the loaded simulated table's rows are not in the order of simulate_latents(); the "
                               "calibration cannot redraw its outcomes")
        rows = np.arange(table.n)
        if datasets is not None:
            unknown = sorted(set(datasets) - set(cal.DATASET_SIZES))
            if unknown:
                raise ValueError(f"datasets {unknown} are not simulated; expected a subset of "
                                 f"{list(cal.DATASET_SIZES)}")
            rows = np.flatnonzero(table.instances["dataset"].isin(list(datasets)).to_numpy())
            table = table.take(rows)
        bank = embed_table(table, encoder, seed=seed)
    return CalibrationData(float(scale), seed, latents, bank, rows)


def with_outcomes(data: CalibrationData, signal: dict[str, float], shared_sd: dict[str, float]):
    """The feature bank of ``data`` with its outcomes, tokens and costs redrawn under ``signal`` (learnable-signal
    strength per dataset) and ``shared_sd`` (shared-effect SD per dataset), exactly as the simulator draws them."""
    from mmr_utils.features.bank import FeatureBank

    probabilities = correctness_probabilities(data.latents, data.seed, shared_sd, signal)
    datasets = data.latents["dataset"].to_numpy()
    outcomes = _draw_outcomes(probabilities, datasets, data.seed, "systematic")
    tokens = _draw_tokens(data.latents, outcomes, data.seed)
    prices = np.array([cal.PRICE_PER_OUTPUT_TOKEN[m] for m in cal.MODELS])
    table = data.bank.table
    order = [cal.MODELS.index(m) for m in table.models]
    rows = data.rows
    new = dataclasses.replace(table, correct=outcomes[rows][:, order].astype(float),
                              cost=(tokens * prices[None, :])[rows][:, order].astype(float),
                              tokens=tokens[rows][:, order].astype(float))
    return FeatureBank(new, data.bank.choice, data.bank.text, data.bank.image, data.bank.info)


def learned_ps(bank, routers, seeds, *, datasets=None, full: bool = False,
               router_params=PROTOCOL["router_params"]) -> pd.DataFrame:
    """Ps and official nAUC (router, dataset, seed, Ps, nAUC) of ``routers`` per dataset under the official
    per-dataset protocol; with ``full`` also trained on all datasets (``"All"``) beside the best single model."""
    from mmr_utils.data.splits import instance_split
    from mmr_utils.experiments.runs import RunConfig, fit_predict
    from mmr_utils.experiments.scoring import score_run
    from mmr_utils.experiments.studies import _dataset_splits

    table = bank.table
    names = table.instances["dataset"].to_numpy()
    wanted = set(table.datasets if datasets is None else datasets)
    config = RunConfig(train_fraction=PROTOCOL["train_fraction"], seeds=seeds, mode=PROTOCOL["mode"],
                       fusion=PROTOCOL["fusion"], router_params=router_params)
    rows = []
    with _no_result_cache():
        for seed in seeds:
            split = instance_split(table, PROTOCOL["train_fraction"], seed=seed)
            for sub in _dataset_splits(split, names, PROTOCOL["train_fraction"]):
                if sub.info["dataset"] not in wanted:
                    continue
                for router in routers:
                    run = fit_predict(bank, router, sub, config, seed=seed)
                    record = score_run(table, run, per_dataset=False)[0][0]
                    rows.append({"router": router, "dataset": sub.info["dataset"], "seed": seed,
                                 "Ps": record["Ps"], "nAUC": record["nAUC"]})
            if full:
                test = split.test
                best = float(np.nanmean(table.correct[test], axis=0).max())
                rows.append({"router": "best_single", "dataset": "All", "seed": seed, "Ps": best, "nAUC": np.nan})
                for router in routers:
                    run = fit_predict(bank, router, split, config, seed=seed)
                    record = score_run(table, run, per_dataset=False)[0][0]
                    rows.append({"router": router, "dataset": "All", "seed": seed, "Ps": record["Ps"],
                                 "nAUC": record["nAUC"]})
    return pd.DataFrame(rows)


def _refit_shared(data: CalibrationData, dataset: str, signal: dict[str, float]) -> float:
    from mmr_utils.data.simulator.fitting import calibrate

    return calibrate(data.scale, data.seed, signal=signal, datasets=[dataset], latents=data.latents)[dataset]


def fit_signal(data: CalibrationData, *, routers=CALIBRATION_ROUTERS, seeds=(0, 1, 2), datasets=None,
               start: dict[str, float] | None = None, rounds: int = 6,
               tolerance: float = TARGETS["search_tolerance"], log=None) -> tuple[dict, dict, pd.DataFrame]:
    """(signal, shared_sd, trace): per dataset the signal strength at which the mean Ps of ``routers`` over ``seeds``
    equals their Table 2 mean (``sigma_d`` refitted per value): from ``start`` a 30% step toward the gap's sign, then
    secant steps in the last sign-changing bracket and :data:`SIGNAL_BRACKET` to ``|gap| <= tolerance`` or
    ``rounds``."""
    chosen = list(cal.DATASET_SIZES) if datasets is None else list(datasets)
    ps = paper_learned_ps()
    signal = dict(cal.LEARNABLE_SIGNAL if start is None else start)
    shared = dict(cal.SHARED_EFFECT_SD)
    trace = []
    low_end, high_end = SIGNAL_BRACKET
    for dataset in chosen:
        target = float(np.mean([ps[(r, dataset)] for r in routers]))

        def gap(s: float, step: int) -> float:
            trial = {**signal, dataset: s}
            sd = _refit_shared(data, dataset, trial)
            bank = with_outcomes(data, trial, {**shared, dataset: sd})
            frame = learned_ps(bank, routers, seeds, datasets=[dataset])
            achieved = float(frame["Ps"].mean())
            trace.append({"dataset": dataset, "step": step, "signal": s, "shared_sd": sd, "target": target,
                          "achieved": achieved, "gap": achieved - target})
            if log is not None:
                log(f"{dataset:16s} step {step}: signal {s:.4f} shared sd {sd:.4f} Ps {achieved:.4f} "
                    f"(target {target:.4f}, gap {achieved - target:+.4f})")
            return achieved - target

        points = [(signal[dataset], gap(signal[dataset], 0))]
        while len(points) < rounds and abs(min(points, key=lambda p: abs(p[1]))[1]) > tolerance:
            below = [p for p in points if p[1] < 0]
            above = [p for p in points if p[1] > 0]
            lo = max(below, key=lambda p: p[0]) if below else None  # the largest s still short of the target
            hi = min(above, key=lambda p: p[0]) if above else None  # the smallest s already past it
            last, previous = points[-1], points[-2] if len(points) > 1 else None
            if previous is None or previous[1] == last[1]:
                s = last[0] * (0.7 if last[1] > 0 else 1.3) + (0.0 if last[1] > 0 else 0.05)
            else:
                s = last[0] - last[1] * (last[0] - previous[0]) / (last[1] - previous[1])
            if lo is not None and hi is not None:  # keep inside the bracket, away from its ends
                a, b = sorted((lo[0], hi[0]))
                if not a + 0.1 * (b - a) <= s <= b - 0.1 * (b - a):
                    s = lo[0] + (hi[0] - lo[0]) * lo[1] / (lo[1] - hi[1])  # regula falsi
                    s = min(max(s, a + 0.1 * (b - a)), b - 0.1 * (b - a))
            s = round(min(max(s, low_end), high_end), 4)
            if any(abs(s - p[0]) < 1e-4 for p in points):
                break
            points.append((s, gap(s, len(points))))
        best = min(points, key=lambda p: abs(p[1]))[0]
        signal[dataset] = best
        shared[dataset] = _refit_shared(data, dataset, signal)
    return signal, shared, pd.DataFrame(trace)


def check(bank, *, routers=CHECK_ROUTERS, seeds=(0, 1, 2), router_params=PROTOCOL["router_params"]
          ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(cells, gains, summary): ``routers``' Ps and nAUC per dataset and ``"All"`` beside the paper's Table 2, their
    full-set gains over the best single model beside the paper's, and the counts against :data:`TARGETS`."""
    frame = learned_ps(bank, routers, seeds, full=True, router_params=router_params)
    from mmr_utils.data.paper import PAPER_TABLE2, PAPER_TABLE2_DATASETS

    means = frame.groupby(["router", "dataset"])[["Ps", "nAUC"]].mean()
    rows = []
    for router in routers:
        for dataset, (nauc, ps) in zip(PAPER_TABLE2_DATASETS, PAPER_TABLE2[router]):
            here_ps, here_nauc = means.loc[(router, dataset), "Ps"], means.loc[(router, dataset), "nAUC"]
            rows.append({"router": router, "dataset": dataset, "paper_ps": ps, "here_ps": here_ps,
                         "difference_ps": here_ps - ps, "paper_nauc": nauc, "here_nauc": here_nauc,
                         "difference_nauc": here_nauc - nauc})
    cells = pd.DataFrame(rows)
    best = float(means.loc[("best_single", "All"), "Ps"])
    paper_gain = paper_full_gains()
    gains = pd.DataFrame([{"router": r, "paper_gain": paper_gain[r], "here_gain": means.loc[(r, "All"), "Ps"] - best,
                           "here_best_single": best} for r in routers])
    gains["difference"] = gains["here_gain"] - gains["paper_gain"]
    # the 32 cells of Table 2: 4 routers x (7 datasets + the full set)
    summary = cal.against_targets(cells["difference_ps"], gains["difference"])
    return cells, gains, summary


def nano_point(table) -> dict[str, float]:
    """gpt-5-nano's accuracy and mean cost per call (USD) on the six Figure-4 datasets of ``table`` (an
    ``OutcomeTable``), beside the paper's Figure-4 point and the tolerances (:data:`~.calibration.PAPER_NANO_FIG4`)."""
    model = "gpt-5-nano-2025-08-07"
    if model not in table.models:
        raise ValueError(f"the table has no {model} column; models: {list(table.models)}")
    k = list(table.models).index(model)
    rows = table.instances["dataset"].isin(cal.FIG4_DATASETS).to_numpy()
    return {"accuracy": float(np.nanmean(table.correct[rows, k])), "mean_cost": float(np.nanmean(table.cost[rows, k])),
            "paper_accuracy": cal.PAPER_NANO_FIG4["accuracy"], "paper_mean_cost": cal.PAPER_NANO_FIG4["mean_cost"]}


def write_fitted(path: Path, signal: dict, shared: dict, excess: dict, record: dict) -> None:
    """Write the fitted parameters and the calibration record to ``path`` atomically (checked by reading it back)."""
    from mmr_utils._io import atomic_write_text

    payload = {"learnable_signal": {d: round(float(signal[d]), 4) for d in cal.DATASET_SIZES},
               "shared_effect_sd": {d: round(float(shared[d]), 4) for d in cal.DATASET_SIZES},
               "random_peak_excess": {g: float(excess[g]) for g in [*cal.DATASET_SIZES, "Full"]}, **record}
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=False, default=_json_default) + "\n")
    cal.read_fitted(path)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to the calibration record")


def run_calibration(scale: float = cal.CALIBRATION_SCALE, seed: int = cal.CALIBRATION_SEED, *, seeds=(0, 1, 2),
                    routers=CALIBRATION_ROUTERS, check_routers=CHECK_ROUTERS, datasets=None, rounds: int = 6,
                    write: Path | None = None, log=print) -> dict:
    """The calibration step (returns its record): fit signal, shared effect, recompute Random peak excess, score
    ``check_routers`` vs Table 2, ``write``: store it (:func:`write_fitted`); ``datasets``: fit those only, no write."""
    from mmr_utils.data.simulator.fitting import random_peak_excess

    if datasets is not None and write is not None:
        raise ValueError(f"a calibration of some datasets only ({list(datasets)}) cannot be written to {write}: the "
                         f"stored parameters must all come from one run; pass write=None (--no-write)")
    started = time.perf_counter()
    data = calibration_data(scale, seed, datasets=datasets)
    log(f"content and features ready ({time.perf_counter() - started:.0f} s, {data.bank.table.n} rows, "
        f"{data.bank.encoder})")
    signal, shared, trace = fit_signal(data, routers=routers, seeds=seeds, datasets=datasets, rounds=rounds, log=log)
    bank = with_outcomes(data, signal, shared)
    excess = random_peak_excess(bank.table) if datasets is None else {}
    fit_seconds = time.perf_counter() - started
    record = {"settings": {"scale": scale, "seed": seed, "split_seeds": list(seeds), "routers": list(routers),
                           "check_routers": list(check_routers), "protocol": PROTOCOL, "rounds": rounds},
              "targets": TARGETS, "fit_seconds": round(fit_seconds, 1), "trace": trace.to_dict(orient="records"),
              "nano_fig4": nano_point(bank.table) if datasets is None else None}
    if check_routers and datasets is None:
        cells, gains, summary = check(bank, routers=check_routers, seeds=seeds)
        record.update({"cells": cells.to_dict(orient="records"), "gains": gains.to_dict(orient="records"),
                       "summary": summary})
    record["seconds"] = round(time.perf_counter() - started, 1)
    if write is not None:
        write_fitted(Path(write), signal, shared, excess, record)
    return {"learnable_signal": signal, "shared_effect_sd": shared, "random_peak_excess": excess, **record}


def stored_record(path: Path = cal.FITTED_FILE) -> dict:
    """The record the last calibration step wrote beside its fitted values (settings, cells, gains, summary)."""
    return cal.read_fitted(path)


def reproduce(datasets, path: Path = cal.FITTED_FILE) -> pd.DataFrame:
    """Per dataset, the calibration routers' mean Ps at the stored fit and recorded settings beside the value the
    calibration step recorded (dataset, signal, recorded, reproduced, difference)."""
    record = stored_record(path)
    settings = record.get("settings")
    if not settings or "trace" not in record:
        raise ValueError(f"{path} holds no calibration record (settings and trace); run the calibration step")
    # The whole benchmark, as the fit saw it: each dataset's split is drawn from the full table's rows.
    data = calibration_data(settings["scale"], settings["seed"])
    bank = with_outcomes(data, record["learnable_signal"], record["shared_effect_sd"])
    frame = learned_ps(bank, settings["routers"], settings["split_seeds"], datasets=datasets)
    trace = pd.DataFrame(record["trace"])
    rows = []
    for dataset in datasets:
        signal = record["learnable_signal"][dataset]
        steps = trace[(trace["dataset"] == dataset) & ((trace["signal"] - signal).abs() < 1e-9)]
        if steps.empty:
            raise ValueError(f"{path}: the trace has no evaluation of {dataset} at its stored signal {signal}")
        reproduced = float(frame.loc[frame["dataset"] == dataset, "Ps"].mean())
        recorded = float(steps["achieved"].iloc[-1])
        rows.append({"dataset": dataset, "signal": signal, "recorded": recorded, "reproduced": reproduced,
                     "difference": reproduced - recorded})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=cal.CALIBRATION_SCALE)
    parser.add_argument("--seed", type=int, default=cal.CALIBRATION_SEED, help="data seed of the simulator")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="split seeds")
    parser.add_argument("--routers", nargs="+", default=list(CALIBRATION_ROUTERS))
    parser.add_argument("--check-routers", nargs="*", default=list(CHECK_ROUTERS))
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--no-write", action="store_true", help="report only; keep the stored parameters")
    parser.add_argument("--report", type=Path, default=None, help="also write the full record as JSON here")
    args = parser.parse_args(argv)
    result = run_calibration(args.scale, args.seed, seeds=args.seeds, routers=args.routers,
                             check_routers=args.check_routers, datasets=args.datasets, rounds=args.rounds,
                             write=None if args.no_write else cal.FITTED_FILE)
    print(json.dumps({k: result[k] for k in ("learnable_signal", "shared_effect_sd", "nano_fig4")}, indent=1))
    if "cells" in result:
        print(pd.DataFrame(result["cells"]).round(4).to_string())
        print(pd.DataFrame(result["gains"]).round(4).to_string())
        print(result["summary"])
    print(f"total {result['seconds']:.0f} s")
    if args.report is not None:
        from mmr_utils._io import atomic_write_text

        atomic_write_text(args.report, json.dumps(result, indent=1, default=_json_default) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
