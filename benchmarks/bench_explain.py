"""Inside-tab latency for one drawing: feature maps, the three "why" maps, a look-alike query, the index build.

Prints the median (and the fastest) of ``--repeat`` calls after a warm-up, in
milliseconds, with the bundled model on the NumPy path, and the time to index
all 60,000 MNIST training digits once on one BLAS thread, as the Inside tab
builds it (``--cached`` uses the model's cache, building it only if missing).
Targets for one drawing on a 2-core CPU: maps <= 10 ms, saliency + occlusion +
contrast <= 120 ms, look-alikes <= 20 ms. The "why" maps run with BLAS on one
thread, as the app runs them; ``--compare-blas`` also times them with BLAS's
own thread count, in the same process, the two taking turns so both see the
same load.
Run: ``python benchmarks/bench_explain.py [--repeat 30] [--model PATH] [--cached] [--threads N] [--compare-blas]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw  # noqa: E402

WARM_UP = 3
TARGETS_MS = {"feature maps": 10.0, "saliency + occlusion + contrast": 120.0, "look-alikes": 20.0}


def drawing() -> Image.Image:
    """A 4 with an open top, drawn on a 280x280 pad."""
    img = Image.new("L", (280, 280), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(95, 40), (75, 165), (205, 165)], fill=0, width=18)
    draw.line([(170, 60), (170, 250)], fill=0, width=18)
    return img


def timings(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and fastest of ``repeat`` calls, in ms, after a warm-up."""
    for _ in range(WARM_UP):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def on_one_thread(run: Callable[[], Any]) -> Any:
    """``run()`` with BLAS on one thread, as the Inside tab's worker calls it."""
    from digitpad.ml.blas import one_blas_thread

    with one_blas_thread():
        return run()


def compare(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float]]:
    """Median and fastest of each run in ms, the runs taking turns call by call (after a warm-up each)."""
    for run in runs.values():
        for _ in range(WARM_UP):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: (statistics.median(values), min(values)) for name, values in samples.items()}


def main(repeat: int = 30, model: str | None = None, cached: bool = False,
         compare_blas: bool = False) -> dict[str, float]:
    """Measure, print a table, and return {"<measure> ms": median, "<measure> min ms": fastest}."""
    from digitpad.explain_command import load_network
    from digitpad.imaging import to_mnist
    from digitpad.ml.blas import blas_threads, one_blas_thread
    from digitpad.ml.data import file_sha256, load_mnist
    from digitpad.ml.explain import Explainer, why_maps
    from digitpad.ml.lookalikes import build_index, load_or_build, read_index, save_index
    from digitpad.resources import bundled_model

    model_path = Path(model) if model else bundled_model()
    explainer = Explainer(load_network(model_path))
    image = to_mnist(drawing())
    mnist = load_mnist()
    results: dict[str, float] = {}
    if cached:
        start = time.perf_counter()
        with one_blas_thread():  # as the Inside tab builds it
            index = load_or_build(explainer.net, model_path, mnist)
        build_s = time.perf_counter() - start
        results["index load or build s"] = build_s
    else:
        start = time.perf_counter()
        with one_blas_thread():  # as the Inside tab builds it
            index = build_index(explainer.net, mnist.x_train, mnist.y_train, file_sha256(model_path), mnist.sha256)
        build_s = time.perf_counter() - start
        results["index build s"] = build_s
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / model_path.name
            start = time.perf_counter()
            written = save_index(index, target)
            results["index save s"] = time.perf_counter() - start
            results["index file MB"] = written.stat().st_size / 1e6
            start = time.perf_counter()
            read_index(written)
            results["index load s"] = time.perf_counter() - start
    dense = explainer.feature_maps(image)["dense"]
    measures: dict[str, Callable[[], Any]] = {
        "feature maps": lambda: explainer.feature_maps(image),
        "saliency + occlusion + contrast": lambda: explainer.why(image),
        "look-alikes": lambda: on_one_thread(lambda: index.nearest(explainer.net.features(image)[0])),
        "look-alikes query alone": lambda: on_one_thread(lambda: index.nearest(dense)),
    }
    threads = blas_threads()
    with one_blas_thread():
        inside = blas_threads()
    print(f"BLAS threads: {threads} by default, {inside} for the explain maps; {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'measure':34s} {'median ms':>10s} {'fastest ms':>11s} {'target ms':>10s}")
    why = "saliency + occlusion + contrast"
    timed = {name: timings(run, repeat) for name, run in measures.items() if not (compare_blas and name == why)}
    if compare_blas:
        timed.update(compare({why: measures[why], f"the same, {threads} BLAS threads": lambda: why_maps(
            explainer.net, image)}, repeat))
    for name, (median, fastest) in timed.items():
        results[f"{name} ms"], results[f"{name} min ms"] = median, fastest
        target = TARGETS_MS.get(name)
        print(f"{name:34s} {median:10.1f} {fastest:11.1f} {'' if target is None else f'{target:.0f}':>10s}")
    for key in ("index build s", "index load or build s", "index save s", "index load s"):
        if key in results:
            print(f"{key[:-2]:34s} {results[key]:10.2f} s")
    if "index file MB" in results:
        print(f"{'index file':34s} {results['index file MB']:10.1f} MB ({len(index):,} digits)")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--model", default=None, help="model file (default: bundled)")
    parser.add_argument("--cached", action="store_true", help="use the cached index instead of timing a build")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS; default: BLAS's own)")
    parser.add_argument("--compare-blas", action="store_true",
                        help="also time the why maps with BLAS's default threads, taking turns with one thread")
    options = parser.parse_args()
    if options.threads:
        if "numpy" in sys.modules:
            sys.exit("--threads must be set before NumPy is imported")
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(options.threads)
    main(options.repeat, options.model, options.cached, options.compare_blas)
