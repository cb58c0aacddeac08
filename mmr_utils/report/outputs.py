"""The one output layer: figures (PNG + PDF, :func:`save_figure`) and tables (CSV + Markdown, :func:`save_table`) leave
a notebook only here, atomically, with ``<name>.provenance.json``, under ``figures/`` (or ``$MMR_FIGURES_DIR`` for other
data). Captions carry data source (SIMULATED where it is) and encoder. Use: ``report = Report(out_dir)``, then
``report.figure(fig, name, provenance)`` / ``report.table(frame, name, provenance)``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils import paths
from mmr_utils._io import atomic_write_bytes, atomic_write_text


class SavedFiles(list):
    """The paths a save helper wrote; shown in a notebook as one short line of file names (not machine paths)."""

    def __repr__(self) -> str:
        if not self:
            return "saved nothing"
        return f"saved {', '.join(p.name for p in self)} in {portable_folder(self[0].parent)}"


def portable_folder(folder: Path) -> str:
    from mmr_utils.paths import relative_to_root

    return relative_to_root(folder) + "/"


def output_folder(out_dir, name: str) -> Path:
    """The folder ``name`` is written to: ``out_dir`` or :func:`mmr_utils.paths.figures_dir`; the committed
    ``figures/`` while ``$MMR_FIGURES_DIR`` names another folder is a ``ValueError``."""
    folder = Path(out_dir) if out_dir is not None else paths.figures_dir()
    other = paths.figures_dir()
    if other != paths.FIGURES and folder.resolve() == paths.FIGURES.resolve():
        raise ValueError(f"{name}: refusing to write into the committed {paths.relative_to_root(paths.FIGURES)}/ "
                         f"during a run whose outputs go to {paths.relative_to_root(other)}/ "
                         f"(${paths.FIGURES_ENV}); pass that folder as out_dir")
    return folder


def caption(provenance: dict) -> str:
    """One line saying where the numbers come from: data (SIMULATED or not), encoder, seeds."""
    from mmr_utils.provenance import portable

    data = provenance.get("data", {})
    path = data.get("variant") or portable(str(data.get("path")))
    kind = "SIMULATED data (not the paper's numbers)" if data.get("simulated") else f"data: {path}"
    seeds = provenance.get("settings", {}).get("seeds")
    return f"{kind}; encoder: {provenance.get('encoder', '?')}" + (f"; seeds {seeds}" if seeds else "")


def data_stamp(provenance: dict) -> str:
    """The words stamped on every figure: ``SIMULATED DATA`` (not the paper's results) or the real data's name."""
    from pathlib import PurePath

    data = provenance.get("data", {})
    if data.get("simulated"):
        return "SIMULATED DATA (not the paper's results)"
    name = data.get("variant") or (PurePath(str(data.get("path"))).name if data.get("path") else "unknown data")
    return f"data: {name}"


def _provenance_file(stem: Path, provenance: dict, outputs: list[Path]) -> None:
    from mmr_utils.provenance import portable, run_record

    record = portable({**provenance, "run": run_record(), "outputs": [p.name for p in outputs]})
    atomic_write_text(stem.with_suffix(".provenance.json"), json.dumps(record, indent=2, default=str) + "\n")


def _stamp_and_caption(fig, provenance: dict, add_caption: bool) -> None:
    """Draw the data stamp (:func:`data_stamp`) above the top right corner of everything already drawn and the
    caption line (:func:`caption`) below its bottom left, so neither overlaps a title, label or legend; once."""
    if any(getattr(text, "_mmr_stamp", False) for text in fig.texts):
        return
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    width, height = fig.get_size_inches()
    simulated = bool(provenance.get("data", {}).get("simulated"))
    stamp = fig.text(box.x1 / width, (box.y1 + 0.04) / height, data_stamp(provenance), ha="right", va="bottom",
                     fontsize=9, weight="bold", color="#b2182b" if simulated else "0.25")
    stamp._mmr_stamp = True
    if add_caption:
        fig.text(box.x0 / width, (box.y0 - 0.08) / height, caption(provenance), fontsize=6, color="0.35", ha="left",
                 va="top", wrap=True)


def save_figure(fig, name: str, provenance: dict, *, out_dir=None, add_caption: bool = True) -> list[Path]:
    """Save ``fig`` as ``<out_dir>/<name>.png`` and ``.pdf`` (atomically) with ``<name>.provenance.json``, stamped and
    captioned (:func:`_stamp_and_caption`). Returns the written paths; raises on any failure."""
    if not provenance:
        raise ValueError(f"save_figure({name!r}): provenance is required (data source, encoder, seeds)")
    stem = output_folder(out_dir, name) / name
    _stamp_and_caption(fig, provenance, add_caption)
    written = []
    for fmt in ("png", "pdf"):
        buffer = io.BytesIO()
        metadata = {"Creator": "mmr_utils"} if fmt == "png" else {"Creator": "mmr_utils", "CreationDate": None}
        fig.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata)
        if buffer.tell() == 0:
            raise RuntimeError(f"save_figure({name!r}): matplotlib wrote an empty {fmt}")
        written.append(atomic_write_bytes(stem.with_suffix(f".{fmt}"), buffer.getvalue()))
    _provenance_file(stem, provenance, written)
    return SavedFiles(written)


def flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with MultiIndex column labels joined into one label each (levels joined by a space)."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame
    flat = frame.copy()
    flat.columns = [" ".join(str(level) for level in label if str(level) != "") for label in frame.columns]
    return flat


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def column_format(values) -> Callable[[object], str]:
    """One number format per column: whole numbers without decimals; 0.001 to 100,000 in fixed point with two
    significant digits of the smallest (3 for scores, at most 4); else scientific with three; both signs (a difference):
    signed, 4 decimals when all are below 1; NaN a dash; text stays."""
    numbers = np.array([float(v) for v in values if _is_number(v)], dtype=float)
    finite = numbers[np.isfinite(numbers)]
    sign = "+" if finite.size and finite.min() < 0 < finite.max() else ""
    largest = float(np.abs(finite).max()) if finite.size else 0.0
    if finite.size and np.all(finite == np.round(finite)) and largest < 1e6:
        spec = f"{sign},.0f"
    elif sign and largest < 1:  # differences: fixed point, near-zero ones as zeros
        spec = "+.4f"
    else:
        magnitudes = np.abs(finite[finite != 0])
        largest = float(magnitudes.max()) if magnitudes.size else 1.0
        smallest = float(magnitudes.min()) if magnitudes.size else 1.0
        base = 3 if largest < 10 else 2 if largest < 100 else 1 if largest < 1000 else 0
        decimals = max(base, int(np.ceil(-np.log10(smallest))) + 1 if smallest < 1 else base)
        spec = f"{sign}.{decimals}f" if largest < 1e5 and decimals <= 4 else f"{sign}.2e"

    def write(value) -> str:
        if not _is_number(value):
            return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        if np.isnan(value):
            return "–"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return format(value, spec)

    return write


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The table a reader sees: row labels as ordinary columns, columns, routers and modes named in words
    (:mod:`mmr_utils.report.names`), each numeric column in one format (:func:`column_format`); all cells are text;
    ``attrs["align"]`` says which columns are numeric (right-aligned)."""
    from mmr_utils.report.names import MODE_COLUMNS, ROUTER_COLUMNS, column_label, mode_label, router_label

    columns_name = frame.columns.name
    data = flat_columns(frame)
    row_labels = 0 if isinstance(data.index, pd.RangeIndex) and data.index.name is None else data.index.nlevels
    if isinstance(data.index, pd.MultiIndex) or data.index.name is not None:
        data = data.reset_index(allow_duplicates=True)
    elif not isinstance(data.index, pd.RangeIndex):
        data = data.reset_index(names="", allow_duplicates=True)
    else:
        data = data.reset_index(drop=True)
    shown = pd.DataFrame(index=data.index)
    labels, align = [], []
    for position, column in enumerate(data.columns):
        values = data.iloc[:, position]
        if str(column) in ROUTER_COLUMNS or position < row_labels:  # row labels that are router ids too
            values = values.map(router_label)
        elif str(column) in MODE_COLUMNS:
            values = values.map(lambda v: mode_label(v) if not (isinstance(v, float) and np.isnan(v)) else v)
        shown[position] = values.map(column_format(values.tolist())) if values.dtype != bool else values.map(str)
        align.append("right" if values.map(_is_number).any() else "left")
        if columns_name in MODE_COLUMNS and position >= data.shape[1] - frame.shape[1]:
            labels.append(mode_label(column))
        else:
            labels.append(column_label(column))
    shown.columns = labels
    shown.attrs["align"] = align
    return shown


def markdown_table(frame: pd.DataFrame, title: str, note: str) -> str:
    """``frame`` as a Markdown table (:func:`display_table`) under a bold title line and an italic note line."""
    shown = display_table(frame)
    body = shown.to_markdown(index=False, disable_numparse=True, colalign=shown.attrs["align"])
    return f"**{title}**\n\n_{note}_\n\n{body}\n"


def save_table(frame: pd.DataFrame, name: str, provenance: dict, *, out_dir=None, title: str | None = None,
               note: str | None = None) -> list[Path]:
    """Save a table as ``<name>.csv`` (raw values, flat column labels) and ``<name>.md`` (for a reader: a title line,
    a note line with the data source, encoder and seeds (:func:`caption`) and ``note`` saying what the numbers are,
    then :func:`display_table`) plus provenance, atomically. Per-seed dumps (``*_all_seeds``) are CSV only."""
    if not provenance:
        raise ValueError(f"save_table({name!r}): provenance is required (data source, encoder, seeds)")
    if frame.empty:
        raise ValueError(f"save_table({name!r}): the table is empty")
    stem = output_folder(out_dir, name) / name
    written = [atomic_write_text(stem.with_suffix(".csv"), flat_columns(frame).to_csv(index=True))]
    if not name.endswith("_all_seeds"):
        from mmr_utils.report.names import table_title

        line = caption(provenance) + (f"; {note}" if note else "")
        written.append(atomic_write_text(stem.with_suffix(".md"),
                                         markdown_table(frame, title or table_title(name), line)))
    _provenance_file(stem, provenance, written)
    return SavedFiles(written)


class Report:
    """Where a notebook's outputs go: every figure and table leaves through one report, each saved with the provenance
    record of the study it comes from (outputs are named after what they reproduce, e.g. ``tab_main_results_nauc``)."""

    def __init__(self, out_dir=None):
        self.out_dir = output_folder(out_dir, "Report")
        self.saved: list[Path] = []

    def figure(self, fig, name: str, provenance: dict, *, add_caption: bool = True) -> SavedFiles:
        """:func:`save_figure` into this report's folder."""
        written = save_figure(fig, name, provenance, out_dir=self.out_dir, add_caption=add_caption)
        self.saved += written
        return written

    def table(self, frame: pd.DataFrame, name: str, provenance: dict, *, title: str | None = None,
              note: str | None = None) -> SavedFiles:
        """:func:`save_table` into this report's folder."""
        written = save_table(frame, name, provenance, out_dir=self.out_dir, title=title, note=note)
        self.saved += written
        return written
