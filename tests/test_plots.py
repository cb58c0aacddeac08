"""The figures a reader sees: Pareto plots (Oracle inside the axes, every model labelled, labels apart, the paper's
points), modes in words, intervals on differences, and the SIMULATED stamp of every saved figure."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mmr_utils.report import outputs, plots
from mmr_utils.report.names import mode_label, short_model

MODELS = ["Qwen2.5-VL-3B-Instruct", "InternVL3-78B", "gpt-5-nano-2025-08-07", "GeminiFlash2-5", "gpt-5-2025-08-07"]
ROUTERS = ["knn", "kmeans", "linear_mf"]
PROVENANCE = {"data": {"path": "x.csv", "simulated": True}, "encoder": "offline: test", "settings": {"seeds": [0]}}


def _result(groups=("All",)):
    """A small study result with the shape of ``studies.main_results``' curves: frontiers per (router, seed) and
    group, and per seed and group the single models, Random and an Oracle far above everything else."""
    rng = np.random.default_rng(0)
    cost = np.array([0.02, 0.05, 0.6, 2.0, 3.4]) * 1e-3
    frontiers, references = {}, {0: {}}
    for group in groups:
        accuracy = np.array([0.55, 0.7, 0.69, 0.76, 0.78]) + rng.normal(0, 0.01, 5)
        references[0][group] = {"single_models": np.column_stack([cost, accuracy]), "random": (1.2e-3, 0.68),
                                "oracle": (3e-4, 0.97)}
        for i, router in enumerate(ROUTERS):
            c = np.geomspace(2e-5, 3e-3, 6)
            frontiers.setdefault((router, 0), {})[group] = np.column_stack([c, np.linspace(0.55, 0.75 + 0.01 * i, 6)])
    return SimpleNamespace(curves={"frontiers": frontiers, "references": references}, provenance=PROVENANCE)


def _inside(ax, x, y) -> bool:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return x0 < x < x1 and y0 < y < y1


def _label_boxes(fig, ax):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]


@pytest.mark.parametrize("log_cost", [True, False])
def test_pareto_oracle_inside_every_model_labelled_and_labels_apart(log_cost):
    fig = plots.plot_pareto(_result(), models=MODELS, log_cost=log_cost)
    ax = fig.axes[0]
    assert _inside(ax, 3e-4 * 1e3, 97.0)  # the Oracle, drawn where it is, not clipped
    boxes = _label_boxes(fig, ax)
    texts = [text for text, _ in boxes]
    assert all(short_model(m) in texts for m in MODELS)
    assert {"KNN", "KMeans", "LinearMF", "Random"} <= set(texts) and any(t.startswith("Oracle") for t in texts)
    overlaps = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
                if box_a.padded(-1).overlaps(box_b.padded(-1))]
    assert not overlaps
    # no label covers a marker (single models, Random, the Oracle)
    centres = [ax.transData.transform(xy) for c in ax.collections if c.get_alpha() != 0 for xy in c.get_offsets()]
    covered = [text for text, box in boxes for x, y in centres if box.x0 < x < box.x1 and box.y0 < y < box.y1]
    assert not covered
    # the legend sits outside the data area (right of the axes)
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert legend.x0 >= ax.get_window_extent().x1
    plt.close(fig)


def test_pareto_routers_have_distinct_colours_and_line_styles():
    styles = [plots.router_style(i) for i in range(10)]
    assert len({s["color"] for s in styles}) == 10 and len({s["marker"] for s in styles}) == 10
    assert len({(s["ls"], s["marker"]) for s in styles[:8]}) == 8


def test_pareto_paper_points_are_hollow_and_labelled_paper():
    paper = {"gpt-5-2025-08-07": (3.9, 0.773), "InternVL3-78B": (0.0, 0.716), "Gemma3-4B": (np.nan, np.nan)}
    fig = plots.plot_pareto(_result(), models=MODELS, log_cost=False, paper_points=paper)
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    hollow = [h for h, label in zip(handles, labels) if label.startswith("paper")]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 2  # the point off the paper's plot is left out
    assert np.all(hollow[0].get_facecolors()[:, 3] == 0)  # hollow
    assert all(_inside(ax, x, y) for x, y in hollow[0].get_offsets())
    plt.close(fig)


def test_pareto_panels_label_every_model_in_every_panel_with_the_oracle_inside():
    groups = ("OCRBench", "MMStar", "MathVista", "MathVerse")
    fig = plots.plot_pareto_panels(_result(groups), {f"S: {g}": g for g in groups}, models=MODELS)
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert len(panels) == len(groups)
    for ax in panels:
        texts = [t.get_text() for t in ax.texts]
        assert all(short_model(m) in texts for m in MODELS), texts
        assert _inside(ax, 0.3, 97.0)
    assert fig.legends and fig.legends[0].get_window_extent().y1 <= min(ax.get_window_extent().y0 for ax in panels)
    plt.close(fig)


def test_saved_figures_say_simulated_or_name_their_data(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    outputs.save_figure(fig, "fig_sim", PROVENANCE, out_dir=tmp_path)
    assert [t.get_text() for t in fig.texts].count("SIMULATED DATA (not the paper's results)") == 1
    outputs.save_figure(fig, "fig_sim_again", PROVENANCE, out_dir=tmp_path)  # stamped once, however often saved
    assert sum("SIMULATED" in t.get_text() for t in fig.texts) == 2  # the stamp and the caption line
    real = {"data": {"path": "/data/mathv/MATH-V.csv", "simulated": False}, "encoder": "e", "settings": {}}
    fig2, ax2 = plt.subplots()
    ax2.plot([0, 1], [0, 1])
    outputs.save_figure(fig2, "fig_real", real, out_dir=tmp_path)
    texts = [t.get_text() for t in fig2.texts]
    assert "data: MATH-V.csv" in texts and not any("SIMULATED" in t for t in texts)
    plt.close(fig)
    plt.close(fig2)


def _modality_rows(gap_by_seed):
    rows = []
    for router in ("knn", "linear_mf"):
        for seed, gap in enumerate(gap_by_seed[router]):
            for mode, value in (("11", 0.70), ("33", 0.69), ("22", 0.70 + gap), ("21", 0.68)):
                rows.append({"router": router, "dataset": "All", "seed": seed, "mode": mode, "fusion": "mean",
                             "study": "mode", "nAUC_shared": value})
    return pd.DataFrame(rows)


def test_metric_bars_name_modes_in_words():
    rows = _modality_rows({"knn": [0.01, 0.02, 0.03], "linear_mf": [0.0, 0.01, -0.01]})
    fig = plots.plot_metric_bars(rows, x="router", hue="mode")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [mode_label(m) for m in ("11", "33", "22", "21")] and "text only" in labels
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["KNN", "LinearMF"]
    plt.close(fig)


def test_modality_gaps_show_intervals_and_mark_those_covering_zero():
    rows = _modality_rows({"knn": [0.010, 0.012, 0.011], "linear_mf": [0.02, -0.03, 0.0]})
    intervals = plots.modality_gap_intervals(rows).set_index("router")
    assert intervals.loc["knn", "low"] > 0 and intervals.loc["linear_mf", "low"] < 0 < intervals.loc["linear_mf",
                                                                                                        "high"]
    assert intervals.loc["knn", "mean"] == pytest.approx(0.011)
    gaps = pd.DataFrame({"All": [0.011, -0.0033, 0.0039]}, index=["knn", "linear_mf", "mean over routers"])
    fig = plots.plot_modality_gaps(gaps, per_seed=rows)
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 3 and all("[" in c and "]" in c for c in cells)
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 2  # LinearMF and the mean over routers cover zero; KNN does not
    plt.close(fig)


def test_add_model_curve_has_a_band_per_router():
    from matplotlib.collections import PolyCollection

    from mmr_utils.report import beyond_plots

    rows = [{"router": r, "K": k, "seed": s, "nAUC": 0.6 + 0.01 * s + (0.02 if k != "0" else 0), "Ps": 0.7,
             "new_model": "m"} for r in ("knn", "kmeans_shrunk") for k in ("0", "10", "all") for s in range(3)]
    refs = pd.DataFrame([{"router": r, "pool": p, "nAUC": 0.6, "Ps": 0.7} for r in ("knn", "kmeans_shrunk")
                         for p in ("without", "full")])
    fig = beyond_plots.plot_add_model(SimpleNamespace(results=pd.DataFrame(rows), curves={"references": refs}))
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    assert any("95% interval" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)


def test_composition_labels_every_wedge_of_every_ring_without_collisions():
    composition = pd.DataFrame({"scenario": ["OCR", "OCR", "OCR", "Math", "Math"],
                                "dataset": ["OCRBench", "OCRBench", "SEED", "MathVista", "MathVista"],
                                "category": ["chart", "table", "chart", "geometry", "counting"],
                                "instances": [300, 12, 400, 500, 9]})
    fig = plots.plot_composition(composition, category_label="image kind")
    ax = fig.axes[0]
    wedges = [p for p in ax.patches]
    labels = [t for t in ax.texts if t.get_text()]
    assert len(wedges) == 2 + 3 + 5 and len(labels) == len(wedges)  # every wedge, the smallest (9 rows) too
    assert any(t.get_text() == "counting 9" for t in labels)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                if boxes[i].padded(-1).overlaps(boxes[j].padded(-1))]
    plt.close(fig)


def test_projection_draws_one_panel_per_group_over_all_points():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 5))
    labels = ["OCRBench"] * 20 + ["MMStar"] * 25 + ["MathVista"] * 15
    fig = plots.plot_projection(values, labels, "Text embeddings (PCA)")
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert [ax.get_title() for ax in panels] == ["OCRBench (20)", "MMStar (25)", "MathVista (15)"]
    for ax in panels:  # every point in grey, the panel's own group on top
        everything, own = ax.collections
        assert len(everything.get_offsets()) == 60
        assert len(own.get_offsets()) == int(ax.get_title().split("(")[1].rstrip(")"))
    plt.close(fig)


def test_cross_dataset_cells_show_the_interval_over_seeds():
    rows = []
    for seed, (a, b) in enumerate(((0.02, -0.01), (0.03, 0.02), (0.025, -0.03))):
        for router in ("knn", "mlp"):
            rows.append({"scenario": "OCR", "source": "A", "target": "B", "router": router, "seed": seed,
                         "Ps": 0.70 + a})
            rows.append({"scenario": "OCR", "source": "B", "target": "A", "router": router, "seed": seed,
                         "Ps": 0.70 + b})
        rows += [{"scenario": "OCR", "source": s, "target": t, "router": "best_single", "seed": seed, "Ps": 0.70}
                 for s, t in (("A", "B"), ("B", "A"))]
    fig = plots.plot_cross_dataset(pd.DataFrame(rows))
    ax = fig.axes[0]
    cells = sorted(t.get_text() for t in ax.texts)
    assert cells == ["+2.5\n[+1.3, +3.7]", "-0.7\n[-6.9, +5.6]"]  # t interval, 2 degrees of freedom
    assert len([p for p in ax.patches if p.get_hatch()]) == 1  # only B -> A is within seed noise
    plt.close(fig)
