"""Studies beyond the paper (issue #13): every router of the registry on one set of splits, scored with the paper's
metrics and every peer metric family (:mod:`mmr_utils.peer_metrics`), with bootstrap intervals and paired tests
against the best single model (:mod:`mmr_utils.uncertainty`), and an oracle-gap breakdown.

One function, :func:`routing_comparison`, does the fitting once per (router, seed) and returns a
:class:`~mmr_utils.studies.StudyResult` whose ``results`` is the uncertainty table (router x metric, mean over seeds
with a 95% interval and a Holm-corrected mark against the best single model), and whose ``curves`` hold the peer
metric table of every seed and the oracle-gap table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import evaluation as ev
from .peer_metrics import peer_metrics_table
from .splits import instance_split
from .uncertainty import uncertainty_table

#: Routers beyond the paper's ten, in the order notebook 9 shows them.
BEYOND_ROUTERS: tuple[str, ...] = ("carrot_knn", "knn_shrunk", "kmeans_shrunk", "irt", "gbdt", "cascade")


def oracle_gap(Y: np.ndarray, C: np.ndarray, U: np.ndarray, P: np.ndarray, models, *, datasets=None) -> pd.DataFrame:
    """Where a router loses to the oracle at its peak (the operating point that attains Ps): for every test row the
    oracle's model (cheapest correct; cheapest overall when none is correct) and the router's model; rows where the
    router is wrong but some model was right are *losses*. Returns the losses counted by dataset and by the model the
    oracle would have picked, as shares of the rows."""
    from .peer_metrics import choices_at_peak

    chosen = choices_at_peak(U, P, Y, C)
    oracle = ev.oracle_choice(Y, C)
    rows = np.arange(len(Y))
    lost = (Y[rows, chosen] == 0) & (Y.max(axis=1) == 1)
    frame = pd.DataFrame({"dataset": datasets if datasets is not None else "All",
                          "should_have_picked": np.asarray(models)[oracle], "lost": lost})
    return frame.groupby(["dataset", "should_have_picked"])["lost"].agg(["sum", "size"]).rename(
        columns={"sum": "losses", "size": "rows"}).assign(loss_share=lambda f: f["losses"] / len(Y)).reset_index()


def routing_comparison(bank, routers, *, seeds=(0, 1, 2), train_fraction: float = 0.2, mode: str = "22",
                       fusion: str = "mean", neural_epochs: int | None = None, n_boot: int = 200,
                       metrics=("Ps", "nAUC_shared", "QNC", "AIQ", "APGR")):
    """Fit every router in ``routers`` on each seed's split of ``bank``'s table and compare them with the best single
    model: the uncertainty table (bootstrap over test rows, pooled over seeds, paired against the best single model
    with Holm correction) as ``results``; per-seed peer metric tables and the first seed's oracle-gap breakdown in
    ``curves``. Deterministic in ``seeds``."""
    from .studies import StudyResult, fit_predict, provenance

    table = bank.table
    splits, peer_tables, gaps = [], [], []
    for seed in seeds:
        split = instance_split(table, train_fraction, seed=seed)
        rows = split.test[table.complete_rows()[split.test]]
        keep = np.isin(split.test, rows)
        Y, C = table.correct[rows], table.cost[rows]
        predictions = {}
        for router in routers:
            run = fit_predict(bank, router, split, mode=mode, fusion=fusion, seed=seed, neural_epochs=neural_epochs)
            predictions[router] = (run.U[keep], run.P[keep])
        splits.append((Y, C, predictions))
        peer = peer_metrics_table(predictions, Y, C, models=list(table.models))
        peer.insert(0, "seed", seed)
        peer_tables.append(peer)
        if seed == seeds[0]:
            datasets = table.instances["dataset"].to_numpy()[rows]
            for router, (U, P) in predictions.items():
                gap = oracle_gap(Y, C, U, P, table.models, datasets=datasets)
                gap.insert(0, "router", router)
                gaps.append(gap)
    results = uncertainty_table(splits, metrics=metrics, reference="Best Single", n_boot=n_boot, seed=seeds[0])
    prov = provenance(bank, study="routing_comparison", routers=list(routers), seeds=list(seeds),
                      train_fraction=train_fraction, mode=mode, fusion=fusion, neural_epochs=neural_epochs,
                      n_boot=n_boot, metrics=list(metrics))
    curves = {"peer_metrics": pd.concat(peer_tables, ignore_index=True), "oracle_gap": pd.concat(gaps, ignore_index=True)}
    return StudyResult(results, curves, prov)
