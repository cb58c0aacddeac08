"""Outcome tables: the official-schema loader, dataset selection, images, and every bad input named."""

import dataclasses
import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data.datasets import resolve_dataset_names, split_dataset_idx
from mmr_utils.data.hub import download_official
from mmr_utils.data.official import TableFormatError, load_table


def write_csv(path, rows, header=None):
    frame = pd.DataFrame(rows, columns=header)
    frame.to_csv(path, index=False)
    return path


HEADER = ["dataset_idx", "question", "answer", "A_correct", "A_cost", "A_token", "B_correct", "B_cost", "B_prediction"]
ROWS = [
    ["OCRBench_1", "read it", "x", "True", 0.1, 10, "False", 0.5, "y"],
    ["SEEDBench2_Plus_7", "what", "y", "1", 0.2, 20, "0", 0.4, "y"],
    ["MathVision_3", "angle?", "30", "false", 0.3, 30, "true", 0.6, "30"],
    ["MathVista_12", "plot", "2", 0, 0.1, 5, 1, 0.7, "2"],
]


@pytest.fixture
def table_dir(tmp_path):
    write_csv(tmp_path / "MMR_Bench.csv", ROWS, HEADER)
    images = tmp_path / "images"
    for folder, name in [("OCRBench", "1.jpg"), ("SEEDBenchv2Plus", "7.png"), ("MathVision", "3.webp")]:
        (images / folder).mkdir(parents=True, exist_ok=True)
        (images / folder / name).write_bytes(b"img")
    return tmp_path


def test_loads_official_schema_with_images(table_dir):
    table = load_table(table_dir)
    assert table.models == ("A", "B")
    np.testing.assert_array_equal(table.correct, [[1, 0], [1, 0], [0, 1], [0, 1]])
    np.testing.assert_allclose(table.cost[:, 0], [0.1, 0.2, 0.3, 0.1])
    assert table.tokens[0, 0] == 10 and np.isnan(table.tokens[0, 1])
    assert table.instances["dataset"].tolist() == ["OCRBench", "SEEDBench2_Plus", "MathVision", "MathVista"]
    assert table.instances["scenario"].tolist() == ["OCR", "OCR", "Math", "Math"]
    paths = table.instances["image_path"].tolist()
    assert paths[0].endswith("OCRBench/1.jpg") and paths[1].endswith("SEEDBenchv2Plus/7.png")
    assert paths[2].endswith("MathVision/3.webp") and paths[3] is None
    assert table.source["missing_images"] == {"MathVista": 1}


def test_later_csv_name_and_text_only(tmp_path):
    write_csv(tmp_path / "MMR-Bench.csv", ROWS, HEADER)
    table = load_table(tmp_path)
    assert table.instances["image_path"].isna().all()
    assert "no image folders" in table.source["images"]


def test_other_datasets_in_the_schema_load(tmp_path):
    rows = [["MyQA_1", "q", "a", 1, 0.1, 1, 0, 0.2, "b"], ["MyQA_2", "q2", "a", 0, 0.1, 1, 1, 0.2, "a"]]
    table = load_table(write_csv(tmp_path / "t.csv", rows, HEADER), images=None)
    assert table.datasets == ["MyQA"] and table.instances["scenario"].unique().tolist() == ["Other"]
    assert len(table.select_datasets("myqa").instances) == 2


def test_dataset_selection_aliases_and_unknown(table_dir):
    table = load_table(table_dir)
    assert table.select_datasets("seedbench").n == 1
    assert table.select_datasets("SEEDBENCH2PLUS+mathv").n == 2
    assert table.select_datasets("all").n == 4
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*OCRBench"):
        table.select_datasets("nope")
    assert split_dataset_idx("SEEDBench2_Plus_7") == ("SEEDBench2_Plus", "7")
    assert resolve_dataset_names(["ocr"], ["OCRBench"]) == ["OCRBench"]


def test_missing_cells_are_masked_not_filled(tmp_path):
    rows = [r[:] for r in ROWS]
    rows[1][3] = ""
    rows[2][7] = ""
    table = load_table(write_csv(tmp_path / "t.csv", rows, HEADER), images=None)
    assert np.isnan(table.correct[1, 0]) and np.isnan(table.cost[2, 1])
    assert table.missing_per_model() == {"A": 1, "B": 1}
    assert table.complete_rows().tolist() == [True, False, False, True]
    assert table.source["missing_cells"] == {"A": 1, "B": 1}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda h, r: (["idx"] + h[1:], r), "missing required column 'dataset_idx'"),
        (lambda h, r: ([h[0], "q"] + h[2:], r), "missing required column 'question'"),
        (lambda h, r: (h[:5] + ["A_tok"] + h[6:], r), None),
        (lambda h, r: (h[:4] + ["A_costs"] + h[5:], r), "A_correct has no matching A_cost"),
        (lambda h, r: (h[:3] + ["Z_x"] + h[4:], r), "A_cost has no matching A_correct"),
        (lambda h, r: (h, [r[0][:3] + ["maybe"] + r[0][4:]] + r[1:]), r"row 2, column A_correct: expected True/False"),
        (lambda h, r: (h, [r[0][:4] + [-1] + r[0][5:]] + r[1:]), r"row 2, column A_cost: cost must be >= 0"),
        (lambda h, r: (h, r[:2] + [r[2][:4] + ["cheap"] + r[2][5:]] + r[3:]), r"row 4, column A_cost: expected a non-negative"),
        (lambda h, r: (h, r + [r[0]]), "duplicate dataset_idx 'OCRBench_1'"),
        (lambda h, r: (h[:6] + ["A_correct"] + h[7:], r), "duplicate columns"),
    ],
)
def test_bad_tables_name_file_row_column(tmp_path, mutate, message):
    header, rows = mutate(list(HEADER), [list(r) for r in ROWS])
    path = tmp_path / "bad.csv"
    # Write with the csv module so duplicate column names survive.
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    if message is None:
        assert load_table(path, images=None).models == ("A", "B")
        return
    with pytest.raises(TableFormatError, match=message) as err:
        load_table(path, images=None)
    assert str(path) in str(err.value)


def test_empty_selection_and_missing_image_folder(table_dir):
    with pytest.raises(FileNotFoundError, match="image folder .* does not exist"):
        load_table(table_dir, images=table_dir / "nowhere")
    table = load_table(table_dir)
    with pytest.raises(ValueError, match="empty model selection"):
        table.select_models([])
    with pytest.raises(FileNotFoundError, match="holds none of"):
        load_table(table_dir / "images")


def test_round_trip_through_official_csv(table_dir, tmp_path):
    table = load_table(table_dir)
    out = table.to_official_csv(tmp_path / "copy" / "MMR-Bench.csv")
    again = load_table(out, images=None)
    np.testing.assert_array_equal(again.correct, table.correct)
    np.testing.assert_allclose(again.cost, table.cost)
    assert again.models == table.models


def make_hub_folder(tmp_path, rows=ROWS, wrap=True):
    hub = tmp_path / "hub"
    hub.mkdir()
    write_csv(hub / "MMR-Bench.csv", rows, HEADER)
    src = tmp_path / "imgsrc" / ("images" if wrap else "")
    (src / "OCRBench").mkdir(parents=True)
    (src / "OCRBench" / "1.jpg").write_bytes(b"x")
    with tarfile.open(hub / "images.tar.gz", "w:gz") as tar:
        tar.add(src / "OCRBench", arcname=("images/" if wrap else "") + "OCRBench")
    return hub


@pytest.mark.parametrize("wrap", [True, False])
def test_official_download_from_a_local_hub_layout(tmp_path, wrap):
    hub = make_hub_folder(tmp_path, wrap=wrap)
    out = download_official(tmp_path / "official", local_source=hub)
    table = load_table(out)
    assert table.instances["image_path"].iloc[0].endswith("OCRBench/1.jpg")
    assert json.loads((out / "provenance.json").read_text())["simulated"] is False
    assert table.source["simulated"] is False


def test_official_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="could not download gh0stHunter/MMR-Bench.*--local-source"):
        download_official(tmp_path / "official")
    assert not (tmp_path / "official").exists()
    with pytest.raises(FileNotFoundError, match="MMR-Bench.csv is missing"):
        (tmp_path / "empty").mkdir()
        download_official(tmp_path / "o2", local_source=tmp_path / "empty")


def test_broken_release_leaves_nothing_behind(tmp_path):
    bad_rows = [r[:] for r in ROWS]
    bad_rows[0][4] = "oops"
    hub = make_hub_folder(tmp_path, rows=bad_rows)
    with pytest.raises(TableFormatError):
        download_official(tmp_path / "official", local_source=hub)
    assert not (tmp_path / "official").exists()


def test_official_repository_layout_images_beside_csv(tmp_path):
    write_csv(tmp_path / "MMR_Bench.csv", ROWS, HEADER)
    (tmp_path / "OCRBench").mkdir()
    (tmp_path / "OCRBench" / "1.png").write_bytes(b"x")
    table = load_table(tmp_path)
    assert table.instances["image_path"].iloc[0] == str(tmp_path / "OCRBench" / "1.png")


def test_a_simulated_table_below_full_scale_says_it_is_a_smoke_run():
    from mmr_utils.data.loading import load_benchmark

    small = load_benchmark("", scale=0.03, seed=0)
    assert "SMOKE RUN: the simulated benchmark at scale 0.03" in small.describe()
    full_size = dataclasses.replace(small, source={**small.source,
                                                   "provenance": {**small.source["provenance"], "scale": 1.0}})
    assert "SMOKE RUN" not in full_size.describe()
