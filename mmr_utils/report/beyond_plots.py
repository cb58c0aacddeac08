"""Figures of the studies beyond the paper (:mod:`mmr_utils.experiments.beyond`)."""

from __future__ import annotations

import numpy as np


def plot_add_model(result, metrics=("nAUC", "Ps")):
    """Quality against K per router: the mean over seeds with its 95% interval as a band
    (:func:`mmr_utils.report.figure_parts.mean_interval`), and each router's two reference levels (pool without the new
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
