"""Exit: seconds from closing the window to the end of the process, idle and just after a stopped run.

Each case is a fresh ``digitpad``-like process (the real MainWindow, offscreen).
The child prints the moment it closes the window; the parent times the exit.
Run: ``python benchmarks/bench_exit.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

SCRIPT = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from digitpad.ml.config import TrainConfig
from digitpad.ui.main_window import MainWindow
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
app = QApplication(sys.argv)
window = MainWindow()
window.show()
mode = sys.argv[1]
def close():
    print("closing", time.time(), flush=True)
    window.close()
def after_stop(running):
    if not running:
        QTimer.singleShot(0, close)
def start():
    if mode == "idle":
        close()
        return
    tab = window.train_tab
    tab.runningChanged.connect(after_stop)
    tab.controller.batchEnded.connect(lambda batch: tab.stop_training())
    tab.start_training(TrainConfig(epochs=1, limit=2000, validation=500))
QTimer.singleShot(1500, start)
sys.exit(app.exec())
"""


def one_exit(mode: str, timeout: float = 300.0) -> float:
    env = {**os.environ}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    closed = None
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("closing "):
            closed = float(line.split()[1])
    proc.wait(timeout=timeout)
    ended = time.time()
    if closed is None:
        raise RuntimeError(f"{mode}: the window was never closed (exit code {proc.returncode})")
    return ended - closed


def main(runs: int = 5) -> dict[str, float]:
    summary = {}
    for mode, target in (("idle", 0.5), ("after-stop", 1.5)):
        values = [one_exit(mode) for _ in range(runs)]
        summary[mode] = statistics.median(values)
        print(f"exit {mode:10} median {summary[mode]:5.2f} s  max {max(values):5.2f} s  (target {target} s)")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
