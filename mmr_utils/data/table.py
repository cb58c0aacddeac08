"""The outcome table: per instance and candidate model, was the answer correct and what did the call cost (paper Sec.
3). A missing cell is NaN, never filled; the protocol scores only :meth:`OutcomeTable.complete_rows`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils._io import atomic_open
from mmr_utils.data.datasets import SCENARIO_ORDER

#: Per-instance columns every table carries (``image_path`` is None for text-only instances).
INSTANCE_COLUMNS: tuple[str, ...] = ("dataset_idx", "dataset", "scenario", "question", "answer", "image_path")


@dataclass(frozen=True)
class OutcomeTable:
    """Instances x models outcome table: ``models`` (K names), ``correct`` (the paper's ``y_{i,k}``) and ``cost``
    (``c_{i,k}``, USD per call) as (n x K) floats with NaN where missing, ``instances`` (at least
    :data:`INSTANCE_COLUMNS`), ``source`` (provenance) and optional ``tokens`` (output-token counts)."""

    models: tuple[str, ...]
    correct: np.ndarray
    cost: np.ndarray
    instances: pd.DataFrame
    source: dict = field(default_factory=dict)
    tokens: np.ndarray | None = None

    def __post_init__(self):
        n, k = len(self.instances), len(self.models)
        for name in ("correct", "cost") + (("tokens",) if self.tokens is not None else ()):
            array = getattr(self, name)
            if array.shape != (n, k):
                raise ValueError(f"OutcomeTable.{name} has shape {array.shape}, expected ({n}, {k})")
        bad = np.isinf(self.cost) | (self.cost < 0)
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"OutcomeTable.cost of model {self.models[column]!r} at row {row} is "
                             f"{float(self.cost[row, column])}: a cost is a finite non-negative number, or NaN where missing "
                             f"({int(bad.sum())} such cells)")
        if len(set(self.models)) != k:
            raise ValueError(f"duplicate model names: {sorted(m for m in self.models if self.models.count(m) > 1)}")
        missing = [c for c in INSTANCE_COLUMNS if c not in self.instances.columns]
        if missing:
            raise ValueError(f"OutcomeTable.instances lacks columns {missing}")

    @property
    def n(self) -> int:
        """Number of instances."""
        return len(self.instances)

    @property
    def mask(self) -> np.ndarray:
        """(n x K) bool: True where both correctness and cost are observed."""
        return np.isfinite(self.correct) & np.isfinite(self.cost)

    @property
    def datasets(self) -> list[str]:
        """Dataset names in order of first appearance."""
        return list(dict.fromkeys(self.instances["dataset"]))

    @property
    def has_images(self) -> np.ndarray:
        """(n,) bool: the instance has an image file (the paper's modality availability for the image channel)."""
        return self.instances["image_path"].notna().to_numpy()

    def missing_per_model(self) -> dict[str, int]:
        """Number of missing cells per model."""
        return {m: int(c) for m, c in zip(self.models, (~self.mask).sum(axis=0))}

    def unobserved_models(self, rows) -> list[str]:
        """Models with no observed cell among ``rows`` (indices or boolean mask): not learnable from those rows."""
        return [m for m, seen in zip(self.models, self.mask[np.asarray(rows)].any(axis=0)) if not seen]

    def complete_rows(self) -> np.ndarray:
        """(n,) bool: rows observed for every model (the rows the evaluation protocol scores)."""
        return self.mask.all(axis=1)

    def take(self, rows) -> OutcomeTable:
        """A new table with the given rows (a boolean mask or integer indices), in that order."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (self.n,):
                raise ValueError(f"boolean row mask has shape {rows.shape}, expected ({self.n},)")
            rows = np.flatnonzero(rows)
        return OutcomeTable(
            models=self.models,
            correct=self.correct[rows],
            cost=self.cost[rows],
            instances=self.instances.iloc[rows].reset_index(drop=True),
            source=dict(self.source),
            tokens=None if self.tokens is None else self.tokens[rows],
        )

    def select_datasets(self, names) -> OutcomeTable:
        """Rows of the named datasets (aliases and ``all`` accepted; see :func:`mmr_utils.data.datasets.resolve_dataset_names`)."""
        from mmr_utils.data.datasets import resolve_dataset_names

        chosen = resolve_dataset_names(names, self.datasets)
        rows = self.instances["dataset"].isin(chosen).to_numpy()
        if not rows.any():
            raise ValueError(f"selection {names!r} matches no rows")
        table = self.take(rows)
        table.source["datasets"] = chosen
        if isinstance(table.source.get("missing_images"), dict):
            table.source["missing_images"] = {d: c for d, c in table.source["missing_images"].items() if d in chosen}
        return table

    def select_models(self, models) -> OutcomeTable:
        """Columns of the named models, in the given order."""
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ValueError(f"unknown models {unknown}; this table has {list(self.models)}")
        if not models:
            raise ValueError("select_models: empty model selection")
        cols = [self.models.index(m) for m in models]
        return OutcomeTable(
            models=tuple(models),
            correct=self.correct[:, cols],
            cost=self.cost[:, cols],
            instances=self.instances,
            source=dict(self.source),
            tokens=None if self.tokens is None else self.tokens[:, cols],
        )

    def model_summary(self) -> pd.DataFrame:
        """Per dataset and model: accuracy and mean cost over observed cells, and the number of missing cells."""
        frames = []
        groups = [("All", np.ones(self.n, bool))] + [
            (d, (self.instances["dataset"] == d).to_numpy()) for d in self.datasets
        ]
        for dataset, rows in groups:
            for k, model in enumerate(self.models):
                observed = rows & self.mask[:, k]
                frames.append(
                    {
                        "dataset": dataset,
                        "model": model,
                        "accuracy": float(np.mean(self.correct[observed, k])) if observed.any() else np.nan,
                        "mean_cost": float(np.mean(self.cost[observed, k])) if observed.any() else np.nan,
                        "observed": int(observed.sum()),
                        "missing": int((rows & ~self.mask[:, k]).sum()),
                    }
                )
        return pd.DataFrame(frames)

    def composition(self) -> pd.DataFrame:
        """Instance counts per scenario, dataset and (when present) category: the paper's sunburst (Fig. 2)."""
        keys = ["scenario", "dataset"] + (["category"] if "category" in self.instances else [])
        counts = self.instances.groupby(keys, sort=False).size().rename("instances").reset_index()
        order = {s: i for i, s in enumerate(SCENARIO_ORDER)}
        counts["_order"] = counts["scenario"].map(lambda s: order.get(s, len(order)))
        return counts.sort_values(["_order", "dataset"], kind="stable").drop(columns="_order").reset_index(drop=True)

    def describe(self) -> str:
        """Short description: source, rows, models, datasets, missing cells; simulated below full scale: a smoke run."""
        missing = {m: c for m, c in self.missing_per_model().items() if c}
        from mmr_utils.paths import relative_to_root

        kind = "SIMULATED " if self.source.get("simulated") else ""
        where = relative_to_root(self.source["path"]) if self.source.get("path") else "?"
        variant = f" [{self.source['variant']}]" if self.source.get("variant") else ""
        provenance = self.source.get("provenance")
        scale = provenance.get("scale", 1.0) if isinstance(provenance, dict) and self.source.get("simulated") else 1.0
        smoke = (f"\nSMOKE RUN: the simulated benchmark at scale {scale:g} of the full 1.0; these numbers are a quick "
                 f"check, not the full-size results (figures/ and the stored notebooks hold those)"
                 if scale < 1 else "")
        return (
            f"{kind}outcome table from {where}{variant}: {self.n} instances x {len(self.models)} models, "
            f"datasets {self.datasets}, images for {int(self.has_images.sum())} rows, "
            f"missing cells {missing or 'none'}{smoke}"
        )

    def to_official_csv(self, path) -> Path:
        """Write the table in the official MMR-Bench schema (``dataset_idx``, ``question``, ``answer``, extra
        per-instance fields, then ``M_correct``, ``M_cost`` and ``M_token`` per model), atomically."""
        frame = self.instances.drop(columns=["dataset", "scenario", "image_path"]).copy()
        for k, model in enumerate(self.models):
            correct = pd.Series(self.correct[:, k]).map({1.0: True, 0.0: False})
            frame[f"{model}_correct"] = correct
            frame[f"{model}_cost"] = self.cost[:, k]
            if self.tokens is not None:
                frame[f"{model}_token"] = pd.array(np.where(np.isfinite(self.tokens[:, k]), self.tokens[:, k], np.nan),
                                                   dtype="Float64").astype("Int64")
        with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False)
        return Path(path)

    def provenance(self) -> str:
        """The source record as JSON (for result files and figure captions)."""
        return json.dumps(self.source, sort_keys=True, default=str)
