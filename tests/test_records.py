"""The evaluate record (what `mmr_utils evaluate` writes) and its failure modes, on the shared simulated table."""

import json

import numpy as np
import pytest

from mmr_utils.cli import main as cli_main
from mmr_utils.data.official import load_table
from mmr_utils.experiments import records, studies
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.features import bank as feature_bank
from mmr_utils.provenance import study_provenance


def test_evaluate_record_is_complete_and_consistent(sim_bank, tmp_path):
    bank = sim_bank
    record = records.evaluate(bank, "knn", RunConfig(seeds=(0,)), random_draws=3)
    m = record["metrics"]
    assert 0 <= m["nAUC_shared"] <= m["Ps"] <= record["oracle"]["accuracy"] + 1e-12
    assert record["data"]["simulated"] is True and "minilm" in record["encoder"]
    assert record["data"]["train_rows"] + record["data"]["test_rows"] == bank.table.n
    records.write_result(record, tmp_path / "r.json")
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["metrics"]["Ps"] == pytest.approx(m["Ps"])
    assert records.evaluate(bank, "knn", RunConfig(seeds=(0,)), random_draws=3)["metrics"] == m  # same seed, same result


def test_text_only_table(sim_dir, tmp_path):
    table = load_table(sim_dir, images=None)
    bank = feature_bank.embed_table(table, "offline", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="no images.*only mode 11"):
        records.evaluate(bank, "knn", RunConfig(seeds=(42,), mode="22"))
    assert records.evaluate(bank, "knn", RunConfig(seeds=(42,), mode="11"), random_draws=2)["metrics"]["Ps"] > 0


def test_cli_evaluate_refuses_image_modes_on_text_only(sim_dir, tmp_path, capsys):
    csv_only = tmp_path / "t"
    csv_only.mkdir()
    (csv_only / "MMR-Bench.csv").write_bytes((sim_dir / "MMR-Bench.csv").read_bytes())
    code = cli_main(["evaluate", "--data-root", str(csv_only), "--router", "knn", "--mode", "22", "--quiet"])
    assert code != 0 and "only text mode 11" in capsys.readouterr().err


def test_equal_costs_report_nan_shared_nauc_with_a_note(sim_bank):
    """Item 12: every model with the same cost: nAUC_shared is NaN and the record says why; no abort."""
    bank = sim_bank
    import dataclasses

    flat = np.where(np.isfinite(bank.table.cost), 0.01, np.nan)
    same = dataclasses.replace(bank, table=dataclasses.replace(bank.table, cost=flat))
    record = records.evaluate(same, "knn", RunConfig(seeds=(0,)), random_draws=2)
    assert np.isnan(record["metrics"]["nAUC_shared"]) and np.isfinite(record["metrics"]["nAUC"])
    assert any("every model has the same cost" in note for note in record["notes"])
    assert "note: nAUC_shared is NaN" in records.format_result(record)
    result = studies.main_results(same, RunConfig(seeds=(0,)), ("knn",), random_draws=2)
    assert result.results["nAUC_shared"].isna().all()


def test_one_model_is_a_plain_error(sim_bank):
    """Item 12: a single model cannot be routed: a plain message instead of "shared cost range must have hi > lo"."""
    bank = sim_bank
    import dataclasses

    one = dataclasses.replace(bank, table=bank.table.select_models([bank.table.models[0]]))
    with pytest.raises(ValueError, match="at least two candidate models"):
        records.evaluate(one, "knn", RunConfig(seeds=(0,)), random_draws=2)


def test_missing_images_are_recorded_in_the_result_and_provenance(sim_dir, tmp_path):
    """Item 8: images missing for some rows: a warning with per-dataset counts, and the counts in the result JSON
    and in provenance."""
    import shutil

    copy = tmp_path / "bench"
    shutil.copytree(sim_dir, copy)
    removed = sorted((copy / "images" / "OCRBench").glob("*.png"))[:3]
    for path in removed:
        path.unlink()
    with pytest.warns(UserWarning, match=r"3 of \d+ instances have no image file .*\(OCRBench: 3\)"):
        table = load_table(copy)
    bank = feature_bank.embed_table(table, "offline", cache_dir=tmp_path / "cache")
    record = records.evaluate(bank, "knn", RunConfig(seeds=(0,)), random_draws=2)
    assert record["data"]["missing_images"] == {"OCRBench": 3}
    records.write_result(record, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["data"]["missing_images"] == {"OCRBench": 3}
    assert study_provenance(bank)["data"]["missing_images"] == {"OCRBench": 3}
    assert table.select_datasets("mathv").source["missing_images"] == {}  # a selection keeps its own counts
