"""Splits, studies and the evaluate CLI on a tiny simulated benchmark (offline encoders, cached)."""

import json

import numpy as np
import pytest

from mmr_utils import studies
from mmr_utils.cli import main as cli_main
from mmr_utils.sources.official import load_table
from mmr_utils.sources.simulator import simulate_benchmark
from mmr_utils.splits import cross_dataset_split, instance_split


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    return simulate_benchmark(tmp_path_factory.mktemp("sim") / "bench", scale=0.02, seed=1)


@pytest.fixture(scope="module")
def bank(sim_dir, tmp_path_factory):
    table = load_table(sim_dir)
    return studies.embed_table(table, "offline", cache_dir=tmp_path_factory.mktemp("cache"))


def test_instance_split_is_stratified_seeded_and_disjoint(bank):
    table = bank.table
    a, b = instance_split(table, 0.2, seed=3), instance_split(table, 0.2, seed=3)
    np.testing.assert_array_equal(a.train, b.train)
    assert not set(a.train) & set(a.test) and len(a.train) + len(a.test) == table.n
    assert set(table.instances["dataset"].iloc[a.train]) == set(table.datasets)
    assert not np.array_equal(instance_split(table, 0.2, seed=4).train, a.train)
    with pytest.raises(ValueError, match="strictly between"):
        instance_split(table, 1.0)


def test_official_split_procedure_is_the_official_train_test_split(bank):
    table = bank.table
    split = instance_split(table, 0.2, seed=42, procedure="official")
    # sklearn's ShuffleSplit with train_size=0.2: floor(0.2 n) training rows taken after the n_test first positions
    # of RandomState(42).permutation(n).
    n_train = int(np.floor(0.2 * table.n))
    permutation = np.random.RandomState(42).permutation(table.n)
    np.testing.assert_array_equal(split.test, np.sort(permutation[: table.n - n_train]))
    np.testing.assert_array_equal(split.train, np.sort(permutation[table.n - n_train:]))
    assert split.info["procedure"] == "official" and split.info["stratified"] is False
    assert not np.array_equal(instance_split(table, 0.2, seed=42).train, split.train)
    assert not np.array_equal(instance_split(table, 0.2, seed=41, procedure="official").train, split.train)
    with pytest.raises(ValueError, match="split procedure"):
        instance_split(table, 0.2, procedure="sklearn")


def test_cross_dataset_split_errors_on_empty_or_overlapping_sides(bank):
    split = cross_dataset_split(bank.table, "ocrbench", "SEEDBENCH")
    assert set(bank.table.instances["dataset"].iloc[split.test]) == {"SEEDBench2_Plus"}
    with pytest.raises(ValueError, match="unknown dataset"):
        cross_dataset_split(bank.table, "OCRbench2", "seedbench")
    with pytest.raises(ValueError, match="both sides"):
        cross_dataset_split(bank.table, "ocrbench", "OCRBench")


def test_evaluate_record_is_complete_and_consistent(bank, tmp_path):
    record = studies.evaluate(bank, "knn", seed=0, random_draws=3)
    m = record["metrics"]
    assert 0 <= m["nAUC_shared"] <= m["Ps"] <= record["oracle"]["accuracy"] + 1e-12
    assert record["data"]["simulated"] is True and "minilm" in record["encoder"]
    assert record["data"]["train_rows"] + record["data"]["test_rows"] == bank.table.n
    studies.write_result(record, tmp_path / "r.json")
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["metrics"]["Ps"] == pytest.approx(m["Ps"])
    assert studies.evaluate(bank, "knn", seed=0, random_draws=3)["metrics"] == m  # same seed, same result


def test_main_results_and_tables(bank):
    result = studies.main_results(bank, ("knn", "linear_mf"), seeds=(0, 1), neural_epochs=1, random_draws=2)
    tab = studies.table2(result)
    assert list(tab.index) == ["random", "best_single", "knn", "linear_mf", "oracle"]
    assert "All" in tab.columns and "OCRBench" in tab.columns
    assert (tab.loc["oracle", "All"] >= tab.drop(index="oracle")["All"]).all()
    qnc = studies.qnc_table(result)
    assert set(qnc["router"]) == {"knn", "linear_mf"} and (qnc["seeds"] == 2).all()
    assert result.provenance["data"]["simulated"] is True
    from mmr_utils.paper_tables import cost_claim_check, qnc_per_dataset

    table3 = qnc_per_dataset(result)
    assert list(table3.index) == ["knn", "linear_mf"] and table3.columns[-1] == "All"
    assert set(table3.columns) == set(bank.table.datasets) | {"All"}
    all_rows = result.results[(result.results["dataset"] == "All") & (result.results["router"] == "knn")]
    assert table3.loc["knn", "All"] == pytest.approx(all_rows["QNC"].mean())
    check = cost_claim_check(result)
    assert list(check.index) == list(table3.columns) and (check["claim"] == 0.33).all()


def test_modality_transfer_efficiency_and_audit_run(bank):
    transfer = studies.image_masked_transfer(bank, ("knn",), neural_epochs=1)
    assert set(transfer.results["mode"]) == {"22", "21"}
    table5 = studies.transfer_table(transfer)
    assert list(dict.fromkeys(table5.columns.get_level_values(0))) == ["Ps image masked (21)",
                                                                        "change vs multimodal (21 - 22)"]
    full = transfer.results[(transfer.results["dataset"] == "All")].set_index("mode")["Ps"]
    assert table5.loc["knn", ("change vs multimodal (21 - 22)", "All")] == pytest.approx(full["21"] - full["22"])
    eff = studies.data_efficiency(bank, ("knn",), fractions=(0.1, 0.8), seeds=(0,))
    assert sorted(eff.results["train_fraction"].unique()) == [0.1, 0.8]
    with pytest.raises(ValueError, match="overlaps the held-out test set"):
        studies.data_efficiency(bank, ("knn",), fractions=(0.9,), seeds=(0,))
    audit = studies.metric_audit(bank, ("knn", "linear"), neural_epochs=1)
    assert {"rank_official_protocol", "rank_fixed_protocol"} <= set(audit.results.columns)
    oracles = audit.results[audit.results["router"].str.startswith("oracle")]
    assert oracles["cost"].iloc[1] <= oracles["cost"].iloc[0] + 1e-15  # cheapest-correct never costs more
    # The official emulation's model 0 is the sorted-first name (the official loader sorts), not the first column.
    models = bank.table.models
    assert models[0] == "Qwen2.5-VL-3B-Instruct"
    learned = audit.results[audit.results["router"].isin(["knn", "linear"])]
    assert set(learned["official_first_model"]) == {"Claude3-7V_Sonnet"} == {sorted(models)[0]}
    assert audit.provenance["settings"]["official_model_order"] == sorted(models)


def test_random_reference_is_official_by_default(bank):
    official = studies.main_results(bank, ("knn",), seeds=(0,), random_draws=5)
    sweep = studies.main_results(bank, ("knn",), seeds=(0,), random_draws=5, random_protocol="sweep")
    pick = lambda r: r.results[(r.results["router"] == "random") & (r.results["dataset"] == "All")].iloc[0]
    assert pick(official)["random_protocol"] == "official" and pick(sweep)["random_protocol"] == "sweep"
    # Official Ps is the best of the one-point trials, so it is at least their mean accuracy.
    assert pick(official)["Ps"] >= pick(official)["accuracy"]
    assert pick(official)["Ps"] != pytest.approx(pick(sweep)["Ps"])


def test_text_only_table(sim_dir, tmp_path):
    table = load_table(sim_dir, images=None)
    bank = studies.embed_table(table, "offline", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="no images.*only mode 11"):
        studies.evaluate(bank, "knn", mode="22")
    assert studies.evaluate(bank, "knn", mode="11", random_draws=2)["metrics"]["Ps"] > 0


def test_cli_evaluate_refuses_image_modes_on_text_only(sim_dir, tmp_path, capsys):
    csv_only = tmp_path / "t"
    csv_only.mkdir()
    (csv_only / "MMR-Bench.csv").write_bytes((sim_dir / "MMR-Bench.csv").read_bytes())
    code = cli_main(["evaluate", "--data-root", str(csv_only), "--router", "knn", "--mode", "22", "--quiet"])
    assert code != 0 and "only text mode 11" in capsys.readouterr().err


def test_study_cache_reloads_identical_results_and_says_so(bank, tmp_path, monkeypatch):
    import mmr_utils.paths as paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    first = studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2)
    second = studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2)
    assert first.provenance["result_cache"].startswith("miss") and second.provenance["result_cache"] == "hit"
    assert first.results.equals(second.results)
    other = studies.main_results(bank, ("knn",), seeds=(1,), random_draws=2)
    assert other.provenance["result_cache"].startswith("miss")


def test_main_results_official_per_dataset_protocol_beside_pooled():
    """Table 2's official protocol trains one router per dataset; the pooled variant is kept, labelled."""
    from mmr_utils.sources import load_benchmark
    from mmr_utils.studies import embed_table, main_results, select_protocol, table2

    bank = embed_table(load_benchmark("", scale=0.08, seed=0), "tfidf")
    result = main_results(bank, ["knn", "linear"], seeds=[0], protocols=("per_dataset", "pooled"))
    frame = result.results
    assert set(frame["protocol"].dropna()) == {"per_dataset", "pooled"}
    learned = frame[frame["router"] == "knn"]
    datasets = set(bank.table.datasets)
    for protocol in ("per_dataset", "pooled"):
        rows = learned[learned["protocol"] == protocol]
        assert set(rows["dataset"]) == datasets | {"All", studies.FIG4_GROUP}
    # the All column is the pooled router under both protocols; per-dataset columns come from different fits
    per, pooled = (learned[learned["protocol"] == p].set_index("dataset") for p in ("per_dataset", "pooled"))
    assert per.loc["All", "Ps"] == pooled.loc["All", "Ps"]
    assert any(per.loc[d, "nAUC_shared"] != pooled.loc[d, "nAUC_shared"] for d in datasets)
    official, variant = table2(result, "nAUC_shared"), table2(result, "nAUC_shared", protocol="pooled")
    assert official.loc["knn", "All"] == variant.loc["knn", "All"]
    assert official.loc["knn"].drop("All").tolist() == [per.loc[d, "nAUC_shared"] for d in official.columns[:-1]]
    assert set(select_protocol(frame)["protocol"].dropna()) == {"per_dataset"}
    with pytest.raises(ValueError, match="protocols"):
        main_results(bank, ["knn"], seeds=[0], protocols=("nope",))


def test_model_subset_transfer_routes_among_the_subset_on_unseen_datasets(bank):
    result = studies.model_subset_transfer(bank, ("knn",), seeds=(0, 1), pool_size=4)
    frame = result.results
    assert set(frame["router"]) == {"knn", "best_single"}
    for seed, part in frame.groupby("seed"):
        models = part["models"].iloc[0].split("+")
        assert len(models) == 4 and set(models) <= set(bank.table.models)
        trained, tested = set(part["trained_on"].iloc[0].split("+")), set(part["tested_on"].iloc[0].split("+"))
        assert trained.isdisjoint(tested) and trained | tested == set(bank.table.datasets)
        assert part.loc[part["router"] == "best_single", "model"].iloc[0] in models
    with pytest.raises(ValueError, match="pool_size"):
        studies.model_subset_transfer(bank, ("knn",), seeds=(0,), pool_size=1)


def test_paper_scenario_pairs_follow_the_official_split_out():
    from mmr_utils.sources import load_benchmark

    pairs = studies.paper_scenario_pairs(load_benchmark("", scale=0.03, seed=0))
    assert pairs == [("OCR", "OCRBench", "SEEDBench2_Plus"), ("General VQA", "MMStar", "RealWorldQA"),
                     ("Math", "MathVista", "MathVerse+MathVision")]
# --------------------------------------------------------------------------- hardening (issue #9)
def test_study_cache_round_trip_is_exact_and_never_pickles(bank, tmp_path, monkeypatch):
    """Item 1: saved results are CSV/JSON/.npz, and a reloaded result equals the computed one, types and dtypes."""
    import pickle

    from conftest import assert_same
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    first = studies.main_results(bank, ("knn",), seeds=(0, 1), random_draws=2)
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("a study result was unpickled"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a study result was unpickled"))
    second = studies.main_results(bank, ("knn",), seeds=(0, 1), random_draws=2)
    assert (first.provenance.pop("result_cache"), second.provenance.pop("result_cache")) == ("miss (computed)", "hit")
    assert_same(first.results, second.results)
    assert_same(first.curves, second.curves)
    assert_same(first.provenance, second.provenance)
    files = {p.suffix for p in (tmp_path / "cache" / "studies").rglob("*") if p.is_file()}
    assert files == {".csv", ".json", ".npz"}


def test_study_cache_refuses_a_folder_others_can_write(bank, tmp_path, monkeypatch):
    """Item 1: a cache folder group or others can write to is refused with the fix in the message."""
    import os

    from mmr_utils import paths
    from mmr_utils.store import UnsafeCacheFolderError

    (tmp_path / "cache" / "studies").mkdir(parents=True)
    os.chmod(tmp_path / "cache", 0o777)
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    with pytest.raises(UnsafeCacheFolderError, match="writable by group and others.*chmod go-w"):
        studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2)
    monkeypatch.setenv("MMR_STUDY_CACHE", "0")
    assert len(studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2).results)


def test_a_damaged_saved_result_is_recomputed_and_replaced(bank, tmp_path, monkeypatch):
    """Item 13: a truncated saved result is a miss (warning naming the file), recomputed and replaced."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2)
    (archive,) = (tmp_path / "cache" / "studies").glob("main_results-*/arrays.npz")
    archive.write_bytes(archive.read_bytes()[:100])
    with pytest.warns(UserWarning, match=f"{archive} is unreadable"):
        again = studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2)
    assert again.provenance["result_cache"].startswith("miss")
    assert studies.main_results(bank, ("knn",), seeds=(0,), random_draws=2).provenance["result_cache"] == "hit"


def test_a_model_without_training_cells_is_named(bank):
    """A model with no observed training cell: the error gives its name, not its column index."""
    import dataclasses

    table = bank.table
    split = instance_split(table, 0.2, seed=0)
    correct = table.correct.copy()
    correct[split.train, 2] = np.nan
    broken = dataclasses.replace(bank, table=dataclasses.replace(table, correct=correct))
    with pytest.raises(ValueError, match=rf"models \['{table.models[2]}'\] have no observed cell in the "
                                         rf"{len(split.train)} training rows"):
        studies.fit_predict(broken, "knn", split)


def test_equal_costs_report_nan_shared_nauc_with_a_note(bank):
    """Item 12: every model with the same cost: nAUC_shared is NaN and the record says why; no abort."""
    import dataclasses

    flat = np.where(np.isfinite(bank.table.cost), 0.01, np.nan)
    same = dataclasses.replace(bank, table=dataclasses.replace(bank.table, cost=flat))
    record = studies.evaluate(same, "knn", seed=0, random_draws=2)
    assert np.isnan(record["metrics"]["nAUC_shared"]) and np.isfinite(record["metrics"]["nAUC"])
    assert any("every model has the same cost" in note for note in record["notes"])
    assert "note: nAUC_shared is NaN" in studies.format_result(record)
    result = studies.main_results(same, ("knn",), seeds=(0,), random_draws=2)
    assert result.results["nAUC_shared"].isna().all()


def test_one_model_is_a_plain_error(bank):
    """Item 12: a single model cannot be routed: a plain message instead of "shared cost range must have hi > lo"."""
    import dataclasses

    one = dataclasses.replace(bank, table=bank.table.select_models([bank.table.models[0]]))
    with pytest.raises(ValueError, match="at least two candidate models"):
        studies.evaluate(one, "knn", seed=0, random_draws=2)


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
    bank = studies.embed_table(table, "offline", cache_dir=tmp_path / "cache")
    record = studies.evaluate(bank, "knn", seed=0, random_draws=2)
    assert record["data"]["missing_images"] == {"OCRBench": 3}
    studies.write_result(record, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["data"]["missing_images"] == {"OCRBench": 3}
    assert studies.provenance(bank)["data"]["missing_images"] == {"OCRBench": 3}
    assert table.select_datasets("mathv").source["missing_images"] == {}  # a selection keeps its own counts
