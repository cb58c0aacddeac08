"""Model-pool shift: how routing quality moves when the candidate pool (the paper's K models,
Sec. 3) changes after the router was built.

- :func:`pool_shift`: leave each model out in turn (train and test on the pool without it), and the two named
  scenarios "remove strongest" (highest training accuracy) and "remove cheapest" (lowest mean training cost); nAUC
  and Ps of each router (paper Sec. 4), the change against the full pool, and the Oracle and best single model of
  the reduced pool for context.
- :func:`add_model_curve`: a new model joins a pool the router was built without, and only ``K`` labelled training
  queries of it are available. How the router takes it in (the method this project uses for every router): the
  router is refitted on all training rows with the new model's column **observed only on the K profiled rows** and
  masked as missing elsewhere. Every router of the registry learns from observed cells only
  (:mod:`mmr_utils.routers.base`), so each one's own missing-cell handling decides what it predicts for the new
  model: kNN and k-means average the profiled neighbours / cluster members and fall back to the new model's mean over
  the K rows; the shrinkage routers shrink towards that mean; factorisation and neural routers fit the new model's
  parameters from its K cells only. ``K = 0`` is the pool without the new model (a router cannot route to a model it
  has no label for); ``K = all`` is the fully trained full pool, identical to a normal fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmr_utils.data.splits import instance_split
from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.runs import RunConfig, check_mode, fit_predict, router_class, router_fusion, router_params
from mmr_utils.experiments.studies import StudyResult, study
from mmr_utils.features.bank import FeatureBank
from mmr_utils.metrics import protocol as ev
from mmr_utils.metrics import references, summary


def pool_bank(bank: FeatureBank, drop: str | None) -> FeatureBank:
    """``bank`` with model ``drop`` removed from its table (the same features); ``bank`` itself when ``drop`` is
    None."""
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
    """Per model: accuracy and mean cost over the observed training cells (what "strongest" and "cheapest" are
    judged on; never the test rows)."""
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
    """Leave-one-model-out: per seed (one instance split, the same for every pool), every router is fitted and
    scored on the full pool and on the pool without each model in turn (``remove="all"``) or without only the
    seed's strongest and cheapest model (``remove="named"``, a cheaper run); all pools are scored on the same test rows
    (complete in the full table). Returns a :class:`~mmr_utils.experiments.studies.StudyResult` whose ``results`` has one row per
    (seed, scenario, removed model, router): ``nAUC``, ``Ps``, their change against the full pool (``d_nAUC``,
    ``d_Ps``), and the reduced pool's Oracle Ps and best single model (chosen on the test rows, as the paper's
    references). ``scenario`` is ``full``, ``leave_out``, and for the models of the named scenarios also
    ``remove_strongest`` / ``remove_cheapest`` (the same numbers, relabelled). Deterministic in the seeds."""
    table = bank.table
    if len(table.models) < 3:
        raise ValueError(f"pool shift needs at least three models (two remain after leaving one out), got "
                         f"{len(table.models)}")
    if remove not in ("all", "named"):
        raise ValueError(f"remove={remove!r}: expected 'all' (every model in turn) or 'named' (strongest, cheapest)")
    records, named = [], []
    for seed in config.seeds:
        split = instance_split(table, config.train_fraction, seed=seed)
        rows = split.test[table.complete_rows()[split.test]]
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
                keep = np.isin(run.test, rows)
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


def fit_predict_masked(bank: FeatureBank, router: str, split, train_mask: np.ndarray, config: RunConfig, *,
                       seed: int):
    """Like :func:`mmr_utils.experiments.runs.fit_predict` (same features, parameters and seed), but the router learns only from
    the training cells that ``train_mask`` (len(train) x K, True = observed) keeps; not cached. Returns ``(U, P)`` on
    ``split.test``."""
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
    """The ``k`` training rows whose outcomes of the new model are known: the first ``k`` of one seeded permutation
    of ``train`` (so the sets are nested as ``k`` grows); all of ``train`` when ``k`` is None."""
    train = np.asarray(train)
    if k is None:
        return train
    if not 0 <= k <= len(train):
        raise ValueError(f"K = {k} labelled rows requested, but the split has {len(train)} training rows")
    return train[np.random.default_rng(seed).permutation(len(train))[:k]]


@study
def add_model_curve(bank: FeatureBank, config: RunConfig, routers, *, new_model: str | None = None,
                    ks=(0, 10, 25, 50, 100, 200, None)) -> StudyResult:
    """Add a model profiled from only ``K`` labelled training queries (the method is in the module docstring) and
    route over the full pool; ``new_model`` defaults to the strongest model by training accuracy (per seed).

    ``ks`` lists the K values (None = all training rows); a K larger than the split's training rows is left out and
    listed in ``curves["skipped"]`` and the provenance. Returns a :class:`~mmr_utils.experiments.studies.StudyResult` whose
    ``results`` has one row per (router, K, seed): ``nAUC``, ``Ps`` and ``share_new`` (share of test rows routed to
    the new model at the router's peak operating point); ``curves["references"]`` has, per (router, seed), the pool
    without the new model (``without``) and the fully trained full pool (``full``). Deterministic in the seeds."""
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
        rows = split.test[table.complete_rows()[split.test]]
        keep_test = np.isin(split.test, rows)
        new = new_model or strongest_model(training_profile(table, split.train))
        j = table.models.index(new)
        reduced = pool_bank(bank, new)
        Y, C = table.correct[rows], table.cost[rows]
        Yr, Cr = reduced.table.correct[rows], reduced.table.cost[rows]
        for router in routers:
            without = fit_predict(reduced, router, split, config, seed=seed)
            full = fit_predict(bank, router, split, config, seed=seed)
            keep_r = np.isin(without.test, rows)
            scores_without = _scored(without.U[keep_r], without.P[keep_r], Yr, Cr)
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
    return StudyResult(pd.DataFrame(records), {"references": pd.DataFrame(references), "skipped": skipped_frame},
                       extra)


def plot_add_model(result, metrics=("nAUC", "Ps")):
    """Quality against K per router: the mean over seeds with its 95% interval as a band
    (:func:`mmr_utils.report.plots.mean_interval`), and each router's two reference levels (pool without the new
    model dotted, fully trained full pool dashed); one legend below the panels."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from mmr_utils.report.figure_parts import mean_interval, router_style
    from mmr_utils.report.names import router_label

    frame, refs = result.results, result.curves["references"]
    order = list(dict.fromkeys(frame["K"]))
    position = {k: i for i, k in enumerate(order)}
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.2), squeeze=False)
    handles = []
    for ax, metric in zip(axes[0], metrics):
        handles = []
        for i, (router, group) in enumerate(frame.groupby("router", sort=False)):
            style = router_style(i)
            agg = mean_interval(group, "K", metric)
            xs = agg["K"].map(position).to_numpy()
            order_xs = np.argsort(xs)
            xs = xs[order_xs]
            ax.plot(xs, agg["mean"].to_numpy()[order_xs], marker=style["marker"], color=style["color"],
                    ls=style["ls"], ms=4)
            ax.fill_between(xs, agg["low"].to_numpy()[order_xs], agg["high"].to_numpy()[order_xs],
                            color=style["color"], alpha=0.15, lw=0)
            ref = refs[refs["router"] == router].groupby("pool")[metric].mean()
            ax.axhline(ref["without"], color=style["color"], linestyle=":", linewidth=1)
            ax.axhline(ref["full"], color=style["color"], linestyle="--", linewidth=1)
            handles.append(Line2D([], [], color=style["color"], ls=style["ls"], marker=style["marker"], ms=4,
                                  label=router_label(router)))
        ax.set_xticks(range(len(order)), [str(k) for k in order])
        ax.set_xlabel("K labelled queries of the new model")
        ax.set_ylabel(f"{metric} (mean over seeds)")
        ax.set_title(f"{metric}: dotted = pool without it, dashed = fully trained", fontsize=9)
        ax.grid(alpha=0.3)
    seeds = int(frame.groupby(["router", "K"], sort=False).size().max()) if len(frame) else 0
    handles.append(plt.Rectangle((0, 0), 1, 1, color="0.5", alpha=0.3,
                                 label=f"95% interval of the mean over {seeds} seeds"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 5),
               fontsize=8, frameon=False)
    new = ", ".join(dict.fromkeys(frame["new_model"]))
    fig.suptitle(f"Adding {new} from K labelled queries")
    fig.tight_layout()
    return fig
