"""Thin pen lines against thick strokes: accuracy per pen width through ``digitpad.imaging.prepare``.

MNIST *test* digits are thinned to their centre lines (Zhang-Suen) and redrawn
as pen strokes of 2, 4, 8, 16 and 24 px, black on a white 280x280 canvas like
the Draw tab's pad, at 100-240 px and a random place. Every model given reads
the same drawings; one row per width, one column per model.
Run: ``python benchmarks/bench_thin_lines.py [--model PATH ...] [--count 300]``
(default: the bundled model).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

CANVAS = 280
WIDTHS = (2, 4, 8, 16, 24)
UPSCALE = 4  # the skeleton is found on the digit enlarged this much, for smoother centre lines
SEED = 20250101


def _neighbours(img: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of Zhang-Suen (clockwise from north) for every pixel of a 0/1 array."""
    p = np.pad(img, 1)
    h, w = img.shape
    at = lambda dr, dc: p[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]  # noqa: E731
    return [at(-1, 0), at(-1, 1), at(0, 1), at(1, 1), at(1, 0), at(1, -1), at(0, -1), at(-1, -1)]


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel centre lines."""
    img = mask.astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            n = _neighbours(img)
            count = sum(n)
            transitions = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.uint8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (img == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            return img.astype(bool)


def centre_lines(digit: np.ndarray) -> np.ndarray:
    """(row, col) points of a uint8 28x28 digit's centre lines, in enlarged-digit pixels."""
    big = np.asarray(Image.fromarray(digit).resize((28 * UPSCALE,) * 2, Image.Resampling.BILINEAR))
    return np.argwhere(skeleton(big >= 128))


def draw(points: np.ndarray, width: int, size: int, left: int, top: int) -> np.ndarray:
    """The centre lines as a ``width`` px pen stroke, the digit's longer side ``size`` px."""
    lo, hi = points.min(0), points.max(0)
    scale = size / max(1, (hi - lo).max())
    canvas = Image.new("L", (CANVAS, CANVAS), 255)
    pen = ImageDraw.Draw(canvas)
    xy = {(int(r), int(c)) for r, c in points}
    place = lambda r, c: (left + (c - lo[1]) * scale, top + (r - lo[0]) * scale)  # noqa: E731
    for r, c in xy:
        x, y = place(r, c)
        pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)  # round pen tip
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            if (r + dr, c + dc) in xy:
                pen.line([(x, y), place(r + dr, c + dc)], fill=0, width=width)
    return np.asarray(canvas)


def drawings(count: int) -> tuple[list[tuple[np.ndarray, int, int, int]], np.ndarray]:
    """``count`` MNIST test digits as (centre lines, size, left, top) plus their labels."""
    from digitpad.ml.data import load_mnist

    data = load_mnist()
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(data.x_test), count, replace=False)
    cases = []
    for i in picks:
        points = centre_lines(data.x_test[i])
        size = int(rng.integers(100, 241))
        span = points.max(0) - points.min(0)
        h, w = (span * size / max(1, span.max())).astype(int) + 1
        margin = max(WIDTHS)
        left = int(rng.integers(margin, max(margin + 1, CANVAS - w - margin)))
        top = int(rng.integers(margin, max(margin + 1, CANVAS - h - margin)))
        cases.append((points, size, left, top))
    return cases, data.y_test[picks]


def main(models: list[str | None], count: int = 300, save_grid: str | None = None) -> dict[int, list[float]]:
    """Print accuracy per pen width for each model and return {width: [accuracy per model]}."""
    from digitpad.imaging import prepare
    from digitpad.ml.inference import load_predictor

    cases, labels = drawings(count)
    predictors = [load_predictor(m) for m in models]
    names = ["bundled" if m is None else "/".join(Path(m).resolve().parts[-2:]) for m in models]
    table: dict[int, list[float]] = {}
    sheet = []
    for width in WIDTHS:
        canvases = [draw(points, width, size, left, top) for points, size, left, top in cases]
        prepared = np.stack([prepare(c).image for c in canvases])
        sheet.append(np.concatenate(canvases[:8], axis=1))
        table[width] = [float((p.probabilities(prepared).argmax(1) == labels).mean()) for p in predictors]
    if save_grid:
        Image.fromarray(np.concatenate(sheet, axis=0)).resize((8 * CANVAS // 2, len(WIDTHS) * CANVAS // 2)).save(save_grid)
    print(f"{count} MNIST test digits redrawn as pen strokes on a {CANVAS} px canvas, read through prepare()")
    print("| pen width | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for width, row in table.items():
        print(f"| {width} px | " + " | ".join(f"{a:.1%}" for a in row) + " |")
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a .keras model (repeat to compare; default: bundled)")
    parser.add_argument("--count", type=int, default=300, help="digits per pen width")
    parser.add_argument("--grid", help="save the first drawings at each width as this PNG")
    args = parser.parse_args()
    main(args.model or [None], args.count, args.grid)
