"""Saving and loading models: round trip, metadata, atomic writes, refusing bad files."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitpad.errors import ModelError
from digitpad.ml.inference import load_predictor
from digitpad.ml.model import build_model
from digitpad.ml.storage import load_model, metadata_path, save_model, write_atomic


@pytest.fixture(scope="module")
def model():
    net = build_model("mixed_bfloat16")
    net(np.zeros((1, 28, 28, 1), np.float32))
    return net


def test_round_trip_gives_identical_predictions(tmp_path: Path, model) -> None:
    path = save_model(model, tmp_path / "m.keras", {"name": "test model", "test_accuracy": 0.5})
    loaded, info = load_model(path)
    x = np.random.default_rng(1).random((8, 28, 28, 1), dtype=np.float32)
    reference = build_model("float32")
    reference.set_weights(model.get_weights())
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), reference(x, training=False).numpy())
    assert all(layer.dtype_policy.name == "float32" for layer in loaded.layers)
    assert info.name == "test model" and info.test_accuracy == 0.5
    assert json.loads(metadata_path(path).read_text())["name"] == "test model"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_saved_file_has_no_optimizer_state(tmp_path: Path, model) -> None:
    from digitpad.ml.model import compile_model

    compile_model(model)
    path = save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(path) as archive:
        assert not any("optimizer" in name for name in archive.namelist())
    assert path.stat().st_size < 14_000_000
    assert path.stat().st_mode & 0o044  # readable by others like any saved file


def test_predictor_probabilities_sum_to_one(tmp_path: Path, model) -> None:
    predictor = load_predictor(save_model(model, tmp_path / "m.keras"))
    probs = predictor.probabilities(np.zeros((3, 28, 28), np.float32))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_text_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.keras"
    path.write_text("hello")
    with pytest.raises(ModelError, match="not a Keras"):
        load_model(path)


def test_truncated_model_is_refused(tmp_path: Path, model) -> None:
    good = save_model(model, tmp_path / "good.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError):
        load_model(bad)


def test_zip_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    with pytest.raises(ModelError, match="could not load model"):
        load_model(path)


def test_wrong_input_shape_is_refused(tmp_path: Path) -> None:
    import keras

    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "cifar.keras"
    other.save(path)
    with pytest.raises(ModelError, match="not a digitpad model"):
        load_model(path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.keras")


def test_save_refuses_bad_targets(tmp_path: Path, model) -> None:
    with pytest.raises(ModelError, match="end in .keras"):
        save_model(model, tmp_path / "m.h5")
    with pytest.raises(ModelError, match="does not exist"):
        save_model(model, tmp_path / "missing" / "m.keras")


def test_failed_save_keeps_the_old_file(tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_model(model, tmp_path / "m.keras", {"name": "old"})
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ModelError, match="No space left"):
        save_model(model, path, {"name": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert json.loads(metadata_path(path).read_text())["name"] == "old"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
