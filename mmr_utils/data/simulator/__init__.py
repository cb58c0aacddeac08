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
  the image.") and the actual question, with its extra conditions, is printed in a band at the top of the image
  (MathVerse is Vision-Only: every question; OCRBench: most), so the kind and ``z_text`` are visible only in the image;
  otherwise a kind-specific template is used (keywords such as "angle", "how many", "read the text", "table"), some of
  them ambiguous across kinds ("What is the value for X?" fits a chart and a table; "how many times does the graph
  cross" is a function plot). With probability ``MULTIPLE_CHOICE_RATE[d]`` four options are appended and the answer is
  a letter. Text-only, image-only and fused features therefore each carry some but not all of the signal.
* Modality cues. Two independent uniform levels 0..3 per instance: the *response style* the prompt asks for
  (:data:`TEXT_CUE_STYLES`: terse, plain, explained, rigorous), written as a preamble that opens the question
  text and never in the image, and the *picture quality* (:data:`IMAGE_CUE_QUALITIES`: clean, faded,
  noisy, blurred), applied to the whole rendered image and never mentioned in the text. Their standardised values
  ``u_i`` (text) and ``q_i`` (image) are :data:`CUE_LEVEL_VALUES`.
* Correctness. ``logit_im = a_md + SKILL_WEIGHT * need_i . skill_m - DIFFICULTY_SLOPE[m] * difficulty_i
  + w_d^text t_m u_i + w_d^image v_m q_i + w_d^joint j_m u_i q_i - sigma_d z_shared + eps_im``. The cue terms
  (loadings ``t_m, v_m, j_m`` in :data:`CUE_LOADINGS`, each summing to about 0 over models) decide *which* model is
  best: ``u_i`` is readable only from the text, ``q_i`` only from the image, and their product only from both, so
  text-only, image-only and fused features each carry a different part of the routing signal. The per-dataset
  weights :data:`CUE_WEIGHTS` put the largest image share where the question lives in the image (MathVerse
  Vision-Only, OCRBench), as the paper's modality study (Sec. 5.3) finds. The kind is readable from the image on
  every item and from the text on most (not on generic questions), so it does not separate the channels; since
  2.2.0 its weight :data:`SKILL_WEIGHT` is small and the two single-channel cue terms are the large, additive part
  of the model-to-model differences (the product term a small one), so fused features beat either channel alone.
  2.3.0 scales every cue weight by 0.55 so that the learned routers' gains over the best single model come nearer
  the paper's Table 2 (at 2.2.0's weights they beat it by up to 0.10 in Ps).
  ``z_shared ~ N(0, 1)`` is a hidden item effect common to all models; its per-dataset scale ``sigma_d`` (:data:`SHARED_EFFECT_SD`) sets how correlated
  the models' errors are and is FITTED by :func:`calibrate` so that the expected Oracle Ps matches the paper's Table 2
  Oracle row. ``eps_im ~ N(0, IDIOSYNCRATIC_SD^2)`` is unobservable. The intercept ``a_md`` is solved by bisection so
  that the mean of ``p_im = sigmoid(logit_im)`` over the dataset's instances equals ``TARGET_ACCURACY[m][d]`` exactly
  (at any scale). Outcomes are then drawn with marginal probability exactly ``p_im``: by default with systematic
  sampling in a random order per (model, dataset) (``outcome_sampling="systematic"``), which makes the realised number
  correct equal the expected number rounded up or down, i.e. realised accuracy within 1/n_d of the target (0.13 points
  on RealWorldQA); ``outcome_sampling="bernoulli"`` draws independent coins instead (binomial error, about 1.8 points
  standard deviation on RealWorldQA).
* Cost. Output tokens ``t_im = max(1, round(b_m * exp(KIND_TOKEN_LOG_FACTOR[kind] + TOKEN_DIFFICULTY_SLOPE[m] *
  difficulty_i + 0.15 [wrong] + TOKEN_NOISE_SD * e)))`` (math reasoning long, OCR short, harder and failed items
  longer), ``cost_im = t_im * PRICE_PER_OUTPUT_TOKEN[m]``. The verbosity ``b_m`` is solved so that the model's mean
  cost over the simulated benchmark equals ``TARGET_MEAN_COST[m]`` before rounding.

gpt-5-nano's accuracies are not in the published table: the paper's Figure 4 places it at about 0.694 accuracy and
0.74e-3 USD per call on the six datasets without MathVision. ASSUMPTION for the per-dataset split the paper does not
give: nano's profile is GPT-5's shifted by one common amount on the logit scale (:data:`NANO_LOGIT_SHIFT`), solved so
that its accuracy on those six datasets is the Figure-4 value. The paper's Random row is read as the official Random
router reports it: the best of 50 random-routing trials on the 80% test split, which lies :data:`RANDOM_PEAK_EXCESS`
above the mean accuracy of the 10 models. The full-set Random row is then met, but the per-dataset Random rows imply
nano at about 0.56 on the six datasets, so they conflict with Figure 4 and are missed on several datasets;
:func:`achieved_vs_target` shows the conflict in its ``note`` column rather than hiding it. It tabulates Best Single,
Oracle and Random Ps achieved vs the paper's Table 2 per dataset and on the full set, nano's Figure-4 point, and the
learned routers' Ps and full-set gains as the calibration step last measured them.

Learnable signal. Every readable, model-specific part of the logit (the skill term and the three cue terms) is
multiplied by a per-dataset strength ``s_d`` (:data:`LEARNABLE_SIGNAL`), FITTED by the calibration step
(:mod:`.learnable`, ``python -m mmr_utils.data.simulator.learnable``) so that the learned routers' Ps per dataset
match the paper's Table 2; for each value it tries it refits ``sigma_d`` to the Oracle row. The step writes
``s_d``, ``sigma_d`` and the Random peak excess to :data:`FITTED_FILE`, which this package reads.

Random streams: every draw follows ``seed`` through ``np.random.default_rng([seed, stream, ...])`` with a separate
stream per purpose, so the same ``(seed, scale)`` gives byte-identical CSVs and images.

Modules: :mod:`.calibration` (the paper's targets and every constant), :mod:`.fitting` (the Oracle fit and the
achieved-vs-target table), :mod:`.learnable` (the calibration step for the learnable signal), :mod:`.outcomes` (latents, P(correct),
outcomes and tokens), :mod:`.content` (questions and answers), :mod:`.render` (pictures) and :mod:`.benchmark`
(tables and the output folder). Command line: ``python -m mmr_utils data --out DIR --scale 1.0 --seed 0``.
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
