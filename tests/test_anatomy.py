"""The toy example of notebook 3 and the anatomy-of-a-frontier figure: the hand-written numpy the notebook shows
(its ``sweep``, ``pareto`` and ``frontier_metrics``, taken from the notebook's source) computes what mmr_utils
computes, on random cases as well as the toy, and the figure carries every labelled element it promises."""

import ast
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mmr_utils.metrics import protocol
from mmr_utils.paths import NOTEBOOKS
from mmr_utils.report.anatomy import plot_frontier_anatomy

SHOWN = ("sweep", "pareto", "frontier_metrics")


@pytest.fixture(scope="module")
def shown():
    """The functions notebook 3 shows the reader, compiled from its source (so the test checks what is shown)."""
    tree = ast.parse((NOTEBOOKS / "03_main_results.py").read_text())
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in SHOWN]
    assert sorted(d.name for d in defs) == sorted(SHOWN), "notebook 3 no longer defines the toy example's functions"
    namespace = {"np": np}
    exec(compile(ast.Module(body=defs, type_ignores=[]), "03_main_results.py", "exec"), namespace)
    return namespace


def library_metrics(U, P, Y, C):
    points = protocol.budget_sweep(U, P, Y, C)
    frontier = protocol.pareto_frontier(points)
    return np.asarray(points), frontier, {
        "Ps": protocol.peak_score(frontier), "QNC": protocol.quality_neutral_cost(frontier, Y, C),
        "nAUC": protocol.nauc(frontier, protocol="official"), "nAUC_shared": protocol.nauc(frontier, C, protocol="shared")}


def random_case(seed, n=25, k=4):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, k)) < np.linspace(0.3, 0.8, k)).astype(float)
    C = rng.uniform(0.5, 2.0, (n, k)) * np.geomspace(1, 20, k)
    U = np.clip(Y * 0.4 + rng.random((n, k)) * 0.6, 0, 1)
    P = np.round(C * rng.uniform(0.7, 1.3, (n, k)), 1)  # rounded: several rows share thresholds
    return U, P, Y, C


@pytest.mark.parametrize("seed", range(6))
def test_the_notebooks_numpy_equals_mmr_utils_on_random_cases(shown, seed):
    U, P, Y, C = random_case(seed)
    points, frontier, expected = library_metrics(U, P, Y, C)
    mine = shown["sweep"](U, P, Y, C)
    np.testing.assert_allclose(mine, points)
    np.testing.assert_allclose(shown["pareto"](mine), frontier)
    got = shown["frontier_metrics"](frontier, Y, C)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert math.isclose(got[name], value, rel_tol=1e-12), (name, got[name], value)


def test_a_router_that_never_reaches_the_best_model_has_infinite_qnc_in_both(shown):
    Y = np.array([[0, 1], [0, 1], [1, 0]], float)
    C = np.array([[1, 5], [1, 5], [1, 5]], float)
    U = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])  # always prefers the weak cheap model
    _, frontier, expected = library_metrics(U, C, Y, C)
    assert expected["QNC"] == math.inf == shown["frontier_metrics"](frontier, Y, C)["QNC"]


TOY = {  # notebook 3's toy example
    "y": np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
    "c": np.array([[1, 3, 10], [1, 4, 12], [1, 3, 10], [1, 3, 11], [2, 4, 10], [1, 3, 13]], float),
    "u_hat": np.array([[.9, .7, .8], [.3, .8, .7], [.2, .4, .7], [.6, .5, .7], [.3, .6, .5], [.2, .5, .6]]),
    "c_hat": np.array([[1, 3, 9], [1, 4, 11], [1, 3, 11], [1, 3, 10], [1, 4, 10], [2, 3, 12]], float),
}


def test_the_toy_example_numbers(shown):
    points = shown["sweep"](TOY["u_hat"], TOY["c_hat"], TOY["y"], TOY["c"])
    frontier = shown["pareto"](points)
    assert len(points) == 8 and len(frontier) == 3
    metrics = shown["frontier_metrics"](frontier, TOY["y"], TOY["c"])
    assert metrics["Ps"] == pytest.approx(5 / 6)
    assert metrics["QNC"] == pytest.approx((16 / 6) / 11)  # frontier reaches Large's 4/6 at 2.67 cents; Large: 11


def test_the_anatomy_figure_labels_every_element():
    fig = plot_frontier_anatomy(TOY["u_hat"], TOY["c_hat"], TOY["y"], TOY["c"], models=["Small", "Medium", "Large"],
                                cost_unit="cents")
    ax = fig.axes[0]
    texts = " | ".join(t.get_text() for t in ax.texts)
    for expected in ("Ps = 0.833", "QNC = 2.67 / 11.00 = 0.24", "shared nAUC 0.681", "shared cost interval",
                     "Small", "Medium", "Large (best single model)", "Oracle 1.000", "dominated"):
        assert expected in texts, f"{expected!r} not among the figure's labels: {texts}"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["raw curve: one point per budget", "Pareto frontier (step envelope)"]
    raw = next(line for line in ax.get_lines() if line.get_label().startswith("raw curve"))
    np.testing.assert_allclose(np.column_stack(raw.get_data()),
                               np.asarray(protocol.budget_sweep(TOY["u_hat"], TOY["c_hat"], TOY["y"], TOY["c"])))
    assert ax.collections, "the shared nAUC area is not shaded"
    plt.close(fig)


def test_the_anatomy_figure_names_a_column_mismatch():
    with pytest.raises(ValueError, match="models names 2 columns"):
        plot_frontier_anatomy(TOY["u_hat"], TOY["c_hat"], TOY["y"], TOY["c"], models=["Small", "Large"])
