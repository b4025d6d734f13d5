"""The wheel carries resources/ (data, model, icon) and installs into a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per test session."""
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


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_predicts(wheel: Path, tmp_path: Path) -> None:
    """No network: the venv sees the dependencies this test runs with and installs only our wheel.

    ``--system-site-packages`` would show the *base* interpreter's packages, not
    those of a venv the suite runs in; a .pth file naming this interpreter's own
    site-packages works for a plain venv, a --system-site-packages one and a
    system interpreter alike.
    """
    import json
    import sysconfig

    from PIL import Image, ImageDraw

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    inner = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    outer = [p for p in sys.path if p.endswith("site-packages") or p.endswith("dist-packages")]
    outer += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    (Path(inner) / "outer-env.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, timeout=300)
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(100, 30), (100, 170)], fill=0, width=14)
    image.save(tmp_path / "one.png")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import digitpad, sys; print(digitpad.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert str(venv) in where.stdout, where.stdout  # the wheel's copy, not the checkout
    script = venv / ("Scripts" if os.name == "nt" else "bin") / "digitpad"
    done = subprocess.run([str(script), "predict", "--json", "one.png"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    assert record["path"] == "one.png" and record["digit"] == 1 and not record["blank"]


@pytest.mark.slow
def test_sdist_carries_resources(tmp_path: Path) -> None:
    import tarfile

    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path),
                    str(REPO)], check=True, capture_output=True, timeout=600)
    sdist = next(tmp_path.glob("digitpad-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in ("resources/mnist.npz", "resources/digitpad-cnn.keras", "resources/digitpad.svg",
                 "pyproject.toml", "README.md", "digitpad/cli.py"):
        assert name in names
