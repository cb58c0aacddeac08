"""Calibration of the simulator: the paper's datasets, sizes, scenarios and model pool (Sec. 3), the published
per-model per-dataset accuracies the outcomes are calibrated to, the simulated costs, and every constant of the
generative model (docs/simulator.md). Everything here is data; nothing draws random numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from mmr_utils.data.datasets import image_folder_of, scenario_of
from mmr_utils.data.paper import PAPER_LEARNED, PAPER_TABLE2, PAPER_TABLE2_DATASETS

GENERATOR_VERSION = "2.7.0"

#: Full-scale dataset sizes (paper Sec. 3; 10,370 instances in all).
DATASET_SIZES: dict[str, int] = {
    "OCRBench": 1000, "SEEDBench2_Plus": 2277, "MMStar": 1500, "RealWorldQA": 765, "MathVista": 1000, "MathVerse": 788,
    "MathVision": 3040,
}
#: Dataset -> scenario of the paper's taxonomy (OCR, General VQA, Math), from the shared dataset registry.
SCENARIOS: dict[str, str] = {d: scenario_of(d) for d in DATASET_SIZES}
#: Dataset -> folder under ``images/`` (the official release spells SEEDBench2_Plus as SEEDBenchv2Plus).
IMAGE_FOLDERS: dict[str, str] = {d: image_folder_of(d) for d in DATASET_SIZES}
#: The model pool, in the column order of the official table.
MODELS: list[str] = [
    "Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL-72B-Instruct", "InternVL3-78B", "Gemma3-4B",
    "Claude3-7V_Sonnet", "gpt-5-nano-2025-08-07", "GeminiPro2-5", "gpt-5-2025-08-07", "GeminiFlash2-5",
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
#: Paper Table 2 reference rows (Ps on its 80% test split), per dataset and on the full set ("Full").
PAPER_RANDOM_PS: dict[str, float] = {
    "OCRBench": 0.8075, "SEEDBench2_Plus": 0.7102, "MMStar": 0.6942, "RealWorldQA": 0.7108,
    "MathVista": 0.6688, "MathVerse": 0.4800, "MathVision": 0.3927, "Full": 0.6135,
}
PAPER_ORACLE_PS: dict[str, float] = {
    "OCRBench": 0.9825, "SEEDBench2_Plus": 0.8913, "MMStar": 0.9650, "RealWorldQA": 0.9853,
    "MathVista": 0.9475, "MathVerse": 0.8954, "MathVision": 0.8741, "Full": 0.9188,
}
PAPER_BEST_SINGLE_PS: dict[str, float] = {
    "OCRBench": 0.9050, "SEEDBench2_Plus": 0.7502, "MMStar": 0.7716, "RealWorldQA": 0.8235,
    "MathVista": 0.8037, "MathVerse": 0.7194, "MathVision": 0.6932, "Full": 0.7412,
}
#: Fraction of each dataset in the paper's test split (Table 2 is scored there; used for its sampling noise).
PAPER_TEST_FRACTION = 0.8
#: Trials of the official Random router; each trial is one frontier point, so its Ps is the best of the trials.
RANDOM_TRIALS = 50
#: The fitted parameters written by the calibration step (:mod:`.learnable`) with its settings and targets met.
FITTED_FILE: Path = Path(__file__).with_name("fitted_parameters.json")
#: Keys of :data:`FITTED_FILE` that hold one value per dataset (``random_peak_excess`` also has ``"Full"``).
FITTED_KEYS: tuple[str, ...] = ("learnable_signal", "shared_effect_sd", "random_peak_excess")


def read_fitted(path: Path = FITTED_FILE) -> dict:
    """The fitted parameters stored in ``path`` (:data:`FITTED_FILE`), checked: every key of :data:`FITTED_KEYS`
    present, with one finite number per dataset (and ``"Full"`` for the Random peak excess)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read the simulator's fitted parameters ({error}); re-run the calibration "
                         f"step: python -m mmr_utils.experiments.learnable_signal") from error
    for key in FITTED_KEYS:
        groups = [*DATASET_SIZES, "Full"] if key == "random_peak_excess" else list(DATASET_SIZES)
        values = data.get(key)
        if not isinstance(values, dict) or sorted(values) != sorted(groups):
            raise ValueError(f"{path}: {key!r} must map exactly {groups} to numbers, got {values!r}")
        bad = {g: v for g, v in values.items() if not isinstance(v, (int, float)) or not math.isfinite(v)}
        if bad:
            raise ValueError(f"{path}: {key!r} has non-numeric or non-finite values {bad}")
    return data


_FITTED = read_fitted()
#: Group -> expected excess of the official Random Ps (best of :data:`RANDOM_TRIALS` trials) over the models' mean
#: accuracy on the 80% test split. FITTED: :func:`~.fitting.random_peak_excess` of the calibrated table; it turns the
#: paper's Random row into the mean accuracy it implies (:func:`implied_random_mean`).
RANDOM_PEAK_EXCESS: dict[str, float] = dict(_FITTED["random_peak_excess"])
#: gpt-5-nano is kept at least this far below the dataset's best published model, so it never becomes Best Single.
NANO_MARGIN_BELOW_BEST = 0.01
#: The six datasets of the paper's Figure 4 (its single-model points match the union without MathVision, PAPER.md).
FIG4_DATASETS: tuple[str, ...] = tuple(d for d in DATASET_SIZES if d != "MathVision")
#: gpt-5-nano's Figure-4 point (read off the figure, cost within about 0.1e-3): accuracy, mean USD per call.
PAPER_NANO_FIG4: dict[str, float] = {"accuracy": 0.694, "mean_cost": 0.74e-3}
#: Tolerances for nano's Figure-4 point: absolute for the accuracy, relative for the mean cost.
NANO_FIG4_TOLERANCE: dict[str, float] = {"accuracy": 0.02, "mean_cost": 0.20}
#: The published model nano's per-dataset profile is shaped after (see :func:`_nano_profile`).
NANO_SHAPE_MODEL = "gpt-5-2025-08-07"


def implied_random_mean(peak_excess: dict[str, float] | None = None) -> dict[str, float]:
    """Group -> the 10 models' mean accuracy making the official Random Ps (best of 50 trials, 80% test split) equal the
    paper's Random row in expectation: ``PAPER_RANDOM_PS[g] - peak_excess[g]`` (default :data:`RANDOM_PEAK_EXCESS`)."""
    excess = RANDOM_PEAK_EXCESS if peak_excess is None else peak_excess
    return {g: PAPER_RANDOM_PS[g] - excess[g] for g in PAPER_RANDOM_PS}


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _nano_profile(published: dict[str, dict[str, float]]) -> tuple[dict[str, float], float]:
    """(profile, shift): gpt-5-nano's per-dataset accuracy, unpublished. ASSUMPTION (docs/simulator.md): GPT-5's profile
    shifted in logit, ``sigmoid(logit(gpt5_d) + shift)``, ``shift`` bisected to the Figure-4 accuracy
    :data:`PAPER_NANO_FIG4` (size-weighted, :data:`FIG4_DATASETS`), capped :data:`NANO_MARGIN_BELOW_BEST` under each
    best."""
    shape = published[NANO_SHAPE_MODEL]
    sizes = {d: DATASET_SIZES[d] for d in FIG4_DATASETS}
    target = PAPER_NANO_FIG4["accuracy"]

    def profile(shift: float) -> dict[str, float]:
        out = {}
        for d in DATASET_SIZES:
            best = max(row[d] for row in published.values())
            out[d] = min(1.0 / (1.0 + math.exp(-(_logit(shape[d]) + shift))), best - NANO_MARGIN_BELOW_BEST)
        return out

    def fig4_mean(shift: float) -> float:
        nano = profile(shift)
        return sum(sizes[d] * nano[d] for d in sizes) / sum(sizes.values())

    low, high = -5.0, 0.0  # fig4_mean is increasing in shift
    if not fig4_mean(low) <= target <= fig4_mean(high):
        raise ValueError(f"nano's Figure-4 accuracy {target} is outside what a logit shift of {NANO_SHAPE_MODEL}'s "
                         f"profile in [{low}, {high}] reaches ([{fig4_mean(low):.3f}, {fig4_mean(high):.3f}])")
    for _ in range(80):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if fig4_mean(mid) < target else (low, mid)
    shift = 0.5 * (low + high)
    return profile(shift), shift


def _target_accuracy() -> tuple[dict[str, dict[str, float]], float]:
    published = {m: {d: p / 100.0 for d, p in zip(_PUBLISHED_ORDER, row)} for m, row in _PUBLISHED_PERCENT.items()}
    nano, shift = _nano_profile(published)
    published["gpt-5-nano-2025-08-07"] = nano
    return {m: {d: published[m][d] for d in DATASET_SIZES} for m in MODELS}, shift


#: Model -> dataset -> expected accuracy (fraction) the simulator is calibrated to.
TARGET_ACCURACY: dict[str, dict[str, float]]
#: The logit shift of nano's profile from GPT-5's (see :func:`_nano_profile`).
NANO_LOGIT_SHIFT: float
TARGET_ACCURACY, NANO_LOGIT_SHIFT = _target_accuracy()

#: Model -> mean cost per call in USD the simulator is calibrated to (near the paper's cost figure).
TARGET_MEAN_COST: dict[str, float] = {
    "Qwen2.5-VL-3B-Instruct": 0.022e-3, "Qwen2.5-VL-7B-Instruct": 0.10e-3, "Qwen2.5-VL-72B-Instruct": 0.24e-3,
    "InternVL3-78B": 0.028e-3, "Gemma3-4B": 0.016e-3, "Claude3-7V_Sonnet": 3.0e-3, "gpt-5-nano-2025-08-07": 0.74e-3,
    "GeminiPro2-5": 4.4e-3, "gpt-5-2025-08-07": 3.9e-3, "GeminiFlash2-5": 2.3e-3,
}
#: Model -> USD per output token (with the verbosities they give the mean costs above).
PRICE_PER_OUTPUT_TOKEN: dict[str, float] = {
    "Qwen2.5-VL-3B-Instruct": 8.0e-8, "Qwen2.5-VL-7B-Instruct": 3.0e-7, "Qwen2.5-VL-72B-Instruct": 8.0e-7,
    "InternVL3-78B": 1.0e-7, "Gemma3-4B": 6.0e-8, "Claude3-7V_Sonnet": 1.5e-5, "gpt-5-nano-2025-08-07": 4.0e-7,
    "GeminiPro2-5": 1.0e-5, "gpt-5-2025-08-07": 1.0e-5, "GeminiFlash2-5": 2.5e-6,
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
    "Qwen2.5-VL-3B-Instruct": 1.4, "Qwen2.5-VL-7B-Instruct": 1.2, "Qwen2.5-VL-72B-Instruct": 0.9, "InternVL3-78B": 0.9,
    "Gemma3-4B": 1.4, "Claude3-7V_Sonnet": 0.9, "gpt-5-nano-2025-08-07": 1.0, "GeminiPro2-5": 0.75,
    "gpt-5-2025-08-07": 0.7, "GeminiFlash2-5": 0.85,
}
#: Scale of the kind/skill part of the logit, kept small: the kind is readable from both channels alike.
SKILL_WEIGHT = 0.5
IDIOSYNCRATIC_SD = 0.5
#: The text-only cue: the response style the prompt asks for (terse to rigorous), one preamble per level (two
#: paraphrases: an opener and the style's common body) opening the question text, never printed in the image; it is
#: the largest factor of the text channel, so KMeans clusters resolve it (docs/simulator.md).
_STYLE_BODIES = {
    "terse": ("Speed is everything here and nobody will read a justification: skip any greeting, skip any caveat, "
              "skip any restatement of the task, do not think aloud and do not show steps. A single word, letter or "
              "value is the ideal reply, with no commentary before or after it."),
    "plain": ("There is no special format to follow and no particular length to aim for; nothing about this item is "
              "unusual and no extra instructions apply beyond the question itself. Respond in your customary manner, "
              "with whatever level of detail you would ordinarily consider appropriate."),
    "explained": ("Use friendly everyday language, avoid jargon, say what to look at first and why it matters, and "
                  "point out how the pieces fit together. The student should come away understanding the idea, not "
                  "only the result, so keep the explanation gentle, clear and encouraging, then state the answer."),
    "rigorous": ("State every assumption explicitly, justify each inference, number the steps, consider edge cases "
                 "and competing readings, recompute every quantity a second way and audit the logic once more at the "
                 "end. Precision and verification outweigh speed; conclude with the verified final answer."),
}
_STYLE_OPENERS = {
    "terse": ("Quick lookup for a busy colleague: reply instantly with the bare answer.",
              "Rapid-fire quiz round: blurt out only the final answer."),
    "plain": ("Please answer the following request in an ordinary, neutral way.",
              "Here is a routine question from a standard evaluation set."),
    "explained": ("You are a patient teacher explaining your reasoning to a curious student.",
                  "Imagine tutoring a beginner and walking them through the answer."),
    "rigorous": ("Rigorous mode: derive the result formally, step by numbered step.",
                 "Careful proof required: reason methodically through every step."),
}
TEXT_CUE_STYLES: dict[str, tuple[str, ...]] = {
    style: tuple(f"{opener} {_STYLE_BODIES[style]}" for opener in openers) for style, openers in _STYLE_OPENERS.items()
}
#: The image-only cue: how the picture was degraded (``render._degrade``), never in the text; the image's main factor.
IMAGE_CUE_QUALITIES: tuple[str, ...] = ("clean", "faded", "noisy", "blurred")
#: Standardised value of cue level 0..3 (equally spaced, mean 0 and variance 1 under uniform levels).
CUE_LEVEL_VALUES: tuple[float, ...] = tuple(v / (1.25 ** 0.5) for v in (-1.5, -0.5, 0.5, 1.5))
#: Model-specific logit per unit cue (rows sum to about 0: the cues change which model is best, not how hard the item
#: is): ``text`` (positive: gains from long reasoning), ``image`` (positive: robust to degraded pictures) and ``joint``
#: (the product of both cue values, readable only from text and image together).
CUE_LOADINGS: dict[str, dict[str, float]] = {
    "image": {
        "Qwen2.5-VL-3B-Instruct": -0.2, "Qwen2.5-VL-7B-Instruct": 0.2, "Qwen2.5-VL-72B-Instruct": 0.6,
        "InternVL3-78B": 0.8, "Gemma3-4B": -0.8, "Claude3-7V_Sonnet": -0.6, "gpt-5-nano-2025-08-07": -0.6,
        "GeminiPro2-5": 0.4, "gpt-5-2025-08-07": -0.4, "GeminiFlash2-5": 0.6,
    },
    "text": {
        "Qwen2.5-VL-3B-Instruct": -0.8, "Qwen2.5-VL-7B-Instruct": -0.5, "Qwen2.5-VL-72B-Instruct": 0.0,
        "InternVL3-78B": -0.6, "Gemma3-4B": -0.4, "Claude3-7V_Sonnet": 0.8, "gpt-5-nano-2025-08-07": 0.4,
        "GeminiPro2-5": 0.2, "gpt-5-2025-08-07": 0.8, "GeminiFlash2-5": 0.1,
    },
    "joint": {
        "Qwen2.5-VL-3B-Instruct": 0.3, "Qwen2.5-VL-7B-Instruct": -0.3, "Qwen2.5-VL-72B-Instruct": -0.6,
        "InternVL3-78B": 0.4, "Gemma3-4B": 0.5, "Claude3-7V_Sonnet": -0.5, "gpt-5-nano-2025-08-07": 0.6,
        "GeminiPro2-5": -0.4, "gpt-5-2025-08-07": 0.5, "GeminiFlash2-5": -0.5,
    },
}
#: Dataset -> scale (logit) of the routing signal readable only from the text, only from the image, and only from
#: both; the image share is largest where the question lives in the image (paper Sec. 5.3). How these weights were
#: reached: docs/simulator.md; the overall size: :data:`LEARNABLE_SIGNAL`.
CUE_WEIGHTS: dict[str, dict[str, float]] = {
    "OCRBench": {"text": 0.6, "image": 2.55, "joint": 2.4},
    "SEEDBench2_Plus": {"text": 1.98, "image": 0.935, "joint": 1.32},
    "MMStar": {"text": 1.98, "image": 0.935, "joint": 1.32},
    "RealWorldQA": {"text": 1.98, "image": 0.935, "joint": 1.32},
    "MathVista": {"text": 1.98, "image": 0.935, "joint": 1.32},
    "MathVerse": {"text": 0.99, "image": 1.64, "joint": 1.32},
    "MathVision": {"text": 1.98, "image": 0.935, "joint": 1.32},
}
#: Dataset -> sd of the shared item effect on all models' logits, FITTED to the Oracle row (:func:`.fitting.calibrate`).
SHARED_EFFECT_SD: dict[str, float] = dict(_FITTED["shared_effect_sd"])
#: Dataset -> factor on the logit's readable, model-specific part; FITTED by :mod:`.learnable` to Table 2's routers.
LEARNABLE_SIGNAL: dict[str, float] = dict(_FITTED["learnable_signal"])
CALIBRATION_SCALE = 1.0
CALIBRATION_SEED = 0
#: Variance shares of the visual, textual and hidden parts of the difficulty.
DIFFICULTY_SHARES: tuple[float, float, float] = (0.5, 0.3, 0.2)
#: Dataset -> fraction of questions worded generically (their kind is visible only in the image). MathVerse is the
#: Vision-Only subset (every question is printed in the image); OCRBench questions mostly say "what is written".
GENERIC_QUESTION_RATE: dict[str, float] = {
    "OCRBench": 0.6, "SEEDBench2_Plus": 0.2, "MMStar": 0.2, "RealWorldQA": 0.2,
    "MathVista": 0.2, "MathVerse": 1.0, "MathVision": 0.15,
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
_REASONING_MODELS = {"gpt-5-nano-2025-08-07", "GeminiPro2-5", "gpt-5-2025-08-07", "GeminiFlash2-5", "Claude3-7V_Sonnet"}
#: Model -> log-length increase per unit difficulty (reasoning models think longer on hard items).
TOKEN_DIFFICULTY_SLOPE: dict[str, float] = {m: (0.5 if m in _REASONING_MODELS else 0.25) for m in MODELS}
TOKEN_NOISE_SD = 0.45
WRONG_ANSWER_TOKEN_LOG_FACTOR = 0.15
IMAGE_SIZE = 160
MIN_ITEMS_PER_DATASET = 5
OUTCOME_SAMPLINGS = ("systematic", "bernoulli")

# Random streams, one per purpose (np.random.default_rng([seed, stream, ...])).
(_STREAM_LATENT, _STREAM_NOISE, _STREAM_OUTCOME, _STREAM_TOKENS, _STREAM_CONTENT, _STREAM_RENDER,
 _STREAM_SHARED, _STREAM_CUES) = range(11, 19)


def dataset_sizes(scale: float = 1.0) -> dict[str, int]:
    """Number of instances per dataset at ``scale`` (proportional, at least ``MIN_ITEMS_PER_DATASET``)."""
    if not (isinstance(scale, (int, float)) and 0.0 < float(scale) <= 1.0):
        raise ValueError(f"scale must be a number in (0, 1], got {scale!r}")
    return {d: max(MIN_ITEMS_PER_DATASET, int(round(n * float(scale)))) for d, n in DATASET_SIZES.items()}


#: Targets and tolerances of the calibration (the fidelity goals for the learned routers).
TARGETS: dict[str, float] = {
    "ps_tolerance": 0.02,  # a learned-router Ps cell counts as met within this of the paper
    "ps_cells_within": 24,  # ... and at least this many of the 32 cells (7 datasets + full set, 4 routers) must be
    "ps_max_difference": 0.04,  # every cell within this
    "gain_tolerance": 0.01,  # full-set gain over the best single model, per router, within this of the paper's
    "search_tolerance": 0.004,  # the fit stops on a dataset when its mean gap is this small
}


def against_targets(ps_differences, gain_differences) -> dict:
    """How learned-router Ps differences and full-set gain differences (here minus paper) meet :data:`TARGETS`: the
    Ps cells within ``ps_tolerance``, the largest, the gains within ``gain_tolerance``, and whether each target is
    met (the Ps count scaled to the cells given, of the 32 in Table 2). NaN differences (cells not run) are left out."""
    ps = np.abs(np.asarray(ps_differences, dtype=float))
    ps = ps[~np.isnan(ps)]
    gains = np.abs(np.asarray(gain_differences, dtype=float))
    gains = gains[~np.isnan(gains)]
    within = int((ps <= TARGETS["ps_tolerance"]).sum())
    largest = float(ps.max()) if len(ps) else float("nan")
    return {"ps_cells": int(len(ps)), "ps_cells_within": within, "ps_max_abs_difference": largest,
            "ps_cells_met": bool(len(ps) and within >= TARGETS["ps_cells_within"] * len(ps) / 32
                                 and largest <= TARGETS["ps_max_difference"]),
            "gains_within": int((gains <= TARGETS["gain_tolerance"]).sum()),
            "gains_met": bool(len(gains) and (gains <= TARGETS["gain_tolerance"]).all())}


def paper_learned_ps() -> dict[tuple[str, str], float]:
    """(router, dataset) -> the paper's Table 2 Ps of the four learned routers on the seven datasets and ``"All"``."""
    return {(router, dataset): float(values[1])
            for router in PAPER_LEARNED
            for dataset, values in zip(PAPER_TABLE2_DATASETS, PAPER_TABLE2[router])}


def paper_full_gains() -> dict[str, float]:
    """Router -> the paper's full-set Ps of the router minus the best single model's (Table 2, "Full")."""
    ps = paper_learned_ps()
    return {router: ps[(router, "All")] - PAPER_BEST_SINGLE_PS["Full"] for router in PAPER_LEARNED}
