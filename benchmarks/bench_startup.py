"""Start-up: seconds from launching ``digitpad`` until the window is painted and
until the first prediction is ready, measured in a fresh process each time.

The app prints probe lines when ``DIGITPAD_STARTUP_PROBE=1`` is set:
``probe window-painted <unix time>`` and ``probe model-ready <unix time>``.
Run: ``python benchmarks/bench_startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any


def one_run(timeout: float = 60.0) -> dict[str, float]:
    env = {**os.environ, "DIGITPAD_STARTUP_PROBE": "1", "DIGITPAD_QUIT_WHEN_READY": "1"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "digitpad"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    marks: dict[str, float] = {}
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("probe "):
                _, name, stamp = line.split()
                marks[name] = float(stamp) - start
            if "first-prediction" in marks:
                break
        proc.wait(timeout=timeout)
    finally:
        proc.kill()
    return marks


GAP_SCRIPT = r"""
import json, resource, sys, time
from PySide6.QtCore import QPointF, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from digitpad.ui.main_window import MainWindow
window = MainWindow()
window.show()
canvas = window.draw_tab.canvas
t0, last, gaps, step = time.perf_counter(), [time.perf_counter()], [], [0]
def tick():
    now = time.perf_counter()
    gaps.append(now - last[0]); last[0] = now
    i = step[0]; step[0] += 1
    side = max(1, canvas.width())
    if i % 40 == 0:
        canvas.begin_stroke(QPointF(side * 0.3, side * 0.2))
    elif i % 40 < 30:
        canvas.extend_stroke(QPointF(side * (0.3 + 0.01 * (i % 40)), side * (0.2 + 0.02 * (i % 40))))
    elif i % 40 == 30:
        canvas.finish_stroke()
    if now - t0 > 5.0:
        app.quit()
timer = QTimer(); timer.timeout.connect(tick); timer.start(10)
app.exec()
window.shutdown()
print(json.dumps({"worst_gap_ms": max(gaps) * 1000, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def gap_run(timeout: float = 60.0) -> dict[str, Any]:
    """Draw strokes for the first 5 s after launch (a 10 ms timer): the worst event-loop gap,
    the peak RSS of drawing only, and whether TensorFlow was imported."""
    import json

    env = {**os.environ}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run([sys.executable, "-c", GAP_SCRIPT], capture_output=True, text=True, env=env,
                          timeout=timeout)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(runs: int = 5) -> dict[str, Any]:
    results = [one_run() for _ in range(runs)]
    summary: dict[str, Any] = {}
    print(f"start-up over {runs} runs (seconds from process start)")
    for name in ("window-painted", "model-ready", "first-prediction"):
        values = [r[name] for r in results if name in r]
        if values:
            summary[name] = statistics.median(values)
            print(f"{name:18} median {statistics.median(values):6.2f}  max {max(values):6.2f}")
    gaps = [gap_run() for _ in range(runs)]
    for key in ("worst_gap_ms", "peak_rss_mib"):
        summary[key] = statistics.median(g[key] for g in gaps)
        print(f"{key:18} median {summary[key]:8.1f}  max {max(g[key] for g in gaps):8.1f}  (drawing from launch, 5 s)")
    summary["tensorflow_imported"] = any(g["tensorflow"] for g in gaps)
    print(f"tensorflow imported while drawing: {summary['tensorflow_imported']}")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
