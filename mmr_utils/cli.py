"""Command line: ``python -m mmr_utils <subcommand>`` (``mmr-utils``): ``data``, ``data-official``, ``data-mathv``,
``audit`` and ``evaluate``. Expected failures exit with status 1 and one message on stderr (``--traceback`` shows the
traceback). Notebook tooling is ``python -m tools``, outside the package."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mmr_utils import paths


class CLIError(RuntimeError):
    """An expected failure of a subcommand; its message is all the user needs to see."""

#: ``data --outcome-sampling`` choices: the simulator's OUTCOME_SAMPLINGS (a test checks; not imported: light parser).
SIMULATOR_OUTCOME_SAMPLINGS = ("systematic", "bernoulli")
#: ``evaluate --metrics`` families: the protocol's four metrics (always computed) and the peer benchmarks'.
EVALUATE_METRICS = ("protocol", "peer")


def cmd_data(args: argparse.Namespace) -> int:
    import pandas as pd

    from mmr_utils.data.simulator.benchmark import simulate_benchmark
    from mmr_utils.data.simulator.calibration import MODELS

    started = time.perf_counter()
    out = simulate_benchmark(args.out, scale=args.scale, seed=args.seed, outcome_sampling=args.outcome_sampling,
                             force=args.force)
    table = pd.read_csv(out / "MMR-Bench.csv")
    print(f"wrote SIMULATED benchmark to {out} in {time.perf_counter() - started:.1f} s")
    print(f"  MMR-Bench.csv: {len(table)} rows x {table.shape[1]} columns; images under {out / 'images'}")
    print(f"  latent.csv, SIMULATED.md, provenance.json (seed {args.seed}, scale {args.scale})")
    for model in MODELS:
        print(f"  {model:26s} accuracy {table[f'{model}_correct'].mean():6.1%}  "
              f"mean cost {1e3 * table[f'{model}_cost'].mean():.3f}e-3 USD")
    return 0


def _describe_and_audit(table) -> None:
    """Print what a data command produced: the table's description and its one-line audit (mmr_utils.data.audit)."""
    from mmr_utils.data.audit import audit_table

    print(table.describe())
    print(audit_table(table).summary())


def cmd_data_official(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.version == 2:
        from mmr_utils.data.hub import download_v2
        from mmr_utils.data.v2 import V2_REVISION, load_v2

        out = download_v2(args.out or paths.OFFICIAL_V2, revision=args.revision or V2_REVISION,
                          local_source=args.local_source, include_images=args.include_images, force=args.force)
        _describe_and_audit(load_v2(out, image_root=None))
    else:
        if args.include_images:
            raise CLIError("--include-images is for --version 2 (version 1 always unpacks images.tar.gz)")
        from mmr_utils.data.hub import HUB_REVISION, download_official
        from mmr_utils.data.official import load_table

        out = download_official(args.out or paths.OFFICIAL, revision=args.revision or HUB_REVISION,
                                local_source=args.local_source, force=args.force)
        _describe_and_audit(load_table(out))
    print(f"data-official: {out} ready in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_data_mathv(args: argparse.Namespace) -> int:
    from mmr_utils.data.mathv import SAMPLE_DIR, build_sample, convert_mathv
    from mmr_utils.data.mathv_snapshot import MathVUnavailableError, SnapshotMismatchError, resolve_source
    from mmr_utils.data.official import load_table

    started = time.perf_counter()
    try:  # a --source given here is relative to the caller's folder (the library resolves against the checkout)
        source, how = resolve_source(args.source.absolute() if args.source else None, download=not args.no_download)
    except (MathVUnavailableError, SnapshotMismatchError) as err:
        raise CLIError(str(err)) from err
    print(f"data-mathv: MATH-V source {paths.relative_to_root(source)} ({how})")
    if args.sample:
        out = build_sample(source, args.out or SAMPLE_DIR, force=args.force)
    else:
        out = convert_mathv(source, args.out or paths.MATHV, tokenizer=args.tokenizer, force=args.force)
    _describe_and_audit(load_table(out))
    print(f"data-mathv: {paths.relative_to_root(out)} written in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit one outcome table (:func:`mmr_utils.data.audit.audit_table`), print it, optionally write its tables."""
    import pandas as pd

    from mmr_utils.data.audit import audit_table, load_any
    from mmr_utils.data.splits import instance_split

    if args.train_fraction is not None and not 0 < args.train_fraction < 1:
        raise CLIError(f"--train-fraction must be strictly between 0 and 1, got {args.train_fraction}")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CLIError(f"--out {args.out} is an existing file; audit writes a folder of tables (audit_*.csv, "
                       f"audit.json)")
    for option, value, least in (("--neighbours", args.neighbours, 1), ("--show", args.show, 0)):
        if value is not None and value < least:
            raise CLIError(f"{option} must be at least {least}, got {value}")
    settings = {key: value for key, value in (("near_duplicate_threshold", args.threshold),
                                              ("neighbours", args.neighbours)) if value is not None}
    table = load_any(args.path, datasets=None if args.datasets in (None, "all") else args.datasets)
    split = None
    if args.train_fraction is not None:
        split = instance_split(table, args.train_fraction, seed=args.seed, procedure=args.split_procedure)
    report = audit_table(table, split=split, **settings)
    print(table.describe())
    print(report.summary(markdown=args.markdown))
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
        print(report.coverage.to_string(index=False))
        for name, frame in report.frames().items():
            if name != "coverage" and len(frame):
                print(f"\n{name} (first {min(args.show, len(frame))} of {len(frame)}):")
                print(frame.head(args.show).to_string(index=False))
    if args.out is not None:
        report.write(args.out)
        print(f"audit: tables and audit.json written to {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    """Fit one router on an official-schema table, evaluate it with the protocol, print a summary, write JSON."""
    from mmr_utils.data.official import load_table
    from mmr_utils.experiments.records import evaluate_run, format_result, write_result
    from mmr_utils.features.bank import embed_table

    for option, value, least in (("--seed", args.seed, 0), ("--random-draws", args.random_draws, 1),
                                 ("--epochs", args.epochs, 1), ("--bootstrap", args.bootstrap, 1)):
        if value is not None and value < least:
            raise CLIError(f"{option} must be at least {least}, got {value}")
    if args.out is not None:
        _check_output_file(args.out, "--out")
    table = load_table(args.data_root, datasets=None if args.datasets in (None, "all") else args.datasets,
                       images=None if args.no_images else "auto")
    if len(table.models) < 2:
        raise CLIError(f"{table.source['path']} has one model ({', '.join(table.models)}): routing chooses between "
                       f"models, so the table needs at least two (<model>_correct and <model>_cost column pairs)")
    if not table.has_images.any() and any(flag in "23" for flag in args.mode):
        raise CLIError(f"{table.source['path']} has no images ({table.source.get('images')}): only text mode 11 "
                       f"makes sense for a text-only table, got --mode {args.mode}")
    bank = embed_table(table, args.encoder, seed=args.seed, progress=not args.quiet)
    from mmr_utils.experiments.runs import RunConfig, router_class

    epochs = {args.router: {"epochs": args.epochs}} if args.epochs and router_class(args.router).neural else {}
    config = RunConfig(train_fraction=args.train_fraction, seeds=(args.seed,), mode=args.mode, fusion=args.fusion,
                       router_params=epochs)
    result = evaluate_run(bank, args.router, config, random_draws=args.random_draws, source=args.source,
                          target=args.target, rule=args.rule)
    record = result.record
    print(format_result(record))
    tables = _evaluate_tables(args, result, table.models)
    if tables:
        record["tables"] = {name: paths.relative_to_root(path) for name, path in tables.items()}
    if args.out is not None:
        write_result(record, args.out)
        print(f"wrote {args.out}")
    return 0


def _check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, an output file path that is a folder or lies under a file."""
    if path.is_dir():
        raise CLIError(f"{option} {path} is an existing folder; give a file path (e.g. {path / 'result.json'})")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CLIError(f"{option} {path}: {parent} is a file, so no file can be written under it")


def _evaluate_tables(args, result, models) -> dict[str, Path]:
    """``evaluate``'s optional tables (``--metrics peer``, ``--bootstrap N``), also saved as ``<stem>.<name>.csv``."""
    import pandas as pd

    from mmr_utils._io import atomic_open

    frames = {}
    if "peer" in args.metrics:
        from mmr_utils.metrics.peer_table import peer_metrics_table

        frames["peer_metrics"] = peer_metrics_table({args.router: (result.U, result.P)}, result.Y, result.C,
                                                    models=models, rule=args.rule, random_trials=args.random_draws,
                                                    random_seed=args.seed)
    if args.bootstrap:
        from mmr_utils.metrics.uncertainty import uncertainty_table

        frames["uncertainty"] = uncertainty_table([(result.Y, result.C, {args.router: (result.U, result.P)})],
                                                  metrics=args.bootstrap_metrics, reference="Best Single",
                                                  n_boot=args.bootstrap, seed=args.seed, rule=args.rule)
    written = {}
    with pd.option_context("display.width", 160, "display.max_columns", 40):
        for name, frame in frames.items():
            print(f"\n{name}:\n{frame.to_string(index=False)}")
            if args.out is not None:
                path = args.out.with_name(f"{args.out.stem}.{name}.csv")
                with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
                    frame.to_csv(handle, index=False)
                print(f"wrote {path}")
                written[name] = path
    return written


def _names_from(text: str, allowed, what: str, hint: str = "") -> list[str]:
    """Comma-separated names from ``text``, each in ``allowed`` (else an argparse error naming ``what``)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown or [text]}; choose from {', '.join(allowed)}{hint}")
    return names


def _metric_list(text: str) -> list[str]:
    """``--metrics`` value: comma-separated families (``protocol`` always runs)."""
    return _names_from(text, EVALUATE_METRICS, "metric families", " (comma-separated)")


def _bootstrap_metric_list(text: str) -> list[str]:
    """``--bootstrap-metrics`` value: comma-separated names of frontier metrics."""
    from mmr_utils.metrics.peer import FRONTIER_METRICS

    return _names_from(text, FRONTIER_METRICS, "metrics")


def add_evaluate_parser(subparsers) -> None:
    """Register the ``evaluate`` subcommand (router x features x budget sweep on an outcome table, paper Sec. 3.3)."""
    from mmr_utils.routers.base import ROUTERS

    p = subparsers.add_parser("evaluate", help="fit and evaluate one router on an official-schema outcome table")
    p.add_argument("--data-root", type=Path, required=True, help="folder with MMR-Bench.csv / MMR_Bench.csv, or a CSV")
    p.add_argument("--datasets", default="all", help="datasets to use, NAME+NAME (aliases ok) or all")
    p.add_argument("--router", required=True, choices=sorted(ROUTERS), metavar="ROUTER",
                   help=f"router to fit: {', '.join(sorted(ROUTERS))}")
    p.add_argument("--mode", default="22", help="train/test modality flags: 1 text, 2 text+image, 3 image (e.g. 21)")
    p.add_argument("--fusion", default="mean", help="text | image | mean | concat | adaptive")
    p.add_argument("--encoder", default="auto", help="auto | clip | offline | tfidf | TEXT+IMAGE")
    p.add_argument("--train-fraction", type=float, default=0.2, help="share of instances for training (official 0.2)")
    p.add_argument("--seed", type=int, default=42, help="seed of the split and the router (official 42)")
    p.add_argument("--source", help="cross-dataset split: training datasets (NAME+NAME)")
    p.add_argument("--target", help="cross-dataset split: test datasets (NAME+NAME)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of the neural routers (default: theirs, 100)")
    p.add_argument("--random-draws", type=int, default=50, help="draws of random routing")
    p.add_argument("--rule", choices=("threshold", "lambda"), default="threshold", help="budget sweep rule")
    p.add_argument("--no-images", action="store_true", help="ignore images even if present (text-only table)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--metrics", type=_metric_list, default=["protocol"],
                   help="metric families, comma-separated: protocol (nAUC, nAUC_shared, Ps, QNC; always) and peer "
                        "(RouterBench AIQ, RouteLLM APGR/CPT, ORBIT nAUC, savings, hypervolume, call shares: "
                        "mmr_utils.metrics.peer), written to <out stem>.peer_metrics.csv")
    p.add_argument("--bootstrap", type=int, default=None, metavar="N",
                   help="N bootstrap resamples of the test rows: intervals and a paired test against the best single "
                        "model (mmr_utils.metrics.uncertainty), written to <out stem>.uncertainty.csv")
    p.add_argument("--bootstrap-metrics", type=_bootstrap_metric_list, default=["nAUC_shared", "Ps", "QNC"],
                   help="metrics given intervals with --bootstrap, comma-separated (default nAUC_shared,Ps,QNC)")
    p.add_argument("--out", type=Path, help="result JSON path (the optional tables go beside it)")
    p.set_defaults(func=cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmr_utils", description="MMR-Bench companion: data, audit and evaluate commands.",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full Python traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("data", help="write the SIMULATED benchmark (official schema + rendered images)")
    p.add_argument("--out", type=Path, default=paths.SIMULATED,
                   help="output folder (replaced atomically; a non-empty folder this project did not write is refused)")
    p.add_argument("--force", action="store_true", help="replace --out even if this project did not write it")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each dataset's size, in (0, 1]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outcome-sampling", choices=SIMULATOR_OUTCOME_SAMPLINGS, default="systematic",
                   help="systematic: realised accuracy within 1/n of the target; bernoulli: independent coins")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("data-official", help="download (or install from a local copy) the official MMR-Bench release")
    p.add_argument("--version", type=int, choices=(1, 2), default=1,
                   help="1: MMR-Bench (the paper's, default); 2: MMR-Bench V2 (mmr_utils.data.v2)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"output folder (default {paths.relative_to_root(paths.OFFICIAL)}, or "
                        f"{paths.relative_to_root(paths.OFFICIAL_V2)} with --version 2)")
    p.add_argument("--local-source", type=Path,
                   help="folder laid out like the hub repo (v1: MMR-Bench.csv, images.tar.gz; v2: data/instances, "
                        "data/results)")
    p.add_argument("--revision", help="hub revision (commit SHA); default: the pinned one")
    p.add_argument("--include-images", action="store_true", help="version 2: also fetch the LMUData/ images")
    p.add_argument("--force", action="store_true",
                   help="replace an existing download (or a non-empty --out folder this project did not write)")
    p.set_defaults(func=cmd_data_official)

    p = sub.add_parser("data-mathv", help="convert MATH-V outputs to the official outcome-table schema")
    p.add_argument("--source", type=Path, default=None,
                   help="MATH-V folder (data/, images/, outputs/); default: the copy beside the checkout, an earlier "
                        "download, or a download of the pinned snapshot, in that order")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default data/mathv, or data/samples/mathv-testmini with --sample)")
    p.add_argument("--tokenizer", choices=("minilm", "chars4"), default="minilm",
                   help="output-token counter for the cost model")
    p.add_argument("--sample", action="store_true",
                   help="rebuild the shipped testmini sample (downscaled images) instead of the full conversion")
    p.add_argument("--no-download", action="store_true", help="never download; fail if no local copy is found")
    p.add_argument("--force", action="store_true", help="replace --out even if this project did not write it")
    p.set_defaults(func=cmd_data_mathv)

    p = sub.add_parser("audit", help="audit an outcome table: coverage, duplicates, near duplicates, split leakage",
                       description="Loads an official-schema CSV (or its folder, e.g. data/mathv) or an MMR-Bench V2 "
                       "folder, as text, and prints mmr_utils.data.audit.audit_table's report.")
    p.add_argument("path", type=Path, help="MMR-Bench.csv, a folder holding it, or an MMR-Bench V2 folder")
    p.add_argument("--datasets", default="all", help="datasets to audit, NAME+NAME (aliases ok) or all")
    p.add_argument("--threshold", type=float, default=None,
                   help="near-duplicate cosine threshold in (0, 1] (default: mmr_utils.data.audit.NEAR_DUPLICATE_THRESHOLD)")
    p.add_argument("--neighbours", type=int, default=None,
                   help="nearest neighbours examined per question (default: mmr_utils.data.audit.NEIGHBOURS)")
    p.add_argument("--train-fraction", type=float, default=None,
                   help="also check leakage across an instance split with this training share (e.g. 0.2)")
    p.add_argument("--seed", type=int, default=42, help="seed of that split (official 42)")
    p.add_argument("--split-procedure", choices=("stratified", "official"), default="stratified",
                   help="how that split is drawn (mmr_utils.data.splits.instance_split)")
    p.add_argument("--show", type=int, default=10, help="rows shown per listing (default 10)")
    p.add_argument("--markdown", action="store_true", help="print the summary as Markdown")
    p.add_argument("--out", type=Path, help="folder for audit_*.csv and audit.json")
    p.set_defaults(func=cmd_audit)

    add_evaluate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand of ``argv`` (default ``sys.argv[1:]``) and return its exit status (see :func:`run_command`)."""
    return run_command(build_parser, argv, module="mmr_utils")


def run_command(build, argv: Sequence[str] | None, *, module: str) -> int:
    """Run ``python -m <module>``'s subcommand (also ``python -m tools``'s): restart under the numerical pins when
    ``argv`` is None, parse with ``build()``, and turn an expected failure into one stderr line and status 1."""
    if argv is None:
        from mmr_utils.numerics import restart_pinned

        restart_pinned(module=module)
    args = build().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, OSError, ValueError, RuntimeError) as err:
        if args.traceback:
            raise
        kind = "" if isinstance(err, CLIError) else f"{type(err).__name__}: "
        print(f"{module} {args.command}: error: {kind}{err}", file=sys.stderr)
        return 1

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
