"""Import boundaries: the GUI starts without TensorFlow, the ML core runs without Qt."""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _modules_after(imports: list[str]) -> dict[str, bool]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {imports!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({m: m in sys.modules for m in ('tensorflow', 'keras', 'PySide6')}))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def ui_modules() -> list[str]:
    import digitpad.ui

    return [f"digitpad.ui.{m.name}" for m in pkgutil.iter_modules(digitpad.ui.__path__)]


def test_every_ui_module_and_the_cli_import_without_tensorflow() -> None:
    modules = ui_modules()
    assert {"digitpad.ui.app", "digitpad.ui.main_window", "digitpad.ui.canvas", "digitpad.ui.draw_tab",
            "digitpad.ui.prediction_service", "digitpad.ui.model_loader"} <= set(modules)
    loaded = _modules_after(modules + ["digitpad.cli"])
    assert not loaded["tensorflow"] and not loaded["keras"]


def test_the_ml_core_and_imaging_import_without_qt() -> None:
    modules = ["digitpad.ml.data", "digitpad.ml.model", "digitpad.ml.inference", "digitpad.imaging"]
    assert all(importlib.util.find_spec(m) is not None for m in modules)
    assert not _modules_after(modules)["PySide6"]
