"""The output layer: every output written (PNG + PDF, CSV + Markdown, provenance), or a clear error; Report."""

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mmr_utils.report import outputs

PROVENANCE = {"data": {"path": "x.csv", "simulated": True}, "encoder": "offline: test", "settings": {"seeds": [0]}}


def test_save_figure_writes_png_pdf_and_provenance(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    written = outputs.save_figure(fig, "fig_test", PROVENANCE, out_dir=tmp_path)
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert all(p.stat().st_size > 0 for p in written)
    record = json.loads((tmp_path / "fig_test.provenance.json").read_text())
    assert record["data"]["simulated"] is True and record["outputs"] == ["fig_test.png", "fig_test.pdf"]
    assert "SIMULATED" in outputs.caption(PROVENANCE)


def test_save_table_and_errors(tmp_path):
    frame = pd.DataFrame({"router": ["knn"], "nAUC": [0.71234]}).set_index("router")
    outputs.save_table(frame, "tab_test", PROVENANCE, out_dir=tmp_path)
    assert "| KNN      |  0.712 |" in (tmp_path / "tab_test.md").read_text()  # a score: 3 decimals, router named
    assert "SIMULATED" in (tmp_path / "tab_test.md").read_text()
    with pytest.raises(ValueError, match="empty"):
        outputs.save_table(frame.iloc[:0], "tab_empty", PROVENANCE, out_dir=tmp_path)
    with pytest.raises(ValueError, match="provenance is required"):
        outputs.save_figure(plt.figure(), "fig_none", {}, out_dir=tmp_path)
    assert not (tmp_path / "fig_none.png").exists()


def test_report_writes_every_output_into_its_folder_with_each_provenance(tmp_path):
    report = outputs.Report(tmp_path / "out")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    report.figure(fig, "fig_pareto", PROVENANCE)
    report.table(pd.DataFrame({"nAUC": [0.5]}, index=pd.Index(["knn"], name="router")), "tab_main_results_nauc",
                 {**PROVENANCE, "settings": {"seeds": [0, 1]}})
    assert [p.name for p in report.saved] == ["fig_pareto.png", "fig_pareto.pdf", "tab_main_results_nauc.csv",
                                              "tab_main_results_nauc.md"]
    figure_record = json.loads((tmp_path / "out" / "fig_pareto.provenance.json").read_text())
    table_record = json.loads((tmp_path / "out" / "tab_main_results_nauc.provenance.json").read_text())
    assert figure_record["encoder"] == table_record["encoder"] == "offline: test"
    assert table_record["settings"] == {"seeds": [0, 1]} and figure_record["settings"] == {"seeds": [0]}
    with pytest.raises(ValueError, match="provenance is required"):
        report.table(pd.DataFrame({"x": [1]}), "tab_none", {})
    assert not (tmp_path / "out" / "tab_none.csv").exists()
