"""End to end: the bundled model reads realistic drawings through ``to_mnist``.

The cases are MNIST *test* digits redrawn the way people and files present
them (any size and place on a 280x280 canvas, thick or thin pens, either
polarity, coloured, transparent PNGs) plus digits typed in this machine's
fonts. The same cases through ``plain_resize`` show what the normalisation is
worth.
"""

from __future__ import annotations

import colorsys
import glob
import subprocess
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitpad.imaging import plain_resize, to_mnist
from digitpad.ml.reject_fit import scale_and_repen
from digitpad.resources import bundled_mnist, bundled_model

pytestmark = pytest.mark.slow

CANVAS = 280
MNIST_CASES = 400
FONTS = 12  # at most this many fonts, each typing 0-9
REQUIRED = 0.98
BASELINE_GAP = 0.20

Case = tuple[Any, int, str]  # (source, label, kind)


def _colours(rng: np.random.Generator) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """An ink and a paper colour of different hue and clearly different lightness."""
    hue = rng.random()
    dark = colorsys.hsv_to_rgb(hue, rng.uniform(0.5, 1), rng.uniform(0.15, 0.45))
    light = colorsys.hsv_to_rgb((hue + rng.uniform(0.2, 0.8)) % 1, rng.uniform(0.1, 0.6), rng.uniform(0.8, 1))
    ink, paper = (dark, light) if rng.random() < 0.5 else (light, dark)
    return tuple(round(c * 255) for c in ink), tuple(round(c * 255) for c in paper)  # type: ignore[return-value]


def _restyle(digit: Image.Image, rng: np.random.Generator, tmp: Path, name: str) -> tuple[Any, str]:
    """Put an 'L' ink image (white on black) on a canvas in a random style."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    corner = rng.random() < 0.25
    span_x, span_y = CANVAS - digit.width, CANVAS - digit.height
    x = (span_x if rng.random() < 0.5 else 0) if corner else int(rng.integers(0, span_x + 1))
    y = (span_y if rng.random() < 0.5 else 0) if corner else int(rng.integers(0, span_y + 1))
    canvas.paste(digit, (x, y))
    ink = np.asarray(canvas)
    style = rng.choice(["black-on-white", "white-on-black", "colour", "transparent-png"], p=[0.4, 0.2, 0.25, 0.15])
    if style == "black-on-white":
        return 255 - ink, style
    if style == "white-on-black":
        return ink, style
    fg, bg = _colours(rng)
    a = ink[..., None].astype(np.float32) / 255
    if style == "colour":
        return (a * fg + (1 - a) * bg).round().astype(np.uint8), style
    rgba = np.dstack([np.broadcast_to(np.array(fg, np.uint8), ink.shape + (3,)), ink])
    path = tmp / f"{name}.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return path, style


def _mnist_cases(tmp: Path) -> Iterator[Case]:
    """MNIST test digits at 40-250 px, anywhere on the canvas, pens thickened or thinned."""
    with np.load(bundled_mnist(), allow_pickle=False) as data:
        digits, labels = data["x_test"], data["y_test"]
    rng = np.random.default_rng(20240601)
    picks = rng.choice(len(digits), MNIST_CASES, replace=False)
    for n, i in enumerate(picks):
        image = Image.fromarray(digits[i])
        image, pen = scale_and_repen(image.crop(image.getbbox()), rng)
        source, style = _restyle(image, rng, tmp, f"mnist{n}")
        yield source, int(labels[i]), f"mnist {pen} {style}"


def _fonts() -> list[Path]:
    """The TrueType/OpenType fonts installed here (fc-list, else a glob), sorted."""
    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, timeout=20).stdout
        files = [line.strip() for line in listed.splitlines()]
    except (OSError, subprocess.SubprocessError):
        files = glob.glob("/usr/share/fonts/**/*", recursive=True)
    return sorted({Path(f) for f in files if f.lower().endswith((".ttf", ".otf"))})


def _font_cases(tmp: Path) -> Iterator[Case]:
    """Digits 0-9 typed in each installed font at several sizes, places and pen widths."""
    rng = np.random.default_rng(7)
    found = _fonts()
    fonts: list[Any] = found[:: max(1, -(-len(found) // FONTS))] or [None]  # spread over the families
    for f, font_file in enumerate(fonts):
        for digit in range(10):
            size = int(rng.choice([48, 120, 220]))
            font = ImageFont.truetype(str(font_file), size) if font_file else ImageFont.load_default(size=size)
            stroke = int(rng.choice([0, 0, 1, size // 25]))
            sheet = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
            ImageDraw.Draw(sheet).text((CANVAS // 2, CANVAS // 2), str(digit), fill=255, font=font,
                                       stroke_width=stroke, stroke_fill=255)
            glyph = sheet.crop(sheet.getbbox())
            if max(glyph.size) > CANVAS - 10:
                glyph.thumbnail((CANVAS - 10, CANVAS - 10))
            source, style = _restyle(glyph, rng, tmp, f"font{f}-{digit}")
            yield source, digit, f"font {style}"


def build_cases(tmp: Path) -> list[Case]:
    """All recognition cases; transparent ones are written as PNG files under ``tmp``."""
    return list(_mnist_cases(tmp)) + list(_font_cases(tmp))


def read(predictor: Any, cases: list[Case], normalise: Any) -> np.ndarray:
    """The digit the model reads in each case after ``normalise`` (one batch)."""
    images = np.stack([normalise(source) for source, _, _ in cases])
    return predictor.probabilities(images).argmax(axis=1)


@pytest.fixture(scope="module")
def predictor() -> Any:
    if not bundled_model().is_file():
        pytest.skip(f"the bundled model {bundled_model()} has not been trained yet")
    from digitpad.ml.inference import load_predictor

    return load_predictor()


def test_model_reads_normalised_drawings_and_plain_resizing_does_much_worse(predictor: Any, tmp_path: Path) -> None:
    cases = build_cases(tmp_path)
    assert len(cases) >= MNIST_CASES + 10
    labels = np.array([label for _, label, _ in cases])
    normalised = read(predictor, cases, to_mnist)
    naive = read(predictor, cases, plain_resize)
    accuracy, baseline = float((normalised == labels).mean()), float((naive == labels).mean())
    misread = [f"{kind}: {label}->{got}" for (_, label, kind), got in zip(cases, normalised) if got != label]
    print(f"\n{len(cases)} cases: to_mnist {accuracy:.1%}, plain_resize {baseline:.1%}; misread: {misread}")
    assert accuracy >= REQUIRED, f"to_mnist: {accuracy:.1%} read right, need {REQUIRED:.0%}; misread: {misread}"
    assert baseline <= accuracy - BASELINE_GAP, f"plain_resize {baseline:.1%} is not far below to_mnist {accuracy:.1%}"
