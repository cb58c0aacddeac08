"""Provenance that identifies a run without naming the machine: portable paths, git state, table hashes; and the
figures check that compares regenerated tables with the committed ones."""

import json
import re

import pandas as pd

from mmr_utils import paths
from mmr_utils.provenance import git_state, portable, table_sha256
from mmr_utils.report import outputs
from tools.figures_check import compare_outputs, figure_notebooks

ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:[\w.+@-]+/)+")


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_no_committed_provenance_holds_an_absolute_path():
    records = sorted(paths.FIGURES.glob("*.provenance.json")) + sorted((paths.FIGURES / "runs").glob("*.json"))
    assert records, "figures/ has no provenance records"
    offenders = []
    for record in records:
        for text in _strings(json.loads(record.read_text())):
            if ABSOLUTE.search(text) or str(paths.ROOT) in text:
                offenders.append(f"{record.name}: {text[:120]!r}")
    assert offenders == []


def test_committed_provenance_identifies_code_data_and_features():
    record = json.loads((paths.FIGURES / "tab_main_results_ps.provenance.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", record["run"]["git"]["commit"])
    assert isinstance(record["run"]["git"]["dirty"], bool)
    assert re.fullmatch(r"[0-9a-f]{64}", record["data"]["sha256"])
    assert record["features"]["fingerprint"] and record["features"]["cache_keys"]["text"]


def test_every_figure_notebook_left_a_run_record():
    for source, _ in figure_notebooks():
        run = json.loads((paths.FIGURES / "runs" / f"{source.stem}.json").read_text())
        assert run["wall_s"] > 0 and run["peak_rss_mb"] > 0, source.stem


def test_portable_rewrites_paths_but_not_urls_or_ratios():
    record = portable({"a": str(paths.ROOT / "data" / "x.csv"), "b": [f"read from {paths.ROOT.parent}/shared/y"],
                       "c": "https://example.org/a/b", "d": "1/n of text/image", "e": 3})
    assert record == {"a": "data/x.csv", "b": ["read from ../shared/y"], "c": "https://example.org/a/b",
                      "d": "1/n of text/image", "e": 3}


def test_git_state_and_table_hash(tmp_path):
    state = git_state()
    assert state["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", state["commit"])
    csv = tmp_path / "t.csv"
    csv.write_text("a\n1\n")
    import hashlib

    assert table_sha256(csv) == hashlib.sha256(b"a\n1\n").hexdigest()
    assert table_sha256(tmp_path / "absent.csv") is None


def test_saved_table_provenance_is_portable(tmp_path):
    frame = pd.DataFrame({"x": [1.0]})
    outputs.save_table(frame, "tab_t", {"data": {"path": str(paths.ROOT / "data" / "t.csv"), "simulated": True}},
                     out_dir=tmp_path)
    record = json.loads((tmp_path / "tab_t.provenance.json").read_text())
    assert record["data"]["path"] == "data/t.csv"
    assert "git" in record["run"]


def test_compare_outputs_reports_every_difference(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    committed.mkdir(), regenerated.mkdir()
    (committed / "tab_a.csv").write_text("k,v\na,0.7454\n")
    (regenerated / "tab_a.csv").write_text("k,v\na,0.7452\n")
    (committed / "tab_b.md").write_text("same\n")
    (regenerated / "tab_b.md").write_text("same\n")
    (committed / "fig_gone.png").write_bytes(b"png")
    (regenerated / "tab_new.csv").write_text("k\n")
    result = compare_outputs(committed, regenerated)
    assert not result.ok
    assert result.compared == ["tab_a.csv", "tab_b.md"]
    text = "\n".join(result.differences)
    assert "fig_gone.png: committed but not regenerated" in text
    assert "tab_new.csv: regenerated but not committed" in text
    assert "tab_a.csv, line 2: committed 'a,0.7454', regenerated 'a,0.7452'" in text
    assert compare_outputs(committed, regenerated, tolerance=5e-4).differences == [
        d for d in result.differences if "tab_a.csv" not in d]
