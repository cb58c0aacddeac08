"""Model-pool shift: how routing quality moves when the candidate pool (the paper's K models, Sec. 3) changes after the
router was built: :func:`pool_shift` (a model removed), :func:`add_model_curve` (a model added, known from only ``K``
labelled training queries: every router is refitted with the new column observed on the K profiled rows and masked
elsewhere, so its own missing-cell handling decides). ``K = 0`` is the pool without it; ``K = all`` a normal fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmr_utils.data.splits import instance_split
from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.runs import RunConfig, check_mode, fit_predict, router_class, router_fusion, router_params
from mmr_utils.experiments.scoring import complete_test
from mmr_utils.experiments.studies import StudyResult, study
from mmr_utils.features.bank import FeatureBank
from mmr_utils.metrics import protocol as ev
from mmr_utils.metrics import references, summary


def pool_bank(bank: FeatureBank, drop: str | None) -> FeatureBank:
    """``bank`` with model ``drop`` removed from its table (same features); ``bank`` itself when ``drop`` is None."""
    if drop is None:
        return bank
    table = bank.table
    if drop not in table.models:
        raise ValueError(f"model {drop!r} is not in the pool {list(table.models)}")
    if len(table.models) < 3:
        raise ValueError(f"removing {drop!r} would leave {len(table.models) - 1} model; routing needs two or more")
    kept = [m for m in table.models if m != drop]
    return FeatureBank(table.select_models(kept), bank.choice, bank.text, bank.image, bank.info)


def training_profile(table: OutcomeTable, train: np.ndarray) -> pd.DataFrame:
    """Per model: accuracy and mean cost over the observed training cells (what "strongest" and "cheapest" mean)."""
    mask = table.mask[train]
    counts = mask.sum(axis=0)
    if (counts == 0).any():
        raise ValueError(f"models {[m for m, c in zip(table.models, counts) if c == 0]} have no observed training "
                         f"cell")
    acc = np.where(mask, table.correct[train], 0).sum(axis=0) / counts
    cost = np.where(mask, table.cost[train], 0).sum(axis=0) / counts
    return pd.DataFrame({"accuracy": acc, "mean_cost": cost}, index=list(table.models))


def strongest_model(profile: pd.DataFrame) -> str:
    """Highest training accuracy; ties: lower mean cost, then pool order."""
    order = np.lexsort((np.arange(len(profile)), profile["mean_cost"].to_numpy(), -profile["accuracy"].to_numpy()))
    return str(profile.index[order[0]])


def cheapest_model(profile: pd.DataFrame) -> str:
    """Lowest mean training cost; ties: higher accuracy, then pool order."""
    order = np.lexsort((np.arange(len(profile)), -profile["accuracy"].to_numpy(), profile["mean_cost"].to_numpy()))
    return str(profile.index[order[0]])


def _scored(U, P, Y, C) -> dict:
    s = summary.summarize(U, P, Y, C)
    return {"nAUC": s.metrics["nAUC"], "Ps": s.metrics["Ps"]}


def _context(Y, C, models) -> dict:
    best = ev.best_single_model(Y, C)
    return {"oracle_Ps": references.oracle_point(Y, C)[1], "best_single_Ps": float(Y[:, best].mean()),
            "best_single": models[best]}


@study
def pool_shift(bank: FeatureBank, config: RunConfig, routers, *, remove: str = "all") -> StudyResult:
    """Leave-one-model-out: per seed (one split for every pool) every router on the full pool and without each model
    (``remove="all"``) or only the seed's strongest and cheapest (``"named"``), scored on the test rows complete in the
    full table. ``results``: per (seed, scenario, removed model, router) ``nAUC``, ``Ps``, ``d_nAUC``, ``d_Ps`` against
    the full pool, the reduced pool's Oracle Ps and best single model (chosen on the test rows). ``scenario``: ``full``,
    ``leave_out``, and its rows relabelled ``remove_strongest`` / ``remove_cheapest``."""
    table = bank.table
    if len(table.models) < 3:
        raise ValueError(f"pool shift needs at least three models (two remain after leaving one out), got "
                         f"{len(table.models)}")
    if remove not in ("all", "named"):
        raise ValueError(f"remove={remove!r}: expected 'all' (every model in turn) or 'named' (strongest, cheapest)")
    records, named = [], []
    for seed in config.seeds:
        split = instance_split(table, config.train_fraction, seed=seed)
        keep, rows, _, _ = complete_test(table, split.test)
        profile = training_profile(table, split.train)
        strongest, cheapest = strongest_model(profile), cheapest_model(profile)
        named.append({"seed": seed, "strongest": strongest, "cheapest": cheapest})
        full = {}
        drops = table.models if remove == "all" else dict.fromkeys([strongest, cheapest])
        for drop in [None, *drops]:
            sub = pool_bank(bank, drop)
            Y, C = sub.table.correct[rows], sub.table.cost[rows]
            context = _context(Y, C, sub.table.models)
            for router in routers:
                run = fit_predict(sub, router, split, config, seed=seed)
                scores = _scored(run.U[keep], run.P[keep], Y, C)
                if drop is None:
                    full[router] = scores
                base = {"seed": seed, "removed": drop or "-", "router": router, "models": len(sub.table.models),
                        **scores, "d_nAUC": scores["nAUC"] - full[router]["nAUC"],
                        "d_Ps": scores["Ps"] - full[router]["Ps"], **context}
                scenarios = ["full"] if drop is None else ["leave_out"]
                scenarios += ["remove_strongest"] * (drop == strongest) + ["remove_cheapest"] * (drop == cheapest)
                records += [{"scenario": s, **base} for s in scenarios]
    return StudyResult(pd.DataFrame(records), {"named": pd.DataFrame(named)}, {"named_models": named})


def fit_predict_masked(bank: FeatureBank, router: str, split, train_mask: np.ndarray, config: RunConfig, *, seed: int):
    """:func:`~mmr_utils.experiments.runs.fit_predict`'s ``(U, P)`` (not cached) for a router that learns only from the
    training cells ``train_mask`` (len(train) x K, True = observed) keeps."""
    from mmr_utils.features.fusion import build_features
    from mmr_utils.routers.base import make_router

    check_mode(bank, config.mode)
    table = bank.table
    cls = router_class(router)
    if cls.uses_truth:
        raise ValueError(f"{router} reads the true test outcomes; it cannot learn a model from K labelled rows")
    train_mask = np.asarray(train_mask)
    if train_mask.shape != (len(split.train), len(table.models)) or train_mask.dtype != bool:
        raise ValueError(f"train_mask must be a boolean ({len(split.train)} x {len(table.models)}) array, got "
                         f"{train_mask.dtype} {train_mask.shape}")
    params = router_params(cls, config, seed)
    X_train, X_test, finfo = build_features(*bank.channels(split.train, split.test), mode=config.mode, seed=seed,
                                            **router_fusion(cls, config.fusion, bank.has_images))
    if cls.needs_text_dim:
        params["text_dim"] = finfo.get("text_dim")
    R = make_router(router, **params)
    mask = train_mask & table.mask[split.train]
    R.fit(X_train, table.correct[split.train], table.cost[split.train], mask=mask)
    return R.predict(X_test)


def profiled_rows(train: np.ndarray, k: int | None, seed: int) -> np.ndarray:
    """The ``k`` training rows where the new model is known: the first ``k`` of a seeded permutation of ``train``
    (nested as ``k`` grows); all of ``train`` when ``k`` is None."""
    train = np.asarray(train)
    if k is None:
        return train
    if not 0 <= k <= len(train):
        raise ValueError(f"K = {k} labelled rows requested, but the split has {len(train)} training rows")
    return train[np.random.default_rng(seed).permutation(len(train))[:k]]


@study
def add_model_curve(bank: FeatureBank, config: RunConfig, routers, *, new_model: str | None = None,
                    ks=(0, 10, 25, 50, 100, 200, None)) -> StudyResult:
    """Add ``new_model`` (default: the seed's strongest by training accuracy) known from ``K`` labelled training queries
    (module docstring) for each K of ``ks`` (None = all; K above the training rows: skipped, ``curves["skipped"]``).
    ``results``: per (router, K, seed) ``nAUC``, ``Ps``, ``share_new`` (test share routed to it at the peak);
    ``curves["references"]``: pools ``without`` and ``full``."""
    from mmr_utils.metrics.peer_table import choices_at_peak

    table = bank.table
    if new_model is not None and new_model not in table.models:
        raise ValueError(f"new_model {new_model!r} is not in the pool {list(table.models)}")
    for k in ks:
        if k is not None and (not isinstance(k, (int, np.integer)) or k < 0):
            raise ValueError(f"ks must hold non-negative integers or None (all rows), got {k!r}")
    records, references, skipped = [], [], []
    for seed in config.seeds:
        split = instance_split(table, config.train_fraction, seed=seed)
        keep_test, rows, Y, C = complete_test(table, split.test)
        new = new_model or strongest_model(training_profile(table, split.train))
        j = table.models.index(new)
        reduced = pool_bank(bank, new)
        Yr, Cr = reduced.table.correct[rows], reduced.table.cost[rows]
        for router in routers:
            without = fit_predict(reduced, router, split, config, seed=seed)
            full = fit_predict(bank, router, split, config, seed=seed)
            scores_without = _scored(without.U[keep_test], without.P[keep_test], Yr, Cr)
            scores_full = _scored(full.U[keep_test], full.P[keep_test], Y, C)
            references += [{"router": router, "seed": seed, "new_model": new, "pool": "without", **scores_without},
                           {"router": router, "seed": seed, "new_model": new, "pool": "full", **scores_full}]
            for k in ks:
                label = "all" if k is None else str(int(k))
                if k is not None and k > len(split.train):
                    skipped.append({"seed": seed, "K": int(k), "train_rows": len(split.train)})
                    continue
                if k == 0:
                    records.append({"router": router, "K": label, "k_rows": 0, "seed": seed, "new_model": new,
                                    **scores_without, "share_new": 0.0})
                    continue
                labelled = profiled_rows(split.train, k, seed)
                mask = np.ones((len(split.train), len(table.models)), dtype=bool)
                mask[:, j] = np.isin(split.train, labelled)
                U, P = fit_predict_masked(bank, router, split, mask, config, seed=seed)
                U, P = U[keep_test], P[keep_test]
                share = float(np.mean(choices_at_peak(U, P, Y, C) == j))
                records.append({"router": router, "K": label, "k_rows": len(labelled), "seed": seed,
                                 "new_model": new, **_scored(U, P, Y, C), "share_new": share})
    skipped_frame = pd.DataFrame(skipped, columns=["seed", "K", "train_rows"]).drop_duplicates()
    extra = {"method": "refit with the new model's column observed on the K profiled training rows only",
             "skipped_ks": skipped_frame.to_dict("records")}
    return StudyResult(pd.DataFrame(records), {"references": pd.DataFrame(references), "skipped": skipped_frame}, extra)
