"""NumPy loader and predictor against TensorFlow: loading, throughput per batch size, whole CLI runs.

Three parts:
1. in one process: loading the bundled model on NumPy (zip + h5py + probe)
   against importing TensorFlow and loading it with Keras;
2. ms per image for ``probabilities`` at several batch sizes on NumPy and on
   the traced TensorFlow function, and the break-even batch sizes: with
   TensorFlow already imported (only the Keras load and tracing to pay) and
   without (the import too);
3. ``python -m digitpad predict`` on 1 and on 1,000 drawn canvases as whole
   processes, median of ``--runs``, with peak RSS: the bundled model (NumPy)
   and a copy without its probe (TensorFlow, as before).

Run: ``python benchmarks/bench_numpy_loader.py [--runs 3] [--repeat 15] [--skip-cli]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

BATCHES = (1, 8, 32, 128, 512, 2048)


def seconds(run: Callable[[], Any], repeat: int) -> float:
    """Best wall time of ``run`` over ``repeat`` calls, after one warm-up call.

    The best, not the median: on a shared machine it is the figure least
    disturbed by other processes, for both contestants alike.
    """
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return min(samples)


def numpy_load() -> float:
    from digitpad.ml.numpy_predictor import load_numpy_predictor

    start = time.perf_counter()
    load_numpy_predictor()
    return time.perf_counter() - start


def tensorflow_load() -> tuple[dict[str, float], Any]:
    """Seconds to import TensorFlow and to load + trace the bundled model; and that Predictor."""
    start = time.perf_counter()
    from digitpad.ml.backend import load_keras

    load_keras()
    import_s = time.perf_counter() - start
    from digitpad.ml.inference import load_tensorflow_predictor

    start = time.perf_counter()
    predictor = load_tensorflow_predictor()
    return {"tensorflow import s": import_s, "keras load + trace s": time.perf_counter() - start}, predictor


def _pool() -> np.ndarray:
    from digitpad.ml.data import load_mnist

    return load_mnist().x_test[:max(BATCHES)].astype(np.float32) / 255.0


def _per_image(run: Callable[[np.ndarray], Any], repeat: int) -> dict[int, float]:
    pool = _pool()
    return {batch: seconds(lambda: run(pool[:batch]), max(2, repeat if batch < 512 else repeat // 3))
            / batch * 1000 for batch in BATCHES}


def numpy_throughput(repeat: int) -> dict[int, float]:
    """{batch: ms per image} of ``NumpyPredictor.probabilities`` (chunks of CHUNK, never TensorFlow)."""
    from digitpad.ml.numpy_predictor import load_numpy_predictor

    fast = load_numpy_predictor()  # no TensorFlow factory: NumPy at every size
    assert fast is not None
    return _per_image(fast.probabilities, repeat)


def tensorflow_throughput(predictor: Any, repeat: int) -> dict[int, float]:
    """{batch: ms per image} of the Predictor's traced TensorFlow function, one call per batch."""
    return _per_image(lambda x: predictor._probs(x.reshape(-1, 28, 28, 1)).numpy(), repeat)


def canvases(folder: Path, count: int) -> list[Path]:
    """``count`` different 280x280 drawings of digits, as the app saves them."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        image = Image.new("L", (280, 280), 255)
        pen = ImageDraw.Draw(image)
        x0, y0 = rng.integers(40, 100, 2)
        pen.line([(x0, y0), (x0 + 140, y0), (x0 + 40, y0 + 170)], fill=0, width=int(rng.integers(10, 24)))
        path = folder / f"canvas{i:04d}.png"
        image.save(path)
        paths.append(path)
    return paths


def whole_process(args: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and peak RSS (MiB) of ``python -m digitpad ARGS`` over ``runs``."""
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "digitpad", *args], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"digitpad {' '.join(args[:2])} ... exited with {child.returncode}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(walls), statistics.median(peaks)


def cli(runs: int) -> dict[str, tuple[float, float]]:
    from digitpad.resources import bundled_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = [str(p) for p in canvases(folder, 1000)]
        no_probe = folder / "no-probe.keras"
        shutil.copy(bundled_model(), no_probe)  # no metadata beside it: the TensorFlow path
        rows = {}
        for label, model in (("NumPy", []), ("TensorFlow", ["--model", str(no_probe)])):
            rows[f"{label}, 1 image"] = whole_process(["predict", images[0], *model], runs)
            rows[f"{label}, 1,000 images"] = whole_process(["predict", *images, *model], runs)
    return rows


def break_even(numpy_ms: dict[int, float], tf_ms: dict[int, float], setup_s: float) -> str:
    """The batch size from which TensorFlow's per-image gain at the largest batch pays back ``setup_s``."""
    big = max(numpy_ms)
    gain_ms = numpy_ms[big] - tf_ms[big]
    if gain_ms <= 0:
        return "never (NumPy is as fast per image)"
    return f"{setup_s * 1000 / gain_ms:,.0f} images"


def main(runs: int = 3, repeat: int = 15, skip_cli: bool = False) -> dict[str, Any]:
    """Measure in an order that keeps TensorFlow out of the NumPy figures, print tables, return all."""
    results: dict[str, Any] = {}
    if not skip_cli:  # first, while this process holds little memory and no TensorFlow threads
        results["cli"] = cli(runs)
    results["numpy load s"] = numpy_load()
    results["numpy"] = numpy_throughput(repeat)
    loads, predictor = tensorflow_load()
    results.update(loads)
    results["tensorflow"] = tensorflow_throughput(predictor, repeat)
    results["numpy beside tensorflow"] = numpy_throughput(repeat)
    print("| loading the bundled model | s |\n| --- | --- |")
    for name in ("numpy load s", "tensorflow import s", "keras load + trace s"):
        print(f"| {name[:-2]} | {results[name]:.2f} |")
    print("\n| batch | NumPy ms/image | TensorFlow ms/image | NumPy, TensorFlow loaded in the process |")
    print("| --- | --- | --- | --- |")
    for batch in BATCHES:
        print(f"| {batch} | {results['numpy'][batch]:.3f} | {results['tensorflow'][batch]:.3f} | "
              f"{results['numpy beside tensorflow'][batch]:.3f} |")
    setup = results["keras load + trace s"]
    print(f"\nTensorFlow pays off from: {break_even(results['numpy'], results['tensorflow'], setup)} when it is "
          f"already imported; {break_even(results['numpy'], results['tensorflow'], setup + results['tensorflow import s'])}"
          " when not")
    if "cli" in results:
        print(f"\n| digitpad predict, whole process (median of {runs}) | s | peak RSS MiB |\n| --- | --- | --- |")
        for name, (wall, peak) in results["cli"].items():
            print(f"| {name} | {wall:.2f} | {peak:.0f} |")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="whole-process runs per CLI measure")
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per batch size (best one counts)")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the whole-process runs")
    options = parser.parse_args()
    main(options.runs, options.repeat, options.skip_cli)
