"""Parts the figures of :mod:`mmr_utils.report.plots` share: router styles, collision-free labels (adjustText),
means with 95% intervals over seeds, and heatmap cells annotated with their intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

#: tab10 with its grey (Random's) replaced by black-blue; line styles and markers keep routers apart in greyscale.
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
            "#1b1b5e")
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "<", ">")
ORACLE_COLOUR = "#d55e00"


def router_style(i: int) -> dict:
    """Colour, line style and marker of the ``i``-th router in a figure (distinct for ten routers)."""
    return {"color": _COLOURS[i % len(_COLOURS)], "ls": _LINESTYLES[i % len(_LINESTYLES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


#: Iterations of adjustText's label placement (a count, so the figure is deterministic).
LABEL_ITERATIONS = 400


def place_labels(ax, texts, targets, avoid=(), *, markers=None, arrows: bool = True):
    """Move ``texts`` (Text objects on ``ax``) apart from each other, the ``avoid`` points (data coordinates) and the
    ``markers`` (a scatter collection), each pointing to its target; call once scales and limits are final. A fixed
    iteration count (not adjustText's one second) places labels alike on any machine."""
    from adjustText import adjust_text

    if not texts:
        return
    targets = np.asarray(targets, dtype=float).reshape(-1, 2)
    avoid = np.asarray(avoid, dtype=float).reshape(-1, 2)
    adjust_text(texts, x=avoid[:, 0], y=avoid[:, 1], target_x=targets[:, 0], target_y=targets[:, 1], ax=ax,
                objects=markers, expand=(1.3, 1.6), force_text=(0.3, 0.5), force_static=(0.4, 0.7),
                iter_lim=LABEL_ITERATIONS, time_lim=None, ensure_inside_axes=True,
                arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.5} if arrows else None)


def curve_points(x: np.ndarray, y: np.ndarray, count: int = 30) -> np.ndarray:
    """Points along a step curve (its corners, thinned to about ``count``) that labels should not cover."""
    corners = np.column_stack([np.repeat(x, 2)[1:], np.repeat(y, 2)[:-1]])
    corners = np.vstack([corners, [x[-1], y[-1]]])
    step = max(1, len(corners) // count)
    return corners[::step]


def mean_interval(frame: pd.DataFrame, by, metric: str) -> pd.DataFrame:
    """Per group of ``by``: the mean of ``metric`` over its rows (seeds), their count, and the 95% confidence
    interval of that mean (Student t; a zero-width interval for one seed) as ``low``/``high``."""
    from scipy import stats

    agg = frame.groupby(by, sort=False)[metric].agg(["mean", "std", "count"]).reset_index()
    half = stats.t.ppf(0.975, np.maximum(agg["count"] - 1, 1)) * agg["std"].fillna(0) / np.sqrt(agg["count"])
    agg["half"] = half
    agg["low"], agg["high"] = agg["mean"] - half, agg["mean"] + half
    return agg


def _cell_text_colour(value: float, limit: float, noise: bool):
    """Text colour of an annotated heatmap cell: white on the darkest cells, grey where the interval covers 0."""
    if abs(value) > 0.6 * limit:
        return "white" if not noise else "0.9"
    return "0.35" if noise else "black"


def modality_gap_intervals(per_seed: pd.DataFrame, metric: str = "nAUC_shared") -> pd.DataFrame:
    """95% interval over seeds of each gap of :func:`mmr_utils.report.paper_tables.modality_gaps` (``versus "best"``):
    per router and dataset, per-seed differences between mode 22 and the higher-mean unimodal mode; the "mean over
    routers" row averages routers per seed. Columns ``router``, ``dataset``, ``mean``, ``low``, ``high``, ``count``."""
    frame = per_seed[(per_seed["study"] == "mode") & per_seed["mode"].astype(str).isin(["11", "22", "33"])].copy()
    frame["mode"] = frame["mode"].astype(str)
    wide = frame.pivot_table(index=["router", "dataset", "seed"], columns="mode", values=metric, aggfunc="mean")
    if not {"11", "22", "33"} <= set(wide.columns):
        return pd.DataFrame(columns=["router", "dataset", "mean", "low", "high", "count"])
    means = wide.groupby(level=["router", "dataset"]).mean()
    best = pd.Series(np.where(means["33"] > means["11"], "33", "11"), index=means.index)
    wide = wide.join(best.rename("baseline"), on=["router", "dataset"])
    wide["gap"] = wide["22"] - np.where(wide["baseline"] == "33", wide["33"], wide["11"])
    wide = wide.dropna(subset=["gap"]).reset_index()
    overall = wide.groupby(["dataset", "seed"], sort=False)["gap"].mean().reset_index()
    overall["router"] = "mean over routers"
    both = pd.concat([wide[["router", "dataset", "seed", "gap"]], overall], ignore_index=True)
    return mean_interval(both, ["router", "dataset"], "gap")


def annotate_interval_cells(ax, values: pd.DataFrame, intervals: pd.DataFrame, limit: float, *, decimals: int = 3,
                            fontsize: float = 6.2) -> int:
    """Write into each cell of a heatmap drawn from ``values`` its value and 95% interval (``intervals``: ``low``,
    ``high``, ``count`` indexed by (row label, column label)); cells whose interval covers 0 are hatched with grey
    text, cells with one seed show the value alone. Returns the largest seed count shown."""
    seeds = 0
    for i, row_label in enumerate(values.index):
        for j, column in enumerate(values.columns):
            value = values.iat[i, j]
            if not np.isfinite(value):
                continue
            row = intervals.loc[(row_label, column)] if (row_label, column) in intervals.index else None
            if row is None or row["count"] < 2:
                ax.text(j + 0.5, i + 0.5, f"{value:+.{decimals}f}", ha="center", va="center", fontsize=fontsize + 0.8,
                        color=_cell_text_colour(value, limit, False))
                continue
            seeds = max(seeds, int(row["count"]))
            noise = row["low"] <= 0 <= row["high"]
            if noise:
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, hatch="//", edgecolor="0.82", lw=0))
            ax.text(j + 0.5, i + 0.5, f"{value:+.{decimals}f}\n[{row['low']:+.{decimals}f}, {row['high']:+.{decimals}f}]",
                    ha="center", va="center", fontsize=fontsize, color=_cell_text_colour(value, limit, noise),
                    weight="normal" if noise else "bold")
    return seeds
