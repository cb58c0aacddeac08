"""Command line of the project: ``python -m mmr_utils <subcommand>`` (also installed as ``mmr-utils``).

Subcommands (the Makefile targets call these):

``data``           write the simulated benchmark (:mod:`mmr_utils.sources.simulator`) in the official schema;
``data-official``  download the official MMR-Bench release (paper Sec. 3) or install it from a local copy;
``data-mathv``     convert the MATH-V model outputs to the official outcome-table schema;
``check-pairs``    fail when a notebook's jupytext ``.py`` and its ``.ipynb`` twin disagree;
``run-notebook``   execute one notebook with papermill and YAML parameters into a separate executed copy;
``sweep``          a papermill parameter sweep over a grid, run with joblib, aggregated to one tidy CSV;
``evaluate``       (added by :func:`add_evaluate_parser`).

Expected failures (missing files, bad input, a failing notebook cell, no network) exit with status 1 and one message
on stderr naming the file or cell; ``--traceback`` shows the full Python traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import itertools
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mmr_utils import paths
from mmr_utils._io import atomic_open

#: Kernel papermill starts for every notebook (the venv and the Binder image both register ``python3``).
DEFAULT_KERNEL = "python3"
#: Notebook file names the project pairs (same pattern as the Makefile's NOTEBOOKS).
NOTEBOOK_GLOB = "[0-9][0-9]_*"
SWEEP_BACKENDS = ("loky", "threading", "dask", "ray")
#: ``data --outcome-sampling`` choices; equal to the simulator's OUTCOME_SAMPLINGS (a test checks), written out here so
#: that building the parser does not import the simulator (pandas, Pillow) for every subcommand.
SIMULATOR_OUTCOME_SAMPLINGS = ("systematic", "bernoulli")


class CLIError(RuntimeError):
    """An expected failure of a subcommand; its message is all the user needs to see."""


# ---------------------------------------------------------------------------------------------------------------- data
def cmd_data(args: argparse.Namespace) -> int:
    import pandas as pd

    from mmr_utils.sources.simulator import MODELS, simulate_benchmark

    started = time.perf_counter()
    out = simulate_benchmark(args.out, scale=args.scale, seed=args.seed, outcome_sampling=args.outcome_sampling)
    table = pd.read_csv(out / "MMR-Bench.csv")
    print(f"wrote SIMULATED benchmark to {out} in {time.perf_counter() - started:.1f} s")
    print(f"  MMR-Bench.csv: {len(table)} rows x {table.shape[1]} columns; images under {out / 'images'}")
    print(f"  latent.csv, SIMULATED.md, provenance.json (seed {args.seed}, scale {args.scale})")
    for model in MODELS:
        print(f"  {model:26s} accuracy {table[f'{model}_correct'].mean():6.1%}  "
              f"mean cost {1e3 * table[f'{model}_cost'].mean():.3f}e-3 USD")
    return 0


def cmd_data_official(args: argparse.Namespace) -> int:
    from mmr_utils.sources.official import HUB_REVISION, download_official, load_table

    started = time.perf_counter()
    out = download_official(
        args.out, revision=args.revision or HUB_REVISION, local_source=args.local_source, force=args.force
    )
    print(load_table(out).describe())
    print(f"data-official: {out} ready in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_data_mathv(args: argparse.Namespace) -> int:
    from mmr_utils.sources.mathv import SAMPLE_DIR, build_sample, convert_mathv
    from mmr_utils.sources.mathv_snapshot import MathVUnavailableError, SnapshotMismatchError, resolve_source
    from mmr_utils.sources.official import load_table

    started = time.perf_counter()
    try:
        source, how = resolve_source(args.source, download=not args.no_download)
    except (MathVUnavailableError, SnapshotMismatchError) as err:
        raise CLIError(str(err)) from err
    print(f"data-mathv: MATH-V source {paths.relative_to_root(source)} ({how})")
    if args.sample:
        out = build_sample(source, args.out or SAMPLE_DIR)
    else:
        out = convert_mathv(source, args.out or paths.MATHV, tokenizer=args.tokenizer)
    print(load_table(out).describe())
    print(f"data-mathv: {paths.relative_to_root(out)} written in {time.perf_counter() - started:.1f} s")
    return 0


# --------------------------------------------------------------------------------------------------------- check-pairs
@dataclass(frozen=True)
class PairProblem:
    notebook: str
    reason: str


def _cell_signature(cell) -> tuple[str, str, tuple[str, ...]]:
    """What must agree between the two sides of a pair: cell type, source and tags (outputs and ids never count)."""
    return cell.cell_type, cell.source.strip("\n"), tuple(cell.metadata.get("tags", ()))


def _first_line(text: str, width: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "<empty>"
    return line if len(line) <= width else line[: width - 3] + "..."


def compare_pair(py_path: Path, ipynb_path: Path) -> list[str]:
    """Differences between a jupytext percent file and its ``.ipynb`` twin, both read with jupytext, cell by cell.

    Returns human-readable reasons (empty when the pair is in sync).
    """
    import jupytext

    py_cells = [_cell_signature(c) for c in jupytext.read(py_path).cells]
    nb_cells = [_cell_signature(c) for c in jupytext.read(ipynb_path).cells]
    reasons = []
    for index, (left, right) in enumerate(zip(py_cells, nb_cells)):
        if left == right:
            continue
        parts = [name for name, a, b in zip(("cell type", "source", "tags"), left, right) if a != b]
        reasons.append(
            f"cell {index}: {', '.join(parts)} differ (.py: {left[0]} {_first_line(left[1])!r} tags={list(left[2])}; "
            f".ipynb: {right[0]} {_first_line(right[1])!r} tags={list(right[2])})"
        )
    if len(py_cells) != len(nb_cells):
        reasons.append(f".py has {len(py_cells)} cells, .ipynb has {len(nb_cells)}")
    return reasons


def check_pairs(folder: Path) -> tuple[int, list[PairProblem]]:
    """Check every ``NN_name.py`` / ``NN_name.ipynb`` pair in ``folder``; return (number of notebooks, problems)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CLIError(f"notebook folder {folder} does not exist")
    stems = sorted({p.stem for p in folder.glob(f"{NOTEBOOK_GLOB}.py")} | {p.stem for p in folder.glob(f"{NOTEBOOK_GLOB}.ipynb")})
    problems = []
    for stem in stems:
        py_path, ipynb_path = folder / f"{stem}.py", folder / f"{stem}.ipynb"
        if not ipynb_path.exists():
            problems.append(PairProblem(py_path.name, f"no {ipynb_path.name} beside it (run `make sync`)"))
        elif not py_path.exists():
            problems.append(PairProblem(ipynb_path.name, f"no {py_path.name} beside it (the .py is the source)"))
        else:
            problems.extend(PairProblem(py_path.name, reason) for reason in compare_pair(py_path, ipynb_path))
    return len(stems), problems


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
    from mmr_utils.tooling.figures_check import check_figures

    if not 0 <= args.tolerance <= 5e-4:
        raise CLIError(f"--tolerance {args.tolerance:g}: must be between 0 (exact text) and 5e-4")
    try:
        result = check_figures(work=args.work, tolerance=args.tolerance, keep=args.keep)
    except RuntimeError as err:
        raise CLIError(str(err)) from err
    for line in result.differences:
        print(line, file=sys.stderr)
    if not result.ok:
        print(f"check-figures: {len(result.differences)} differences between figures/ and what the code regenerates "
              f"(run `make figures` and commit, or find what is not deterministic)", file=sys.stderr)
        return 1
    print(f"check-figures: OK, all {len(result.compared)} committed tables are exactly what the code regenerates")
    return 0


# -------------------------------------------------------------------------------------------------------- run-notebook
def read_params_file(path) -> dict[str, Any]:
    """Load a YAML mapping of notebook parameters; a missing file or a non-mapping is an error naming the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise CLIError(f"parameters file {path} not found")
    with open(path, encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise CLIError(f"parameters file {path}: expected a mapping of name: value, got {type(loaded).__name__}")
    return loaded


def parse_cli_params(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``-p key value`` pairs, values read as YAML scalars (``0.5`` is a float, ``true`` a bool, ``knn`` a string)."""
    import yaml

    return {key: yaml.safe_load(value) for key, value in (pairs or ())}


def load_notebook_source(notebook) -> tuple[Any, str]:
    """The notebook to execute and a description of what it is.

    ``NB.py`` with an ``NB.ipynb`` twin runs the twin after checking the pair is in sync (so the executed copy carries
    the twin's metadata); a ``.py`` alone is converted in memory with jupytext; an ``.ipynb`` runs as it is.
    """
    import jupytext

    notebook = Path(notebook)
    if not notebook.is_file():
        raise CLIError(f"notebook {notebook} not found")
    if notebook.suffix == ".ipynb":
        return jupytext.read(notebook), str(notebook)
    if notebook.suffix != ".py":
        raise CLIError(f"notebook {notebook}: expected a jupytext .py file or an .ipynb")
    twin = notebook.with_suffix(".ipynb")
    if twin.is_file():
        reasons = compare_pair(notebook, twin)
        if reasons:
            raise CLIError(f"{notebook} and {twin.name} are out of sync ({reasons[0]}); run `make sync` first")
        return jupytext.read(twin), f"{twin} (in sync with {notebook.name})"
    return jupytext.read(notebook), f"{notebook} (converted in memory; no .ipynb twin)"


def notebook_parameter_names(nb, notebook: Path | None = None) -> set[str] | None:
    """Names assigned (``x = ...`` or ``x: T = ...``) in the cell tagged ``parameters``; None without such a cell.

    Parsed with :mod:`ast` rather than papermill's line-based inspection, which gives up on annotated assignments
    whose comments hold quotes or parentheses.
    """
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", ())]
    if not cells:
        return None
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as err:
        raise CLIError(f"notebook {notebook}: its parameters cell is not plain Python (line {err.lineno}: {err.msg})")
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


class _DropPapermillInspectionNoise(logging.Filter):
    """Papermill re-inspects the parameters cell line by line and warns about lines it cannot parse and about
    parameters it therefore thinks unknown; :func:`notebook_parameter_names` has already validated them exactly."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Unable to parse line") or message.startswith("Passed unknown parameter"))


for _name in ("papermill", "papermill.translators"):
    logging.getLogger(_name).addFilter(_DropPapermillInspectionNoise())


class NotebookFailed(CLIError):
    """A notebook raised in one of its cells; the message names the notebook, the cell and the executed copy."""


def _describe_failure(err, executed_path: Path, notebook: Path) -> str:
    import nbformat

    source_index = err.cell_index
    try:
        executed = nbformat.read(executed_path, as_version=4)
        # err.cell_index counts the executed cells before papermill added its error-banner cells; of those, only the
        # injected-parameters cell is absent from the source notebook
        ran = [c for c in executed.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", ())]
        source_index -= sum("injected-parameters" in c.metadata.get("tags", ()) for c in ran[: err.cell_index])
    except (OSError, ValueError):
        pass
    return (
        f"notebook {notebook} failed in cell {source_index} (0-based; In [{err.exec_count}]: {_first_line(err.source)!r}): "
        f"{err.ename}: {err.evalue}\n  executed copy with the failing cell: {executed_path}"
    )


def execute_notebook(
    notebook,
    out,
    parameters: dict[str, Any] | None = None,
    *,
    kernel_name: str = DEFAULT_KERNEL,
    cwd=None,
    progress_bar: bool = False,
) -> float:
    """Run ``notebook`` with papermill, parameters injected, in ``cwd`` (default: the notebook's folder), and write
    the executed copy atomically to ``out`` only; the source notebook and its twin are never written.

    Returns the wall time in seconds. Raises :class:`NotebookFailed` (the executed copy, holding the traceback, is
    still written to ``out``) and :class:`CLIError` for unknown parameters or a missing notebook.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook, out = Path(notebook).resolve(), Path(out).resolve()
    if out in {notebook, notebook.with_suffix(".ipynb")}:
        raise CLIError(f"--out {out} would overwrite the source notebook; write executed copies elsewhere (build/)")
    nb, _ = load_notebook_source(notebook)
    # jupytext drops notebook metadata (filter "-all"); papermill needs a kernelspec to inspect the parameters cell
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": kernel_name, "language": "python"}
    parameters = dict(parameters or {})
    declared = notebook_parameter_names(nb, notebook)
    if parameters and declared is None:
        raise CLIError(f"notebook {notebook} has no cell tagged 'parameters' but got parameters {sorted(parameters)}")
    unknown = sorted(set(parameters) - (declared or set()))
    if unknown:
        raise CLIError(f"notebook {notebook}: unknown parameters {unknown}; its parameters cell declares {sorted(declared)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.ipynb")
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            nb, str(partial), parameters=parameters, kernel_name=kernel_name,
            cwd=str(cwd if cwd is not None else notebook.parent), progress_bar=progress_bar,
        )
    except PapermillExecutionError as err:
        os.replace(partial, out)
        raise NotebookFailed(_describe_failure(err, out, notebook)) from err
    except BaseException:
        if partial.exists():
            os.replace(partial, out)  # keep whatever ran for inspection, under the name the user asked for
        raise
    os.replace(partial, out)
    return time.perf_counter() - started


def cmd_run_notebook(args: argparse.Namespace) -> int:
    parameters = read_params_file(args.params) if args.params is not None else {}
    parameters.update(parse_cli_params(args.parameter))
    _, what = load_notebook_source(args.notebook)
    print(f"run-notebook: {what} -> {args.out} with parameters {parameters}", flush=True)
    seconds = execute_notebook(args.notebook, args.out, parameters, kernel_name=args.kernel,
                               progress_bar=sys.stderr.isatty())
    record = write_run_record(Path(args.notebook).stem, seconds, parameters, Path(args.out))
    print(f"run-notebook: {Path(args.notebook).stem} finished in {seconds:.1f} s, kernel peak memory "
          f"{record['peak_rss_mb']:.0f} MB -> {args.out}")
    return 0


def write_run_record(name: str, seconds: float, parameters: dict, executed: Path) -> dict:
    """Record a notebook run (wall time, the kernel's peak resident memory, parameters, code version) beside the
    executed copy and, when the run has an ``out_dir`` parameter, as ``<out_dir>/runs/<name>.json``.

    Peak memory is the largest resident set of any child process this command waited for, i.e. the kernel
    (``getrusage(RUSAGE_CHILDREN)``; Linux reports kilobytes).
    """
    import resource

    from mmr_utils.provenance import portable, run_record

    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = portable({"notebook": name, "wall_s": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                       "parameters": parameters, **run_record()})
    text = json.dumps(record, indent=2, default=str) + "\n"
    with atomic_open(executed.with_suffix(".run.json"), "w", encoding="utf-8") as handle:
        handle.write(text)
    if parameters.get("out_dir"):
        out_dir = Path(parameters["out_dir"])
        out_dir = out_dir if out_dir.is_absolute() else paths.ROOT / out_dir
        with atomic_open(out_dir / "runs" / f"{name}.json", "w", encoding="utf-8") as handle:
            handle.write(text)
    return record


# --------------------------------------------------------------------------------------------------------------- sweep
@dataclass(frozen=True)
class SweepConfig:
    """A parameter sweep: one notebook, a grid of parameter lists (Cartesian product) and fixed parameters."""

    notebook: Path
    grid: dict[str, list]
    fixed: dict[str, Any]
    kernel: str = DEFAULT_KERNEL

    def points(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*(self.grid[n] for n in names))]


def read_sweep_config(path) -> SweepConfig:
    """Parse a sweep YAML (keys ``notebook``, ``grid``, optional ``params`` and ``kernel``); a relative notebook path
    is resolved against the YAML file's folder."""
    path = Path(path)
    raw = read_params_file(path)
    unknown = sorted(set(raw) - {"notebook", "grid", "params", "kernel"})
    if unknown:
        raise CLIError(f"sweep config {path}: unknown keys {unknown}; expected notebook, grid, params, kernel")
    if "notebook" not in raw or "grid" not in raw:
        raise CLIError(f"sweep config {path}: needs 'notebook' (a .py or .ipynb) and 'grid' (name: [values, ...])")
    notebook = Path(raw["notebook"])
    if not notebook.is_absolute():
        notebook = (path.parent / notebook).resolve()
    grid = raw["grid"]
    if not isinstance(grid, dict) or not grid:
        raise CLIError(f"sweep config {path}: 'grid' must be a non-empty mapping of name: [values, ...]")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise CLIError(f"sweep config {path}: grid entry {name!r} must be a non-empty list, got {values!r}")
    fixed = raw.get("params") or {}
    if not isinstance(fixed, dict):
        raise CLIError(f"sweep config {path}: 'params' must be a mapping of name: value")
    clash = sorted((set(fixed) & set(grid)) | ({"result_path"} & (set(fixed) | set(grid))))
    if clash:
        raise CLIError(f"sweep config {path}: {clash} set twice (grid, params, or the sweep's own result_path)")
    return SweepConfig(notebook=notebook, grid=grid, fixed=fixed, kernel=raw.get("kernel", DEFAULT_KERNEL))


#: Longest readable part of a point's file stem (a hash of the point follows when it is cut).
_POINT_NAME_WIDTH = 120


def _point_hash(point: dict[str, Any]) -> str:
    """Short hash of the exact point (JSON keeps 2, 2.0, "2" and true apart)."""
    text = json.dumps([[key, value] for key, value in point.items()], default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def point_name(point: dict[str, Any]) -> str:
    """File stem of one grid point: ``key=value`` joined by commas, in grid order, safe as a file name.

    When cleaning changes a character (``a/b`` and ``a?b`` both read ``a-b``) or the stem would be long, ``~`` and a
    short hash of the exact point follow, so that points with different values never share a file.
    """
    def clean(value) -> str:
        return re.sub(r"[^A-Za-z0-9._+-]", "-", str(value))
    name = ",".join(f"{clean(k)}={clean(v)}" for k, v in point.items())
    lossy = any(clean(k) != str(k) or clean(v) != str(v) for k, v in point.items())
    if lossy or len(name) > _POINT_NAME_WIDTH:
        name = f"{name[:_POINT_NAME_WIDTH]}~{_point_hash(point)}"
    return name


def point_names(points: Sequence[dict[str, Any]]) -> list[str]:
    """:func:`point_name` of every point, with the hash also added where two stems still agree (``2`` and ``"2"``);
    identical points are an error (they would run twice into one file)."""
    names = [point_name(p) for p in points]
    counts = Counter(names)
    names = [n if counts[n] == 1 or "~" in n else f"{n}~{_point_hash(p)}" for n, p in zip(names, points)]
    duplicates = [n for n, c in Counter(names).items() if c > 1]
    if duplicates:
        raise CLIError(f"the sweep grid lists the same point more than once ({', '.join(duplicates[:3])}); "
                       f"remove the repeated values from the grid")
    return names


def flatten_metrics(record: dict, prefix: str = "") -> dict[str, Any]:
    """Flatten a result JSON: nested mappings become ``outer.inner`` columns; lists are kept as JSON text."""
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, prefix=f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True)
class SweepRun:
    point: dict[str, Any]
    executed: Path
    result: Path
    seconds: float
    error: str | None = None
    name: str = ""


def _run_sweep_point(config: SweepConfig, point: dict[str, Any], folder: Path, name: str | None = None) -> SweepRun:
    name = name or point_name(point)
    executed, result = folder / f"{name}.ipynb", folder / f"{name}.json"
    if result.exists():
        result.unlink()  # a stale result from an earlier sweep must not pass for this run's
    parameters = {**config.fixed, **point, "result_path": str(result)}
    started = time.perf_counter()
    try:
        execute_notebook(config.notebook, executed, parameters, kernel_name=config.kernel)
    except NotebookFailed as err:
        return SweepRun(point, executed, result, time.perf_counter() - started, error=str(err), name=name)
    seconds = time.perf_counter() - started
    if not result.is_file():
        return SweepRun(point, executed, result, seconds, name=name,
                        error=f"notebook {config.notebook.name} ran but wrote no result file at result_path={result}")
    return SweepRun(point, executed, result, seconds, name=name)


def _backend_setup(backend: str, scheduler_address: str | None):
    """Make ``backend`` usable by joblib; returns an object to close afterwards (a Dask client) or None."""
    if backend == "dask":
        try:
            from dask.distributed import Client
        except ImportError as err:
            raise CLIError("--backend dask needs dask.distributed (pip install 'dask[distributed]')") from err
        address = scheduler_address or os.environ.get("DASK_SCHEDULER_ADDRESS")
        if not address:
            raise CLIError("--backend dask needs a running scheduler: pass --scheduler-address tcp://HOST:8786 "
                           "or set DASK_SCHEDULER_ADDRESS (start one with `dask scheduler` + `dask worker`)")
        return Client(address)
    if backend == "ray":
        try:
            import ray
            from ray.util.joblib import register_ray
        except ImportError as err:
            raise CLIError("--backend ray needs ray (pip install 'ray[default]')") from err
        register_ray()
        ray.init(address=scheduler_address or os.environ.get("RAY_ADDRESS"))
    return None


def run_sweep(
    config: SweepConfig,
    out_root,
    *,
    backend: str = "threading",
    n_jobs: int = -1,
    scheduler_address: str | None = None,
) -> tuple[Path, list[SweepRun]]:
    """Run every grid point of ``config`` with papermill in parallel via ``joblib.parallel_config(backend=...)`` and
    aggregate the result JSONs into ``out_root/<notebook>/results.csv`` (one row per successful run: grid
    parameters, then the JSON's flattened metrics, then the run's wall time).

    Each run receives ``result_path`` and writes its executed copy to ``out_root/<notebook>/<key=value,...>.ipynb``.
    Returns the CSV path and all runs (failed ones carry ``error``).
    """
    import joblib
    import pandas as pd

    if backend not in SWEEP_BACKENDS:
        raise CLIError(f"unknown backend {backend!r}; expected one of {SWEEP_BACKENDS}")
    points = config.points()
    names = point_names(points)  # before anything runs: two points must never share a result file
    folder = Path(out_root) / config.notebook.stem
    folder.mkdir(parents=True, exist_ok=True)
    client = _backend_setup(backend, scheduler_address)
    try:
        with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
            runs = joblib.Parallel()(joblib.delayed(_run_sweep_point)(config, point, folder, name)
                                     for point, name in zip(points, names))
    finally:
        if client is not None:
            client.close()
    rows = []
    for run in runs:
        if run.error is not None:
            continue
        with open(run.result, encoding="utf-8") as handle:
            try:
                record = json.load(handle)
            except json.JSONDecodeError as err:
                raise CLIError(f"result file {run.result} is not valid JSON ({err})") from err
        if not isinstance(record, dict):
            raise CLIError(f"result file {run.result}: expected a JSON object of metrics, got {type(record).__name__}")
        metrics = flatten_metrics(record)
        overlap = sorted(set(metrics) & set(run.point))
        if overlap:  # a metric must not silently overwrite the grid value it was run with
            metrics = {(f"result.{k}" if k in overlap else k): v for k, v in metrics.items()}
        rows.append({**run.point, **metrics, "wall_s": round(run.seconds, 3)})
    csv_path = folder / "results.csv"
    with atomic_open(csv_path, "w", encoding="utf-8", newline="") as handle:
        pd.DataFrame(rows, columns=None if rows else list(config.grid)).to_csv(handle, index=False)
    return csv_path, runs


def _plot_sweep_function():
    """``mmr_utils.plots.plot_sweep`` when the plots module provides it, else None."""
    try:
        plots = importlib.import_module("mmr_utils.plots")
    except ModuleNotFoundError as err:
        if err.name != "mmr_utils.plots":
            raise
        return None
    return getattr(plots, "plot_sweep", None)


def cmd_sweep(args: argparse.Namespace) -> int:
    import pandas as pd

    config = read_sweep_config(args.config)
    points = config.points()
    print(f"sweep: {config.notebook.name}, {len(points)} grid points over {list(config.grid)}, "
          f"backend {args.backend}, n_jobs {args.n_jobs}", flush=True)
    started = time.perf_counter()
    csv_path, runs = run_sweep(config, args.out, backend=args.backend, n_jobs=args.n_jobs,
                               scheduler_address=args.scheduler_address)
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


# ------------------------------------------------------------------------------------------------------------ evaluate
def cmd_evaluate(args) -> int:
    """Fit one router on an official-schema table, evaluate it with the protocol, print a summary, write JSON."""
    from . import studies
    from .sources.official import load_table

    for option, value, least in (("--seed", args.seed, 0), ("--random-draws", args.random_draws, 1),
                                 ("--epochs", args.epochs, 1)):
        if value is not None and value < least:
            raise CLIError(f"{option} must be at least {least}, got {value}")
    table = load_table(args.data_root, datasets=None if args.datasets in (None, "all") else args.datasets,
                       images=None if args.no_images else "auto")
    if len(table.models) < 2:
        raise CLIError(f"{table.source['path']} has one model ({', '.join(table.models)}): routing chooses between "
                       f"models, so the table needs at least two (<model>_correct and <model>_cost column pairs)")
    if not table.has_images.any() and any(flag in "23" for flag in args.mode):
        raise CLIError(f"{table.source['path']} has no images ({table.source.get('images')}): only text mode 11 "
                       f"makes sense for a text-only table, got --mode {args.mode}")
    bank = studies.embed_table(table, args.encoder, seed=args.seed, progress=not args.quiet)
    record = studies.evaluate(bank, args.router, train_fraction=args.train_fraction, seed=args.seed, mode=args.mode,
                              fusion=args.fusion, neural_epochs=args.epochs, random_draws=args.random_draws,
                              source=args.source, target=args.target, rule=args.rule)
    print(studies.format_result(record))
    if args.out is not None:
        studies.write_result(record, args.out)
        print(f"wrote {args.out}")
    return 0


def add_evaluate_parser(subparsers) -> None:
    """Register the ``evaluate`` subcommand (router x features x budget sweep on an outcome table, paper Sec. 3.3)."""
    from .routers import ROUTERS

    p = subparsers.add_parser("evaluate", help="fit and evaluate one router on an official-schema outcome table")
    p.add_argument("--data-root", type=Path, required=True, help="folder with MMR-Bench.csv / MMR_Bench.csv, or a CSV")
    p.add_argument("--datasets", default="all", help="datasets to use, NAME+NAME (aliases ok) or all")
    p.add_argument("--router", required=True, choices=sorted(ROUTERS), help="router to fit")
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
    p.add_argument("--out", type=Path, help="result JSON path")
    p.set_defaults(func=cmd_evaluate)


# ---------------------------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmr_utils", description="MMR-Bench companion: data, notebook and sweep commands.",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full Python traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("data", help="write the SIMULATED benchmark (official schema + rendered images)")
    p.add_argument("--out", type=Path, default=paths.SIMULATED, help="output folder (replaced atomically)")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each dataset's size, in (0, 1]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outcome-sampling", choices=SIMULATOR_OUTCOME_SAMPLINGS, default="systematic",
                   help="systematic: realised accuracy within 1/n of the target; bernoulli: independent coins")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("data-official", help="download (or install from a local copy) the official MMR-Bench release")
    p.add_argument("--out", type=Path, default=paths.OFFICIAL, help=f"output folder (default {paths.OFFICIAL})")
    p.add_argument("--local-source", type=Path, help="folder laid out like the hub repo (MMR-Bench.csv, images.tar.gz)")
    p.add_argument("--revision", help="hub revision (commit SHA); default: the pinned one")
    p.add_argument("--force", action="store_true", help="replace an existing download")
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
    p.set_defaults(func=cmd_data_mathv)

    p = sub.add_parser("check-pairs", help="fail when a notebook's .py and .ipynb are out of sync")
    p.add_argument("--notebooks", type=Path, default=paths.NOTEBOOKS, help="folder of NN_name.py/.ipynb pairs")
    p.set_defaults(func=cmd_check_pairs)

    p = sub.add_parser("check-figures", help="regenerate every figure/table from a clean state and diff with figures/")
    p.add_argument("--work", type=Path, default=None, help="work folder (default: a new temporary folder)")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="numeric tolerance for CSV cells (default 0: exact text; at most 5e-4)")
    p.add_argument("--keep", action="store_true", help="keep the work folder even when the check passes")
    p.set_defaults(func=cmd_check_figures)

    p = sub.add_parser("run-notebook", help="execute one notebook with papermill into an executed copy")
    p.add_argument("notebook", type=Path, help="NN_name.py (its .ipynb twin runs) or an .ipynb")
    p.add_argument("--params", type=Path, help="YAML mapping of parameters (e.g. notebooks/params/NN_name.full.yaml)")
    p.add_argument("--out", type=Path, required=True, help="where the executed copy goes (e.g. build/notebooks/)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="override one parameter (VALUE read as YAML); repeatable")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"Jupyter kernel name (default {DEFAULT_KERNEL})")
    p.set_defaults(func=cmd_run_notebook)

    p = sub.add_parser("sweep", help="papermill parameter sweep with joblib, aggregated to results.csv",
                       description="Runs the config's notebook once per grid point (Cartesian product). "
                       "--backend dask needs dask.distributed and a running scheduler (--scheduler-address or "
                       "DASK_SCHEDULER_ADDRESS); --backend ray needs ray (RAY_ADDRESS or a local ray). Remote workers must have "
                       "this project installed, a python3 Jupyter kernel and the same file system (paths are passed "
                       "as they are).")
    p.add_argument("--config", type=Path, default=paths.NOTEBOOKS / "params" / "sweep.yaml", help="sweep YAML")
    p.add_argument("--backend", choices=SWEEP_BACKENDS, default="threading",
                   help="joblib backend (default threading: each run's work happens in its own kernel process)")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel runs (default -1: one per core)")
    p.add_argument("--out", type=Path, default=paths.BUILD / "sweep", help="root of the sweep outputs")
    p.add_argument("--scheduler-address", help="Dask scheduler or Ray cluster address for --backend dask/ray")
    p.add_argument("--figure", help="figure stem for mmr_utils.plots.plot_sweep (default: beside results.csv)")
    p.add_argument("--no-figure", action="store_true", help="print results.csv instead of calling plot_sweep")
    p.set_defaults(func=cmd_sweep)

    add_evaluate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit status (0 ok, 1 failed)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, OSError, ValueError, RuntimeError) as err:
        if args.traceback:
            raise
        kind = "" if isinstance(err, CLIError) else f"{type(err).__name__}: "
        print(f"mmr_utils {args.command}: error: {kind}{err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
