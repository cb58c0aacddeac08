"""One router on one split (fit_predict, score_run) and the run cache, on the shared simulated table."""

import numpy as np
import pytest
from conftest import epochs

from mmr_utils.data.splits import instance_split
from mmr_utils.experiments import runs, training
from mmr_utils.experiments.runs import RunConfig
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
        first = runs.fit_predict(sim_bank, "linear_mf", split, RunConfig(), seed=0)
        second = runs.fit_predict(sim_bank, "linear_mf", split, RunConfig(), seed=0)
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
    runs.fit_predict(sim_bank, "knn", split, RunConfig(), seed=0)
    other_split = instance_split(sim_bank.table, 0.2, seed=1)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "knn", other_split, RunConfig(), seed=0)
        runs.fit_predict(sim_bank, "knn", split, RunConfig(router_params={"knn": {"k": 7}}), seed=0)
        runs.fit_predict(sim_bank, "knn", split, RunConfig(mode="21"), seed=0)
        runs.fit_predict(sim_bank, "knn", split, RunConfig(fusion="concat"), seed=0)
        runs.fit_predict(sim_bank, "knn", split, RunConfig(), seed=0)
    assert (counts["hits"], counts["misses"]) == (1, 4)


def test_the_run_cache_is_off_under_mmr_run_cache_0(sim_bank, tmp_path, monkeypatch):
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")  # MMR_RUN_CACHE=0 comes from conftest
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "knn", split, RunConfig(), seed=0)
        runs.fit_predict(sim_bank, "knn", split, RunConfig(), seed=0)
    assert counts == {"hits": 0, "misses": 0, "enabled": False}
    assert not (tmp_path / "cache" / "runs").exists()


def test_router_needs_come_from_its_class_not_its_name(sim_bank):
    """CMR's needs (concat fusion, text width, both channels) are read from class capabilities."""
    split = instance_split(sim_bank.table, 0.2, seed=0)
    run = runs.fit_predict(sim_bank, "cmr", split, RunConfig(fusion="mean", router_params=epochs(1)), seed=0)
    assert run.info["fusion"] == "concat" and run.info["params"]["text_dim"] == sim_bank.text.dim
    text_only = runs.fit_predict(sim_bank, "cmr", split, RunConfig(mode="11", router_params=epochs(1)), seed=0)
    features = text_only.info["features"]
    assert features["channels"] == ["text", "image"] and features["keep_masked"]
    assert features["channel_info"]["image"]["imputed_test"] == len(split.test)
    oracle = runs.fit_predict(sim_bank, "oracle", split, RunConfig(), seed=0)
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
        runs.fit_predict(broken, "knn", split, RunConfig(), seed=0)


def test_router_params_reach_their_router_only_and_bad_settings_are_named():
    from mmr_utils.routers.base import ROUTERS

    config = RunConfig(router_params={"mlp": {"epochs": 25}, "cmr": {"epochs": 100}})
    assert runs.router_params(ROUTERS["mlp"], config, 3) == {"epochs": 25, "seed": 3}
    assert runs.router_params(ROUTERS["mlp_mf"], config, 0) == {"seed": 0}  # its own default (100 epochs)
    assert runs.router_params(ROUTERS["oracle"], config, 0) == {}  # reads the truth: no seed
    assert RunConfig(seeds=[2, 1]).seeds == (2, 1) and RunConfig(seeds=4).seeds == (4,)
    with pytest.raises(ValueError, match="names 'nope', which is not a router"):
        RunConfig(router_params={"nope": {"epochs": 3}})
    with pytest.raises(ValueError, match=r"router_params\['mlp'\] is 5: expected a mapping"):
        RunConfig(router_params={"mlp": 5})
    with pytest.raises(ValueError, match="train_fraction 1.5"):
        RunConfig(train_fraction=1.5)
    with pytest.raises(ValueError, match="seeds"):
        RunConfig(seeds=[])


@pytest.mark.cache
def test_per_router_epochs_give_the_same_run_as_the_single_number(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with runs.count_run_cache() as counts:
        runs.fit_predict(sim_bank, "mlp", split, RunConfig(router_params=epochs(2)), seed=0)
        runs.fit_predict(sim_bank, "mlp", split, RunConfig(router_params=epochs({"mlp": 2, "cmr": 9})), seed=0)
        runs.fit_predict(sim_bank, "mlp", split, RunConfig(router_params=epochs({"mlp": 3})), seed=0)
    assert (counts["hits"], counts["misses"]) == (1, 2)


# --------------------------------------------------------------------------- batched ensembles
def _run_bytes(run):
    return tuple(getattr(run, name).tobytes() for name in ("U", "P", "test"))


@pytest.mark.parametrize(("cache_on", "workers"), [(False, "1"), (True, "1"), (False, "2")])
def test_prefetched_runs_equal_runs_trained_alone_and_count_once(sim_bank, tmp_path, monkeypatch, cache_on,
                                                                 workers):
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("MMR_RUN_CACHE", "1" if cache_on else "0")
    monkeypatch.setenv(training.WORKERS_ENV, workers)
    requests = [(sim_bank, router, instance_split(sim_bank.table, 0.2, seed=seed),
                 RunConfig(mode=mode, router_params=epochs(2)), seed)
                for router in ("mlp", "mlp_mf", "cmr", "knn") for seed in (0, 1) for mode in ("22", "11")]

    def fit(request):
        return runs.fit_predict(*request[:4], seed=request[4])

    with runs.count_run_cache() as counts:
        trained = training.prefetch_runs(requests + requests[:2])  # a repeated request trains once
        prefetched = [fit(request) for request in requests]
    assert trained == 12  # mlp, mlp_mf and cmr x 2 seeds x 2 modes; knn is not neural
    assert (counts["hits"], counts["misses"]) == ((0, 16) if cache_on else (0, 0))
    monkeypatch.setattr(paths, "CACHE", tmp_path / "fresh")
    monkeypatch.setenv("MMR_RUN_CACHE", "0")
    monkeypatch.setenv(training.WORKERS_ENV, "1")
    for request, run in zip(requests, prefetched):
        alone = fit(request)
        assert _run_bytes(alone) == _run_bytes(run), request[1]
        assert {k: alone.info[k] for k in ("params", "mode", "fusion", "seed")} == {
            k: run.info[k] for k in ("params", "mode", "fusion", "seed")}


def test_ensemble_members_are_bit_identical_to_routers_trained_alone():
    from mmr_utils.routers.base import make_router

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
    jobs = [runs.prepare_run(sim_bank, router, instance_split(sim_bank.table, 0.2, seed=seed),
                          RunConfig(router_params=epochs(2)), seed, count=False)
            for router in ("mlp", "cmr") for seed in (0, 1, 2)]
    units = training._training_units(jobs, workers=2)
    assert sorted(id(job) for unit in units for job in unit) == sorted(id(job) for job in jobs)
    assert sorted(len(unit) for unit in units) == [1, 1, 1, 1, 2]  # mlp's 3 seeds in 2 chunks, cmr's runs alone
    assert all(len({type(job.router) for job in unit}) == 1 for unit in units)
    assert len(training._training_units(jobs, workers=1)) == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", ""])
def test_a_bad_worker_count_is_an_error_that_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(training.WORKERS_ENV, value)
    with pytest.raises(ValueError, match="MMR_TRAIN_WORKERS"):
        training.training_workers()


def test_routers_with_training_randomness_are_not_batched():
    from mmr_utils.routers.base import ROUTERS

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

    monkeypatch.setattr(training, "_train_jobs", no_training)
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_figures_cost.py"
    spec = importlib.util.spec_from_file_location("bench_figures_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.recording() as seen:
        studies.modality_study.__wrapped__(sim_bank, RunConfig(seeds=(0, 1), router_params=epochs(3)),
                                           ("mlp", "cmr", "knn"), modes=("11", "22"), fusions=("mean",))
        studies.modality_study.__wrapped__(sim_bank, RunConfig(seeds=(0,), router_params=epochs(3)), ("mlp",),
                                           modes=("22",), fusions=("mean",))  # the same runs again: no new identity
    expected = {runs.run_identity(sim_bank, router, instance_split(sim_bank.table, 0.2, seed=seed),
                                  RunConfig(mode=mode, router_params=epochs(3)), seed).name
                for router in ("mlp", "cmr") for mode in ("11", "22") for seed in (0, 1)}
    assert set(seen) == expected
    assert {value[2] for value in seen.values()} == {3}


def _reshape_saved_array(run_cache, key: str, *, fix_checksum: bool) -> None:
    """Cut three rows off one array of the only run-cache entry; with ``fix_checksum`` also update the record's
    sha256, as a tool or a person editing the cache would, so that only the run's own shape check can tell."""
    import hashlib
    import io
    import json

    (arrays_path,) = run_cache.glob("*.npz")
    with np.load(arrays_path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays[key] = arrays[key][:-3]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    arrays_path.write_bytes(buffer.getvalue())
    if fix_checksum:
        record_path = arrays_path.with_suffix(".json")
        record = json.loads(record_path.read_text())
        record["arrays_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        record_path.write_text(json.dumps(record))


@pytest.mark.cache
def test_a_damaged_or_reshaped_cached_run_is_a_miss_not_an_error(sim_bank, run_cache):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    first = runs.fit_predict(sim_bank, "linear_mf", split, RunConfig(), seed=0)
    _reshape_saved_array(run_cache, "U", fix_checksum=False)
    with pytest.warns(UserWarning, match=r"\.npz is unreadable .*sha256 differs"), runs.count_run_cache() as counts:
        again = runs.fit_predict(sim_bank, "linear_mf", split, RunConfig(), seed=0)
    assert (counts["hits"], counts["misses"]) == (0, 1)
    assert again.U.tobytes() == first.U.tobytes()
    _reshape_saved_array(run_cache, "P", fix_checksum=True)
    with pytest.warns(UserWarning, match=r"run cache: entry .*\(P has shape"), runs.count_run_cache() as counts:
        third = runs.fit_predict(sim_bank, "linear_mf", split, RunConfig(), seed=0)
    assert counts["misses"] == 1 and third.P.tobytes() == first.P.tobytes()
    assert len(score_run(sim_bank.table, third))


@pytest.mark.cache
def test_cached_runs_are_read_back_without_unpickling(sim_bank, run_cache, monkeypatch):
    import pickle

    split = instance_split(sim_bank.table, 0.2, seed=0)
    first = runs.fit_predict(sim_bank, "mlp", split, RunConfig(router_params=epochs(1)), seed=0)
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("a cached run was unpickled"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a cached run was unpickled"))
    second = runs.fit_predict(sim_bank, "mlp", split, RunConfig(router_params=epochs(1)), seed=0)
    assert second.info == first.info and _run_bytes(second) == _run_bytes(first)
