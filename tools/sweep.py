"""Parameter sweeps over one notebook (``python -m tools sweep``): a grid of parameters (Cartesian product), every point
executed with :func:`tools.notebooks.execute_notebook`, each writing a result JSON, aggregated to one tidy CSV.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmr_utils._io import atomic_open
from mmr_utils.cli import CLIError
from tools.notebooks import DEFAULT_KERNEL, NotebookFailed, execute_notebook, read_params_file


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
    raw = read_params_file(path, what="sweep config")
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
    except Exception as err:  # the kernel died (out of memory, a crash) or could not start: this point failed
        where = f"; what ran is in {executed}" if executed.exists() else ""
        return SweepRun(point, executed, result, time.perf_counter() - started, name=name,
                        error=f"notebook {config.notebook.name} did not finish ({type(err).__name__}: {err}){where}")
    seconds = time.perf_counter() - started
    if not result.is_file():
        return SweepRun(point, executed, result, seconds, name=name,
                        error=f"notebook {config.notebook.name} ran but wrote no result file at result_path={result}")
    return SweepRun(point, executed, result, seconds, name=name)


def run_sweep(config: SweepConfig, out_root, *, jobs: int = 1) -> tuple[Path, list[SweepRun]]:
    """Run every grid point of ``config`` with papermill, ``jobs`` kernels at a time, and aggregate the result JSONs
    into ``out_root/<notebook>/results.csv`` (one row per successful run: grid parameters, then the JSON's flattened
    metrics, then the run's wall time).

    One way to use the cores at a time: with one job a point's kernel trains its routers in worker processes; with
    several, the points run side by side and each kernel trains in its own process (``MMR_TRAIN_WORKERS=1``).
    Each run receives ``result_path`` and writes its executed copy to ``out_root/<notebook>/<key=value,...>.ipynb``;
    a relative ``out_root`` is taken from the caller's working directory (the kernels run in the notebook's folder,
    so they are given absolute paths). A point whose notebook fails or whose kernel dies is recorded as failed and the
    other points still run. Returns the CSV path and all runs (failed ones carry ``error``).
    """
    import concurrent.futures

    import pandas as pd

    if not isinstance(jobs, int) or jobs < 1:
        raise CLIError(f"--jobs {jobs!r}: expected a positive number of notebooks run at once")
    points = config.points()
    names = point_names(points)  # before anything runs: two points must never share a result file
    folder = Path(out_root).resolve() / config.notebook.stem
    blocked = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise CLIError(f"--out {out_root}: {blocked} is a file, so the sweep's folder {folder} cannot be made")
    folder.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("MMR_TRAIN_WORKERS")
    if jobs > 1:
        os.environ["MMR_TRAIN_WORKERS"] = "1"  # the kernels inherit it: parallel points, never parallel inside
    try:
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:  # each point's work runs in its own kernel process
            runs = list(pool.map(lambda point, name: _run_sweep_point(config, point, folder, name), points, names))
    finally:
        if jobs > 1:
            if saved is None:
                os.environ.pop("MMR_TRAIN_WORKERS", None)
            else:
                os.environ["MMR_TRAIN_WORKERS"] = saved
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
    """``mmr_utils.report.plots.plot_sweep`` when the plots module provides it, else None."""
    try:
        plots = importlib.import_module("mmr_utils.report.plots")
    except ModuleNotFoundError as err:
        if err.name != "mmr_utils.report.plots":
            raise
        return None
    return getattr(plots, "plot_sweep", None)

