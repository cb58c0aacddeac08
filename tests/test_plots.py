"""The one saving helper: every output written (PNG + PDF, CSV + Markdown, provenance), or a clear error."""

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mmr_utils import plots

PROVENANCE = {"data": {"path": "x.csv", "simulated": True}, "encoder": "offline: test", "settings": {"seeds": [0]}}


def test_save_figure_writes_png_pdf_and_provenance(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    written = plots.save_figure(fig, "fig_test", PROVENANCE, out_dir=tmp_path)
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert all(p.stat().st_size > 0 for p in written)
    record = json.loads((tmp_path / "fig_test.provenance.json").read_text())
    assert record["data"]["simulated"] is True and record["outputs"] == ["fig_test.png", "fig_test.pdf"]
    assert "SIMULATED" in plots.caption(PROVENANCE)


def test_save_table_and_errors(tmp_path):
    frame = pd.DataFrame({"router": ["knn"], "nAUC": [0.71234]}).set_index("router")
    plots.save_table(frame, "tab_test", PROVENANCE, out_dir=tmp_path)
    assert "0.7123" in (tmp_path / "tab_test.md").read_text()
    assert "SIMULATED" in (tmp_path / "tab_test.md").read_text()
    with pytest.raises(ValueError, match="empty"):
        plots.save_table(frame.iloc[:0], "tab_empty", PROVENANCE, out_dir=tmp_path)
    with pytest.raises(ValueError, match="provenance is required"):
        plots.save_figure(plt.figure(), "fig_none", {}, out_dir=tmp_path)
    assert not (tmp_path / "fig_none.png").exists()
