"""The official MMR-Bench table schema and its loader (paper Sec. 3); every error names the file, row and column.

Schema (``MMR_Bench.csv``, later ``MMR-Bench.csv``): one row per instance with ``dataset_idx``, ``question`` (and
optionally ``answer``); per model ``M`` (every name with both columns) ``M_correct`` (True/False or 1/0) and ``M_cost``
(USD per call), optionally ``M_token`` (output tokens) and ``M_prediction``; other columns are per-instance fields.
Images resolve from ``dataset_idx`` by the longest known prefix to ``<image_root>/<folder>/<id>.{jpg,png,jpeg,webp}``; a
table without images is legitimate (``image_path`` all None)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils.data.datasets import KNOWN_DATASETS, image_folder_of, scenario_of, split_dataset_idx, unsafe_dataset_name
from mmr_utils.data.images import UnsafeImagePathError, choose_image_root, image_path_under
from mmr_utils.data.table import OutcomeTable

CSV_NAMES: tuple[str, ...] = ("MMR-Bench.csv", "MMR_Bench.csv")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".png", ".jpeg", ".webp")
MODEL_SUFFIXES: tuple[str, ...] = ("_correct", "_cost", "_token", "_prediction")

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


def resolve_images(dataset_idx: pd.Series, datasets: pd.Series, image_root: Path, *, image_ids=None,
                   folders: dict[str, str] | None = None) -> tuple[list, dict]:
    """Image path per instance (or None) under ``image_root/<folder>/<id>.<ext>``, and counts; ``image_ids``,
    ``folders`` (dataset -> folder, ``""``: root) cover unprefixed ids. A dataset name leaving the root: error."""
    if image_ids is None:
        image_ids = dataset_idx.map(lambda idx: split_dataset_idx(idx)[1])
    indexes = {}
    for dataset in datasets.unique():
        reason = unsafe_dataset_name(dataset)
        relative = image_folder_of(dataset) if folders is None or dataset not in folders else folders[dataset]
        try:
            folder = image_path_under(image_root, relative)
        except UnsafeImagePathError as err:
            reason = reason or str(err)
        if reason is not None:
            raise ValueError(f"dataset name {dataset!r} {reason}: it cannot name a folder under {image_root}")
        indexes[dataset] = _index_image_folder(folder)
    paths, missing = [], Counter()
    for image_id, dataset in zip(image_ids, datasets):
        image = indexes[dataset].get(image_id)
        if image is None:
            missing[dataset] += 1
        paths.append(str(image) if image is not None else None)
    found = {"image_root": str(image_root),
             "missing_images": {d: missing[d] for d in datasets.unique() if missing[d]}}  # in table order
    return paths, found


def _read_text(csv_path: Path) -> str:
    """The table file as text: UTF-8, with or without a byte-order mark (spreadsheets write one), else an error."""
    data = csv_path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise TableFormatError(
            f"{csv_path}, line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            f"save the table as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from None


def _check_records(text: str, csv_path: Path) -> list[str] | None:
    """The header of the CSV ``text``, after checking the quoting and that every record has as many fields as the
    header (pandas would pad short rows into missing outcomes)."""
    if csv.field_size_limit() < len(text):
        csv.field_size_limit(min(len(text) + 1, sys.maxsize))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = None
    start = 1
    try:
        for record in reader:
            if not record:  # a blank line: skipped, as pandas does
                start = reader.line_num + 1
                continue
            if header is None:
                header = record
            elif len(record) != len(header):
                hint = "a truncated row?" if len(record) < len(header) else "an unquoted comma?"
                raise TableFormatError(
                    f"{csv_path}, line {start}: expected {len(header)} fields as in the header, found {len(record)} "
                    f"({hint})"
                )
            start = reader.line_num + 1
    except csv.Error as err:
        what = (f"unterminated quoted field starting on line {start}" if "unexpected end of data" in str(err)
                else f"malformed CSV ({err})")
        raise TableFormatError(f"{csv_path}, line {reader.line_num}: {what}") from None
    return header


def _row_list(mask) -> str:
    rows = [_csv_row(i) for i in np.flatnonzero(np.asarray(mask))]
    return ", ".join(map(str, rows[:6])) + (f" and {len(rows) - 6} more" if len(rows) > 6 else "")


def _refuse_disagreement(csv_path: Path, column: str, what: str, disagree: np.ndarray, first) -> None:
    """A :class:`TableFormatError` naming rows where ``column`` disagrees with ``what`` (``first(i)`` describes one)."""
    if disagree.any():
        i = int(np.flatnonzero(disagree)[0])
        raise TableFormatError(f"{csv_path}: column {column} disagrees with {what} at rows {_row_list(disagree)} "
                               f"(row {_csv_row(i)}: {first(i)}); fix or drop the column")


def _datasets_of(instances: pd.DataFrame, csv_path: Path, source: dict):
    """Dataset and image id of every row, and image folders of datasets not named by a prefix: from the
    ``dataset_idx`` prefix (checked against a ``dataset`` column), else from that column, else one dataset named after
    the table (with a warning); mixed prefixed and bare ids, or a name that is not a plain folder name, are errors."""
    ids = instances["dataset_idx"]
    parts = ids.map(split_dataset_idx)
    derived = parts.map(lambda p: p[0])
    image_ids = parts.map(lambda p: p[1])
    given = instances.pop("dataset") if "dataset" in instances else None
    folders: dict[str, str] = {}
    bare = (image_ids == "").to_numpy()
    if bare.all():
        image_ids = ids
        if given is not None and given.notna().all():
            datasets = given.str.strip()
            source["datasets_from"] = "dataset column (dataset_idx values carry no <dataset>_ prefix)"
        elif given is not None:
            raise TableFormatError(f"{csv_path}: column dataset is empty at rows {_row_list(given.isna())}, and "
                                   f"dataset_idx carries no <dataset>_ prefix to take the dataset from")
        else:
            name = _table_name(csv_path)
            datasets = pd.Series(name, index=ids.index)
            folders[name] = ""
            source["datasets_from"] = f"one dataset {name!r}: no dataset_idx has a <dataset>_<id> prefix"
            warnings.warn(
                f"{csv_path}: no dataset_idx has a <dataset>_<id> prefix (e.g. {ids.iloc[0]!r}); treating all "
                f"{len(ids)} rows as one dataset {name!r} (images, if any, are looked up as <image root>/<id>.<ext>)",
                stacklevel=3,
            )
    elif bare.any():
        raise TableFormatError(
            f"{csv_path}: dataset_idx must be <dataset>_<id> throughout; rows {_row_list(bare)} "
            f"({', '.join(repr(v) for v in ids[bare].head(3))}) are not of that form while others are"
        )
    else:
        datasets = derived
        if given is not None:
            disagree = given.notna().to_numpy() & (given.str.strip() != derived).fillna(False).to_numpy()
            _refuse_disagreement(csv_path, "dataset", "the dataset_idx prefix", disagree, lambda i: (
                f"dataset {given.iloc[i]!r}, dataset_idx {ids.iloc[i]!r} -> {derived.iloc[i]!r}"))
    for name in dict.fromkeys(datasets):
        reason = unsafe_dataset_name(name)
        if reason is not None:
            rows = (datasets == name).to_numpy()
            raise TableFormatError(
                f"{csv_path}: dataset name {name!r} (row {_csv_row(int(np.flatnonzero(rows)[0]))}, dataset_idx "
                f"{ids[rows].iloc[0]!r}) {reason}; dataset names name image folders and must be plain names"
            )
    return datasets, image_ids, folders


def _table_name(csv_path: Path) -> str:
    """A dataset name for a table whose ids name no dataset: its folder (for MMR-Bench.csv) or its file stem."""
    name = csv_path.resolve().parent.name if csv_path.name in CSV_NAMES else csv_path.stem
    return name if unsafe_dataset_name(name) is None else "table"


def _scenarios_of(instances: pd.DataFrame, datasets: pd.Series, csv_path: Path) -> pd.Series:
    """Scenario of every row: the paper's for MMR-Bench datasets (a ``scenario`` column must agree with it), the
    ``scenario`` column's for other datasets (one per dataset), else ``Other``."""
    scenarios = datasets.map(scenario_of)
    given = instances.pop("scenario") if "scenario" in instances else None
    if given is None:
        return scenarios
    given = given.str.strip()
    known = datasets.isin(list(KNOWN_DATASETS)).to_numpy()
    present = given.notna().to_numpy()
    disagree = known & present & (given != scenarios).fillna(False).to_numpy()
    _refuse_disagreement(csv_path, "scenario", "the paper's scenario of the dataset", disagree, lambda i: (
        f"{datasets.iloc[i]} is {scenarios.iloc[i]!r}, the column says {given.iloc[i]!r}"))
    other = ~known & present
    scenarios[other] = given[other]
    per_dataset = scenarios.groupby(datasets.to_numpy(), sort=False).nunique()
    mixed = per_dataset[per_dataset > 1]
    if len(mixed):
        raise TableFormatError(
            f"{csv_path}: column scenario gives dataset {mixed.index[0]!r} several scenarios "
            f"({sorted(scenarios[datasets == mixed.index[0]].unique())}); one scenario per dataset"
        )
    return scenarios


def _warn_missing_images(csv_path: Path, image_root: Path, found: dict, rows: int) -> None:
    """Say how many instances per dataset have no image file (they are text-only for the image channel)."""
    missing = found.get("missing_images", {})
    if not missing:
        return
    counts = ", ".join(f"{dataset}: {count}" for dataset, count in missing.items())
    warnings.warn(f"{csv_path}: {sum(missing.values())} of {rows} instances have no image file under {image_root} "
                  f"({counts}); they are text-only for the image channel", stacklevel=3)


def read_provenance(provenance_file: Path) -> dict:
    """The ``provenance.json`` beside a table: a JSON object whose ``simulated`` (when present) is a real boolean."""
    try:
        extra = json.loads(provenance_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TableFormatError(f"{provenance_file}: not valid JSON ({err})") from err
    if not isinstance(extra, dict):
        raise TableFormatError(f"{provenance_file}: expected a JSON object (with \"simulated\": true or false), "
                               f"got a {type(extra).__name__}")
    if "simulated" in extra and not isinstance(extra["simulated"], bool):
        raise TableFormatError(f"{provenance_file}: \"simulated\" must be true or false (a JSON boolean), got "
                               f"{extra['simulated']!r}")
    return extra


def auto_image_root(folder: Path) -> Path | None:
    """Where a table's images are: ``<folder>/images`` (our downloads, the simulator), or ``<folder>`` when dataset
    image folders (``OCRBench/``...) sit beside the CSV (the official ``data/`` layout); None if neither exists."""
    if (folder / "images").is_dir():
        return folder / "images"
    if any((folder / info.folder).is_dir() for info in KNOWN_DATASETS.values()):
        return folder
    return None


def load_table(path, *, datasets=None, images="auto", simulated: bool | None = None) -> OutcomeTable:
    """Load an outcome table in the official schema from ``path`` (the CSV or its folder), optionally selecting
    ``datasets`` (names or aliases). ``images``: ``"auto"`` (:func:`auto_image_root`), a folder that must exist, or
    ``None``; ``simulated=None`` reads ``provenance.json`` beside the CSV. Malformed: :class:`TableFormatError`."""
    csv_path = find_table_csv(path)
    text = _read_text(csv_path)
    header = _check_records(text, csv_path)
    if not header:
        raise TableFormatError(f"{csv_path}: empty file, expected a header row")
    models, columns = _model_columns(header, csv_path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as err:
        raise TableFormatError(f"{csv_path}: not a readable CSV table ({err})") from err
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
    source: dict = {"path": str(csv_path), "format": "official", "models": list(models)}
    row_datasets, image_ids, folders = _datasets_of(instances, csv_path, source)
    scenarios = _scenarios_of(instances, row_datasets, csv_path)
    instances.insert(1, "dataset", row_datasets)
    instances.insert(2, "scenario", scenarios)
    instances["question"] = instances["question"].fillna("")

    image_root, source["images"] = choose_image_root(images, default=lambda: auto_image_root(csv_path.parent),
                                                     given_for=f"table {csv_path}",
                                                     none_found="no image folders beside the table")
    if image_root is not None:
        paths, found = resolve_images(instances["dataset_idx"], instances["dataset"], image_root,
                                      image_ids=image_ids, folders=folders)
        instances["image_path"] = pd.Series(paths, dtype=object, index=instances.index)
        source.update(found)
        _warn_missing_images(csv_path, image_root, found, len(instances))
    else:
        instances["image_path"] = None

    provenance_file = csv_path.parent / "provenance.json"
    if simulated is None and provenance_file.is_file():
        extra = read_provenance(provenance_file)
        source["provenance"] = extra
        simulated = extra.get("simulated", False)
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
