"""Deterministic simulator of MMR-Bench: an outcome table in the official schema plus rendered images.

THE FIGURES THIS MODULE WRITES ARE SIMULATED, NOT THE PAPER'S MEASUREMENTS. The simulator reproduces the *shape* of
MMR-Bench (Ma, Lai, Ye 2026, arXiv 2601.17814, Sec. 3): its 7 datasets at their real sizes grouped into the three
scenarios (OCR, General VQA, Math), its 10 models, per-model per-dataset accuracies calibrated to the published table,
and mean costs per call near the paper's cost figure, so that every router, budget sweep and plot of the project runs
end to end without the official download. Every output folder says so in ``SIMULATED.md`` and ``provenance.json``.

Generative model (one instance i of dataset d, model m)
-------------------------------------------------------
* Kind. ``kind_i ~ Categorical(KIND_MIX[d])`` over :data:`KINDS` (dense text / document crop, scene text, table,
  chart, function plot, geometry figure, counting objects, natural scene). The kind is the fine ``category`` of the
  paper's sunburst (scenario -> dataset -> category).
* Difficulty. Three independent standard normals: ``z_visual`` (shows only in the image: number of text lines, bars,
  table cells, objects, construction lines, clutter), ``z_text`` (shows only in the question: extra conditions and
  instructions appended to it) and ``z_hidden`` (shows nowhere).
  ``difficulty_i = sqrt(.5) z_visual + sqrt(.3) z_text + sqrt(.2) z_hidden`` (variance shares :data:`DIFFICULTY_SHARES`).
* Skill needs. ``need_i = max(0, KIND_NEEDS[kind_i] * exp(0.35 e1) + 0.1 e2)`` over :data:`SKILLS`
  (ocr, chart, spatial, counting, reasoning), e1, e2 standard normal per skill.
* Question text. With probability ``GENERIC_QUESTION_RATE[d]`` the question is generic ("Answer the question shown in
  the image.") and the actual question is printed inside the image, so the kind is visible only in the image;
  otherwise a kind-specific template is used (keywords such as "angle", "how many", "read the text", "table"), some of
  them ambiguous across kinds ("What is the value for X?" fits a chart and a table; "how many times does the graph
  cross" is a function plot). With probability ``MULTIPLE_CHOICE_RATE[d]`` four options are appended and the answer is
  a letter. Text-only, image-only and fused features therefore each carry some but not all of the signal.
* Correctness. ``logit_im = a_md + SKILL_WEIGHT * need_i . skill_m - DIFFICULTY_SLOPE[m] * difficulty_i + eps_im``
  with ``eps_im ~ N(0, IDIOSYNCRATIC_SD^2)`` (unobservable). The intercept ``a_md`` is solved by bisection so that the
  mean of ``p_im = sigmoid(logit_im)`` over the dataset's instances equals ``TARGET_ACCURACY[m][d]`` exactly (at any
  scale). Outcomes are then drawn with marginal probability exactly ``p_im``: by default with systematic sampling in a
  random order per (model, dataset) (``outcome_sampling="systematic"``), which makes the realised number correct equal
  the expected number rounded up or down, i.e. realised accuracy within 1/n_d of the target (0.13 points on
  RealWorldQA); ``outcome_sampling="bernoulli"`` draws independent coins instead (binomial error, about 1.8 points
  standard deviation on RealWorldQA).
* Cost. Output tokens ``t_im = max(1, round(b_m * exp(KIND_TOKEN_LOG_FACTOR[kind] + TOKEN_DIFFICULTY_SLOPE[m] *
  difficulty_i + 0.15 [wrong] + TOKEN_NOISE_SD * e)))`` (math reasoning long, OCR short, harder and failed items
  longer), ``cost_im = t_im * PRICE_PER_OUTPUT_TOKEN[m]``. The verbosity ``b_m`` is solved so that the model's mean
  cost over the simulated benchmark equals ``TARGET_MEAN_COST[m]`` before rounding.

gpt-5-nano's accuracies are not in the published table: it gets gpt-5's per-dataset profile multiplied by one factor
(about 0.91) chosen so that its size-weighted accuracy over the 10,370 instances is exactly 68%.

Random streams: every draw follows ``seed`` through ``np.random.default_rng([seed, stream, ...])`` with a separate
stream per purpose, so the same ``(seed, scale)`` gives byte-identical CSVs and images.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from mmr_utils import paths
from mmr_utils._io import atomic_directory
from mmr_utils.datasets import image_folder_of, scenario_of

GENERATOR_VERSION = "1.0.0"

#: Full-scale dataset sizes (paper Sec. 3; 10,370 instances in all).
DATASET_SIZES: dict[str, int] = {
    "OCRBench": 1000,
    "SEEDBench2_Plus": 2277,
    "MMStar": 1500,
    "RealWorldQA": 765,
    "MathVista": 1000,
    "MathVerse": 788,
    "MathVision": 3040,
}
#: Dataset -> scenario of the paper's taxonomy (OCR, General VQA, Math), from the shared dataset registry.
SCENARIOS: dict[str, str] = {d: scenario_of(d) for d in DATASET_SIZES}
#: Dataset -> folder under ``images/`` (the official release spells SEEDBench2_Plus as SEEDBenchv2Plus).
IMAGE_FOLDERS: dict[str, str] = {d: image_folder_of(d) for d in DATASET_SIZES}
#: The model pool, in the column order of the official table.
MODELS: list[str] = [
    "Qwen2.5-VL-3B-Instruct",
    "Qwen2.5-VL-7B-Instruct",
    "Qwen2.5-VL-72B-Instruct",
    "InternVL3-78B",
    "Gemma3-4B",
    "Claude3-7V_Sonnet",
    "gpt-5-nano-2025-08-07",
    "GeminiPro2-5",
    "gpt-5-2025-08-07",
    "GeminiFlash2-5",
]

_PUBLISHED_ORDER = ("MMStar", "RealWorldQA", "SEEDBench2_Plus", "OCRBench", "MathVista", "MathVision", "MathVerse")
_PUBLISHED_PERCENT: dict[str, tuple[float, ...]] = {
    "gpt-5-2025-08-07": (76.7, 82.5, 75.2, 81.0, 78.6, 68.4, 73.2),
    "GeminiPro2-5": (77.0, 78.7, 74.8, 87.1, 80.5, 58.4, 69.0),
    "GeminiFlash2-5": (75.3, 78.6, 74.1, 86.7, 76.0, 46.4, 65.7),
    "Qwen2.5-VL-72B-Instruct": (70.9, 75.3, 73.8, 88.2, 74.2, 39.3, 47.3),
    "InternVL3-78B": (73.1, 78.4, 71.8, 91.0, 72.6, 34.1, 37.3),
    "Claude3-7V_Sonnet": (62.6, 55.4, 67.2, 70.1, 66.8, 41.3, 46.7),
    "Gemma3-4B": (47.1, 55.7, 60.8, 66.0, 46.2, 23.4, 22.7),
    "Qwen2.5-VL-7B-Instruct": (64.6, 69.3, 70.8, 88.4, 68.1, 26.3, 42.1),
    "Qwen2.5-VL-3B-Instruct": (57.3, 66.0, 69.2, 82.3, 63.4, 24.2, 32.4),
}
#: Size-weighted overall accuracy assumed for gpt-5-nano (not in the published per-dataset table).
NANO_OVERALL_ACCURACY = 0.68


def _target_accuracy() -> dict[str, dict[str, float]]:
    targets = {m: {d: p / 100.0 for d, p in zip(_PUBLISHED_ORDER, row)} for m, row in _PUBLISHED_PERCENT.items()}
    gpt5 = targets["gpt-5-2025-08-07"]
    weighted = sum(DATASET_SIZES[d] * gpt5[d] for d in DATASET_SIZES) / sum(DATASET_SIZES.values())
    factor = NANO_OVERALL_ACCURACY / weighted
    targets["gpt-5-nano-2025-08-07"] = {d: factor * gpt5[d] for d in _PUBLISHED_ORDER}
    return {m: {d: targets[m][d] for d in DATASET_SIZES} for m in MODELS}


#: Model -> dataset -> expected accuracy (fraction) the simulator is calibrated to.
TARGET_ACCURACY: dict[str, dict[str, float]] = _target_accuracy()

#: Model -> mean cost per call in USD the simulator is calibrated to (near the paper's cost figure).
TARGET_MEAN_COST: dict[str, float] = {
    "Qwen2.5-VL-3B-Instruct": 0.022e-3,
    "Qwen2.5-VL-7B-Instruct": 0.10e-3,
    "Qwen2.5-VL-72B-Instruct": 0.24e-3,
    "InternVL3-78B": 0.028e-3,
    "Gemma3-4B": 0.016e-3,
    "Claude3-7V_Sonnet": 3.0e-3,
    "gpt-5-nano-2025-08-07": 0.74e-3,
    "GeminiPro2-5": 4.4e-3,
    "gpt-5-2025-08-07": 3.9e-3,
    "GeminiFlash2-5": 2.3e-3,
}
#: Model -> USD per output token (simulation parameters; with the verbosities they give the mean costs above:
#: e.g. gpt-5 at $10/M tokens averages ~390 output tokens, gpt-5-nano at $0.40/M ~1,850 reasoning-heavy tokens).
PRICE_PER_OUTPUT_TOKEN: dict[str, float] = {
    "Qwen2.5-VL-3B-Instruct": 8.0e-8,
    "Qwen2.5-VL-7B-Instruct": 3.0e-7,
    "Qwen2.5-VL-72B-Instruct": 8.0e-7,
    "InternVL3-78B": 1.0e-7,
    "Gemma3-4B": 6.0e-8,
    "Claude3-7V_Sonnet": 1.5e-5,
    "gpt-5-nano-2025-08-07": 4.0e-7,
    "GeminiPro2-5": 1.0e-5,
    "gpt-5-2025-08-07": 1.0e-5,
    "GeminiFlash2-5": 2.5e-6,
}

#: Fine categories (the ``category`` column).
KINDS: tuple[str, ...] = (
    "dense_text", "scene_text", "table", "chart", "function_plot", "geometry", "counting", "scene",
)
#: Skill axes of the need vector and of the model profiles.
SKILLS: tuple[str, ...] = ("ocr", "chart", "spatial", "counting", "reasoning")
#: Kind -> mean skill-need vector (order :data:`SKILLS`).
KIND_NEEDS: dict[str, tuple[float, ...]] = {
    "dense_text": (1.0, 0.0, 0.0, 0.0, 0.2),
    "scene_text": (0.8, 0.0, 0.2, 0.0, 0.1),
    "table": (0.6, 0.4, 0.0, 0.0, 0.3),
    "chart": (0.3, 0.8, 0.0, 0.0, 0.4),
    "function_plot": (0.1, 0.6, 0.2, 0.0, 0.8),
    "geometry": (0.0, 0.0, 0.8, 0.0, 1.0),
    "counting": (0.0, 0.0, 0.3, 1.0, 0.1),
    "scene": (0.0, 0.0, 0.6, 0.2, 0.3),
}
#: Dataset -> kind mixture.
KIND_MIX: dict[str, dict[str, float]] = {
    "OCRBench": {"dense_text": 0.45, "scene_text": 0.30, "table": 0.10, "chart": 0.15},
    "SEEDBench2_Plus": {"chart": 0.35, "table": 0.20, "dense_text": 0.25, "scene_text": 0.20},
    "MMStar": {"scene": 0.40, "counting": 0.20, "chart": 0.10, "geometry": 0.10, "dense_text": 0.10,
               "function_plot": 0.10},
    "RealWorldQA": {"scene": 0.60, "counting": 0.30, "scene_text": 0.10},
    "MathVista": {"function_plot": 0.20, "chart": 0.25, "geometry": 0.25, "counting": 0.15, "table": 0.15},
    "MathVerse": {"geometry": 0.60, "function_plot": 0.40},
    "MathVision": {"geometry": 0.55, "function_plot": 0.15, "counting": 0.15, "table": 0.15},
}
#: Model -> skill profile (order :data:`SKILLS`): Qwen/InternVL strong at OCR, gpt-5 at geometry and reasoning.
MODEL_SKILLS: dict[str, tuple[float, ...]] = {
    "Qwen2.5-VL-3B-Instruct": (0.6, 0.2, -0.5, 0.0, -0.8),
    "Qwen2.5-VL-7B-Instruct": (0.8, 0.3, -0.3, 0.1, -0.5),
    "Qwen2.5-VL-72B-Instruct": (0.9, 0.5, 0.0, 0.2, 0.0),
    "InternVL3-78B": (1.0, 0.5, 0.1, 0.3, -0.2),
    "Gemma3-4B": (0.0, -0.3, -0.4, -0.2, -0.7),
    "Claude3-7V_Sonnet": (0.1, 0.4, -0.2, -0.3, 0.4),
    "gpt-5-nano-2025-08-07": (-0.2, 0.2, 0.2, 0.0, 0.5),
    "GeminiPro2-5": (0.7, 0.6, 0.4, 0.3, 0.7),
    "gpt-5-2025-08-07": (0.2, 0.5, 0.6, 0.2, 1.0),
    "GeminiFlash2-5": (0.6, 0.5, 0.3, 0.2, 0.5),
}
#: Model -> how fast P(correct) falls with difficulty (small models are weak on hard items).
DIFFICULTY_SLOPE: dict[str, float] = {
    "Qwen2.5-VL-3B-Instruct": 1.4,
    "Qwen2.5-VL-7B-Instruct": 1.2,
    "Qwen2.5-VL-72B-Instruct": 0.9,
    "InternVL3-78B": 0.9,
    "Gemma3-4B": 1.4,
    "Claude3-7V_Sonnet": 0.9,
    "gpt-5-nano-2025-08-07": 1.0,
    "GeminiPro2-5": 0.75,
    "gpt-5-2025-08-07": 0.7,
    "GeminiFlash2-5": 0.85,
}
SKILL_WEIGHT = 1.5
IDIOSYNCRATIC_SD = 0.5
#: Variance shares of the visual, textual and hidden parts of the difficulty.
DIFFICULTY_SHARES: tuple[float, float, float] = (0.5, 0.3, 0.2)
#: Dataset -> fraction of questions worded generically (their kind is visible only in the image).
GENERIC_QUESTION_RATE: dict[str, float] = {
    "OCRBench": 0.2, "SEEDBench2_Plus": 0.2, "MMStar": 0.2, "RealWorldQA": 0.2,
    "MathVista": 0.2, "MathVerse": 0.4, "MathVision": 0.15,
}
#: Dataset -> fraction of multiple-choice questions.
MULTIPLE_CHOICE_RATE: dict[str, float] = {
    "OCRBench": 0.0, "SEEDBench2_Plus": 1.0, "MMStar": 1.0, "RealWorldQA": 0.6,
    "MathVista": 0.5, "MathVerse": 0.6, "MathVision": 0.6,
}
#: Kind -> log multiplier of output length (math reasoning long, OCR short).
KIND_TOKEN_LOG_FACTOR: dict[str, float] = {
    "dense_text": -0.5, "scene_text": -0.6, "table": -0.2, "chart": 0.0,
    "function_plot": 0.4, "geometry": 0.6, "counting": -0.3, "scene": -0.2,
}
_REASONING_MODELS = {"gpt-5-nano-2025-08-07", "GeminiPro2-5", "gpt-5-2025-08-07", "GeminiFlash2-5",
                     "Claude3-7V_Sonnet"}
#: Model -> log-length increase per unit difficulty (reasoning models think longer on hard items).
TOKEN_DIFFICULTY_SLOPE: dict[str, float] = {m: (0.5 if m in _REASONING_MODELS else 0.25) for m in MODELS}
TOKEN_NOISE_SD = 0.45
WRONG_ANSWER_TOKEN_LOG_FACTOR = 0.15
IMAGE_SIZE = 160
MIN_ITEMS_PER_DATASET = 5
OUTCOME_SAMPLINGS = ("systematic", "bernoulli")

# Random streams, one per purpose (np.random.default_rng([seed, stream, ...])).
_STREAM_LATENT, _STREAM_NOISE, _STREAM_OUTCOME, _STREAM_TOKENS, _STREAM_CONTENT, _STREAM_RENDER = range(11, 17)


def dataset_sizes(scale: float = 1.0) -> dict[str, int]:
    """Number of instances per dataset at ``scale`` (proportional, at least ``MIN_ITEMS_PER_DATASET``)."""
    if not (isinstance(scale, (int, float)) and 0.0 < float(scale) <= 1.0):
        raise ValueError(f"scale must be a number in (0, 1], got {scale!r}")
    return {d: max(MIN_ITEMS_PER_DATASET, int(round(n * float(scale)))) for d, n in DATASET_SIZES.items()}


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# --------------------------------------------------------------------------------------------------------------------
# Latent variables and outcome probabilities
# --------------------------------------------------------------------------------------------------------------------

def simulate_latents(scale: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Per-instance latent variables: dataset, kind, the three difficulty parts, skill needs, wording flags.

    Cheap (no text, no images); the same ``(scale, seed)`` gives the latents behind :func:`simulate_benchmark`.
    """
    seed = _check_seed(seed)
    sizes = dataset_sizes(scale)
    rng = np.random.default_rng([seed, _STREAM_LATENT])
    frames = []
    for dataset, n in sizes.items():
        mix = KIND_MIX[dataset]
        kinds = np.array(list(mix))
        weights = np.array([mix[k] for k in kinds])
        kind = kinds[rng.choice(len(kinds), size=n, p=weights / weights.sum())]
        z = rng.standard_normal((n, 3))
        need_mean = np.array([KIND_NEEDS[k] for k in kind])
        needs = np.maximum(
            0.0, need_mean * np.exp(0.35 * rng.standard_normal(need_mean.shape)) + 0.1 * rng.standard_normal(need_mean.shape)
        )
        generic = rng.random(n) < GENERIC_QUESTION_RATE[dataset]
        multiple_choice = rng.random(n) < MULTIPLE_CHOICE_RATE[dataset]
        frame = pd.DataFrame({
            "dataset_idx": [f"{dataset}_{i}" for i in range(n)],
            "dataset": dataset,
            "scenario": SCENARIOS[dataset],
            "kind": kind,
            "visual_complexity": z[:, 0],
            "text_complexity": z[:, 1],
            "hidden_complexity": z[:, 2],
            "difficulty": z @ np.sqrt(np.array(DIFFICULTY_SHARES)),
            "generic_question": generic,
            "multiple_choice": multiple_choice,
        })
        for j, skill in enumerate(SKILLS):
            frame[f"need_{skill}"] = needs[:, j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _solve_intercepts(base_logits: np.ndarray, targets: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Per column k, the a_k with mean(sigmoid(a_k + base_logits[:, k])) = targets[k] (bisection; monotone in a)."""
    low = np.full(base_logits.shape[1], -40.0)
    high = np.full(base_logits.shape[1], 40.0)
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        too_high = _sigmoid(mid + base_logits).mean(axis=0) > targets
        high = np.where(too_high, mid, high)
        low = np.where(too_high, low, mid)
    return 0.5 * (low + high)


def correctness_probabilities(latents: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """P(correct) per instance and model (n x K, columns in :data:`MODELS` order), calibrated per model x dataset.

    Implements ``p_im = sigmoid(a_md + SKILL_WEIGHT need_i . skill_m - slope_m difficulty_i + eps_im)`` with the
    intercepts ``a_md`` solved so that the dataset mean of ``p_im`` equals ``TARGET_ACCURACY[m][d]``.
    """
    seed = _check_seed(seed)
    required = ["dataset", "difficulty", *(f"need_{s}" for s in SKILLS)]
    missing = [c for c in required if c not in latents.columns]
    if missing:
        raise ValueError(f"latents lack columns {missing}; expected the output of simulate_latents()")
    needs = latents[[f"need_{s}" for s in SKILLS]].to_numpy(float)
    skills = np.array([MODEL_SKILLS[m] for m in MODELS])
    slopes = np.array([DIFFICULTY_SLOPE[m] for m in MODELS])
    noise = IDIOSYNCRATIC_SD * np.random.default_rng([seed, _STREAM_NOISE]).standard_normal((len(latents), len(MODELS)))
    base = SKILL_WEIGHT * needs @ skills.T - latents["difficulty"].to_numpy(float)[:, None] * slopes[None, :] + noise
    probabilities = np.empty_like(base)
    datasets = latents["dataset"].to_numpy()
    for dataset in DATASET_SIZES:
        rows = datasets == dataset
        if not rows.any():
            continue
        targets = np.array([TARGET_ACCURACY[m][dataset] for m in MODELS])
        intercepts = _solve_intercepts(base[rows], targets)
        probabilities[rows] = _sigmoid(intercepts[None, :] + base[rows])
    unknown = set(datasets) - set(DATASET_SIZES)
    if unknown:
        raise ValueError(f"latents name unknown datasets {sorted(unknown)}; expected {list(DATASET_SIZES)}")
    return probabilities


def expected_accuracy(scale: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Expected accuracy (mean P(correct)) per dataset (rows) and model (columns), without drawing anything else."""
    latents = simulate_latents(scale, seed)
    probabilities = pd.DataFrame(correctness_probabilities(latents, seed), columns=MODELS)
    return probabilities.groupby(latents["dataset"].to_numpy()).mean().loc[list(DATASET_SIZES)]


def _draw_outcomes(probabilities: np.ndarray, datasets: np.ndarray, seed: int, sampling: str) -> np.ndarray:
    """0/1 outcomes with marginal P = probabilities; 'systematic' also pins each (dataset, model) count to round(sum p)."""
    rng = np.random.default_rng([seed, _STREAM_OUTCOME])
    if sampling == "bernoulli":
        return rng.random(probabilities.shape) < probabilities
    if sampling != "systematic":
        raise ValueError(f"outcome_sampling must be one of {OUTCOME_SAMPLINGS}, got {sampling!r}")
    outcomes = np.zeros(probabilities.shape, dtype=bool)
    for dataset in DATASET_SIZES:
        rows = np.flatnonzero(datasets == dataset)
        for k in range(probabilities.shape[1]):
            order = rows[rng.permutation(len(rows))]
            cumulative = np.concatenate([[0.0], np.cumsum(probabilities[order, k])])
            crossings = np.floor(cumulative - rng.random())
            outcomes[order, k] = crossings[1:] > crossings[:-1]
    return outcomes


def _draw_tokens(latents: pd.DataFrame, outcomes: np.ndarray, seed: int) -> np.ndarray:
    """Output tokens per instance and model, verbosity solved so that mean cost = TARGET_MEAN_COST (before rounding)."""
    rng = np.random.default_rng([seed, _STREAM_TOKENS])
    kind_factor = latents["kind"].map(KIND_TOKEN_LOG_FACTOR).to_numpy(float)[:, None]
    slopes = np.array([TOKEN_DIFFICULTY_SLOPE[m] for m in MODELS])[None, :]
    log_length = (
        kind_factor
        + slopes * latents["difficulty"].to_numpy(float)[:, None]
        + WRONG_ANSWER_TOKEN_LOG_FACTOR * (~outcomes)
        + TOKEN_NOISE_SD * rng.standard_normal(outcomes.shape)
    )
    relative = np.exp(log_length)
    target_tokens = np.array([TARGET_MEAN_COST[m] / PRICE_PER_OUTPUT_TOKEN[m] for m in MODELS])
    verbosity = target_tokens / relative.mean(axis=0)
    return np.maximum(1, np.rint(relative * verbosity[None, :])).astype(np.int64)


# --------------------------------------------------------------------------------------------------------------------
# Question, answer and picture content
# --------------------------------------------------------------------------------------------------------------------

_WORDS = (
    "river market silver garden window orange planet coffee museum harbor winter letter ticket bridge forest camera "
    "station engine island yellow theater pocket sunset dragon violet meadow rocket pencil copper valley lantern "
    "marble falcon canyon ribbon summit velvet cotton hammer mirror candle anchor meteor thunder saddle carpet "
    "bakery pharmacy hotel library office studio company avenue street square central north south union royal "
    "golden modern classic express premium fresh daily total invoice amount balance report annual budget notice"
).split()
_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (214, 48, 49), "blue": (41, 98, 255), "green": (39, 174, 96), "yellow": (241, 196, 15),
    "purple": (142, 68, 173), "orange": (230, 126, 34), "black": (30, 30, 30),
}
_SHAPES = ("circle", "square", "triangle")
_GENERIC_QUESTIONS = (
    "Answer the question shown in the image.",
    "Please answer the question in the image.",
    "Look at the picture and solve the problem shown.",
    "According to the image, what is the answer?",
)
_EXTRA_CONDITIONS = (
    "Think carefully before answering.",
    "Note that the figure may not be drawn to scale.",
    "If several answers seem possible, give the most precise one.",
    "Ignore any watermark or decoration in the image.",
    "Assume all values shown are exact.",
    "Give only the final answer, without units unless they are needed.",
)
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


@dataclass
class _Content:
    """One instance's question core, answer, plausible wrong answers and drawing parameters."""

    question: str
    answer: str
    distractors: list[str]
    drawing: dict


def _pick(rng: np.random.Generator, items: Sequence):
    return items[int(rng.integers(len(items)))]


def _distinct_words(rng: np.random.Generator, n: int) -> list[str]:
    return [_WORDS[i] for i in rng.choice(len(_WORDS), size=n, replace=n > len(_WORDS))]


def _numeric_distractors(rng: np.random.Generator, value: int, low: int, high: int, suffix: str = "") -> list[str]:
    candidates = sorted(set(range(max(low, value - 12), min(high, value + 12) + 1)) - {value})
    if not candidates:
        candidates = [value + 1, value + 2, value + 3]
    chosen = rng.choice(len(candidates), size=min(3, len(candidates)), replace=False)
    return [f"{candidates[i]}{suffix}" for i in chosen]


def _content_dense_text(rng, level):
    n_lines = 3 + int(round(9 * level))
    lines = [_distinct_words(rng, int(rng.integers(2, 4))) for _ in range(n_lines)]
    line = int(rng.integers(n_lines))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"Read the text in the image. What is the first word on line {line + 1}?"
        answer = lines[line][0]
    elif variant == 1:
        position = int(rng.integers(len(lines[line]) - 1))
        question = f'Which word is written right after "{lines[line][position]}" in the document?'
        answer = lines[line][position + 1]
    else:
        question = "What word is written inside the highlighted box?"
        answer = lines[line][-1]
    others = sorted({w for row in lines for w in row} - {answer})
    distractors = [str(w) for w in rng.permutation(others)[:3]] or _distinct_words(rng, 3)
    return _Content(question, answer, distractors,
                    {"lines": lines, "highlight": line if variant == 2 else -1})


def _content_scene_text(rng, level):
    sign = _distinct_words(rng, 4)
    question = _pick(rng, (
        "What is written on the sign?",
        "What is the name of the shop shown in the picture?",
        "Which word appears on the banner?",
    ))
    return _Content(question, sign[0], sign[1:], {"sign": sign[0], "clutter": 2 + int(round(10 * level))})


def _content_table(rng, level):
    n_rows, n_cols = 2 + int(round(5 * level)), 2 + int(round(2 * level))
    cells = rng.integers(1, 100, size=(n_rows, n_cols))
    row_names = [w[:6] for w in _distinct_words(rng, n_rows)]
    col_names = [chr(ord("A") + j) for j in range(n_cols)]
    r, c = int(rng.integers(n_rows)), int(rng.integers(n_cols))
    question = _pick(rng, (
        f"According to the table, what is the value in row {r + 1}, column {col_names[c]}?",
        f"In the table, what is the {col_names[c]} entry for {row_names[r]}?",
        f"What is the value for {row_names[r]} in column {col_names[c]}?",
    ))
    value = int(cells[r, c])
    return _Content(question, str(value), _numeric_distractors(rng, value, 1, 99),
                    {"cells": cells.tolist(), "rows": row_names, "cols": col_names})


def _content_chart(rng, level):
    n_bars = 3 + int(round(7 * level))
    values = rng.integers(5, 96, size=n_bars)
    labels = [chr(ord("A") + j) for j in range(n_bars)]
    style = "line" if rng.random() < 0.3 + 0.4 * level else "bar"
    j = int(rng.integers(n_bars))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"In the {style} chart, what is the value of {labels[j]}?"
        answer, distractors = str(int(values[j])), _numeric_distractors(rng, int(values[j]), 0, 100)
    elif variant == 1:
        question = "Which category has the highest value in the plot?"
        best = int(np.argmax(values))
        answer = labels[best]
        distractors = [labels[i] for i in np.argsort(values)[::-1][1:4]]
    else:
        question = f"What is the value for {labels[j]}?"
        answer, distractors = str(int(values[j])), _numeric_distractors(rng, int(values[j]), 0, 100)
    return _Content(question, answer, distractors,
                    {"values": values.tolist(), "style": style, "series": 1 + int(level > 0.6)})


def _content_function_plot(rng, level):
    degree = 1 + int(round(2 * level))
    roots = sorted(rng.choice(np.arange(-4, 5), size=degree, replace=False).tolist())
    lead = float(_pick(rng, (-1.0, -0.5, 0.5, 1.0)))
    variant = int(rng.integers(3))
    if variant == 0:
        question = "How many times does the graph of the function cross the x-axis?"
        answer = str(degree)
        distractors = [str(v) for v in range(0, 5) if v != degree][:3]
    elif variant == 1:
        question = "What is the y-intercept of the function graphed in the coordinate plane?"
        value = int(round(lead * np.prod([-r for r in roots])))
        answer, distractors = str(value), _numeric_distractors(rng, value, -99, 99)
    else:
        x0 = int(rng.integers(-3, 4))
        value = int(round(lead * np.prod([x0 - r for r in roots])))
        question = f"The graph shows y = f(x). What is f({x0})?"
        answer, distractors = str(value), _numeric_distractors(rng, value, -99, 99)
    return _Content(question, answer, distractors,
                    {"roots": roots, "lead": lead, "extra_curves": int(round(2 * level * rng.random()))})


def _content_geometry(rng, level):
    angle_a = int(rng.integers(30, 80))
    angle_b = int(rng.integers(30, 150 - angle_a))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"In triangle ABC, angle A = {angle_a} degrees and angle B = {angle_b} degrees. Find angle C."
        value, suffix = 180 - angle_a - angle_b, "°"
    elif variant == 1:
        question = f"AB is a diameter of circle O and angle CAB = {angle_a} degrees. What is the measure of angle ABC?"
        value, suffix = 90 - angle_a, "°"
    else:
        side = int(rng.integers(3, 13))
        question = f"In the figure, AB = {side} and the marked segments are equal. What is the length of BC?"
        value, suffix = side, ""
    return _Content(question, f"{value}{suffix}", _numeric_distractors(rng, value, 1, 179, suffix),
                    {"angles": (angle_a, angle_b), "circle": variant == 1, "extra_lines": int(round(4 * level))})


def _content_counting(rng, level):
    color, shape = _pick(rng, list(_COLORS)), _pick(rng, _SHAPES)
    count = int(rng.integers(1, 4 + int(round(8 * level))))
    n_other = int(rng.integers(0, 2 + int(round(10 * level))))
    variant = int(rng.integers(3))
    if variant == 2:
        question = "How many objects are there in the picture in total?"
        answer_value = count + n_other
    else:
        question = (f"How many {color} {shape}s are there in the image?" if variant == 0
                    else f"Count the {color} {shape}s.")
        answer_value = count
    return _Content(question, str(answer_value), _numeric_distractors(rng, answer_value, 0, 40),
                    {"color": color, "shape": shape, "count": count, "others": n_other})


def _content_scene(rng, level):
    color = _pick(rng, list(_COLORS))
    side = _pick(rng, ("left", "right"))
    variant = int(rng.integers(3))
    if variant == 0:
        question = "What colour is the car in the scene?"
        answer = color
        distractors = [c for c in _COLORS if c != color][:3]
    elif variant == 1:
        question = "On which side of the road is the tree?"
        answer, distractors = side, ["left" if side == "right" else "right", "middle", "none"]
    else:
        present = bool(rng.random() < 0.5)
        question = "Is there a house in this scene?"
        answer, distractors = ("yes" if present else "no"), ["no" if present else "yes", "unclear"]
        return _Content(question, answer, distractors, {"car": color, "tree": side, "house": present,
                                                        "clutter": int(round(8 * level))})
    return _Content(question, answer, distractors, {"car": color, "tree": side, "house": bool(rng.random() < 0.5),
                                                    "clutter": int(round(8 * level))})


_CONTENT_BUILDERS = {
    "dense_text": _content_dense_text, "scene_text": _content_scene_text, "table": _content_table,
    "chart": _content_chart, "function_plot": _content_function_plot, "geometry": _content_geometry,
    "counting": _content_counting, "scene": _content_scene,
}


def _compose_question(content: _Content, rng, generic: bool, multiple_choice: bool, text_level: float):
    """Final question text, answer and the answer space of wrong predictions."""
    n_conditions = min(3, int(4 * text_level))
    conditions = [_EXTRA_CONDITIONS[i] for i in rng.choice(len(_EXTRA_CONDITIONS), size=n_conditions, replace=False)]
    parts = [_pick(rng, _GENERIC_QUESTIONS) if generic else content.question, *conditions]
    distractors = list(dict.fromkeys(d for d in content.distractors if d != content.answer))
    if multiple_choice:
        options = [content.answer, *distractors[:3]]
        while len(options) < 4:
            options.append("none of these" if "none of these" not in options else f"cannot tell ({len(options)})")
        order = rng.permutation(4)
        options = [options[i] for i in order]
        letters = "ABCD"
        parts.append("Options: " + ", ".join(f"{letters[i]}. {o}" for i, o in enumerate(options)) + ".")
        parts.append("Answer with the option's letter.")
        answer = letters[int(np.flatnonzero(order == 0)[0])]
        wrong = [letters[i] for i in range(4) if letters[i] != answer]
    else:
        answer = content.answer
        wrong = distractors or [f"not {answer}"]
    return " ".join(parts), answer, wrong


# --------------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------------

_FONT = None


def _font() -> ImageFont.ImageFont:
    global _FONT
    if _FONT is None:
        _FONT = ImageFont.load_default_imagefont()  # bitmap font: fast and identical across FreeType versions
    return _FONT


def _scatter_clutter(draw: ImageDraw.ImageDraw, rng, amount: int, box=(0, 0, IMAGE_SIZE, IMAGE_SIZE)):
    x0, y0, x1, y1 = box
    for _ in range(amount):
        x, y = int(rng.integers(x0, x1)), int(rng.integers(y0, y1))
        shade = int(rng.integers(150, 225))
        draw.line((x, y, x + int(rng.integers(-8, 9)), y + int(rng.integers(-8, 9))), fill=(shade, shade, shade))


def _draw_shape(draw, shape: str, cx: int, cy: int, r: int, color):
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=color)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)


def _render_dense_text(draw, rng, drawing, level):
    paper = (250, 248, 240)
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=paper)
    _scatter_clutter(draw, rng, int(40 * level))
    step = min(16, max(11, (IMAGE_SIZE - 8) // max(1, len(drawing["lines"]))))
    for i, words in enumerate(drawing["lines"]):
        y = 4 + i * step
        text = " ".join(words)
        if i == drawing["highlight"]:
            width = int(draw.textlength(text, font=_font()))
            draw.rectangle((3, y - 1, 6 + width, y + 11), outline=(214, 48, 49))
        draw.text((5, y), text, fill=(20, 20, 20), font=_font())


def _render_landscape(draw, rng, clutter: int):
    horizon = int(IMAGE_SIZE * (0.45 + 0.15 * rng.random()))
    draw.rectangle((0, 0, IMAGE_SIZE, horizon), fill=(120 + int(rng.integers(40)), 180, 235))
    draw.rectangle((0, horizon, IMAGE_SIZE, IMAGE_SIZE), fill=(90, 150 + int(rng.integers(40)), 70))
    sx, sy = int(rng.integers(10, IMAGE_SIZE - 10)), int(rng.integers(8, horizon // 2 + 9))
    draw.ellipse((sx - 9, sy - 9, sx + 9, sy + 9), fill=(250, 220, 80))
    for _ in range(clutter):
        x, y = int(rng.integers(0, IMAGE_SIZE)), int(rng.integers(horizon - 10, IMAGE_SIZE))
        color = tuple(int(v) for v in rng.integers(40, 230, size=3))
        _draw_shape(draw, _pick(rng, _SHAPES), x, y, int(rng.integers(3, 9)), color)
    return horizon


def _render_scene_text(draw, rng, drawing, level):
    horizon = _render_landscape(draw, rng, drawing["clutter"])
    width = int(draw.textlength(drawing["sign"], font=_font())) + 10
    x = int(rng.integers(4, max(5, IMAGE_SIZE - width - 4)))
    y = int(rng.integers(10, max(11, horizon - 10)))
    draw.rectangle((x, y, x + width, y + 18), fill=(245, 245, 235), outline=(60, 40, 20), width=2)
    draw.line((x + width // 2, y + 18, x + width // 2, min(IMAGE_SIZE, y + 45)), fill=(60, 40, 20), width=3)
    draw.text((x + 5, y + 4), drawing["sign"], fill=(20, 20, 120), font=_font())


def _render_table(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    cells, rows, cols = drawing["cells"], drawing["rows"], drawing["cols"]
    n_rows, n_cols = len(rows) + 1, len(cols) + 1
    cell_w, cell_h = (IMAGE_SIZE - 8) // n_cols, min(18, (IMAGE_SIZE - 8) // n_rows)
    draw.rectangle((4, 4, 4 + cell_w * n_cols, 4 + cell_h), fill=(220, 230, 245))
    for i in range(n_rows + 1):
        draw.line((4, 4 + i * cell_h, 4 + cell_w * n_cols, 4 + i * cell_h), fill=(90, 90, 90))
    for j in range(n_cols + 1):
        draw.line((4 + j * cell_w, 4, 4 + j * cell_w, 4 + cell_h * n_rows), fill=(90, 90, 90))
    for j, name in enumerate(cols):
        draw.text((7 + (j + 1) * cell_w, 7), name, fill=(0, 0, 0), font=_font())
    for i, name in enumerate(rows):
        draw.text((6, 7 + (i + 1) * cell_h), name[:5], fill=(0, 0, 0), font=_font())
        for j in range(len(cols)):
            draw.text((7 + (j + 1) * cell_w, 7 + (i + 1) * cell_h), str(cells[i][j]), fill=(0, 0, 0), font=_font())


def _render_axes(draw, left=22, bottom=IMAGE_SIZE - 18):
    draw.line((left, 8, left, bottom), fill=(0, 0, 0), width=2)
    draw.line((left, bottom, IMAGE_SIZE - 6, bottom), fill=(0, 0, 0), width=2)
    return left, bottom


def _render_chart(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    left, bottom = _render_axes(draw)
    values = drawing["values"]
    height = bottom - 12
    for tick in (0, 50, 100):
        y = bottom - int(tick / 100 * height)
        draw.line((left - 3, y, left, y), fill=(0, 0, 0))
        draw.text((2, y - 5), str(tick), fill=(0, 0, 0), font=_font())
    slot = (IMAGE_SIZE - 10 - left) / len(values)
    palette = list(_COLORS.values())
    for series in range(drawing["series"]):
        series_values = values if series == 0 else [int(v) for v in rng.integers(5, 96, size=len(values))]
        points = []
        for j, v in enumerate(series_values):
            x = left + int((j + 0.5) * slot)
            y = bottom - int(v / 100 * height)
            points.append((x, y))
            if drawing["style"] == "bar":
                w = max(2, int(slot * 0.35))
                offset = series * w
                draw.rectangle((x - w + offset, y, x + offset, bottom - 1), fill=palette[(j + series) % len(palette)])
        if drawing["style"] == "line":
            draw.line(points, fill=palette[series + 1], width=2)
            for x, y in points:
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=palette[series + 1])
    for j in range(len(values)):
        draw.text((left + int((j + 0.5) * slot) - 2, bottom + 3), chr(ord("A") + j), fill=(0, 0, 0), font=_font())


def _render_function_plot(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    unit = IMAGE_SIZE / 12.0
    centre = IMAGE_SIZE / 2.0
    for k in range(-6, 7):
        p = int(centre + k * unit)
        draw.line((p, 0, p, IMAGE_SIZE), fill=(225, 225, 225))
        draw.line((0, p, IMAGE_SIZE, p), fill=(225, 225, 225))
    draw.line((0, centre, IMAGE_SIZE, centre), fill=(0, 0, 0), width=1)
    draw.line((centre, 0, centre, IMAGE_SIZE), fill=(0, 0, 0), width=1)
    draw.text((IMAGE_SIZE - 9, centre + 2), "x", fill=(0, 0, 0), font=_font())
    draw.text((centre + 3, 1), "y", fill=(0, 0, 0), font=_font())
    xs = np.linspace(-6.0, 6.0, 97)
    curves = [(drawing["lead"], drawing["roots"], (41, 98, 255))]
    for _ in range(drawing["extra_curves"]):
        roots = sorted(rng.choice(np.arange(-5, 6), size=int(rng.integers(1, 3)), replace=False).tolist())
        curves.append((float(_pick(rng, (-1.0, 1.0))) * 0.5, roots, (214, 48, 49)))
    for lead, roots, color in curves:
        ys = lead * np.prod([xs - r for r in roots], axis=0)
        points = [(float(centre + x * unit), float(centre - y * unit)) for x, y in zip(xs, ys) if abs(y) < 7.5]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)


def _render_geometry(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    black = (0, 0, 0)
    if drawing["circle"]:
        c, r = IMAGE_SIZE // 2, IMAGE_SIZE // 2 - 16
        draw.ellipse((c - r, c - r, c + r, c + r), outline=black, width=2)
        angle = math.radians(float(rng.uniform(200, 340)))
        a, b = (c - r, c), (c + r, c)
        cpt = (int(c + r * math.cos(angle)), int(c + r * math.sin(angle)))
        points = {"A": a, "B": b, "C": cpt, "O": (c, c)}
        draw.line([a, b], fill=black, width=2)
        draw.line([a, cpt, b], fill=black, width=2)
        draw.ellipse((c - 2, c - 2, c + 2, c + 2), fill=black)
    else:
        jitter = rng.integers(-12, 13, size=6)
        a = (14 + int(jitter[0]), IMAGE_SIZE - 22 + int(jitter[1]) // 3)
        b = (IMAGE_SIZE - 16 + int(jitter[2]) // 3, IMAGE_SIZE - 24 + int(jitter[3]) // 3)
        cpt = (IMAGE_SIZE // 2 + int(jitter[4]) * 2, 22 + int(jitter[5]))
        points = {"A": a, "B": b, "C": cpt}
        draw.polygon([a, b, cpt], outline=black, width=2)
    for name, (x, y) in points.items():
        draw.text((x + 3, y + 2 if y > IMAGE_SIZE // 2 else y - 12), name, fill=black, font=_font())
    vertices = list(points.values())
    for k in range(drawing["extra_lines"]):
        p, q = vertices[int(rng.integers(len(vertices)))], vertices[int(rng.integers(len(vertices)))]
        t = float(rng.uniform(0.2, 0.8))
        foot = (int(p[0] + t * (q[0] - p[0])), int(p[1] + t * (q[1] - p[1])))
        other = vertices[int(rng.integers(len(vertices)))]
        draw.line([other, foot], fill=(90, 90, 90), width=1)
        draw.text((foot[0] + 2, foot[1] + 1), "DEFG"[k % 4], fill=black, font=_font())


def _render_counting(draw, rng, drawing, level):
    background = tuple(int(v) for v in rng.integers(225, 256, size=3))
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=background)
    _scatter_clutter(draw, rng, int(30 * level))
    grid = 7
    cell = IMAGE_SIZE // grid
    total = drawing["count"] + drawing["others"]
    slots = rng.choice(grid * grid, size=min(total, grid * grid), replace=False)
    target_color = _COLORS[drawing["color"]]
    other_colors = [c for name, c in _COLORS.items() if name != drawing["color"]]
    for k, slot in enumerate(slots):
        cx = int((slot % grid + 0.5) * cell + rng.integers(-3, 4))
        cy = int((slot // grid + 0.5) * cell + rng.integers(-3, 4))
        radius = int(rng.integers(5, cell // 2 - 1))
        if k < drawing["count"]:
            _draw_shape(draw, drawing["shape"], cx, cy, radius, target_color)
        else:
            shape = _pick(rng, _SHAPES)
            color = _pick(rng, other_colors) if shape == drawing["shape"] else _pick(rng, list(_COLORS.values()))
            _draw_shape(draw, shape, cx, cy, radius, color)


def _render_scene(draw, rng, drawing, level):
    horizon = _render_landscape(draw, rng, drawing["clutter"])
    road_top = IMAGE_SIZE // 2 - 10
    draw.polygon([(IMAGE_SIZE // 2 - 8, horizon), (IMAGE_SIZE // 2 + 8, horizon), (IMAGE_SIZE - 30, IMAGE_SIZE),
                  (30, IMAGE_SIZE)], fill=(110, 110, 110))
    tree_x = 18 if drawing["tree"] == "left" else IMAGE_SIZE - 22
    draw.rectangle((tree_x - 2, horizon, tree_x + 2, horizon + 28), fill=(100, 60, 30))
    draw.ellipse((tree_x - 12, horizon - 20, tree_x + 12, horizon + 6), fill=(30, 120, 40))
    if drawing["house"]:
        hx = IMAGE_SIZE // 2 + (30 if drawing["tree"] == "left" else -50)
        draw.rectangle((hx, horizon - 14, hx + 22, horizon + 8), fill=(200, 170, 130))
        draw.polygon([(hx - 3, horizon - 14), (hx + 11, horizon - 26), (hx + 25, horizon - 14)], fill=(150, 50, 40))
    cx, cy = IMAGE_SIZE // 2 - 12 + int(rng.integers(-6, 7)), max(road_top, horizon) + 30
    draw.rectangle((cx, cy, cx + 24, cy + 10), fill=_COLORS[drawing["car"]])
    draw.rectangle((cx + 5, cy - 6, cx + 19, cy), fill=_COLORS[drawing["car"]])
    draw.ellipse((cx + 2, cy + 7, cx + 8, cy + 13), fill=(20, 20, 20))
    draw.ellipse((cx + 16, cy + 7, cx + 22, cy + 13), fill=(20, 20, 20))


_RENDERERS = {
    "dense_text": _render_dense_text, "scene_text": _render_scene_text, "table": _render_table,
    "chart": _render_chart, "function_plot": _render_function_plot, "geometry": _render_geometry,
    "counting": _render_counting, "scene": _render_scene,
}


def _render_png(kind: str, drawing: dict, level: float, printed_question: str | None, rng) -> bytes:
    """PNG bytes of one instance's picture; a generic question has its real question printed in a top band."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    _RENDERERS[kind](draw, rng, drawing, level)
    if printed_question is not None:
        draw.rectangle((0, 0, IMAGE_SIZE, 25), fill=(255, 255, 255), outline=(120, 120, 120))
        words, lines = printed_question.split(), [""]
        for word in words:
            candidate = f"{lines[-1]} {word}".strip()
            if draw.textlength(candidate, font=_font()) > IMAGE_SIZE - 6 and lines[-1]:
                lines.append(word)
            else:
                lines[-1] = candidate
        for i, line in enumerate(lines[:2]):
            draw.text((3, 1 + 12 * i), line, fill=(0, 0, 0), font=_font())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------------------
# Tables and the output folder
# --------------------------------------------------------------------------------------------------------------------

def _build(scale: float, seed: int, outcome_sampling: str, image_sink=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    seed = _check_seed(seed)
    if outcome_sampling not in OUTCOME_SAMPLINGS:
        raise ValueError(f"outcome_sampling must be one of {OUTCOME_SAMPLINGS}, got {outcome_sampling!r}")
    latents = simulate_latents(scale, seed)
    probabilities = correctness_probabilities(latents, seed)
    outcomes = _draw_outcomes(probabilities, latents["dataset"].to_numpy(), seed, outcome_sampling)
    tokens = _draw_tokens(latents, outcomes, seed)

    n, n_models = len(latents), len(MODELS)
    questions, answers, predictions = [], [], np.empty((n, n_models), dtype=object)
    datasets, kinds = latents["dataset"].to_numpy(), latents["kind"].to_numpy()
    visual = latents["visual_complexity"].to_numpy(float)
    textual = latents["text_complexity"].to_numpy(float)
    generic, multiple_choice = latents["generic_question"].to_numpy(), latents["multiple_choice"].to_numpy()
    for i in range(n):
        rng = np.random.default_rng([seed, _STREAM_CONTENT, i])
        level = _normal_cdf(visual[i])
        content = _CONTENT_BUILDERS[kinds[i]](rng, level)
        question, answer, wrong = _compose_question(content, rng, bool(generic[i]), bool(multiple_choice[i]),
                                                    _normal_cdf(textual[i]))
        questions.append(question)
        answers.append(answer)
        picks = rng.integers(len(wrong), size=n_models)
        for k in range(n_models):
            predictions[i, k] = answer if outcomes[i, k] else wrong[picks[k]]
        if image_sink is not None:
            printed = content.question if generic[i] else None
            png = _render_png(kinds[i], content.drawing, level, printed,
                              np.random.default_rng([seed, _STREAM_RENDER, i]))
            image_sink(datasets[i], latents["dataset_idx"].iat[i], png)

    columns: dict[str, object] = {
        "dataset_idx": latents["dataset_idx"].to_numpy(),
        "question": questions,
        "answer": answers,
        "category": kinds,
    }
    for k, model in enumerate(MODELS):
        columns[f"{model}_correct"] = outcomes[:, k]
        columns[f"{model}_cost"] = tokens[:, k] * PRICE_PER_OUTPUT_TOKEN[model]
        columns[f"{model}_token"] = tokens[:, k]
        columns[f"{model}_prediction"] = predictions[:, k]
    table = pd.DataFrame(columns)
    audit = latents.copy()
    for k, model in enumerate(MODELS):
        audit[f"{model}_p_correct"] = probabilities[:, k]
    return table, audit


def simulate_tables(scale: float = 1.0, seed: int = 0,
                    outcome_sampling: str = "systematic") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark table (official MMR-Bench schema) and the latent audit table, without rendering images.

    Identical to the CSVs :func:`simulate_benchmark` writes for the same arguments.
    """
    return _build(scale, seed, outcome_sampling)


def benchmark_columns() -> list[str]:
    """Column names of ``MMR-Bench.csv`` in order (official schema)."""
    columns = ["dataset_idx", "question", "answer", "category"]
    for model in MODELS:
        columns += [f"{model}_correct", f"{model}_cost", f"{model}_token", f"{model}_prediction"]
    return columns


def _simulated_note(scale: float, seed: int, sizes: dict[str, int], outcome_sampling: str) -> str:
    return (
        "# SIMULATED DATA - NOT THE MMR-Bench RELEASE\n\n"
        "Everything in this folder was generated by `mmr_utils.sources.simulator` "
        f"(version {GENERATOR_VERSION}, seed {seed}, scale {scale}, outcome sampling `{outcome_sampling}`).\n"
        "The table follows the official MMR-Bench schema (`MMR-Bench.csv` + `images/<dataset>/<n>.png`), but its "
        "questions, images, correctness, token counts and costs are synthetic. Per-model per-dataset accuracies are "
        "calibrated in expectation to the published figures of Ma, Lai & Ye (2026, arXiv 2601.17814) and mean costs "
        "to simulation prices; nothing here is a measurement of any real model. Do not cite numbers computed from it "
        "as MMR-Bench results.\n\n"
        f"Instances: {sum(sizes.values())} ({', '.join(f'{d} {n}' for d, n in sizes.items())}).\n"
        "`latent.csv` holds the hidden variables (kind, difficulty parts, skill needs, P(correct)) for audits.\n"
    )


def simulate_benchmark(out_dir: str | Path = paths.SIMULATED, scale: float = 1.0, seed: int = 0,
                       outcome_sampling: str = "systematic") -> Path:
    """Write the simulated benchmark folder atomically and return its path.

    Writes ``MMR-Bench.csv`` (official schema, :func:`benchmark_columns`), ``images/<Folder>/<n>.png``,
    ``latent.csv``, ``SIMULATED.md`` and ``provenance.json`` (``"simulated": true``) into ``out_dir``, replacing an
    existing folder only once the new one is complete.
    """
    out_dir = Path(out_dir)
    sizes = dataset_sizes(scale)
    seed = _check_seed(seed)
    with atomic_directory(out_dir) as tmp:
        for dataset in DATASET_SIZES:
            (tmp / "images" / IMAGE_FOLDERS[dataset]).mkdir(parents=True)

        def write_image(dataset: str, dataset_idx: str, png: bytes) -> None:
            number = dataset_idx.rsplit("_", 1)[1]
            (tmp / "images" / IMAGE_FOLDERS[dataset] / f"{number}.png").write_bytes(png)

        table, audit = _build(scale, seed, outcome_sampling, image_sink=write_image)
        table.to_csv(tmp / "MMR-Bench.csv", index=False)
        audit.to_csv(tmp / "latent.csv", index=False)
        (tmp / "SIMULATED.md").write_text(_simulated_note(scale, seed, sizes, outcome_sampling), encoding="utf-8")
        provenance = {
            "simulated": True,
            "generator": "mmr_utils.sources.simulator",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "scale": float(scale),
            "outcome_sampling": outcome_sampling,
            "dataset_sizes": sizes,
            "n_instances": int(sum(sizes.values())),
            "models": MODELS,
            "image_size": IMAGE_SIZE,
            "target_accuracy": TARGET_ACCURACY,
            "target_mean_cost_usd": TARGET_MEAN_COST,
            "price_per_output_token_usd": PRICE_PER_OUTPUT_TOKEN,
            "paper": "Ma, Lai, Ye (2026) MMR-Bench, arXiv 2601.17814 (accuracy targets only; data are synthetic)",
        }
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m mmr_utils.sources.simulator --out DIR --scale 1.0 --seed 0``."""
    parser = argparse.ArgumentParser(prog="python -m mmr_utils.sources.simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=paths.SIMULATED, help="output folder (replaced atomically)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each dataset's size, in (0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outcome-sampling", choices=OUTCOME_SAMPLINGS, default="systematic")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = simulate_benchmark(args.out, scale=args.scale, seed=args.seed, outcome_sampling=args.outcome_sampling)
    table = pd.read_csv(out / "MMR-Bench.csv")
    print(f"wrote SIMULATED benchmark to {out} in {time.perf_counter() - started:.1f} s")
    print(f"  MMR-Bench.csv: {len(table)} rows x {table.shape[1]} columns; images under {out / 'images'}")
    print(f"  latent.csv, SIMULATED.md, provenance.json (seed {args.seed}, scale {args.scale})")
    for model in MODELS:
        print(f"  {model:26s} accuracy {table[f'{model}_correct'].mean():6.1%}  "
              f"mean cost {1e3 * table[f'{model}_cost'].mean():.3f}e-3 USD")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
