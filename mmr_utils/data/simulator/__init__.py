"""Deterministic simulator of MMR-Bench: an outcome table in the official schema plus rendered images.

THE FIGURES THIS MODULE WRITES ARE SIMULATED, NOT THE PAPER'S MEASUREMENTS. The simulator reproduces the *shape* of
MMR-Bench (paper Sec. 3): its 7 datasets at their real sizes in three scenarios, its 10 models, per-model accuracies
calibrated to the published table and mean costs near the paper's, so that every router, budget sweep and plot runs
end to end without the official download. Every output folder says so in ``SIMULATED.md`` and ``provenance.json``.

The generative model (latent kinds, difficulties and modality cues; correctness logits with a fitted shared effect and
a fitted learnable-signal strength per dataset; token-based costs), its assumptions (gpt-5-nano's per-dataset split)
and how it was calibrated are described in ``docs/simulator.md``.

Modules: :mod:`.calibration` (the paper's targets and every constant), :mod:`.fitting` (the Oracle fit and the
achieved-vs-target table), :mod:`.learnable` (the calibration step for the learnable signal), :mod:`.outcomes` (latents,
P(correct), outcomes and tokens), :mod:`.content` (questions and answers), :mod:`.render` (pictures) and
:mod:`.benchmark` (tables and the output folder). Command line: ``python -m mmr_utils data --out DIR --scale 1.0``.
"""

from __future__ import annotations

from mmr_utils.data.simulator.benchmark import benchmark_columns, simulate_benchmark, simulate_tables
from mmr_utils.data.simulator.calibration import (
    CALIBRATION_SCALE,
    CALIBRATION_SEED,
    CUE_LEVEL_VALUES,
    CUE_LOADINGS,
    CUE_WEIGHTS,
    DATASET_SIZES,
    DIFFICULTY_SHARES,
    DIFFICULTY_SLOPE,
    GENERATOR_VERSION,
    GENERIC_QUESTION_RATE,
    IDIOSYNCRATIC_SD,
    IMAGE_CUE_QUALITIES,
    IMAGE_FOLDERS,
    IMAGE_SIZE,
    KIND_MIX,
    KIND_NEEDS,
    KIND_TOKEN_LOG_FACTOR,
    KINDS,
    MIN_ITEMS_PER_DATASET,
    MODEL_SKILLS,
    MODELS,
    MULTIPLE_CHOICE_RATE,
    NANO_MARGIN_BELOW_BEST,
    NANO_FIG4_TOLERANCE,
    NANO_LOGIT_SHIFT,
    PAPER_NANO_FIG4,
    FIG4_DATASETS,
    FITTED_FILE,
    LEARNABLE_SIGNAL,
    OUTCOME_SAMPLINGS,
    PAPER_BEST_SINGLE_PS,
    PAPER_ORACLE_PS,
    PAPER_RANDOM_PS,
    PAPER_TEST_FRACTION,
    PRICE_PER_OUTPUT_TOKEN,
    RANDOM_PEAK_EXCESS,
    RANDOM_TRIALS,
    SCENARIOS,
    SHARED_EFFECT_SD,
    SKILL_WEIGHT,
    SKILLS,
    TARGET_ACCURACY,
    TARGET_MEAN_COST,
    TEXT_CUE_STYLES,
    TOKEN_DIFFICULTY_SLOPE,
    TOKEN_NOISE_SD,
    WRONG_ANSWER_TOKEN_LOG_FACTOR,
    dataset_sizes,
)
from mmr_utils.data.simulator.fitting import (
    achieved_vs_target,
    calibrate,
    random_row_conflicts,
    random_peak_excess,
)
from mmr_utils.data.simulator.outcomes import (
    correctness_probabilities,
    expected_accuracy,
    expected_oracle,
    simulate_latents,
)

__all__ = [
    "CALIBRATION_SCALE",
    "CALIBRATION_SEED",
    "CUE_LEVEL_VALUES",
    "CUE_LOADINGS",
    "CUE_WEIGHTS",
    "DATASET_SIZES",
    "DIFFICULTY_SHARES",
    "DIFFICULTY_SLOPE",
    "GENERATOR_VERSION",
    "GENERIC_QUESTION_RATE",
    "IDIOSYNCRATIC_SD",
    "IMAGE_CUE_QUALITIES",
    "IMAGE_FOLDERS",
    "IMAGE_SIZE",
    "KINDS",
    "KIND_MIX",
    "KIND_NEEDS",
    "KIND_TOKEN_LOG_FACTOR",
    "MIN_ITEMS_PER_DATASET",
    "MODELS",
    "MODEL_SKILLS",
    "MULTIPLE_CHOICE_RATE",
    "NANO_MARGIN_BELOW_BEST",
    "NANO_FIG4_TOLERANCE",
    "NANO_LOGIT_SHIFT",
    "PAPER_NANO_FIG4",
    "FIG4_DATASETS",
    "FITTED_FILE",
    "LEARNABLE_SIGNAL",
    "OUTCOME_SAMPLINGS",
    "PAPER_BEST_SINGLE_PS",
    "PAPER_ORACLE_PS",
    "PAPER_RANDOM_PS",
    "PAPER_TEST_FRACTION",
    "PRICE_PER_OUTPUT_TOKEN",
    "RANDOM_PEAK_EXCESS",
    "RANDOM_TRIALS",
    "SCENARIOS",
    "SHARED_EFFECT_SD",
    "SKILLS",
    "SKILL_WEIGHT",
    "TARGET_ACCURACY",
    "TARGET_MEAN_COST",
    "TEXT_CUE_STYLES",
    "TOKEN_DIFFICULTY_SLOPE",
    "TOKEN_NOISE_SD",
    "WRONG_ANSWER_TOKEN_LOG_FACTOR",
    "achieved_vs_target",
    "benchmark_columns",
    "calibrate",
    "correctness_probabilities",
    "dataset_sizes",
    "expected_accuracy",
    "expected_oracle",
    "random_row_conflicts",
    "random_peak_excess",
    "simulate_benchmark",
    "simulate_latents",
    "simulate_tables",
]
