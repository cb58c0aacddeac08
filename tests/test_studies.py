"""Studies (paper Sec. 5), on the shared simulated table (offline encoders)."""

import pytest
from conftest import epochs

from mmr_utils.experiments import studies
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.experiments.scoring import FIG4_GROUP
from mmr_utils.report import paper_tables


def test_main_results_and_tables(sim_bank):
    bank = sim_bank
    result = studies.main_results(bank, RunConfig(seeds=(0, 1), router_params=epochs(1)), ("knn", "linear_mf"), random_draws=2)
    tab = paper_tables.table2(result)
    assert list(tab.index) == ["random", "best_single", "knn", "linear_mf", "oracle"]
    assert "All" in tab.columns and "OCRBench" in tab.columns
    assert (tab.loc["oracle", "All"] >= tab.drop(index="oracle")["All"]).all()
    qnc = paper_tables.qnc_table(result)
    assert set(qnc["router"]) == {"knn", "linear_mf"} and (qnc["seeds"] == 2).all()
    assert result.provenance["data"]["simulated"] is True
    numerics = result.provenance["numerics"]  # what decides the last bits, recorded with every study
    assert numerics["cpu"]["architecture"] and isinstance(numerics["pins"]["active"], bool)
    from mmr_utils.report.paper_tables import cost_claim_check, qnc_per_dataset

    table3 = qnc_per_dataset(result)
    assert list(table3.index) == ["knn", "linear_mf"] and table3.columns[-1] == "All"
    assert set(table3.columns) == set(bank.table.datasets) | {"All"}
    all_rows = result.results[(result.results["dataset"] == "All") & (result.results["router"] == "knn")]
    assert table3.loc["knn", "All"] == pytest.approx(all_rows["QNC"].mean())
    check = cost_claim_check(result)
    assert list(check.index) == list(table3.columns) and (check["claim"] == 0.33).all()


def test_modality_transfer_efficiency_and_audit_run(sim_bank):
    bank = sim_bank
    transfer = studies.image_masked_transfer(bank, RunConfig(router_params=epochs(1)), ("knn",))
    assert set(transfer.results["mode"]) == {"22", "21"}
    table5 = paper_tables.transfer_table(transfer)
    assert list(dict.fromkeys(table5.columns.get_level_values(0))) == ["Ps image masked (21)",
                                                                        "change vs multimodal (21 - 22)"]
    full = transfer.results[(transfer.results["dataset"] == "All")].set_index("mode")["Ps"]
    assert table5.loc["knn", ("change vs multimodal (21 - 22)", "All")] == pytest.approx(full["21"] - full["22"])
    eff = studies.data_efficiency(bank, RunConfig(seeds=(0,)), ("knn",), fractions=(0.1, 0.8))
    assert sorted(eff.results["train_fraction"].unique()) == [0.1, 0.8]
    with pytest.raises(ValueError, match="overlaps the held-out test set"):
        studies.data_efficiency(bank, RunConfig(seeds=(0,)), ("knn",), fractions=(0.9,))
    audit = studies.metric_audit(bank, RunConfig(router_params=epochs(1)), ("knn", "linear"))
    assert {"rank_official_protocol", "rank_fixed_protocol"} <= set(audit.results.columns)
    oracles = audit.results[audit.results["router"].str.startswith("oracle")]
    assert oracles["cost"].iloc[1] <= oracles["cost"].iloc[0] + 1e-15  # cheapest-correct never costs more
    # The official emulation's model 0 is the sorted-first name (the official loader sorts), not the first column.
    models = bank.table.models
    assert models[0] == "Qwen2.5-VL-3B-Instruct"
    learned = audit.results[audit.results["router"].isin(["knn", "linear"])]
    assert set(learned["official_first_model"]) == {"Claude3-7V_Sonnet"} == {sorted(models)[0]}
    assert audit.provenance["settings"]["official_model_order"] == sorted(models)


def test_random_reference_is_official_by_default(sim_bank):
    bank = sim_bank
    official = studies.main_results(bank, RunConfig(seeds=(0,)), ("knn",), random_draws=5)
    sweep = studies.main_results(bank, RunConfig(seeds=(0,)), ("knn",), random_draws=5, random_protocol="sweep")
    pick = lambda r: r.results[(r.results["router"] == "random") & (r.results["dataset"] == "All")].iloc[0]
    assert pick(official)["random_protocol"] == "official" and pick(sweep)["random_protocol"] == "sweep"
    # Official Ps is the best of the one-point trials, so it is at least their mean accuracy.
    assert pick(official)["Ps"] >= pick(official)["accuracy"]
    assert pick(official)["Ps"] != pytest.approx(pick(sweep)["Ps"])


def test_main_results_official_per_dataset_protocol_beside_pooled():
    """Table 2's official protocol trains one router per dataset; the pooled variant is kept, labelled."""
    from mmr_utils.data.loading import load_benchmark
    from mmr_utils.experiments.studies import main_results
    from mmr_utils.features.bank import embed_table
    from mmr_utils.report.paper_tables import select_protocol, table2

    bank = embed_table(load_benchmark("", scale=0.08, seed=0), "tfidf")
    result = main_results(bank, RunConfig(seeds=[0]), ["knn", "linear"], protocols=("per_dataset", "pooled"))
    frame = result.results
    assert set(frame["protocol"].dropna()) == {"per_dataset", "pooled"}
    learned = frame[frame["router"] == "knn"]
    datasets = set(bank.table.datasets)
    for protocol in ("per_dataset", "pooled"):
        rows = learned[learned["protocol"] == protocol]
        assert set(rows["dataset"]) == datasets | {"All", FIG4_GROUP}
    # the All column is the pooled router under both protocols; per-dataset columns come from different fits
    per, pooled = (learned[learned["protocol"] == p].set_index("dataset") for p in ("per_dataset", "pooled"))
    assert per.loc["All", "Ps"] == pooled.loc["All", "Ps"]
    assert any(per.loc[d, "nAUC_shared"] != pooled.loc[d, "nAUC_shared"] for d in datasets)
    official, variant = table2(result, "nAUC_shared"), table2(result, "nAUC_shared", protocol="pooled")
    assert official.loc["knn", "All"] == variant.loc["knn", "All"]
    assert official.loc["knn"].drop("All").tolist() == [per.loc[d, "nAUC_shared"] for d in official.columns[:-1]]
    assert set(select_protocol(frame)["protocol"].dropna()) == {"per_dataset"}
    with pytest.raises(ValueError, match="protocols"):
        main_results(bank, RunConfig(seeds=[0]), ["knn"], protocols=("nope",))


def test_model_subset_transfer_routes_among_the_subset_on_unseen_datasets(sim_bank):
    bank = sim_bank
    result = studies.model_subset_transfer(bank, RunConfig(seeds=(0, 1)), ("knn",), pool_size=4)
    frame = result.results
    assert set(frame["router"]) == {"knn", "best_single"}
    for _seed, part in frame.groupby("seed"):
        models = part["models"].iloc[0].split("+")
        assert len(models) == 4 and set(models) <= set(bank.table.models)
        trained, tested = set(part["trained_on"].iloc[0].split("+")), set(part["tested_on"].iloc[0].split("+"))
        assert trained.isdisjoint(tested) and trained | tested == set(bank.table.datasets)
        assert part.loc[part["router"] == "best_single", "model"].iloc[0] in models
    with pytest.raises(ValueError, match="pool_size"):
        studies.model_subset_transfer(bank, RunConfig(seeds=(0,)), ("knn",), pool_size=1)


def test_paper_scenario_pairs_follow_the_official_split_out():
    from mmr_utils.data.loading import load_benchmark

    pairs = studies.paper_scenario_pairs(load_benchmark("", scale=0.03, seed=0))
    assert pairs == [("OCR", "OCRBench", "SEEDBench2_Plus"), ("General VQA", "MMStar", "RealWorldQA"),
                     ("Math", "MathVista", "MathVerse+MathVision")]


def test_study_provenance_is_built_from_the_bound_arguments(sim_bank):
    result = studies.image_masked_transfer(sim_bank, RunConfig(seeds=(0, 1)), ("knn",))
    assert result.provenance["settings"] == {"study": "image_masked_transfer", "train_fraction": 0.2, "seeds": [0, 1],
                                             "mode": "22", "fusion": "mean", "router_params": {}, "routers": ["knn"]}
    assert result.provenance["run_cache"] == {"hits": 0, "misses": 0, "enabled": False}
    with pytest.raises(TypeError, match="config must be a RunConfig"):
        studies.image_masked_transfer(sim_bank, ("knn",))
    # The shared loop ran each (seed, router, mode) once, in order.
    all_rows = result.results[result.results["dataset"] == "All"]
    assert list(zip(all_rows["seed"], all_rows["mode"])) == [(0, "22"), (0, "21"), (1, "22"), (1, "21")]


@pytest.mark.cache
def test_studies_share_trained_runs_through_the_run_cache(sim_bank, tmp_path, monkeypatch):
    """A second study over the same (router, mode, fusion, seed, split) trains nothing again."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    first = studies.main_results(sim_bank, RunConfig(seeds=(0, 1)), ("knn", "linear"), random_draws=2)
    audit = studies.metric_audit(sim_bank, RunConfig(seeds=(0, 1)), ("knn", "linear"))
    assert first.provenance["run_cache"] == {"hits": 0, "misses": 4, "enabled": True}
    assert audit.provenance["run_cache"] == {"hits": 4, "misses": 0, "enabled": True}
    again = studies.main_results(sim_bank, RunConfig(seeds=(0, 1)), ("knn", "linear"), random_draws=2)
    assert again.results.equals(first.results)
