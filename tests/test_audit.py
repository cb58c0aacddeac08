"""The outcome-table audit (mmr_utils.data.audit): coverage, duplicate ids, duplicate and near-duplicate questions, leakage
across a split, and the exactness of its blockwise similarity search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data import audit
from mmr_utils.data.table import OutcomeTable

LONG = ("In the bar chart shown, which region reported the largest increase in quarterly revenue between the second "
        "and the third quarter of the year {}?")


def make_table(questions, ids=None, correct=None, datasets=None, images=None):
    n = len(questions)
    instances = pd.DataFrame({
        "dataset_idx": ids or [f"D_{i}" for i in range(n)],
        "dataset": datasets or ["D"] * n,
        "scenario": ["OCR"] * n,
        "question": questions,
        "answer": ["a"] * n,
        "image_path": images or [None] * n,
    })
    if correct is None:
        correct = np.tile([[1.0, 0.0]], (n, 1))
    cost = np.where(np.isnan(correct), np.nan, 0.01)
    return OutcomeTable(models=("A", "B"), correct=np.asarray(correct, float), cost=cost, instances=instances,
                        source={"path": "memory"})


QUESTIONS = [
    LONG.format(2019),                 # 0
    "What is 2+2?",                    # 1
    "  what IS   2+2? ",               # 2: same as 1 once normalised
    "What is 2+3?",                    # 3: digits kept, so not an exact duplicate of 1
    LONG.format(2020),                 # 4: near duplicate of 0
    "Name the capital of the country highlighted in red on the map.",  # 5
    "",                                # 6: empty
]


def test_coverage_counts_observed_and_missing_cells_per_model():
    correct = np.tile([[1.0, 0.0]], (len(QUESTIONS), 1))
    correct[[1, 4, 5], 1] = np.nan
    report = audit.audit_table(make_table(QUESTIONS, correct=correct))
    cov = report.coverage.set_index("model")
    assert cov.loc["A", "observed"] == 7 and cov.loc["A", "missing"] == 0 and cov.loc["A", "coverage"] == 1.0
    assert cov.loc["B", "observed"] == 4 and cov.loc["B", "missing"] == 3
    assert cov.loc["B", "coverage"] == pytest.approx(4 / 7)
    assert report.counts()["missing_cells"] == {"B": 3}
    assert "3 missing cells in 1 models (lowest coverage B 57.1%)" in report.summary()


def test_duplicate_ids_exact_and_near_duplicate_questions():
    ids = ["X_0", "X_1", "X_1", "X_3", "X_4", "X_0", "X_6"]
    report = audit.audit_table(make_table(QUESTIONS, ids=ids))
    assert report.duplicate_ids.to_dict("records") == [{"dataset_idx": "X_0", "count": 2, "rows": "0 5"},
                                                       {"dataset_idx": "X_1", "count": 2, "rows": "1 2"}]
    groups = report.duplicate_questions
    assert len(groups) == 1 and groups.loc[0, "rows"] == "1 2" and groups.loc[0, "question"] == "what is 2+2?"
    near = report.near_duplicates
    assert [(r.row_a, r.row_b) for r in near.itertuples()] == [(0, 4)]
    assert 0.9 <= near.loc[0, "similarity"] < 1.0
    assert bool(near.loc[0, "same_answer"]) and near.loc[0, "same_image"] == "unknown"  # loaded without images
    assert report.empty_questions == 1
    counts = report.counts()
    assert counts["duplicate_ids"] == 2 and counts["rows_with_duplicate_id"] == 4
    assert counts["duplicate_question_groups"] == 1 and counts["near_duplicate_pairs"] == 1
    # A stricter threshold drops the pair; "2+2" and "2+3" never reach the default one (digits matter).
    assert audit.audit_table(make_table(QUESTIONS), near_duplicate_threshold=0.999).near_duplicates.empty


def test_leakage_counts_test_rows_with_a_duplicate_in_train_only():
    table = make_table(QUESTIONS)
    report = audit.audit_table(table, split=([0, 1, 5], [2, 3, 4, 6]))
    leak = report.leakage
    assert leak[["test_row", "train_row", "kind"]].to_dict("records") == [
        {"test_row": 2, "train_row": 1, "kind": "exact"}, {"test_row": 4, "train_row": 0, "kind": "near"}]
    assert leak.loc[0, "similarity"] == 1.0 and leak.loc[1, "similarity"] >= 0.9
    assert report.counts()["leaked_test_rows"] == 2 and report.counts()["leaked_exact"] == 1
    assert "leakage: 2 of 4 test rows" in report.summary()
    # Duplicates on the same side are not leakage.
    clean = audit.audit_table(table, split=([0, 4, 3], [1, 2, 5, 6]))
    assert clean.leakage.empty and clean.counts()["leaked_test_rows"] == 0


def test_split_object_from_instance_split_and_determinism():
    from mmr_utils.data.splits import instance_split

    questions = [LONG.format(1900 + i % 40) if i % 3 else f"Question number {i} about a chart" for i in range(120)]
    table = make_table(questions)
    split = instance_split(table, 0.3, seed=1)
    first = audit.audit_table(table, split=split)
    second = audit.audit_table(table, split=split)
    for name, frame in first.frames().items():
        pd.testing.assert_frame_equal(frame, second.frames()[name], obj=name)
    assert first.counts() == second.counts() and first.settings["test_rows"] == len(split.test)


@pytest.mark.parametrize("kwargs, message", [
    ({"near_duplicate_threshold": 0}, "near_duplicate_threshold must be in"),
    ({"near_duplicate_threshold": 1.5}, "near_duplicate_threshold must be in"),
    ({"neighbours": 0}, "neighbours must be at least 1"),
    ({"split": ([0, 1], [1, 2])}, "1 rows on both sides"),
    ({"split": ([0, 1], [2, 70])}, r"split test indices must lie in \[0, 7\)"),
    ({"split": 5}, "split must be a Split"),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        audit.audit_table(make_table(QUESTIONS), **kwargs)


def test_blockwise_similarity_is_exact(monkeypatch):
    """The dense/sparse split of the features and the row blocks must give the plain cosine neighbours."""
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(0)
    words = ["chart", "value", "red", "blue", "area", "angle", "sign", "shop", "word", "what", "is", "the"]
    texts = [" ".join(rng.choice(words, size=rng.integers(4, 9))) for _ in range(150)]
    texts = list(dict.fromkeys(texts))
    matrix = audit._vectorise(texts)
    monkeypatch.setattr(audit, "_DENSE_FEATURES", 20)
    monkeypatch.setattr(audit, "_ROW_BLOCK", 17)
    found = audit._similar(matrix, matrix, 3, 0.5, same=True)
    full = cosine_similarity(matrix)
    np.fill_diagonal(full, -1)
    expected = []
    for i, row in enumerate(np.round(full, 6)):
        order = np.lexsort((np.arange(len(row)), -row))[:3]
        expected += [(i, int(j), float(row[j])) for j in order if row[j] >= 0.5]
    assert len(found) == len(expected) > 20
    assert [(a, b) for a, b, _ in found] == [(a, b) for a, b, _ in expected]
    np.testing.assert_allclose([s for *_, s in found], [s for *_, s in expected], atol=2e-6)


def test_record_audit_and_write(tmp_path):
    table = make_table(QUESTIONS)
    report = audit.record_audit(table, audit.audit_table(table, split=([0, 1, 5], [2, 3, 4, 6])))
    assert table.source["audit"]["duplicate_question_groups"] == 1
    assert table.source["audit"]["leaked_test_rows"] == 2
    report.write(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["audit.json", "audit_coverage.csv", "audit_duplicate_ids.csv", "audit_duplicate_questions.csv",
                     "audit_leakage.csv", "audit_near_duplicates.csv"]
    assert pd.read_csv(tmp_path / "audit_leakage.csv")["test_row"].tolist() == [2, 4]
    md = report.summary(markdown=True)
    assert md.startswith("**Audit of memory**") and "- 1 duplicate-question groups (2 rows)" in md


def test_normalise_question():
    assert audit.normalise_question("  Ｗhat\tIS\n 2+2? ") == "what is 2+2?"
    assert audit.normalise_question(None) == "" and audit.normalise_question(float("nan")) == ""
