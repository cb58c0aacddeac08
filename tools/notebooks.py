"""Notebooks as the command line runs them: the jupytext pair check (``check-pairs``), execution with papermill and
YAML parameters into a separate executed copy (``run-notebook``), and the run record (wall time, kernel peak memory)
written beside it.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmr_utils import paths
from mmr_utils._io import atomic_open
from mmr_utils.cli import CLIError

#: Kernel papermill starts for every notebook (the venv and the Binder image both register ``python3``).
DEFAULT_KERNEL = "python3"
#: Notebook file names the project pairs (same pattern as the Makefile's NOTEBOOKS).
NOTEBOOK_GLOB = "[0-9][0-9]_*"


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
        raise CLIError(f"--notebooks {folder}: no such folder")
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


def read_params_file(path, what: str = "parameters file") -> dict[str, Any]:
    """Load a YAML mapping of notebook parameters; a missing file, invalid YAML (with its line and column) or a
    non-mapping is an error naming the file (called ``what`` in the message)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise CLIError(f"{what} {path} not found")
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle)
    except yaml.YAMLError as err:
        raise CLIError(f"{what} {path}{_yaml_where(err)}: not valid YAML ({_yaml_problem(err)})") from None
    except UnicodeDecodeError as err:
        raise CLIError(f"{what} {path}: not UTF-8 text (byte offset {err.start})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise CLIError(f"{what} {path}: expected a mapping of name: value, got {type(loaded).__name__}")
    return loaded


def _yaml_where(err) -> str:
    """``, line L, column C`` (1-based) of a YAML error, or "" when PyYAML gives no position."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_problem(err) -> str:
    """PyYAML's description of the error, on one line, without its own position lines."""
    parts = [getattr(err, "context", None), getattr(err, "problem", None)]
    text = "; ".join(p for p in parts if p) or str(err).splitlines()[0]
    return " ".join(text.split())


def parse_cli_params(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``-p key value`` pairs, values read as YAML (``0.5`` is a float, ``true`` a bool, ``knn`` a string, ``[1, 2]``
    a list); a value that is not valid YAML is an error naming the parameter, the line and the column."""
    import yaml

    parameters = {}
    for key, value in pairs or ():
        try:
            parameters[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise CLIError(f"-p {key} {value!r}: not a valid YAML value{_yaml_where(err)} ({_yaml_problem(err)}); "
                           f"quote a plain string, e.g. -p {key} \"'text'\"") from None
    return parameters


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
        raise CLIError(f"notebook {notebook}: its parameters cell is not plain Python (line {err.lineno}: {err.msg})"
                       ) from err
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
    if out.is_dir():
        raise CLIError(f"--out {out} is an existing folder; give the executed copy's file path (e.g. "
                       f"{out / notebook.with_suffix('.ipynb').name})")
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



def machine_description() -> dict:
    """The CPU a run computed on: model name (Linux ``/proc/cpuinfo``), architecture, usable cores, the instruction
    set torch dispatches to, and under ``numerics`` everything that decides the last bits
    (:func:`mmr_utils.numerics.numerics_description`: CPU vendor, family and model, the libraries' code paths, the
    pin variables; the notebook kernel inherits this process's environment, so the same pins). Recorded because the last bits of embeddings, and through training the tables, depend on
    the CPU type (README, "Same CPU type, same tables"); ``None`` where a value cannot be read."""
    import platform

    model = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from mmr_utils._torch import torch, usable_cpus

    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        capability = None
    from mmr_utils.numerics import process_numerics

    return {"cpu": model, "architecture": platform.machine(), "cores": usable_cpus(),
            "torch_cpu_capability": capability, "numerics": process_numerics()}


def write_run_record(name: str, seconds: float, parameters: dict, executed: Path) -> dict:
    """Record a notebook run (wall time, the kernel's peak resident memory, parameters, the CPU from
    :func:`machine_description`, code version) beside the executed copy and, when the run has an ``out_dir``
    parameter, as ``<out_dir>/runs/<name>.json``.

    Peak memory is the largest resident set of any child process this command waited for, i.e. the kernel
    (``getrusage(RUSAGE_CHILDREN)``; Linux reports kilobytes).
    """
    import resource

    from mmr_utils.provenance import portable, run_record

    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = portable({"notebook": name, "wall_s": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                       "parameters": parameters, "machine": machine_description(), **run_record()})
    text = json.dumps(record, indent=2, default=str) + "\n"
    with atomic_open(executed.with_suffix(".run.json"), "w", encoding="utf-8") as handle:
        handle.write(text)
    if parameters.get("out_dir"):
        out_dir = Path(parameters["out_dir"])
        out_dir = out_dir if out_dir.is_absolute() else paths.ROOT / out_dir
        with atomic_open(out_dir / "runs" / f"{name}.json", "w", encoding="utf-8") as handle:
            handle.write(text)
    return record



# ------------------------------------------------------------------------------------- runs on other data (DATA=...)
#: The data names ``make figures DATA=...`` knows besides a path: official release, MMR-Bench V2, MATH-V.
DATA_NAMES = ("official", "official-v2", "mathv")
#: What a notebook needs of the table beyond an outcome table (keyed by notebook name): ``datasets`` (two or more:
#: notebook 2 measures how well each channel tells them apart, notebook 4 where the image helps, dataset by dataset),
#: ``images`` (modes that read the image channel),
#: ``scenario_pair`` (two datasets in one scenario, for cross-dataset transfer). Notebooks whose
#: parameters name ``mathv`` but no ``data_root`` read MATH-V only and run with ``DATA=mathv``.
NOTEBOOK_NEEDS: dict[str, tuple[str, ...]] = {
    "02_multimodal_embedding": ("datasets",),
    "04_modality_fusion": ("images", "datasets"),
    "05_generalisation": ("images", "scenario_pair"),
    "06_metric_audit": ("images",),
}


@dataclass(frozen=True)
class TableFacts:
    """What the applicability rules read of a table: rows, models, datasets, scenarios with two or more datasets,
    whether any row has an image, whether it is simulated or MATH-V, and why it cannot face the paper (None: it can)."""

    rows: int
    models: tuple[str, ...]
    datasets: tuple[str, ...]
    scenario_pairs: tuple[str, ...]
    has_images: bool
    simulated: bool
    mathv: bool
    paper_reason: str | None


@dataclass(frozen=True)
class DataTarget:
    """A run on other data: its name (outputs go to ``figures-<name>/``), the table's folder, what notebooks reading
    MATH-V get as ``mathv`` (only for ``DATA=mathv``), and the table's facts."""

    name: str
    data_root: Path
    mathv: str | None
    facts: TableFacts


def table_facts(table, *, mathv: bool = False) -> TableFacts:
    """The :class:`TableFacts` of an :class:`~mmr_utils.tables.OutcomeTable`."""
    from mmr_utils.report.paper_tables import paper_comparable

    scenarios = table.instances.groupby("scenario")["dataset"].nunique()
    return TableFacts(rows=table.n, models=tuple(table.models), datasets=tuple(table.datasets),
                      scenario_pairs=tuple(s for s, n in scenarios.items() if n >= 2),
                      has_images=bool(table.has_images.any()), simulated=bool(table.source.get("simulated")),
                      mathv=mathv, paper_reason=paper_comparable(table))


def _data_name(path: Path) -> str:
    stem = path.stem if path.is_file() else path.name
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).strip(".-")
    if not name:
        raise CLIError(f"DATA={path}: cannot name an output folder after it; give a folder with a plain name")
    return name


def resolve_data(spec: str, *, mathv: str = "full") -> DataTarget:
    """The table ``make figures DATA=spec`` runs on: ``official`` (``data/official``, written by ``make
    data-official``), ``official-v2`` (``data/official-v2``, ``make data-official VERSION=2``), ``mathv`` (MATH-V
    converted into ``data/mathv``; ``mathv`` says which MATH-V as in :func:`mmr_utils.data.mathv.load_mathv`), or a
    path to any table in the official schema (a folder or its CSV, or a V2 folder; relative to the current folder or
    the repository root). A missing table is a :class:`CLIError` saying which command makes it."""
    from mmr_utils.data.loading import load_benchmark

    spec = str(spec).strip()
    if not spec:
        raise CLIError("DATA is empty: name official, official-v2, mathv or a path to a table")
    if spec == "mathv":
        from mmr_utils.data.mathv import load_mathv
        from mmr_utils.data.mathv_snapshot import MathVUnavailableError, SnapshotMismatchError

        if mathv not in ("sample", "auto", "full"):
            mathv = str(Path(mathv).resolve())  # a MATH-V folder: the kernels start in notebooks/
        try:
            table = load_mathv(mathv)
        except (MathVUnavailableError, SnapshotMismatchError, FileNotFoundError) as err:
            raise CLIError(f"DATA=mathv: MATH-V ({mathv}) is not available: {err}") from err
        return DataTarget("mathv", Path(table.source["path"]).parent, mathv, table_facts(table, mathv=True))
    if spec in ("official", "official-v2"):
        root = paths.OFFICIAL if spec == "official" else paths.OFFICIAL_V2
        command = "make data-official" + (" VERSION=2" if spec == "official-v2" else "")
        present = any(root.glob("MMR*Bench.csv")) if spec == "official" else (root / "data" / "instances").is_dir()
        if not present:
            raise CLIError(f"DATA={spec}: no table in {paths.relative_to_root(root)}/; run `{command}` first (it "
                           f"downloads the pinned release from the Hugging Face hub){' or `make paper`' if spec == 'official' else ''}")
        name = spec
    else:
        given = Path(spec)
        root = given if given.is_absolute() or given.exists() else paths.ROOT / given
        if not root.exists():
            raise CLIError(f"DATA={spec}: no such table (expected official, official-v2, mathv, or a path to a folder "
                           f"holding MMR-Bench.csv, or a V2 folder)")
        root = root.resolve()
        name = _data_name(root)
    try:
        table = load_benchmark(str(root))
    except (ValueError, FileNotFoundError) as err:
        raise CLIError(f"DATA={spec}: {err}") from err
    return DataTarget(name, root, None, table_facts(table))


def skip_reason(stem: str, declared: set[str] | None, target: DataTarget) -> str | None:
    """Why notebook ``stem`` (declaring parameters ``declared``) cannot run on ``target``'s table; None if it can."""
    declared = declared or set()
    facts = target.facts
    if "data_root" not in declared:
        if "mathv" in declared:
            return None if target.mathv is not None else "reads MATH-V only (its own chapter); it runs with DATA=mathv"
        return "takes no data_root parameter, so it cannot read another table"
    for need in NOTEBOOK_NEEDS.get(stem, ()):
        if need == "datasets" and len(facts.datasets) < 2:
            what = ("measures how well each channel tells the datasets apart" if stem.startswith("02")
                    else "compares the modalities dataset by dataset")
            return f"{what}; this table has one dataset ({', '.join(facts.datasets)})"
        if need == "images" and not facts.has_images:
            return "needs images (it compares the image channel with the text); this table has none"
        if need == "scenario_pair" and not facts.scenario_pairs:
            return (f"needs two datasets in one scenario (cross-dataset transfer); this table has "
                    f"{', '.join(facts.datasets)}")
    return None


def data_parameters(declared: set[str], target: DataTarget, out_dir: Path, base: dict | None = None
                    ) -> dict[str, Any]:
    """The parameters a notebook gets on ``target``: ``base`` (its full-size file, or nothing at small scale) with
    the table (``data_root``, or ``mathv`` for the MATH-V chapters), ``out_dir``, and, on a table without images,
    ``mode`` 11 (text only: the one mode such a table allows) for a notebook that has a ``mode`` parameter."""
    params = dict(base or {})
    if "data_root" in declared:
        params["data_root"] = _shown_path(target.data_root)
    elif "mathv" in declared and target.mathv is not None:
        params["mathv"] = target.mathv
    params["out_dir"] = str(out_dir)
    if "mode" in declared and not target.facts.has_images:
        params["mode"] = "11"
    return params


def _shown_path(path: Path) -> str:
    path = Path(path).resolve()
    return paths.relative_to_root(path) if path.is_relative_to(paths.ROOT) else str(path)


def run_on_data(target: DataTarget, *, full: bool = True, out: Path | None = None, build: Path | None = None,
                only: Sequence[str] | None = None, kernel_name: str = DEFAULT_KERNEL, log=print) -> list[dict]:
    """Run every notebook ``make figures`` runs on ``target``'s table, outputs into ``out`` (default
    ``figures-<name>/``) and executed copies into ``build`` (default ``build/notebooks-<name>/``); a notebook that
    cannot apply is skipped with a one-line reason (:func:`skip_reason`). ``full``: the full-size parameter files;
    otherwise each notebook's small defaults. ``only``: run just these notebooks (names or numbers).

    A notebook left out by ``only`` is recorded as ``not selected`` when it would apply.
    ``$MMR_FIGURES_DIR`` is set to ``out`` for the kernels, so nothing can be saved into the committed ``figures/``.
    Writes ``notebooks.md`` and ``notebooks.json`` (which ran, how long, which were skipped and why) into ``out``;
    returns those records. A failing notebook raises :class:`NotebookFailed`.
    """
    from tools.figures_check import figure_notebooks

    out = Path(out) if out is not None else paths.data_figures_dir(target.name)
    build = Path(build) if build is not None else paths.BUILD / f"notebooks-{target.name}"
    if out.resolve() == paths.FIGURES.resolve():
        raise CLIError(f"a run on {target.name} would write into the committed {_shown_path(paths.FIGURES)}/; "
                       f"choose another output folder")
    out_param = Path(_shown_path(out)) if out.resolve().is_relative_to(paths.ROOT) else out.resolve()
    records = []
    previous = os.environ.get(paths.FIGURES_ENV)
    os.environ[paths.FIGURES_ENV] = str(out.resolve())
    try:
        facts = target.facts
        log(f"make figures DATA={target.name}: {_shown_path(target.data_root)}, {facts.rows} rows, "
            f"{len(facts.models)} models, datasets {', '.join(facts.datasets)}, "
            f"{'images' if facts.has_images else 'no images'}{', SIMULATED' if facts.simulated else ''} -> "
            f"{_shown_path(out)}/")
        for source, params_file in figure_notebooks():
            stem = source.stem
            nb, _ = load_notebook_source(source)
            declared = notebook_parameter_names(nb, source) or set()
            reason = skip_reason(stem, declared, target)
            if reason:
                log(f"== {stem}: skipped: {reason}")
                records.append({"notebook": stem, "status": "skipped", "reason": reason})
                continue
            if only and not any(stem == o or stem.split("_")[0] == o for o in only):
                records.append({"notebook": stem, "status": "not selected", "reason": "applies; not in --only"})
                continue
            params = data_parameters(declared, target, out_param, read_params_file(params_file) if full else None)
            log(f"== {stem}")
            executed = build / f"{stem}.ipynb"
            seconds = execute_notebook(source, executed, params, kernel_name=kernel_name)
            write_run_record(stem, seconds, params, executed)
            records.append({"notebook": stem, "status": "ran", "wall_s": round(seconds, 1),
                            "executed": _shown_path(executed)})
    finally:
        if previous is None:
            os.environ.pop(paths.FIGURES_ENV, None)
        else:
            os.environ[paths.FIGURES_ENV] = previous
    _write_summary(out, target, records, full)
    return records


def _write_summary(out: Path, target: DataTarget, records: list[dict], full: bool) -> None:
    lines = [f"# Notebooks on {target.name} ({_shown_path(target.data_root)})", "",
             f"{'Full-size parameters' if full else 'Small defaults'}; {target.facts.rows} rows, "
             f"{len(target.facts.models)} models.", "", "| notebook | status | wall time or reason |", "|---|---|---|"]
    lines += [f"| {r['notebook']} | {r['status']} | {r.get('reason') or str(r['wall_s']) + ' s'} |" for r in records]
    with atomic_open(out / "notebooks.md", "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    record = {"data": target.name, "data_root": _shown_path(target.data_root), "full_size": full,
              "facts": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(target.facts).items()},
              "notebooks": records}
    with atomic_open(out / "notebooks.json", "w", encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=2) + "\n")
