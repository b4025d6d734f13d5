"""Number mode: how often a written number is read exactly, and how long one reading takes.

The numbers are made of MNIST *test* digits (never seen in training), 2-6 of
them, each scaled with Pillow to 80-120 px tall, on a wobbling baseline, with
tight (2-6 px) or wide (20-80 px) gaps or a mix, dark on light or light on
dark, on a canvas at least three times as wide as it is tall. Touching pairs
are two such digits pushed together until their ink joins.

Prints the exact-read rate of ``--count`` numbers (and of ``--touching``
touching pairs), how many had the right digit count, the per-digit accuracy,
and p50/p95 of one ``read_number`` call on a 6-digit number: cold, and the way
the GUI calls it after the stroke that wrote the last digit (its cache holds the
other five). Run: ``python benchmarks/bench_numbers.py [--count 300]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ASPECT = 3.0  # canvas width / height, at least
SEED = 2026


@dataclass(frozen=True)
class Sample:
    """A generated picture of a number and what it says."""

    image: np.ndarray  # uint8 (H, W) grey
    text: str  # the digits, left to right
    boxes: list[list[int]]  # where each digit's ink is, [x0, y0, x1, y1) in image px
    kind: str  # "tight", "wide", "mixed" or "touching"


def mnist_digits(part: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test (or training) images and labels, from the bundled copy."""
    from digitpad.ml.data import load_mnist

    data = load_mnist()
    return (data.x_test, data.y_test) if part == "test" else (data.x_train, data.y_train)


def scaled_digit(digit: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit cropped to its ink and resized with Pillow to ``height`` px (white on black)."""
    img = Image.fromarray(digit)
    img = img.crop(img.getbbox())
    width = max(1, round(img.width * height / img.height))
    return np.asarray(img.resize((width, height), Image.Resampling.BICUBIC))


def _canvas(parts: list[np.ndarray], xs: list[int], ys: list[int], rng: np.random.Generator,
            text: str, kind: str) -> Sample:
    """Paste white-on-black parts at (xs, ys) on a wide canvas; a random polarity."""
    right = max(x + p.shape[1] for x, p in zip(xs, parts))
    bottom = max(y + p.shape[0] for y, p in zip(ys, parts))
    top = min(ys)
    pad_y = int(rng.integers(15, 40))
    height = bottom - top + 2 * pad_y
    width = max(right + 2 * int(rng.integers(15, 40)), round(ASPECT * height))
    left = int(rng.integers(15, max(16, width - right - 15)))
    canvas = np.zeros((height, width), np.uint8)
    boxes = []
    for part, x, y in zip(parts, xs, ys):
        x, y = x + left, y - top + pad_y
        region = canvas[y:y + part.shape[0], x:x + part.shape[1]]
        np.maximum(region, part, out=region)
        rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
        boxes.append([x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1])
    image = 255 - canvas if rng.random() < 0.5 else canvas
    return Sample(image, text, boxes, kind)


def make_number(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray,
                count: int | None = None, kind: str | None = None) -> Sample:
    """A number of 2-6 of these digits (MNIST images), of unequal size, on a wobbling baseline."""
    count = int(rng.integers(2, 7)) if count is None else count
    kind = str(rng.choice(["tight", "wide", "mixed"])) if kind is None else kind
    picks = rng.choice(len(digits), count, replace=False)
    parts = [scaled_digit(digits[i], int(rng.integers(80, 121))) for i in picks]
    amplitude, phase = rng.uniform(0, 15), rng.uniform(0, 2 * np.pi)
    xs, ys, x = [], [], 0
    for n, part in enumerate(parts):
        xs.append(x)
        baseline = 120 + amplitude * np.sin(phase + 1.3 * n) + rng.normal(0, 3)
        ys.append(round(baseline) - part.shape[0])
        tight = kind == "tight" or (kind == "mixed" and rng.random() < 0.5)
        x += part.shape[1] + int(rng.integers(2, 7) if tight else rng.integers(20, 81))
    return _canvas(parts, xs, ys, rng, "".join(str(labels[i]) for i in picks), kind)


def make_touching(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray) -> Sample:
    """Two of these digits pushed together until their ink touches."""
    picks = rng.choice(len(digits), 2, replace=False)
    a, b = (scaled_digit(digits[i], int(rng.integers(80, 121))) for i in picks)
    ya, yb = 120 - a.shape[0] + int(rng.integers(-5, 6)), 120 - b.shape[0] + int(rng.integers(-5, 6))
    top = min(ya, yb)
    height = max(ya + a.shape[0], yb + b.shape[0]) - top
    gap = 0
    while gap > -min(a.shape[1], b.shape[1]) // 2:
        width = a.shape[1] + b.shape[1] + gap
        left, right = np.zeros((height, width), bool), np.zeros((height, width), bool)
        left[ya - top:ya - top + a.shape[0], :a.shape[1]] = a > 64
        right[yb - top:yb - top + b.shape[0], width - b.shape[1]:] = b > 64
        near = left.copy()  # the left digit's ink grown by one px, diagonals included
        near[:, 1:] |= left[:, :-1]
        near[:, :-1] |= left[:, 1:]
        grown = near.copy()
        grown[1:] |= near[:-1]
        grown[:-1] |= near[1:]
        if (grown & right).any():
            break
        gap -= 1
    xs = [0, a.shape[1] + gap]
    return _canvas([a, b], xs, [ya, yb], rng, "".join(str(labels[i]) for i in picks), "touching")


def samples(count: int, seed: int = SEED, touching: int = 0, part: str = "test") -> list[Sample]:
    """``count`` generated numbers then ``touching`` touching pairs, the same for a given seed."""
    digits, labels = mnist_digits(part)
    rng = np.random.default_rng(seed)
    out = [make_number(rng, digits, labels) for _ in range(count)]
    return out + [make_touching(rng, digits, labels) for _ in range(touching)]


def score(predictor: Any, cases: list[Sample]) -> dict[str, float]:
    """Exact-read rate, right-digit-count rate and per-digit accuracy (where the count is right)."""
    from digitpad.numbers import read_number

    exact = counted = right_digits = all_digits = 0
    for case in cases:
        reading = read_number(case.image, predictor)
        exact += reading.number == case.text
        if reading.number is not None and len(reading.number) == len(case.text):
            counted += 1
            right_digits += sum(a == b for a, b in zip(reading.number, case.text))
            all_digits += len(case.text)
    return {"exact": exact / len(cases), "count": counted / len(cases),
            "digit": right_digits / max(1, all_digits)}


def latency(predictor: Any, image: np.ndarray, repeat: int, strokes: Any = None,
            before: np.ndarray | None = None) -> tuple[float, float, float]:
    """p50 and p95 wall time of one ``read_number`` call, and its mean CPU time, in ms, after a warm-up.

    With ``before`` (the picture one stroke earlier), each call is the GUI's reading after that
    stroke: its cache holds what the reading of ``before`` found, so only the changed digit is new.
    """
    from digitpad.numbers import ReadCache, read_number

    def one() -> ReadCache | None:
        if before is None:
            return None
        cache = ReadCache()
        read_number(before, predictor, strokes, cache)
        return cache

    for _ in range(10):
        read_number(image, predictor, strokes, one())
    times = []
    cpu = 0.0
    for _ in range(repeat):
        cache = one()
        cpu -= time.process_time()
        start = time.perf_counter()
        read_number(image, predictor, strokes, cache)
        times.append((time.perf_counter() - start) * 1000)
        cpu += time.process_time()
    cpu_ms = cpu * 1000 / repeat
    times.sort()
    return statistics.median(times), times[round(0.95 * (len(times) - 1))], cpu_ms


def main(count: int = 300, touching: int = 100, repeat: int = 100, model: str | None = None,
         part: str = "test") -> dict[str, float]:
    """Measure, print a table and return the figures."""
    from digitpad.ml.inference import load_predictor

    predictor = load_predictor(model)
    cases = samples(count, touching=touching, part=part)
    plain, pairs = cases[:count], cases[count:]
    rows: dict[str, float] = {}
    for name, subset in [("numbers", plain), *[(k, [c for c in plain if c.kind == k]) for k in ("tight", "wide", "mixed")],
                         ("touching pairs", pairs)]:
        if subset:
            figures = score(predictor, subset)
            rows.update({f"{name} exact %": 100 * figures["exact"], f"{name} digit count %": 100 * figures["count"],
                         f"{name} per-digit %": 100 * figures["digit"]})
            print(f"{name:15s} n={len(subset):4d}  exact {100 * figures['exact']:5.1f} %  "
                  f"right count {100 * figures['count']:5.1f} %  per digit {100 * figures['digit']:5.1f} %")
    digits, labels = mnist_digits()
    six = make_number(np.random.default_rng(SEED), digits, labels, count=6, kind="mixed")
    x0, y0, x1, y1 = six.boxes[-1]
    five = six.image.copy()
    five[y0:y1, x0:x1] = five[0, 0]  # the same number before its last digit was written
    for name, before in (("6-digit reading, cold", None), ("6-digit reading after a stroke", five)):
        p50, p95, cpu = latency(predictor, six.image, repeat, before=before)
        rows.update({f"{name} p50 ms": p50, f"{name} p95 ms": p95, f"{name} CPU ms": cpu})
        print(f"{name} ({six.image.shape[1]}x{six.image.shape[0]} px): p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms, CPU {cpu:.1f} ms (all threads)")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--touching", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--model", default=None)
    parser.add_argument("--part", choices=("test", "train"), default="test",
                        help="MNIST digits to build numbers from (train: the set the thresholds were chosen on)")
    args = parser.parse_args()
    main(args.count, args.touching, args.repeat, args.model, args.part)
