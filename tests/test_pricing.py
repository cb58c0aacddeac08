"""Cost honesty: image-token rules against hand-computed values, re-pricing by the formula,
Kendall's tau between rankings, and the cost-definition study on the simulated table renamed to MATH-V models."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data.mathv import PRICE_PER_MILLION, load_mathv
from mmr_utils.experiments.beyond import pricing
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.features.bank import FeatureBank


@pytest.mark.parametrize("size, tokens", [
    ((1024, 1024), 765),   # -> 768 x 768: 2 x 2 tiles
    ((2048, 4096), 1105),  # -> 1024 x 2048 -> 768 x 1536: 2 x 3 tiles
    ((224, 224), 255),     # small images are not enlarged: one tile
    ((513, 512), 425),     # one pixel over a tile edge: 2 tiles
])
def test_openai_tile_rule(size, tokens):
    assert pricing.openai_tile_tokens(*size) == tokens


@pytest.mark.parametrize("size, tokens", [
    ((224, 224), 66),      # 8 x 8 patches + 2
    ((1000, 1000), 1227),  # 36 x 36 > 1280 patches: rescaled to 35 x 35
    ((10, 10), 6),         # below 4 patches: enlarged to 2 x 2
    ((2800, 28), 102),     # 100 x 1 patches
])
def test_qwen_patch_rule(size, tokens):
    assert pricing.qwen_patch_tokens(*size) == tokens


def test_fixed_rules_and_bad_sizes():
    rules = pricing.IMAGE_TOKEN_RULES
    assert rules["gemini_fixed"].tokens(50, 4000) == 258 and rules["clip336"].tokens(1, 1) == 576
    assert rules["none"].tokens(800, 600) == 0
    for bad in ((0, 10), (10.5, 10), (-3, 4)):
        with pytest.raises(ValueError, match="positive integers"):
            pricing.openai_tile_tokens(*bad)
    assert set(pricing.MODEL_IMAGE_RULE.values()) <= set(rules)
    assert set(pricing.MODEL_IMAGE_RULE) == set(PRICE_PER_MILLION)


def test_image_tokens_flat_and_per_model():
    models = ["GPT4-CoT (Text Only)", "Qwen-VL-Max", "Gemini-Pro"]
    sizes = np.array([[224, 224], [0, 0], [1000, 1000]])
    per_model = pricing.image_tokens(models, sizes, "per_model")
    np.testing.assert_array_equal(per_model, [[0, 66, 258], [0, 0, 0], [0, 1227, 258]])
    flat = pricing.image_tokens(models, sizes, "flat")
    np.testing.assert_array_equal(flat, [[0, 576, 576], [0, 0, 0], [0, 576, 576]])
    with pytest.raises(ValueError, match="no image-token rule"):
        pricing.image_tokens(["mystery"], sizes, "flat")


@pytest.fixture(scope="module")
def mathv():
    return load_mathv("sample")


def test_reprice_follows_the_formula_and_keeps_correctness(mathv):
    table = mathv
    output = pricing.reprice(table, pricing.COST_DEFINITIONS["output@2024"])
    np.testing.assert_allclose(output.cost, table.cost, rtol=1e-12)  # the converter's own cost model
    q = np.arange(table.n, dtype=float) + 5
    sizes = pricing.image_sizes(table)
    assert (sizes > 0).all()  # every MATH-V item has an image
    definition = pricing.COST_DEFINITIONS["in+out, image by resolution@2025"]
    priced = pricing.reprice(table, definition, question_tokens=q, sizes=sizes)
    np.testing.assert_array_equal(priced.correct, table.correct)
    assert priced.source["cost_definition"]["name"] == definition.name
    snap = pricing.PRICE_SNAPSHOTS["2025-06"]
    for model in ("GPT4-CoT (Text Only)", "Qwen-VL-Max", "LLaVA-v1.5-7B"):
        k = table.models.index(model)
        i, o = snap.prices[model]
        image = {"GPT4-CoT (Text Only)": np.zeros(table.n), "LLaVA-v1.5-7B": np.full(table.n, 576.0),
                 "Qwen-VL-Max": np.array([pricing.qwen_patch_tokens(int(w), int(h)) for w, h in sizes])}[model]
        expected = ((q + image) * i + table.tokens[:, k] * o) / 1e6
        np.testing.assert_allclose(priced.cost[:, k], expected, rtol=1e-12)
    later = pricing.reprice(table, pricing.COST_DEFINITIONS["output@2025"])
    k = table.models.index("Gemini-Pro")
    np.testing.assert_allclose(later.cost[:, k], table.cost[:, k] * 0.4 / 1.5, rtol=1e-12)


def test_reprice_errors_name_what_is_wrong(mathv):
    definition = pricing.COST_DEFINITIONS["in+out, flat image@2024"]
    with pytest.raises(ValueError, match="question_tokens and sizes"):
        pricing.reprice(mathv, definition)
    with pytest.raises(ValueError, match="output-token counts"):
        pricing.reprice(dataclasses.replace(mathv, tokens=None), pricing.COST_DEFINITIONS["output@2024"])
    renamed = dataclasses.replace(mathv, models=("Someone-New",) + mathv.models[1:])
    with pytest.raises(ValueError, match="no price for model 'Someone-New'"):
        pricing.reprice(renamed, pricing.COST_DEFINITIONS["output@2024"])
    tokens = mathv.tokens.copy()
    tokens[7, 3] = -1
    with pytest.raises(ValueError, match="row 7"):
        pricing.reprice(dataclasses.replace(mathv, tokens=tokens), pricing.COST_DEFINITIONS["output@2024"])
    with pytest.raises(ValueError, match="unknown price snapshot"):
        pricing.CostDefinition("x", "output_only", "1999-01")
    with pytest.raises(ValueError, match="image_rule"):
        pricing.CostDefinition("x", "input_output", "2024-03")
    instances = mathv.instances.copy()
    instances.loc[2, "image_path"] = "/nonexistent/picture.png"
    with pytest.raises(FileNotFoundError, match="row 2"):
        pricing.image_sizes(dataclasses.replace(mathv, instances=instances))


def test_kendall_tau_table():
    scores = pd.DataFrame({"a": [0.3, 0.2, 0.1], "b": [0.9, 0.5, 0.4], "c": [0.1, 0.2, 0.3]}, index=["r1", "r2", "r3"])
    tau = pricing.kendall_tau_table(scores)
    assert tau.loc["a", "b"] == pytest.approx(1.0) and tau.loc["a", "c"] == pytest.approx(-1.0)
    np.testing.assert_allclose(np.diag(tau), 1.0)
    scores.loc["r2", "b"] = np.nan
    with pytest.raises(ValueError, match="'r2' under 'b' is NaN"):
        pricing.kendall_tau_table(scores)


@pytest.fixture(scope="module")
def mathv_named_bank(sim_bank):
    """The simulated table with its ten models renamed to MATH-V settings (so that every price and rule applies)."""
    table = sim_bank.table
    names = tuple(list(PRICE_PER_MILLION)[:len(table.models)])
    return FeatureBank(dataclasses.replace(table, models=names), sim_bank.choice, sim_bank.text, sim_bank.image,
                       sim_bank.info)


def test_cost_definition_study_ranks_and_is_deterministic(mathv_named_bank):
    routers = ["knn", "kmeans", "knn_shrunk"]
    kwargs = dict(definitions=["output@2024", "in+out, image by resolution@2024", "output@2025"], tokenizer="chars4")
    first = pricing.cost_definition_study(mathv_named_bank, RunConfig(), routers, **kwargs)
    second = pricing.cost_definition_study(mathv_named_bank, RunConfig(), routers, **kwargs)
    pd.testing.assert_frame_equal(first.results, second.results)
    assert first.results["U_same"].all()  # these routers' utilities do not read costs
    scores, tau = first.curves["scores"], first.curves["tau"]
    assert list(scores.index) == routers and list(scores.columns) == kwargs["definitions"]
    np.testing.assert_allclose(np.diag(tau), 1.0)
    tied = scores.nunique() == 1  # a definition under which every router scores the same: tau undefined
    undefined = np.logical_or.outer(tied.to_numpy(), tied.to_numpy()) & ~np.eye(len(tied), dtype=bool)
    assert tau.isna().to_numpy()[~np.eye(len(tied), dtype=bool)].tolist() == undefined[
        ~np.eye(len(tied), dtype=bool)].tolist()
    assert ((tau >= -1) & (tau <= 1)).to_numpy()[~undefined].all()
    costs = first.results.groupby("definition", sort=False)["pool_mean_cost"].first()
    assert costs.nunique() == 3  # the definitions really price the same outcomes differently
    with pytest.raises(ValueError, match="unknown cost definitions"):
        pricing.cost_definition_study(mathv_named_bank, RunConfig(seeds=(0, 1)), routers, definitions=["free"])
