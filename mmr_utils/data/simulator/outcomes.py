"""Latent variables, outcome probabilities and the drawn outcomes and token counts of the simulator (the "Kind",
"Difficulty", "Skill needs", "Correctness" and "Cost" steps of the generative model, docs/simulator.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmr_utils.data.simulator.calibration import (
    _STREAM_CUES,
    _STREAM_LATENT,
    _STREAM_NOISE,
    _STREAM_OUTCOME,
    _STREAM_SHARED,
    _STREAM_TOKENS,
    CUE_LEVEL_VALUES,
    CUE_LOADINGS,
    CUE_WEIGHTS,
    DATASET_SIZES,
    DIFFICULTY_SHARES,
    DIFFICULTY_SLOPE,
    GENERIC_QUESTION_RATE,
    IDIOSYNCRATIC_SD,
    KIND_MIX,
    KIND_NEEDS,
    KIND_TOKEN_LOG_FACTOR,
    LEARNABLE_SIGNAL,
    MODEL_SKILLS,
    MODELS,
    MULTIPLE_CHOICE_RATE,
    OUTCOME_SAMPLINGS,
    PRICE_PER_OUTPUT_TOKEN,
    SCENARIOS,
    SHARED_EFFECT_SD,
    SKILL_WEIGHT,
    SKILLS,
    TARGET_ACCURACY,
    TARGET_MEAN_COST,
    TOKEN_DIFFICULTY_SLOPE,
    TOKEN_NOISE_SD,
    WRONG_ANSWER_TOKEN_LOG_FACTOR,
    dataset_sizes,
)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_latents(scale: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Per-instance latent variables (dataset, kind, difficulty parts, skill needs, wording flags, shared effect,
    the text-only and image-only cue levels 0..3 and values), as behind the benchmark of the same ``(scale, seed)``."""
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
    latents = pd.concat(frames, ignore_index=True)
    # Own stream, so the shared effect never perturbs the other latents (and the content drawn from them).
    latents["shared_effect"] = np.random.default_rng([seed, _STREAM_SHARED]).standard_normal(len(latents))
    cue_levels = np.random.default_rng([seed, _STREAM_CUES]).integers(len(CUE_LEVEL_VALUES), size=(len(latents), 2))
    values = np.asarray(CUE_LEVEL_VALUES)
    latents["text_cue_level"], latents["image_cue_level"] = cue_levels[:, 0], cue_levels[:, 1]
    latents["text_cue"], latents["image_cue"] = values[cue_levels[:, 0]], values[cue_levels[:, 1]]
    return latents


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


def _base_logits(latents: pd.DataFrame, seed: int, signal: dict[str, float] | None = None) -> np.ndarray:
    """The logit without intercept and shared effect (n x K), its readable model-specific part times ``signal[d]``."""
    required = ["dataset", "difficulty", "text_cue", "image_cue", "shared_effect", *(f"need_{s}" for s in SKILLS)]
    missing = [c for c in required if c not in latents.columns]
    if missing:
        raise ValueError(f"latents lack columns {missing}; expected the output of simulate_latents()")
    unknown = set(latents["dataset"]) - set(DATASET_SIZES)
    if unknown:
        raise ValueError(f"latents name unknown datasets {sorted(unknown)}; expected {list(DATASET_SIZES)}")
    signal = LEARNABLE_SIGNAL if signal is None else signal
    bad = {d: signal.get(d) for d in set(latents["dataset"])
           if not isinstance(signal.get(d), (int, float)) or not signal.get(d) >= 0}
    if bad:
        raise ValueError(f"learnable signal must be a non-negative number per dataset, got {bad}")
    needs = latents[[f"need_{s}" for s in SKILLS]].to_numpy(float)
    skills = np.array([MODEL_SKILLS[m] for m in MODELS])
    slopes = np.array([DIFFICULTY_SLOPE[m] for m in MODELS])
    text_cue = latents["text_cue"].to_numpy(float)
    image_cue = latents["image_cue"].to_numpy(float)
    datasets = latents["dataset"].to_numpy()
    readable = SKILL_WEIGHT * needs @ skills.T
    for cue, value in (("text", text_cue), ("image", image_cue), ("joint", text_cue * image_cue)):
        weight = np.array([CUE_WEIGHTS[d][cue] for d in datasets])
        loading = np.array([CUE_LOADINGS[cue][m] for m in MODELS])
        readable += (weight * value)[:, None] * loading[None, :]
    strength = np.array([float(signal[d]) for d in datasets])
    noise = IDIOSYNCRATIC_SD * np.random.default_rng([seed, _STREAM_NOISE]).standard_normal((len(latents), len(MODELS)))
    return strength[:, None] * readable - latents["difficulty"].to_numpy(float)[:, None] * slopes[None, :] + noise


def _calibrated(base: np.ndarray, latents: pd.DataFrame, dataset: str, shared_sd: float) -> np.ndarray:
    """P(correct) of one dataset's rows: the base logits minus ``shared_sd * z_shared``, intercepts solved."""
    rows = (latents["dataset"] == dataset).to_numpy()
    logits = base[rows] - shared_sd * latents["shared_effect"].to_numpy(float)[rows, None]
    targets = np.array([TARGET_ACCURACY[m][dataset] for m in MODELS])
    return _sigmoid(_solve_intercepts(logits, targets)[None, :] + logits)


def correctness_probabilities(latents: pd.DataFrame, seed: int = 0, shared_sd: dict[str, float] | None = None,
                              signal: dict[str, float] | None = None) -> np.ndarray:
    """P(correct) per instance and model (n x K, :data:`MODELS` order): ``p_im = sigmoid(a_md + s_d (SKILL_WEIGHT
    need_i . skill_m + w_d^text t_m u_i + w_d^image v_m q_i + w_d^joint j_m u_i q_i) - slope_m difficulty_i - sigma_d
    z_shared + eps_im)`` (docs/simulator.md), intercepts ``a_md`` solved so each dataset mean is
    ``TARGET_ACCURACY[m][d]``; ``s_d`` = ``signal`` and ``sigma_d`` = ``shared_sd`` default to the fitted values."""
    seed = _check_seed(seed)
    shared_sd = SHARED_EFFECT_SD if shared_sd is None else shared_sd
    base = _base_logits(latents, seed, signal)
    probabilities = np.empty_like(base)
    datasets = latents["dataset"].to_numpy()
    for dataset in DATASET_SIZES:
        rows = datasets == dataset
        if rows.any():
            probabilities[rows] = _calibrated(base, latents, dataset, shared_sd[dataset])
    return probabilities


def expected_oracle(probabilities: np.ndarray) -> float:
    """Expected Oracle Ps (paper Table 2 "Oracle": an instance counts if any model is right), outcomes independent
    across models given P(correct): ``mean_i (1 - prod_m (1 - p_im))``."""
    return float(np.mean(1.0 - np.prod(1.0 - probabilities, axis=1)))


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
