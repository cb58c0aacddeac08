"""Repository-anchored paths: every path in the project derives from the repository root found here, never from the
current working directory (notebooks run from ``notebooks/`` or wherever papermill starts)."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the folder holding ``pyproject.toml``).
ROOT: Path = Path(__file__).resolve().parent.parent
#: Generated and downloaded data; git-ignored; ``MMR_DATA_DIR`` moves it (``make check-figures`` uses an empty one).
DATA: Path = Path(os.environ.get("MMR_DATA_DIR", ROOT / "data"))
#: Small real samples shipped with the repository (tracked, unlike the rest of ``data/``).
SAMPLES: Path = ROOT / "data" / "samples"
#: Committed outputs of ``make figures``: figures (PNG + PDF) and tables (CSV + Markdown) with provenance.
FIGURES: Path = ROOT / "figures"
#: Environment variable naming the output folder of a run on other data (``make figures DATA=...`` sets it to
#: ``figures-<name>``); while it is set, nothing may be written into :data:`FIGURES` (:mod:`mmr_utils.report.outputs`).
FIGURES_ENV = "MMR_FIGURES_DIR"
#: Executed notebooks and other build products; git-ignored.
BUILD: Path = ROOT / "build"
#: Notebook sources (jupytext percent files and their ``.ipynb`` twins).
NOTEBOOKS: Path = ROOT / "notebooks"
#: Embedding cache and run cache (:mod:`mmr_utils.experiments.run_cache`); ``MMR_CACHE_DIR`` overrides it.
CACHE: Path = Path(os.environ.get("MMR_CACHE_DIR", ROOT / ".cache" / "mmr_utils"))
#: Default location of the simulated benchmark written by ``make data``.
SIMULATED: Path = DATA / "simulated"
#: Default location of the official MMR-Bench download written by ``make data-official``.
OFFICIAL: Path = DATA / "official"
#: Default location of the MMR-Bench V2 download written by ``make data-official VERSION=2``.
OFFICIAL_V2: Path = DATA / "official-v2"
#: Default location of the MATH-V conversion.
MATHV: Path = DATA / "mathv"
#: Where the MATH-V source lives beside a checkout (CI and the development machines have it).
SHARED_MATHV: Path = ROOT.parent / "shared" / "data" / "math-v"


def figures_dir() -> Path:
    """Where figures and tables go when a caller names no folder: ``$MMR_FIGURES_DIR`` (relative paths taken from the
    repository root) during a run on other data, else the committed :data:`FIGURES`. Read at call time."""
    named = os.environ.get(FIGURES_ENV)
    if not named:
        return FIGURES
    folder = Path(named)
    return folder if folder.is_absolute() else ROOT / folder


def data_figures_dir(name: str) -> Path:
    """The output folder of a run on the data named ``name`` (``official`` -> ``figures-official/``)."""
    if not name or "/" in name or name in (".", "..") or name != name.strip():
        raise ValueError(f"data name {name!r}: expected one folder-name word such as 'official' or 'mathv'")
    return ROOT / f"figures-{name}"


def relative_to_root(path: str | os.PathLike) -> str:
    """``path`` relative to the repository root (``../`` where it lies outside), never naming the machine."""
    return Path(os.path.relpath(Path(path).resolve(), ROOT)).as_posix()
