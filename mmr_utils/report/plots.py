"""Figures (seaborn/matplotlib) of the notebooks; saving lives in :mod:`mmr_utils.report.outputs`."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mmr_utils.report.figure_parts import (
    ORACLE_COLOUR,
    annotate_interval_cells,
    curve_points,
    mean_interval,
    modality_gap_intervals,
    place_labels,
    router_style,
)
from mmr_utils.report.names import column_label, mode_label, router_label, short_model
from mmr_utils.report.outputs import save_figure


def plot_composition(composition: pd.DataFrame, category_label: str = "category"):
    """The benchmark's composition as a sunburst (paper Fig. 2): scenario (inner) -> dataset -> ``category`` (outer, if
    present; the simulator's image kinds, named by ``category_label``). Wedges show name and instance count, the inner
    rings inside, the outer ring's labels outside along the radius."""
    has_category = "category" in composition and composition["category"].notna().any()
    fig, ax = plt.subplots(figsize=(8.5, 8.5))
    scen = composition.groupby("scenario", sort=False)["instances"].sum()
    by_dataset = composition.groupby(["scenario", "dataset"], sort=False)["instances"].sum()
    palette = sns.color_palette("colorblind", len(scen))
    colours = {s: palette[i] for i, s in enumerate(scen.index)}

    def lighter(colour, amount):
        return tuple(c + (1 - c) * amount for c in colour)

    def middle(radius):  # label distance (a fraction of the radius) of the middle of a ring of width ``width``
        return (radius - width / 2) / radius

    total = float(scen.sum())
    radii = (0.45, 0.72, 1.0) if has_category else (0.6, 1.0)
    width = 0.27 if has_category else 0.38
    ax.pie(scen.values, radius=radii[0], labels=[f"{s}\n{v:,}" for s, v in scen.items()],
           labeldistance=middle(radii[0]), colors=[colours[s] for s in scen.index],
           wedgeprops={"width": width, "edgecolor": "white"},
           textprops={"fontsize": 7.5, "ha": "center", "va": "center", "weight": "bold"})
    ax.pie(by_dataset.values, radius=radii[1], labels=[f"{d}\n{v:,}" for (_, d), v in by_dataset.items()],
           labeldistance=middle(radii[1]) if has_category else 1.04, rotatelabels=has_category,
           colors=[lighter(colours[s], 0.35) for s, _ in by_dataset.index],
           wedgeprops={"width": width, "edgecolor": "white"},
           textprops={"fontsize": 6.5, "ha": "center", "va": "center"})
    if has_category:
        rows = composition.fillna({"category": "(none)"})
        ax.pie(rows["instances"].values, radius=radii[2],
               labels=[f"{str(c).replace('_', ' ')} {v:,}" for c, v in zip(rows["category"], rows["instances"])],
               labeldistance=1.03, rotatelabels=True,
               colors=[lighter(colours[s], 0.65) for s in rows["scenario"]],
               wedgeprops={"width": width, "edgecolor": "white"}, textprops={"fontsize": 5.5})
    rings = "scenario -> dataset" + (f" -> {category_label}" if has_category else "")
    ax.set_title(f"Benchmark composition: {rings} ({int(total):,} instances)", fontsize=10, pad=40)
    return fig


def plot_model_overview(summary: pd.DataFrame):
    """Per-model accuracy per dataset (heatmap) and mean cost per model (log bars)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 1.2]})
    acc = summary.pivot(index="model", columns="dataset", values="accuracy")
    acc = acc[[c for c in dict.fromkeys(summary["dataset"]) if c in acc.columns]]
    sns.heatmap(acc * 100, annot=True, fmt=".0f", cmap="viridis", ax=left, cbar_kws={"label": "accuracy (%)"},
                annot_kws={"fontsize": 7})
    left.set_title("Accuracy per dataset (%)")
    left.set_xlabel("")
    cost = summary[summary["dataset"] == "All"].set_index("model")["mean_cost"].sort_values()
    right.barh(cost.index, cost.values * 1e3, color="0.4")
    right.set_xscale("log")
    right.set_xlabel("mean cost per call (1e-3 USD, log)")
    right.set_title("Mean cost")
    fig.tight_layout()
    return fig


def show_examples(table, rows: int = 6, seed: int = 0, per_row: int = 4):
    """A grid of example instances, one per dataset: image, dataset and category, question (a simulated preamble shown
    as its style name), gold answer, and which models answered correctly (green) or not (red)."""
    import textwrap

    from PIL import Image

    from mmr_utils.data.simulator.content import split_style_preamble

    rng = np.random.default_rng(seed)
    candidates = table.instances[table.instances["image_path"].notna()]
    picks = [group.index[int(rng.integers(len(group)))] for _, group in candidates.groupby("dataset", sort=False)]
    picks = picks[:rows]
    n_rows = int(np.ceil(len(picks) / per_row))
    height = 3.7  # inches per row: the square image, the question below it, the models' verdicts
    fig, axes = plt.subplots(n_rows, per_row, figsize=(3.2 * per_row, height * n_rows), squeeze=False,
                             gridspec_kw={"hspace": 0.75, "wspace": 0.15, "top": 1 - 0.3 / (height * n_rows),
                                          "bottom": 1.3 / (height * n_rows)})
    for ax in axes.ravel():
        ax.set_axis_off()
    short = [short_model(m) for m in table.models]
    for ax, index in zip(axes.ravel(), picks):
        row = table.instances.loc[index]
        position = table.instances.index.get_loc(index)
        with Image.open(row["image_path"]) as image:
            ax.imshow(image.convert("RGB"))
        category = row.get("category")
        label = row["dataset"] + (f" / {category}" if isinstance(category, str) else "")
        ax.set_title(label, fontsize=8)
        style, rest = split_style_preamble(str(row["question"]))
        shown = f"[{style} prompt] {rest}" if style is not None else rest
        question = "\n".join(textwrap.wrap(shown, 44)[:4])
        answer = row.get("answer")
        gold = f"gold answer: {answer}" if isinstance(answer, str) and answer else "gold answer: (not recorded)"
        ax.text(0.5, -0.03, f"{question}\n{gold}", transform=ax.transAxes, ha="center", va="top", fontsize=6.3)
        correct = table.correct[position]
        for k, name in enumerate(short):
            ok = correct[k] == 1
            colour = "#009e73" if ok else ("#d55e00" if correct[k] == 0 else "0.6")
            ax.text(0.02 + 0.49 * (k % 2), -0.33 - 0.05 * (k // 2), ("+ " if ok else "- ") + name,
                    transform=ax.transAxes, fontsize=5.6, color=colour, va="top")
    fig.suptitle("Example instances: question, gold answer, and which models got it right (+, green) or wrong "
                 "(-, red)", fontsize=9, y=1.0, va="bottom")
    return fig


def plot_projection(values: np.ndarray, labels, title: str, seed: int = 0):
    """2-D PCA projection of feature vectors, one small panel per label (e.g. dataset): that label's points in
    colour over every point in light grey, so overlapping groups stay readable."""
    from sklearn.decomposition import PCA

    coords = PCA(n_components=2, random_state=seed).fit_transform(values)
    labels = np.asarray(list(labels), dtype=object)
    groups = list(dict.fromkeys(labels))
    cols = min(4, len(groups))
    rows = int(np.ceil(len(groups) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.7 * rows), squeeze=False, sharex=True, sharey=True)
    palette = sns.color_palette("colorblind", len(groups))
    for k, (ax, group) in enumerate(zip(axes.flat, groups)):
        ax.scatter(coords[:, 0], coords[:, 1], s=3, color="0.85", linewidths=0, rasterized=True)
        mine = labels == group
        ax.scatter(coords[mine, 0], coords[mine, 1], s=4, color=palette[k], linewidths=0, alpha=0.8, rasterized=True)
        ax.set_title(f"{group} ({int(mine.sum()):,})", fontsize=8.5)
        ax.tick_params(labelsize=6.5)
    for k, ax in enumerate(axes.flat):
        if k >= len(groups):
            ax.set_axis_off()
        elif k + cols >= len(groups):  # the lowest panel of its column: its own cost axis labels
            ax.tick_params(labelbottom=True)
            ax.set_xlabel("PC 1", fontsize=7.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("PC 2", fontsize=7.5)
    fig.suptitle(f"{title}: each panel one group in colour, all points in grey", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_pareto(ax, result, dataset: str, seed: int, models=None, *, log_cost: bool = True, legend: bool = True,
                 label_models: bool = True, label_routers: bool = True, paper_points: dict | None = None,
                 fontsize: float = 6.5):
    """One panel of :func:`plot_pareto`: each router's frontier (own colour, line style and marker, named at its
    end), the single models (stars, labelled with short names), Random and the Oracle (inside the axes), and
    optionally ``paper_points`` (model -> (cost in 1e-3 USD, accuracy)) as hollow stars."""
    frontiers = result.curves["frontiers"]
    refs = result.curves["references"][seed][dataset]
    routers = [r for (r, s) in frontiers if s == seed]
    texts, targets, avoid = [], [], []
    for i, router in enumerate(routers):
        f = frontiers[(router, seed)][dataset]
        x, y = f[:, 0] * 1e3, f[:, 1] * 100
        style = router_style(i)
        ax.step(x, y, where="post", label=router_label(router), color=style["color"], ls=style["ls"], lw=1.5,
                marker=style["marker"], ms=3.5, markevery=max(1, len(x) // 4))
        avoid.extend(curve_points(x, y))
        if label_routers:
            texts.append(ax.text(x[-1], y[-1], router_label(router), fontsize=fontsize, color=style["color"],
                                 weight="bold"))
            targets.append((x[-1], y[-1]))
    singles = refs["single_models"]
    sx, sy = singles[:, 0] * 1e3, singles[:, 1] * 100
    ax.scatter(sx, sy, marker="*", s=80, color="black", zorder=5, label="single models")
    rnd_cost, rnd_acc = refs["random"]
    ax.scatter([rnd_cost * 1e3], [rnd_acc * 100], marker="X", s=55, color="0.45", label="Random", zorder=5)
    o_cost, o_acc = refs["oracle"]
    ax.scatter([o_cost * 1e3], [o_acc * 100], marker="D", s=45, color=ORACLE_COLOUR, label="Oracle", zorder=6)
    paper_xy = []
    if paper_points:
        names = list(models) if models is not None else []
        px, py = [], []
        for model, (cost, accuracy) in paper_points.items():
            if not (np.isfinite(cost) and np.isfinite(accuracy)):
                continue
            px.append(cost)
            py.append(accuracy * 100)
            if model in names:
                k = names.index(model)
                ax.plot([cost, sx[k]], [accuracy * 100, sy[k]], color="0.6", lw=0.6, ls=":", zorder=4)
        ax.scatter(px, py, marker="*", s=90, facecolors="none", edgecolors="black", linewidths=0.8, zorder=5,
                   label="paper: single models (Fig. 4, read off the figure)")
        paper_xy = list(zip(px, py))
    if log_cost:
        ax.set_xscale("log")
    ax.margins(x=0.06, y=0.08)
    ax.autoscale_view()
    # Final limits, with room on the right for the names at the curves' ends (adjustText keeps labels inside).
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    ax.set_xlim(x0, x1 * (x1 / x0) ** 0.12 if log_cost else x1 + 0.12 * (x1 - x0))
    ax.set_ylim(y0, y1 + 0.04 * (y1 - y0))
    ax.set(xlabel="mean cost per query (1e-3 USD" + (", log)" if log_cost else ")"), ylabel="accuracy (%)")
    ax.grid(alpha=0.3)
    if label_models and models is not None:
        for name, x, y in zip(models, sx, sy):
            texts.append(ax.text(x, y, short_model(name), fontsize=fontsize))
            targets.append((x, y))
    texts.append(ax.text(rnd_cost * 1e3, rnd_acc * 100, "Random", fontsize=fontsize, color="0.35"))
    targets.append((rnd_cost * 1e3, rnd_acc * 100))
    texts.append(ax.text(o_cost * 1e3, o_acc * 100, f"Oracle {o_acc:.1%}", fontsize=fontsize, color=ORACLE_COLOUR))
    targets.append((o_cost * 1e3, o_acc * 100))
    marked = np.array([*zip(sx, sy), (rnd_cost * 1e3, rnd_acc * 100), (o_cost * 1e3, o_acc * 100), *paper_xy])
    # An invisible copy of every marker, so the labels keep off the markers' full extent, not just their centres.
    markers = ax.scatter(marked[:, 0], marked[:, 1], s=110, alpha=0, zorder=0)
    place_labels(ax, texts, targets, avoid, markers=markers)
    if legend:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _seed_of(result, seed):
    seeds = sorted({s for (_, s) in result.curves["frontiers"]})
    return (seeds[0] if seed is None else seed), seeds


def plot_pareto(result, dataset: str = "All", seed: int | None = None, models=None, *, log_cost: bool = True,
                paper_points: dict | None = None):
    """Paper Figure 4: each router's Pareto frontier (named at its end), the single models (labelled), Random and the
    Oracle; ``paper_points`` (model -> (cost in 1e-3 USD, accuracy), e.g. ``paper_tables.PAPER_FIG4_MODELS``) adds the
    paper's single-model points as hollow stars joined to this run's. One split seed is drawn (named in the title)."""
    seed, seeds = _seed_of(result, seed)
    fig, ax = plt.subplots(figsize=(10, 6))
    _draw_pareto(ax, result, dataset, seed, models, log_cost=log_cost, paper_points=paper_points, fontsize=7)
    fig4 = dataset != "All" and dataset.startswith("All")
    where = "the six datasets without MathVision (as the paper's Figure 4)" if fig4 else dataset
    ax.set_title(f"Cost-accuracy Pareto frontiers: {where}; split seed {seed}"
                 + (f" (tables average seeds {seeds})" if len(seeds) > 1 else ""), fontsize=10)
    fig.tight_layout()
    return fig


def plot_pareto_panels(result, panels: dict, seed: int | None = None, models=None, *, log_cost: bool = True):
    """Pareto frontiers in a grid, one panel per entry of ``panels`` (title -> group name in the results, e.g. one
    panel per dataset grouped by scenario); every single model labelled in every panel when ``models`` (the
    table's model order) is given; one shared legend below the panels."""
    seed, seeds = _seed_of(result, seed)
    n = len(panels)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax, (title, group) in zip(axes.flat, panels.items()):
        _draw_pareto(ax, result, group, seed, models, log_cost=log_cost, legend=False, label_routers=False,
                     fontsize=5.5)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(ax.get_xlabel(), fontsize=7)
        ax.set_ylabel(ax.get_ylabel(), fontsize=7)
        ax.tick_params(labelsize=6.5)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    bottom = 0.9 / fig.get_figheight()  # room for the legend, in figure coordinates
    fig.legend(handles, labels, loc="upper center", ncol=min(6, len(labels)), fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.5, bottom))
    fig.suptitle(f"Pareto frontiers per dataset, by scenario; split seed {seed}"
                 + (f" (tables average seeds {seeds})" if len(seeds) > 1 else ""), fontsize=10)
    fig.tight_layout(rect=(0, bottom, 1, 0.97))
    return fig


def _hue_label(hue: str, value) -> str:
    return mode_label(value) if hue == "mode" else router_label(value) if hue == "router" else str(value)


def plot_metric_bars(frame: pd.DataFrame, x: str, hue: str, metric: str = "nAUC_shared", title: str = ""):
    """Dot-and-interval plot of ``metric`` per ``x`` (e.g. router) and ``hue`` (e.g. mode, named in words): the
    mean over seeds and its 95% confidence interval (Student t), dodged side by side, so differences inside the seed
    noise look like it (a bar chart with a cut axis would exaggerate them); the legend sits above the axes."""
    data = frame.copy()
    data[x] = data[x].map(router_label)
    agg = mean_interval(data, [x, hue], metric)
    xs, hues = list(dict.fromkeys(agg[x])), list(dict.fromkeys(agg[hue]))
    markers = ("o", "s", "D", "^", "v", "P", "X")
    fig, ax = plt.subplots(figsize=(10, 4.6))
    step = 0.8 / max(len(hues), 1)
    for j, h in enumerate(hues):
        part = agg[agg[hue] == h].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) - 0.4 + step * (j + 0.5)
        ax.errorbar(pos, part["mean"], yerr=part["half"], fmt=markers[j % len(markers)],
                    color=router_style(j)["color"], ms=5, capsize=2, lw=1, label=_hue_label(hue, h))
    ax.set_xticks(np.arange(len(xs)), xs, fontsize=8)
    seeds = int(agg["count"].max()) if len(agg) else 0
    ax.set(xlabel="", ylabel=column_label(metric))
    ax.set_title((title + f" (mean over {seeds} seeds, 95% CI)") if title else "", pad=34)
    ax.legend(fontsize=7.5, ncol=min(len(hues), 4), title=hue, title_fontsize=7, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_modality_gaps(gaps: pd.DataFrame, metric: str = "nAUC_shared", per_seed: pd.DataFrame | None = None):
    """Heatmap of :func:`mmr_utils.report.paper_tables.modality_gaps` (router x dataset: text + image minus the better
    unimodal mode); with ``per_seed`` each cell also shows its 95% interval over seeds
    (:func:`annotate_interval_cells`)."""
    data = gaps.rename(index=router_label)
    limit = max(0.01, float(np.nanmax(np.abs(data.to_numpy())))) if data.notna().any().any() else 0.01
    intervals = None
    if per_seed is not None:
        found = modality_gap_intervals(per_seed, metric)
        found["router"] = found["router"].map(router_label)
        intervals = found.set_index(["router", "dataset"])
    height = 0.62 if intervals is not None else 0.42
    fig, ax = plt.subplots(figsize=(1.25 * data.shape[1] + 3, height * data.shape[0] + 1.8))
    sns.heatmap(data, annot=intervals is None, fmt="+.3f", cmap="RdBu", center=0, vmin=-limit, vmax=limit, ax=ax,
                annot_kws={"fontsize": 7}, cbar_kws={"label": f"gap in {column_label(metric)}"})
    seeds = annotate_interval_cells(ax, data, intervals, limit) if intervals is not None else 0
    title = (f"Where {mode_label('22')} beats either channel alone: {column_label(metric)} of {mode_label('22')} "
             f"minus the better of {mode_label('11')} and {mode_label('33')}")
    if seeds:
        title += f"\n(cell: gap and its 95% interval over {seeds} seeds; hatched, grey: the interval covers 0)"
    ax.set(xlabel="", ylabel="")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=8)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    fig.tight_layout()
    return fig


def plot_cross_dataset(table: pd.DataFrame, metric: str = "Ps"):
    """Paper Table 4 as heatmaps, one panel per scenario: source (rows) -> target (columns), the mean learned router's
    ``metric`` minus the target's best single model, in points (blue: routing transfers); with several seeds, the 95%
    interval over seeds per cell (per seed: routers' mean minus that seed's best single, or its seed mean where the
    table has it once; :func:`annotate_interval_cells`)."""
    routers = table[table["router"] != "best_single"]
    best = routers.groupby(["scenario", "source", "target"], sort=False)[metric].mean().rename("router").reset_index()
    single = table[table["router"] == "best_single"].groupby(["source", "target"])["Ps"].mean().rename("single")
    merged = best.join(single, on=["source", "target"])
    merged["gain"] = (merged["router"] - merged["single"]) * 100
    intervals = None
    if "seed" in table and table["seed"].nunique() > 1:
        # per seed: the routers' mean minus the best single model of that seed (its mean where it has no row)
        per_seed = routers.groupby(["source", "target", "seed"])[metric].mean().rename("router").to_frame().join(
            table[table["router"] == "best_single"].groupby(["source", "target", "seed"])["Ps"].mean().rename("single"))
        per_seed = per_seed.reset_index().join(single.rename("single_mean"), on=["source", "target"])
        per_seed["gain"] = (per_seed["router"] - per_seed["single"].fillna(per_seed["single_mean"])) * 100
        intervals = mean_interval(per_seed, ["source", "target"], "gain").set_index(["source", "target"])
    scenarios = list(dict.fromkeys(merged["scenario"]))
    limit = max(1.0, float(np.nanmax(np.abs(merged["gain"])))) if len(merged) else 1.0
    size = 4.2 if intervals is not None else 3.4
    fig, axes = plt.subplots(1, len(scenarios), figsize=(size * len(scenarios), size - 0.2), squeeze=False)
    for ax, scenario in zip(axes.flat, scenarios):
        part = merged[merged["scenario"] == scenario]
        pivot = part.pivot(index="source", columns="target", values="gain")
        sns.heatmap(pivot, annot=intervals is None, fmt="+.1f", cmap="RdBu", center=0, vmin=-limit, vmax=limit,
                    ax=ax, cbar=False, annot_kws={"fontsize": 8}, linewidths=0.5, linecolor="white")
        if intervals is not None:
            annotate_interval_cells(ax, pivot, intervals, limit, decimals=1, fontsize=6.5)
        ax.set_title(scenario, fontsize=9)
        ax.set_xlabel("target", fontsize=8)
        ax.set_ylabel("source", fontsize=8)
        ax.tick_params(labelsize=7)
    note = ""
    if intervals is not None:
        note = (f"\ncell: difference and its 95% interval over {int(intervals['count'].max())} seeds; hatched, grey: "
                "the interval covers 0")
    fig.suptitle(f"Cross-dataset transfer: mean router {metric} minus the best single model on the target "
                 f"(points; blank = same dataset){note}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_data_efficiency(frame: pd.DataFrame, metric: str = "nAUC_shared"):
    """``metric`` against the training fraction per router: the mean over seeds with its 95% interval
    (:func:`mean_interval`), so differences inside the seed noise look like it."""
    data = frame.copy()
    data["router"] = data["router"].map(router_label)
    agg = mean_interval(data, ["router", "train_fraction"], metric)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (router, part) in enumerate(agg.groupby("router", sort=False)):
        part = part.sort_values("train_fraction")
        style = router_style(i)
        ax.plot(part["train_fraction"], part["mean"], ms=4, label=router, **style)
        ax.fill_between(part["train_fraction"], part["low"], part["high"], color=style["color"], alpha=0.15, lw=0)
    ax.set_xscale("log")
    fractions = sorted(data["train_fraction"].unique())
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.minorticks_off()
    seeds = int(agg["count"].max()) if len(agg) else 0
    ax.set(xlabel="training fraction (log scale)", ylabel=metric,
           title=f"Data efficiency: mean over {seeds} seeds, band = 95% CI of the mean")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_sweep(results_csv, out_stem=None, metric: str = "nAUC_shared"):
    """Aggregate a papermill sweep (one row per run) into a figure: ``metric`` vs train fraction per router."""
    frame = pd.read_csv(results_csv)
    if metric not in frame:
        raise ValueError(f"{results_csv}: no column {metric!r} (columns: {list(frame.columns)})")
    fig = plot_data_efficiency(frame, metric=metric)
    if out_stem is not None:
        simulated = bool(frame["data.simulated"].all()) if "data.simulated" in frame else False
        provenance = {"data": {"path": str(results_csv), "simulated": simulated}, "encoder": ",".join(map(str, frame.get("encoder",
                      pd.Series(["?"])).unique())), "settings": {"seeds": sorted(frame["seed"].unique().tolist())
                                                                  if "seed" in frame else None}}
        save_figure(fig, Path(out_stem).name, provenance, out_dir=Path(out_stem).parent)
    return fig


def plot_budget_rules(result):
    """The official threshold rule and the paper's lambda rule on one router: every operating point of each sweep
    (light) and its Pareto frontier (step line), with the single models for scale."""
    curves = result.curves
    router = result.results["router"].iloc[0]
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    colours = dict(zip(("threshold", "lambda"), sns.color_palette("colorblind", 2)))
    names = {"threshold": "threshold rule (official code)", "lambda": "lambda rule (paper, U - lambda P)"}
    for rule in ("threshold", "lambda"):
        pts, front = curves[rule]["points"], curves[rule]["frontier"]
        ax.scatter(pts[:, 0] * 1e3, pts[:, 1] * 100, s=6, alpha=0.25, color=colours[rule])
        ax.step(front[:, 0] * 1e3, front[:, 1] * 100, where="post", color=colours[rule], lw=1.6,
                label=f"{names[rule]}: {len(pts)} points")
    singles = curves["single_models"]
    ax.scatter(singles[:, 0] * 1e3, singles[:, 1] * 100, marker="*", s=70, color="black", label="single models",
               zorder=5)
    ax.set_xscale("log")
    ax.set(xlabel="mean cost per query (1e-3 USD, log)", ylabel="accuracy (%)",
           title=f"Two budget rules on the same {router_label(router)} predictions")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
