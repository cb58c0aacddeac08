"""The official MMR-Bench table schema, its loader, and the pinned download of the official data (paper Sec. 3).

Schema (``MMR_Bench.csv``, later renamed ``MMR-Bench.csv``): one row per instance with ``dataset_idx`` and
``question`` (``answer`` optional), and per model ``M`` the columns ``M_correct`` (True/False or 1/0) and ``M_cost``
(USD per call), optionally ``M_token`` (output tokens) and ``M_prediction``. The model list is every name that has both
a ``_correct`` and a ``_cost`` column. Any other column is kept as a per-instance field (e.g. ``category``).

Images resolve from ``dataset_idx`` by the longest known prefix to ``<image_root>/<folder>/<id>.{jpg,png,jpeg,webp}``.
A table without images (other datasets, text-only settings) is legitimate: its ``image_path`` column is all None.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_directory, atomic_write_text
from ..datasets import image_folder_of, scenario_of, split_dataset_idx
from ..tables import OutcomeTable

CSV_NAMES: tuple[str, ...] = ("MMR-Bench.csv", "MMR_Bench.csv")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".png", ".jpeg", ".webp")
MODEL_SUFFIXES: tuple[str, ...] = ("_correct", "_cost", "_token", "_prediction")

#: The official data on the Hugging Face hub, pinned to the 10-model version.
HUB_REPO_ID = "gh0stHunter/MMR-Bench"
HUB_REVISION = "b2619d8389935171022f0a7e8bee45f80ca249dd"
HUB_FILES: tuple[str, ...] = ("MMR-Bench.csv", "images.tar.gz")

_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


class TableFormatError(ValueError):
    """A table file does not follow the official schema; the message names the file, row or column."""


def find_table_csv(path) -> Path:
    """The table CSV: ``path`` itself if it is a file, else ``MMR-Bench.csv`` or ``MMR_Bench.csv`` inside it."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no outcome table at {path}: expected a CSV file or a folder holding one of {CSV_NAMES}")
    for name in CSV_NAMES:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"folder {path} holds none of {CSV_NAMES}")


def _model_columns(header: list[str], csv_path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise TableFormatError(f"{csv_path}: duplicate columns {duplicates}")
    for required in ("dataset_idx", "question"):
        if required not in header:
            raise TableFormatError(f"{csv_path}: missing required column {required!r} (header: {header[:8]}...)")
    per_model: dict[str, dict[str, str]] = {}
    for column in header:
        for suffix in MODEL_SUFFIXES:
            if column.endswith(suffix) and len(column) > len(suffix):
                per_model.setdefault(column[: -len(suffix)], {})[suffix] = column
                break
    models = []
    for model, columns in per_model.items():
        has_correct, has_cost = "_correct" in columns, "_cost" in columns
        if has_correct and not has_cost:
            raise TableFormatError(f"{csv_path}: column {model}_correct has no matching {model}_cost column")
        if has_cost and not has_correct:
            raise TableFormatError(f"{csv_path}: column {model}_cost has no matching {model}_correct column")
        if has_correct:
            models.append(model)
    if not models:
        raise TableFormatError(f"{csv_path}: no model columns: expected pairs <model>_correct and <model>_cost")
    return models, {m: per_model[m] for m in models}


def _csv_row(index: int) -> int:
    return index + 2  # header is line 1


def _parse_correct(values: pd.Series, column: str, csv_path: Path) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower()
    out = np.full(len(values), np.nan)
    out[text.isin(_TRUE).fillna(False).to_numpy()] = 1.0
    out[text.isin(_FALSE).fillna(False).to_numpy()] = 0.0
    bad = text.notna().to_numpy() & (text != "").fillna(False).to_numpy() & np.isnan(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TableFormatError(
            f"{csv_path}, row {_csv_row(i)}, column {column}: expected True/False or 1/0, got {values.iloc[i]!r}"
            f" ({int(bad.sum())} such cells)"
        )
    return out


def _parse_number(values: pd.Series, column: str, csv_path: Path, *, what: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, copy=True)
    present = values.notna().to_numpy() & (values.astype("string").str.strip() != "").fillna(False).to_numpy()
    bad = present & ~np.isfinite(numbers)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TableFormatError(
            f"{csv_path}, row {_csv_row(i)}, column {column}: expected a non-negative number ({what}), "
            f"got {values.iloc[i]!r}"
        )
    negative = np.isfinite(numbers) & (numbers < 0)
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise TableFormatError(
            f"{csv_path}, row {_csv_row(i)}, column {column}: {what} must be >= 0, got {values.iloc[i]!r}"
        )
    numbers[~present] = np.nan
    return numbers


def _index_image_folder(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    rank = {ext: i for i, ext in enumerate(IMAGE_EXTENSIONS)}
    for entry in os.scandir(folder):
        stem, ext = os.path.splitext(entry.name)
        ext = ext.lower()
        if ext in rank and (stem not in found or rank[ext] < rank[found[stem].suffix.lower()]):
            found[stem] = Path(entry.path)
    return found


def resolve_images(dataset_idx: pd.Series, datasets: pd.Series, image_root: Path) -> tuple[list, dict]:
    """Image path per instance (or None) under ``image_root/<folder>/<id>.<ext>``, and counts of what was found."""
    indexes = {d: _index_image_folder(image_root / image_folder_of(d)) for d in datasets.unique()}
    paths, missing = [], Counter()
    for idx, dataset in zip(dataset_idx, datasets):
        image = indexes[dataset].get(split_dataset_idx(idx)[1])
        if image is None:
            missing[dataset] += 1
        paths.append(str(image) if image is not None else None)
    return paths, {"image_root": str(image_root), "missing_images": dict(missing)}


def auto_image_root(folder: Path) -> Path | None:
    """Where a table's images are: ``<folder>/images`` (our downloads and the simulator), or ``<folder>`` itself when
    dataset image folders (``OCRBench/``, ``SEEDBenchv2Plus/``...) sit beside the CSV (the official repository's
    ``data/`` layout); None when neither exists."""
    if (folder / "images").is_dir():
        return folder / "images"
    from ..datasets import KNOWN_DATASETS

    if any((folder / info.folder).is_dir() for info in KNOWN_DATASETS.values()):
        return folder
    return None


def load_table(path, *, datasets=None, images="auto", simulated: bool | None = None) -> OutcomeTable:
    """Load an outcome table in the official MMR-Bench schema.

    Args:
        path: the CSV file, or a folder holding ``MMR-Bench.csv`` / ``MMR_Bench.csv``.
        datasets: optional selection (names or aliases, case-insensitive, ``all``); an empty result is an error.
        images: ``"auto"`` (``<folder>/images`` if it exists, else no images), a folder (must exist), or ``None``
            (text-only).
        simulated: mark the table as simulated; ``None`` reads ``provenance.json`` beside the CSV if present.

    Raises:
        TableFormatError: a malformed table (the message names file, row or column and what was expected).
        FileNotFoundError: no table, or an explicitly given image folder that does not exist.
    """
    csv_path = find_table_csv(path)
    with open(csv_path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise TableFormatError(f"{csv_path}: empty file, expected a header row")
    models, columns = _model_columns(header, csv_path)
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_values=[""])
    if frame.empty:
        raise TableFormatError(f"{csv_path}: no data rows")
    if frame["dataset_idx"].isna().any():
        i = int(np.flatnonzero(frame["dataset_idx"].isna().to_numpy())[0])
        raise TableFormatError(f"{csv_path}, row {_csv_row(i)}, column dataset_idx: empty value")
    dup = frame["dataset_idx"].duplicated(keep=False)
    if dup.any():
        rows = [_csv_row(i) for i in np.flatnonzero(dup.to_numpy())[:6]]
        raise TableFormatError(
            f"{csv_path}: duplicate dataset_idx {frame['dataset_idx'][dup].iloc[0]!r} and others at rows {rows}"
        )

    correct = np.column_stack([_parse_correct(frame[columns[m]["_correct"]], f"{m}_correct", csv_path) for m in models])
    cost = np.column_stack([_parse_number(frame[columns[m]["_cost"]], f"{m}_cost", csv_path, what="cost") for m in models])
    tokens = None
    if any("_token" in columns[m] for m in models):
        tokens = np.column_stack(
            [
                _parse_number(frame[columns[m]["_token"]], f"{m}_token", csv_path, what="token count")
                if "_token" in columns[m]
                else np.full(len(frame), np.nan)
                for m in models
            ]
        )

    model_columns = {c for m in models for c in columns[m].values()}
    instances = frame[[c for c in frame.columns if c not in model_columns]].copy()
    if "answer" not in instances:
        instances["answer"] = None
    split = instances["dataset_idx"].map(split_dataset_idx)
    instances.insert(1, "dataset", split.map(lambda p: p[0]))
    instances.insert(2, "scenario", instances["dataset"].map(scenario_of))
    instances["question"] = instances["question"].fillna("")

    source: dict = {"path": str(csv_path), "format": "official", "models": list(models)}
    image_root = None
    if images == "auto":
        image_root = auto_image_root(csv_path.parent)
        source["images"] = "auto: " + (str(image_root) if image_root else "no image folders beside the table")
    elif images is not None:
        image_root = Path(images)
        if not image_root.is_dir():
            raise FileNotFoundError(f"image folder {image_root} does not exist (given for table {csv_path})")
        source["images"] = str(image_root)
    else:
        source["images"] = "none (text-only)"
    if image_root is not None:
        paths, found = resolve_images(instances["dataset_idx"], instances["dataset"], image_root)
        instances["image_path"] = pd.Series(paths, dtype=object, index=instances.index)
        source.update(found)
    else:
        instances["image_path"] = None

    provenance_file = csv_path.parent / "provenance.json"
    if simulated is None and provenance_file.is_file():
        try:
            extra = json.loads(provenance_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise TableFormatError(f"{provenance_file}: not valid JSON ({err})") from err
        source["provenance"] = extra
        simulated = bool(extra.get("simulated", False))
    source["simulated"] = bool(simulated)

    table = OutcomeTable(
        models=tuple(models),
        correct=correct,
        cost=cost,
        instances=instances.reset_index(drop=True),
        source=source,
        tokens=tokens,
    )
    source["missing_cells"] = {m: c for m, c in table.missing_per_model().items() if c}
    if datasets is not None:
        table = table.select_datasets(datasets)
    return table


# ---------------------------------------------------------------------- official download (online users)
def _extract_images(archive: Path, destination: Path) -> None:
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            target = (destination / member.name).resolve()
            if not str(target).startswith(str(destination.resolve())):
                raise TableFormatError(f"{archive}: member {member.name!r} would extract outside {destination}")
        tar.extractall(destination, members=members, filter="data")
    # The archive may or may not wrap everything in a top-level images/ folder; normalise to <dest>/images/<folder>.
    inner = destination / "images"
    if not inner.is_dir():
        inner.mkdir()
        for child in list(destination.iterdir()):
            if child.is_dir() and child.name != "images":
                shutil.move(str(child), inner / child.name)


def download_official(out_dir, *, revision: str = HUB_REVISION, local_source=None, force: bool = False) -> Path:
    """Fetch the official MMR-Bench release (``MMR-Bench.csv`` + ``images.tar.gz``) and unpack it into ``out_dir``.

    Uses ``huggingface_hub.hf_hub_download`` on the dataset ``gh0stHunter/MMR-Bench`` pinned to ``revision``. With
    ``local_source`` (a folder laid out like the hub repository) nothing is downloaded: this is how users without hub
    access, and the tests, install the data. The result is written atomically and records where it came from.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not force and any(out_dir.glob("MMR*Bench.csv")):
        return out_dir
    files: dict[str, Path] = {}
    if local_source is not None:
        local_source = Path(local_source)
        for name in HUB_FILES:
            if not (local_source / name).is_file():
                raise FileNotFoundError(f"{local_source} is not laid out like {HUB_REPO_ID}: {name} is missing")
            files[name] = local_source / name
        origin = f"local folder {local_source}"
    else:
        try:
            from huggingface_hub import hf_hub_download
        except ImportError as err:  # pragma: no cover - huggingface_hub is a pinned dependency
            raise RuntimeError("huggingface_hub is required for make data-official") from err
        try:
            for name in HUB_FILES:
                files[name] = Path(hf_hub_download(HUB_REPO_ID, name, repo_type="dataset", revision=revision))
        except Exception as err:  # noqa: BLE001 - re-raised with the cause attached
            raise RuntimeError(
                f"could not download {HUB_REPO_ID}@{revision[:10]} from the Hugging Face hub ({type(err).__name__}: "
                f"{err}). If you are offline, download MMR-Bench.csv and images.tar.gz elsewhere and run "
                f"`python -m mmr_utils data-official --local-source DIR`, or point --data-root at an unpacked copy."
            ) from err
        origin = f"huggingface hub {HUB_REPO_ID} revision {revision}"
    with atomic_directory(out_dir) as tmp:
        shutil.copyfile(files["MMR-Bench.csv"], tmp / "MMR-Bench.csv")
        _extract_images(files["images.tar.gz"], tmp)
        record = {"simulated": False, "source": "official MMR-Bench release", "origin": origin, "revision": revision}
        atomic_write_text(tmp / "provenance.json", json.dumps(record, indent=2) + "\n")
        load_table(tmp)  # validate before it is swapped in: a broken release fails here, loudly, leaving nothing
    return out_dir
