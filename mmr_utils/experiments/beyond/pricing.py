"""Cost honesty: the same judged outcomes re-priced under several cost definitions (:class:`CostDefinition`), and how
much the router ranking depends on the choice. The paper's cost ``c_{i,k}`` (Sec. 3) is built in a way it does not state
(docs/paper.md: likely output tokens x output price, uncertain; :mod:`mmr_utils.data.mathv` does that). Every price and
rule names its public source; none re-checked live (``verified=False``); recalled ones carry
``[uncertain]``/``[assumption]``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.runs import RunConfig, fit_predict
from mmr_utils.experiments.scoring import complete_test
from mmr_utils.experiments.studies import StudyResult, study


def openai_tile_tokens(width: int, height: int) -> int:
    """GPT-4-class vision input at ``detail="high"``: fit inside 2048 x 2048, then shrink so the shorter side is at
    most 768 px (aspect kept), then 85 base tokens + 170 per 512-px tile covering the result."""
    w, h = _check_size(width, height)
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def qwen_patch_tokens(width: int, height: int, *, patch: int = 28, min_tokens: int = 4, max_tokens: int = 1280,
                      special: int = 2) -> int:
    """Qwen-VL (DashScope) input: both sides rounded to multiples of 28 px (rescaled, aspect kept, so that the
    28 x 28 patch count lies in [4, 1280]), one token per patch, plus 2 special tokens (image start/end)."""
    w, h = _check_size(width, height)
    h_bar = max(patch, round(h / patch) * patch)
    w_bar = max(patch, round(w / patch) * patch)
    max_pixels, min_pixels = max_tokens * patch * patch, min_tokens * patch * patch
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        h_bar = max(patch, math.floor(h / beta / patch) * patch)
        w_bar = max(patch, math.floor(w / beta / patch) * patch)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        h_bar = math.ceil(h * beta / patch) * patch
        w_bar = math.ceil(w * beta / patch) * patch
    return (h_bar // patch) * (w_bar // patch) + special


def fixed_tokens(count: int) -> Callable[[int, int], int]:
    """A rule that charges ``count`` tokens per image whatever its size (checked like the other rules)."""
    def rule(width: int, height: int) -> int:
        _check_size(width, height)
        return count
    return rule


def _check_size(width, height) -> tuple[float, float]:
    if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))) or width <= 0 or height <= 0:
        raise ValueError(f"image size must be two positive integers (width, height), got ({width!r}, {height!r})")
    return float(width), float(height)


@dataclass(frozen=True)
class ImageRule:
    """How a model turns one image into input tokens: ``tokens(width, height)``, and where the rule comes from."""

    name: str
    tokens: Callable[[int, int], int]
    rule: str
    source: str


#: Image-token rules by name; ``[uncertain]``: documented for a related model, not MATH-V's version, or a guess.
IMAGE_TOKEN_RULES: dict[str, ImageRule] = {rule.name: rule for rule in (
    ImageRule("none", fixed_tokens(0), "0 (the image is not sent)",
              "MATH-V: the setting answers from the text only (GPT-4) or from a caption (ChatGPT-3.5); the caption's "
              "length is not released, so its tokens are not counted [uncertain]"),
    ImageRule("openai_tiles", openai_tile_tokens, "85 + 170 per 512-px tile after fitting in 2048 px, short side <= 768",
              "OpenAI API docs, Vision guide, 'Calculating costs' (GPT-4 Turbo with vision / GPT-4o, detail=high)"),
    ImageRule("gemini_fixed", fixed_tokens(258), "258 per image",
              "Google Gemini API docs, 'Understand and count tokens' (images up to 384 px = 258 tokens); Gemini 1.0 "
              "Pro Vision itself was billed per image, so this is the later models' rule [uncertain]"),
    ImageRule("qwen_patches", qwen_patch_tokens, "1 per 28x28-px patch after rounding sides to 28 px, 4..1280, +2",
              "Alibaba Cloud Model Studio docs, Qwen-VL image token counting (Qwen2-VL smart_resize); the 2024 "
              "Qwen-VL-Max/Plus may have used Qwen-VL's fixed 256 tokens at 448 px [uncertain]"),
    ImageRule("clip336", fixed_tokens(576), "576 per image (336-px CLIP ViT-L/14: 24 x 24 patches)",
              "LLaVA-1.5 paper (Liu et al., 'Improved Baselines with Visual Instruction Tuning', 2023); ShareGPT4V "
              "uses the same architecture"),
    ImageRule("xcomposer2_490", fixed_tokens(1225), "1225 per image (490-px ViT-L/14: 35 x 35 patches)",
              "InternLM-XComposer2 paper (Dong et al., 2024): images resized to 490 x 490 [uncertain: token merging "
              "not checked]"),
    ImageRule("default576", fixed_tokens(576), "576 per image",
              "default for open models without a checked rule: the LLaVA-1.5 count [uncertain, a guess]"),
)}

#: The rule each MATH-V model setting uses under ``image_rule="per_model"``.
MODEL_IMAGE_RULE: dict[str, str] = {
    "GPT4-CoT (Text Only)": "none", "ChatGPT3.5-CoT (Text+Image Caption)": "none", "Gemini-Pro": "gemini_fixed",
    "Gemini-Pro-CoT": "gemini_fixed", "Qwen-VL-Max": "qwen_patches", "Qwen-VL-Max-CoT": "qwen_patches",
    "Qwen-VL-Plus": "qwen_patches", "LLaVA-v1.5-13B": "clip336", "LLaVA-v1.5-7B": "clip336",
    "ShareGPT4V-13B": "clip336", "ShareGPT4V-7B": "clip336", "InternLM-XComposer2-VL": "xcomposer2_490",
    "InternLM-XComposer2-VL-CoT": "xcomposer2_490", "SPHINX-MoE": "default576", "SPHINX-v2": "default576",
}
#: Under ``image_rule="flat"`` every model that sees the image is charged this many tokens per image.
FLAT_IMAGE_TOKENS = 576


def image_rules_table(models: Sequence[str]) -> pd.DataFrame:
    """One row per model: its image-token rule, the rule in words, and the rule's source (for the notebook)."""
    rows = []
    for model in models:
        rule = IMAGE_TOKEN_RULES[_rule_name(model)]
        rows.append({"model": model, "rule": rule.name, "tokens per image": rule.rule, "source": rule.source})
    return pd.DataFrame(rows).set_index("model")


def _rule_name(model: str) -> str:
    if model not in MODEL_IMAGE_RULE:
        raise ValueError(f"model {model!r} has no image-token rule; add it to mmr_utils.experiments.beyond.pricing.MODEL_IMAGE_RULE "
                         f"(known: {sorted(MODEL_IMAGE_RULE)})")
    return MODEL_IMAGE_RULE[model]


@dataclass(frozen=True)
class PriceSnapshot:
    """USD per 1M tokens ``(input, output)`` per model at one ``date``, each with its source. ``verified`` is False
    when the prices were not re-read from the vendor's page on that date (true of every snapshot made offline)."""

    name: str
    date: str
    prices: dict
    sources: dict
    verified: bool = False

    def price(self, model: str) -> tuple[float, float]:
        if model not in self.prices:
            raise ValueError(f"price snapshot {self.name!r} ({self.date}) has no price for model {model!r}; "
                             f"it prices {sorted(self.prices)}")
        return self.prices[model]


def _snapshot(name: str, date: str, entries: dict) -> PriceSnapshot:
    return PriceSnapshot(name, date, {m: (i, o) for m, (i, o, _) in entries.items()},
                         {m: s for m, (_, _, s) in entries.items()})


_OPEN_13B = "size proxy: hosted 13B-class serverless price, input = output [assumption]"
_OPEN_7B = "size proxy: hosted 7B-class serverless price, input = output [assumption]"
_OPEN_MOE = "size proxy: hosted Mixtral-8x7B-class serverless price, input = output [assumption]"
_OPEN = {
    "SPHINX-MoE": (0.6, 0.6, _OPEN_MOE), "SPHINX-v2": (0.3, 0.3, _OPEN_13B), "LLaVA-v1.5-13B": (0.3, 0.3, _OPEN_13B),
    "ShareGPT4V-13B": (0.3, 0.3, _OPEN_13B), "LLaVA-v1.5-7B": (0.2, 0.2, _OPEN_7B),
    "ShareGPT4V-7B": (0.2, 0.2, _OPEN_7B), "InternLM-XComposer2-VL": (0.2, 0.2, _OPEN_7B),
    "InternLM-XComposer2-VL-CoT": (0.2, 0.2, _OPEN_7B),
}
_UNCHANGED = " (unchanged: no dated later source) [assumption]"

#: Two dated snapshots; 2024's output prices are :data:`mmr_utils.data.mathv.PRICE_PER_MILLION` (the converter's costs).
PRICE_SNAPSHOTS: dict[str, PriceSnapshot] = {s.name: s for s in (
    _snapshot("2024-03", "2024-03-01", {
        "GPT4-CoT (Text Only)": (10.0, 30.0, "OpenAI pricing page, gpt-4-0125-preview (early 2024) [recalled offline]"),
        "ChatGPT3.5-CoT (Text+Image Caption)": (0.5, 1.5, "OpenAI pricing page, gpt-3.5-turbo-0125 (early 2024) "
                                                          "[recalled offline]"),
        "Gemini-Pro": (0.5, 1.5, "Google AI pricing, Gemini 1.0 Pro pay-as-you-go (2024) [recalled offline]"),
        "Gemini-Pro-CoT": (0.5, 1.5, "as Gemini-Pro"),
        "Qwen-VL-Max": (2.8, 2.8, "Alibaba DashScope, 0.02 CNY per 1k tokens in and out (2024) at 7.2 CNY/USD "
                                  "[recalled offline]"),
        "Qwen-VL-Max-CoT": (2.8, 2.8, "as Qwen-VL-Max"),
        "Qwen-VL-Plus": (1.1, 1.1, "Alibaba DashScope, 0.008 CNY per 1k tokens in and out (2024) at 7.2 CNY/USD "
                                   "[recalled offline]"),
        **_OPEN,
    }),
    _snapshot("2025-06", "2025-06-05", {
        "GPT4-CoT (Text Only)": (10.0, 30.0, "OpenAI pricing page, gpt-4-turbo still listed at the same price "
                                             "[assumption]"),
        "ChatGPT3.5-CoT (Text+Image Caption)": (0.5, 1.5, "OpenAI pricing page, gpt-3.5-turbo-0125 unchanged "
                                                          "[assumption]"),
        "Gemini-Pro": (0.1, 0.4, "Gemini 1.0 Pro was retired in 2025; priced as its replacement tier, "
                                 "gemini-2.0-flash [assumption]"),
        "Gemini-Pro-CoT": (0.1, 0.4, "as Gemini-Pro"),
        "Qwen-VL-Max": (0.8, 3.2, "Alibaba Cloud Model Studio, 'Qwen VL' page (last updated 2025-06-05), "
                                  "qwen-vl-max, international; read from a stored copy, not live"),
        "Qwen-VL-Max-CoT": (0.8, 3.2, "as Qwen-VL-Max"),
        "Qwen-VL-Plus": (0.21, 0.63, "Alibaba Cloud Model Studio, qwen-vl-plus international (2025) [assumption]"),
        **{m: (i, o, s + _UNCHANGED) for m, (i, o, s) in _OPEN.items()},
    }),
)}


def price_table(models: Sequence[str], snapshots: Sequence[str] = tuple(PRICE_SNAPSHOTS)) -> pd.DataFrame:
    """Input and output price (USD per 1M tokens) of every model under each snapshot, with the sources."""
    rows = []
    for model in models:
        row = {"model": model}
        for name in snapshots:
            snap = PRICE_SNAPSHOTS[name]
            row[f"in {snap.date}"], row[f"out {snap.date}"] = snap.price(model)
            row[f"source {snap.date}"] = snap.sources[model]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


@dataclass(frozen=True)
class CostDefinition:
    """What a call costs: ``output_only`` (output tokens x output price) or ``input_output`` (plus input tokens x
    input price, input = question tokens + image tokens by ``image_rule``, ``"flat"`` or ``"per_model"``)."""

    name: str
    parts: str
    snapshot: str
    image_rule: str | None = None

    def __post_init__(self):
        if self.parts not in ("output_only", "input_output"):
            raise ValueError(f"cost definition {self.name!r}: parts {self.parts!r}, expected output_only or "
                             f"input_output")
        if self.snapshot not in PRICE_SNAPSHOTS:
            raise ValueError(f"cost definition {self.name!r}: unknown price snapshot {self.snapshot!r}; known: "
                             f"{sorted(PRICE_SNAPSHOTS)}")
        if (self.parts == "input_output") != (self.image_rule in ("flat", "per_model")):
            raise ValueError(f"cost definition {self.name!r}: image_rule {self.image_rule!r} must be 'flat' or "
                             f"'per_model' for input_output and None for output_only")


#: The definitions the notebook compares, in order (the first is what the MATH-V converter computes).
COST_DEFINITIONS: dict[str, CostDefinition] = {d.name: d for d in (
    CostDefinition("output@2024", "output_only", "2024-03"),
    CostDefinition("in+out, flat image@2024", "input_output", "2024-03", "flat"),
    CostDefinition("in+out, image by resolution@2024", "input_output", "2024-03", "per_model"),
    CostDefinition("in+out, image by resolution@2025", "input_output", "2025-06", "per_model"),
    CostDefinition("output@2025", "output_only", "2025-06"),
)}


def image_sizes(table: OutcomeTable) -> np.ndarray:
    """(n x 2) image ``(width, height)`` in pixels per row, from the file's header; ``(0, 0)`` without an image."""
    from PIL import Image, UnidentifiedImageError

    sizes = np.zeros((table.n, 2), dtype=np.int64)
    for row, path in enumerate(table.instances["image_path"]):
        if path is None or (isinstance(path, float) and np.isnan(path)):
            continue
        if not Path(path).is_file():
            raise FileNotFoundError(f"row {row} ({table.instances['dataset_idx'].iloc[row]}): image file {path} "
                                    f"not found")
        try:
            with Image.open(path) as image:
                sizes[row] = image.size
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"row {row}: cannot read the size of image {path} ({error})") from error
    return sizes


def image_tokens(models: Sequence[str], sizes: np.ndarray, image_rule: str) -> np.ndarray:
    """(n x K) input tokens of each row's image for each model: by :data:`MODEL_IMAGE_RULE` (``"per_model"``), or
    :data:`FLAT_IMAGE_TOKENS` for every model whose rule is not ``none`` (``"flat"``); 0 for rows without an image."""
    sizes = np.asarray(sizes)
    if sizes.ndim != 2 or sizes.shape[1] != 2:
        raise ValueError(f"image sizes must be an (n x 2) array of (width, height), got shape {sizes.shape}")
    if image_rule not in ("flat", "per_model"):
        raise ValueError(f"image_rule {image_rule!r}: expected 'flat' or 'per_model'")
    has_image = sizes[:, 0] > 0
    out = np.zeros((len(sizes), len(models)))
    for k, model in enumerate(models):
        rule = IMAGE_TOKEN_RULES[_rule_name(model)]
        if rule.name == "none":
            continue
        if image_rule == "flat":
            out[has_image, k] = FLAT_IMAGE_TOKENS
        else:
            out[has_image, k] = [rule.tokens(int(w), int(h)) for w, h in sizes[has_image]]
    return out


def reprice(table: OutcomeTable, definition: CostDefinition, *, question_tokens: np.ndarray | None = None,
            sizes: np.ndarray | None = None) -> OutcomeTable:
    """The same outcomes with ``cost`` (paper Sec. 3, ``c_{i,k}``) recomputed under ``definition``: ``out_tokens x
    out_price``, plus for input_output ``(question_tokens + image_tokens) x in_price`` (``question_tokens`` (n,) and
    image ``sizes`` (n x 2) needed); recorded in ``source["cost_definition"]``."""
    if table.tokens is None:
        raise ValueError("re-pricing needs output-token counts (the table's <model>_token columns), and this table "
                         f"has none ({table.source.get('path', 'no path')})")
    snap = PRICE_SNAPSHOTS[definition.snapshot]
    prices = np.array([snap.price(m) for m in table.models]) / 1e6
    tokens = np.asarray(table.tokens, dtype=float)
    bad = table.mask & ~(np.isfinite(tokens) & (tokens >= 0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"row {row}, model {table.models[col]!r}: output tokens {tokens[row, col]!r} are not a "
                         f"non-negative count although the cell is observed")
    cost = tokens * prices[:, 1]
    if definition.parts == "input_output":
        if question_tokens is None or sizes is None:
            raise ValueError(f"cost definition {definition.name!r} counts input tokens: pass question_tokens and sizes")
        question_tokens = np.asarray(question_tokens, dtype=float)
        if question_tokens.shape != (table.n,) or (question_tokens < 0).any():
            raise ValueError(f"question_tokens must be {table.n} non-negative counts, got shape "
                             f"{question_tokens.shape}")
        if np.asarray(sizes).shape != (table.n, 2):
            raise ValueError(f"sizes must have shape ({table.n}, 2), got {np.asarray(sizes).shape}")
        inputs = question_tokens[:, None] + image_tokens(table.models, sizes, definition.image_rule)
        cost = cost + inputs * prices[:, 0]
    cost = np.where(table.mask, cost, np.nan)
    source = {**table.source, "cost_definition": dataclasses.asdict(definition) | {"date": snap.date,
                                                                                    "verified": snap.verified}}
    return dataclasses.replace(table, cost=cost, source=source)


def kendall_tau_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b between column pairs of ``scores`` (routers x definitions); NaN (not 0) if a column ties all."""
    from scipy.stats import kendalltau

    if scores.shape[0] < 2:
        raise ValueError(f"Kendall's tau needs at least two routers to rank, got {scores.shape[0]}")
    if scores.isna().any().any():
        where = scores.isna().stack()
        router, column = where[where].index[0]
        raise ValueError(f"score of router {router!r} under {column!r} is NaN; cannot rank")
    names = list(scores.columns)
    tau = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            value = kendalltau(scores[a].to_numpy(), scores[b].to_numpy()).statistic
            tau.loc[a, b] = tau.loc[b, a] = value
    return tau


@study
def cost_definition_study(bank, config: RunConfig, routers, *, definitions: Sequence[str] = tuple(COST_DEFINITIONS),
                          tokenizer: str = "minilm") -> StudyResult:
    """Rank routers by nAUC (paper Sec. 4) under each cost definition, refitted on the re-priced table (one split per
    seed). ``results``: per (definition, router, seed) the metrics, pool mean call cost, best single and cheapest model,
    ``U_same`` (``U`` bit-identical to the first's). ``curves``: ``scores`` (mean nAUC), ``ranks``, ``tau``."""
    from mmr_utils.data.mathv import count_output_tokens
    from mmr_utils.data.splits import instance_split
    from mmr_utils.features.bank import FeatureBank
    from mmr_utils.metrics import protocol as ev
    from mmr_utils.metrics.summary import summarize

    unknown = [d for d in definitions if d not in COST_DEFINITIONS]
    if unknown or not definitions:
        raise ValueError(f"unknown cost definitions {unknown}; known: {list(COST_DEFINITIONS)}")
    if len(routers) < 2:
        raise ValueError(f"ranking needs at least two routers, got {list(routers)}")
    table = bank.table
    question_tokens = sizes = None
    if any(COST_DEFINITIONS[d].parts == "input_output" for d in definitions):
        question_tokens = count_output_tokens(table.instances["question"].astype(str).tolist(), tokenizer)
        sizes = image_sizes(table)
    records, first_U = [], {}
    for name in definitions:
        priced = reprice(table, COST_DEFINITIONS[name], question_tokens=question_tokens, sizes=sizes)
        priced_bank = FeatureBank(priced, bank.choice, bank.text, bank.image, bank.info)
        for seed in config.seeds:
            split = instance_split(priced, config.train_fraction, seed=seed)
            keep, _, Y, C = complete_test(priced, split.test)
            best = ev.best_single_model(Y, C)
            for router in routers:
                run = fit_predict(priced_bank, router, split, config, seed=seed)
                U, P = run.U[keep], run.P[keep]
                s = summarize(U, P, Y, C)
                same = first_U.setdefault((router, seed), U)
                records.append({"definition": name, "router": router, "seed": seed, **s.metrics,
                                "U_same": bool(np.array_equal(same, U)),
                                "pool_mean_cost": float(C.mean()), "best_single_cost": float(C[:, best].mean()),
                                "cheapest_cost": float(C.mean(axis=0).min())})
    results = pd.DataFrame(records)
    scores = results.pivot_table(index="router", columns="definition", values="nAUC", aggfunc="mean", sort=False)
    scores = scores.loc[list(routers), list(definitions)]
    ranks = scores.rank(ascending=False, method="average")
    extra = {"cost_definitions": {d: dataclasses.asdict(COST_DEFINITIONS[d]) for d in definitions},
             "price_dates": {s.name: s.date for s in PRICE_SNAPSHOTS.values()}, "prices_verified": False}
    return StudyResult(results, {"scores": scores, "ranks": ranks, "tau": kendall_tau_table(scores)}, extra)
