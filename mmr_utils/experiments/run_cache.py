"""The run cache: each trained router's test-row predictions, saved once and read back by every notebook and study.

An entry in ``<cache>/runs/`` is ``<name>.npz`` (``U``, ``P``: test rows x models; ``test``: row indices; loaded with
``allow_pickle=False``) and, written last, ``<name>.json`` (router, parameters, mode, fusion, seed, features, split,
``.npz`` sha256), both atomic (:mod:`mmr_utils._io`) with plain ``open`` modes. A missing, truncated or altered entry is
a miss: :func:`load_run` warns naming the file, and the run is retrained and saved over it. ``make clean-cache`` clears
it (:func:`mmr_utils.features.cache.clear_cache`)."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from mmr_utils._io import atomic_open, atomic_write_text

#: Entry names: plain file names, so a name can never point outside the cache folder.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=,+-]*$")
FORMAT = "mmr_utils run cache 1"


def runs_folder() -> Path:
    """``<cache>/runs``: the run cache beside the embedding cache (:data:`mmr_utils.paths.CACHE`)."""
    from mmr_utils import paths

    return paths.CACHE / "runs"


def _files(name: str) -> tuple[Path, Path]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"run cache entry names are plain file names, got {name!r}")
    folder = runs_folder()
    return folder / f"{name}.npz", folder / f"{name}.json"


def as_json(value):
    """``value`` as JSON gives it back (tuples as lists, numpy scalars as numbers), so fresh and cached records agree."""
    def plain(item):
        if isinstance(item, np.generic):
            return item.item()
        raise TypeError(f"a run record holds {type(item).__name__} ({item!r}), which JSON cannot store")

    return json.loads(json.dumps(value, default=plain))


def save_run(name: str, U: np.ndarray, P: np.ndarray, test: np.ndarray, info: dict) -> None:
    """Save a run as entry ``name``: the arrays first, the record naming their sha256 last."""
    arrays_path, record_path = _files(name)
    with atomic_open(arrays_path, "wb") as handle:
        np.savez(handle, U=np.asarray(U), P=np.asarray(P), test=np.asarray(test))
    digest = hashlib.sha256(arrays_path.read_bytes()).hexdigest()
    record = {"format": FORMAT, "arrays_sha256": digest, "info": as_json(info)}
    atomic_write_text(record_path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def load_run(name: str) -> dict | None:
    """Entry ``name`` as ``{"U", "P", "test", "info"}``; None when absent or damaged (with a warning)."""
    arrays_path, record_path = _files(name)
    if not record_path.is_file():
        return None
    current = record_path
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("info"), dict):
            raise ValueError(f"not a run record of format {FORMAT!r}")
        current = arrays_path
        if hashlib.sha256(arrays_path.read_bytes()).hexdigest() != record["arrays_sha256"]:
            raise ValueError("its sha256 differs from the record's (truncated or altered)")
        with np.load(arrays_path, allow_pickle=False) as archive:
            return {"U": archive["U"], "P": archive["P"], "test": archive["test"], "info": record["info"]}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        warnings.warn(f"run cache: {current} is unreadable ({type(error).__name__}: {error}); training the run again "
                      f"and replacing the entry", stacklevel=2)
        return None
