"""RoutingPipeline end to end on the shared simulated table: train, route, save, load, route identically."""

import json

import numpy as np
import pytest
from conftest import epochs

from mmr_utils.data.splits import instance_split
from mmr_utils.experiments.runs import RunConfig, fit_predict
from mmr_utils.features.bank import embed_table
from mmr_utils.metrics.decision import choose_models
from mmr_utils.pipeline import RoutingPipeline


def _queries(table, rows):
    instances = table.instances
    return [instances["question"].iloc[i] for i in rows], [instances["image_path"].iloc[i] for i in rows]


@pytest.mark.parametrize("encoder,router", [("offline", "knn"), ("offline", "cmr"), ("tfidf", "linear_mf")])
def test_pipeline_routes_as_the_study_run_and_survives_save_load(sim_bank, sim_table, encoder, router, tmp_path):
    bank = sim_bank if encoder == "offline" else embed_table(sim_table, "tfidf")
    split = instance_split(bank.table, 0.2, seed=0)
    pipeline = RoutingPipeline.train(bank, router, split, RunConfig(router_params=epochs(1)), seed=0)
    rows = split.test[:20]
    questions, images = _queries(bank.table, rows)
    chosen = pipeline.route_many(questions, images)
    # Re-encoding the raw question and image gives the study's predictions, hence its decisions.
    run = fit_predict(bank, router, split, RunConfig(router_params=epochs(1)), seed=0)
    expected = [bank.table.models[k] for k in choose_models(run.U[:20], run.P[:20], budget=np.inf)]
    assert chosen == expected
    folder = pipeline.save(tmp_path / "pipeline")
    assert sorted(p.name for p in folder.iterdir()) == ["fuser.npz", "pipeline.json", "router.npz"]
    assert json.loads((folder / "pipeline.json").read_text())["info"]["router"] == router
    loaded = RoutingPipeline.load(folder)
    assert loaded.route_many(questions, images) == chosen
    new_question = "Which of the two graphs shows the faster growth after 2010?"
    assert loaded.route(new_question) == pipeline.route(new_question) in bank.table.models
    _, P = loaded.router.predict(loaded.features([new_question], [None]))
    # Nothing is affordable at a zero budget: the threshold rule falls back to the cheapest predicted model.
    assert loaded.route(new_question, budget=0.0) == bank.table.models[int(np.argmin(P[0]))]


def test_pipeline_refuses_what_cannot_route(sim_bank, tmp_path):
    split = instance_split(sim_bank.table, 0.2, seed=0)
    with pytest.raises(ValueError, match="cannot route new queries"):
        RoutingPipeline.train(sim_bank, "oracle", split, RunConfig(), seed=0)
    pipeline = RoutingPipeline.train(sim_bank, "knn", split, RunConfig(), seed=0)
    with pytest.raises(ValueError, match="query 0: the question must be a non-empty string"):
        pipeline.route("  ")
    with pytest.raises(ValueError, match="2 questions but 1 image paths"):
        pipeline.route_many(["a", "b"], [None])
    folder = pipeline.save(tmp_path / "p")
    record = json.loads((folder / "pipeline.json").read_text())
    record["encoders"]["image"]["revision"] = "v0-other"
    (folder / "pipeline.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="image encoder .* is at revision .* trained on v0-other"):
        RoutingPipeline.load(folder)
    with pytest.raises(FileNotFoundError, match="not a folder written by RoutingPipeline.save"):
        RoutingPipeline.load(tmp_path / "nothing")
