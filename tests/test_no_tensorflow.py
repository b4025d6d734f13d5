"""Reading digits with a tutorial-CNN model never imports TensorFlow: `digitpad predict` and load_predictor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A "7" drawn with a fat pen on a white 280x280 canvas, as the app saves drawings."""
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    pen.line([(70, 60), (210, 60), (120, 230)], fill=0, width=18, joint="curve")
    path = tmp_path_factory.mktemp("drawings") / "seven.png"
    image.save(path)
    return path


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=REPO, env=env)


def test_digitpad_predict_reads_a_drawing_without_tensorflow(seven: Path) -> None:
    done = _python("-X", "importtime", "-m", "digitpad", "predict", str(seven))
    assert done.returncode == 0, done.stderr[-2000:]
    path, digit, confidence = done.stdout.strip().split("\t")
    assert path == str(seven) and digit == "7" and float(confidence) > 0.9
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "h5py" in imported  # the weights were read here...
    assert not {name for name in imported if name.split(".")[0] in ("tensorflow", "keras")}  # ...without TF


def test_load_predictor_reads_a_drawing_without_tensorflow(seven: Path) -> None:
    snippet = (
        "import json, sys\n"
        "from digitpad.ml.inference import load_predictor\n"
        "predictor = load_predictor()\n"
        f"prediction = predictor.predict({str(seven)!r})\n"
        "many = predictor.predict_many([prediction.image * 255, __import__('numpy').zeros((28, 28))])\n"
        "print(json.dumps({'type': type(predictor).__name__, 'digit': prediction.digit,\n"
        "                  'many': [p.digit for p in many], 'bundled': predictor.info.bundled,\n"
        "                  'loaded': sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)}))\n"
    )
    done = _python("-c", snippet)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"type": "NumpyPredictor", "digit": 7, "many": [7, None], "bundled": True, "loaded": []}
