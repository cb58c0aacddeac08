"""On-disk store of study results as CSV + JSON + ``.npz``: nothing read back from the cache folder can run code.

Saved study results used to be pickles, and unpickling a file runs whatever it says. An entry of this store is a
folder ``<root>/<name>/`` holding only data:

- ``frame-<i>.csv``: each DataFrame, readable as it is (its text cells are read back from here);
- ``arrays.npz``: every numpy array, and the exact values of every numeric DataFrame column (loaded with
  ``allow_pickle=False``, so an object array in it is refused, not executed);
- ``manifest.json``, written last: format version, the sha256 and size of every other file, and the saved value's
  structure as JSON, with tags for what JSON lacks (tuples, dicts with non-string keys, numpy scalars, arrays with
  their shapes and dtypes, DataFrames and their dtypes), so that a value reads back equal and of the same types and
  dtypes; an array whose shape or dtype differs from the manifest's record makes the entry unreadable (a miss).

Every file is written atomically (:mod:`mmr_utils._io`). An entry that is missing, truncated, altered or otherwise
unreadable is a miss: :meth:`ResultStore.load` warns naming the file and returns None, and the caller recomputes and
saves over it. ``make clean-cache`` removes entries and leftover temporary files (:func:`mmr_utils.features.cache.clear_cache`).

The store refuses a folder that other users can write to (:class:`UnsafeCacheFolderError`): results planted there would
be presented as this project's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmr_utils._io import atomic_open, atomic_write_text
from mmr_utils.features.cache import CacheError

STORE_FORMAT = "mmr_utils.experiments.store"
STORE_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
#: Entry names and file names inside an entry: plain names only, so a manifest cannot point outside its folder.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=,+-]*$")
#: What a damaged entry can raise while it is read and decoded; all of it means "recompute".
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError, zipfile.BadZipFile,
               UnicodeDecodeError, csv.Error)


class UnsafeCacheFolderError(CacheError, PermissionError):
    """The cache folder can be written by other users (or belongs to one), so what it holds cannot be trusted."""


class _Unreadable(Exception):
    """Raised inside :meth:`ResultStore.load` for an entry that is not what this module writes."""


# ----------------------------------------------------------------------------------------------- folder safety
def make_private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (parents as usual) with mode 0700 when it does not exist yet; return it."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def check_private_folder(folder: str | os.PathLike, *, allow_sticky: bool = False) -> None:
    """Raise :class:`UnsafeCacheFolderError` when ``folder`` is writable by group or others, or owned by another user
    (root excepted). With ``allow_sticky`` a world-writable folder with the sticky bit (like /tmp) passes the mode
    check: others can add names there but not replace ours."""
    folder = Path(folder)
    info = folder.stat()
    mode = stat.S_IMODE(info.st_mode)
    writable = mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and not (allow_sticky and mode & stat.S_ISVTX):
        who = " and ".join(w for w, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH)) if mode & bit)
        raise UnsafeCacheFolderError(
            f"cache folder {folder} is writable by {who} (mode {mode:04o}): study results read from it could have been "
            f"planted by someone else, so it is refused. Make it private with `chmod go-w {folder}`, or set "
            f"MMR_CACHE_DIR to a folder only you can write to (MMR_STUDY_CACHE=0 turns the result cache off)"
        )
    if hasattr(os, "geteuid") and info.st_uid not in (os.geteuid(), 0):
        raise UnsafeCacheFolderError(
            f"cache folder {folder} belongs to another user (uid {info.st_uid}), so the study results in it are not "
            f"trusted. Set MMR_CACHE_DIR to a folder of your own (MMR_STUDY_CACHE=0 turns the result cache off)"
        )


# ----------------------------------------------------------------------------------------------- encoding
def _dtype_spec(dtype) -> dict:
    if isinstance(dtype, np.dtype):
        if dtype.hasobject:
            return {"kind": "object"}
        return {"kind": "numpy", "dtype": dtype.str}
    if isinstance(dtype, pd.StringDtype):
        return {"kind": "string", "storage": dtype.storage, "na": "nan" if dtype.na_value is not pd.NA else "NA"}
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.name in _MASKED_DTYPES:
        return {"kind": "masked", "dtype": dtype.name}
    raise TypeError(f"result store cannot save a DataFrame column of dtype {dtype}")


_MASKED_DTYPES = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64",
                  "boolean")


def _dtype_from_spec(spec: dict):
    kind = spec["kind"]
    if kind == "object":
        return np.dtype(object)
    if kind == "numpy":
        dtype = np.dtype(spec["dtype"])
        if dtype.hasobject:
            raise _Unreadable(f"object dtype {spec['dtype']!r} where a numeric one was recorded")
        return dtype
    if kind == "string":
        return pd.StringDtype(spec["storage"], na_value=np.nan if spec["na"] == "nan" else pd.NA)
    if kind == "masked" and spec["dtype"] in _MASKED_DTYPES:
        return pd.api.types.pandas_dtype(spec["dtype"])
    raise _Unreadable(f"unknown column dtype {spec!r}")


class _Encoder:
    """Turns a value into JSON-able structure, collecting arrays (for the .npz) and CSV texts on the way."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.frames: dict[str, str] = {}

    def array(self, values: np.ndarray, where: str) -> str:
        values = np.asarray(values)
        if values.dtype.hasobject:
            raise TypeError(f"result store cannot save an object array (at {where}); it would need pickle")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = values
        return name

    def encode(self, value: Any, where: str = "value") -> Any:
        if value is None or (isinstance(value, (bool, str)) and not isinstance(value, np.generic)):
            return value
        if isinstance(value, np.generic):  # before int/float: np.float64 is a float, np.str_ a str
            return {"$": "scalar", "array": self.array(np.asarray(value), where)}
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"$": "tuple", "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"$": "dict", "items": [[self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                                            for k, v in value.items()]}
        if isinstance(value, np.ndarray):
            return {"$": "array", "array": self.array(value, where), "shape": list(value.shape),
                    "dtype": value.dtype.str}
        if isinstance(value, pd.DataFrame):
            return self.frame(value, where)
        raise TypeError(f"result store cannot save a {type(value).__name__} (at {where})")

    def column(self, series: pd.Series, where: str) -> tuple[dict, list[str]]:
        """The column's spec and its CSV cells."""
        spec = _dtype_spec(series.dtype)
        kind = spec["kind"]
        if kind == "numpy":
            values = series.to_numpy()
            spec["array"] = self.array(values, where)
            return spec, [str(v) for v in values.tolist()]
        if kind == "masked":
            mask = series.isna().to_numpy()
            numpy_dtype = series.array.dtype.numpy_dtype
            values = series.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0))
            spec["array"], spec["mask"] = self.array(values, where), self.array(mask, where)
            return spec, ["" if m else str(v) for v, m in zip(values.tolist(), mask)]
        if kind == "string":
            mask = series.isna().to_numpy()
            spec["mask"] = self.array(mask, where)
            return spec, ["" if m else str(v) for v, m in zip(series.tolist(), mask)]
        cells, others = [], []  # object: strings in the CSV, anything else tagged in the manifest
        for row, value in enumerate(series.tolist()):
            if isinstance(value, str) and not isinstance(value, np.str_):
                cells.append(value)
            else:
                others.append([row, self.encode(value, f"{where} row {row}")])
                cells.append("" if value is None or (isinstance(value, float) and value != value) else str(value))
        spec["others"] = others
        return spec, cells

    def frame(self, frame: pd.DataFrame, where: str) -> dict:
        names = list(frame.columns)
        bad = [n for n in names if not isinstance(n, str) or n.startswith("$index")]
        if bad or len(set(names)) != len(names):
            raise TypeError(f"result store saves DataFrames with unique string column names (at {where}), got {names}")
        spec: dict = {"$": "frame", "rows": len(frame), "columns": names,
                      "columns_dtype": None if isinstance(frame.columns, pd.RangeIndex) else _dtype_spec(
                          frame.columns.dtype),
                      "columns_name": self.encode(frame.columns.name, f"{where} columns name"),
                      "attrs": self.encode(dict(frame.attrs), f"{where} attrs")}
        index = frame.index
        blocks: list[tuple[str, pd.Series]] = []
        if isinstance(index, pd.RangeIndex):
            spec["index"] = {"kind": "range", "start": index.start, "stop": index.stop, "step": index.step,
                             "name": self.encode(index.name, f"{where} index name")}
        else:
            levels = index.to_frame(index=False)
            spec["index"] = {"kind": "levels", "multi": isinstance(index, pd.MultiIndex),
                             "names": [self.encode(n, f"{where} index name") for n in index.names]}
            blocks += [(f"$index{i}", levels.iloc[:, i]) for i in range(levels.shape[1])]
        blocks += [(name, frame.iloc[:, j]) for j, name in enumerate(names)]
        specs, columns = [], []
        for name, series in blocks:
            column_spec, cells = self.column(series, f"{where} column {name!r}")
            specs.append(column_spec)
            columns.append(cells)
        spec["specs"] = specs
        file = f"frame-{len(self.frames)}.csv"
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([name for name, _ in blocks])
        writer.writerows(zip(*columns))
        self.frames[file] = text.getvalue()
        spec["file"] = file
        return spec


class _Decoder:
    def __init__(self, folder: Path, arrays: dict[str, np.ndarray]):
        self.folder = folder
        self.arrays = arrays

    def array(self, name) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise _Unreadable(f"manifest names array {name!r}, which {ARRAYS} does not hold")
        return self.arrays[name]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise _Unreadable(f"unexpected JSON node {type(node).__name__}")
        tag = node.get("$")
        if tag is None:
            return {k: self.decode(v) for k, v in node.items()}
        if tag == "scalar":
            array = self.array(node["array"])
            if array.ndim != 0:
                raise _Unreadable("scalar stored with a shape")
            return array[()]
        if tag == "array":
            array = self.array(node["array"])
            if "shape" in node and list(array.shape) != list(node["shape"]):
                raise _Unreadable(f"array {node['array']!r} has shape {array.shape}, the manifest records "
                                  f"{tuple(node['shape'])}")
            if "dtype" in node and array.dtype.str != node["dtype"]:
                raise _Unreadable(f"array {node['array']!r} has dtype {array.dtype.str}, the manifest records "
                                  f"{node['dtype']}")
            return array
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if tag == "frame":
            return self.frame(node)
        raise _Unreadable(f"unknown tag {tag!r}")

    def column(self, spec: dict, cells: list[str], rows: int) -> pd.Series:
        dtype = _dtype_from_spec(spec)
        kind = spec["kind"]
        if kind in ("numpy", "masked"):
            values = self.array(spec["array"])
            if values.shape != (rows,):
                raise _Unreadable(f"column array of shape {values.shape}, expected ({rows},)")
            if kind == "numpy":
                if values.dtype != dtype:
                    raise _Unreadable(f"column array of dtype {values.dtype}, expected {dtype}")
                return pd.Series(values, dtype=dtype, copy=False)
            mask = self.array(spec["mask"]).astype(bool)
            return pd.Series(pd.array(values, dtype=dtype)).mask(mask)
        if kind == "string":
            mask = self.array(spec["mask"])
            if mask.shape != (rows,):
                raise _Unreadable(f"string mask of shape {mask.shape}, expected ({rows},)")
            return pd.Series(pd.array([None if m else c for c, m in zip(cells, mask)], dtype=dtype))
        values = np.empty(rows, dtype=object)
        values[:] = cells
        for row, value in spec["others"]:
            values[row] = self.decode(value)
        return pd.Series(values, dtype=object, copy=False)

    def frame(self, node: dict) -> pd.DataFrame:
        rows, names, specs = int(node["rows"]), list(node["columns"]), node["specs"]
        file = node["file"]
        if not isinstance(file, str) or not _NAME.match(file):
            raise _Unreadable(f"bad frame file name {file!r}")
        cells: list = []
        if specs:
            with open(self.folder / file, encoding="utf-8", newline="") as handle:
                records = list(csv.reader(handle, strict=True))
            if len(records) != rows + 1 or any(len(r) != len(specs) for r in records):
                raise _Unreadable(f"{file}: expected a header and {rows} rows of {len(specs)} fields")
            cells = list(zip(*records[1:])) if rows else [()] * len(specs)
        series = [self.column(spec, list(cells[j]), rows) for j, spec in enumerate(specs)]
        index_spec = node["index"]
        if index_spec["kind"] == "range":
            index = pd.RangeIndex(index_spec["start"], index_spec["stop"], index_spec["step"],
                                  name=self.decode(index_spec["name"]))
            n_levels = 0
        else:
            level_names = [self.decode(n) for n in index_spec["names"]]
            n_levels = len(level_names)
            levels = series[:n_levels]
            index = (pd.MultiIndex.from_arrays(levels, names=level_names) if index_spec["multi"]
                     else pd.Index(levels[0], name=level_names[0]))
        data = series[n_levels:]
        if len(data) != len(names) or len(index) != rows:
            raise _Unreadable("frame columns or index do not match the manifest")
        frame = pd.concat([s.reset_index(drop=True) for s in data], axis=1, ignore_index=True) if data \
            else pd.DataFrame(index=pd.RangeIndex(rows))
        columns_dtype = node["columns_dtype"]
        frame.columns = (pd.Index(names, dtype=_dtype_from_spec(columns_dtype), name=self.decode(node["columns_name"]))
                         if columns_dtype is not None else pd.RangeIndex(0, name=self.decode(node["columns_name"])))
        frame.index = index
        frame.attrs.update(self.decode(node["attrs"]))
        return frame


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------- the store
class ResultStore:
    """Entries ``<folder>/<name>/`` of saved values (a study result's fields: DataFrames, curves, provenance).

    ``folder``'s parent is taken as the cache root: both are created private (0700) when missing and refused when other
    users can write to them (:class:`UnsafeCacheFolderError`).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._checked = False

    def _ready(self) -> Path:
        if not self._checked:
            root = self.folder.parent
            make_private_dir(root)
            check_private_folder(root, allow_sticky=True)
            make_private_dir(self.folder)
            check_private_folder(self.folder)
            self._checked = True
        return self.folder

    def entry(self, name: str) -> Path:
        """The folder of entry ``name`` (a plain name: letters, digits and ``_.=,+-``)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"result store entry names are plain file names, got {name!r}")
        return self.folder / name

    def save(self, name: str, value: Any) -> Path:
        """Write ``value`` as entry ``name`` (replacing what was there) and return the entry's folder.

        Raises ``TypeError`` for values the store cannot represent without pickle (object arrays, arbitrary objects).
        """
        entry = self.entry(name)
        encoder = _Encoder()
        tree = encoder.encode(value)
        self._ready()
        entry.mkdir(mode=0o700, exist_ok=True)
        files = {}
        for file, text in encoder.frames.items():
            with atomic_open(entry / file, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            files[file] = entry / file
        with atomic_open(entry / ARRAYS, "wb") as handle:
            np.savez(handle, **encoder.arrays)
        files[ARRAYS] = entry / ARRAYS
        manifest = {"format": STORE_FORMAT, "version": STORE_VERSION,
                    "files": {f: {"sha256": _sha256(p), "bytes": p.stat().st_size} for f, p in files.items()},
                    "value": tree}
        atomic_write_text(entry / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        return entry

    def load(self, name: str) -> Any | None:
        """The value saved as ``name``, or None when there is none. A damaged entry (truncated, altered, not written by
        this module) is also None, with a warning naming the file: the caller recomputes and saves over it."""
        entry = self.entry(name)
        self._ready()
        manifest_path = entry / MANIFEST
        if not manifest_path.is_file():
            if entry.exists():
                warnings.warn(f"result store: {entry} has no {MANIFEST} (an interrupted write?); recomputing it",
                              stacklevel=2)
            return None
        current = manifest_path
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
                raise _Unreadable("not a result store manifest")
            if manifest.get("version") != STORE_VERSION:
                raise _Unreadable(f"format version {manifest.get('version')!r}, expected {STORE_VERSION}")
            for file, record in manifest["files"].items():
                current = entry / file
                if not _NAME.match(file):
                    raise _Unreadable(f"manifest names a file outside the entry: {file!r}")
                if current.stat().st_size != record["bytes"] or _sha256(current) != record["sha256"]:
                    raise _Unreadable("size or sha256 differs from the manifest (truncated or altered)")
            current = entry / ARRAYS
            with np.load(current, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            current = manifest_path
            return _Decoder(entry, arrays).decode(manifest["value"])
        except (_Unreadable, *_UNREADABLE) as error:
            warnings.warn(f"result store: {current} is unreadable ({type(error).__name__}: {error}); recomputing "
                          f"and replacing the entry (`make clean-cache` removes every saved result)", stacklevel=2)
            return None
