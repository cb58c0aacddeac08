"""Dataset names: selection by exact name, alias or normalised spelling, ambiguity, and names safe as folders."""

import pytest

from mmr_utils.data.datasets import resolve_dataset_names


def test_an_exact_name_wins_over_a_colliding_spelling():
    """Item 5: OCRBench and OCR-Bench in one table: --datasets OCRBench means OCRBench, not the other one."""
    available = ["OCRBench", "OCR-Bench", "MMStar"]
    assert resolve_dataset_names("OCRBench", available) == ["OCRBench"]
    assert resolve_dataset_names("OCR-Bench", available) == ["OCR-Bench"]
    assert resolve_dataset_names(["OCR-Bench", "OCRBench"], available) == ["OCR-Bench", "OCRBench"]
    assert resolve_dataset_names("mmstar+all", available) == ["MMStar", "OCRBench", "OCR-Bench"]


@pytest.mark.parametrize("requested", ["ocrbench", "OCR_BENCH", "ocr bench"])
def test_an_ambiguous_name_is_an_error_listing_the_candidates(requested):
    with pytest.raises(ValueError, match=rf"dataset name '{requested}' is ambiguous .* matches OCRBench, OCR-Bench"):
        resolve_dataset_names(requested, ["OCRBench", "OCR-Bench"])


def test_aliases_and_case_still_work_without_a_collision():
    available = ["OCRBench", "SEEDBench2_Plus", "MathVision"]
    assert resolve_dataset_names("ocr+SEEDBENCH+mathv", available) == ["OCRBench", "SEEDBench2_Plus", "MathVision"]
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        resolve_dataset_names("nope", available)


def test_the_table_selection_uses_the_exact_name(tmp_path):
    import csv

    from mmr_utils.data.official import load_table

    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset_idx", "question", "A_correct", "A_cost", "B_correct", "B_cost"])
        writer.writerows([["OCRBench_1", "q", 1, 0.1, 0, 0.2], ["OCR-Bench_1", "q", 0, 0.1, 1, 0.2],
                          ["OCR-Bench_2", "q", 0, 0.1, 1, 0.2]])
    assert load_table(path, images=None, datasets="OCRBench").instances["dataset_idx"].tolist() == ["OCRBench_1"]
    assert load_table(path, images=None, datasets="OCR-Bench").n == 2
    with pytest.raises(ValueError, match="ambiguous"):
        load_table(path, images=None, datasets="ocrbench")


@pytest.mark.parametrize("name, reason", [("../../x", "separator"), ("/abs/x", "absolute"), ("a\\b", "separator"),
                                          ("..", "'..'"), (".", "'..'"), ("C:x", "absolute"), ("", "empty")])
def test_names_that_are_paths_are_unsafe(name, reason):
    from mmr_utils.data.datasets import unsafe_dataset_name

    assert reason in unsafe_dataset_name(name)


@pytest.mark.parametrize("name", ["OCRBench", "SEEDBench2_Plus", "my.data", "x-1"])
def test_plain_names_are_safe(name):
    from mmr_utils.data.datasets import unsafe_dataset_name

    assert unsafe_dataset_name(name) is None
