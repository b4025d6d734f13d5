"""Prediction latency: preprocessing a drawn canvas, inference, both, and Keras' own predict.

Prints p50 and p95 in milliseconds over ~200 repetitions after a warm-up, all
in one process with the bundled model. ``Predictor.predict`` is what the GUI
calls on every stroke, at most every 60 ms, so it is also timed after 10 ms
idle (sleeping threads and cooler caches make a call slower than back to back).
The traced TensorFlow function (the path for other architectures) and
``model.predict`` (what a naive app would call) are shown for comparison.
Run: ``python benchmarks/bench_predict.py [--repeat 200] [--model PATH]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

WARM_UP = 20


def canvas(size: int = 280, pen: int = 18) -> np.ndarray:
    """A GUI-like canvas: a "3" drawn in black on white, as a uint8 (H, W) array."""
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    box = (0.3 * size, 0.15 * size, 0.7 * size, 0.5 * size)
    draw.arc(box, start=200, end=90, fill=0, width=pen)
    draw.arc((box[0], 0.45 * size, box[2], 0.85 * size), start=270, end=160, fill=0, width=pen)
    return np.asarray(img)


def timings(run: Callable[[], Any], repeat: int, idle_ms: float = 0.0) -> tuple[float, float]:
    """p50 and p95 of one call, in ms, after a warm-up; ``idle_ms`` of sleep before each call."""
    for _ in range(WARM_UP):
        run()
    samples = []
    for _ in range(repeat):
        if idle_ms:
            time.sleep(idle_ms / 1000)
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def main(repeat: int = 200, model: str | None = None) -> dict[str, float]:
    """Measure, print a table, and return {"<measure> p50 ms": value, "<measure> p95 ms": value}."""
    from digitpad.imaging import prepare
    from digitpad.ml.inference import load_predictor

    predictor = load_predictor(model)
    drawing = canvas()
    prepared = prepare(drawing).image
    one = prepared.reshape(1, 28, 28, 1)
    measures: dict[str, tuple[Callable[[], Any], float]] = {
        "preprocess 280x280 canvas": (lambda: prepare(drawing), 0.0),
        "inference (predict_prepared)": (lambda: predictor.predict_prepared(prepared), 0.0),
        "both (Predictor.predict)": (lambda: predictor.predict(drawing), 0.0),
        "both, after 10 ms idle": (lambda: predictor.predict(drawing), 10.0),
        "traced TF function, 1 image": (lambda: predictor._probs(one).numpy(), 0.0),
        "traced TF function, after 10 ms idle": (lambda: predictor._probs(one).numpy(), 10.0),
        "keras model.predict, 1 image": (lambda: predictor.model.predict(one, verbose=0), 0.0),
    }
    results: dict[str, float] = {}
    width = max(map(len, measures))
    path = "NumPy forward pass" if predictor.fast_path else "traced TF function"
    print(f"prediction latency, {repeat} runs after {WARM_UP} warm-up ({predictor.info.name}, {path})")
    print(f"{'measure':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}")
    for name, (run, idle_ms) in measures.items():
        p50, p95 = timings(run, repeat, idle_ms)
        results[f"{name} p50 ms"], results[f"{name} p95 ms"] = round(p50, 3), round(p95, 3)
        print(f"{name:<{width}}  {p50:8.3f}  {p95:8.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per measure (default 200)")
    parser.add_argument("--model", help="a .keras model file (default: the bundled one)")
    args = parser.parse_args()
    main(args.repeat, args.model)
