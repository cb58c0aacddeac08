"""Train/test splits of an outcome table as row indices (paper Sec. 5: random instance split, cross-dataset split within
a scenario). The official 20/80 split with seed 42 is ``instance_split(table, 0.2, seed=42, procedure="official")``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmr_utils.data.datasets import resolve_dataset_names
from mmr_utils.data.table import OutcomeTable


@dataclass(frozen=True)
class Split:
    """Row indices of a split and how it was made (for result records)."""

    train: np.ndarray
    test: np.ndarray
    info: dict


SPLIT_PROCEDURES = ("stratified", "official")


def official_instance_split(n_rows: int, train_fraction: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """The official loader's split (``MMData``, ``--split in``): ``train_test_split`` of the rows in table order
    (``train_size=train_fraction``, ``shuffle=True``, ``random_state=seed``, unstratified); sorted (train, test)
    indices. Official rows only if the table has the official frame's rows in order [uncertain if a loader reorders]."""
    from sklearn.model_selection import train_test_split

    if n_rows < 2:
        raise ValueError(f"an instance split needs at least 2 rows, got {n_rows}")
    train, test = train_test_split(np.arange(n_rows), train_size=float(train_fraction), shuffle=True,
                                   random_state=int(seed))
    return np.sort(train), np.sort(test)


def instance_split(table: OutcomeTable, train_fraction: float = 0.2, *, seed: int = 42, stratify: bool = True,
                   procedure: str = "stratified") -> Split:
    """Random instance split with ``train_fraction`` of the rows for training: ``"stratified"`` shuffles each
    dataset's rows (one stratum without ``stratify``), each side getting a row of every stratum of two or more;
    ``"official"`` is :func:`official_instance_split` (Table 2's split with ``seed=42``, 0.2)."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be strictly between 0 and 1, got {train_fraction}")
    if procedure not in SPLIT_PROCEDURES:
        raise ValueError(f"unknown split procedure {procedure!r}; expected one of {SPLIT_PROCEDURES}")
    if procedure == "official":
        train, test = official_instance_split(table.n, train_fraction, seed)
        info = {"kind": "instance", "procedure": "official", "train_fraction": train_fraction, "seed": seed,
                "stratified": False, "train_rows": int(len(train)), "test_rows": int(len(test))}
        return Split(train, test, info)
    rng = np.random.default_rng(seed)
    groups = table.instances["dataset"].to_numpy() if stratify else np.zeros(table.n, dtype=object)
    train_parts, test_parts = [], []
    for group in dict.fromkeys(groups):
        rows = np.flatnonzero(groups == group)
        rows = rows[rng.permutation(len(rows))]
        n_train = int(round(train_fraction * len(rows)))
        if len(rows) >= 2:
            n_train = min(max(n_train, 1), len(rows) - 1)
        train_parts.append(rows[:n_train])
        test_parts.append(rows[n_train:])
    train, test = np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"split of {table.n} rows at train_fraction={train_fraction} leaves an empty side")
    info = {"kind": "instance", "procedure": "stratified", "train_fraction": train_fraction, "seed": seed,
            "stratified": stratify, "train_rows": int(len(train)), "test_rows": int(len(test))}
    return Split(train, test, info)


def cross_dataset_split(table: OutcomeTable, source, target) -> Split:
    """Train on all rows of the ``source`` datasets, test on all of ``target`` (names or aliases, any case). An empty
    side or a dataset on both is an error (official ``--split out`` trains on nothing on a case mismatch)."""
    available = table.datasets
    source_names = resolve_dataset_names(source, available)
    target_names = resolve_dataset_names(target, available)
    if not source_names or not target_names:
        raise ValueError(f"cross-dataset split needs non-empty source and target, got {source!r} -> {target!r}")
    overlap = sorted(set(source_names) & set(target_names))
    if overlap:
        raise ValueError(f"datasets {overlap} are on both sides of the cross-dataset split")
    datasets = table.instances["dataset"]
    train = np.flatnonzero(datasets.isin(source_names).to_numpy())
    test = np.flatnonzero(datasets.isin(target_names).to_numpy())
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"cross-dataset split {source_names} -> {target_names} has an empty side")
    info = {"kind": "cross-dataset", "source": source_names, "target": target_names,
            "train_rows": int(len(train)), "test_rows": int(len(test))}
    return Split(train, test, info)
