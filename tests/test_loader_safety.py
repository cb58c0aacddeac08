"""The loaders as safe as each other: one image-path containment rule for the official schema and MMR-Bench V2, an
undecodable image in a multi-image V2 item is a missing image (counted, named), a non-finite or negative cost on an ok
V2 row is refused, the audit compares image contents, and a CSV field over 128 KiB is read."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmr_utils.cli import main
from mmr_utils.data import audit
from mmr_utils.data.official import TableFormatError, load_table
from mmr_utils.data.table import OutcomeTable
from mmr_utils.data.v2 import load_v2


def _png(path, colour="red", size=(40, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _v2(root, images, costs=(0.1, 0.2)):
    """One task ``t`` with one item per entry of ``images`` and two models; images live under ``root/LMUData``."""
    n = len(images)
    instances = root / "data" / "instances"
    instances.mkdir(parents=True)
    pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "benchmark": "B", "prompt_text": [f"q{i}" for i in range(n)],
                  "images": list(images)}).to_parquet(instances / "t.parquet", index=False)
    for model, cost in zip(("m1", "m2"), costs):
        results = root / "data" / "results" / model
        results.mkdir(parents=True)
        pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "benchmark": "B", "model_id": model,
                      "score": 1.0, "cost": [cost] * n, "cost_unit": "USD", "status": "ok"}
                     ).to_parquet(results / "t.parquet", index=False)
    return root


# ------------------------------------------------------------------------------------------ containment (one rule)
@pytest.mark.parametrize("entry, reason", [
    ("/etc/hostname", "absolute"),
    ("../secret.png", r"'\.\.'"),
    ("ok/../../secret.png", r"'\.\.'"),
    ("C:\\secret.png", "absolute"),
])
def test_v2_image_paths_outside_lmudata_are_refused_naming_file_and_row(tmp_path, entry, reason):
    _png(tmp_path / "secret.png", "black")
    root = tmp_path / "v2"
    _png(root / "LMUData" / "ok" / "a.png")
    _v2(root, [["ok/a.png"], ["ok/a.png", entry]])
    with pytest.raises(TableFormatError, match=rf"t\.parquet, row 1, column images: image path .* {reason}"):
        load_v2(root, cache_dir=tmp_path / "sheets")
    assert not (tmp_path / "sheets").exists(), "no contact sheet was made from a file outside LMUData"


def test_one_resolver_serves_both_loaders():
    import mmr_utils.data.official as official
    import mmr_utils.data.v2 as v2
    from mmr_utils.data import images as image_paths

    assert official.image_path_under is image_paths.image_path_under is v2.image_path_under
    assert official.choose_image_root is image_paths.choose_image_root is v2.choose_image_root
    assert image_paths.unsafe_image_path("a/b.png") is None
    with pytest.raises(image_paths.UnsafeImagePathError, match="outside|'..'"):
        image_paths.image_path_under("/data/images", "x/../../y.png")


# ----------------------------------------------------------------------------------- undecodable multi-image items
def test_a_corrupt_image_or_a_bomb_in_a_multi_image_item_is_a_missing_image_named(tmp_path, monkeypatch):
    root = tmp_path / "v2"
    lmu = root / "LMUData"
    _png(lmu / "a.png", "red")
    _png(lmu / "b.png", "blue")
    (lmu / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    _png(lmu / "big.png", "green", size=(300, 300))
    _v2(root, [["a.png", "b.png"], ["a.png", "corrupt.png"], ["b.png", "big.png"], ["a.png"]])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # 300 x 300 is then over twice the limit: a "bomb"
    with pytest.warns(UserWarning, match=r"2 multi-image items have an image that cannot be decoded.*corrupt\.png"):
        table = load_v2(root, cache_dir=tmp_path / "sheets")
    paths = table.instances["image_path"].tolist()
    assert paths[0] is not None and paths[1] is None and paths[2] is None and paths[3].endswith("a.png")
    assert table.source["missing_images"] == 2 and table.source["contact_sheets"] == 1
    unreadable = table.source["unreadable_images"]
    assert len(unreadable) == 2
    assert "corrupt.png" in unreadable[0] and "big.png" in unreadable[1] and "DecompressionBomb" in unreadable[1]


# ---------------------------------------------------------------------------------------------------- V2 costs
@pytest.mark.parametrize("cost", [float("inf"), float("nan"), -0.5])
def test_a_non_finite_or_negative_cost_on_an_ok_row_is_refused_with_file_model_and_row(tmp_path, capsys, cost):
    root = _v2(tmp_path / "v2", [[], [], []])
    path = root / "data" / "results" / "m2" / "t.parquet"
    frame = pd.read_parquet(path)
    frame.loc[1, "cost"] = cost
    frame.to_parquet(path, index=False)
    pattern = r"m2/t\.parquet, row 1, column cost: expected a finite non-negative number .* of model 'm2'"
    with pytest.raises(TableFormatError, match=pattern):
        load_v2(root, image_root=None)
    assert main(["audit", str(root)]) == 1  # the audit does not pass silently
    err = capsys.readouterr().err
    assert "m2/t.parquet, row 1, column cost" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------- audit: same_image
def _table(images):
    n = len(images)
    instances = pd.DataFrame({"dataset_idx": [f"D_{i}" for i in range(n)], "dataset": "D", "scenario": "OCR",
                              "question": ["Which region of the chart shows the largest increase in revenue "
                                           f"between the second and third quarter of {2000 + i}?" for i in range(n)],
                              "answer": "a", "image_path": images})
    correct = np.tile([[1.0, 0.0]], (n, 1))
    return OutcomeTable(models=("A", "B"), correct=correct, cost=correct * 0 + 0.01, instances=instances,
                              source={"path": "memory"})


def test_same_image_compares_contents_and_says_unknown_without_images(tmp_path):
    first = _png(tmp_path / "x" / "1.png", "red")
    copy = tmp_path / "y" / "7.png"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())  # the same figure, each item with its own copy
    other = _png(tmp_path / "z" / "2.png", "blue")
    for images, expected in (([str(first), str(copy)], True), ([str(first), str(other)], False),
                             ([None, None], "unknown"), ([str(first), None], False),
                             ([str(first), str(tmp_path / "gone.png")], "unknown")):
        near = audit.audit_table(_table(images), near_duplicate_threshold=0.5).near_duplicates
        assert len(near) == 1 and near.loc[0, "same_image"] == expected, (images, near.loc[0, "same_image"])
    leak = audit.audit_table(_table([str(first), str(copy)]), near_duplicate_threshold=0.5, split=([0], [1])).leakage
    assert leak.loc[0, "same_image"] == True  # noqa: E712 (a column of True, False and "unknown")


# --------------------------------------------------------------------------------------- CSV field over 128 KiB
def test_a_valid_csv_with_a_field_over_128_kib_is_read_and_malformation_still_refused(tmp_path):
    long_question = "x" * (300 * 1024)
    text = io.StringIO()
    pd.DataFrame({"dataset_idx": ["MyQA_1", "MyQA_2"], "question": [long_question, "short"],
                  "A_correct": [1, 0], "A_cost": [0.1, 0.2], "B_correct": [0, 1], "B_cost": [0.3, 0.4]}
                 ).to_csv(text, index=False)
    path = tmp_path / "MMR-Bench.csv"
    path.write_text(text.getvalue())
    table = load_table(path, images=None)
    assert table.instances["question"].iloc[0] == long_question
    path.write_text(text.getvalue().replace("MyQA_2", '"MyQA_2'))  # an unterminated quote is still an error
    with pytest.raises(TableFormatError, match="unterminated quoted field|malformed CSV|expected 6 fields"):
        load_table(path, images=None)


def test_an_outcome_table_refuses_an_infinite_or_negative_cost_naming_model_and_row():
    instances = pd.DataFrame({"dataset_idx": ["D_0", "D_1"], "dataset": "D", "scenario": "OCR", "question": ["a", "b"],
                              "answer": "x", "image_path": None})
    cost = np.array([[0.1, 0.2], [np.inf, np.nan]])
    with pytest.raises(ValueError, match=r"cost of model 'A' at row 1 is inf"):
        OutcomeTable(models=("A", "B"), correct=np.ones((2, 2)), cost=cost, instances=instances)
    cost[1, 0] = np.nan  # NaN is a missing cell, as before
    assert OutcomeTable(models=("A", "B"), correct=np.ones((2, 2)), cost=cost, instances=instances).n == 2
