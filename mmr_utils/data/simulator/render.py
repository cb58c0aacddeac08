"""One simulated instance's picture (PNG bytes) from its drawing parameters; visual difficulty shows as clutter."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from mmr_utils.data.simulator.calibration import IMAGE_CUE_QUALITIES, IMAGE_SIZE
from mmr_utils.data.simulator.content import _COLORS, _SHAPES, _pick

_FONT = None
_MAX_PRINTED_LINES = 7


def _font() -> ImageFont.ImageFont:
    global _FONT
    if _FONT is None:
        _FONT = ImageFont.load_default_imagefont()  # bitmap font: fast and identical across FreeType versions
    return _FONT


def _scatter_clutter(draw: ImageDraw.ImageDraw, rng, amount: int, box=(0, 0, IMAGE_SIZE, IMAGE_SIZE)):
    x0, y0, x1, y1 = box
    for _ in range(amount):
        x, y = int(rng.integers(x0, x1)), int(rng.integers(y0, y1))
        shade = int(rng.integers(150, 225))
        draw.line((x, y, x + int(rng.integers(-8, 9)), y + int(rng.integers(-8, 9))), fill=(shade, shade, shade))


def _draw_shape(draw, shape: str, cx: int, cy: int, r: int, color):
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=color)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)


def _render_dense_text(draw, rng, drawing, level):
    paper = (250, 248, 240)
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=paper)
    _scatter_clutter(draw, rng, int(40 * level))
    step = min(16, max(11, (IMAGE_SIZE - 8) // max(1, len(drawing["lines"]))))
    for i, words in enumerate(drawing["lines"]):
        y = 4 + i * step
        text = " ".join(words)
        if i == drawing["highlight"]:
            width = int(draw.textlength(text, font=_font()))
            draw.rectangle((3, y - 1, 6 + width, y + 11), outline=(214, 48, 49))
        draw.text((5, y), text, fill=(20, 20, 20), font=_font())


def _render_landscape(draw, rng, clutter: int):
    horizon = int(IMAGE_SIZE * (0.45 + 0.15 * rng.random()))
    draw.rectangle((0, 0, IMAGE_SIZE, horizon), fill=(120 + int(rng.integers(40)), 180, 235))
    draw.rectangle((0, horizon, IMAGE_SIZE, IMAGE_SIZE), fill=(90, 150 + int(rng.integers(40)), 70))
    sx, sy = int(rng.integers(10, IMAGE_SIZE - 10)), int(rng.integers(8, horizon // 2 + 9))
    draw.ellipse((sx - 9, sy - 9, sx + 9, sy + 9), fill=(250, 220, 80))
    for _ in range(clutter):
        x, y = int(rng.integers(0, IMAGE_SIZE)), int(rng.integers(horizon - 10, IMAGE_SIZE))
        color = tuple(int(v) for v in rng.integers(40, 230, size=3))
        _draw_shape(draw, _pick(rng, _SHAPES), x, y, int(rng.integers(3, 9)), color)
    return horizon


def _render_scene_text(draw, rng, drawing, level):
    horizon = _render_landscape(draw, rng, drawing["clutter"])
    width = int(draw.textlength(drawing["sign"], font=_font())) + 10
    x = int(rng.integers(4, max(5, IMAGE_SIZE - width - 4)))
    y = int(rng.integers(10, max(11, horizon - 10)))
    draw.rectangle((x, y, x + width, y + 18), fill=(245, 245, 235), outline=(60, 40, 20), width=2)
    draw.line((x + width // 2, y + 18, x + width // 2, min(IMAGE_SIZE, y + 45)), fill=(60, 40, 20), width=3)
    draw.text((x + 5, y + 4), drawing["sign"], fill=(20, 20, 120), font=_font())


def _render_table(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    cells, rows, cols = drawing["cells"], drawing["rows"], drawing["cols"]
    n_rows, n_cols = len(rows) + 1, len(cols) + 1
    cell_w, cell_h = (IMAGE_SIZE - 8) // n_cols, min(18, (IMAGE_SIZE - 8) // n_rows)
    draw.rectangle((4, 4, 4 + cell_w * n_cols, 4 + cell_h), fill=(220, 230, 245))
    for i in range(n_rows + 1):
        draw.line((4, 4 + i * cell_h, 4 + cell_w * n_cols, 4 + i * cell_h), fill=(90, 90, 90))
    for j in range(n_cols + 1):
        draw.line((4 + j * cell_w, 4, 4 + j * cell_w, 4 + cell_h * n_rows), fill=(90, 90, 90))
    for j, name in enumerate(cols):
        draw.text((7 + (j + 1) * cell_w, 7), name, fill=(0, 0, 0), font=_font())
    for i, name in enumerate(rows):
        draw.text((6, 7 + (i + 1) * cell_h), name[:5], fill=(0, 0, 0), font=_font())
        for j in range(len(cols)):
            draw.text((7 + (j + 1) * cell_w, 7 + (i + 1) * cell_h), str(cells[i][j]), fill=(0, 0, 0), font=_font())


def _render_axes(draw, left=22, bottom=IMAGE_SIZE - 18):
    draw.line((left, 8, left, bottom), fill=(0, 0, 0), width=2)
    draw.line((left, bottom, IMAGE_SIZE - 6, bottom), fill=(0, 0, 0), width=2)
    return left, bottom


def _render_chart(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    left, bottom = _render_axes(draw)
    values = drawing["values"]
    height = bottom - 12
    for tick in (0, 50, 100):
        y = bottom - int(tick / 100 * height)
        draw.line((left - 3, y, left, y), fill=(0, 0, 0))
        draw.text((2, y - 5), str(tick), fill=(0, 0, 0), font=_font())
    slot = (IMAGE_SIZE - 10 - left) / len(values)
    palette = list(_COLORS.values())
    for series in range(drawing["series"]):
        series_values = values if series == 0 else [int(v) for v in rng.integers(5, 96, size=len(values))]
        points = []
        for j, v in enumerate(series_values):
            x = left + int((j + 0.5) * slot)
            y = bottom - int(v / 100 * height)
            points.append((x, y))
            if drawing["style"] == "bar":
                w = max(2, int(slot * 0.35))
                offset = series * w
                draw.rectangle((x - w + offset, y, x + offset, bottom - 1), fill=palette[(j + series) % len(palette)])
        if drawing["style"] == "line":
            draw.line(points, fill=palette[series + 1], width=2)
            for x, y in points:
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=palette[series + 1])
    for j in range(len(values)):
        draw.text((left + int((j + 0.5) * slot) - 2, bottom + 3), chr(ord("A") + j), fill=(0, 0, 0), font=_font())


def _render_function_plot(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    unit = IMAGE_SIZE / 12.0
    centre = IMAGE_SIZE / 2.0
    for k in range(-6, 7):
        p = int(centre + k * unit)
        draw.line((p, 0, p, IMAGE_SIZE), fill=(225, 225, 225))
        draw.line((0, p, IMAGE_SIZE, p), fill=(225, 225, 225))
    draw.line((0, centre, IMAGE_SIZE, centre), fill=(0, 0, 0), width=1)
    draw.line((centre, 0, centre, IMAGE_SIZE), fill=(0, 0, 0), width=1)
    draw.text((IMAGE_SIZE - 9, centre + 2), "x", fill=(0, 0, 0), font=_font())
    draw.text((centre + 3, 1), "y", fill=(0, 0, 0), font=_font())
    xs = np.linspace(-6.0, 6.0, 97)
    curves = [(drawing["lead"], drawing["roots"], (41, 98, 255))]
    for _ in range(drawing["extra_curves"]):
        roots = sorted(rng.choice(np.arange(-5, 6), size=int(rng.integers(1, 3)), replace=False).tolist())
        curves.append((float(_pick(rng, (-1.0, 1.0))) * 0.5, roots, (214, 48, 49)))
    for lead, roots, color in curves:
        ys = lead * np.prod([xs - r for r in roots], axis=0)
        points = [(float(centre + x * unit), float(centre - y * unit)) for x, y in zip(xs, ys) if abs(y) < 7.5]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)


def _render_geometry(draw, rng, drawing, level):
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    black = (0, 0, 0)
    if drawing["circle"]:
        c, r = IMAGE_SIZE // 2, IMAGE_SIZE // 2 - 16
        draw.ellipse((c - r, c - r, c + r, c + r), outline=black, width=2)
        angle = math.radians(float(rng.uniform(200, 340)))
        a, b = (c - r, c), (c + r, c)
        cpt = (int(c + r * math.cos(angle)), int(c + r * math.sin(angle)))
        points = {"A": a, "B": b, "C": cpt, "O": (c, c)}
        draw.line([a, b], fill=black, width=2)
        draw.line([a, cpt, b], fill=black, width=2)
        draw.ellipse((c - 2, c - 2, c + 2, c + 2), fill=black)
    else:
        jitter = rng.integers(-12, 13, size=6)
        a = (14 + int(jitter[0]), IMAGE_SIZE - 22 + int(jitter[1]) // 3)
        b = (IMAGE_SIZE - 16 + int(jitter[2]) // 3, IMAGE_SIZE - 24 + int(jitter[3]) // 3)
        cpt = (IMAGE_SIZE // 2 + int(jitter[4]) * 2, 22 + int(jitter[5]))
        points = {"A": a, "B": b, "C": cpt}
        draw.polygon([a, b, cpt], outline=black, width=2)
    for name, (x, y) in points.items():
        draw.text((x + 3, y + 2 if y > IMAGE_SIZE // 2 else y - 12), name, fill=black, font=_font())
    vertices = list(points.values())
    for k in range(drawing["extra_lines"]):
        p, q = vertices[int(rng.integers(len(vertices)))], vertices[int(rng.integers(len(vertices)))]
        t = float(rng.uniform(0.2, 0.8))
        foot = (int(p[0] + t * (q[0] - p[0])), int(p[1] + t * (q[1] - p[1])))
        other = vertices[int(rng.integers(len(vertices)))]
        draw.line([other, foot], fill=(90, 90, 90), width=1)
        draw.text((foot[0] + 2, foot[1] + 1), "DEFG"[k % 4], fill=black, font=_font())


def _render_counting(draw, rng, drawing, level):
    background = tuple(int(v) for v in rng.integers(225, 256, size=3))
    draw.rectangle((0, 0, IMAGE_SIZE, IMAGE_SIZE), fill=background)
    _scatter_clutter(draw, rng, int(30 * level))
    grid = 7
    cell = IMAGE_SIZE // grid
    total = drawing["count"] + drawing["others"]
    slots = rng.choice(grid * grid, size=min(total, grid * grid), replace=False)
    target_color = _COLORS[drawing["color"]]
    other_colors = [c for name, c in _COLORS.items() if name != drawing["color"]]
    for k, slot in enumerate(slots):
        cx = int((slot % grid + 0.5) * cell + rng.integers(-3, 4))
        cy = int((slot // grid + 0.5) * cell + rng.integers(-3, 4))
        radius = int(rng.integers(5, cell // 2 - 1))
        if k < drawing["count"]:
            _draw_shape(draw, drawing["shape"], cx, cy, radius, target_color)
        else:
            shape = _pick(rng, _SHAPES)
            color = _pick(rng, other_colors) if shape == drawing["shape"] else _pick(rng, list(_COLORS.values()))
            _draw_shape(draw, shape, cx, cy, radius, color)


def _render_scene(draw, rng, drawing, level):
    horizon = _render_landscape(draw, rng, drawing["clutter"])
    road_top = IMAGE_SIZE // 2 - 10
    draw.polygon([(IMAGE_SIZE // 2 - 8, horizon), (IMAGE_SIZE // 2 + 8, horizon), (IMAGE_SIZE - 30, IMAGE_SIZE),
                  (30, IMAGE_SIZE)], fill=(110, 110, 110))
    tree_x = 18 if drawing["tree"] == "left" else IMAGE_SIZE - 22
    draw.rectangle((tree_x - 2, horizon, tree_x + 2, horizon + 28), fill=(100, 60, 30))
    draw.ellipse((tree_x - 12, horizon - 20, tree_x + 12, horizon + 6), fill=(30, 120, 40))
    if drawing["house"]:
        hx = IMAGE_SIZE // 2 + (30 if drawing["tree"] == "left" else -50)
        draw.rectangle((hx, horizon - 14, hx + 22, horizon + 8), fill=(200, 170, 130))
        draw.polygon([(hx - 3, horizon - 14), (hx + 11, horizon - 26), (hx + 25, horizon - 14)], fill=(150, 50, 40))
    cx, cy = IMAGE_SIZE // 2 - 12 + int(rng.integers(-6, 7)), max(road_top, horizon) + 30
    draw.rectangle((cx, cy, cx + 24, cy + 10), fill=_COLORS[drawing["car"]])
    draw.rectangle((cx + 5, cy - 6, cx + 19, cy), fill=_COLORS[drawing["car"]])
    draw.ellipse((cx + 2, cy + 7, cx + 8, cy + 13), fill=(20, 20, 20))
    draw.ellipse((cx + 16, cy + 7, cx + 22, cy + 13), fill=(20, 20, 20))


_RENDERERS = {
    "dense_text": _render_dense_text, "scene_text": _render_scene_text, "table": _render_table,
    "chart": _render_chart, "function_plot": _render_function_plot, "geometry": _render_geometry,
    "counting": _render_counting, "scene": _render_scene,
}


def _tint(image: Image.Image, factors: tuple[float, float, float]) -> Image.Image:
    """``image`` with each RGB channel multiplied by its factor (a colour cast), clipped to 0..255."""
    pixels = np.asarray(image, dtype=np.float32) * np.asarray(factors, dtype=np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _degrade(image: Image.Image, quality: str, rng) -> Image.Image:
    """The picture as captured at ``quality`` (the image-only cue, :data:`~.calibration.IMAGE_CUE_QUALITIES`):
    unchanged, faded (washed-out warm scan), noisy (cold phone photo with specks) or blurred (lower contrast)."""
    if quality == "clean":
        return image
    if quality == "faded":
        washed = ImageEnhance.Brightness(ImageEnhance.Contrast(image).enhance(0.35)).enhance(1.25)
        return _tint(washed, (1.0, 0.88, 0.62))
    if quality == "noisy":
        # Salt-and-pepper specks rather than dense grain: as visible to an encoder, but cheap to PNG-compress.
        pixels = np.array(image)
        specks = rng.random((IMAGE_SIZE, IMAGE_SIZE)) < 0.12
        pixels[specks] = np.where(rng.random(int(specks.sum())) < 0.5, 0, 255)[:, None]
        return _tint(Image.fromarray(pixels), (0.7, 0.85, 1.0))
    if quality == "blurred":
        return ImageEnhance.Contrast(image.filter(ImageFilter.GaussianBlur(radius=3.0))).enhance(0.7)
    raise ValueError(f"unknown image quality {quality!r}; expected one of {list(IMAGE_CUE_QUALITIES)}")


def _render_png(kind: str, drawing: dict, level: float, printed_question: str | None, rng,
                quality: str = "clean") -> bytes:
    """PNG bytes of one instance's picture; a generic question has its real question and conditions printed in a top
    band; the whole picture is then degraded as ``quality`` says (the image-only cue)."""
    if quality not in IMAGE_CUE_QUALITIES:
        raise ValueError(f"unknown image quality {quality!r}; expected one of {list(IMAGE_CUE_QUALITIES)}")
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    _RENDERERS[kind](draw, rng, drawing, level)
    if printed_question is not None:
        # The band grows with the printed text (question + conditions): the text complexity shows in the layout.
        words, lines = printed_question.split(), [""]
        for word in words:
            candidate = f"{lines[-1]} {word}".strip()
            if draw.textlength(candidate, font=_font()) > IMAGE_SIZE - 6 and lines[-1]:
                lines.append(word)
            else:
                lines[-1] = candidate
        lines = lines[:_MAX_PRINTED_LINES]
        draw.rectangle((0, 0, IMAGE_SIZE, 2 + 11 * len(lines)), fill=(255, 255, 255), outline=(120, 120, 120))
        for i, line in enumerate(lines):
            draw.text((3, 1 + 11 * i), line, fill=(0, 0, 0), font=_font())
    image = _degrade(image, quality, rng)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
