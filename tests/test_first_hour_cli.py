"""Issue #17, "the first hour": the command-line and data items.

Covered elsewhere exactly: item 1 (a non-npz file is "not an .npz file or a folder of MNIST
IDX files", never a hint to load unsafely) in tests/test_data.py::test_missing_and_unreadable_files;
item 8's loader half in tests/test_data.py::test_evaluation_needs_only_the_test_files. The GUI
items are in tests/ui/test_first_hour.py.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from digitpad.cli import main
from digitpad.ml.data import load_mnist
from digitpad.ml.storage import build_metadata

ROOT = Path(__file__).resolve().parent.parent


def _result(epochs: int) -> SimpleNamespace:
    """What build_metadata reads from a TrainResult."""
    return SimpleNamespace(history=[], config=SimpleNamespace(as_dict=lambda: {"epochs": epochs}),
                           policy="float32", epochs_run=epochs,
                           stopped=False, stop_point=None, train_images=55000, data_sha256="")


def test_item5_new_models_are_named_by_date_epochs_and_accuracy() -> None:
    two = build_metadata(_result(2), SimpleNamespace(accuracy=0.9651, loss=0.1))["name"]
    one = build_metadata(_result(1), SimpleNamespace(accuracy=0.9512, loss=0.2))["name"]
    assert re.fullmatch(r"CNN \d{4}-\d\d-\d\d \d\d:\d\d · 2 epochs · 96\.5 %", two), two
    assert re.fullmatch(r"CNN \d{4}-\d\d-\d\d \d\d:\d\d · 1 epoch · 95\.1 %", one), one
    assert build_metadata(_result(2), name="my sevens")["name"] == "my sevens"  # renamed when saved


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, np.uint8).tobytes())


def test_item8_evaluate_a_folder_with_only_the_test_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mnist = load_mnist()
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", mnist.x_test[:300])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", mnist.y_test[:300])
    assert main(["evaluate", "--data", str(tmp_path)]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.err == "" and "errors " in captured.out and " of 300" in captured.out


@pytest.mark.parametrize("args", [
    ["predict", "missing.png"],
    ["predict", "--number", "missing.png"],
    ["explain", "missing.png"],
    ["train", "--data", "missing.npz"],
    ["evaluate", "--data", "missing.npz"],
    ["evaluate", "--model", "missing.keras"],
])
def test_item9_a_missing_path_is_named_once(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(ROOT)
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    missing = next(a for a in args if a.startswith("missing"))
    assert len(err.splitlines()) == 1 and err.count(missing) == 1, err
