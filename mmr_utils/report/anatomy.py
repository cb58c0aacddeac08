"""The anatomy of a frontier: how the metrics (Sec. 3.3) read off a cost-accuracy curve (notebook 3's toy router)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from mmr_utils.metrics.protocol import (
    as_float,
    best_single_model,
    budget_sweep,
    nauc,
    pareto_frontier,
    peak_score,
    quality_neutral_cost,
    shared_cost_range,
)
from mmr_utils.metrics.references import oracle_point, single_model_points

#: Colours (colour-blind safe: Okabe-Ito) of the figure's elements.
COLOURS = {"raw": "0.55", "frontier": "#0072B2", "area": "#56B4E9", "ps": "#009E73", "qnc": "#D55E00",
           "models": "black", "oracle": "#CC79A7"}


def plot_frontier_anatomy(U, P, Y, C, *, models, cost_unit: str = "cost units", title: str | None = None):
    """Draw how one router's predictions become the paper's metrics (Sec. 3.3) on a toy example: the threshold sweep's
    raw operating points (sweep order, losers included), their Pareto frontier (step envelope), **Ps**, **QNC**, the
    **shared nAUC** area (envelope over [mean row-minimum, mean row-maximum cost] / width), every single model and the
    Oracle. ``U``, ``P``: predicted, ``Y``, ``C``: true (n x K) for ``models``; numbers from
    :mod:`mmr_utils.metrics.protocol`."""
    U, P, Y, C = as_float(U), as_float(P), as_float(Y), as_float(C)
    models = [str(m) for m in models]
    if len(models) != Y.shape[1]:
        raise ValueError(f"models names {len(models)} columns ({models}), but Y has {Y.shape[1]}")
    points = budget_sweep(U, P, Y, C)
    raw = np.asarray(points)
    frontier = pareto_frontier(points)
    ps = peak_score(frontier)
    qnc = quality_neutral_cost(frontier, Y, C)
    lo, hi = shared_cost_range(C)
    area = nauc(frontier, C, protocol="shared")
    singles = single_model_points(Y, C)
    best = best_single_model(Y, C)
    best_cost, best_acc = singles[best]
    o_cost, o_acc = oracle_point(Y, C)

    fig, ax = plt.subplots(figsize=(9.0, 5.6))
    # The shared nAUC: the step envelope (0 before the frontier's cheapest point) over [lo, hi].
    grid = np.linspace(lo, hi, 2001)
    reached = np.searchsorted(frontier[:, 0], grid, side="right") - 1
    envelope = np.where(reached >= 0, frontier[np.clip(reached, 0, None), 1], 0.0)
    ax.fill_between(grid, 0, envelope, step=None, color=COLOURS["area"], alpha=0.25, lw=0, label="_area")
    for x in (lo, hi):
        ax.axvline(x, color=COLOURS["area"], ls=":", lw=1)
    ax.annotate("", xy=(lo, 0.04), xytext=(hi, 0.04),
                arrowprops={"arrowstyle": "<->", "color": COLOURS["frontier"], "lw": 0.8})
    ax.text((lo + hi) / 2, 0.06, "shared cost interval: [mean cheapest cost, mean dearest cost] per query",
            ha="center", va="bottom", fontsize=8, color=COLOURS["frontier"])
    ax.text((lo + hi) / 2, 0.18, f"shaded area / interval width = shared nAUC {area:.3f}", ha="center", fontsize=9,
            color=COLOURS["frontier"])

    # Raw operating points in sweep order (budget rising), then the frontier that keeps only the undominated ones.
    ax.plot(raw[:, 0], raw[:, 1], ls="--", lw=1, color=COLOURS["raw"], marker="o", mfc="white", ms=6,
            label="raw curve: one point per budget")
    xs, ys = frontier[:, 0], frontier[:, 1]
    if hi > xs[-1]:  # the envelope stays at the frontier's last accuracy up to the interval's end
        xs, ys = np.r_[xs, hi], np.r_[ys, ys[-1]]
    ax.step(xs, ys, where="post", color=COLOURS["frontier"], lw=2, label="Pareto frontier (step envelope)")
    ax.plot(frontier[:, 0], frontier[:, 1], "o", color=COLOURS["frontier"], ms=7, zorder=4)
    dominated = raw[~np.any(np.all(np.isclose(raw[:, None, :], frontier[None, :, :]), axis=2), axis=1)]
    if len(dominated):
        worst = dominated[np.argmin(dominated[:, 1] - dominated[:, 0] / (hi - lo + 1e-12))]
        ax.annotate("dominated: costs more,\nno more accurate", xy=tuple(worst), xytext=(18, -34),
                    textcoords="offset points", fontsize=8, color="0.35",
                    arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.7})

    # Ps: the highest accuracy on the frontier.
    ps_cost = frontier[np.argmax(frontier[:, 1]), 0]
    ax.plot([ps_cost], [ps], marker="*", ms=16, color=COLOURS["ps"], zorder=5, ls="none")
    ax.annotate(f"Ps = {ps:.3f}\n(peak accuracy on the frontier)", xy=(ps_cost, ps), xytext=(14, 14),
                textcoords="offset points", ha="left", fontsize=9, color=COLOURS["ps"],
                arrowprops={"arrowstyle": "-", "color": COLOURS["ps"], "lw": 0.8})

    # QNC: where the frontier first reaches the best single model's accuracy, relative to that model's cost.
    if np.isfinite(qnc):
        qnc_cost = qnc * best_cost
        ax.annotate("", xy=(qnc_cost, best_acc), xytext=(best_cost, best_acc),
                    arrowprops={"arrowstyle": "<->", "color": COLOURS["qnc"], "lw": 1.2})
        ax.plot([qnc_cost], [best_acc], marker="o", ms=9, mfc="none", mec=COLOURS["qnc"], mew=2, zorder=5)
        ax.text(best_cost, best_acc - 0.03,
                f"QNC = {qnc_cost:.2f} / {best_cost:.2f} = {qnc:.2f}\n(same accuracy as {models[best]}, for "
                f"{qnc:.0%} of its cost)", ha="right", va="top", fontsize=9, color=COLOURS["qnc"])
    else:
        ax.text(best_cost, best_acc - 0.035, f"QNC = inf: the frontier never reaches {models[best]}'s accuracy",
                ha="right", va="top", fontsize=9, color=COLOURS["qnc"])

    # References: every single model and the Oracle.
    ax.plot(singles[:, 0], singles[:, 1], "s", color=COLOURS["models"], ms=7, zorder=5, label="_singles")
    for k, (x, y) in enumerate(singles):
        name = models[k] + (" (best single model)" if k == best else "")
        ax.annotate(name, xy=(x, y), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=9)
    ax.plot([o_cost], [o_acc], "D", color=COLOURS["oracle"], ms=8, zorder=5)
    ax.annotate(f"Oracle {o_acc:.3f}\n(cheapest correct model per query)", xy=(o_cost, o_acc), xytext=(-12, 0),
                textcoords="offset points", ha="right", va="center", fontsize=9, color=COLOURS["oracle"])

    ax.set_xlim(0, max(hi, float(singles[:, 0].max()), o_cost) * 1.08)
    ax.set_ylim(0, 1.1)
    ax.set(xlabel=f"mean true cost per query ({cost_unit})", ylabel="mean true accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    ax.set_title(title or "Anatomy of a frontier: from a budget sweep to Ps, QNC and nAUC", fontsize=11)
    fig.tight_layout()
    return fig
