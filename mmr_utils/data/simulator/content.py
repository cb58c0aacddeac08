"""Question, answer and picture content of one simulated instance: kind-specific question templates, plausible wrong
answers, and the drawing parameters :mod:`mmr_utils.data.simulator.render` turns into the picture."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mmr_utils.data.simulator.calibration import TEXT_CUE_STYLES

_WORDS = ["river", "market", "silver", "garden", "window", "orange", "planet", "coffee", "museum", "harbor", "winter", "letter", "ticket", "bridge", "forest", "camera", "station", "engine", "island", "yellow", "theater", "pocket", "sunset", "dragon", "violet", "meadow", "rocket", "pencil", "copper", "valley", "lantern", "marble", "falcon", "canyon", "ribbon", "summit", "velvet", "cotton", "hammer", "mirror", "candle", "anchor", "meteor", "thunder", "saddle", "carpet", "bakery", "pharmacy", "hotel", "library", "office", "studio", "company", "avenue", "street", "square", "central", "north", "south", "union", "royal", "golden", "modern", "classic", "express", "premium", "fresh", "daily", "total", "invoice", "amount", "balance", "report", "annual", "budget", "notice"]
_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (214, 48, 49), "blue": (41, 98, 255), "green": (39, 174, 96), "yellow": (241, 196, 15),
    "purple": (142, 68, 173), "orange": (230, 126, 34), "black": (30, 30, 30),
}
_SHAPES = ("circle", "square", "triangle")
_GENERIC_QUESTIONS = (
    "Answer the question shown in the image.", "Please answer the question in the image.",
    "Look at the picture and solve the problem shown.", "According to the image, what is the answer?",
)
_EXTRA_CONDITIONS = (
    "Think carefully before answering.", "Note that the figure may not be drawn to scale.",
    "If several answers seem possible, give the most precise one.", "Ignore any watermark or decoration in the image.",
    "Assume all values shown are exact.", "Give only the final answer, without units unless they are needed.",
)


@dataclass
class _Content:
    """One instance's question core, answer, plausible wrong answers and drawing parameters."""

    question: str
    answer: str
    distractors: list[str]
    drawing: dict


def _pick(rng: np.random.Generator, items: Sequence):
    return items[int(rng.integers(len(items)))]


def _distinct_words(rng: np.random.Generator, n: int) -> list[str]:
    return [_WORDS[i] for i in rng.choice(len(_WORDS), size=n, replace=n > len(_WORDS))]


def _numeric_distractors(rng: np.random.Generator, value: int, low: int, high: int, suffix: str = "") -> list[str]:
    candidates = sorted(set(range(max(low, value - 12), min(high, value + 12) + 1)) - {value})
    if not candidates:
        candidates = [value + 1, value + 2, value + 3]
    chosen = rng.choice(len(candidates), size=min(3, len(candidates)), replace=False)
    return [f"{candidates[i]}{suffix}" for i in chosen]


def _content_dense_text(rng, level):
    n_lines = 3 + int(round(9 * level))
    lines = [_distinct_words(rng, int(rng.integers(2, 4))) for _ in range(n_lines)]
    line = int(rng.integers(n_lines))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"Read the text in the image. What is the first word on line {line + 1}?"
        answer = lines[line][0]
    elif variant == 1:
        position = int(rng.integers(len(lines[line]) - 1))
        question = f'Which word is written right after "{lines[line][position]}" in the document?'
        answer = lines[line][position + 1]
    else:
        question = "What word is written inside the highlighted box?"
        answer = lines[line][-1]
    others = sorted({w for row in lines for w in row} - {answer})
    distractors = [str(w) for w in rng.permutation(others)[:3]] or _distinct_words(rng, 3)
    return _Content(question, answer, distractors, {"lines": lines, "highlight": line if variant == 2 else -1})


def _content_scene_text(rng, level):
    sign = _distinct_words(rng, 4)
    question = _pick(rng, (
        "What is written on the sign?",
        "What is the name of the shop shown in the picture?",
        "Which word appears on the banner?",
    ))
    return _Content(question, sign[0], sign[1:], {"sign": sign[0], "clutter": 2 + int(round(10 * level))})


def _content_table(rng, level):
    n_rows, n_cols = 2 + int(round(5 * level)), 2 + int(round(2 * level))
    cells = rng.integers(1, 100, size=(n_rows, n_cols))
    row_names = [w[:6] for w in _distinct_words(rng, n_rows)]
    col_names = [chr(ord("A") + j) for j in range(n_cols)]
    r, c = int(rng.integers(n_rows)), int(rng.integers(n_cols))
    question = _pick(rng, (
        f"According to the table, what is the value in row {r + 1}, column {col_names[c]}?",
        f"In the table, what is the {col_names[c]} entry for {row_names[r]}?",
        f"What is the value for {row_names[r]} in column {col_names[c]}?",
    ))
    value = int(cells[r, c])
    return _Content(question, str(value), _numeric_distractors(rng, value, 1, 99),
                    {"cells": cells.tolist(), "rows": row_names, "cols": col_names})


def _content_chart(rng, level):
    n_bars = 3 + int(round(7 * level))
    values = rng.integers(5, 96, size=n_bars)
    labels = [chr(ord("A") + j) for j in range(n_bars)]
    style = "line" if rng.random() < 0.3 + 0.4 * level else "bar"
    j = int(rng.integers(n_bars))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"In the {style} chart, what is the value of {labels[j]}?"
        answer, distractors = str(int(values[j])), _numeric_distractors(rng, int(values[j]), 0, 100)
    elif variant == 1:
        question = "Which category has the highest value in the plot?"
        best = int(np.argmax(values))
        answer = labels[best]
        distractors = [labels[i] for i in np.argsort(values)[::-1][1:4]]
    else:
        question = f"What is the value for {labels[j]}?"
        answer, distractors = str(int(values[j])), _numeric_distractors(rng, int(values[j]), 0, 100)
    return _Content(question, answer, distractors,
                    {"values": values.tolist(), "style": style, "series": 1 + int(level > 0.6)})


def _content_function_plot(rng, level):
    degree = 1 + int(round(2 * level))
    roots = sorted(rng.choice(np.arange(-4, 5), size=degree, replace=False).tolist())
    lead = float(_pick(rng, (-1.0, -0.5, 0.5, 1.0)))
    variant = int(rng.integers(3))
    if variant == 0:
        question = "How many times does the graph of the function cross the x-axis?"
        answer = str(degree)
        distractors = [str(v) for v in range(0, 5) if v != degree][:3]
    elif variant == 1:
        question = "What is the y-intercept of the function graphed in the coordinate plane?"
        value = int(round(lead * np.prod([-r for r in roots])))
        answer, distractors = str(value), _numeric_distractors(rng, value, -99, 99)
    else:
        x0 = int(rng.integers(-3, 4))
        value = int(round(lead * np.prod([x0 - r for r in roots])))
        question = f"The graph shows y = f(x). What is f({x0})?"
        answer, distractors = str(value), _numeric_distractors(rng, value, -99, 99)
    return _Content(question, answer, distractors,
                    {"roots": roots, "lead": lead, "extra_curves": int(round(2 * level * rng.random()))})


def _content_geometry(rng, level):
    angle_a = int(rng.integers(30, 80))
    angle_b = int(rng.integers(30, 150 - angle_a))
    variant = int(rng.integers(3))
    if variant == 0:
        question = f"In triangle ABC, angle A = {angle_a} degrees and angle B = {angle_b} degrees. Find angle C."
        value, suffix = 180 - angle_a - angle_b, "°"
    elif variant == 1:
        question = f"AB is a diameter of circle O and angle CAB = {angle_a} degrees. What is the measure of angle ABC?"
        value, suffix = 90 - angle_a, "°"
    else:
        side = int(rng.integers(3, 13))
        question = f"In the figure, AB = {side} and the marked segments are equal. What is the length of BC?"
        value, suffix = side, ""
    return _Content(question, f"{value}{suffix}", _numeric_distractors(rng, value, 1, 179, suffix),
                    {"angles": (angle_a, angle_b), "circle": variant == 1, "extra_lines": int(round(4 * level))})


def _content_counting(rng, level):
    color, shape = _pick(rng, list(_COLORS)), _pick(rng, _SHAPES)
    count = int(rng.integers(1, 4 + int(round(8 * level))))
    n_other = int(rng.integers(0, 2 + int(round(10 * level))))
    variant = int(rng.integers(3))
    if variant == 2:
        question = "How many objects are there in the picture in total?"
        answer_value = count + n_other
    else:
        question = (f"How many {color} {shape}s are there in the image?" if variant == 0
                    else f"Count the {color} {shape}s.")
        answer_value = count
    return _Content(question, str(answer_value), _numeric_distractors(rng, answer_value, 0, 40),
                    {"color": color, "shape": shape, "count": count, "others": n_other})


def _content_scene(rng, level):
    color = _pick(rng, list(_COLORS))
    side = _pick(rng, ("left", "right"))
    variant = int(rng.integers(3))
    if variant == 0:
        question = "What colour is the car in the scene?"
        answer = color
        distractors = [c for c in _COLORS if c != color][:3]
    elif variant == 1:
        question = "On which side of the road is the tree?"
        answer, distractors = side, ["left" if side == "right" else "right", "middle", "none"]
    else:
        present = bool(rng.random() < 0.5)
        question = "Is there a house in this scene?"
        answer, distractors = ("yes" if present else "no"), ["no" if present else "yes", "unclear"]
        return _Content(question, answer, distractors, {"car": color, "tree": side, "house": present,
                                                        "clutter": int(round(8 * level))})
    return _Content(question, answer, distractors, {"car": color, "tree": side, "house": bool(rng.random() < 0.5),
                                                    "clutter": int(round(8 * level))})


_CONTENT_BUILDERS = {
    "dense_text": _content_dense_text, "scene_text": _content_scene_text, "table": _content_table,
    "chart": _content_chart, "function_plot": _content_function_plot, "geometry": _content_geometry,
    "counting": _content_counting, "scene": _content_scene,
}


def _compose_question(content: _Content, rng, generic: bool, multiple_choice: bool, text_level: float, style: str):
    """Final question text, answer, wrong-answer space and text printed in the image: a generic (Vision-Only) question
    prints the real question and conditions in the image; the ``style`` preamble (text-only cue) opens the text only."""
    if style not in TEXT_CUE_STYLES:
        raise ValueError(f"unknown response style {style!r}; expected one of {list(TEXT_CUE_STYLES)}")
    n_conditions = min(3, int(4 * text_level))
    conditions = [_EXTRA_CONDITIONS[i] for i in rng.choice(len(_EXTRA_CONDITIONS), size=n_conditions, replace=False)]
    if generic:
        parts, printed = [_pick(rng, _GENERIC_QUESTIONS)], " ".join([content.question, *conditions])
    else:
        parts, printed = [content.question, *conditions], None
    distractors = list(dict.fromkeys(d for d in content.distractors if d != content.answer))
    if multiple_choice:
        options = [content.answer, *distractors[:3]]
        while len(options) < 4:
            options.append("none of these" if "none of these" not in options else f"cannot tell ({len(options)})")
        order = rng.permutation(4)
        options = [options[i] for i in order]
        letters = "ABCD"
        parts.append("Options: " + ", ".join(f"{letters[i]}. {o}" for i, o in enumerate(options)) + ".")
        parts.append("Answer with the option's letter.")
        answer = letters[int(np.flatnonzero(order == 0)[0])]
        wrong = [letters[i] for i in range(4) if letters[i] != answer]
    else:
        answer = content.answer
        wrong = distractors or [f"not {answer}"]
    parts.insert(0, _pick(rng, TEXT_CUE_STYLES[style]))
    return " ".join(parts), answer, wrong, printed


def split_style_preamble(question: str) -> tuple[str | None, str]:
    """``(style, rest)`` when ``question`` opens with a response-style preamble (:data:`TEXT_CUE_STYLES`), else
    ``(None, question)``, so a caption can name the style and show the question."""
    for style, preambles in TEXT_CUE_STYLES.items():
        for preamble in preambles:
            if question.startswith(preamble):
                return style, question[len(preamble):].lstrip()
    return None, question
