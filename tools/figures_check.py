"""``make check-figures``: the committed figures and tables must be a pure function of the code.

:func:`regenerate` runs every notebook that ``make figures`` runs, at full size, from a clean state: a fresh data
folder (``MMR_DATA_DIR``), an empty cache (``MMR_CACHE_DIR``) and its own output folder, all in a temporary
directory, so nothing left over from earlier runs can leak in and nothing in the working tree is touched.
:func:`compare_outputs` then compares every table (CSV and Markdown) with the committed one, as exact text by
default, and checks that the same set of figure files was produced. Figures themselves (PNG/PDF) are not compared
byte for byte: their bytes depend on font and renderer versions, while the tables hold every number they plot.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmr_utils import paths

TABLE_SUFFIXES = (".csv", ".md")
FIGURE_SUFFIXES = (".png", ".pdf")


def figure_notebooks(notebooks: Path = paths.NOTEBOOKS) -> list[tuple[Path, Path]]:
    """(notebook source, full-size parameters file) for every notebook ``make figures`` runs, in reading order."""
    pairs = []
    for params in sorted((notebooks / "params").glob("*.full.yaml")):
        source = notebooks / f"{params.name[: -len('.full.yaml')]}.py"
        if not source.is_file():
            raise FileNotFoundError(f"{params} has no notebook {source.name} beside it")
        pairs.append((source, params))
    return pairs


def regenerate(work: Path, *, python: str = sys.executable, log=print) -> Path:
    """Run every figure notebook into ``work/figures`` from a clean state under ``work``; return that folder.

    Raises ``RuntimeError`` naming the notebook (and its executed copy) that failed.
    """
    work = Path(work)
    out, executed = work / "figures", work / "notebooks"
    env = {**os.environ, "MMR_DATA_DIR": str(work / "data"), "MMR_CACHE_DIR": str(work / "cache"),
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
           "TOKENIZERS_PARALLELISM": "false"}
    for source, params in figure_notebooks():
        started = time.perf_counter()
        target = executed / f"{source.stem}.ipynb"
        command = [python, "-m", "tools", "run-notebook", str(source), "--params", str(params),
                   "--out", str(target), "-p", "out_dir", str(out)]
        done = subprocess.run(command, env=env, cwd=paths.ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-3000:]
            raise RuntimeError(f"check-figures: notebook {source.stem} failed (executed copy: {target}):\n{tail}")
        log(f"check-figures: {source.stem} regenerated in {time.perf_counter() - started:.0f} s")
    return out


@dataclass
class Comparison:
    """The outcome of comparing regenerated outputs with the committed ones."""

    compared: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _numbers_close(expected: str, actual: str, tolerance: float) -> bool:
    try:
        a, b = float(expected), float(actual)
    except ValueError:
        return False
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance


def _table_differences(name: str, expected: str, actual: str, tolerance: float, limit: int = 5) -> list[str]:
    """Differences between two table texts: line by line; with ``tolerance`` > 0, numeric CSV cells within it agree."""
    exp_lines, act_lines = expected.splitlines(), actual.splitlines()
    if len(exp_lines) != len(act_lines):
        return [f"{name}: {len(act_lines)} lines regenerated, {len(exp_lines)} committed"]
    found = []
    for line_no, (exp, act) in enumerate(zip(exp_lines, act_lines), start=1):
        if exp == act:
            continue
        if tolerance > 0 and name.endswith(".csv"):
            exp_cells, act_cells = exp.split(","), act.split(",")
            if len(exp_cells) == len(act_cells) and all(
                e == a or _numbers_close(e, a, tolerance) for e, a in zip(exp_cells, act_cells)
            ):
                continue
        found.append(f"{name}, line {line_no}: committed {exp[:160]!r}, regenerated {act[:160]!r}")
        if len(found) >= limit:
            found.append(f"{name}: (further differing lines not shown)")
            break
    return found


def compare_outputs(committed: Path, regenerated: Path, *, tolerance: float = 0.0) -> Comparison:
    """Compare every table file and the set of figure files in two output folders (module docstring)."""
    committed, regenerated = Path(committed), Path(regenerated)
    result = Comparison()
    suffixes = TABLE_SUFFIXES + FIGURE_SUFFIXES
    names_c = {p.name for p in committed.glob("*") if p.suffix in suffixes}
    names_r = {p.name for p in regenerated.glob("*") if p.suffix in suffixes}
    for name in sorted(names_c - names_r):
        result.differences.append(f"{name}: committed but not regenerated")
    for name in sorted(names_r - names_c):
        result.differences.append(f"{name}: regenerated but not committed")
    for name in sorted(names_c & names_r):
        if not name.endswith(TABLE_SUFFIXES):
            continue
        result.compared.append(name)
        expected = (committed / name).read_text(encoding="utf-8")
        actual = (regenerated / name).read_text(encoding="utf-8")
        if expected != actual:
            result.differences += _table_differences(name, expected, actual, tolerance)
    return result


def check_figures(*, work: Path | None = None, tolerance: float = 0.0, keep: bool = False, log=print) -> Comparison:
    """Regenerate everything from a clean state and compare it with ``figures/`` (the ``make check-figures`` entry)."""
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="mmr-check-figures-"))
    started = time.perf_counter()
    regenerated = regenerate(work, log=log)
    result = compare_outputs(paths.FIGURES, regenerated, tolerance=tolerance)
    log(f"check-figures: {len(result.compared)} tables compared in {time.perf_counter() - started:.0f} s "
        f"({'exact text' if tolerance == 0 else f'numeric tolerance {tolerance:g}'}); "
        f"{len(result.differences)} differences; regenerated outputs in {regenerated}")
    if result.ok and not keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return result
