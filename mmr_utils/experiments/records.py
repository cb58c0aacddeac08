"""Result records of one router on one split, as ``mmr_utils evaluate`` and the sweep write them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmr_utils.data.splits import cross_dataset_split, instance_split
from mmr_utils.experiments.runs import RunConfig, fit_predict
from mmr_utils.experiments.scoring import complete_test
from mmr_utils.features.bank import FeatureBank
from mmr_utils.metrics.summary import random_routing, summarize


@dataclass(frozen=True)
class EvaluatedRun:
    """:func:`evaluate_run`'s result: the record; on scored test ``rows`` predicted ``U``, ``P``, true ``Y``, ``C``."""

    record: dict
    U: np.ndarray
    P: np.ndarray
    Y: np.ndarray
    C: np.ndarray
    rows: np.ndarray


def evaluate(bank: FeatureBank, router: str, config: RunConfig, **kwargs) -> dict:
    """One router on one split (the configuration's first seed; ``split_procedure="official"``, seed 42: official
    split): the CLI's result JSON (Sec. 3.3 metrics, references, frontier); keywords of :func:`evaluate_run`."""
    return evaluate_run(bank, router, config, **kwargs).record


def evaluate_run(bank: FeatureBank, router: str, config: RunConfig, *, random_draws: int = 50, source=None,
                 target=None, rule: str = "threshold", random_protocol: str = "official",
                 split_procedure: str = "stratified") -> EvaluatedRun:
    """:func:`evaluate`'s record with the scored rows' ``U``, ``P``, ``Y``, ``C``, for further metrics on those rows."""
    table = bank.table
    seed = config.seeds[0]
    if (source is None) != (target is None):
        raise ValueError("give both --source and --target for a cross-dataset split, or neither")
    split = (cross_dataset_split(table, source, target) if source is not None
             else instance_split(table, config.train_fraction, seed=seed, procedure=split_procedure))
    run = fit_predict(bank, router, split, config, seed=seed)
    keep, rows, Y, C = complete_test(table, split.test)
    summary = summarize(run.U[keep], run.P[keep], Y, C, rule=rule)
    singles = summary.single_models
    record = {
        "router": router,
        "router_params": run.info["params"],
        "data": {"root": table.source.get("path"), "simulated": bool(table.source.get("simulated")),
                 "datasets": table.datasets, "rows": table.n, "train_rows": int(len(split.train)),
                 "test_rows": int(len(split.test)), "models": list(table.models),
                 "missing_cells": table.missing_per_model(),
                 "missing_images": table.source.get("missing_images", {}),
                 "missing_handling": f"routers learn from observed cells only; {int((~keep).sum())} test rows with a "
                                     f"missing cell are left out of the metrics"},
        "split": split.info,
        "encoder": bank.encoder,
        "encoder_detail": bank.info.get("encoder"),
        "mode": config.mode,
        "fusion": run.info["fusion"],
        "seed": seed,
        "rule": rule,
        "metrics": summary.metrics,
        "single_models": {m: {"accuracy": float(a), "mean_cost": float(c)}
                          for m, (c, a) in zip(table.models, singles)},
        "best_single": table.models[summary.best_single],
        "frontier": summary.frontier.tolist(),
        "oracle": {"cost": summary.oracle[0], "accuracy": summary.oracle[1]},
        "random": random_routing(Y, C, draws=random_draws, seed=seed, protocol=random_protocol),
        "notes": summary.extra.get("notes", []),
    }
    return EvaluatedRun(record, run.U[keep], run.P[keep], Y, C, rows)


def write_result(record: dict, path) -> None:
    """Write a result record as JSON, atomically (infinite QNC is written as the string "inf")."""
    import json

    from mmr_utils._io import atomic_write_text

    def default(value):
        if isinstance(value, (np.integer,)):
            return int(value)
        if isinstance(value, (np.floating,)):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
        return str(value)

    def finite(value):
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value

    atomic_write_text(path, json.dumps(finite(record), indent=2, default=default) + "\n")


def evaluate_point(bank: FeatureBank, router: str, config: RunConfig, *, result_path=None, **kwargs) -> dict:
    """:func:`evaluate` plus the JSON file a sweep aggregates (flat metrics at the top level for the CSV)."""
    record = evaluate(bank, router, config, **kwargs)
    record.update(record["metrics"])
    record["train_fraction"] = config.train_fraction
    if result_path is not None:
        write_result(record, result_path)
    return record


def format_result(record: dict) -> str:
    """A one-screen summary of an :func:`evaluate` record."""
    m = record["metrics"]
    data = record["data"]
    lines = [
        f"router {record['router']} | mode {record['mode']} | fusion {record['fusion']} | seed {record['seed']}",
        f"data: {data['root']} ({'SIMULATED' if data['simulated'] else 'real'}), datasets {', '.join(data['datasets'])}"
        f", {data['train_rows']} train / {data['test_rows']} test rows",
        f"encoder: {record['encoder']}",
        f"nAUC (official) {m['nAUC']:.4f} | nAUC (shared) {m['nAUC_shared']:.4f} | Ps {m['Ps']:.4f} | QNC {m['QNC']:.3f}",
        f"best single: {record['best_single']} "
        f"(accuracy {record['single_models'][record['best_single']]['accuracy']:.4f})",
        f"oracle: accuracy {record['oracle']['accuracy']:.4f} at mean cost {record['oracle']['cost']:.3e}",
        f"random ({record['random']['draws']} draws): accuracy {record['random']['accuracy']:.4f}, "
        f"nAUC (shared) {record['random']['nAUC_shared']:.4f}",
        f"frontier: {len(record['frontier'])} points; missing: {data['missing_handling']}",
    ] + [f"note: {note}" for note in record.get("notes", [])]
    return "\n".join(lines)
