"""The Markdown tables a reader sees: flat labels, names in words, one number format per column, a title and a note;
the CSV keeps raw values; per-seed dumps are CSV only."""

import re

import numpy as np
import pandas as pd
import pytest

from mmr_utils.report import names, outputs

PROVENANCE = {"data": {"path": "x.csv", "simulated": True}, "encoder": "offline: test", "settings": {"seeds": [0, 1]}}


def _rows(markdown: str) -> list[list[str]]:
    """The cells of every table row (header first) of a Markdown table, without the separator line."""
    lines = [line for line in markdown.splitlines() if line.startswith("|") and not set(line) <= set("|:- ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def _mixed_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([("knn", "OCRBench", "Ps"), ("linear_mf", "MMStar", "nAUC"),
                                       ("best_single", "All", "Ps")], names=["router", "dataset", "metric"])
    return pd.DataFrame({"paper": [0.8075, np.nan, 0.7], "here": [0.8375, 0.7, 0.71],
                         "cost": [1.037e4, 1.6e-5, 0.5], "difference": [0.03, -0.01, 0.0001], "rows": [10, 20, 30]},
                        index=index)


def test_markdown_has_title_note_flat_labels_and_router_names(tmp_path):
    outputs.save_table(_mixed_frame(), "tab_paper_vs_here", PROVENANCE, out_dir=tmp_path, note="mean over seeds")
    text = (tmp_path / "tab_paper_vs_here.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "**Paper vs here**"
    assert lines[2].startswith("_SIMULATED data") and "seeds [0, 1]" in lines[2] and "mean over seeds" in lines[2]
    rows = _rows(text)
    assert rows[0][:3] == ["router", "dataset", "metric"]
    assert "('" not in text and "')" not in text  # no tuple labels
    assert [row[0] for row in rows[1:]] == ["KNN", "LinearMF", "Best single"]
    # the CSV keeps the ids and the raw numbers
    csv = pd.read_csv(tmp_path / "tab_paper_vs_here.csv")
    assert list(csv["router"]) == ["knn", "linear_mf", "best_single"] and csv["cost"].iloc[0] == 1.037e4


def test_every_numeric_column_has_one_format():
    shown = outputs.display_table(_mixed_frame())
    patterns = {"paper": r"^\d\.\d{3}$|^–$", "here": r"^\d\.\d{3}$", "cost": r"^\d\.\d\de[+-]\d\d$",
                "difference": r"^[+-]\d\.\d{4}$", "rows": r"^\d+$"}
    for column, pattern in patterns.items():
        cells = shown[column].tolist()
        assert all(re.match(pattern, cell) for cell in cells), (column, cells)
    # a cost column spanning 1.6e-05 to 1.037e+04 is all scientific, never a mix of fixed and scientific
    assert shown["cost"].tolist() == ["1.04e+04", "1.60e-05", "5.00e-01"]


def test_column_format_chooses_decimals_from_the_values():
    assert outputs.column_format([0.5, 0.25])(0.5) == "0.500"
    assert outputs.column_format([0.0016, 0.02])(0.02) == "0.0200"
    assert outputs.column_format([1, 2, 3])(2) == "2"
    assert outputs.column_format([0.5, np.inf])(np.inf) == "inf"
    assert outputs.column_format([12.5, 80.25])(12.5) == "12.50"


def test_multiindex_columns_are_joined_in_csv_and_markdown(tmp_path):
    frame = pd.DataFrame(np.arange(4.0).reshape(1, 4) / 10,
                         columns=pd.MultiIndex.from_product([["Ps", "nAUC"], ["mean", "std"]]))
    outputs.save_table(frame, "tab_multi", PROVENANCE, out_dir=tmp_path)
    assert pd.read_csv(tmp_path / "tab_multi.csv", index_col=0).columns.tolist() == ["Ps mean", "Ps std", "nAUC mean",
                                                                                     "nAUC std"]
    assert _rows((tmp_path / "tab_multi.md").read_text())[0] == ["Ps mean", "Ps std", "nAUC mean", "nAUC std"]


def test_modes_are_named_in_words_in_tables():
    modes = pd.DataFrame([[0.7, 0.69, 0.72, 0.71]], index=pd.Index(["knn"], name="router"),
                         columns=pd.Index(["11", "21", "22", "33"], name="mode"))
    header = list(outputs.display_table(modes).columns)
    assert header == ["router", "text only", "trained on both, tested without image", "text + image", "image only"]
    long = pd.DataFrame({"router": ["cmr"], "mode": [22], "nAUC_shared": [0.7]})
    shown = outputs.display_table(long)
    assert shown["mode"].tolist() == ["text + image"] and "nAUC (shared interval)" in shown.columns


def test_all_seeds_tables_are_csv_only(tmp_path):
    frame = pd.DataFrame({"router": ["knn", "knn"], "seed": [0, 1], "Ps": [0.7, 0.71]})
    written = outputs.save_table(frame, "tab_main_results_all_seeds", PROVENANCE, out_dir=tmp_path)
    assert [p.name for p in written] == ["tab_main_results_all_seeds.csv"]
    assert not (tmp_path / "tab_main_results_all_seeds.md").exists()
    assert pd.read_csv(tmp_path / "tab_main_results_all_seeds.csv")["seed"].tolist() == [0, 1]


@pytest.mark.parametrize(("name", "title"), [("tab_main_results_ps", "Main results Ps"), ("tab_qnc", "QNC"),
                                             ("tab_paper_vs_here_fig4_models", "Paper vs here Fig. 4 models")])
def test_table_titles_from_names(name, title):
    assert names.table_title(name) == title


def test_names_are_one_mapping():
    assert names.router_label("kmeans_adaptive") == "KMeans-adaptive" and names.router_label("new_router") == "new_router"
    assert names.mode_label(21) == names.mode_label("21") == "trained on both, tested without image"
    assert names.column_label("SEEDBench2_Plus") == "SEEDBench2_Plus" and names.column_label("share_new") == "share new"
    assert names.column_label("best_QNC") == "best QNC" and names.column_label("Claude3-7V_Sonnet") == "Claude3-7V_Sonnet"
    assert names.short_model("gpt-5-2025-08-07") == "gpt-5"
    assert names.short_model("Qwen2.5-VL-72B-Instruct") == "Qwen2.5-VL-72B"


def test_row_labels_become_columns_even_when_unnamed_or_repeating_a_column():
    unnamed = pd.DataFrame({"Ps": [0.7, 0.8]}, index=["knn", "mean over routers"])
    shown = outputs.display_table(unnamed)
    assert list(shown.columns) == ["", "Ps"] and shown.iloc[:, 0].tolist() == ["KNN", "mean over routers"]
    clash = pd.DataFrame({"router": ["knn"], "Ps": [0.7]}, index=pd.Index(["a"], name="router"))
    assert list(outputs.display_table(clash).columns) == ["router", "router", "Ps"]
