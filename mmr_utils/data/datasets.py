"""The benchmark's datasets: names, aliases, image folders and scenarios (paper Sec. 3.1, Table 1: seven benchmarks in
three scenarios). A ``dataset_idx`` is ``<Dataset>_<id>``, resolved by the longest known prefix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import PurePath, PureWindowsPath


@dataclass(frozen=True)
class DatasetInfo:
    """One benchmark dataset: canonical name (the ``dataset_idx`` prefix), image folder, scenario and aliases."""

    name: str
    folder: str
    scenario: str
    aliases: tuple[str, ...] = ()


SCENARIO_ORDER: tuple[str, ...] = ("OCR", "General VQA", "Math")

KNOWN_DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("OCRBench", "OCRBench", "OCR", ("ocr", "ocrbench")),
        DatasetInfo(
            "SEEDBench2_Plus",
            "SEEDBenchv2Plus",
            "OCR",
            ("seedbench", "seedbench2", "seedbench2plus", "seedbenchv2plus", "seed2plus", "seed"),
        ),
        DatasetInfo("MMStar", "MMStar", "General VQA", ("mmstar",)),
        DatasetInfo("RealWorldQA", "RealWorldQA", "General VQA", ("realworldqa", "rwqa", "realworld")),
        DatasetInfo("MathVista", "MathVista", "Math", ("mathvista",)),
        DatasetInfo("MathVerse", "MathVerse", "Math", ("mathverse",)),
        DatasetInfo("MathVision", "MathVision", "Math", ("mathvision", "mathv", "mathvis")),
    )
}

#: Scenario of datasets this module does not know (other tables in the official schema are legitimate).
OTHER_SCENARIO = "Other"


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def unsafe_dataset_name(name: str) -> str | None:
    """Why ``name`` cannot name a dataset (it names an image folder: one plain, non-empty path component), or None."""
    if not isinstance(name, str) or not name.strip():
        return "is empty"
    if PurePath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "is an absolute path"
    if "/" in name or "\\" in name or (os.sep in name) or (os.altsep and os.altsep in name):
        return "contains a path separator"
    if ".." in name or name == ".":
        return "contains '..' (or is '.')"
    if "\0" in name:
        return "contains a NUL character"
    return None


def split_dataset_idx(dataset_idx: str) -> tuple[str, str]:
    """Split ``<Dataset>_<id>`` into (dataset, id) by the longest known prefix; unknown prefixes split at the last
    underscore (a value without one is its own dataset with an empty id)."""
    for name in sorted(KNOWN_DATASETS, key=len, reverse=True):
        if dataset_idx.startswith(name + "_"):
            return name, dataset_idx[len(name) + 1 :]
    if "_" in dataset_idx:
        head, tail = dataset_idx.rsplit("_", 1)
        return head, tail
    return dataset_idx, ""


def scenario_of(dataset: str) -> str:
    """The paper's scenario (OCR, General VQA, Math) of a dataset, or ``Other`` for datasets outside MMR-Bench."""
    info = KNOWN_DATASETS.get(dataset)
    return info.scenario if info else OTHER_SCENARIO


def image_folder_of(dataset: str) -> str:
    """The image folder of a dataset (``SEEDBench2_Plus`` -> ``SEEDBenchv2Plus``; unknown datasets use their name)."""
    info = KNOWN_DATASETS.get(dataset)
    return info.folder if info else dataset


def resolve_dataset_names(requested, available) -> list[str]:
    """Map user-given dataset names (list or ``+``/``,``-separated string; ``all``) onto the table's: exact name, else
    ignoring case and punctuation, or a known alias; unknown or ambiguous: ``ValueError`` listing candidates."""
    available = list(dict.fromkeys(available))
    if requested is None:
        return available
    if isinstance(requested, str):
        requested = [part for part in re.split(r"[+,]", requested) if part.strip()]
    lookup: dict[str, list[str]] = {}
    for name in available:
        keys = [_normalise(name)]
        info = KNOWN_DATASETS.get(name)
        if info:
            keys += [_normalise(alias) for alias in (*info.aliases, info.folder)]
        for key in dict.fromkeys(keys):
            lookup.setdefault(key, []).append(name)
    chosen: list[str] = []
    for raw in requested:
        if raw in available or raw.strip() in available:
            chosen.append(raw if raw in available else raw.strip())
            continue
        key = _normalise(raw)
        if key == "all":
            chosen.extend(available)
            continue
        if key not in lookup:
            known_here = ", ".join(available) or "(none)"
            raise ValueError(
                f"unknown dataset {raw!r}: this table has {known_here}; aliases such as "
                f"'seedbench', 'mathv', 'rwqa' and 'all' are accepted (case-insensitive)"
            )
        if len(lookup[key]) > 1:
            raise ValueError(
                f"dataset name {raw!r} is ambiguous in this table: it matches {', '.join(lookup[key])} (names are "
                f"compared without case and punctuation); give one of them spelled exactly"
            )
        chosen.append(lookup[key][0])
    return list(dict.fromkeys(chosen))
