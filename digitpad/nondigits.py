"""Synthetic marks that are not digits, drawn like drawings on the Draw tab's pad.

Each kind (letters unlike digits, symbols, scribbles, hatching, stars, a box
with a cross, smileys, wavy lines, an X, dots, ...) is a named generator, so a
"not a digit" detector can be fitted on some kinds and measured on others it
never saw. Images are 280x280 uint8 grey, black ink on white paper with round,
antialiased pen strokes of a random width, at a random size and place, as the
canvas makes them. The same (kind, seed, count) always gives the same images.

Only NumPy and Pillow are used (no Qt), so the fitting command, the tests and
the benchmarks can all draw them.
"""

from __future__ import annotations

import glob
import math
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CANVAS = 280  # the Draw tab's default pad side, px
SUPER = 2  # drawn at this multiple and box-averaged down: antialiased like Qt's strokes
PAPER, INK = 255, 0

Points = list[tuple[float, float]]  # in the unit box, y down
Generator = Callable[[np.random.Generator], Image.Image]

LETTERS = "AEFHKMNRWYkmwx"  # letters that do not look like any digit
SYMBOLS = "#@&%+=*~<>^{}"


class _Pen:
    """Draws unit-box polylines onto a supersampled canvas through a random placement."""

    def __init__(self, rng: np.random.Generator, size: tuple[float, float] = (0.3, 0.9),
                 width: float | None = None, aspect: float = 0.25, tilt: float = 12.0) -> None:
        self.rng = rng
        side = CANVAS * SUPER
        self.image = Image.new("L", (side, side), PAPER)
        self.draw = ImageDraw.Draw(self.image)
        self.scale = rng.uniform(*size) * side
        stretch = math.exp(rng.uniform(-aspect, aspect))
        self.sx, self.sy = self.scale * stretch, self.scale / stretch
        self.angle = math.radians(rng.uniform(-tilt, tilt))
        span_x = side - self.sx
        span_y = side - self.sy
        self.left = rng.uniform(0.05 * span_x, 0.95 * span_x) if span_x > 0 else span_x / 2
        self.top = rng.uniform(0.05 * span_y, 0.95 * span_y) if span_y > 0 else span_y / 2
        self.width = (width if width is not None else pen_width(rng)) * SUPER

    def to_canvas(self, x: float, y: float) -> tuple[float, float]:
        dx, dy = (x - 0.5) * self.sx, (y - 0.5) * self.sy
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.left + self.sx / 2 + c * dx - s * dy, self.top + self.sy / 2 + s * dx + c * dy

    def stroke(self, points: Points, jitter: float = 0.02) -> None:
        """One pen-down..pen-up path through ``points`` (unit box), wobbled by ``jitter``."""
        pts = np.asarray(points, np.float64)
        if jitter:
            pts = pts + self.rng.normal(0.0, jitter, pts.shape)
        xy = [self.to_canvas(float(x), float(y)) for x, y in pts]
        radius = self.width / 2
        if len(xy) > 1:
            self.draw.line(xy, fill=INK, width=max(1, round(self.width)), joint="curve")
        for x, y in (xy if len(xy) < 400 else xy[::4] + [xy[-1]]):  # round caps and joints
            self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK)

    def polygon(self, points: Points) -> None:
        """A filled shape (someone colouring in)."""
        self.draw.polygon([self.to_canvas(x, y) for x, y in points], fill=INK)

    def result(self) -> Image.Image:
        return self.image.reduce(SUPER)


def pen_width(rng: np.random.Generator) -> float:
    """A brush width in canvas px: mostly near the app's default of 20, from 6 to 40."""
    return float(np.clip(rng.lognormal(math.log(18), 0.35), 6, 40))


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 48) -> Points:
    t = np.linspace(start, end, n)
    return list(zip((cx + rx * np.cos(t)).tolist(), (cy + ry * np.sin(t)).tolist()))


def _smooth(points: np.ndarray, per_segment: int = 8) -> Points:
    """A Catmull-Rom curve through ``points``: a hand's smooth path, not a polygon."""
    p = np.vstack([points[:1], points, points[-1:]])
    out = []
    for i in range(1, len(p) - 2):
        for t in np.linspace(0, 1, per_segment, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p[i]) + (-p[i - 1] + p[i + 1]) * t
                              + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t2
                              + (-p[i - 1] + 3 * p[i] - 3 * p[i + 1] + p[i + 2]) * t3))
    out.append(p[-2])
    return [(float(x), float(y)) for x, y in out]


# ------------------------------------------------------------------ fonts


# Fonts whose letters and digits are pictures (Dingbats puts a symbol where "3" should be) or
# are missing: typed "digits" in them would teach the detector that symbols are digits.
PICTURE_FONTS = ("emoji", "dingbat", "d050000l", "wingding", "webding", "symbol")


@lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    """TrueType/OpenType text fonts found in the usual folders (may be none); no picture fonts."""
    found: set[str] = set()
    for folder in ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts"):
        for pattern in ("**/*.ttf", "**/*.otf", "**/*.TTF"):
            found.update(glob.glob(f"{folder}/{pattern}", recursive=True))
    return tuple(sorted(f for f in found if not any(word in Path(f).name.lower() for word in PICTURE_FONTS)))


def _font(rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A random installed font at ``size`` px, else Pillow's own scalable default font."""
    files = font_files()
    if files:
        pick = files[int(rng.integers(len(files)))]
        try:
            return ImageFont.truetype(pick, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _glyph(rng: np.random.Generator, chars: str) -> Image.Image:
    """One character typed in a random font, scaled and placed like a drawing."""
    font = _font(rng, 160)
    char = chars[int(rng.integers(len(chars)))]
    sheet = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
    stroke = int(rng.choice([0, 0, 2, 6]))
    ImageDraw.Draw(sheet).text((CANVAS // 2, CANVAS // 2), char, fill=255, font=font,
                               stroke_width=stroke, stroke_fill=255)
    box = sheet.getbbox()
    glyph = sheet.crop(box) if box else sheet.crop((0, 0, 8, 8))
    glyph = glyph.rotate(float(rng.uniform(-10, 10)), resample=Image.Resampling.BILINEAR, expand=True)
    scale = float(rng.uniform(60, 250)) / max(glyph.size)
    glyph = glyph.resize((max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))),
                         Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR)
    ink = Image.new("L", (CANVAS, CANVAS), 0)
    x = int(rng.integers(0, CANVAS - glyph.width + 1))
    y = int(rng.integers(0, CANVAS - glyph.height + 1))
    ink.paste(glyph, (x, y))
    return Image.eval(ink, lambda v: 255 - v)


# ------------------------------------------------------------------ kinds


def font_letter(rng: np.random.Generator) -> Image.Image:
    return _glyph(rng, LETTERS)


def font_symbol(rng: np.random.Generator) -> Image.Image:
    return _glyph(rng, SYMBOLS)


_DRAWN_LETTERS: dict[str, list[Points]] = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.85, 0), (0.2, 0.55)], [(0.38, 0.42), (0.85, 1)]],
    "M": [[(0.05, 1), (0.12, 0), (0.5, 0.7), (0.88, 0), (0.95, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
    "R": [[(0.2, 1), (0.2, 0)] + _arc(0.2, 0.27, 0.55, 0.27, -math.pi / 2, math.pi / 2, 16),
          [(0.45, 0.54), (0.85, 1)]],
}


def drawn_letter(rng: np.random.Generator) -> Image.Image:
    """A letter unlike any digit, drawn with the pen in its usual strokes."""
    pen = _Pen(rng, (0.35, 0.85))
    for path in _DRAWN_LETTERS[list(_DRAWN_LETTERS)[int(rng.integers(len(_DRAWN_LETTERS)))]]:
        pen.stroke(path, 0.025)
    return pen.result()


def scribble(rng: np.random.Generator) -> Image.Image:
    """A tangle: one stroke turning this way and that many times."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.4, tilt=30)
    n = int(rng.integers(8, 18))
    pen.stroke(_smooth(rng.uniform(0, 1, (n, 2))), 0.004)
    return pen.result()


def hatching(rng: np.random.Generator) -> Image.Image:
    """Parallel lines at one angle, sometimes crossed by a second set."""
    pen = _Pen(rng, (0.4, 0.9), width=pen_width(rng) * 0.8, tilt=0)
    sets = 1 + int(rng.random() < 0.4)
    base = rng.uniform(0, math.pi)
    for k in range(sets):
        angle = base + k * rng.uniform(0.8, 1.6)
        c, s = math.cos(angle), math.sin(angle)
        lines = int(rng.integers(4, 9))
        for offset in np.linspace(-0.4, 0.4, lines):
            a = (0.5 - 0.45 * c - offset * s, 0.5 - 0.45 * s + offset * c)
            b = (0.5 + 0.45 * c - offset * s, 0.5 + 0.45 * s + offset * c)
            pen.stroke([a, b], 0.01)
    return pen.result()


def star(rng: np.random.Generator) -> Image.Image:
    """A five-pointed star: a pentagram in one stroke, or the outline."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.15, tilt=20)
    points = int(rng.choice([5, 5, 5, 6]))
    outer = [(0.5 + 0.5 * math.sin(2 * math.pi * i / points), 0.5 - 0.5 * math.cos(2 * math.pi * i / points))
             for i in range(points)]
    if points == 5 and rng.random() < 0.5:
        order = [outer[(2 * i) % 5] for i in range(6)]
    else:
        inner = [(0.5 + 0.2 * math.sin(2 * math.pi * (i + 0.5) / points),
                  0.5 - 0.2 * math.cos(2 * math.pi * (i + 0.5) / points)) for i in range(points)]
        order = [p for pair in zip(outer, inner) for p in pair] + [outer[0]]
    pen.stroke(order, 0.02)
    return pen.result()


def box_cross(rng: np.random.Generator) -> Image.Image:
    """A box with an X (or a plus) inside."""
    pen = _Pen(rng, (0.35, 0.85), aspect=0.35)
    pen.stroke([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], 0.02)
    if rng.random() < 0.7:
        pen.stroke([(0, 0), (1, 1)], 0.02)
        pen.stroke([(1, 0), (0, 1)], 0.02)
    else:
        pen.stroke([(0.5, 0), (0.5, 1)], 0.02)
        pen.stroke([(0, 0.5), (1, 0.5)], 0.02)
    return pen.result()


def smiley(rng: np.random.Generator) -> Image.Image:
    """A face: a circle, two eyes, a smile (or a frown)."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.15)
    pen.stroke(_arc(0.5, 0.5, 0.5, 0.5, 0, 2 * math.pi, 60), 0.005)
    for ex in (0.34, 0.66):
        pen.stroke([(ex, 0.36), (ex + 0.005, 0.38)], 0.01)
    if rng.random() < 0.8:
        pen.stroke(_arc(0.5, 0.55, 0.22, 0.18, 0.15 * math.pi, 0.85 * math.pi, 20), 0.01)
    else:
        pen.stroke(_arc(0.5, 0.85, 0.2, 0.15, 1.15 * math.pi, 1.85 * math.pi, 20), 0.01)
    return pen.result()


def wavy(rng: np.random.Generator) -> Image.Image:
    """One to three wavy lines across."""
    pen = _Pen(rng, (0.5, 0.95), tilt=15)
    waves = rng.uniform(1.5, 4)
    for k in range(int(rng.integers(1, 4))):
        x = np.linspace(0, 1, 60)
        y = 0.25 + 0.25 * k + 0.1 * np.sin(2 * math.pi * waves * x + rng.uniform(0, math.pi))
        pen.stroke(list(zip(x.tolist(), y.tolist())), 0.003)
    return pen.result()


def x_mark(rng: np.random.Generator) -> Image.Image:
    """An X in two strokes."""
    pen = _Pen(rng, (0.3, 0.85), aspect=0.3, tilt=15)
    pen.stroke([(0, 0), (1, 1)], 0.04)
    pen.stroke([(1, 0), (0, 1)], 0.04)
    return pen.result()


def dots(rng: np.random.Generator) -> Image.Image:
    """Three to nine dots scattered about."""
    pen = _Pen(rng, (0.4, 0.9), width=pen_width(rng) * rng.uniform(1, 1.5))
    for x, y in rng.uniform(0, 1, (int(rng.integers(3, 10)), 2)):
        pen.stroke([(float(x), float(y))], 0)
    return pen.result()


def dot(rng: np.random.Generator) -> Image.Image:
    """A single click: one dot."""
    pen = _Pen(rng, (0.1, 0.9), width=pen_width(rng) * rng.uniform(0.8, 1.6))
    pen.stroke([(0.5, 0.5)], 0)
    return pen.result()


def dash(rng: np.random.Generator) -> Image.Image:
    """A short dash, one to three pen widths long."""
    width = pen_width(rng)
    pen = _Pen(rng, (0.1, 0.9), width=width, aspect=0, tilt=20)
    half = rng.uniform(0.5, 1.5) * width * SUPER / pen.sx
    pen.stroke([(0.5 - half, 0.5), (0.5 + half, 0.5)], 0)
    return pen.result()


def spiral(rng: np.random.Generator) -> Image.Image:
    """A spiral of two to four turns."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.2)
    turns = rng.uniform(2, 4)
    t = np.linspace(0, turns * 2 * math.pi, int(40 * turns))
    r = 0.5 * t / t[-1]
    direction = rng.choice([-1, 1])
    pen.stroke(list(zip((0.5 + r * np.cos(t)).tolist(), (0.5 + direction * r * np.sin(t)).tolist())), 0.003)
    return pen.result()


def zigzag(rng: np.random.Generator) -> Image.Image:
    """A sawtooth line with four to eight teeth."""
    pen = _Pen(rng, (0.5, 0.95), tilt=20)
    teeth = int(rng.integers(4, 9))
    x = np.linspace(0, 1, 2 * teeth + 1)
    y = 0.5 + rng.uniform(0.15, 0.35) * np.where(np.arange(len(x)) % 2, 1, -1)
    pen.stroke(list(zip(x.tolist(), y.tolist())), 0.015)
    return pen.result()


def triangle(rng: np.random.Generator) -> Image.Image:
    pen = _Pen(rng, (0.35, 0.85), aspect=0.3, tilt=25)
    pen.stroke([(0.5, 0), (1, 1), (0, 1), (0.5, 0)], 0.025)
    return pen.result()


def arrow(rng: np.random.Generator) -> Image.Image:
    """An arrow pointing left, right, up or down (the pen's tilt varies it)."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.1, tilt=20)
    pen.angle += math.pi / 2 * int(rng.integers(4))
    pen.stroke([(0, 0.5), (1, 0.5)], 0.015)
    pen.stroke([(0.7, 0.25), (1, 0.5), (0.7, 0.75)], 0.02)
    return pen.result()


def heart(rng: np.random.Generator) -> Image.Image:
    pen = _Pen(rng, (0.35, 0.85), aspect=0.2)
    t = np.linspace(0, 2 * math.pi, 70)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pen.stroke(list(zip((0.5 + x / 34).tolist(), (0.45 + y / 34).tolist())), 0.004)
    return pen.result()


def grid(rng: np.random.Generator) -> Image.Image:
    """A noughts-and-crosses grid: two lines down, two across."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.2, tilt=12)
    for a in (0.33, 0.67):
        pen.stroke([(a, 0), (a, 1)], 0.025)
        pen.stroke([(0, a), (1, a)], 0.025)
    return pen.result()


def blob(rng: np.random.Generator) -> Image.Image:
    """A coloured-in shape: a filled irregular blob."""
    pen = _Pen(rng, (0.3, 0.8), aspect=0.4, tilt=40)
    n = 9
    t = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = 0.5 * rng.uniform(0.55, 1, n)
    ring = np.stack([0.5 + r * np.cos(t), 0.5 + r * np.sin(t)], axis=1)
    pen.polygon(_smooth(np.vstack([ring, ring[:1]]), 6))
    return pen.result()


def target(rng: np.random.Generator) -> Image.Image:
    """A circle with a cross through it."""
    pen = _Pen(rng, (0.4, 0.9), aspect=0.15)
    pen.stroke(_arc(0.5, 0.5, 0.42, 0.42, 0, 2 * math.pi, 60), 0.005)
    if rng.random() < 0.5:
        pen.stroke([(0.5, 0), (0.5, 1)], 0.015)
        pen.stroke([(0, 0.5), (1, 0.5)], 0.015)
    else:
        pen.stroke([(0.1, 0.1), (0.9, 0.9)], 0.015)
        pen.stroke([(0.9, 0.1), (0.1, 0.9)], 0.015)
    return pen.result()


def math_sign(rng: np.random.Generator) -> Image.Image:
    """A hand-drawn plus, equals, times or divide sign."""
    pen = _Pen(rng, (0.3, 0.8), aspect=0.2, tilt=10)
    sign = int(rng.integers(4))
    if sign == 0:
        pen.stroke([(0.5, 0), (0.5, 1)], 0.02)
        pen.stroke([(0, 0.5), (1, 0.5)], 0.02)
    elif sign == 1:
        pen.stroke([(0, 0.3), (1, 0.3)], 0.02)
        pen.stroke([(0, 0.7), (1, 0.7)], 0.02)
    elif sign == 2:
        pen.stroke([(0.1, 0.1), (0.9, 0.9)], 0.02)
        pen.stroke([(0.9, 0.1), (0.1, 0.9)], 0.02)
        pen.stroke([(0.5, 0), (0.5, 1)], 0.02)
        pen.stroke([(0, 0.5), (1, 0.5)], 0.02)
    else:
        pen.stroke([(0, 0.5), (1, 0.5)], 0.02)
        pen.stroke([(0.5, 0.15)], 0)
        pen.stroke([(0.5, 0.85)], 0)
    return pen.result()


KINDS: dict[str, Generator] = {
    "font_letter": font_letter,
    "drawn_letter": drawn_letter,
    "font_symbol": font_symbol,
    "scribble": scribble,
    "hatching": hatching,
    "star": star,
    "box_cross": box_cross,
    "smiley": smiley,
    "wavy": wavy,
    "x_mark": x_mark,
    "dots": dots,
    "dot": dot,
    "dash": dash,
    "spiral": spiral,
    "zigzag": zigzag,
    "triangle": triangle,
    "arrow": arrow,
    "heart": heart,
    "grid": grid,
    "blob": blob,
    "target": target,
    "math_sign": math_sign,
}
TINY_KINDS = ("dot", "dash")  # "too little ink" marks: caught by a rule before any model


def generate(kind: str, count: int, seed: int = 0) -> np.ndarray:
    """``count`` images of one kind as uint8 ``(count, 280, 280)``, black ink on white.

    Deterministic per (kind, seed): each kind gets its own random stream, so
    seeds can be split between fitting and measuring.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown non-digit kind {kind!r} (known: {', '.join(KINDS)})")
    rng = np.random.default_rng([zlib.crc32(kind.encode()), seed])
    out = np.empty((count, CANVAS, CANVAS), np.uint8)
    for i in range(count):
        out[i] = np.asarray(KINDS[kind](rng), np.uint8)
    return out


def generate_many(kinds: Sequence[str], count: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``count`` images of each kind, stacked, with the kind of each image."""
    images = [generate(kind, count, seed) for kind in kinds]
    labels = [kind for kind in kinds for _ in range(count)]
    return (np.concatenate(images) if images else np.zeros((0, CANVAS, CANVAS), np.uint8)), labels
