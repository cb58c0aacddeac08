"""The names a reader sees (routers as the paper writes them, modality modes and table columns in words): one mapping
each, used by every figure and Markdown table; the CSV files keep the ids the code uses."""

from __future__ import annotations

ROUTER_LABELS = {"knn": "KNN", "knn_shrunk": "KNN-shrunk", "kmeans": "KMeans", "kmeans_shrunk": "KMeans-shrunk",
                 "kmeans_adaptive": "KMeans-adaptive", "carrot_knn": "CARROT-KNN", "linear": "Linear",
                 "linear_mf": "LinearMF", "mlp": "MLP", "mlp_mf": "MLPMF", "cmr": "CMR", "irt": "IRT",
                 "random": "Random", "best_single": "Best single", "oracle": "Oracle"}

#: Modality modes (train/test flags: 1 text, 2 both, 3 image) in words.
MODE_LABELS = {"11": "text only", "33": "image only", "22": "text + image",
               "21": "trained on both, tested without image"}

#: Column ids written out where the id alone would puzzle a reader.
COLUMN_LABELS = {"nAUC_shared": "nAUC (shared interval)", "best_single": "Best single", "n_seeds": "seeds",
                 "train_fraction": "training fraction", "K": "K", "QNC": "QNC", "Ps": "Ps", "nAUC": "nAUC"}

#: Columns whose values are router ids, and those whose values are modes.
ROUTER_COLUMNS = ("router", "best_router", "routers")
MODE_COLUMNS = ("mode",)


def router_label(router) -> str:
    """The paper's name of a router id (``linear_mf`` -> ``LinearMF``); unknown ids are returned unchanged."""
    return ROUTER_LABELS.get(router, router) if isinstance(router, str) else router


def mode_key(mode) -> str | None:
    """A mode as its two-digit id (``22``, ``"22"`` and ``22.0`` -> ``"22"``); None when it is not a mode."""
    try:
        key = str(int(float(mode)))
    except (TypeError, ValueError):
        return None
    return key if key in MODE_LABELS else None


def mode_label(mode) -> str:
    """A modality mode in words (``22`` -> ``text + image``); anything else is returned as text unchanged."""
    key = mode_key(mode)
    return MODE_LABELS[key] if key is not None else str(mode)


def column_label(column) -> str:
    """A table column id in words: :data:`COLUMN_LABELS`, a router id, else a snake_case id with spaces."""
    text = str(column)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if text in ROUTER_LABELS:
        return ROUTER_LABELS[text]
    parts = text.split("_")
    # snake_case ids (best_QNC too) read as words; proper names such as SEEDBench2_Plus stay as they are
    proper = any(part[:1].isupper() and part[1:].islower() for part in parts[1:])
    return text if proper else " ".join(parts)


def short_model(model: str) -> str:
    """A model's label name (``Qwen2.5-VL-72B-Instruct`` -> ``Qwen2.5-VL-72B``, ``gpt-5-2025-08-07`` -> ``gpt-5``)."""
    short = str(model).replace("-Instruct", "")
    for date in ("-2025-", "-2024-", "-2026-"):
        if date in short:
            short = short.split(date)[0]
    return short


#: Words of table file names written as the paper writes them (in :func:`table_title`).
TITLE_WORDS = {"qnc": "QNC", "ps": "Ps", "nauc": "nAUC", "fig4": "Fig. 4", "mathv": "MATH-V", "vs": "vs"}


def table_title(name: str) -> str:
    """A table's default title from its file name (``tab_main_results_ps`` -> ``Main results Ps``)."""
    words = [TITLE_WORDS.get(word, word) for word in name.removeprefix("tab_").split("_") if word]
    title = " ".join(words)
    return title[:1].upper() + title[1:]
