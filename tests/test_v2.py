"""The MMR-Bench V2 loader on a small fixture written here in the release's layout: 2 tasks, 3 models, failed
statuses, a missing result file, a multi-image item."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmr_utils.data.hub import download_v2
from mmr_utils.data.official import TableFormatError
from mmr_utils.data.v2 import SHEET_CELL, V2_REVISION, load_v2

MODELS = ("alpha", "beta", "gamma")


def _write(frame: pd.DataFrame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def _results(task, model, rows):
    """rows: (sample_id, benchmark, score, cost, status)."""
    return pd.DataFrame({"sample_id": [r[0] for r in rows], "benchmark": [r[1] for r in rows],
                         "model_id": f"org/{model}", "score": [r[2] for r in rows], "cost": [r[3] for r in rows],
                         "cost_unit": "USD", "status": [r[4] for r in rows]})


@pytest.fixture
def v2_root(tmp_path):
    root = tmp_path / "MMR-Bench-V2"
    data = root / "data"
    _write(pd.DataFrame({"sample_id": ["ocr-1", "ocr-2", "ocr-3"], "benchmark": ["OCRBench"] * 3,
                         "prompt_text": ["read it", "what text", "sign?"],
                         "images": [["ocr/1.png"], ["ocr/2.png"], ["ocr/3a.png", "ocr/3b.png", "ocr/3c.png"]]}),
           data / "instances" / "ocr.parquet")
    _write(pd.DataFrame({"sample_id": ["m-1", "m-2"], "benchmark": ["MathVista", "MathVerse"],
                         "prompt_text": ["2+2?", "area?"], "images": [[], ["math/2.jpg"]]}),
           data / "instances" / "math.parquet")
    _write(_results("ocr", "alpha", [("ocr-1", "OCRBench", 1.0, 0.001, "ok"), ("ocr-2", "OCRBench", 0.0, 0.002, "ok"),
                                     ("ocr-3", "OCRBench", 0.7, 0.003, "ok")]),
           data / "results" / "alpha" / "ocr.parquet")
    _write(_results("math", "alpha", [("m-2", "MathVerse", 0.4, 0.01, "ok"), ("m-1", "MathVista", 1.0, 0.02, "ok")]),
           data / "results" / "alpha" / "math.parquet")
    _write(_results("ocr", "beta", [("ocr-1", "OCRBench", None, None, "error"), ("ocr-2", "OCRBench", 1.0, 0.5, "ok"),
                                    ("ocr-3", "OCRBench", 0.0, 0.4, "timeout")]),
           data / "results" / "beta" / "ocr.parquet")
    _write(_results("math", "beta", [("m-1", "MathVista", 0.0, 0.3, "ok")]), data / "results" / "beta" / "math.parquet")
    _write(_results("ocr", "gamma", [("ocr-1", "OCRBench", 0.5, 0.0, "ok")]), data / "results" / "gamma" / "ocr.parquet")
    # gamma has no math results file at all
    colours = {"ocr/1.png": "red", "ocr/2.png": "green", "ocr/3a.png": "blue", "ocr/3b.png": "yellow",
               "ocr/3c.png": "black", "math/2.jpg": "white"}
    for name, colour in colours.items():
        path = root / "LMUData" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 20), colour).save(path)
    return root


def test_load_v2_joins_results_and_keeps_missing_cells(v2_root):
    table = load_v2(v2_root)
    assert table.models == MODELS
    assert table.datasets == ["math", "ocr"]
    ids = list(table.instances["dataset_idx"])
    assert ids == ["m-1", "m-2", "ocr-1", "ocr-2", "ocr-3"]
    expected_correct = np.array([[1, 0, np.nan], [0, np.nan, np.nan], [1, np.nan, 1], [0, 1, np.nan],
                                 [1, np.nan, np.nan]], dtype=float)
    np.testing.assert_array_equal(table.correct, expected_correct)
    assert table.cost[1, 0] == 0.01 and table.cost[0, 0] == 0.02  # joined on sample_id, not file order
    assert np.isnan(table.cost[2, 1])  # status "error" is missing, not wrong
    assert table.instances["alpha_score"].tolist() == [1.0, 0.4, 1.0, 0.0, 0.7]
    assert table.instances["benchmark"].tolist() == ["MathVista", "MathVerse", "OCRBench", "OCRBench", "OCRBench"]
    assert table.source["status_counts"]["beta"] == {"error": 1, "ok": 2, "timeout": 1}
    assert table.source["missing_result_files"] == ["gamma/math.parquet"]
    assert table.source["missing_cells"] == {"beta": 3, "gamma": 4}
    assert table.source["simulated"] is False


def test_score_threshold_and_raw_scores(v2_root):
    strict = load_v2(v2_root, score_threshold=0.8, image_root=None)
    assert strict.correct[4, 0] == 0.0 and strict.correct[2, 2] == 0.0
    raw = load_v2(v2_root, score_threshold=None, image_root=None)
    assert raw.correct[4, 0] == pytest.approx(0.7) and raw.correct[1, 0] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="score_threshold"):
        load_v2(v2_root, score_threshold=0.0)


def test_images_single_multi_and_none(v2_root, tmp_path):
    table = load_v2(v2_root, cache_dir=tmp_path / "sheets")
    paths = table.instances.set_index("dataset_idx")["image_path"]
    assert paths["m-1"] is None
    assert paths["ocr-1"].endswith("ocr/1.png")
    assert table.instances["n_images"].tolist() == [0, 1, 1, 1, 3]
    sheet = Image.open(paths["ocr-3"])
    assert sheet.size == (2 * SHEET_CELL, 2 * SHEET_CELL)  # 3 images on a 2 x 2 grid, in order
    centre = SHEET_CELL // 2
    assert sheet.getpixel((centre, centre)) == (0, 0, 255)
    assert sheet.getpixel((SHEET_CELL + centre, centre)) == (255, 255, 0)
    assert sheet.getpixel((centre, SHEET_CELL + centre)) == (0, 0, 0)
    assert table.source["contact_sheets"] == 1
    first = load_v2(v2_root, multi_image="first")
    assert first.instances.set_index("dataset_idx")["image_path"]["ocr-3"].endswith("ocr/3a.png")
    (v2_root / "LMUData" / "ocr" / "2.png").unlink()
    assert load_v2(v2_root, multi_image="first").source["missing_images"] == 1
    text_only = load_v2(v2_root, image_root=None)
    assert text_only.instances["image_path"].isna().all()
    with pytest.raises(FileNotFoundError, match="image folder"):
        load_v2(v2_root, image_root=tmp_path / "nowhere")


def test_select_tasks_and_models(v2_root):
    table = load_v2(v2_root, tasks=["ocr"], models=["gamma", "alpha"], image_root=None)
    assert table.models == ("gamma", "alpha") and table.n == 3
    assert table.correct[0].tolist() == [1.0, 1.0]
    with pytest.raises(FileNotFoundError, match="unknown tasks"):
        load_v2(v2_root, tasks=["chart"])
    with pytest.raises(FileNotFoundError, match="unknown models"):
        load_v2(v2_root, models=["delta"])
    with pytest.raises(FileNotFoundError, match="data/instances"):
        load_v2(v2_root / "LMUData")


def _rewrite(path, changes):
    frame = pd.read_parquet(path)
    for (column, row), value in changes.items():
        frame.loc[row, column] = value
    frame.to_parquet(path, index=False)


@pytest.mark.parametrize("file, change, message", [
    ("results/alpha/ocr.parquet", {("sample_id", 1): "ocr-1"}, r"alpha/ocr.parquet, row 1, column sample_id.*once"),
    ("results/alpha/ocr.parquet", {("sample_id", 2): "ocr-9"}, r"alpha/ocr.parquet, row 2, column sample_id.*instances"),
    ("results/beta/math.parquet", {("benchmark", 0): "MathVerse"}, r"beta/math.parquet, row 0, column benchmark"),
    ("results/alpha/math.parquet", {("score", 1): 1.5}, r"alpha/math.parquet, row 1, column score"),
    ("results/alpha/math.parquet", {("cost", 0): -1.0}, r"alpha/math.parquet, row 0, column cost"),
    ("results/alpha/math.parquet", {("cost_unit", 0): "tokens"}, r"alpha/math.parquet, row 0, column cost_unit"),
    ("results/alpha/math.parquet", {("model_id", 0): "org/other"}, r"alpha/math.parquet: column model_id"),
    ("instances/ocr.parquet", {("sample_id", 2): "ocr-1"}, r"ocr.parquet, row 2: duplicate sample_id 'ocr-1'"),
    ("instances/math.parquet", {("sample_id", 0): "ocr-2"}, r"ocr.parquet, row 1"),
])
def test_cross_checks_name_file_and_row(v2_root, file, change, message):
    _rewrite(v2_root / "data" / file, change)
    with pytest.raises(TableFormatError, match=message):
        load_v2(v2_root, image_root=None)


def test_failed_rows_may_hold_garbage_and_missing_columns_are_named(v2_root):
    # A failed call's score/cost are not outcomes, so out-of-range values there are not errors.
    _rewrite(v2_root / "data" / "results" / "beta" / "ocr.parquet", {("score", 2): 9.0})
    assert np.isnan(load_v2(v2_root, image_root=None).correct[4, 1])
    frame = pd.read_parquet(v2_root / "data" / "results" / "beta" / "ocr.parquet").drop(columns="status")
    frame.to_parquet(v2_root / "data" / "results" / "beta" / "ocr.parquet", index=False)
    with pytest.raises(TableFormatError, match=r"beta/ocr.parquet: missing columns \['status'\]"):
        load_v2(v2_root, image_root=None)


def test_download_from_local_source_is_validated_and_recorded(v2_root, tmp_path):
    out = download_v2(tmp_path / "v2", local_source=v2_root)
    record = json.loads((out / "provenance.json").read_text())
    assert record["revision"] == V2_REVISION and "local folder" in record["origin"]
    table = load_v2(out)
    assert table.source["provenance"]["source"] == "MMR-Bench V2 release"
    assert table.n == 5 and table.instances["image_path"].isna().all()  # images only with include_images
    with_images = download_v2(tmp_path / "v2img", local_source=v2_root, include_images=True)
    assert load_v2(with_images).instances["image_path"].notna().sum() == 4
    # A broken release is rejected and leaves nothing behind.
    _rewrite(v2_root / "data" / "results" / "alpha" / "ocr.parquet", {("benchmark", 0): "ChartQA"})
    with pytest.raises(TableFormatError, match="benchmark"):
        download_v2(tmp_path / "broken", local_source=v2_root)
    assert not (tmp_path / "broken").exists()
    with pytest.raises(FileNotFoundError, match="not an MMR-Bench V2 folder"):
        download_v2(tmp_path / "other", local_source=tmp_path / "missing")


def test_download_offline_gives_a_clear_message(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(RuntimeError, match="offline.*local_source"):
        download_v2(tmp_path / "v2")


def test_load_benchmark_recognises_a_v2_folder(v2_root):
    from mmr_utils.data.loading import load_benchmark

    table = load_benchmark(str(v2_root), datasets=["ocr"], images=None)
    assert table.source["format"] == "mmr-bench-v2"
    assert table.n == 3 and table.instances["image_path"].isna().all()
