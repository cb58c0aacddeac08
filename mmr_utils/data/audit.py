"""Audit of an outcome table before anything is trained on it (:func:`audit_table`): coverage per model (observed and
missing cells, never filled), duplicate ``dataset_idx``, duplicate questions (equal after :func:`normalise_question`),
near duplicates (cosine >= :data:`NEAR_DUPLICATE_THRESHOLD` between TF-IDF character 3-5-gram vectors of the distinct
texts, among each text's ``neighbours`` nearest) and, given a split (paper Sec. 5), test rows duplicated in training.
Pairs carry ``same_image`` (image sha256 equal: True, False, or ``"unknown"``) and ``same_answer`` for a reader to
judge. Deterministic (ties by row order); :meth:`AuditReport.counts` is what notebooks record in provenance."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils.data.table import OutcomeTable

#: Default cosine similarity above which two question texts count as near duplicates (character 3-5-gram TF-IDF).
NEAR_DUPLICATE_THRESHOLD = 0.9
#: Nearest neighbours examined per distinct text when listing near-duplicate pairs.
NEIGHBOURS = 5
_WHITESPACE = re.compile(r"\s+")


def normalise_question(text) -> str:
    """The comparison form of a question: NFKC, lower case, whitespace runs to one space, stripped (digits kept)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", str(text)).lower()).strip()


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit_table` found (0-based rows): ``coverage`` per model, ``duplicate_ids``, ``duplicate_questions``
    (groups), ``near_duplicates`` (pairs: similarity, datasets, ``same_image``, ``same_answer``), ``leakage`` (per
    leaked test row its closest training row, ``kind`` exact/near; None unsplit), ``empty_questions``, ``settings``."""

    name: str
    rows: int
    models: tuple[str, ...]
    coverage: pd.DataFrame
    duplicate_ids: pd.DataFrame
    duplicate_questions: pd.DataFrame
    near_duplicates: pd.DataFrame
    leakage: pd.DataFrame | None
    empty_questions: int
    settings: dict = field(default_factory=dict)

    def counts(self) -> dict:
        """The audit in numbers (JSON-ready): what provenance records keep."""
        out = {
            "rows": self.rows,
            "models": len(self.models),
            "missing_cells": {r.model: int(r.missing) for r in self.coverage.itertuples() if r.missing},
            "min_coverage": float(self.coverage["coverage"].min()) if len(self.coverage) else float("nan"),
            "duplicate_ids": int(len(self.duplicate_ids)),
            "rows_with_duplicate_id": int(self.duplicate_ids["count"].sum()) if len(self.duplicate_ids) else 0,
            "duplicate_question_groups": int(len(self.duplicate_questions)),
            "rows_in_duplicate_questions": int(self.duplicate_questions["size"].sum())
            if len(self.duplicate_questions) else 0,
            "near_duplicate_pairs": int(len(self.near_duplicates)),
            "empty_questions": self.empty_questions,
            "near_duplicate_threshold": self.settings["near_duplicate_threshold"],
        }
        if self.leakage is not None:
            out["leaked_test_rows"] = int(len(self.leakage))
            out["leaked_exact"] = int((self.leakage["kind"] == "exact").sum())
            out["test_rows"] = self.settings["test_rows"]
        return out

    def summary(self, markdown: bool = False) -> str:
        """One line (``markdown=False``) or a short Markdown list: coverage, duplicates, near duplicates, leakage."""
        c = self.counts()
        worst = self.coverage.sort_values(["coverage", "model"]).iloc[0] if len(self.coverage) else None
        coverage = ("complete coverage" if not c["missing_cells"] else
                    f"{sum(c['missing_cells'].values())} missing cells in {len(c['missing_cells'])} models "
                    f"(lowest coverage {worst.model} {worst.coverage:.1%})")
        parts = [
            f"{self.rows} rows x {c['models']} models, {coverage}",
            f"{c['duplicate_ids']} duplicate ids",
            f"{c['duplicate_question_groups']} duplicate-question groups ({c['rows_in_duplicate_questions']} rows)",
            f"{c['near_duplicate_pairs']} near-duplicate pairs (cosine >= {c['near_duplicate_threshold']:g})",
        ]
        if c["empty_questions"]:
            parts.append(f"{c['empty_questions']} empty questions")
        if self.leakage is not None:
            parts.append(f"leakage: {c['leaked_test_rows']} of {c['test_rows']} test rows have a duplicate in train "
                         f"({c['leaked_exact']} exact)")
        if markdown:
            return f"**Audit of {self.name}**\n\n" + "\n".join(f"- {part}" for part in parts)
        return f"audit: {'; '.join(parts)}"

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tidy tables by name (``leakage`` only when a split was given)."""
        out = {"coverage": self.coverage, "duplicate_ids": self.duplicate_ids,
               "duplicate_questions": self.duplicate_questions, "near_duplicates": self.near_duplicates}
        if self.leakage is not None:
            out["leakage"] = self.leakage
        return out

    def write(self, folder) -> Path:
        """Write every table as ``audit_<name>.csv`` and the counts as ``audit.json`` into ``folder``, atomically."""
        from mmr_utils._io import atomic_open, atomic_write_text

        folder = Path(folder)
        for name, frame in self.frames().items():
            with atomic_open(folder / f"audit_{name}.csv", "w", encoding="utf-8", newline="") as handle:
                frame.to_csv(handle, index=False)
        record = {"table": self.name, "counts": self.counts(), "settings": self.settings}
        atomic_write_text(folder / "audit.json", json.dumps(record, indent=2, default=str) + "\n")
        return folder


def _coverage(table: OutcomeTable) -> pd.DataFrame:
    observed = table.mask.sum(axis=0)
    return pd.DataFrame({"model": list(table.models), "observed": observed.astype(int),
                         "missing": (table.n - observed).astype(int),
                         "coverage": observed / table.n if table.n else np.full(len(table.models), np.nan)})


def _duplicate_ids(ids: pd.Series) -> pd.DataFrame:
    key = ids.astype(str).to_numpy()
    repeated = ids.duplicated(keep=False).to_numpy()
    rows = []
    for value in dict.fromkeys(key[repeated]):
        where = np.flatnonzero(key == value)
        rows.append({"dataset_idx": value, "count": int(len(where)), "rows": " ".join(map(str, where))})
    return pd.DataFrame(rows, columns=["dataset_idx", "count", "rows"])


def _vectorise(texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    # char_wb n-grams tolerate small edits and reordered options; sublinear tf keeps long repeated texts comparable.
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32)
    return vectoriser.fit_transform(texts)


#: Features in the most texts (at most this many) go into a dense block; the rest stay sparse (see :func:`_similar`).
_DENSE_FEATURES = 768
_ROW_BLOCK = 1024


def _similar(query, base, k: int, threshold: float, *, same: bool) -> list[tuple[int, int, float]]:
    """Exact cosine nearest neighbours ``(query_row, base_row, similarity)``: per ``query`` row at most ``k`` ``base``
    rows with similarity >= ``threshold`` (ties: lower base row; with ``same`` not itself). Common features as a dense
    block, the rest sparse, ``_ROW_BLOCK`` query rows at a time (fast on templated questions)."""
    import scipy.sparse as sp

    base = sp.csr_matrix(base, dtype=np.float32)
    query = sp.csr_matrix(query, dtype=np.float32)
    df = np.bincount(base.indices, minlength=base.shape[1])
    order = np.argsort(-df, kind="stable")
    dense_cols = order[: min(_DENSE_FEATURES, int((df > 1).sum()))]
    is_dense = np.zeros(base.shape[1], bool)
    is_dense[dense_cols] = True
    base_dense = base[:, dense_cols].toarray()
    base_sparse_t = base[:, ~is_dense].T.tocsr()
    found = []
    k = min(k, base.shape[0])
    for start in range(0, query.shape[0], _ROW_BLOCK):
        block = query[start:start + _ROW_BLOCK]
        sims = block[:, dense_cols].toarray() @ base_dense.T
        sims += (block[:, ~is_dense] @ base_sparse_t).toarray()
        if same:
            rows = np.arange(block.shape[0])
            sims[rows, start + rows] = -1.0
        rows, cols = np.nonzero(sims >= threshold - 1e-6)
        # Rounded so that ties and the threshold do not depend on BLAS summation order; then each row's best k by
        # (-similarity, base row).
        values = np.round(sims[rows, cols].astype(np.float64), 6)
        keep = values >= threshold
        rows, cols, values = rows[keep], cols[keep], values[keep]
        order = np.lexsort((cols, -values, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        for i, j, v in zip(rows[rank < k], cols[rank < k], values[rank < k]):
            found.append((start + int(i), int(j), float(min(v, 1.0))))
    return found


def audit_table(table: OutcomeTable, *, split=None, near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
                neighbours: int = NEIGHBOURS, max_chars: int = 120) -> AuditReport:
    """Audit ``table`` (module docstring); ``split`` is a :class:`mmr_utils.data.splits.Split` or a ``(train,
    test)`` pair of row indices; ``max_chars`` shortens the quoted questions."""
    if not 0.0 < float(near_duplicate_threshold) <= 1.0:
        raise ValueError(f"near_duplicate_threshold must be in (0, 1], got {near_duplicate_threshold!r}")
    if int(neighbours) < 1:
        raise ValueError(f"neighbours must be at least 1, got {neighbours!r}")
    threshold = float(near_duplicate_threshold)
    n = table.n
    instances = table.instances
    normalised = [normalise_question(q) for q in instances["question"]]
    datasets = instances["dataset"].astype(str).to_numpy()
    same_image = _image_comparer(instances["image_path"].to_numpy(dtype=object))
    answers = (instances["answer"].astype(str).to_numpy() if "answer" in instances else np.full(n, "", dtype=object))

    def short(row: int) -> str:
        text = normalised[row]
        return text if len(text) <= max_chars else text[: max_chars - 3] + "..."

    def same(values, a: int, b: int) -> bool:
        return bool(values[a] == values[b] or (pd.isna(values[a]) and pd.isna(values[b])))

    # Distinct non-empty texts, each with its rows (in row order): exact duplicates are the texts with two rows or more.
    text_rows: dict[str, list[int]] = {}
    for row, text in enumerate(normalised):
        if text:
            text_rows.setdefault(text, []).append(row)
    texts = list(text_rows)
    first_row = np.array([text_rows[t][0] for t in texts], dtype=int)
    groups = [{"group": g, "size": len(rows), "rows": " ".join(map(str, rows)),
               "datasets": " ".join(dict.fromkeys(datasets[rows])), "question": short(rows[0])}
              for g, rows in enumerate(r for r in text_rows.values() if len(r) > 1)]
    duplicate_questions = pd.DataFrame(groups, columns=["group", "size", "rows", "datasets", "question"])

    matrix = _vectorise(texts) if len(texts) >= 2 else None
    pairs = []
    if matrix is not None:
        seen = set()
        for a, b, s in _similar(matrix, matrix, int(neighbours), threshold, same=True):
            key = (min(a, b), max(a, b))
            if key in seen:
                continue
            seen.add(key)
            ra, rb = sorted((int(first_row[key[0]]), int(first_row[key[1]])))
            pairs.append({"row_a": ra, "row_b": rb, "similarity": s,
                          "dataset_a": datasets[ra], "dataset_b": datasets[rb],
                          "same_image": same_image(ra, rb), "same_answer": same(answers, ra, rb),
                          "question_a": short(ra), "question_b": short(rb)})
    near = pd.DataFrame(pairs, columns=["row_a", "row_b", "similarity", "dataset_a", "dataset_b", "same_image",
                                        "same_answer", "question_a", "question_b"])
    near = near.sort_values(["similarity", "row_a", "row_b"], ascending=[False, True, True],
                            kind="stable").reset_index(drop=True)

    settings = {"near_duplicate_threshold": threshold, "neighbours": int(neighbours),
                "text": "question, NFKC + lower case + whitespace collapsed, digits kept",
                "vectoriser": "TF-IDF char_wb 3-5-grams, sublinear tf, cosine"}
    leakage = None
    if split is not None:
        train, test = _split_rows(split, n)
        settings.update(train_rows=int(len(train)), test_rows=int(len(test)))
        leakage = _leakage(train, test, normalised, text_rows, texts, matrix, threshold, datasets, short, same_image)
    name = str(table.source.get("path") or "table")
    return AuditReport(name=name, rows=n, models=tuple(table.models), coverage=_coverage(table),
                       duplicate_ids=_duplicate_ids(instances["dataset_idx"]),
                       duplicate_questions=duplicate_questions, near_duplicates=near, leakage=leakage,
                       empty_questions=int(sum(1 for t in normalised if not t)), settings=settings)


def _split_rows(split, n: int) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(split, "train") and hasattr(split, "test"):
        train, test = split.train, split.test
    else:
        try:
            train, test = split
        except (TypeError, ValueError) as err:
            raise ValueError("split must be a Split or a (train, test) pair of row indices") from err
    train, test = np.asarray(train, dtype=int).ravel(), np.asarray(test, dtype=int).ravel()
    for side, rows in (("train", train), ("test", test)):
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ValueError(f"split {side} indices must lie in [0, {n}), got {rows.min()}..{rows.max()}")
    overlap = np.intersect1d(train, test)
    if len(overlap):
        raise ValueError(f"split has {len(overlap)} rows on both sides (first: row {overlap[0]})")
    return train, test


def _image_comparer(images: np.ndarray):
    """``same_image(a, b)`` for rows ``a`` and ``b`` as the module docstring defines it, reading each file once."""
    from mmr_utils._archive import sha256_file

    present = [isinstance(p, str) and bool(p) for p in images]
    loaded = any(present)
    digests: dict[str, str | None] = {}

    def digest(row: int):
        if not present[row]:
            return "none"
        path = images[row]
        if path not in digests:
            try:
                digests[path] = sha256_file(path)
            except OSError:
                digests[path] = None
        return digests[path]

    def same_image(a: int, b: int):
        if not loaded:
            return "unknown"
        da, db = digest(a), digest(b)
        if da is None or db is None or da == db == "none":
            return "unknown"
        return da == db

    return same_image


def _leakage(train, test, normalised, text_rows, texts, matrix, threshold, datasets, short, same_image):
    """One row per test row whose question has an exact or near duplicate among the training rows."""
    columns = ["test_row", "train_row", "similarity", "kind", "dataset_test", "dataset_train", "same_image",
               "question_test", "question_train"]
    train_set = set(train.tolist())
    position = {t: i for i, t in enumerate(texts)}
    # Distinct texts that occur in training, each with its first training row.
    train_texts: dict[int, int] = {}
    for row in np.sort(train):
        text = normalised[row]
        if text:
            train_texts.setdefault(position[text], int(row))
    found = []
    near_queries = []
    for row in np.sort(test):
        text = normalised[row]
        if not text:
            continue
        exact = next((r for r in text_rows[text] if r in train_set), None)
        if exact is not None:
            found.append((int(row), int(exact), 1.0, "exact"))
        else:
            near_queries.append(int(row))
    if near_queries and train_texts and matrix is not None:
        train_ids = np.array(list(train_texts), dtype=int)
        query_ids = np.array([position[normalised[r]] for r in near_queries], dtype=int)
        for q, j, s in _similar(matrix[query_ids], matrix[train_ids], 1, threshold, same=False):
            found.append((near_queries[q], train_texts[int(train_ids[j])], s, "near"))
    found.sort()
    return pd.DataFrame([{"test_row": t, "train_row": r, "similarity": s, "kind": kind, "dataset_test": datasets[t],
                          "dataset_train": datasets[r], "same_image": same_image(t, r), "question_test": short(t),
                          "question_train": short(r)} for t, r, s, kind in found], columns=columns)


def record_audit(table: OutcomeTable, report: AuditReport) -> AuditReport:
    """Store ``report.counts()`` in ``table.source["audit"]`` (the provenance every output copies) and return it."""
    table.source["audit"] = report.counts()
    return report


def load_any(path, *, datasets=None) -> OutcomeTable:
    """Load an outcome table from ``path`` for auditing: an MMR-Bench V2 folder (``data/instances``) through
    :func:`mmr_utils.data.v2.load_v2` (text only), anything else (official-schema CSV or its folder, MATH-V
    conversion) through :func:`mmr_utils.data.official.load_table`, without images (the audit reads text)."""
    path = Path(path)
    if path.is_dir() and ((path / "data" / "instances").is_dir() or (path / "instances").is_dir()):
        from mmr_utils.data.v2 import load_v2

        table = load_v2(path, image_root=None)
        return table.select_datasets(datasets) if datasets else table
    from mmr_utils.data.official import load_table

    return load_table(path, datasets=datasets, images=None)
