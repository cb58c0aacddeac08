"""Project tooling: ``python -m tools <subcommand>`` (the Makefile targets call these).

``check-pairs``    fail when a notebook's jupytext ``.py`` and its ``.ipynb`` twin disagree;
``check-figures``  regenerate every figure and table from a clean state and compare them with ``figures/``;
``run-notebook``   execute one notebook with papermill and YAML parameters into a separate executed copy;
``figures``        every notebook that applies to another table (official release, V2, MATH-V, a path), outputs
                   into ``figures-<name>/`` (``make figures DATA=...``);
``sweep``          a papermill parameter sweep over a grid, aggregated to one tidy CSV;
``store-outputs``  copy a full-size run's outputs into the paired notebook readers open (``make figures``).

The tooling lives outside the package: editing it changes no result and invalidates no cache.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mmr_utils import paths
from mmr_utils.cli import CLIError, run_command
from tools.notebooks import (
    DEFAULT_KERNEL,
    check_pairs,
    execute_notebook,
    load_notebook_source,
    parse_cli_params,
    read_params_file,
    write_run_record,
)
from tools.stored_outputs import cmd_store_outputs
from tools.sweep import _plot_sweep_function, read_sweep_config, run_sweep


def cmd_check_pairs(args: argparse.Namespace) -> int:
    count, problems = check_pairs(args.notebooks)
    if problems:
        for problem in problems:
            print(f"{problem.notebook}: {problem.reason}", file=sys.stderr)
        failing = len({p.notebook.rsplit(".", 1)[0] for p in problems})
        print(f"check-pairs: {failing} of {count} notebooks out of sync in {args.notebooks} "
              f"(edit the .py, then `make sync`)", file=sys.stderr)
        return 1
    print(f"check-pairs: OK, {count} notebook pairs in sync in {args.notebooks}")
    return 0


def cmd_check_figures(args: argparse.Namespace) -> int:
    from tools.figures_check import check_figures

    if not 0 <= args.tolerance <= 5e-4:
        raise CLIError(f"--tolerance {args.tolerance:g}: must be between 0 (exact text) and 5e-4")
    try:
        result = check_figures(work=args.work, tolerance=args.tolerance, keep=args.keep, mode=args.mode,
                               k=args.noise_k)
    except RuntimeError as err:
        raise CLIError(str(err)) from err
    for line in result.differences:
        print(line, file=sys.stderr)
    if not result.ok:
        print(f"check-figures: {len(result.differences)} differences between figures/ and what the code regenerates "
              f"(run `make figures` and commit, or find what is not deterministic)", file=sys.stderr)
        return 1
    if result.mode == "exact":
        print(f"check-figures: OK, all {len(result.compared)} committed tables are exactly what the code regenerates")
    else:
        moved = sorted(result.moves, key=lambda m: -m.delta if m.delta != float("inf") else float("-inf"))
        for move in moved[:10]:
            print(f"  moved within tolerance: {move.table}, line {move.line}, column {move.column!r}: "
                  f"{move.committed!r} -> {move.regenerated!r} (tolerance {move.tolerance:.3g})")
        print(f"check-figures: OK within seed noise: {result.summary()}")
    return 0


# -------------------------------------------------------------------------------------------------------- run-notebook
def cmd_run_notebook(args: argparse.Namespace) -> int:
    parameters = read_params_file(args.params) if args.params is not None else {}
    parameters.update(parse_cli_params(args.parameter))
    _, what = load_notebook_source(args.notebook)
    if args.out.is_dir():
        args.out = args.out / f"{Path(args.notebook).stem}.ipynb"
    print(f"run-notebook: {what} -> {args.out} with parameters {parameters}", flush=True)
    seconds = execute_notebook(args.notebook, args.out, parameters, kernel_name=args.kernel,
                               progress_bar=sys.stderr.isatty())
    record = write_run_record(Path(args.notebook).stem, seconds, parameters, Path(args.out))
    print(f"run-notebook: {Path(args.notebook).stem} finished in {seconds:.1f} s, kernel peak memory "
          f"{record['peak_rss_mb']:.0f} MB -> {args.out}")
    return 0



# ------------------------------------------------------------------------------------------------------------ figures
def cmd_figures(args: argparse.Namespace) -> int:
    from tools.notebooks import resolve_data, run_on_data

    started = time.perf_counter()
    target = resolve_data(args.data, mathv=args.mathv)
    records = run_on_data(target, full=not args.small, out=args.out, build=args.build, only=args.only,
                          kernel_name=args.kernel)
    ran = [r["notebook"] for r in records if r["status"] == "ran"]
    skipped = [r["notebook"] for r in records if r["status"] == "skipped"]
    print(f"figures: DATA={args.data}: ran {len(ran)} notebook(s) ({', '.join(ran) or 'none'}), skipped "
          f"{len(skipped)} ({', '.join(skipped) or 'none'}) in {time.perf_counter() - started:.0f} s")
    return 0


# --------------------------------------------------------------------------------------------------------------- sweep
def cmd_sweep(args: argparse.Namespace) -> int:
    import pandas as pd

    config = read_sweep_config(args.config)
    points = config.points()
    print(f"sweep: {config.notebook.name}, {len(points)} grid points over {list(config.grid)}, "
          f"{args.jobs} at a time", flush=True)
    started = time.perf_counter()
    csv_path, runs = run_sweep(config, args.out, jobs=args.jobs)
    for run in runs:
        status = "FAILED" if run.error else "ok"
        print(f"  {run.name:50s} {status:6s} {run.seconds:7.1f} s")
    failures = [run for run in runs if run.error]
    print(f"sweep: {len(runs) - len(failures)} of {len(runs)} runs ok in {time.perf_counter() - started:.1f} s "
          f"wall; results in {csv_path}")
    plot_sweep = None if args.no_figure else _plot_sweep_function()
    if plot_sweep is not None and len(failures) < len(runs):
        stem = Path(args.figure) if args.figure else csv_path.with_suffix("")
        plot_sweep(csv_path, stem)
        print(f"sweep: figure {stem}.*")
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            print(pd.read_csv(csv_path).to_string(index=False) if len(failures) < len(runs) else "(no results)")
    if failures:
        for run in failures:
            print(f"sweep: run {run.name} failed: {run.error}", file=sys.stderr)
        return 1
    return 0



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools", description="MMR-Bench companion: notebook tooling.")
    parser.add_argument("--traceback", action="store_true", help="show the full Python traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("check-pairs", help="fail when a notebook's .py and .ipynb are out of sync")
    p.add_argument("--notebooks", type=Path, default=paths.NOTEBOOKS, help="folder of NN_name.py/.ipynb pairs")
    p.set_defaults(func=cmd_check_pairs)

    p = sub.add_parser("check-figures", help="regenerate every figure/table from a clean state and diff with figures/")
    p.add_argument("--work", type=Path, default=None, help="work folder (default: a new temporary folder)")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="numeric tolerance for CSV cells (default 0: exact text; at most 5e-4)")
    p.add_argument("--keep", action="store_true", help="keep the work folder even when the check passes")
    p.add_argument("--mode", choices=("auto", "exact", "tolerance"), default="auto",
                   help="auto (default): exact where the committed run records match this machine's numerics, "
                        "else within seed-noise tolerance")
    p.add_argument("--noise-k", type=float, default=3.0,
                   help="tolerance mode: standard deviations of a cell's two-draw difference it may move (default 3)")
    p.set_defaults(func=cmd_check_figures)

    p = sub.add_parser("run-notebook", help="execute one notebook with papermill into an executed copy")
    p.add_argument("notebook", type=Path, help="NN_name.py (its .ipynb twin runs) or an .ipynb")
    p.add_argument("--params", type=Path, help="YAML mapping of parameters (e.g. notebooks/params/NN_name.full.yaml)")
    p.add_argument("--out", type=Path, required=True,
                   help="the executed copy's path, or an existing folder to write <name>.ipynb into (e.g. "
                        "build/notebooks/)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="override one parameter (VALUE read as YAML); repeatable")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"Jupyter kernel name (default {DEFAULT_KERNEL})")
    p.set_defaults(func=cmd_run_notebook)

    p = sub.add_parser("figures", help="run every notebook that applies to another table (make figures DATA=...)",
                       description="Runs the notebooks make figures runs on another table, outputs into "
                       "figures-<name>/ (never figures/) and executed copies into build/notebooks-<name>/; a notebook "
                       "that cannot apply to the table is skipped with a one-line reason.")
    p.add_argument("--data", required=True,
                   help="official (data/official), official-v2 (data/official-v2), mathv (MATH-V converted into "
                   "data/mathv), or a path to a table in the official schema")
    p.add_argument("--mathv", default="full",
                   help="with --data mathv: which MATH-V (full, auto, sample, or a MATH-V folder; default full)")
    p.add_argument("--small", action="store_true",
                   help="each notebook's small defaults instead of its full-size parameters file (quick check)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default figures-<name>/)")
    p.add_argument("--build", type=Path, default=None, help="executed copies (default build/notebooks-<name>/)")
    p.add_argument("--only", nargs="+", default=None, metavar="NOTEBOOK",
                   help="run only these notebooks (names or numbers, e.g. 03)")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"Jupyter kernel name (default {DEFAULT_KERNEL})")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("sweep", help="papermill parameter sweep, aggregated to results.csv",
                       description="Runs the config's notebook once per grid point (Cartesian product).")
    p.add_argument("--config", type=Path, default=paths.NOTEBOOKS / "params" / "sweep.yaml", help="sweep YAML")
    p.add_argument("--jobs", type=int, default=1,
                   help="notebooks run at once (default 1: each trains its routers in worker processes; with more, "
                        "each kernel trains in one process)")
    p.add_argument("--out", type=Path, default=paths.BUILD / "sweep", help="root of the sweep outputs")
    p.add_argument("--figure", help="figure stem for mmr_utils.report.plots.plot_sweep (default: beside results.csv)")
    p.add_argument("--no-figure", action="store_true", help="print results.csv instead of calling plot_sweep")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("store-outputs", help="copy an executed run's outputs into the paired notebook")
    p.add_argument("executed", help="the executed copy (build/notebooks/NN_name.ipynb)")
    p.add_argument("paired", help="the paired notebook to fill (notebooks/NN_name.ipynb)")
    p.add_argument("--params", required=True, help="the parameters file the run used, as the note names it")
    p.set_defaults(func=cmd_store_outputs)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit status (0 ok, 1 failed).

    Called as a program (``argv`` None), it first restarts itself with the numerical pins when they are not set
    (:func:`mmr_utils.numerics.restart_pinned`), so that every notebook kernel it starts computes under them."""
    return run_command(build_parser, argv, module="tools")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
