"""The NumPy forward pass: same answers as TensorFlow, or not used at all; other models stay on TensorFlow."""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from digitpad.contracts import ModelInfo
from digitpad.contracts import Predictor as PredictorProtocol
from digitpad.ml.backend import load_keras
from digitpad.ml.data import load_mnist
from digitpad.ml.fastpath import MAX_BATCH, NumpyCNN, build_fast_path, matches_plan
from digitpad.ml.inference import Predictor, load_predictor, load_tensorflow_predictor
from digitpad.ml.numpy_predictor import TENSORFLOW_FROM, TENSORFLOW_LOADED_FROM, NumpyPredictor
from digitpad.resources import bundled_model


@pytest.fixture(scope="module")
def bundled() -> Predictor:
    return load_tensorflow_predictor()


@pytest.fixture(scope="module")
def numpy_bundled() -> NumpyPredictor:
    predictor = load_predictor()
    assert isinstance(predictor, NumpyPredictor)
    return predictor


def _tf_probabilities(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    return predictor._probs(np.asarray(images, np.float32).reshape(-1, 28, 28, 1)).numpy()


def test_bundled_model_takes_the_fast_path(bundled: Predictor) -> None:
    assert matches_plan(bundled.model)
    assert bundled.fast_path


def test_same_probabilities_as_tensorflow_on_mnist_test(bundled: Predictor, numpy_bundled: NumpyPredictor) -> None:
    data = load_mnist()
    images = data.x_test[:600].astype(np.float32) / 255.0
    fast = NumpyCNN(bundled.model.get_weights())
    ours = np.concatenate([fast.probabilities(images[i:i + 6]) for i in range(0, 600, 6)])
    theirs = _tf_probabilities(bundled, images)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert np.mean(ours.argmax(1) == data.y_test[:600]) > 0.98
    np.testing.assert_allclose(numpy_bundled.probabilities(images[:100]), ours[:100], rtol=0, atol=1e-6)


def test_the_numpy_predictor_behaves_like_the_tensorflow_one(bundled: Predictor,
                                                             numpy_bundled: NumpyPredictor) -> None:
    assert isinstance(numpy_bundled, PredictorProtocol) and numpy_bundled.fast_path
    assert numpy_bundled.info == bundled.info
    drawings = list(load_mnist().x_test[:20]) + [np.zeros((28, 28), np.uint8), np.full((50, 50), 255, np.uint8)]
    ours, theirs = numpy_bundled.predict_many(drawings), bundled.predict_many(drawings)
    assert [p.digit for p in ours] == [p.digit for p in theirs]
    assert [p.blank for p in ours] == [p.blank for p in theirs] and ours[-2].blank and ours[-1].blank
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(a.image, b.image)
    one = numpy_bundled.predict(drawings[0])
    assert one.digit == ours[0].digit and numpy_bundled.predict_prepared(one.image).digit == one.digit
    assert numpy_bundled.probabilities(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
    assert numpy_bundled.probabilities([one.image, one.image]).shape == (2, 10)  # a list, as the CLI passes


def test_many_images_take_little_memory(numpy_bundled: NumpyPredictor) -> None:
    images = np.random.default_rng(0).random((256, 28, 28), dtype=np.float32)
    tracemalloc.start()
    try:
        probs = numpy_bundled.probabilities(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert probs.shape == (256, 10)
    assert peak < 60 * 2**20, f"{peak / 2**20:.0f} MiB"  # one chunk's scratch, not 256 images' at once


def test_big_batches_go_to_tensorflow_only_once_the_model_is_loaded_there(bundled: Predictor) -> None:
    predictor = load_predictor()
    assert isinstance(predictor, NumpyPredictor) and "tensorflow" in sys.modules  # the bundled fixture
    images = load_mnist().x_test[:TENSORFLOW_LOADED_FROM].astype(np.float32) / 255.0
    on_numpy = predictor.probabilities(images)
    np.testing.assert_array_equal(on_numpy, NumpyPredictor(predictor.numpy_cnn, predictor.info).probabilities(images))
    for ours, theirs in zip(predictor.model.get_weights(), bundled.model.get_weights()):  # loads it
        np.testing.assert_array_equal(ours, theirs)
    on_tensorflow = predictor.probabilities(images)
    np.testing.assert_allclose(on_tensorflow, _tf_probabilities(bundled, images), rtol=0, atol=1e-6)
    assert np.abs(on_tensorflow - on_numpy).max() > 0  # another computation...
    np.testing.assert_allclose(on_tensorflow, on_numpy, rtol=0, atol=1e-5)  # ...with the same answers
    assert TENSORFLOW_LOADED_FROM < TENSORFLOW_FROM


def test_a_different_architecture_stays_on_tensorflow() -> None:
    keras = load_keras()
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    predictor = Predictor(model, ModelInfo(path="", name="flat"))
    assert not matches_plan(model) and not predictor.fast_path
    probs = predictor.probabilities(np.zeros((1, 28, 28), np.float32))
    assert probs.shape == (1, 10) and np.isclose(probs.sum(), 1.0)


def test_a_model_file_of_another_architecture_loads_through_tensorflow(tmp_path: Path) -> None:
    """Even with a (borrowed) probe in its metadata, a model that is not the tutorial CNN goes to TensorFlow."""
    keras = load_keras()
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "flat.keras"
    model.save(path)
    meta = json.loads(bundled_model().with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({"name": "flat", "outputs": "logits", "probe": meta["probe"]}))
    predictor = load_predictor(path)
    assert isinstance(predictor, Predictor) and not predictor.fast_path and predictor.info.name == "flat"
    images = load_mnist().x_test[:3].astype(np.float32) / 255.0
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(images.reshape(-1, 28, 28, 1))))
    np.testing.assert_allclose(predictor.probabilities(images), expected, rtol=0, atol=1e-6)


def test_a_disagreeing_reference_disables_the_fast_path(bundled: Predictor) -> None:
    assert build_fast_path(bundled.model, lambda x: np.full((len(x), 10), 0.1, np.float32)) is None
    assert build_fast_path(bundled.model, lambda x: _tf_probabilities(bundled, x)) is not None


def test_changed_layer_settings_are_not_the_plan() -> None:
    from digitpad.ml.model import build_model

    model = build_model()
    assert matches_plan(model)
    keras = load_keras()
    layers = keras.layers
    other = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 5, padding="same", activation="tanh"),  # the only difference
        layers.MaxPooling2D(2), layers.Conv2D(64, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(1024, activation="relu"),
        layers.Dropout(0.2), layers.Dense(10),
    ])
    assert not matches_plan(other)
