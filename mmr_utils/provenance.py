"""The provenance record of every saved figure and table (``<name>.provenance.json``): what code, data, features and
settings produced it, with paths relative to the repository root (:func:`portable`), never naming the machine."""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path

from mmr_utils import paths
from mmr_utils._archive import sha256_file

#: Folders whose changes do not make a run "dirty": they are what a run writes, not what it runs.
_OUTPUT_FOLDERS = ("figures/", "build/", "data/", ".cache/")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.+@-]+/)*[\w.+@-]+")


@functools.lru_cache(maxsize=1)
def git_state() -> dict:
    """The git commit and whether tracked code differs from it (outputs excepted); ``None`` outside a checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(paths.ROOT), *args], check=True, capture_output=True,
                              text=True, timeout=30).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    dirty = sorted(p for p in changed if not p.startswith(_OUTPUT_FOLDERS))
    return {"commit": commit, "dirty": bool(dirty), **({"dirty_files": dirty[:20]} if dirty else {})}


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)


def table_sha256(path) -> str | None:
    """sha256 of an outcome table's CSV (cached per file state), or ``None`` when there is no such file."""
    path = Path(path) if path else None
    if path is None or not path.is_file():
        return None
    stat = path.stat()
    return _file_sha256(str(path), stat.st_mtime_ns, stat.st_size)


def portable(value):
    """``value`` with every absolute path inside it rewritten relative to the repository root (recursively)."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(item) for item in value]
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and "/" in value:
        return _ABSOLUTE_PATH.sub(lambda m: paths.relative_to_root(m.group(0)), value)
    return value


def run_record() -> dict:
    """The code identity every provenance record gets: git commit and dirtiness, package version."""
    from mmr_utils import __version__

    return {"git": git_state(), "mmr_utils": __version__}


def table_record(table) -> dict:
    """The data part of a provenance record for an :class:`~mmr_utils.data.table.OutcomeTable` (with the audit counts
    of :func:`mmr_utils.data.audit.record_audit` when the table was audited)."""
    source = table.source
    record = {"path": source.get("path"), "sha256": table_sha256(source.get("path")),
              "simulated": bool(source.get("simulated")), "variant": source.get("variant"), "rows": table.n,
              "models": list(table.models), "datasets": table.datasets}
    if "audit" in source:  # counts of mmr_utils.data.audit, when the table was audited (record_audit)
        record["audit"] = source["audit"]
    return record


def study_provenance(bank, **settings) -> dict:
    """What produced a study's result: data source, features' fingerprint and cache keys, the encoder that ran, the
    settings, the CPU numerics (:func:`mmr_utils.numerics.process_numerics`) and library versions."""
    import platform

    import numpy as np
    import pandas as pd
    import sklearn
    import torch

    from mmr_utils import __version__
    from mmr_utils.numerics import process_numerics

    source = bank.table.source
    return {
        "data": {**table_record(bank.table), "missing_cells": source.get("missing_cells", {}),
                 "missing_images": source.get("missing_images", {}),
                 "missing_cells_handling": "routers learn from observed cells only; evaluation scores complete rows"},
        "features": {"fingerprint": bank.fingerprint(), "cache_keys": bank.cache_keys()},
        "encoder": bank.encoder,
        "encoder_detail": bank.info.get("encoder"),
        "settings": settings,
        "numerics": process_numerics(),
        "versions": {"mmr_utils": __version__, "python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__},
    }
