"""The paper's studies (Sec. 5), one function each, returning tidy DataFrames (Tables 2 and 4, Figure 4, QNC, Sec. 5.3's
modalities, the Table 5 stand-in, the generalisation claim, data efficiency, the metric audit, budget rules). Each takes
the bank, a :class:`~mmr_utils.experiments.runs.RunConfig` and routers, loops over its seeds (:func:`study_loop`), one
row per (router, seed, group); :func:`study` builds provenance. Routers get arrays only."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from mmr_utils.data.splits import Split, cross_dataset_split, instance_split
from mmr_utils.data.table import OutcomeTable
from mmr_utils.experiments.runs import (
    LEARNED_ROUTERS,
    RouterRun,
    RunConfig,
    count_run_cache,
    fit_predict,
    router_class,
)
from mmr_utils.experiments.scoring import complete_test, is_union_group, reference_records, score_run
from mmr_utils.experiments.training import prefetch_runs
from mmr_utils.features.bank import FeatureBank
from mmr_utils.metrics import protocol as ev
from mmr_utils.metrics import references, summary
from mmr_utils.provenance import study_provenance


@dataclass
class StudyResult:
    """A study's tidy results (one row per router, seed and group), curves for figures, and provenance."""

    results: pd.DataFrame
    curves: dict
    provenance: dict


def study_settings(arguments: dict) -> dict:
    """A study's bound arguments as provenance settings: the configuration's fields, then the rest (tuples as lists)."""
    settings = {}
    for key, value in arguments.items():
        if isinstance(value, RunConfig):
            settings.update(value.settings())
        else:
            settings[key] = list(value) if isinstance(value, tuple) else value
    return settings


def study(function=None, *, name: str | None = None):
    """Make ``function(bank, config, ...) -> StudyResult`` a study: provenance from its bound arguments (plus the
    result's own) under ``study=name`` (default: the function's name), with the run cache's counts (``run_cache``)."""
    if function is None:
        return functools.partial(study, name=name)
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(bank, *args, **kwargs):
        bound = signature.bind(bank, *args, **kwargs)
        bound.apply_defaults()
        if not isinstance(bound.arguments.get("config"), RunConfig):
            raise TypeError(f"{function.__name__}: config must be a RunConfig, got {bound.arguments.get('config')!r}")
        with count_run_cache() as counts:
            result = function(*bound.args, **bound.kwargs)
        settings = study_settings({k: v for k, v in bound.arguments.items() if k != "bank"})
        result.provenance = study_provenance(bank, study=name or function.__name__, **settings, **result.provenance)
        result.provenance["run_cache"] = counts
        return result

    return wrapper


@dataclass
class Case:
    """One split of a study: its seed (split and router), the rows, the bank they index, and its records' labels."""

    seed: int
    split: Split
    bank: FeatureBank
    labels: dict = field(default_factory=dict)


class CaseRun(NamedTuple):
    """One fitted router of a case: the router name, the requested mode and fusion, and the run."""

    router: str
    mode: str
    fusion: str
    run: RouterRun


def instance_cases(bank: FeatureBank, config: RunConfig, procedure: str = "stratified") -> Iterator[Case]:
    """One instance split per seed of ``config`` (:func:`mmr_utils.data.splits.instance_split`)."""
    for seed in config.seeds:
        yield Case(seed, instance_split(bank.table, config.train_fraction, seed=seed, procedure=procedure), bank)


def study_loop(cases: Iterable[Case], routers, config: RunConfig, *, settings: Callable | None = None
               ) -> Iterator[tuple[Case, Iterator[CaseRun]]]:
    """For each case, the case and a lazy iterator over its routers x settings, each run by :func:`fit_predict`, the
    neural runs of all cases trained first (:func:`prefetch_runs`). ``settings(router_class) -> [(mode, fusion), ...]``
    (default: the configuration's one pair) may read the router's capabilities, e.g. its required fusion."""
    def requests(case: Case) -> Iterator[tuple]:
        for router in routers:
            for mode, fusion in (settings(router_class(router)) if settings else [(config.mode, config.fusion)]):
                yield case.bank, router, case.split, config.replace(mode=mode, fusion=fusion), case.seed

    def runs(case: Case) -> Iterator[CaseRun]:
        for bank, router, split, run_config, seed in requests(case):
            run = fit_predict(bank, router, split, run_config, seed=seed)
            yield CaseRun(router, run_config.mode, run_config.fusion, run)

    cases = list(cases)
    prefetch_runs(request for case in cases for request in requests(case))
    for case in cases:
        yield case, runs(case)


@study
def main_results(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *, random_draws: int = 50,
                 rule: str = "threshold", random_protocol: str = "official", split_procedure: str = "stratified",
                 protocols=("pooled",)) -> StudyResult:
    """Table 2, Figure 4 and the QNC table: every router on an instance split (stratified by dataset;
    ``split_procedure="official"`` with seed 42 is the official split), scored on all test rows and per dataset, beside
    :func:`~mmr_utils.experiments.scoring.reference_records` (protocol-free), per seed. ``protocols`` (recorded per
    row): ``"pooled"`` (this project's) fits one router on all training rows; ``"per_dataset"`` (official ``run.py
    --dataset X``) one per dataset, with the pooled router as its ``All`` column (the paper's "Full")."""
    unknown = sorted(set(protocols) - {"pooled", "per_dataset"})
    if unknown or not protocols:
        raise ValueError(f"protocols {list(protocols)}: expected a non-empty subset of ['pooled', 'per_dataset']")
    datasets = bank.table.instances["dataset"].to_numpy()
    records, curves = [], {"frontiers": {}, "frontiers_per_dataset": {}, "references": {}}
    cases = list(instance_cases(bank, config, split_procedure))
    if "per_dataset" in protocols:
        prefetch_runs((bank, router, sub, config, case.seed) for case in cases for router in routers
                      for sub in _dataset_splits(case.split, datasets, config.train_fraction))
    for case, runs in study_loop(cases, routers, config):
        seed, split = case.seed, case.split
        refs, ref_curves = reference_records(bank.table, split.test, seed=seed, random_draws=random_draws,
                                             random_protocol=random_protocol)
        records += refs
        curves["references"].setdefault(seed, ref_curves)
        for router, _, _, run in runs:
            recs, fronts = score_run(bank.table, run, rule=rule)
            curves["frontiers"][(router, seed)] = fronts
            if "pooled" in protocols:
                records += [{**r, "protocol": "pooled"} for r in recs]
            if "per_dataset" in protocols:
                records += [{**r, "protocol": "per_dataset"} for r in recs if is_union_group(r["dataset"])]
                per_fronts = {}
                for sub in _dataset_splits(split, datasets, config.train_fraction):
                    name = sub.info["dataset"]
                    run_d = fit_predict(bank, router, sub, config, seed=seed)
                    recs_d, fronts_d = score_run(bank.table, run_d, per_dataset=False, rule=rule)
                    records += [{**r, "dataset": name, "protocol": "per_dataset"} for r in recs_d]
                    per_fronts[name] = fronts_d["All"]
                curves["frontiers_per_dataset"][(router, seed)] = per_fronts
    return StudyResult(pd.DataFrame(records), curves, {})


def _dataset_splits(split: Split, datasets: np.ndarray, train_fraction: float) -> list[Split]:
    """One split per dataset in ``split``'s test rows, keeping only that dataset's rows (at least 2 training rows)."""
    subs = []
    for name in dict.fromkeys(datasets[split.test]):
        sub = Split(train=split.train[datasets[split.train] == name], test=split.test[datasets[split.test] == name],
                    info={**split.info, "dataset": name})
        if len(sub.train) < 2:
            raise ValueError(f"per-dataset protocol: dataset {name!r} has {len(sub.train)} training rows at "
                             f"train_fraction={train_fraction}; use protocols=('pooled',) or a larger table")
        subs.append(sub)
    return subs


@study(name="modality")
def modality_study(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *, modes=("11", "33", "22", "21"),
                   fusions=("mean", "concat", "adaptive")) -> StudyResult:
    """Modalities and fusion (paper Sec. 5.3): each router under each mode with ``mean`` fusion, and under each fusion
    in mode 22; routers with their own fusion (KMeans-adaptive, CMR) run once per mode. CMR gets a masked channel as a
    constant (its training centroid), as the official CMR gets zeros. Scored on all test rows and per dataset."""
    def settings(cls) -> list[tuple[str, str]]:
        return [(m, "mean") for m in modes] + [("22", f) for f in fusions if f != "mean" and cls.fusion is None]

    records = []
    for _case, runs in study_loop(instance_cases(bank, config), routers, config, settings=settings):
        for router, mode, fusion, run in runs:
            recs, _ = score_run(bank.table, run)
            label = router_class(router).fusion_label
            for rec in recs:
                rec["study"] = "fusion" if fusion != "mean" and mode == "22" else "mode"
                rec["fusion"] = label or rec["fusion"]
            records += recs
    return StudyResult(pd.DataFrame(records), {}, {})


def scenario_pairs(table: OutcomeTable) -> list[tuple[str, str, str]]:
    """Every ordered (scenario, source, target) pair of distinct datasets within one scenario."""
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()
    pairs = []
    for scenario, names in scen.groupby(scen, sort=False):
        names = list(names.index)
        pairs += [(scenario, a, b) for a in names for b in names if a != b]
    return pairs


def paper_scenario_pairs(table: OutcomeTable, out_fraction: float = 0.2) -> list[tuple[str, str, str]]:
    """Table 4's protocol (official ``--split out``): per scenario, in table order, the first
    ``max(1, floor(n * out_fraction))`` datasets are the source, the rest the target (``+``-joined names). [uncertain]
    which dataset the paper put first in each scenario; table order (the paper's listing) is used."""
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()
    pairs = []
    for scenario, names in scen.groupby(scen, sort=False):
        names = list(names.index)
        if len(names) < 2:
            continue
        cut = max(1, int(np.floor(len(names) * out_fraction)))
        pairs.append((scenario, "+".join(names[:cut]), "+".join(names[cut:])))
    return pairs


@study(name="cross_dataset")
def cross_dataset_study(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *, pairs=None,
                        protocol: str = "all_pairs") -> StudyResult:
    """Table 4: train on source datasets, test on targets within each scenario, beside the target's best single model
    chosen on its own outcomes (an upper reference, as in the paper). ``protocol="all_pairs"``: :func:`scenario_pairs`;
    ``"paper"``: :func:`paper_scenario_pairs`; ``pairs`` overrides both. All source rows train."""
    if protocol not in ("all_pairs", "paper"):
        raise ValueError(f"protocol {protocol!r}: expected 'all_pairs' or 'paper'")
    records = []
    default = scenario_pairs(bank.table) if protocol == "all_pairs" else paper_scenario_pairs(bank.table)
    for scenario, source, target in pairs or default:
        split = cross_dataset_split(bank.table, source.split("+"), target.split("+"))
        best = ev.best_single_model(*complete_test(bank.table, split.test)[2:])
        y = bank.table.correct[split.test][:, best]
        base = {"scenario": scenario, "source": source, "target": target}
        records.append({**base, "router": "best_single", "seed": 0, "Ps": float(np.nanmean(y)),
                        "model": bank.table.models[best]})
        cases = [Case(seed, split, bank, base) for seed in config.seeds]
        for case, runs in study_loop(cases, routers, config):
            for item in runs:
                records += [{**case.labels, **r} for r in score_run(bank.table, item.run, per_dataset=False)[0]]
    return StudyResult(pd.DataFrame(records), {}, {})


@study
def model_subset_transfer(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *,
                          pool_size: int = 5) -> StudyResult:
    """The abstract's generalisation claim, one reading ([uncertain] no protocol or numbers given, docs/paper.md): per
    seed ``pool_size`` models drawn; per scenario one dataset held out, the router trained on the others and scored on
    it beside the subset's best single model there (chosen on its outcomes)."""
    table = bank.table
    if not 2 <= pool_size <= len(table.models):
        raise ValueError(f"pool_size {pool_size}: expected 2..{len(table.models)} (the table has "
                         f"{len(table.models)} models)")
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()

    def cases() -> Iterator[Case]:
        for seed in config.seeds:
            rng = np.random.default_rng(seed)
            models = [table.models[k] for k in sorted(rng.choice(len(table.models), pool_size, replace=False))]
            held_out = []
            for _, names in scen.groupby(scen, sort=False):
                names = list(names.index)
                if len(names) > 1:
                    held_out.append(names[int(rng.integers(len(names)))])
            seen = [d for d in scen.index if d not in held_out]
            if not held_out or not seen:
                raise ValueError("model_subset_transfer needs a scenario with at least two datasets")
            sub_bank = FeatureBank(table.select_models(models), bank.choice, bank.text, bank.image, bank.info)
            split = cross_dataset_split(sub_bank.table, seen, held_out)
            yield Case(seed, split, sub_bank, {"seed": seed, "models": "+".join(models), "trained_on": "+".join(seen),
                                               "tested_on": "+".join(held_out)})

    records = []
    for case, runs in study_loop(cases(), routers, config):
        sub = case.bank.table
        _, _, Y, C = complete_test(sub, case.split.test)
        best = ev.best_single_model(Y, C)
        records.append({**case.labels, "router": "best_single", "Ps": float(Y[:, best].mean()), "QNC": 1.0,
                        "model": sub.models[best]})
        for item in runs:
            records += [{**case.labels, **r} for r in score_run(sub, item.run, per_dataset=False)[0]]
    return StudyResult(pd.DataFrame(records), {}, {})


@study
def image_masked_transfer(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS) -> StudyResult:
    """Stand-in for the paper's Table 5: routers trained on text+image tested with the image masked (mode 21) beside
    tested multimodally (22), per dataset. The paper's text-only test sets (GSM8K, MMLU, ARC) have no public outcomes
    for its model pool; masking the image asks the same question on data we have."""
    records = []
    def settings(cls) -> list[tuple[str, str]]:
        return [("22", config.fusion), ("21", config.fusion)]

    for _, runs in study_loop(instance_cases(bank, config), routers, config, settings=settings):
        for item in runs:
            records += score_run(bank.table, item.run)[0]
    return StudyResult(pd.DataFrame(records), {}, {})


@study
def data_efficiency(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *,
                    fractions=(0.05, 0.1, 0.2, 0.4, 0.8), test_fraction: float = 0.2) -> StudyResult:
    """nAUC as the training fraction grows (``fractions`` replace the configuration's), every fraction scored on the
    same held-out ``test_fraction`` of the rows per seed; training rows are drawn from the rest."""
    def cases() -> Iterator[Case]:
        for seed in config.seeds:
            outer = instance_split(bank.table, 1 - test_fraction, seed=seed)
            pool = outer.train
            rng = np.random.default_rng(seed)
            order = pool[rng.permutation(len(pool))]
            for fraction in fractions:
                if fraction > 1 - test_fraction + 1e-9:
                    raise ValueError(f"training fraction {fraction} overlaps the held-out test set "
                                     f"(test_fraction={test_fraction}); use fractions <= {1 - test_fraction:g}")
                # Rounding per dataset stratum can leave the pool a row short of fraction * n: cap at the pool.
                n_train = min(max(2, int(round(fraction * bank.table.n))), len(order))
                split = Split(np.sort(order[:n_train]), outer.test,
                              {"kind": "data-efficiency", "fraction": fraction, "seed": seed,
                               "train_rows": n_train, "test_rows": int(len(outer.test))})
                yield Case(seed, split, bank, {"train_fraction": fraction})

    records = []
    for case, runs in study_loop(cases(), routers, config):
        for item in runs:
            records += [{**r, **case.labels} for r in score_run(bank.table, item.run, per_dataset=False)[0]]
    return StudyResult(pd.DataFrame(records), {}, {})


@study
def metric_audit(bank: FeatureBank, config: RunConfig, routers=LEARNED_ROUTERS, *,
                 split_procedure: str = "stratified") -> StudyResult:
    """The official protocol against the fixed one on the same predictions (paper Sec. 4 vs its code): fallback to
    model 0 (the official loader's sorted-first name) vs the cheapest predicted model, nAUC over each frontier's own
    span vs a shared interval, and an oracle ignoring cost ties vs the cheapest correct one; metrics and ranks."""
    records = []
    order = references.official_model_order(bank.table.models)
    first_model = bank.table.models[order[0]]
    for case, runs in study_loop(instance_cases(bank, config, split_procedure), routers, config):
        seed, split = case.seed, case.split
        keep, _, Y, C = complete_test(bank.table, split.test)
        for router, _, _, run in runs:
            U, P = run.U[keep], run.P[keep]
            official = summary.summarize_official(U, P, Y, C, bank.table.models)
            fixed = summary.summarize(U, P, Y, C, fallback="cheapest")
            records.append({"router": router, "seed": seed, "official_first_model": first_model,
                            "nAUC_official_protocol": official.metrics["nAUC"],
                            "nAUC_fixed_protocol": fixed.metrics["nAUC_shared"],
                            "nAUC_official_range_fixed_fallback": fixed.metrics["nAUC"],
                            "Ps_official_protocol": official.metrics["Ps"], "Ps_fixed_protocol": fixed.metrics["Ps"],
                            "frontier_cost_span": float(fixed.frontier[-1, 0] - fixed.frontier[0, 0]),
                            "first_point_cost_official": float(official.points.cost[0]),
                            "first_point_cost_fixed": float(fixed.points.cost[0])})
        o_first = references.first_correct_oracle(Y[:, order], C[:, order])
        o_cheap = references.oracle_point(Y, C)
        records.append({"router": "oracle (first correct, ties ignored)", "seed": seed, "cost": o_first[0],
                        "accuracy": o_first[1], "official_first_model": first_model})
        records.append({"router": "oracle (cheapest correct)", "seed": seed, "cost": o_cheap[0],
                        "accuracy": o_cheap[1]})
    frame = pd.DataFrame(records)
    learned = frame["router"].isin(routers)
    for column in ("nAUC_official_protocol", "nAUC_fixed_protocol"):
        frame.loc[learned, column.replace("nAUC", "rank")] = frame[learned].groupby("seed")[column].rank(
            ascending=False, method="min")
    return StudyResult(frame, {}, {"official_model_order": [bank.table.models[i] for i in order]})


@study
def budget_rules(bank: FeatureBank, config: RunConfig, router: str = "knn") -> StudyResult:
    """The official threshold rule (``argmax`` of ``U`` among models with ``P`` below ``t``) vs the paper's lambda rule
    (``argmax_k U - lambda P``, Sec. 3.2) on one router (first seed): per rule the exact sweep, frontier, metrics."""
    seed = config.seeds[0]
    split = instance_split(bank.table, config.train_fraction, seed=seed)
    run = fit_predict(bank, router, split, config, seed=seed)
    keep, _, Y, C = complete_test(bank.table, run.test)
    records, curves = [], {}
    for rule in ev.RULES:
        points = ev.budget_sweep(run.U[keep], run.P[keep], Y, C, rule=rule)
        s = summary.summarize(run.U[keep], run.P[keep], Y, C, rule=rule)
        records.append({"router": router, "rule": rule, "seed": seed, "points": len(points.cost), **s.metrics})
        curves[rule] = {"points": np.column_stack([points.cost, points.accuracy]), "frontier": s.frontier}
    curves["single_models"] = references.single_model_points(Y, C)
    return StudyResult(pd.DataFrame(records), curves, {})
