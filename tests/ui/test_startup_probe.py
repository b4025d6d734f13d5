"""The real ``digitpad`` start-up, as ``benchmarks/bench_startup.py`` measures it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_app_starts_paints_loads_and_predicts_even_if_the_train_tab_was_last(tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "digitpad"
    config.mkdir(parents=True, exist_ok=True)
    (config / "digitpad.conf").write_text("[window]\nlastTab=1\n")  # the canvas is hidden at start
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIGITPAD_STARTUP_PROBE": "1",
           "DIGITPAD_QUIT_WHEN_READY": "1"}
    done = subprocess.run([sys.executable, "-m", "digitpad"], capture_output=True, text=True, timeout=300,
                          env=env, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    marks = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("probe ")]
    # The tutorial CNN now loads without TensorFlow, so the model may be ready before the first paint.
    assert sorted(marks[:2]) == ["model-ready", "window-painted"] and marks[2:] == ["first-prediction"]
