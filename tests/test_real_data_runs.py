"""Runs on other data (``make figures DATA=...``): the applicability rules, the output-folder guard, and two small
end-to-end runs: an archive shaped like the official release (all ten models, gpt-5-nano's missing cells, images)
installed as ``make data-official`` would, and the shipped MATH-V sample. Both run at the notebooks' small defaults,
write only to temporary folders, and leave the committed ``figures/`` untouched. To stay within a few minutes on two
cores they execute the chapters that carry the real-data logic (the data tour, main results with the paper
comparisons, the MATH-V chapter); every other chapter's rule is still decided and recorded."""

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmr_utils import paths
from mmr_utils.cli import CLIError
from mmr_utils.report.outputs import output_folder, save_table
from tools.notebooks import (
    DataTarget,
    data_parameters,
    resolve_data,
    skip_reason,
    table_facts,
)

NANO = "gpt-5-nano-2025-08-07"


def make_official_archive(sim_dir: Path, hub: Path, *, missing_every: int = 7) -> Path:
    """Lay a simulated table out like the official hub repository: ``MMR-Bench.csv`` (the official columns only, no
    ``provenance.json`` marking it simulated; every ``missing_every``-th gpt-5-nano cell empty) and ``images.tar.gz``
    (``images/<dataset folder>/<n>.png``)."""
    frame = pd.read_csv(sim_dir / "MMR-Bench.csv", dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["category"])
    nano_columns = [c for c in frame.columns if c.startswith(f"{NANO}_")]
    frame.loc[frame.index[::missing_every], nano_columns] = ""
    hub.mkdir(parents=True, exist_ok=True)
    frame.to_csv(hub / "MMR-Bench.csv", index=False)
    with tarfile.open(hub / "images.tar.gz", "w:gz") as tar:
        tar.add(sim_dir / "images", arcname="images")
    return hub


def figures_snapshot() -> dict[str, int]:
    return {str(p.relative_to(paths.FIGURES)): p.stat().st_mtime_ns for p in paths.FIGURES.rglob("*")}


def run_figures(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``python -m tools figures ARGS --small`` into ``tmp_path/out`` and ``tmp_path/build``, with its own data
    folder and caches."""
    env = {**os.environ, "MMR_CACHE_DIR": str(tmp_path / "cache"), "MMR_DATA_DIR": str(tmp_path / "data"),
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "MMR_TRAIN_WORKERS": "1", "PYTHONPATH": str(paths.ROOT)}
    env.pop(paths.FIGURES_ENV, None)
    (tmp_path / "cache").mkdir(mode=0o700, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "tools", "figures", *args, "--small",
                           "--out", str(tmp_path / "out"), "--build", str(tmp_path / "build")],
                          cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=1500)


# ------------------------------------------------------------------------------------------------ the rules
def _target(table, *, mathv=None):
    return DataTarget("x", Path("/nowhere"), mathv, table_facts(table, mathv=mathv is not None))


def test_a_table_without_images_skips_the_image_notebooks_and_runs_mode_11(sim_table):
    text_only = replace(sim_table, instances=sim_table.instances.assign(image_path=None))
    target = _target(text_only)
    declared = {"data_root", "out_dir", "mode", "seeds"}
    for stem in ("04_modality_fusion", "05_generalisation", "06_metric_audit"):
        assert "needs images" in skip_reason(stem, declared, target)
    assert skip_reason("03_main_results", declared, target) is None
    params = data_parameters(declared, target, Path("figures-x"), {"mode": "22", "seeds": [0, 1]})
    assert params["mode"] == "11" and params["seeds"] == [0, 1] and params["out_dir"] == "figures-x"
    with_images = _target(sim_table)
    assert data_parameters(declared, with_images, Path("o"), {"mode": "22"})["mode"] == "22"


def test_mathv_chapters_run_only_on_mathv_and_one_dataset_skips_cross_dataset(sim_table):
    mathv_only = {"mathv", "seeds", "out_dir"}
    target = _target(sim_table)
    assert "DATA=mathv" in skip_reason("07_real_data_mathv", mathv_only, target)
    assert "no data_root" in skip_reason("08_other", {"seed"}, target)
    one_dataset = sim_table.select_datasets(["MathVision"])
    mathv = _target(one_dataset, mathv="sample")
    assert skip_reason("07_real_data_mathv", mathv_only, mathv) is None
    assert data_parameters(mathv_only, mathv, Path("o"))["mathv"] == "sample"
    reason = skip_reason("05_generalisation", {"data_root"}, mathv)
    assert "two datasets in one scenario" in reason and "MathVision" in reason
    assert "has one dataset (MathVision)" in skip_reason("02_multimodal_embedding", {"data_root"}, mathv)
    assert "dataset by dataset" in skip_reason("04_modality_fusion", {"data_root"}, mathv)
    assert skip_reason("02_multimodal_embedding", {"data_root"}, target) is None
    assert skip_reason("05_generalisation", {"data_root"}, target) is None


def test_unknown_or_absent_data_is_a_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(CLIError, match="no such table"):
        resolve_data(str(tmp_path / "absent"))
    monkeypatch.setattr(paths, "OFFICIAL", tmp_path / "official")
    with pytest.raises(CLIError, match="make data-official"):
        resolve_data("official")
    with pytest.raises(CLIError, match="DATA is empty"):
        resolve_data(" ")


# ------------------------------------------------------------------------------------------ the output guard
def test_a_run_on_other_data_may_not_write_into_the_committed_figures(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": [1.0]})
    provenance = {"data": {"path": "x"}, "encoder": "none"}
    monkeypatch.setenv(paths.FIGURES_ENV, str(tmp_path / "figures-x"))
    assert paths.figures_dir() == tmp_path / "figures-x"
    with pytest.raises(ValueError, match="refusing to write into the committed figures/"):
        save_table(frame, "t", provenance, out_dir=paths.FIGURES)
    written = save_table(frame, "t", provenance)  # no folder named: the run's own
    assert [p.parent for p in written] == [tmp_path / "figures-x"] * 2
    monkeypatch.setenv(paths.FIGURES_ENV, "figures-y")
    assert paths.figures_dir() == paths.ROOT / "figures-y"
    monkeypatch.delenv(paths.FIGURES_ENV)
    assert output_folder(None, "t") == paths.FIGURES


# ------------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def official_release(tmp_path_factory):
    """An official-release-shaped archive (simulated content, scale 0.03 like the notebooks' small defaults),
    installed by the same code as ``make data-official``."""
    from mmr_utils.data.hub import download_official
    from mmr_utils.data.simulator.benchmark import simulate_benchmark

    work = tmp_path_factory.mktemp("release")
    sim = simulate_benchmark(work / "sim", scale=0.03, seed=0)
    hub = make_official_archive(sim, work / "hub")
    return download_official(work / "official", local_source=hub)


def test_the_archive_looks_like_the_official_release(official_release):
    from mmr_utils.data.loading import load_benchmark
    from mmr_utils.data.paper import PAPER_MODELS
    from mmr_utils.report.paper_tables import paper_comparable

    table = load_benchmark(str(official_release))
    assert set(table.models) == set(PAPER_MODELS) and not table.source["simulated"]
    missing = table.missing_per_model()
    assert missing[NANO] > 0 and sum(missing.values()) == missing[NANO]
    assert table.has_images.all() and paper_comparable(table) is None


def test_make_figures_on_an_official_shaped_release(official_release, tmp_path):
    before = figures_snapshot()
    done = run_figures(["--data", str(official_release), "--only", "01", "03"], tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert figures_snapshot() == before, "the committed figures/ changed"
    assert not (paths.ROOT / f"figures-{official_release.name}").exists()
    out = tmp_path / "out"
    summary = json.loads((out / "notebooks.json").read_text())
    status = {r["notebook"]: r["status"] for r in summary["notebooks"]}
    assert status == {"01_data_tour": "ran", "02_multimodal_embedding": "not selected", "03_main_results": "ran",
                      "04_modality_fusion": "not selected", "05_generalisation": "not selected",
                      "06_metric_audit": "not selected", "07_real_data_mathv": "skipped",
                      "09_beyond_the_paper": "skipped", "10_pool_shift_and_pricing": "skipped"}
    assert "DATA=mathv" in (out / "notebooks.md").read_text()
    for stem in (s for s, v in status.items() if v == "ran"):
        assert (tmp_path / "build" / f"{stem}.ipynb").is_file() and (out / "runs" / f"{stem}.json").is_file()
    table2 = pd.read_csv(out / "tab_paper_vs_here.csv")
    assert len(table2) == 7 * 8 * 2 and table2["known_differences"].str.contains("seed").all()
    ps = table2[(table2["metric"] == "Ps") & table2["here"].notna()]
    np.testing.assert_allclose(ps["difference"], ps["here"] - ps["paper"])
    fig4 = pd.read_csv(out / "tab_paper_vs_here_fig4_models.csv", index_col=0)
    assert set(fig4.index) == set(summary["facts"]["models"]) and fig4["here_accuracy"].notna().all()
    assert (out / "tab_paper_vs_here_qnc.csv").is_file() and (out / "tab_paper_vs_here_fig4_routers.csv").is_file()
    provenance = json.loads((out / "tab_paper_vs_here.provenance.json").read_text())
    assert provenance["data"]["simulated"] is False and provenance["data"]["models"]


def test_make_figures_on_the_mathv_sample(tmp_path):
    before = figures_snapshot()
    done = run_figures(["--data", "mathv", "--mathv", "sample", "--only", "03", "07"], tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert figures_snapshot() == before, "the committed figures/ changed"
    out = tmp_path / "out"
    summary = json.loads((out / "notebooks.json").read_text())
    status = {r["notebook"]: (r["status"], r.get("reason", "")) for r in summary["notebooks"]}
    assert status["05_generalisation"][0] == "skipped" and "MathVision" in status["05_generalisation"][1]
    assert status["02_multimodal_embedding"][0] == status["04_modality_fusion"][0] == "skipped"
    assert {s for s, (v, _) in status.items() if v == "ran"} == {"03_main_results", "07_real_data_mathv"}
    assert {s for s, (v, _) in status.items() if v == "not selected"} == {
        "01_data_tour", "06_metric_audit", "09_beyond_the_paper", "10_pool_shift_and_pricing"}
    assert (out / "tab_mathv_models.csv").is_file() and (out / "tab_main_results_ps.csv").is_file()
    assert not (out / "tab_paper_vs_here.csv").exists()  # not the paper's models: no comparison
    assert "not the paper's ten-model pool" in (tmp_path / "build" / "03_main_results.ipynb").read_text()


def test_a_v2_folder_resolves_with_its_own_name_and_is_not_set_beside_the_paper(tmp_path):
    from test_v2 import v2_root as make_v2  # the V2 layout fixture: three models, two scenarios, no paper pool

    root = make_v2.__wrapped__(tmp_path)  # the fixture's own function, called with a folder
    target = resolve_data(str(root))
    assert target.name == "MMR-Bench-V2" and target.data_root == root.resolve() and target.mathv is None
    assert "not the paper's ten-model pool" in target.facts.paper_reason
    assert set(target.facts.models) == {"alpha", "beta", "gamma"}
    assert paths.data_figures_dir(target.name) == paths.ROOT / "figures-MMR-Bench-V2"
