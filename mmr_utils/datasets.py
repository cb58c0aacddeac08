"""The benchmark's datasets: names, aliases, image folders and scenarios (paper Sec. 3.1, Table 1).

MMR-Bench groups seven public benchmarks into three scenarios. ``dataset_idx`` values in the official table are
``<Dataset>_<id>``; the dataset is found by the longest known prefix, and its images live in ``<root>/<folder>/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
    """Map user-given dataset names (case-insensitive, with aliases; ``all``) onto names present in a table.

    ``requested`` is a list or a ``+``/``,``-separated string. Raises ``ValueError`` listing the known names when one
    is unknown or absent from the table.
    """
    available = list(dict.fromkeys(available))
    if requested is None:
        return available
    if isinstance(requested, str):
        requested = [part for part in re.split(r"[+,]", requested) if part.strip()]
    lookup: dict[str, str] = {}
    for name in available:
        lookup[_normalise(name)] = name
        info = KNOWN_DATASETS.get(name)
        if info:
            for alias in (*info.aliases, info.folder):
                lookup.setdefault(_normalise(alias), name)
    chosen: list[str] = []
    for raw in requested:
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
        chosen.append(lookup[key])
    return list(dict.fromkeys(chosen))
