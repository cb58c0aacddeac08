"""docs/adding_a_model.md: its example (the one Python block) runs as written and leaves the table it describes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mmr_utils.paths import ROOT

DOC = ROOT / "docs" / "adding_a_model.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, f"{DOC} should hold exactly one Python example, found {len(blocks)}"
    return blocks[0]


def test_the_documented_example_loads_and_audits(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_example(), str(DOC), "exec"), {"__name__": "doc_example"})
    assert "audit: 4 rows x 3 models, 1 missing cells in 1 models (lowest coverage New-VLM-7B 75.0%)" in \
        capsys.readouterr().out

    from mmr_utils.data.official import load_table

    table = load_table(tmp_path / "example-table")
    k = table.models.index("New-VLM-7B")
    np.testing.assert_array_equal(table.correct[:, k], [1.0, 1.0, 0.0, np.nan])
    np.testing.assert_allclose(table.cost[:3, k], [180 * 0.4e-6, 95 * 0.4e-6, 240 * 0.4e-6])
    assert np.isnan(table.cost[3, k]) and np.isnan(table.tokens[3, k]) and table.tokens[0, k] == 180
    assert table.source["provenance"]["models"]["New-VLM-7B"]["price_source"].endswith("2026-01-15")
    # The failed call stays missing: the written cells are empty, not 0/False.
    raw = pd.read_csv(tmp_path / "example-table" / "MMR-Bench.csv", dtype=str, keep_default_na=False)
    assert raw.loc[3, ["New-VLM-7B_correct", "New-VLM-7B_cost", "New-VLM-7B_token"]].tolist() == ["", "", ""]


def test_the_doc_names_every_schema_suffix_and_the_audit():
    from mmr_utils.data.official import MODEL_SUFFIXES

    text = DOC.read_text(encoding="utf-8")
    for suffix in MODEL_SUFFIXES:
        assert f"`M{suffix}`" in text
    assert "python -m mmr_utils audit" in text and "provenance.json" in text
