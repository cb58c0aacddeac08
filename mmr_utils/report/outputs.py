"""The one output layer: figures (PNG + PDF, :func:`save_figure`) and tables (CSV + Markdown, :func:`save_table`)
leave a notebook only through here, written atomically with ``<name>.provenance.json`` under ``figures/`` (or
``$MMR_FIGURES_DIR`` during a run on other data, when writing into ``figures/`` is refused). Captions carry the data
source (SIMULATED where it is) and the encoder. A notebook binds its folder once in a :class:`Report`::

    report = Report(out_dir)
    report.figure(fig, "fig_pareto", result.provenance)
    report.table(frame, "tab_main_results_nauc", result.provenance)
"""

from __future__ import annotations

import io
import json
from pathlib import Path

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


def _provenance_file(stem: Path, provenance: dict, outputs: list[Path]) -> None:
    from mmr_utils.provenance import portable, run_record

    record = portable({**provenance, "run": run_record(), "outputs": [p.name for p in outputs]})
    atomic_write_text(stem.with_suffix(".provenance.json"), json.dumps(record, indent=2, default=str) + "\n")


def save_figure(fig, name: str, provenance: dict, *, out_dir=None, add_caption: bool = True) -> list[Path]:
    """Save ``fig`` as ``<out_dir>/<name>.png`` and ``.pdf`` (atomically) with ``<name>.provenance.json``; the
    caption line (:func:`caption`) is drawn under the figure. Returns the written paths; raises on any failure."""
    if not provenance:
        raise ValueError(f"save_figure({name!r}): provenance is required (data source, encoder, seeds)")
    stem = output_folder(out_dir, name) / name
    if add_caption:
        # Below the axes (bbox_inches="tight" keeps it), so it never overlaps an axis label.
        fig.text(0.01, -0.01, caption(provenance), fontsize=6, color="0.35", ha="left", va="top", wrap=True)
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


def save_table(frame: pd.DataFrame, name: str, provenance: dict, *, out_dir=None, floatfmt: str = ".4g") -> list[Path]:
    """Save a table as ``<name>.csv`` and ``<name>.md`` (with the caption line) plus provenance, atomically."""
    if not provenance:
        raise ValueError(f"save_table({name!r}): provenance is required (data source, encoder, seeds)")
    if frame.empty:
        raise ValueError(f"save_table({name!r}): the table is empty")
    stem = output_folder(out_dir, name) / name
    csv = atomic_write_text(stem.with_suffix(".csv"), frame.to_csv(index=True))
    markdown = frame.to_markdown(floatfmt=floatfmt)
    md = atomic_write_text(stem.with_suffix(".md"), f"{markdown}\n\n_{caption(provenance)}_\n")
    _provenance_file(stem, provenance, [csv, md])
    return SavedFiles([csv, md])


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

    def table(self, frame: pd.DataFrame, name: str, provenance: dict, *, floatfmt: str = ".4g") -> SavedFiles:
        """:func:`save_table` into this report's folder."""
        written = save_table(frame, name, provenance, out_dir=self.out_dir, floatfmt=floatfmt)
        self.saved += written
        return written
