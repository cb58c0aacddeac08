"""What a cold ``make figures`` trains: every distinct neural-router run of notebooks 03-06 at their full-size
parameters, and its cost at a measured speed.

The studies are called exactly as the notebooks call them, with ``fit_predict`` replaced by a recorder that returns
random predictions instead of training (so this takes seconds, and its metrics mean nothing). Runs are deduplicated by
the run cache's own identity (router and parameters, mode, fusion, seed, split rows), as a cold ``make figures``
trains each once. Cost of a run = training rows x epochs x seconds per row-epoch, the latter from
``benchmarks/results/speed.json`` (written by bench_speed.py; its one-thread column) or ``--seconds-per-epoch
router=S`` (seconds per epoch at 2,074 rows). Writes ``benchmarks/results/figures_cost.md``.

Run: ``python benchmarks/bench_figures_cost.py [--seconds-per-epoch mlp=0.2 mlp_mf=0.2 cmr=7]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from mmr_utils._io import atomic_write_text
from mmr_utils.experiments import runs, studies
from mmr_utils.features import bank as feature_bank

PARAMS = Path(__file__).resolve().parents[1] / "notebooks" / "params"
RESULTS = Path(__file__).resolve().parent / "results"
ROWS_AT_20 = 2074


@contextlib.contextmanager
def recording():
    """Replace fit_predict (in the modules that call it) by a recorder and prefetch_runs by nothing; yields {run identity: (router, rows, epochs)}."""
    seen = {}

    def fake(bank, router, split, config=None, *, seed=None):
        # Same signature and run identity as runs.fit_predict.
        config = config or runs.RunConfig()
        seed = config.seeds[0] if seed is None else seed
        identity = runs.run_identity(bank, router, split, config, seed)
        mode = config.mode
        strategy = identity.fusion_args["strategy"]
        if identity.cls.neural:
            seen.setdefault(identity.name, (router, len(split.train), identity.params.get("epochs", 100)))
        rng = np.random.default_rng(seed)
        k = len(bank.table.models)
        return runs.RouterRun(router, rng.random((len(split.test), k)), rng.random((len(split.test), k)) * 1e-3,
                              split.test, {"seed": seed, "mode": mode, "fusion": strategy})

    # prefetch_runs would train the neural runs ahead of the recorder; nothing may train here.
    saved = studies.fit_predict, studies.prefetch_runs
    studies.fit_predict, studies.prefetch_runs = fake, lambda requests: 0
    try:
        yield seen
    finally:
        studies.fit_predict, studies.prefetch_runs = saved


def notebook_runs(bank) -> dict[str, dict]:
    """Distinct neural runs per notebook (each notebook's runs not already trained by an earlier one)."""
    p = {name: yaml.safe_load((PARAMS / f"{name}.full.yaml").read_text()) for name in
         ("03_main_results", "04_modality_fusion", "05_generalisation", "06_metric_audit")}
    def config(a):
        return runs.RunConfig(train_fraction=a.get("train_fraction", 0.2), seeds=a["seeds"], mode=a.get("mode", "22"),
                              fusion=a.get("fusion", "mean"), router_params=a["router_params"])

    calls = {
        "03_main_results": lambda a: [studies.main_results.__wrapped__(
            bank, config(a), random_draws=a["random_draws"], protocols=a["protocols"])],
        "04_modality_fusion": lambda a: [studies.modality_study.__wrapped__(
            bank, config(a), a["routers"], fusions=a["fusions"])],
        "05_generalisation": lambda a: [
            studies.cross_dataset_study.__wrapped__(bank, config(a), a["routers"], protocol="paper"),
            studies.cross_dataset_study.__wrapped__(bank, config(a), a["routers"]),
            studies.image_masked_transfer.__wrapped__(bank, config(a), a["routers"]),
            studies.model_subset_transfer.__wrapped__(bank, config(a), a["routers"], pool_size=a["pool_size"]),
            studies.data_efficiency.__wrapped__(bank, config(a).replace(seeds=a["efficiency_seeds"]), a["routers"],
                                                fractions=a["fractions"])],
        "06_metric_audit": lambda a: [studies.metric_audit.__wrapped__(bank, config(a))],
    }
    per_notebook, before = {}, set()
    with recording() as seen:
        for name, call in calls.items():
            call(p[name])
            per_notebook[name] = {key: seen[key] for key in seen if key not in before}
            before = set(seen)
    return per_notebook


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-epoch", nargs="+", default=None, metavar="ROUTER=S")
    args = parser.parse_args(argv)
    if args.seconds_per_epoch:
        source = "given on the command line"
        per_epoch = {}
        for item in args.seconds_per_epoch:
            router, _, value = item.partition("=")
            try:
                per_epoch[router] = float(value)
            except ValueError:
                raise SystemExit(f"--seconds-per-epoch {item!r}: expected ROUTER=SECONDS") from None
    else:
        measured = RESULTS / "speed.json"
        if not measured.exists():
            raise SystemExit(f"{measured} not found: run benchmarks/bench_speed.py first or pass --seconds-per-epoch")
        source = f"{measured.name}, one thread"
        per_epoch = json.loads(measured.read_text())["seconds_per_epoch"]["1"]
    speed = {router: seconds / ROWS_AT_20 for router, seconds in per_epoch.items()}
    bank = feature_bank.load_and_embed("", scale=1.0, seed=0)
    lines = ["| notebook | router | new runs | row-epochs (millions) | estimated seconds |", "|---|---|---:|---:|---:|"]
    total = 0.0
    for name, found in notebook_runs(bank).items():
        by_router = defaultdict(lambda: [0, 0])
        for router, rows, epochs in found.values():
            by_router[router][0] += 1
            by_router[router][1] += rows * epochs
        for router, (count, row_epochs) in sorted(by_router.items()):
            if router not in speed:
                raise SystemExit(f"--seconds-per-epoch has no speed for {router!r} (used by {name})")
            seconds = row_epochs * speed[router]
            total += seconds
            lines.append(f"| {name} | {router} | {count} | {row_epochs / 1e6:.2f} | {seconds:.0f} |")
    lines.append(f"| all | | | | {total:.0f} ({total / 60:.0f} min) |")
    epochs = sorted({str(yaml.safe_load((PARAMS / f"{n}.full.yaml").read_text())["router_params"])
                     for n in ("03_main_results", "04_modality_fusion", "05_generalisation", "06_metric_audit")})
    note = (f"# Neural training in a cold make figures (notebooks 03-06)\n\nDistinct neural runs at the full-size "
            f"parameter files (router_params {', '.join(epochs)}), each notebook counting only runs no earlier notebook "
            f"trained (the run cache); seconds per epoch at 2,074 rows: "
            + ", ".join(f"{r} {s:.3f}" for r, s in per_epoch.items()) + f" ({source}). Training only: features, "
            f"scoring and the non-neural routers come on top. Written by benchmarks/bench_figures_cost.py.\n\n"
            + "\n".join(lines) + "\n")
    atomic_write_text(RESULTS / "figures_cost.md", note)
    print(note)


if __name__ == "__main__":
    main()
