"""Command line of the extra routers and metrics: every registered router through ``evaluate``, its ``--metrics peer`` and ``--bootstrap``
tables, the ``audit`` subcommand, and ``data-official --version 2`` (from a local copy) with its Makefile target."""

from __future__ import annotations

import json
import random
import subprocess

import numpy as np
import pandas as pd
import pytest

from mmr_utils.cli import build_parser, main
from mmr_utils.routers.base import ROUTERS

WORDS = ["chart", "value", "red", "blue", "area", "angle", "sign", "shop", "word", "what", "is", "the", "total"]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A 60-row, 3-model text table in the official schema; the embedding/run caches go to tmp_path."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("MMR_RUN_CACHE", "0")
    rng = random.Random(0)
    rows = ["dataset_idx,question,A_correct,A_cost,B_correct,B_cost,C_correct,C_cost"]
    for i in range(60):
        question = " ".join(rng.choice(WORDS) for _ in range(7))
        rows.append(f"MyQA_{i},{question},{i % 2},0.1,{(i // 2) % 2},0.5,{int(i % 3 > 0)},1.0")
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "MMR-Bench.csv").write_text("\n".join(rows) + "\n")
    return folder


def _evaluate(data, router, out, *extra):
    return main(["evaluate", "--data-root", str(data), "--router", router, "--mode", "11", "--encoder", "tfidf",
                 "--quiet", "--epochs", "2", "--random-draws", "3", "--out", str(out), *extra])


def test_every_registered_router_is_selectable_and_runs(tiny, tmp_path, capsys):
    evaluate = build_parser()._subparsers._group_actions[0].choices["evaluate"]
    router_action = next(a for a in evaluate._actions if a.dest == "router")
    assert sorted(router_action.choices) == sorted(ROUTERS) and len(ROUTERS) >= 17
    for name in ("carrot_knn", "knn_shrunk", "kmeans_shrunk", "irt", "gbdt", "cascade"):
        assert name in router_action.choices
    for router in sorted(ROUTERS):
        out = tmp_path / "results" / f"{router}.json"
        code = _evaluate(tiny, router, out)
        err = capsys.readouterr().err
        if ROUTERS[router].needs_both_channels:  # a text-only table has one channel: a plain message, nothing written
            assert code == 1 and f"{router} needs both channels" in err and not out.exists()
            continue
        assert code == 0, f"{router}: {err}"
        record = json.loads(out.read_text())
        assert record["router"] == router and record["data"]["test_rows"] == 48
        assert 0.0 <= record["metrics"]["Ps"] <= 1.0


def test_evaluate_writes_peer_metrics_and_bootstrap_tables(tiny, tmp_path, capsys):
    out = tmp_path / "res" / "knn.json"
    assert _evaluate(tiny, "knn", out, "--metrics", "protocol,peer", "--bootstrap", "40") == 0
    record = json.loads(out.read_text())
    peer = pd.read_csv(tmp_path / "res" / "knn.peer_metrics.csv")
    assert sorted(record["tables"]) == ["peer_metrics", "uncertainty"]
    assert record["tables"]["peer_metrics"].endswith("knn.peer_metrics.csv")
    assert list(peer["router"]) == ["knn", "Random", "Best Single", "Oracle"]
    for column in ("AIQ", "APGR", "CPT50", "nAUC_orbit", "HV", "share[A]", "share[B]", "share[C]", "share_entropy"):
        assert column in peer.columns
    knn = peer.iloc[0]
    for metric in ("nAUC", "nAUC_shared", "Ps"):  # the same rows and sweep as the protocol's metrics
        assert knn[metric] == pytest.approx(record["metrics"][metric], abs=1e-9)
    assert knn["rows"] == 48 and knn[["share[A]", "share[B]", "share[C]"]].sum() == pytest.approx(1.0)
    assert peer.loc[3, "Ps"] >= peer["Ps"].max() - 1e-12  # the oracle is the best possible accuracy

    unc = pd.read_csv(tmp_path / "res" / "knn.uncertainty.csv")
    assert sorted(unc["router"].unique()) == ["Best Single", "knn"]
    assert sorted(unc["metric"].unique()) == ["Ps", "QNC", "nAUC_shared"]
    row = unc[(unc["router"] == "knn") & (unc["metric"] == "Ps")].iloc[0]
    assert row["estimate"] == pytest.approx(record["metrics"]["Ps"])
    assert row["low"] <= row["estimate"] <= row["high"] and row["low"] < row["high"]
    assert 0.0 <= row["p_value"] <= 1.0 and "±" in row["cell"]
    # Deterministic in --seed: a second run writes the same intervals.
    assert _evaluate(tiny, "knn", tmp_path / "again" / "knn.json", "--bootstrap", "40") == 0
    pd.testing.assert_frame_equal(unc, pd.read_csv(tmp_path / "again" / "knn.uncertainty.csv"))
    assert not (tmp_path / "again" / "knn.peer_metrics.csv").exists()


def test_evaluate_option_errors(tiny, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _evaluate(tiny, "knn", out, "--bootstrap", "0") == 1
    assert "mmr_utils evaluate: error: --bootstrap must be at least 1, got 0" in capsys.readouterr().err
    assert not out.exists()
    for option, value, message in (("--metrics", "peer,fancy", "unknown metric families ['fancy']"),
                                   ("--bootstrap-metrics", "nAUC,Wins", "unknown metrics ['Wins']")):
        with pytest.raises(SystemExit) as exit_info:
            _evaluate(tiny, "knn", out, option, value)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_audit_subcommand_prints_and_writes(tmp_path, capsys):
    rows = ["dataset_idx,question,A_correct,A_cost,B_correct,B_cost"]
    questions = ["What is the total area of the shaded region in the figure below, in square metres?",
                 "what is the total area of the shaded   region in the figure below, in square metres?",
                 "What is the total area of the shaded region in the figure below, in square feet?",
                 "Which shop sign is red?", "Read the word on the banner."]
    for i, question in enumerate(questions * 4):
        cell = "" if i == 3 else str(i % 2)  # one missing cell for model B
        rows.append(f"MyQA_{i},\"{question}\",1,0.1,{cell},{'' if i == 3 else 0.5}")
    (tmp_path / "MMR-Bench.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "audit"
    assert main(["audit", str(tmp_path), "--train-fraction", "0.25", "--seed", "1", "--threshold", "0.8",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # (the loader itself refuses duplicate ids, so the audit's id check matters for tables built in code)
    assert "1 missing cells in 1 models (lowest coverage B 95.0%)" in text and "0 duplicate ids" in text
    counts = json.loads((out / "audit.json").read_text())["counts"]
    assert counts["duplicate_ids"] == 0 and counts["missing_cells"] == {"B": 1}
    # Rows 0, 1 (same once normalised) and the repeats give groups; 'metres' vs 'feet' is a near duplicate at 0.8.
    assert counts["duplicate_question_groups"] == 4 and counts["near_duplicate_pairs"] == 1
    assert counts["near_duplicate_threshold"] == 0.8
    # Expected leakage from the question families (0 = 1 exact, 2 near them; 3 and 4 alone) and the same split.
    from mmr_utils.data.official import load_table
    from mmr_utils.data.splits import instance_split

    split = instance_split(load_table(tmp_path, images=None), 0.25, seed=1)
    family = np.array([0 if i % 5 < 3 else i % 5 for i in range(20)])
    expected = [row for row in split.test if family[row] in set(family[split.train])]
    leak = pd.read_csv(out / "audit_leakage.csv")
    assert counts["test_rows"] == 15 and counts["leaked_test_rows"] == len(expected) > 0
    assert leak["test_row"].tolist() == expected and set(leak["train_row"]) <= set(split.train)
    text = np.array([0 if i % 5 < 2 else i % 5 for i in range(20)])  # normalised-text id per row
    same_text = text[leak["test_row"]] == text[leak["train_row"]]
    assert ((leak["kind"] == "exact") == same_text).all() and (leak.loc[~same_text, "similarity"] < 1).all()

    assert main(["audit", str(tmp_path / "nowhere")]) == 1
    assert "mmr_utils audit: error:" in capsys.readouterr().err
    assert main(["audit", str(tmp_path), "--train-fraction", "1.5"]) == 1
    assert "--train-fraction must be strictly between 0 and 1, got 1.5" in capsys.readouterr().err


def _v2_release(root):
    """A minimal MMR-Bench V2 layout: one task, two models (one failed call)."""
    ids = ["t-1", "t-2", "t-3"]
    instances = pd.DataFrame({"sample_id": ids, "benchmark": ["OCRBench"] * 3,
                              "prompt_text": ["read the sign", "read the sign", "what colour?"],
                              "images": [["a.png"], ["b.png"], []]})
    (root / "data" / "instances").mkdir(parents=True)
    instances.to_parquet(root / "data" / "instances" / "ocr.parquet", index=False)
    for model, status in (("alpha", ["ok", "ok", "ok"]), ("beta", ["ok", "error", "ok"])):
        folder = root / "data" / "results" / model
        folder.mkdir(parents=True)
        pd.DataFrame({"sample_id": ids, "benchmark": "OCRBench", "model_id": f"org/{model}",
                      "score": [1.0, 0.0, 1.0], "cost": [0.01, 0.02, 0.03], "cost_unit": "USD",
                      "status": status}).to_parquet(folder / "ocr.parquet", index=False)
    return root


def test_data_official_version_2_installs_a_local_copy(tmp_path, capsys):
    from mmr_utils.data.v2 import V2_REVISION, load_v2

    source = _v2_release(tmp_path / "release")
    out = tmp_path / "official-v2"
    assert main(["data-official", "--version", "2", "--local-source", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 instances x 2 models" in printed and "missing cells {'beta': 1}" in printed
    assert "audit: 3 rows x 2 models, 1 missing cells in 1 models (lowest coverage beta 66.7%)" in printed
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["revision"] == V2_REVISION and provenance["origin"].startswith("local folder")
    table = load_v2(out, image_root=None)
    np.testing.assert_array_equal(table.correct[:, 1], [1.0, np.nan, 1.0])
    assert main(["audit", str(out)]) == 0  # the audit reads V2 folders too
    assert "1 duplicate-question groups (2 rows)" in capsys.readouterr().out

    assert main(["data-official", "--version", "2", "--local-source", str(tmp_path / "none"),
                 "--out", str(tmp_path / "v2b")]) == 1
    assert "mmr_utils data-official: error:" in capsys.readouterr().err and not (tmp_path / "v2b").exists()
    assert main(["data-official", "--include-images", "--out", str(tmp_path / "v1")]) == 1
    assert "--include-images is for --version 2" in capsys.readouterr().err


def test_make_data_official_passes_the_version():
    from mmr_utils.paths import ROOT

    run = subprocess.run(["make", "-n", "data-official", "VERSION=2"], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "-m mmr_utils data-official --version 2" in run.stdout and "HF_HUB_OFFLINE=0" in run.stdout
    default = subprocess.run(["make", "-n", "data-official"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "data-official --version 1" in default.stdout
