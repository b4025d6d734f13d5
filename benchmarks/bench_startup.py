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


def main(runs: int = 5) -> dict[str, Any]:
    results = [one_run() for _ in range(runs)]
    summary: dict[str, Any] = {}
    print(f"start-up over {runs} runs (seconds from process start)")
    for name in ("window-painted", "model-ready", "first-prediction"):
        values = [r[name] for r in results if name in r]
        if values:
            summary[name] = statistics.median(values)
            print(f"{name:18} median {statistics.median(values):6.2f}  max {max(values):6.2f}")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
