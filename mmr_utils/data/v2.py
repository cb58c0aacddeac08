"""Loader of MMR-Bench V2 (Hugging Face ``gh0stHunter/MMR-Bench-V2``; 44 models, 18 task sets; needs ``pyarrow``) into
an :class:`OutcomeTable`. Layout::

    <root>/data/instances/<task>.parquet        sample_id, benchmark, prompt_text, images (paths under the image root)
    <root>/data/results/<model>/<task>.parquet  sample_id, benchmark, model_id, score in [0, 1], cost, cost_unit, status

- Rows: the chosen tasks' instances (``dataset`` = task, ``dataset_idx`` = ``sample_id``, ``question`` =
  ``prompt_text``; ``benchmark``, ``n_images`` kept); columns: the chosen models (results sub-folders, sorted). Results
  join on ``sample_id``; a duplicate or unknown id, mismatched ``benchmark``, several ``model_id`` per file, ``score``
  outside [0, 1], a cost not finite and >= 0, or an ``ok`` row's ``cost_unit`` other than USD is a
  :class:`~mmr_utils.data.official.TableFormatError` naming file and row.
- Only ``status == "ok"`` rows are outcomes; other statuses and missing rows or files are NaN (counts in
  ``source["status_counts"]``, ``source["missing_result_files"]``).
- ``correct = score >= score_threshold`` (default 0.5; ``None``: the raw score as a fractional ``correct``); the raw
  score is instance column ``<model>_score``. Cost: USD per call as released (V2.0.3 prices output tokens only,
  ``source["cost_note"]``).
- ``image_path``: a one-image item's image under ``image_root`` (default ``<root>/LMUData``; ``None``: text only); a
  multi-image item a contact sheet (images in order in ``SHEET_CELL`` squares of a near-square grid, PNG cached under
  ``cache_dir``) or, with ``multi_image="first"``, its first image. A missing or undecodable image leaves none
  (``source["missing_images"]``, ``source["unreadable_images"]``, a warning). Image paths must be relative and inside
  the image root (:mod:`mmr_utils.data.images`)."""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils._io import atomic_open
from mmr_utils.data.datasets import scenario_of
from mmr_utils.data.images import AUTO, UnsafeImagePathError, choose_image_root, image_path_under, unsafe_image_path
from mmr_utils.data.official import TableFormatError, read_provenance
from mmr_utils.data.table import OutcomeTable

V2_REPO_ID = "gh0stHunter/MMR-Bench-V2"
V2_REVISION = "f20dfda87ba94823db297225270b603a58534dfa"
INSTANCE_FIELDS: tuple[str, ...] = ("sample_id", "benchmark", "prompt_text", "images")
RESULT_FIELDS: tuple[str, ...] = ("sample_id", "benchmark", "model_id", "score", "cost", "cost_unit", "status")
MULTI_IMAGE_MODES: tuple[str, ...] = ("contact_sheet", "first")
#: Side of one image's cell in a contact sheet, in pixels.
SHEET_CELL = 384
_DEFAULT_IMAGES = object()


def data_folder(root: Path) -> Path:
    for candidate in (root / "data", root):
        if (candidate / "instances").is_dir() and (candidate / "results").is_dir():
            return candidate
    raise FileNotFoundError(f"{root} is not an MMR-Bench V2 folder: expected data/instances/ and data/results/ "
                            f"(or instances/ and results/) inside it")


def _read_parquet(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401 - only to give a clear message when it is missing
    except ImportError as err:  # pragma: no cover - pyarrow is a pinned dependency
        raise RuntimeError("reading MMR-Bench V2 needs pyarrow (pinned in requirements.txt)") from err
    try:
        frame = pd.read_parquet(path)
    except Exception as err:
        raise TableFormatError(f"{path}: not a readable parquet file ({type(err).__name__}: {err})") from err
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise TableFormatError(f"{path}: missing columns {missing}; expected at least {list(required)}")
    return frame.reset_index(drop=True)


def _first_bad(path: Path, frame: pd.DataFrame, bad: np.ndarray, column: str, expected: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TableFormatError(f"{path}, row {i}, column {column}: expected {expected}, got {frame[column].iloc[i]!r} "
                               f"({int(bad.sum())} such rows)")


def _image_list(value, path: Path, row: int) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    try:
        items = list(value)
    except TypeError as err:
        raise TableFormatError(f"{path}, row {row}, column images: expected a list of image paths, got {value!r}") from err
    if not all(isinstance(item, str) and item for item in items):
        raise TableFormatError(f"{path}, row {row}, column images: every entry must be a non-empty path, got {items!r}")
    for item in items:
        reason = unsafe_image_path(item)
        if reason is not None:
            raise TableFormatError(f"{path}, row {row}, column images: image path {item!r} {reason}; image paths are "
                                   f"relative to the image folder (LMUData/) and stay inside it")
    return items


def _read_instances(data: Path, tasks: list[str]) -> pd.DataFrame:
    frames, where = [], {}
    for task in tasks:
        path = data / "instances" / f"{task}.parquet"
        frame = _read_parquet(path, INSTANCE_FIELDS)
        if frame.empty:
            raise TableFormatError(f"{path}: no instances")
        ids = frame["sample_id"].astype("string")
        _first_bad(path, frame, ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy(), "sample_id",
                   "a non-empty id")
        for row, sample_id in enumerate(ids):
            if sample_id in where:
                raise TableFormatError(f"{path}, row {row}: duplicate sample_id {sample_id!r}, already at "
                                       f"{where[sample_id][0]}, row {where[sample_id][1]}")
            where[sample_id] = (path, row)
        frame = frame.assign(sample_id=ids.astype(str), task=task,
                             images=[_image_list(v, path, r) for r, v in enumerate(frame["images"])])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class _UnreadableImage(Exception):
    """One image of a multi-image item could not be decoded; the message names the file and why."""


def _contact_sheet(paths: list[Path], cache_dir: Path) -> Path:
    """One PNG of ``paths`` in order on a near-square grid of ``SHEET_CELL`` cells (cached by content name);
    :class:`_UnreadableImage` names the first undecodable image (corrupt, not an image, or over Pillow's size limit)."""
    from PIL import Image

    key = hashlib.sha256("\n".join(str(p.resolve()) for p in paths).encode()).hexdigest()[:20]
    target = cache_dir / f"{key}.png"
    if target.is_file():
        return target
    columns = math.ceil(math.sqrt(len(paths)))
    rows = math.ceil(len(paths) / columns)
    sheet = Image.new("RGB", (columns * SHEET_CELL, rows * SHEET_CELL), "white")
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise _UnreadableImage(f"{path}: {type(err).__name__}: {err}") from None
        image.thumbnail((SHEET_CELL, SHEET_CELL))
        x = (i % columns) * SHEET_CELL + (SHEET_CELL - image.width) // 2
        y = (i // columns) * SHEET_CELL + (SHEET_CELL - image.height) // 2
        sheet.paste(image, (x, y))
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(target, "wb") as handle:
        sheet.save(handle, format="PNG")
    return target


def _resolve_images(images: pd.Series, image_root: Path | None, multi_image: str,
                    cache_dir: Path) -> tuple[list[str | None], dict]:
    """Image path per item and the counts of missing and unreadable images (module docstring)."""
    resolved, missing, sheets, unreadable = [], 0, 0, []
    for items in images:
        if not items or image_root is None:
            resolved.append(None)
            continue
        try:
            paths = [image_path_under(image_root, item) for item in items]
        except UnsafeImagePathError as err:  # entries are checked on reading; this guards callers of this function
            raise TableFormatError(str(err)) from None
        if not all(p.is_file() for p in paths):
            missing += 1
            resolved.append(None)
        elif len(paths) == 1 or multi_image == "first":
            resolved.append(str(paths[0]))
        else:
            try:
                resolved.append(str(_contact_sheet(paths, cache_dir)))
                sheets += 1
            except _UnreadableImage as err:
                missing += 1
                unreadable.append(str(err))
                resolved.append(None)
    if unreadable:
        warnings.warn(f"{len(unreadable)} multi-image items have an image that cannot be decoded and are loaded "
                      f"without image: {'; '.join(unreadable[:3])}" + (" ..." if len(unreadable) > 3 else ""),
                      stacklevel=3)
    return resolved, {"missing_images": missing, "contact_sheets": sheets, "unreadable_images": unreadable}


def _read_results(path: Path, model: str, index: dict[str, int], benchmarks: np.ndarray, correct: np.ndarray,
                  score: np.ndarray, cost: np.ndarray, column: int, threshold: float | None) -> Counter:
    frame = _read_parquet(path, RESULT_FIELDS)
    ids = frame["sample_id"].astype("string")
    _first_bad(path, frame, ids.isna().to_numpy(), "sample_id", "a non-empty id")
    duplicated = ids.duplicated(keep="first").to_numpy()
    _first_bad(path, frame, duplicated, "sample_id", "each sample_id once per result file")
    rows = np.array([index.get(s, -1) for s in ids])
    _first_bad(path, frame, rows < 0, "sample_id", "a sample_id of this task's instances file")
    _first_bad(path, frame, frame["benchmark"].astype(str).to_numpy() != benchmarks[rows], "benchmark",
               "the instance's benchmark")
    model_ids = frame["model_id"].astype("string").dropna().unique()
    if len(model_ids) > 1:
        raise TableFormatError(f"{path}: column model_id holds several models {sorted(model_ids)[:4]} in the "
                               f"results of {model!r}")
    status = frame["status"].astype("string").fillna("<missing>")
    ok = (status == "ok").to_numpy()
    scores = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float)
    costs = pd.to_numeric(frame["cost"], errors="coerce").to_numpy(dtype=float)
    _first_bad(path, frame, ok & ~((scores >= 0) & (scores <= 1)), "score",
               f"a number in [0, 1] on an ok row of model {model!r}")
    _first_bad(path, frame, ok & ~(np.isfinite(costs) & (costs >= 0)), "cost",
               f"a finite non-negative number (USD) on an ok row of model {model!r}")
    unit = frame["cost_unit"].astype("string").str.strip().str.upper()
    _first_bad(path, frame, ok & (unit != "USD").fillna(True).to_numpy(), "cost_unit", "USD")
    target = rows[ok]
    score[target, column] = scores[ok]
    cost[target, column] = costs[ok]
    correct[target, column] = scores[ok] if threshold is None else (scores[ok] >= threshold).astype(float)
    return Counter(status.tolist())


def load_v2(root, *, tasks=None, models=None, image_root=_DEFAULT_IMAGES, score_threshold: float | None = 0.5,
            multi_image: str = "contact_sheet", cache_dir=None) -> OutcomeTable:
    """Load MMR-Bench V2 from ``root`` (holding ``data/``, or ``instances/`` and ``results/``): ``tasks``, ``models`` in
    the order given (default all, sorted); contact sheets in ``cache_dir`` (``<root>/.cache/contact_sheets``)."""
    root = Path(root)
    data = data_folder(root)
    if multi_image not in MULTI_IMAGE_MODES:
        raise ValueError(f"multi_image must be one of {MULTI_IMAGE_MODES}, got {multi_image!r}")
    if score_threshold is not None and not 0.0 < float(score_threshold) <= 1.0:
        raise ValueError(f"score_threshold must be in (0, 1] or None, got {score_threshold!r}")
    available_tasks = sorted(p.stem for p in (data / "instances").glob("*.parquet"))
    available_models = sorted(p.name for p in (data / "results").iterdir() if p.is_dir())
    tasks = available_tasks if tasks is None else list(tasks)
    models = available_models if models is None else list(models)
    for label, chosen, available, folder in (("task", tasks, available_tasks, data / "instances"),
                                             ("model", models, available_models, data / "results")):
        unknown = [name for name in chosen if name not in available]
        if unknown:
            raise FileNotFoundError(f"unknown {label}s {unknown} in {folder}; available: {available}")
        if not chosen:
            raise ValueError(f"no {label}s to load from {folder}")

    instances = _read_instances(data, tasks)
    n, k = len(instances), len(models)
    correct, score, cost = (np.full((n, k), np.nan) for _ in range(3))
    benchmarks = instances["benchmark"].astype(str).to_numpy()
    status_counts: dict[str, dict[str, int]] = {}
    missing_files: list[str] = []
    for column, model in enumerate(models):
        counts: Counter = Counter()
        for task in tasks:
            path = data / "results" / model / f"{task}.parquet"
            if not path.is_file():
                missing_files.append(f"{model}/{task}.parquet")
                continue
            task_rows = np.flatnonzero((instances["task"] == task).to_numpy())
            index = {sample_id: int(row) for sample_id, row in zip(instances["sample_id"].iloc[task_rows], task_rows)}
            counts += _read_results(path, model, index, benchmarks, correct, score, cost, column, score_threshold)
        status_counts[model] = dict(sorted(counts.items()))

    source: dict = {"path": str(root), "format": "mmr-bench-v2", "repo_id": V2_REPO_ID, "tasks": tasks,
                    "models": models, "status_counts": status_counts, "missing_result_files": missing_files,
                    "score_threshold": score_threshold, "multi_image": multi_image, "simulated": False,
                    "cost_note": "USD per call as released; V2.0.3 prices output tokens only"}
    if (root / "provenance.json").is_file():
        source["provenance"] = read_provenance(root / "provenance.json")

    image_root, source["images"] = choose_image_root(
        AUTO if image_root is _DEFAULT_IMAGES else image_root,
        default=lambda: root / "LMUData" if (root / "LMUData").is_dir() else None,
        given_for=f"MMR-Bench V2 at {root}", none_found="no LMUData folder")
    cache_dir = Path(cache_dir) if cache_dir is not None else root / ".cache" / "contact_sheets"
    image_paths, image_counts = _resolve_images(instances["images"], image_root, multi_image, cache_dir)
    source.update(image_counts)

    frame = pd.DataFrame({
        "dataset_idx": instances["sample_id"], "dataset": instances["task"],
        "scenario": instances["task"].map(scenario_of),
        "question": instances["prompt_text"].fillna("").astype(str),
        "answer": instances.get("answer"),
        "image_path": pd.Series(image_paths, dtype=object), "benchmark": instances["benchmark"].astype(str),
        "n_images": instances["images"].map(len).astype(int),
    })
    for column, model in enumerate(models):
        frame[f"{model}_score"] = score[:, column]
    table = OutcomeTable(models=tuple(models), correct=correct, cost=cost, instances=frame, source=source)
    source["missing_cells"] = {m: c for m, c in table.missing_per_model().items() if c}
    return table
