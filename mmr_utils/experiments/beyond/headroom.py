"""Studies beyond the paper: :func:`routing_comparison` (all registered routers under the paper's and peer metrics,
bootstrap intervals vs the best single model, an oracle-gap breakdown) and :func:`headroom`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmr_utils.data.splits import instance_split
from mmr_utils.experiments.runs import RunConfig, fit_predict
from mmr_utils.experiments.scoring import complete_test
from mmr_utils.experiments.studies import StudyResult, study
from mmr_utils.metrics.peer_table import peer_metrics_table
from mmr_utils.metrics.references import oracle_choice
from mmr_utils.metrics.uncertainty import uncertainty_table


def oracle_gap(Y: np.ndarray, C: np.ndarray, U: np.ndarray, P: np.ndarray, models, *, datasets=None) -> pd.DataFrame:
    """Where a router loses to the oracle at its peak (the operating point that attains Ps): rows where the router is
    wrong but some model was right, as shares by dataset and by the oracle's model (cheapest correct, else cheapest)."""
    from mmr_utils.metrics.peer_table import choices_at_peak

    chosen = choices_at_peak(U, P, Y, C)
    oracle = oracle_choice(Y, C)
    rows = np.arange(len(Y))
    lost = (Y[rows, chosen] == 0) & (Y.max(axis=1) == 1)
    frame = pd.DataFrame({"dataset": datasets if datasets is not None else "All",
                          "should_have_picked": np.asarray(models)[oracle], "lost": lost})
    return frame.groupby(["dataset", "should_have_picked"])["lost"].agg(["sum", "size"]).rename(
        columns={"sum": "losses", "size": "rows"}).assign(loss_share=lambda f: f["losses"] / len(Y)).reset_index()


@study
def routing_comparison(bank, config: RunConfig, routers, *, n_boot: int = 200,
                       metrics=("Ps", "nAUC_shared", "QNC", "AIQ", "APGR")) -> StudyResult:
    """Every router on each seed's split against the best single model: ``results`` is the uncertainty table (router x
    metric, bootstrap over test rows pooled over seeds, 95% intervals, paired tests with Holm correction); ``curves``
    the per-seed peer metric tables and the first seed's :func:`oracle_gap`."""
    table = bank.table
    seeds = config.seeds
    splits, peer_tables, gaps = [], [], []
    for seed in seeds:
        split = instance_split(table, config.train_fraction, seed=seed)
        keep, rows, Y, C = complete_test(table, split.test)
        predictions = {}
        for router in routers:
            run = fit_predict(bank, router, split, config, seed=seed)
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
    curves = {"peer_metrics": pd.concat(peer_tables, ignore_index=True), "oracle_gap": pd.concat(gaps, ignore_index=True)}
    return StudyResult(results, curves, {})


def _grouped_best(Y: np.ndarray, groups) -> float:
    """Accuracy of routing each group to its most accurate model, fitted and scored on the same rows (in-sample)."""
    frame = pd.DataFrame(Y).groupby(np.asarray(groups), sort=True)
    return float((frame.mean().max(axis=1) * frame.size()).sum() / len(Y))


def _split_rows(table, rows: np.ndarray, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions, within ``rows``, of the training and test instances of the project's split for ``seed``."""
    split = instance_split(table, train_fraction, seed=seed)
    position = np.full(table.n, -1)
    position[rows] = np.arange(len(rows))
    train, test = position[split.train], position[split.test]
    return train[train >= 0], test[test >= 0]


def _grouped_router_gain(Y: np.ndarray, groups: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """Test accuracy of routing each group to its most accurate training model (unseen groups: the best single training
    model), minus the test accuracy of that best single training model."""
    best = int(Y[train].mean(axis=0).argmax())
    per_group = pd.DataFrame(Y[train]).groupby(groups[train]).mean().idxmax(axis=1)
    choice = pd.Series(groups[test]).map(per_group).fillna(best).astype(int).to_numpy()
    return float(Y[test, choice].mean() - Y[test, best].mean())


def headroom(table, groupings: dict | None = None, *, train_fraction: float = 0.2, seeds=(0, 1, 2, 3, 4)
             ) -> pd.DataFrame:
    """What ``table``'s outcomes leave a router to find, before any router is fitted: rows (``measure``, ``value``,
    ``meaning``) on the complete rows: ``best_single``, ``oracle`` (Ps on every row); ``oracle_if_independent`` (``1 -
    prod_m (1 - p_m)``; an observed oracle near it means per-row luck no feature predicts); ``mean_error_correlation``
    (mean pairwise phi of correctness); ``group_oracle:<name>`` (each group of a per-row grouping to its most accurate
    model, in-sample); ``group_router:<name>`` (that grouping learned on a ``train_fraction`` split per seed: mean
    out-of-sample gain over the best single training model, sd over seeds in the meaning); ``test_sd_best_single``
    (binomial sd of the best single accuracy on ``1 - train_fraction`` of the rows)."""
    rows = table.complete_rows()
    Y = table.correct[rows].astype(float)
    if Y.shape[1] < 2:
        raise ValueError(f"headroom needs at least two models; the table has {Y.shape[1]}")
    accuracy = Y.mean(axis=0)
    best = float(accuracy.max())
    corr = np.corrcoef(Y.T)
    pairs = corr[np.triu_indices(len(accuracy), 1)]
    n_test = max(1, int(round(len(Y) * (1 - train_fraction))))
    out = [
        ("best_single", best, f"accuracy of {table.models[int(accuracy.argmax())]}, the most accurate model"),
        ("oracle", float(Y.max(axis=1).mean()), "share of rows some model answers correctly"),
        ("oracle_if_independent", float(1 - np.prod(1 - accuracy)),
         "the oracle if the models' errors were independent, same accuracies"),
        ("mean_error_correlation", float(np.nanmean(pairs)), "mean pairwise correlation of the models' correctness"),
    ]
    for name, labels in (groupings or {}).items():
        labels = np.asarray(labels)
        if len(labels) != table.n:
            raise ValueError(f"grouping {name!r} has {len(labels)} labels; the table has {table.n} rows")
        value = _grouped_best(Y, labels[rows])
        out.append((f"group_oracle:{name}", value,
                    f"each {name} routed to its most accurate model, in-sample ({value - best:+.4f} over best single)"))
        gains = [_grouped_router_gain(Y, labels[rows], *_split_rows(table, rows, train_fraction, seed))
                 for seed in seeds]
        out.append((f"group_router:{name}", float(np.mean(gains)),
                    f"gain over best single when each {name}'s model is learned on {train_fraction:.0%} of the rows "
                    f"(out of sample, sd {np.std(gains, ddof=1) if len(gains) > 1 else float('nan'):.4f} over "
                    f"{len(gains)} seeds)"))
    out.append(("test_sd_best_single", float(np.sqrt(best * (1 - best) / n_test)),
                f"binomial sd of the best single accuracy on {n_test} test rows"))
    return pd.DataFrame(out, columns=["measure", "value", "meaning"])
