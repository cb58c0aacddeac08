"""The official-schema loader against bad input: every bad table a clear error naming the file, no file read
outside the image folder, nothing silently padded, dropped or guessed."""

import csv
import os
import tarfile
import warnings

import pytest

from mmr_utils.cli import main
from mmr_utils.data.hub import download_official
from mmr_utils.data.official import TableFormatError, load_table, resolve_images

HEADER = ["dataset_idx", "question", "answer", "A_correct", "A_cost", "A_token", "B_correct", "B_cost", "B_prediction"]
ROWS = [
    ["OCRBench_1", "read it", "x", "True", "0.1", "10", "False", "0.5", "y"],
    ["SEEDBench2_Plus_7", "what", "y", "1", "0.2", "20", "0", "0.4", "y"],
    ["MathVision_3", "angle?", "30", "false", "0.3", "30", "true", "0.6", "30"],
    ["MathVista_12", "plot", "2", "0", "0.1", "5", "1", "0.7", "2"],
]


def write_rows(path, rows, header=HEADER, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def image(folder, name, data=b"img"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


# --------------------------------------------------------------------------- item 2: path traversal
@pytest.mark.parametrize("idx", ["../../secret_1", "/abs/secret_1", "..\\..\\secret_1", "a/b_1", ".._1"])
def test_dataset_names_that_are_paths_are_rejected(tmp_path, idx):
    secret = tmp_path / "secret"
    image(secret, "1.png")
    table_dir = tmp_path / "t"
    table_dir.mkdir()
    image(table_dir / "images" / "OCRBench", "1.png")
    rows = [ROWS[0], [idx] + ROWS[1][1:]]
    pattern = rf"dataset name .* \(row 3, dataset_idx '{idx[:2]}.*(separator|'\.\.'|absolute)"
    with pytest.raises(TableFormatError, match=pattern):
        load_table(write_rows(table_dir / "MMR-Bench.csv", rows))


def test_only_folders_inside_the_image_root_are_listed(tmp_path, monkeypatch):
    """A dataset name is one folder below the image root: the resolver lists nothing else (links the data folder holds
    itself are followed, as the MATH-V conversion's are)."""
    import mmr_utils.data.official as official

    outside = tmp_path / "outside"
    image(outside, "1.png")
    root = tmp_path / "t" / "images"
    image(root / "OCRBench", "1.png")
    (root / "MathVision").mkdir()
    (root / "MathVision" / "3.png").symlink_to(outside / "1.png")
    listed = []
    original = official._index_image_folder
    monkeypatch.setattr(official, "_index_image_folder", lambda folder: listed.append(folder) or original(folder))
    with pytest.warns(UserWarning, match="no image file"):
        table = load_table(write_rows(tmp_path / "t" / "MMR-Bench.csv", ROWS))
    assert all(os.path.commonpath([root, folder]) == str(root) for folder in listed)
    paths = table.instances["image_path"].tolist()
    assert paths[0] == str(root / "OCRBench" / "1.png") and paths[2] == str(root / "MathVision" / "3.png")


def test_resolve_images_refuses_a_dataset_name_that_is_a_path(tmp_path):
    import pandas as pd

    with pytest.raises(ValueError, match="cannot name a folder"):
        resolve_images(pd.Series(["x_1"]), pd.Series(["../x"]), tmp_path)


# --------------------------------------------------------------------------- item 4 and parser errors
def test_a_truncated_row_is_rejected_with_file_line_and_field_counts(tmp_path):
    rows = [ROWS[0], ROWS[1][:5], ROWS[2]]
    path = write_rows(tmp_path / "t.csv", rows)
    with pytest.raises(TableFormatError, match=r"t\.csv, line 3: expected 9 fields as in the header, found 5"):
        load_table(path, images=None)


def test_extra_fields_are_rejected_with_the_file_and_line(tmp_path):
    path = write_rows(tmp_path / "t.csv", [ROWS[0], ROWS[1], ROWS[2] + ["extra"]])
    with pytest.raises(TableFormatError, match=r"t\.csv, line 4: expected 9 fields as in the header, found 10"):
        load_table(path, images=None)


def test_line_numbers_count_blank_lines_and_multiline_fields(tmp_path):
    path = tmp_path / "t.csv"
    text = ",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n\n" + 'SEEDBench2_Plus_7,"two\nlines",y,1,0.2\n'
    path.write_text(text)
    with pytest.raises(TableFormatError, match=r"line 4: expected 9 fields .* found 5"):
        load_table(path, images=None)


def test_an_unterminated_quote_names_the_file_and_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + '\nMathVision_3,"angle?,30,0,0.3,30,1,0.6,30\n')
    with pytest.raises(TableFormatError, match=r"t\.csv, line \d+: unterminated quoted field starting on line 3"):
        load_table(path, images=None)


def test_latin1_bytes_name_the_file_and_line(tmp_path):
    rows = [ROWS[0], ["OCRBench_2", "caf\xe9", "x"] + ROWS[0][3:]]
    path = write_rows(tmp_path / "t.csv", rows, encoding="latin-1")
    with pytest.raises(TableFormatError, match=r"t\.csv, line 3: not UTF-8 text \(byte 0xe9"):
        load_table(path, images=None)


def test_a_utf8_byte_order_mark_loads(tmp_path):
    path = write_rows(tmp_path / "t.csv", ROWS, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    table = load_table(path, images=None)
    assert table.models == ("A", "B") and table.instances["dataset_idx"].iloc[0] == "OCRBench_1"


# --------------------------------------------------------------------------- item 8: missing images said
def test_missing_images_are_a_warning_with_per_dataset_counts(tmp_path):
    image(tmp_path / "images" / "OCRBench", "1.png")
    rows = ROWS + [["OCRBench_2"] + ROWS[0][1:]]
    with pytest.warns(UserWarning, match=r"4 of 5 instances have no image file under .*images \(OCRBench: 1, "
                                         r"SEEDBench2_Plus: 1, MathVision: 1, MathVista: 1\)"):
        table = load_table(write_rows(tmp_path / "MMR-Bench.csv", rows))
    assert table.source["missing_images"] == {"OCRBench": 1, "SEEDBench2_Plus": 1, "MathVision": 1, "MathVista": 1}


def test_no_warning_when_every_image_is_there_or_images_are_off(tmp_path):
    image(tmp_path / "images" / "OCRBench", "1.png")
    path = write_rows(tmp_path / "MMR-Bench.csv", ROWS[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_table(path)
        write_rows(tmp_path / "MMR-Bench.csv", ROWS)
        load_table(path, images=None)


# --------------------------------------------------------------------------- items 9 and 14: provenance.json
@pytest.mark.parametrize("value", ['"false"', '"true"', "0", "1", "null", '"no"'])
def test_simulated_must_be_a_real_boolean(tmp_path, value):
    write_rows(tmp_path / "MMR-Bench.csv", ROWS)
    (tmp_path / "provenance.json").write_text(f'{{"simulated": {value}}}')
    with pytest.raises(TableFormatError, match=r"provenance\.json: \"simulated\" must be true or false"):
        load_table(tmp_path, images=None)


@pytest.mark.parametrize("value, expected", [("false", False), ("true", True)])
def test_simulated_booleans_are_read(tmp_path, value, expected):
    write_rows(tmp_path / "MMR-Bench.csv", ROWS)
    (tmp_path / "provenance.json").write_text(f'{{"simulated": {value}}}')
    assert load_table(tmp_path, images=None).source["simulated"] is expected


@pytest.mark.parametrize("text, kind", [("[1, 2]", "list"), ('"x"', "str"), ("3", "int")])
def test_provenance_that_is_not_an_object_is_a_clear_error(tmp_path, text, kind):
    write_rows(tmp_path / "MMR-Bench.csv", ROWS)
    (tmp_path / "provenance.json").write_text(text)
    with pytest.raises(TableFormatError, match=rf"provenance\.json: expected a JSON object .*got a {kind}"):
        load_table(tmp_path, images=None)


# --------------------------------------------------------------------------- item 10: dataset / scenario columns
def test_dataset_and_scenario_columns_that_agree_are_accepted(tmp_path):
    header = HEADER[:1] + ["dataset", "scenario"] + HEADER[1:]
    rows = [[r[0], d, s] + r[1:] for r, d, s in zip(ROWS, ["OCRBench", "SEEDBench2_Plus", "MathVision", ""],
                                                    ["OCR", "OCR", "", "Math"])]
    table = load_table(write_rows(tmp_path / "t.csv", rows, header), images=None)
    assert table.instances["dataset"].tolist() == ["OCRBench", "SEEDBench2_Plus", "MathVision", "MathVista"]
    assert table.instances["scenario"].tolist() == ["OCR", "OCR", "Math", "Math"]
    assert list(table.instances.columns[:3]) == ["dataset_idx", "dataset", "scenario"]


def test_a_dataset_column_that_disagrees_names_the_rows(tmp_path):
    header = HEADER[:1] + ["dataset"] + HEADER[1:]
    rows = [[r[0], d] + r[1:] for r, d in zip(ROWS, ["OCRBench", "MMStar", "MathVision", "OCRBench"])]
    with pytest.raises(TableFormatError, match=r"column dataset disagrees with the dataset_idx prefix at rows 3, 5 "
                                               r"\(row 3: dataset 'MMStar', dataset_idx 'SEEDBench2_Plus_7'"):
        load_table(write_rows(tmp_path / "t.csv", rows, header), images=None)


def test_a_scenario_column_that_disagrees_names_the_rows(tmp_path):
    header = HEADER[:1] + ["scenario"] + HEADER[1:]
    rows = [[r[0], s] + r[1:] for r, s in zip(ROWS, ["OCR", "Math", "Math", "Math"])]
    with pytest.raises(TableFormatError, match=r"column scenario disagrees .* at rows 3 \(row 3: SEEDBench2_Plus is "
                                               r"'OCR', the column says 'Math'\)"):
        load_table(write_rows(tmp_path / "t.csv", rows, header), images=None)


def test_a_scenario_column_names_the_scenario_of_other_datasets(tmp_path):
    header = HEADER[:1] + ["scenario"] + HEADER[1:]
    rows = [["MedQA_1", "Medical"] + ROWS[0][1:], ["MedQA_2", "Medical"] + ROWS[1][1:]]
    assert load_table(write_rows(tmp_path / "t.csv", rows, header), images=None).instances["scenario"].tolist() == [
        "Medical", "Medical"]
    rows[1][1] = "Other stuff"
    with pytest.raises(TableFormatError, match="gives dataset 'MedQA' several scenarios"):
        load_table(write_rows(tmp_path / "t.csv", rows, header), images=None)


# --------------------------------------------------------------------------- item 11: ids without a dataset prefix
def test_ids_without_a_dataset_prefix_make_one_dataset_and_say_so(tmp_path):
    from mmr_utils.data.splits import instance_split

    rows = [[str(i), f"q{i}", "a", str(i % 2), "0.1", "1", str((i + 1) % 2), "0.2", "b"] for i in range(30)]
    folder = tmp_path / "mybench"
    folder.mkdir()
    image(folder / "images", "3.png")
    with pytest.warns(UserWarning, match=r"no dataset_idx has a <dataset>_<id> prefix \(e\.g\. '0'\); treating all 30 "
                                         r"rows as one dataset 'mybench'"):
        table = load_table(write_rows(folder / "MMR-Bench.csv", rows))
    assert table.datasets == ["mybench"] and table.instances["scenario"].unique().tolist() == ["Other"]
    assert table.instances["image_path"].iloc[3].endswith("images/3.png")
    split = instance_split(table, 0.2, seed=0)
    assert len(split.train) == 6 and len(split.test) == 24


def test_bare_ids_take_their_dataset_from_a_dataset_column(tmp_path):
    header = HEADER[:1] + ["dataset"] + HEADER[1:]
    rows = [[str(i), "OCRBench" if i < 2 else "MyQA"] + ROWS[0][1:] for i in range(4)]
    image(tmp_path / "images" / "OCRBench", "1.png")
    with pytest.warns(UserWarning, match="no image file"):
        table = load_table(write_rows(tmp_path / "MMR-Bench.csv", rows, header))
    assert table.datasets == ["OCRBench", "MyQA"]
    assert table.instances["image_path"].iloc[1].endswith("OCRBench/1.png")


def test_a_mix_of_prefixed_and_bare_ids_names_the_rows(tmp_path):
    rows = [ROWS[0], ["17"] + ROWS[1][1:], ROWS[2]]
    with pytest.raises(TableFormatError, match=r"rows 3 \('17'\) are not of that form while others are"):
        load_table(write_rows(tmp_path / "t.csv", rows), images=None)


# --------------------------------------------------------------------------- item 14: the image archive
def hub_with_archive(tmp_path, make_archive):
    hub = tmp_path / "hub"
    hub.mkdir()
    write_rows(hub / "MMR-Bench.csv", ROWS)
    make_archive(hub / "images.tar.gz")
    return hub


def test_an_archive_that_is_not_a_tar_is_a_one_line_error(tmp_path, capsys):
    hub = hub_with_archive(tmp_path, lambda path: path.write_bytes(b"this is not a tar archive"))
    with pytest.raises(TableFormatError, match=r"images\.tar\.gz: not a readable tar archive"):
        download_official(tmp_path / "out", local_source=hub)
    assert main(["data-official", "--out", str(tmp_path / "out"), "--local-source", str(hub)]) == 1
    err = capsys.readouterr().err
    assert "images.tar.gz: not a readable tar archive" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_truncated_archive_is_a_one_line_error(tmp_path):
    def truncated(path):
        source = tmp_path / "src" / "OCRBench"
        image(source, "1.jpg", os.urandom(200_000))
        with tarfile.open(path, "w:gz") as tar:
            tar.add(source, arcname="images/OCRBench")
        path.write_bytes(path.read_bytes()[:5000])

    hub = hub_with_archive(tmp_path, truncated)
    with pytest.raises(TableFormatError, match=r"images\.tar\.gz: not a readable tar archive"):
        download_official(tmp_path / "out", local_source=hub)


@pytest.mark.parametrize("target, kind", [("/etc/passwd", "symbolic link"), ("1.jpg", "symbolic link")])
def test_a_link_member_is_a_one_line_error_naming_it(tmp_path, capsys, target, kind):
    def with_link(path):
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("images/OCRBench/2.jpg")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)

    hub = hub_with_archive(tmp_path, with_link)
    assert main(["data-official", "--out", str(tmp_path / "out"), "--local-source", str(hub)]) == 1
    err = capsys.readouterr().err
    assert f"member 'images/OCRBench/2.jpg' is a {kind}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
