"""Slide-ready PNGs of what the network computes: a title, the picture and a colour bar (Pillow only).

Activations use a viridis scale from 0 to the largest value in the layer (one
scale for all maps of a layer, so channels compare honestly); signed maps
(filters, saliency, occlusion, contrast) use a red-white-blue scale symmetric
around 0, red for positive.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitpad.fileio import write_atomic

# Colour-map anchors (matplotlib's viridis and RdBu_r, sampled), interpolated to 256 entries.
_ANCHORS = {
    "viridis": [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)],
    "diverging": [(5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (247, 247, 247),
                  (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31)],
    "gray": [(0, 0, 0), (255, 255, 255)],
}
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MARGIN = 16
BAR_WIDTH = 18


def colormap(name: str) -> np.ndarray:
    """A ``(256, 3)`` uint8 lookup table: "viridis", "diverging" (blue-white-red) or "gray"."""
    anchors = np.asarray(_ANCHORS[name], np.float64)
    where = np.linspace(0, 1, len(anchors))
    steps = np.linspace(0, 1, 256)
    return np.stack([np.interp(steps, where, anchors[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


def colorize(values: np.ndarray, name: str, low: float, high: float) -> np.ndarray:
    """``(h, w)`` values to ``(h, w, 3)`` uint8 colours on [low, high]; NaN becomes the background."""
    span = high - low if high > low else 1.0
    scaled = np.clip((np.nan_to_num(values, nan=low) - low) / span, 0, 1)
    rgb = colormap(name)[np.round(scaled * 255).astype(np.intp)]
    rgb[np.isnan(values)] = BACKGROUND
    return rgb


def figure(values: np.ndarray, title: str, cmap: str, limits: tuple[float, float], scale: int,
           caption: str = "") -> Image.Image:
    """One RGB picture: ``title`` (and ``caption``) above ``values`` scaled up, a labelled colour bar beside it."""
    low, high = limits
    body = Image.fromarray(colorize(values, cmap, low, high)).resize(
        (values.shape[1] * scale, values.shape[0] * scale), Image.Resampling.NEAREST)
    title_font, small = _font(20), _font(14)
    head = 30 + (22 if caption else 0)
    ticks = _ticks(low, high, cmap == "diverging")
    label_width = max(_text_width(small, _label(t)) for t in ticks)
    width = MARGIN + body.width + 12 + BAR_WIDTH + 6 + label_width + MARGIN
    width = max(width, MARGIN * 2 + _text_width(title_font, title), MARGIN * 2 + _text_width(small, caption))
    height = MARGIN + head + body.height + MARGIN
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, MARGIN), title, fill=INK, font=title_font)
    if caption:
        draw.text((MARGIN, MARGIN + 28), caption, fill=(90, 90, 90), font=small)
    top = MARGIN + head
    canvas.paste(body, (MARGIN, top))
    draw.rectangle((MARGIN - 1, top - 1, MARGIN + body.width, top + body.height), outline=(160, 160, 160))
    bar_left = MARGIN + body.width + 12
    gradient = np.linspace(high, low, body.height)[:, None].repeat(BAR_WIDTH, axis=1)
    canvas.paste(Image.fromarray(colorize(gradient, cmap, low, high)), (bar_left, top))
    draw.rectangle((bar_left - 1, top - 1, bar_left + BAR_WIDTH, top + body.height), outline=(160, 160, 160))
    for tick in ticks:
        y = top + (high - tick) / ((high - low) or 1.0) * (body.height - 1)
        draw.line((bar_left + BAR_WIDTH, y, bar_left + BAR_WIDTH + 4, y), fill=INK)
        draw.text((bar_left + BAR_WIDTH + 6, y - 8), _label(tick), fill=INK, font=small)
    return canvas


def save_png(image: Image.Image, path: Path) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    write_atomic(path, buffer.getvalue())
    return path


def write_pictures(explainer: Any, image: np.ndarray, out_dir: Path, why: Any = None) -> list[Path]:
    """Write the eight slide pictures of ``image`` into ``out_dir``; return their paths.

    ``explainer`` is a :class:`digitpad.ml.explain.Explainer`; ``why`` its
    ``why(image)`` result, when already computed.
    """
    from digitpad.ml.explain import dense_mosaic, tile

    maps = explainer.feature_maps(image)
    why = why if why is not None else explainer.why(image)
    digit, (a, b) = why.digit, why.contrast.classes
    conv1_top = float(maps["conv1"].max())
    conv2_top = float(maps["conv2"].max())
    filters = explainer.conv1_filters()
    pictures = {
        "input": figure(maps["input"][:, :, 0], "What the network sees (28 x 28)", "gray", (0.0, 1.0), 12),
        "conv1_maps": figure(tile(maps["conv1"], 8), "conv1: 32 feature maps (28 x 28, after ReLU)", "viridis",
                             (0.0, conv1_top or 1.0), 4),
        "conv1_filters": figure(tile(filters, 8), "conv1: the 32 filters (5 x 5)", "diverging",
                                _symmetric(filters), 20),
        "conv2_maps": figure(tile(maps["conv2"], 8), "conv2: 64 feature maps (14 x 14, after ReLU)", "viridis",
                             (0.0, conv2_top or 1.0), 7),
        "dense": figure(dense_mosaic(maps["dense"]), "dense: 1024 activations as 32 x 32", "viridis",
                        (0.0, float(maps["dense"].max()) or 1.0), 12),
        "saliency": figure(why.saliency, f"Integrated Gradients for {digit}", "diverging",
                           _symmetric(why.saliency), 12, f"red: ink that raises logit {digit}, blue: lowers it"),
        "occlusion": figure(why.occlusion, f"Occlusion: drop in P({digit}) when a patch is hidden", "diverging",
                            _symmetric(why.occlusion), 12, "red: hiding it lowers the probability"),
        "contrast": figure(why.contrast.map, f"Why {a} and not {b}", "diverging",
                           (-why.contrast.limit, why.contrast.limit), 12, f"red: pushes towards {a}, blue: towards {b}"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    return [save_png(picture, out_dir / f"{name}.png") for name, picture in pictures.items()]


def _symmetric(values: np.ndarray) -> tuple[float, float]:
    limit = float(np.nanmax(np.abs(values))) or 1.0
    return -limit, limit


def _ticks(low: float, high: float, centred: bool) -> list[float]:
    return [high, 0.0, low] if centred else [high, (high + low) / 2, low]


def _label(value: float) -> str:
    return "0" if value == 0 else f"{value:.3g}"


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: only the small bitmap font
        return ImageFont.load_default()


def _text_width(font: Any, text: str) -> int:
    if not text:
        return 0
    box = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font)
    return int(box[2] - box[0])
