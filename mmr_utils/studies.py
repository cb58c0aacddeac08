"""The paper's studies, one function each, returning tidy DataFrames (paper Sec. 5).

- :func:`embed_table`: encode every instance once (cached), recording which encoder actually ran.
- :func:`evaluate_router`: features -> fit on the training rows -> predict the test rows -> the protocol of
  :mod:`mmr_utils.evaluation`, scored on all test rows and on each dataset's test rows.
- :func:`main_results` (Table 2 + Figure 4 + QNC), :func:`modality_study` (modes 11/33/22/21 and fusion strategies),
  :func:`cross_dataset_study` (Table 4), :func:`image_masked_transfer` (stand-in for Table 5), :func:`data_efficiency`,
  :func:`metric_audit` (official protocol vs the fixed one).

Every study runs over several seeds (the paper reports one split) and returns one row per (router, seed, group); use
:func:`aggregate_seeds` for mean and spread. Routers never see encoders or files: this module hands them arrays.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import evaluation as ev
from .encoders import EncoderChoice, Embeddings, get_encoders
from .fusion import build_features
from .routers import ROUTERS, make_router
from .splits import Split, cross_dataset_split, instance_split
from .tables import OutcomeTable

#: The paper's learned routers (Sec. 5.1), in the order of its Table 2.
LEARNED_ROUTERS: tuple[str, ...] = ("knn", "kmeans", "kmeans_adaptive", "linear", "linear_mf", "mlp", "mlp_mf", "cmr")
#: Reference rows reported beside the routers.
REFERENCES: tuple[str, ...] = ("random", "best_single", "oracle")
NEURAL_ROUTERS = ("mlp", "mlp_mf", "cmr")
METRICS = ("nAUC", "nAUC_shared", "Ps", "QNC")


# --------------------------------------------------------------------------- features
@dataclass
class FeatureBank:
    """Per-instance embeddings of one table: the text and image channels, and which encoders produced them."""

    table: OutcomeTable
    choice: EncoderChoice
    text: Embeddings | None
    image: Embeddings | None
    info: dict = field(default_factory=dict)

    @property
    def encoder(self) -> str:
        """What actually ran, for captions and result files."""
        return self.choice.description

    def cache_keys(self) -> dict:
        """The embedding-cache keys (file stems) of the channels this bank holds, ``None`` where nothing was cached
        (TF-IDF is fitted per split, never cached)."""
        keys = {}
        for modality, emb, encoder in (("text", self.text, self.choice.text), ("image", self.image, self.choice.image)):
            try:
                keys[modality] = encoder.cache_key(modality).file_stem() if emb is not None else None
            except NotImplementedError:
                keys[modality] = None
        return keys

    @property
    def has_images(self) -> bool:
        return self.image is not None and bool(self.image.present.any())

    def channels(self, train: np.ndarray, test: np.ndarray):
        """Text and image blocks for the given rows; TF-IDF text is fitted on the training questions only."""
        if self.text is None:
            questions = self.table.instances["question"].tolist()
            self.choice.text.fit([questions[i] for i in train])
            text = self.choice.text.encode_texts(questions)
            t_train, t_test = text.values[train], text.values[test]
        else:
            t_train, t_test = self.text.values[train], self.text.values[test]
        if not self.has_images:
            return t_train, None, None, t_test, None, None
        img = self.image
        return t_train, img.values[train], img.present[train], t_test, img.values[test], img.present[test]


def embed_table(table: OutcomeTable, encoder: str = "auto", *, seed: int = 0, progress: bool = False,
                **encoder_kwargs) -> FeatureBank:
    """Encode every question and image of ``table`` once (content-addressed cache), with the encoders chosen by
    ``encoder`` (see :func:`mmr_utils.encoders.get_encoders`). A missing or unreadable image is marked absent."""
    choice = get_encoders(encoder, seed=seed, progress=progress, **encoder_kwargs)
    questions = table.instances["question"].tolist()
    text = None if choice.text.name == "tfidf" else choice.text.encode_texts(questions)
    image = None
    if table.has_images.any():
        image = choice.image.encode_images(table.instances["image_path"].tolist())
    info = {"encoder": choice.info(), "rows": table.n,
            "images_present": int(image.present.sum()) if image is not None else 0}
    return FeatureBank(table, choice, text, image, info)


def embedding_report(bank: FeatureBank) -> pd.DataFrame:
    """One row per channel: encoder, width, rows, unique inputs, cache hits/misses, absent or unreadable images,
    truncated texts, seconds (what notebook 2 shows)."""
    rows = []
    for channel, emb in (("text", bank.text), ("image", bank.image)):
        if emb is None:
            continue
        info = emb.info
        cache = info.get("cache", {})
        rows.append({"channel": channel, "encoder": info.get("encoder"), "model": info.get("model_id"),
                     "dim": emb.dim, "rows": len(emb), "present": int(emb.present.sum()),
                     "unique_inputs": info.get("n_unique"), "cache_hits": cache.get("hits"),
                     "cache_misses": cache.get("misses"), "truncated_texts": info.get("n_truncated"),
                     "unreadable_images": sum(info.get(k, 0) for k in ("n_missing", "n_empty", "n_corrupt")),
                     "device": info.get("device"), "dtype": info.get("dtype"), "seconds": info.get("seconds")})
    return pd.DataFrame(rows).set_index("channel")


def channel_separability(bank: FeatureBank, *, label: str = "dataset", folds: int = 5, seed: int = 0
                          ) -> pd.DataFrame:
    """How much structure each feature channel carries: the cross-validated accuracy of a 5-nearest-neighbour
    classifier (cosine) predicting ``label`` (a per-instance column, e.g. the dataset) from the text channel, the
    image channel (rows with an image) and their concatenation, beside the majority-class rate. A router can only
    exploit what its features separate, so this is the feature-level view of the paper's modality question."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    y_all = bank.table.instances[label].astype(str).to_numpy()
    rows = np.ones(bank.table.n, dtype=bool) if not bank.has_images else bank.image.present
    channels = {"text": bank.text.values if bank.text is not None else None,
                "image": bank.image.values if bank.has_images else None}
    if channels["text"] is not None and channels["image"] is not None:
        channels["text + image"] = np.hstack([channels["text"], channels["image"]])
    y = y_all[rows]
    counts = pd.Series(y).value_counts()
    n_folds = int(min(folds, counts.min())) if len(counts) > 1 else 0
    records = []
    for name, values in channels.items():
        if values is None:
            continue
        score = np.nan
        if n_folds >= 2:
            model = KNeighborsClassifier(n_neighbors=min(5, len(y) - 1), metric="cosine")
            cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            score = float(cross_val_score(model, values[rows], y, cv=cv).mean())
        records.append({"channel": name, "rows": int(rows.sum()), "classes": len(counts), "knn_accuracy": score,
                        "majority_rate": float(counts.iloc[0] / len(y))})
    return pd.DataFrame(records).set_index("channel")


def load_and_embed(data_root: str = "", *, scale: float = 1.0, seed: int = 0, encoder: str = "auto",
                   progress: bool = False) -> FeatureBank:
    """A notebook's first step: the outcome table (see :func:`mmr_utils.sources.load_benchmark`) and its embeddings,
    printing which data and which encoder were used.

    ``seed`` is the *data* seed (which simulated benchmark, and the encoders' seeded projections). It is independent
    of the split/router seeds that the studies take as ``seeds`` (seed 42 with ``split_procedure="official"`` there
    is the official split); pass it separately rather than reusing a split seed."""
    from .sources import load_benchmark

    table = load_benchmark(data_root, scale=scale, seed=seed)
    bank = embed_table(table, encoder, seed=seed, progress=progress)
    print(table.describe())
    print("encoder that ran:", bank.encoder)
    return bank


# --------------------------------------------------------------------------- one router, one split
def _router_params(name: str, router_params: dict | None, neural_epochs: int | None, seed: int, text_dim) -> dict:
    params = dict((router_params or {}).get(name, {}))
    if neural_epochs is not None and name in NEURAL_ROUTERS:
        params.setdefault("epochs", neural_epochs)
    if name == "cmr":
        params["text_dim"] = text_dim
    if name not in ("oracle",):
        params.setdefault("seed", seed)
    return params


def _router_class(name: str):
    """The registered router class (its ``fusion`` attribute says which fusion it requires)."""
    if name not in ROUTERS:
        make_router(name)  # raises the registry's error listing the known names
    return ROUTERS[name]


def _check_mode(bank: FeatureBank, mode: str) -> None:
    if not bank.has_images and any(flag in "23" for flag in str(mode)):
        raise ValueError(
            f"mode {mode} uses the image channel, but this table has no images ({bank.table.source.get('images')}); "
            f"only mode 11 (text) makes sense for a text-only table"
        )


@dataclass
class RouterRun:
    """A fitted router's predictions on the test rows of a split, and what produced them."""

    router: str
    U: np.ndarray
    P: np.ndarray
    test: np.ndarray
    info: dict


def fit_predict(bank: FeatureBank, router: str, split: Split, *, mode: str = "22", fusion: str = "mean",
                seed: int = 0, router_params: dict | None = None, neural_epochs: int | None = None) -> RouterRun:
    """Build features for ``mode``/``fusion`` (the router's own fusion if it requires one), fit ``router`` on the
    training rows (missing cells masked) and predict utility and cost on the test rows."""
    _check_mode(bank, mode)
    table = bank.table
    strategy = _router_class(router).fusion or fusion
    if not bank.has_images and strategy != "text":
        strategy = "text"
    blocks = bank.channels(split.train, split.test)
    X_train, X_test, finfo = build_features(*blocks, mode=mode, strategy=strategy, seed=seed)
    params = _router_params(router, router_params, neural_epochs, seed, finfo.get("text_dim"))
    if router == "cmr" and (finfo.get("text_dim") is None or finfo["text_dim"] >= X_train.shape[1]):
        raise ValueError(f"CMR needs both channels in concat features; mode {mode} leaves only one")
    R = make_router(router, **params)
    Y, C = table.correct, table.cost
    unlearnable = table.unobserved_models(split.train)
    if unlearnable:
        raise ValueError(f"models {unlearnable} have no observed cell in the {len(split.train)} training rows, so "
                         f"{router} cannot learn them; drop them (OutcomeTable.select_models) or train on more rows")
    R.fit(X_train, Y[split.train], C[split.train])
    if router == "oracle":
        U, P = R.predict(X_test, Y=Y[split.test], C=C[split.test])
    else:
        U, P = R.predict(X_test)
    info = {"router": router, "params": R.get_params(), "mode": mode, "fusion": strategy, "seed": seed,
            "features": finfo, "encoder": bank.encoder, "split": split.info}
    return RouterRun(router, U, P, split.test, info)


#: The paper's Figure 4 is drawn on the six datasets without MathVision (its single-model points match that union,
#: see PAPER.md); results carry this group beside "All" whenever MathVision and two or more other datasets are present.
FIG4_GROUP = "All but MathVision"


def is_union_group(name: str) -> bool:
    """True for the groups that pool several datasets ("All", :data:`FIG4_GROUP`), not for a single dataset."""
    return name in ("All", FIG4_GROUP)


def _groups(table: OutcomeTable, rows: np.ndarray, per_dataset: bool) -> list[tuple[str, np.ndarray]]:
    groups = [("All", np.arange(len(rows)))]
    datasets = table.instances["dataset"].to_numpy()[rows]
    names = list(dict.fromkeys(datasets))
    if per_dataset and len(names) > 1:  # with a single dataset "All" is that dataset
        groups += [(d, np.flatnonzero(datasets == d)) for d in names]
        if "MathVision" in names and len(names) > 2:
            groups.append((FIG4_GROUP, np.flatnonzero(datasets != "MathVision")))
    return groups


def score_run(table: OutcomeTable, run: RouterRun, *, per_dataset: bool = True, rule: str = "threshold",
              fallback: str = "cheapest") -> tuple[list[dict], dict]:
    """Protocol metrics of one run on all test rows and on each dataset's test rows; returns records and the
    frontiers (group -> (f x 2) array)."""
    Y, C = table.correct[run.test], table.cost[run.test]
    records, frontiers = [], {}
    for group, idx in _groups(table, run.test, per_dataset):
        s = ev.summarize(run.U[idx], run.P[idx], Y[idx], C[idx], rule=rule, fallback=fallback)
        records.append({"router": run.router, "dataset": group, "seed": run.info["seed"], "mode": run.info["mode"],
                        "fusion": run.info["fusion"], **s.metrics, "rows": s.rows, "rows_dropped": s.rows_dropped})
        frontiers[group] = s.frontier
    return records, frontiers


def reference_records(table: OutcomeTable, test: np.ndarray, *, seed: int = 0, random_draws: int = 50,
                      per_dataset: bool = True, random_protocol: str = "official") -> tuple[list[dict], dict]:
    """Random, Best Single and Oracle on the test rows (and per dataset). Random is the official baseline by default
    (``random_draws`` one-point trials, Ps = the best trial; :func:`mmr_utils.evaluation.random_official`) or, with
    ``random_protocol="sweep"``, :func:`mmr_utils.evaluation.random_sweep`."""
    complete = table.complete_rows()[test]
    rows = test[complete]
    Y, C = table.correct[rows], table.cost[rows]
    records, curves = [], {}
    for group, idx in _groups(table, rows, per_dataset):
        y, c = Y[idx], C[idx]
        lo_hi = ev.shared_cost_range(c)
        rnd = ev.random_routing(y, c, draws=random_draws, seed=seed, protocol=random_protocol)
        records.append({"router": "random", "dataset": group, "seed": seed, "nAUC": rnd["nAUC"],
                        "nAUC_shared": rnd["nAUC_shared"], "Ps": rnd["Ps"], "QNC": rnd["QNC"], "rows": len(idx),
                        "cost": rnd["cost"], "accuracy": rnd["accuracy"], "random_protocol": rnd["protocol"]})
        best = ev.best_single_model(y, c)
        singles = ev.single_model_points(y, c)
        acc, cost = singles[best, 1], singles[best, 0]
        records.append({"router": "best_single", "dataset": group, "seed": seed, "nAUC": acc, "nAUC_shared":
                        ev.nauc(singles[best:best + 1], protocol="shared", cost_range=lo_hi), "Ps": acc, "QNC": 1.0,
                        "rows": len(idx), "cost": cost, "accuracy": acc, "model": table.models[best]})
        oracle = ev.summarize(y, c, y, c)
        o_cost, o_acc = oracle.oracle
        records.append({"router": "oracle", "dataset": group, "seed": seed, **oracle.metrics, "rows": len(idx),
                        "cost": o_cost, "accuracy": o_acc})
        curves[group] = {"single_models": singles, "oracle": (o_cost, o_acc), "oracle_frontier": oracle.frontier,
                         "random": (rnd["cost"], rnd["accuracy"]), "best_single": table.models[best]}
    return records, curves


# --------------------------------------------------------------------------- result cache
#: Package modules that studies never call (presentation and command line): editing them keeps cached results.
_NOT_IN_RESULTS = ("plots.py", "cli.py", "__main__.py")


def _code_fingerprint() -> str:
    """Hash of the package's source files that studies run: any change to them invalidates cached study results."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        if path.name in _NOT_IN_RESULTS and path.parent == Path(__file__).parent:
            continue
        digest.update(path.relative_to(Path(__file__).parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _bank_fingerprint(bank: FeatureBank) -> str:
    import hashlib

    digest = hashlib.sha256()
    table = bank.table
    for array in (table.correct, table.cost):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\x1f".join(table.instances["dataset_idx"].astype(str)).encode())
    digest.update("\x1f".join(table.models).encode())
    for emb in (bank.text, bank.image):
        if emb is not None:
            digest.update(np.ascontiguousarray(emb.values).tobytes())
            digest.update(emb.present.tobytes())
    digest.update(bank.encoder.encode())
    return digest.hexdigest()[:16]


def cached_study(function):
    """Cache a study's result on disk, keyed by the package source, the table, the features and every argument.

    A re-run of ``make figures`` with nothing changed reloads results instead of refitting every router; the result's
    provenance says ``"result_cache": "hit"`` when it was reloaded. ``MMR_STUDY_CACHE=0`` disables the cache. Results
    are saved as data only (CSV, JSON, .npz: :mod:`mmr_utils.store`), never pickled.
    """
    import functools
    import hashlib
    import inspect
    import json
    import os

    from . import paths
    from .store import ResultStore

    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(bank, *args, **kwargs):
        if os.environ.get("MMR_STUDY_CACHE", "1") == "0":
            return function(bank, *args, **kwargs)
        bound = signature.bind(bank, *args, **kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k != "bank"}
        key_text = json.dumps([function.__name__, _code_fingerprint(), _bank_fingerprint(bank), arguments],
                              sort_keys=True, default=repr)
        store = ResultStore(paths.CACHE / "studies")
        name = f"{function.__name__}-{hashlib.sha256(key_text.encode()).hexdigest()[:24]}"
        saved = store.load(name)
        if saved is not None:
            result = StudyResult(**saved)
            result.provenance["result_cache"] = "hit"
            return result
        result = function(bank, *args, **kwargs)
        result.provenance["result_cache"] = "miss (computed)"
        store.save(name, dict(vars(result)))
        return result

    return wrapper


# --------------------------------------------------------------------------- studies
@dataclass
class StudyResult:
    """A study's tidy results (one row per router, seed and group), curves for figures, and provenance."""

    results: pd.DataFrame
    curves: dict
    provenance: dict


def provenance(bank: FeatureBank, **settings) -> dict:
    """What produced a result: data source (simulated or not), encoder that actually ran, settings, versions."""
    import sklearn
    import torch

    from . import __version__
    from .provenance import table_record

    source = bank.table.source
    return {
        "data": {**table_record(bank.table), "missing_cells": source.get("missing_cells", {}),
                 "missing_images": source.get("missing_images", {}),
                 "missing_cells_handling": "routers learn from observed cells only; evaluation scores complete rows"},
        "features": {"fingerprint": _bank_fingerprint(bank), "cache_keys": bank.cache_keys()},
        "encoder": bank.encoder,
        "encoder_detail": bank.info.get("encoder"),
        "settings": settings,
        "versions": {"mmr_utils": __version__, "python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__},
    }


@cached_study
def main_results(bank: FeatureBank, routers=LEARNED_ROUTERS, *, seeds=(0,), train_fraction: float = 0.2,
                 mode: str = "22", fusion: str = "mean", neural_epochs: int | None = None,
                 router_params: dict | None = None, random_draws: int = 50, rule: str = "threshold",
                 random_protocol: str = "official", split_procedure: str = "stratified",
                 protocols=("pooled",)) -> StudyResult:
    """Table 2, Figure 4 and the QNC table: every router on a random instance split (stratified by dataset; with
    ``split_procedure="official"`` and seed 42, the official split), scored on all test rows and per dataset, beside
    Random (the official 50 one-point trials unless ``random_protocol="sweep"``), Best Single and Oracle; repeated
    over ``seeds`` (split and router seeds; the data seed belongs to the table, see :func:`load_and_embed`).

    ``protocols`` says how routers are trained for the per-dataset columns (every record carries its ``protocol``):

    - ``"pooled"`` (this project's variant): one router per seed fitted on the training rows of every dataset, scored
      on all test rows and on each dataset's test rows;
    - ``"per_dataset"`` (the official protocol, ``run.py --dataset X``): one router per dataset, fitted on that
      dataset's training rows only and scored on its test rows; the ``All`` column is the pooled router (the paper's
      "Full" column is a run on all datasets together). It needs enough training rows in every dataset.

    The shared nAUC interval is each group's own. References (Random, Best Single, Oracle) are protocol-free.
    """
    unknown = sorted(set(protocols) - {"pooled", "per_dataset"})
    if unknown or not protocols:
        raise ValueError(f"protocols {list(protocols)}: expected a non-empty subset of ['pooled', 'per_dataset']")
    datasets = bank.table.instances["dataset"].to_numpy()
    records, curves = [], {"frontiers": {}, "frontiers_per_dataset": {}, "references": {}}
    for seed in seeds:
        split = instance_split(bank.table, train_fraction, seed=seed, procedure=split_procedure)
        refs, ref_curves = reference_records(bank.table, split.test, seed=seed, random_draws=random_draws,
                                             random_protocol=random_protocol)
        records += refs
        curves["references"].setdefault(seed, ref_curves)
        for router in routers:
            run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed,
                              router_params=router_params, neural_epochs=neural_epochs)
            recs, fronts = score_run(bank.table, run, rule=rule)
            curves["frontiers"][(router, seed)] = fronts
            if "pooled" in protocols:
                records += [{**r, "protocol": "pooled"} for r in recs]
            if "per_dataset" in protocols:
                records += [{**r, "protocol": "per_dataset"} for r in recs if is_union_group(r["dataset"])]
                per_fronts = {}
                for name in dict.fromkeys(datasets[split.test]):
                    sub = Split(train=split.train[datasets[split.train] == name],
                                test=split.test[datasets[split.test] == name], info={**split.info, "dataset": name})
                    if len(sub.train) < 2:
                        raise ValueError(f"per-dataset protocol: dataset {name!r} has {len(sub.train)} training "
                                         f"rows at train_fraction={train_fraction}; use protocols=('pooled',) or a "
                                         f"larger table")
                    run_d = fit_predict(bank, router, sub, mode=mode, fusion=fusion, seed=seed,
                                        router_params=router_params, neural_epochs=neural_epochs)
                    recs_d, fronts_d = score_run(bank.table, run_d, per_dataset=False, rule=rule)
                    records += [{**r, "dataset": name, "protocol": "per_dataset"} for r in recs_d]
                    per_fronts[name] = fronts_d["All"]
                curves["frontiers_per_dataset"][(router, seed)] = per_fronts
    prov = provenance(bank, study="main_results", routers=list(routers), seeds=list(seeds),
                      train_fraction=train_fraction, mode=mode, fusion=fusion, neural_epochs=neural_epochs, rule=rule,
                      random_draws=random_draws, random_protocol=random_protocol, split_procedure=split_procedure,
                      protocols=list(protocols))
    return StudyResult(pd.DataFrame(records), curves, prov)


@cached_study
def modality_study(bank: FeatureBank, routers=LEARNED_ROUTERS, *, modes=("11", "33", "22", "21"),
                   fusions=("mean", "concat", "adaptive"), seeds=(0,), train_fraction: float = 0.2,
                   neural_epochs: int | None = None) -> StudyResult:
    """Modalities and fusion (paper Sec. 5.3): each router under each mode with the default ``mean`` fusion, and
    under each fusion strategy in mode 22. Routers that require their own fusion (KMeans-adaptive: adaptive; CMR:
    cross-attention over concat) are run once per mode. Scored on all test rows and per dataset (the ``dataset``
    column; "All" for all test rows)."""
    records = []
    for seed in seeds:
        split = instance_split(bank.table, train_fraction, seed=seed)
        for router in routers:
            fixed = _router_class(router).fusion
            settings = [(m, "mean") for m in modes] + [("22", f) for f in fusions if f != "mean" and fixed is None]
            for mode, fusion in settings:
                if router == "cmr" and mode[0] in "13" and mode[1] in "13":
                    continue  # one channel in training or test: nothing to cross-attend
                run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed,
                                  neural_epochs=neural_epochs)
                recs, _ = score_run(bank.table, run)
                for rec in recs:
                    rec["study"] = "fusion" if fusion != "mean" and mode == "22" else "mode"
                    rec["fusion"] = "cross-attention" if router == "cmr" else rec["fusion"]
                records += recs
    prov = provenance(bank, study="modality", routers=list(routers), modes=list(modes), fusions=list(fusions),
                      seeds=list(seeds), train_fraction=train_fraction, neural_epochs=neural_epochs)
    return StudyResult(pd.DataFrame(records), {}, prov)


def modality_gaps(result: StudyResult, metric: str = "nAUC_shared") -> pd.DataFrame:
    """Where multimodal routing pays (paper Sec. 5.3): per router and dataset, ``metric`` of mode 22 minus the better
    of the unimodal modes 11 and 33 (mean over seeds; positive = both channels beat either alone). Routers without a
    unimodal run (CMR) are NaN. A last row averages the routers."""
    frame = result.results[(result.results["study"] == "mode") & result.results["mode"].isin(["11", "22", "33"])]
    means = frame.groupby(["router", "dataset", "mode"], sort=False)[metric].mean().unstack("mode")
    gap = (means["22"] - means[["11", "33"]].max(axis=1, skipna=False)).unstack("dataset")
    columns = [d for d in dict.fromkeys(frame["dataset"]) if not is_union_group(d)] + ["All"]
    gap = gap[[c for c in columns if c in gap.columns]]
    gap.loc["mean over routers"] = gap.mean(axis=0)
    return gap


def scenario_pairs(table: OutcomeTable) -> list[tuple[str, str, str]]:
    """Every ordered (scenario, source, target) pair of distinct datasets within one scenario."""
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()
    pairs = []
    for scenario, names in scen.groupby(scen, sort=False):
        names = list(names.index)
        pairs += [(scenario, a, b) for a in names for b in names if a != b]
    return pairs


def paper_scenario_pairs(table: OutcomeTable, out_fraction: float = 0.2) -> list[tuple[str, str, str]]:
    """The paper's Table 4 protocol (official ``--split out``): per scenario, its datasets in table order, the first
    ``max(1, floor(n * out_fraction))`` are the source and the rest the target, so OCR and General VQA are A -> B and
    Math trains on one set and tests on the other two. Source and target are ``+``-joined names. [uncertain] which
    dataset the paper put first in each scenario; table order (the paper's listing) is used."""
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()
    pairs = []
    for scenario, names in scen.groupby(scen, sort=False):
        names = list(names.index)
        if len(names) < 2:
            continue
        cut = max(1, int(np.floor(len(names) * out_fraction)))
        pairs.append((scenario, "+".join(names[:cut]), "+".join(names[cut:])))
    return pairs


@cached_study
def cross_dataset_study(bank: FeatureBank, routers=LEARNED_ROUTERS, *, mode: str = "22", fusion: str = "mean",
                        seeds=(0,), neural_epochs: int | None = None, pairs=None,
                        protocol: str = "all_pairs") -> StudyResult:
    """Table 4: train on source datasets, test on target datasets within each scenario, beside the best single model
    on the target (chosen on the target's own outcomes, so an upper reference, as in the paper).

    ``protocol="all_pairs"`` runs every ordered pair of datasets within a scenario (this project's fuller view);
    ``protocol="paper"`` runs the official ``--split out`` protocol of :func:`paper_scenario_pairs` (one number per
    scenario, as the paper's Table 4). ``pairs`` overrides both."""
    if protocol not in ("all_pairs", "paper"):
        raise ValueError(f"protocol {protocol!r}: expected 'all_pairs' or 'paper'")
    records = []
    default = scenario_pairs(bank.table) if protocol == "all_pairs" else paper_scenario_pairs(bank.table)
    for scenario, source, target in pairs or default:
        split = cross_dataset_split(bank.table, source.split("+"), target.split("+"))
        best = ev.best_single_model(*(a[split.test][bank.table.complete_rows()[split.test]]
                                      for a in (bank.table.correct, bank.table.cost)))
        y = bank.table.correct[split.test][:, best]
        base = {"scenario": scenario, "source": source, "target": target}
        records.append({**base, "router": "best_single", "seed": 0, "Ps": float(np.nanmean(y)),
                        "model": bank.table.models[best]})
        for seed in seeds:
            for router in routers:
                run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed,
                                  neural_epochs=neural_epochs)
                recs, _ = score_run(bank.table, run, per_dataset=False)
                records += [{**base, **r} for r in recs]
    prov = provenance(bank, study="cross_dataset", routers=list(routers), mode=mode, fusion=fusion, seeds=list(seeds),
                      neural_epochs=neural_epochs, protocol=protocol)
    return StudyResult(pd.DataFrame(records), {}, prov)


@cached_study
def model_subset_transfer(bank: FeatureBank, routers=LEARNED_ROUTERS, *, seeds=(0, 1, 2), pool_size: int = 5,
                          mode: str = "22", fusion: str = "mean", neural_epochs: int | None = None) -> StudyResult:
    """The abstract's generalisation claim, made concrete: a router trained on a **subset of the models** and a
    **subset of the tasks** routes, zero-shot, on datasets it never saw, choosing among the same model subset.

    Per seed: ``pool_size`` models drawn at random (seeded); in every scenario one dataset drawn at random is held
    out, the router trains on all rows of the other datasets and is scored on the held-out ones, beside the best
    single model of the subset on those held-out rows (chosen on their own outcomes, a demanding bar). [uncertain]
    The paper names this claim in its abstract but gives no protocol or numbers (PAPER.md); this is one reading."""
    table = bank.table
    if not 2 <= pool_size <= len(table.models):
        raise ValueError(f"pool_size {pool_size}: expected 2..{len(table.models)} (the table has "
                         f"{len(table.models)} models)")
    scen = table.instances.groupby("dataset", sort=False)["scenario"].first()
    records = []
    for seed in seeds:
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
        rows = split.test[sub_bank.table.complete_rows()[split.test]]
        Y, C = sub_bank.table.correct[rows], sub_bank.table.cost[rows]
        best = ev.best_single_model(Y, C)
        base = {"seed": seed, "models": "+".join(models), "trained_on": "+".join(seen), "tested_on": "+".join(held_out)}
        records.append({**base, "router": "best_single", "Ps": float(Y[:, best].mean()), "QNC": 1.0,
                        "model": models[best]})
        for router in routers:
            run = fit_predict(sub_bank, router, split, mode=mode, fusion=fusion, seed=seed,
                              neural_epochs=neural_epochs)
            recs, _ = score_run(sub_bank.table, run, per_dataset=False)
            records += [{**base, **r} for r in recs]
    prov = provenance(bank, study="model_subset_transfer", routers=list(routers), seeds=list(seeds),
                      pool_size=pool_size, mode=mode, fusion=fusion, neural_epochs=neural_epochs)
    return StudyResult(pd.DataFrame(records), {}, prov)


@cached_study
def image_masked_transfer(bank: FeatureBank, routers=LEARNED_ROUTERS, *, seeds=(0,), train_fraction: float = 0.2,
                          fusion: str = "mean", neural_epochs: int | None = None) -> StudyResult:
    """This project's stand-in for the paper's Table 5 (cross-modality transfer): routers trained on text+image
    (mode 22) and tested on the same multimodal datasets with the image channel masked (mode 21), beside the same
    routers tested multimodally (22), per dataset.

    The paper tests on text-only benchmarks (GSM8K, MMLU, ARC); the outcomes of its model pool on those sets are not
    public, so that table cannot be regenerated. Masking the image of multimodal queries asks the same question (what
    a router trained on multimodal traffic keeps when the image is gone) on data we have.
    """
    records = []
    for seed in seeds:
        split = instance_split(bank.table, train_fraction, seed=seed)
        for router in routers:
            for mode in ("22", "21"):
                run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed,
                                  neural_epochs=neural_epochs)
                records += score_run(bank.table, run)[0]
    prov = provenance(bank, study="image_masked_transfer", routers=list(routers), seeds=list(seeds),
                      train_fraction=train_fraction, fusion=fusion, neural_epochs=neural_epochs)
    return StudyResult(pd.DataFrame(records), {}, prov)


def transfer_table(result: StudyResult, metric: str = "Ps") -> pd.DataFrame:
    """Image-masked transfer as a table: ``metric`` (mean over seeds) per router and dataset when tested with the
    image masked (mode 21), and its change from testing with the image (21 minus 22)."""
    frame = result.results
    masked = pivot_seeds(frame[frame["mode"] == "21"], "router", "dataset", metric)
    full = pivot_seeds(frame[frame["mode"] == "22"], "router", "dataset", metric)
    columns = [d for d in dict.fromkeys(frame["dataset"]) if not is_union_group(d)] + ["All"]
    masked, change = masked[columns], (masked - full)[columns]
    return pd.concat({f"{metric} image masked (21)": masked, "change vs multimodal (21 - 22)": change}, axis=1)


@cached_study
def data_efficiency(bank: FeatureBank, routers=LEARNED_ROUTERS, *, fractions=(0.05, 0.1, 0.2, 0.4, 0.8),
                    seeds=(0, 1, 2), mode: str = "22", fusion: str = "mean", neural_epochs: int | None = None,
                    test_fraction: float = 0.2) -> StudyResult:
    """Data efficiency: nAUC as the training fraction grows. For comparability every fraction is scored on the same
    held-out ``test_fraction`` of the rows (per seed); training rows are drawn from the rest."""
    records = []
    for seed in seeds:
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
            for router in routers:
                run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed,
                                  neural_epochs=neural_epochs)
                for rec in score_run(bank.table, run, per_dataset=False)[0]:
                    records.append({**rec, "train_fraction": fraction})
    prov = provenance(bank, study="data_efficiency", routers=list(routers), fractions=list(fractions),
                      seeds=list(seeds), mode=mode, fusion=fusion, test_fraction=test_fraction,
                      neural_epochs=neural_epochs)
    return StudyResult(pd.DataFrame(records), {}, prov)


#: Moved to :mod:`mmr_utils.evaluation`; kept here for existing callers.
first_correct_oracle = ev.first_correct_oracle


@cached_study
def metric_audit(bank: FeatureBank, routers=LEARNED_ROUTERS, *, seeds=(0,), train_fraction: float = 0.2,
                 mode: str = "22", fusion: str = "mean", neural_epochs: int | None = None,
                 split_procedure: str = "stratified") -> StudyResult:
    """The official protocol against the fixed one on the same predictions: fallback to model 0 vs the cheapest
    predicted model, nAUC over each frontier's own span vs a shared interval, and an oracle that ignores cost ties
    vs the cheapest correct model. Returns per-router metrics under both protocols and their ranks.

    The official emulation puts the model columns in the official loader's sorted-name order
    (:func:`mmr_utils.evaluation.official_model_order`), so "model 0" (fallback and oracle tie-break) is the model the
    official code uses (``Claude3-7V_Sonnet`` for the paper's models, not the table's first column), and breaks
    utility ties by the lower index as its ``argmax`` does; ``official_first_model`` names that model."""
    records = []
    order = ev.official_model_order(bank.table.models)
    first_model = bank.table.models[order[0]]
    for seed in seeds:
        split = instance_split(bank.table, train_fraction, seed=seed, procedure=split_procedure)
        rows = split.test[bank.table.complete_rows()[split.test]]
        Y, C = bank.table.correct[rows], bank.table.cost[rows]
        for router in routers:
            run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed, neural_epochs=neural_epochs)
            keep = bank.table.complete_rows()[run.test]
            U, P = run.U[keep], run.P[keep]
            official = ev.summarize_official(U, P, Y, C, bank.table.models)
            fixed = ev.summarize(U, P, Y, C, fallback="cheapest")
            records.append({"router": router, "seed": seed, "official_first_model": first_model,
                            "nAUC_official_protocol": official.metrics["nAUC"],
                            "nAUC_fixed_protocol": fixed.metrics["nAUC_shared"],
                            "nAUC_official_range_fixed_fallback": fixed.metrics["nAUC"],
                            "Ps_official_protocol": official.metrics["Ps"], "Ps_fixed_protocol": fixed.metrics["Ps"],
                            "frontier_cost_span": float(fixed.frontier[-1, 0] - fixed.frontier[0, 0]),
                            "first_point_cost_official": float(official.points.cost[0]),
                            "first_point_cost_fixed": float(fixed.points.cost[0])})
        o_first = ev.first_correct_oracle(Y[:, order], C[:, order])
        o_cheap = ev.oracle_point(Y, C)
        records.append({"router": "oracle (first correct, ties ignored)", "seed": seed, "cost": o_first[0],
                        "accuracy": o_first[1], "official_first_model": first_model})
        records.append({"router": "oracle (cheapest correct)", "seed": seed, "cost": o_cheap[0],
                        "accuracy": o_cheap[1]})
    frame = pd.DataFrame(records)
    learned = frame["router"].isin(routers)
    for column in ("nAUC_official_protocol", "nAUC_fixed_protocol"):
        frame.loc[learned, column.replace("nAUC", "rank")] = frame[learned].groupby("seed")[column].rank(
            ascending=False, method="min")
    prov = provenance(bank, study="metric_audit", routers=list(routers), seeds=list(seeds),
                      train_fraction=train_fraction, mode=mode, fusion=fusion, neural_epochs=neural_epochs,
                      split_procedure=split_procedure, official_model_order=[bank.table.models[i] for i in order])
    return StudyResult(frame, {}, prov)


# --------------------------------------------------------------------------- tables
def aggregate_seeds(frame: pd.DataFrame, by, metrics=METRICS) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, grouped by ``by`` (QNC: infinite values kept, so a
    mean is infinite when any seed never reaches the best single model; ``QNC_reached`` gives the fraction that do)."""
    by = [by] if isinstance(by, str) else list(by)
    metrics = [m for m in metrics if m in frame]
    grouped = frame.groupby(by, sort=False)
    out = grouped[metrics].mean()
    spread = grouped[metrics].std(ddof=1).add_suffix("_std")
    result = pd.concat([out, spread], axis=1)
    if "QNC" in metrics:
        result["QNC_reached"] = grouped["QNC"].apply(lambda s: float(np.isfinite(s).mean()))
    result["seeds"] = grouped["seed"].nunique() if "seed" in frame else 1
    return result.reset_index()


def pivot_seeds(frame: pd.DataFrame, index: str, columns: str, metric: str = "nAUC_shared") -> pd.DataFrame:
    """``metric`` averaged over seeds, one row per ``index`` value and one column per ``columns`` value."""
    agg = aggregate_seeds(frame, [index, columns], metrics=(metric,))
    return agg.pivot(index=index, columns=columns, values=metric)


def select_protocol(frame: pd.DataFrame, protocol: str | None = None) -> pd.DataFrame:
    """The rows of one training protocol of :func:`main_results` plus the protocol-free reference rows. ``None``
    takes the official ``per_dataset`` protocol when present, else the only one there."""
    if "protocol" not in frame:
        return frame
    present = list(dict.fromkeys(frame["protocol"].dropna()))
    if protocol is None:
        protocol = "per_dataset" if "per_dataset" in present else (present[0] if present else None)
    if protocol is None:
        return frame
    if protocol not in present:
        raise ValueError(f"protocol {protocol!r} not in the result (present: {present})")
    return frame[frame["protocol"].isna() | (frame["protocol"] == protocol)]


def table2(result: StudyResult, metric: str = "nAUC_shared", protocol: str | None = None) -> pd.DataFrame:
    """Paper Table 2 layout: one row per router (references first), one column per dataset and All, for
    ``metric`` (mean over seeds). ``protocol`` picks the router records of one training protocol of
    :func:`main_results` (see :func:`select_protocol`)."""
    frame = select_protocol(result.results, protocol)
    result = StudyResult(frame, result.curves, result.provenance)
    wide = pivot_seeds(result.results, "router", "dataset", metric)
    datasets = [d for d in dict.fromkeys(result.results["dataset"]) if not is_union_group(d)] + (
        ["All"] if "All" in wide.columns else [])
    order = [r for r in ("random", "best_single") if r in wide.index] + [
        r for r in dict.fromkeys(result.results["router"]) if r not in REFERENCES] + (
        ["oracle"] if "oracle" in wide.index else [])
    return wide.loc[order, datasets]


def qnc_table(result: StudyResult) -> pd.DataFrame:
    """How cheaply each router reaches the best single model's accuracy on all test rows (QNC, mean over seeds),
    with the best single model's name."""
    frame = select_protocol(result.results)
    frame = frame[frame["dataset"] == "All"]
    agg = aggregate_seeds(frame[~frame["router"].isin(REFERENCES)], "router", metrics=("QNC", "Ps"))
    best = frame[frame["router"] == "best_single"]
    agg["best_single_model"] = best["model"].iloc[0] if len(best) else None
    agg["best_single_accuracy"] = best["accuracy"].mean() if len(best) else np.nan
    return agg.sort_values("QNC").reset_index(drop=True)


def cross_dataset_table(result: StudyResult, metric: str = "Ps") -> pd.DataFrame:
    """Paper Table 4 layout: one row per (scenario, source -> target), one column per router plus the best single
    model on the target (``metric`` mean over seeds; the best single model is scored by its accuracy)."""
    frame = result.results.copy()
    frame.loc[frame["router"] == "best_single", metric] = frame.loc[frame["router"] == "best_single", "Ps"]
    agg = frame.groupby(["scenario", "source", "target", "router"], sort=False)[metric].mean().reset_index()
    wide = agg.pivot_table(index=["scenario", "source", "target"], columns="router", values=metric, sort=False)
    routers = [r for r in dict.fromkeys(frame["router"]) if r != "best_single"]
    wide = wide[routers + ["best_single"]].reset_index()
    wide.index = (wide["source"] + " -> " + wide["target"]).rename("source -> target")
    return wide.drop(columns=["source", "target"])


@cached_study
def budget_rules(bank: FeatureBank, router: str = "knn", *, seed: int = 0, train_fraction: float = 0.2,
                 mode: str = "22", fusion: str = "mean", neural_epochs: int | None = None) -> StudyResult:
    """The two budget rules on one router's predictions (paper Sec. 3.2 vs the official code): the official
    threshold rule (``argmax`` of predicted utility among models with predicted cost below ``t``) and the paper's
    lambda rule (``argmax_k U - lambda P``). Both sweeps are exact; the result holds, per rule, every operating point,
    the Pareto frontier and the metrics on all test rows."""
    split = instance_split(bank.table, train_fraction, seed=seed)
    run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed, neural_epochs=neural_epochs)
    rows = run.test[bank.table.complete_rows()[run.test]]
    keep = np.isin(run.test, rows)
    Y, C = bank.table.correct[rows], bank.table.cost[rows]
    records, curves = [], {}
    for rule in ev.RULES:
        points = ev.budget_sweep(run.U[keep], run.P[keep], Y, C, rule=rule)
        s = ev.summarize(run.U[keep], run.P[keep], Y, C, rule=rule)
        records.append({"router": router, "rule": rule, "seed": seed, "points": len(points.cost), **s.metrics})
        curves[rule] = {"points": np.column_stack([points.cost, points.accuracy]), "frontier": s.frontier}
    curves["single_models"] = ev.single_model_points(Y, C)
    prov = provenance(bank, study="budget_rules", router=router, seed=seed, train_fraction=train_fraction, mode=mode,
                      fusion=fusion, neural_epochs=neural_epochs)
    return StudyResult(pd.DataFrame(records), curves, prov)


def audit_rank_changes(result: StudyResult) -> pd.DataFrame:
    """Mean rank of each learned router under the official and the fixed protocol, and the change."""
    frame = result.results.dropna(subset=["rank_official_protocol"])
    ranks = frame.groupby("router", sort=False)[["rank_official_protocol", "rank_fixed_protocol"]].mean()
    ranks["change"] = ranks["rank_fixed_protocol"] - ranks["rank_official_protocol"]
    return ranks.sort_values("rank_fixed_protocol")


def evaluate(bank: FeatureBank, router: str, *, train_fraction: float = 0.2, seed: int = 42, mode: str = "22",
             fusion: str = "mean", neural_epochs: int | None = None, random_draws: int = 50, source=None,
             target=None, rule: str = "threshold", random_protocol: str = "official",
             split_procedure: str = "stratified") -> dict:
    """One router, one split, everything the CLI's result JSON holds: router, data, encoder, mode, fusion, seed,
    metrics {nAUC, nAUC_shared, Ps, QNC}, single models, frontier, oracle and random (paper Sec. 3.3; Random is the
    official baseline unless ``random_protocol="sweep"``; ``split_procedure="official"`` with ``seed=42`` is the
    official split)."""
    table = bank.table
    if (source is None) != (target is None):
        raise ValueError("give both --source and --target for a cross-dataset split, or neither")
    split = (cross_dataset_split(table, source, target) if source is not None
             else instance_split(table, train_fraction, seed=seed, procedure=split_procedure))
    run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed, neural_epochs=neural_epochs)
    keep = table.complete_rows()[split.test]
    rows = split.test[keep]
    Y, C = table.correct[rows], table.cost[rows]
    summary = ev.summarize(run.U[keep], run.P[keep], Y, C, rule=rule)
    singles = summary.single_models
    return {
        "router": router,
        "router_params": run.info["params"],
        "data": {"root": table.source.get("path"), "simulated": bool(table.source.get("simulated")),
                 "datasets": table.datasets, "rows": table.n, "train_rows": int(len(split.train)),
                 "test_rows": int(len(split.test)), "models": list(table.models),
                 "missing_cells": table.missing_per_model(),
                 "missing_images": table.source.get("missing_images", {}),
                 "missing_handling": f"routers learn from observed cells only; {int((~keep).sum())} test rows with a "
                                     f"missing cell are left out of the metrics"},
        "split": split.info,
        "encoder": bank.encoder,
        "encoder_detail": bank.info.get("encoder"),
        "mode": mode,
        "fusion": run.info["fusion"],
        "seed": seed,
        "rule": rule,
        "metrics": summary.metrics,
        "single_models": {m: {"accuracy": float(a), "mean_cost": float(c)}
                          for m, (c, a) in zip(table.models, singles)},
        "best_single": table.models[summary.best_single],
        "frontier": summary.frontier.tolist(),
        "oracle": {"cost": summary.oracle[0], "accuracy": summary.oracle[1]},
        "random": ev.random_routing(Y, C, draws=random_draws, seed=seed, protocol=random_protocol),
        "notes": summary.extra.get("notes", []),
    }


def write_result(record: dict, path) -> None:
    """Write a result record as JSON, atomically (infinite QNC is written as the string "inf")."""
    import json

    from ._io import atomic_write_text

    def default(value):
        if isinstance(value, (np.integer,)):
            return int(value)
        if isinstance(value, (np.floating,)):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
        return str(value)

    def finite(value):
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value

    atomic_write_text(path, json.dumps(finite(record), indent=2, default=default) + "\n")


def evaluate_point(bank: FeatureBank, router: str, *, result_path=None, **kwargs) -> dict:
    """:func:`evaluate` plus the JSON file a sweep aggregates (flat metrics at the top level for the CSV)."""
    record = evaluate(bank, router, **kwargs)
    record.update({f"{k}": v for k, v in record["metrics"].items()})
    record["train_fraction"] = kwargs.get("train_fraction", 0.2)
    if result_path is not None:
        write_result(record, result_path)
    return record


def format_result(record: dict) -> str:
    """A one-screen summary of an :func:`evaluate` record."""
    m = record["metrics"]
    data = record["data"]
    lines = [
        f"router {record['router']} | mode {record['mode']} | fusion {record['fusion']} | seed {record['seed']}",
        f"data: {data['root']} ({'SIMULATED' if data['simulated'] else 'real'}), datasets {', '.join(data['datasets'])}"
        f", {data['train_rows']} train / {data['test_rows']} test rows",
        f"encoder: {record['encoder']}",
        f"nAUC (official) {m['nAUC']:.4f} | nAUC (shared) {m['nAUC_shared']:.4f} | Ps {m['Ps']:.4f} | QNC {m['QNC']:.3f}",
        f"best single: {record['best_single']} "
        f"(accuracy {record['single_models'][record['best_single']]['accuracy']:.4f})",
        f"oracle: accuracy {record['oracle']['accuracy']:.4f} at mean cost {record['oracle']['cost']:.3e}",
        f"random ({record['random']['draws']} draws): accuracy {record['random']['accuracy']:.4f}, "
        f"nAUC (shared) {record['random']['nAUC_shared']:.4f}",
        f"frontier: {len(record['frontier'])} points; missing: {data['missing_handling']}",
    ] + [f"note: {note}" for note in record.get("notes", [])]
    return "\n".join(lines)
