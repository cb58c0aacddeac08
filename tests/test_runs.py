"""One router on one split (fit_predict, score_run) and the run cache, on the shared simulated table."""

import numpy as np
import pytest

from mmr_utils.data.splits import instance_split
from mmr_utils.experiments import runs
from mmr_utils.experiments.scoring import score_run


@pytest.fixture
def run_cache(tmp_path, monkeypatch):
    """The run cache on, in an empty folder of its own; returns that folder."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    return tmp_path / "cache" / "runs"


@pytest.mark.cache
def test_a_second_identical_run_is_a_bit_identical_hit(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with runs.count_run_cache() as counts:
        first = runs.fit_predict(sim_bank, "linear_mf", split, seed=0)
        second = runs.fit_predict(sim_bank, "linear_mf", split, seed=0)
    assert (counts["hits"], counts["misses"], counts["enabled"]) == (1, 1, True)
    for name in ("U", "P", "test"):
        a, b = getattr(first, name), getattr(second, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert second.info["params"] == first.info["params"] and second.info["fusion"] == first.info["fusion"]
    files = {p.suffix for p in run_cache.rglob("*") if p.is_file()}
    assert files == {".json", ".npz"}  # data only, never a pickle


@pytest.mark.cache
def test_a_different_split_param_seed_or_mode_is_a_miss(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    runs.fit_predict(sim_bank, "knn", split, seed=0)
    other_split = instance_split(sim_bank.table, 0.2, seed=1)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "knn", other_split, seed=0)
        runs.fit_predict(sim_bank, "knn", split, seed=0, router_params={"knn": {"k": 7}})
        runs.fit_predict(sim_bank, "knn", split, seed=0, mode="21")
        runs.fit_predict(sim_bank, "knn", split, seed=0, fusion="concat")
        runs.fit_predict(sim_bank, "knn", split, seed=0)
    assert (counts["hits"], counts["misses"]) == (1, 4)


def test_the_run_cache_is_off_under_mmr_study_cache_0(sim_bank, tmp_path, monkeypatch):
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")  # MMR_STUDY_CACHE=0 comes from conftest
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "knn", split)
        runs.fit_predict(sim_bank, "knn", split)
    assert counts == {"hits": 0, "misses": 0, "enabled": False}
    assert not (tmp_path / "cache" / "runs").exists()


def test_router_needs_come_from_its_class_not_its_name(sim_bank):
    """CMR's needs (concat fusion, text width, both channels) are read from class capabilities."""
    split = instance_split(sim_bank.table, 0.2, seed=0)
    run = runs.fit_predict(sim_bank, "cmr", split, fusion="mean", neural_epochs=1)
    assert run.info["fusion"] == "concat" and run.info["params"]["text_dim"] == sim_bank.text.dim
    text_only = runs.fit_predict(sim_bank, "cmr", split, mode="11", neural_epochs=1)
    features = text_only.info["features"]
    assert features["channels"] == ["text", "image"] and features["keep_masked"]
    assert features["channel_info"]["image"]["imputed_test"] == len(split.test)
    oracle = runs.fit_predict(sim_bank, "oracle", split)
    assert "seed" not in oracle.info["params"] or oracle.info["params"]["seed"] == 0
    np.testing.assert_array_equal(np.nan_to_num(oracle.U, nan=-1),
                                  np.where(np.isfinite(sim_bank.table.correct[split.test]),
                                           sim_bank.table.correct[split.test], -1.0))
    assert runs.NEURAL_ROUTERS == ("mlp", "mlp_mf", "cmr")


def test_a_model_without_training_cells_is_named(sim_bank):
    """A model with no observed training cell: the error gives its name, not its column index."""
    bank = sim_bank
    import dataclasses

    table = bank.table
    split = instance_split(table, 0.2, seed=0)
    correct = table.correct.copy()
    correct[split.train, 2] = np.nan
    broken = dataclasses.replace(bank, table=dataclasses.replace(table, correct=correct))
    with pytest.raises(ValueError, match=rf"models \['{table.models[2]}'\] have no observed cell in the "
                                         rf"{len(split.train)} training rows"):
        runs.fit_predict(broken, "knn", split)


def test_per_router_epochs_reach_each_neural_router_only():
    from mmr_utils.routers import ROUTERS

    epochs = {"mlp": 25, "cmr": 100}
    assert runs._router_params(ROUTERS["mlp"], None, epochs, 0)["epochs"] == 25
    assert runs._router_params(ROUTERS["cmr"], None, epochs, 0)["epochs"] == 100
    assert "epochs" not in runs._router_params(ROUTERS["mlp_mf"], None, epochs, 0)  # its own default (100)
    assert "epochs" not in runs._router_params(ROUTERS["knn"], None, epochs, 0)
    assert runs._router_params(ROUTERS["mlp_mf"], None, 7, 0)["epochs"] == 7  # one number: every neural router
    with pytest.raises(ValueError, match="'knn', which is not a neural router"):
        runs._router_params(ROUTERS["mlp"], None, {"knn": 5}, 0)


@pytest.mark.cache
def test_per_router_epochs_give_the_same_run_as_the_single_number(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "mlp", split, seed=0, neural_epochs=2)
        runs.fit_predict(sim_bank, "mlp", split, seed=0, neural_epochs={"mlp": 2, "cmr": 9})
        runs.fit_predict(sim_bank, "mlp", split, seed=0, neural_epochs={"mlp": 3})
    assert (counts["hits"], counts["misses"]) == (1, 2)


# --------------------------------------------------------------------------- batched ensembles
def _run_bytes(run):
    return tuple(getattr(run, name).tobytes() for name in ("U", "P", "test"))


@pytest.mark.parametrize(("cache_on", "workers"), [(False, "1"), (True, "1"), (False, "2")])
def test_prefetched_runs_equal_runs_trained_alone_and_count_once(sim_bank, tmp_path, monkeypatch, cache_on,
                                                                 workers):
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("MMR_STUDY_CACHE", "1" if cache_on else "0")
    monkeypatch.setenv(runs.WORKERS_ENV, workers)
    requests = [{"bank": sim_bank, "router": router, "split": instance_split(sim_bank.table, 0.2, seed=seed),
                 "seed": seed, "mode": mode, "neural_epochs": 2}
                for router in ("mlp", "mlp_mf", "cmr", "knn") for seed in (0, 1) for mode in ("22", "11")]
    with runs.count_run_cache() as counts:
        trained = runs.prefetch_runs(requests + requests[:2])  # a repeated request trains once
        prefetched = [runs.fit_predict(**request) for request in requests]
    assert trained == 12  # mlp, mlp_mf and cmr x 2 seeds x 2 modes; knn is not neural
    assert (counts["hits"], counts["misses"]) == ((0, 16) if cache_on else (0, 0))
    monkeypatch.setattr(paths, "CACHE", tmp_path / "fresh")
    monkeypatch.setenv("MMR_STUDY_CACHE", "0")
    monkeypatch.setenv(runs.WORKERS_ENV, "1")
    for request, run in zip(requests, prefetched):
        alone = runs.fit_predict(**request)
        assert _run_bytes(alone) == _run_bytes(run), request["router"]
        assert {k: alone.info[k] for k in ("params", "mode", "fusion", "seed")} == {
            k: run.info[k] for k in ("params", "mode", "fusion", "seed")}


def test_ensemble_members_are_bit_identical_to_routers_trained_alone():
    from mmr_utils.routers import make_router

    def data(seed, n=90, d=12, K=4):
        rng = np.random.default_rng(seed)
        return (rng.normal(size=(n, d)), (rng.random((n, K)) < 0.5).astype(float), rng.random((n, K)) * 0.01,
                rng.random((n, K)) > 0.2)

    probe = np.random.default_rng(9).normal(size=(20, 12))
    for name in ("mlp", "mlp_mf"):
        alone = [make_router(name, epochs=2, batch_size=16, seed=s).fit(*data(s)) for s in (1, 2, 3)]
        group = [make_router(name, epochs=2, batch_size=16, seed=s) for s in (1, 2, 3)]
        type(group[0]).fit_many(group, [data(s) for s in (1, 2, 3)])
        for a, g in zip(alone, group):
            assert a.loss_history_ == g.loss_history_
            for x, y in zip(a.predict(probe), g.predict(probe)):
                assert x.tobytes() == y.tobytes()
        # members that differ in more than the seed train apart, with the same results as alone
        mixed = [make_router(name, epochs=2, batch_size=16, seed=1), make_router(name, epochs=1, batch_size=16, seed=2)]
        type(mixed[0]).fit_many(mixed, [data(1), data(2)])
        assert mixed[0].predict(probe)[0].tobytes() == alone[0].predict(probe)[0].tobytes()
        assert len(mixed[1].loss_history_) == 1


def test_training_units_split_each_ensemble_across_workers_and_keep_every_job(sim_bank):
    jobs = [runs._prepare(sim_bank, router, instance_split(sim_bank.table, 0.2, seed=seed), seed=seed,
                          neural_epochs=2, count=False)
            for router in ("mlp", "cmr") for seed in (0, 1, 2)]
    units = runs._training_units(jobs, workers=2)
    assert sorted(id(job) for unit in units for job in unit) == sorted(id(job) for job in jobs)
    assert sorted(len(unit) for unit in units) == [1, 1, 1, 1, 2]  # mlp's 3 seeds in 2 chunks, cmr's runs alone
    assert all(len({type(job.router) for job in unit}) == 1 for unit in units)
    assert len(runs._training_units(jobs, workers=1)) == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", ""])
def test_a_bad_worker_count_is_an_error_that_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(runs.WORKERS_ENV, value)
    with pytest.raises(ValueError, match="MMR_TRAIN_WORKERS"):
        runs.training_workers()


def test_routers_with_training_randomness_are_not_batched():
    from mmr_utils.routers import ROUTERS

    assert ROUTERS["mlp"].batchable and ROUTERS["mlp_mf"].batchable
    assert not ROUTERS["cmr"].batchable  # dropout
    assert not any(cls.batchable for name, cls in ROUTERS.items() if not cls.neural)


def test_the_training_cost_benchmark_records_with_fit_predicts_signature():
    """benchmarks/bench_figures_cost.py swaps the studies' fit_predict for a recorder; the studies call it by keyword, so
    a recorder whose parameters drift from fit_predict's breaks `make bench` (it once did, on `bank`)."""
    import importlib.util
    import inspect
    from pathlib import Path

    from mmr_utils.experiments import runs, studies

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_figures_cost.py"
    spec = importlib.util.spec_from_file_location("bench_figures_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original = studies.fit_predict
    with module.recording():
        recorder = studies.fit_predict
        assert recorder is not original
        assert list(inspect.signature(recorder).parameters) == list(inspect.signature(runs.fit_predict).parameters)
    assert studies.fit_predict is original


def test_the_training_cost_benchmark_trains_nothing_and_counts_each_run_once(sim_bank, monkeypatch):
    """The recorder must also keep prefetch_runs from training ahead of it (it once trained every MLP run), and the
    identities it records are the run cache's own."""
    import importlib.util
    from pathlib import Path

    from mmr_utils.experiments import studies

    def no_training(*args, **kwargs):
        raise AssertionError("the cost benchmark trained a router")

    monkeypatch.setattr(runs, "_train_jobs", no_training)
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_figures_cost.py"
    spec = importlib.util.spec_from_file_location("bench_figures_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.recording() as seen:
        studies.modality_study.__wrapped__(sim_bank, ("mlp", "cmr", "knn"), modes=("11", "22"), fusions=("mean",),
                                           seeds=(0, 1), neural_epochs=3)
        studies.modality_study.__wrapped__(sim_bank, ("mlp",), modes=("22",), fusions=("mean",), seeds=(0,),
                                           neural_epochs=3)  # the same runs again: no new identity
    expected = {runs.run_identity(sim_bank, router, instance_split(sim_bank.table, 0.2, seed=seed), mode=mode,
                                  seed=seed, neural_epochs=3).name
                for router in ("mlp", "cmr") for mode in ("11", "22") for seed in (0, 1)}
    assert set(seen) == expected
    assert {value[2] for value in seen.values()} == {3}


def _reshape_saved_array(entry, key: str) -> None:
    """Change one array of a run-cache entry (its shape) and recompute the checksums, as a tool or a person editing
    the cache would: only the values' own record can tell."""
    import hashlib
    import io
    import json

    manifest_path = entry / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    name = manifest["value"][key]["array"]
    with np.load(entry / "arrays.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays[name] = arrays[name][:-3]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (entry / "arrays.npz").write_bytes(buffer.getvalue())
    manifest["files"]["arrays.npz"] = {"sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                       "bytes": len(buffer.getvalue())}
    manifest_path.write_text(json.dumps(manifest))
    return manifest_path, manifest


@pytest.mark.cache
def test_a_cached_run_whose_array_shape_changed_is_a_miss_not_an_error(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    first = runs.fit_predict(sim_bank, "linear_mf", split, seed=0)
    (entry,) = [p for p in run_cache.iterdir() if p.is_dir()]
    _reshape_saved_array(entry, "U")
    with pytest.warns(UserWarning, match=r"shape .* the manifest records"), runs.count_run_cache() as counts:
        again = runs.fit_predict(sim_bank, "linear_mf", split, seed=0)
    assert (counts["hits"], counts["misses"]) == (0, 1)
    assert again.U.tobytes() == first.U.tobytes()
    # Even with the manifest's record edited to match, the run's own shape check makes it a miss.
    manifest_path, manifest = _reshape_saved_array(entry, "P")
    manifest["value"]["P"]["shape"][0] -= 3
    import json

    manifest_path.write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match=r"run cache: entry .*\(P has shape"), runs.count_run_cache() as counts:
        third = runs.fit_predict(sim_bank, "linear_mf", split, seed=0)
    assert counts["misses"] == 1 and third.P.tobytes() == first.P.tobytes()
    scored = score_run(sim_bank.table, third)
    assert len(scored)
