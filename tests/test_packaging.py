"""The wheel carries resources/ (data, model, icon) and installs into a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("digitpad-*.whl"))


@pytest.mark.slow
def test_wheel_carries_resources(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in ("mnist.npz", "digitpad-cnn.keras", "digitpad-cnn.json"):
        assert f"digitpad/resources/{name}" in names
    assert "digitpad/cli.py" in names and "digitpad/ui/main_window.py" in names


def test_resources_found_from_checkout() -> None:
    from digitpad.resources import bundled_mnist, bundled_model

    assert bundled_mnist().is_file() and bundled_model().is_file()
