"""The NumPy forward pass for single drawings: same answers as TensorFlow, or not used at all."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ml.backend import load_keras
from digitpad.ml.data import load_mnist
from digitpad.ml.fastpath import MAX_BATCH, NumpyCNN, build_fast_path, matches_plan
from digitpad.ml.inference import Predictor, load_predictor
from digitpad.contracts import ModelInfo


@pytest.fixture(scope="module")
def bundled() -> Predictor:
    return load_predictor()


def _tf_probabilities(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    return predictor._probs(np.asarray(images, np.float32).reshape(-1, 28, 28, 1)).numpy()


def test_bundled_model_takes_the_fast_path(bundled: Predictor) -> None:
    assert matches_plan(bundled.model)
    assert bundled.fast_path


def test_same_probabilities_as_tensorflow_on_mnist_test(bundled: Predictor) -> None:
    data = load_mnist()
    images = data.x_test[:600].astype(np.float32) / 255.0
    fast = NumpyCNN(bundled.model.get_weights())
    ours = np.concatenate([fast.probabilities(images[i:i + 6]) for i in range(0, 600, 6)])
    theirs = _tf_probabilities(bundled, images)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert np.mean(ours.argmax(1) == data.y_test[:600]) > 0.98


def test_small_batches_use_numpy_and_large_ones_tensorflow(bundled: Predictor, monkeypatch) -> None:
    images = load_mnist().x_test[:MAX_BATCH + 1].astype(np.float32) / 255.0
    calls: list[int] = []
    original = NumpyCNN.probabilities

    def counting(self, x):
        calls.append(len(x))
        return original(self, x)

    monkeypatch.setattr(NumpyCNN, "probabilities", counting)
    small = bundled.probabilities(images[:1])
    large = bundled.probabilities(images)
    assert calls == [1]
    np.testing.assert_allclose(small[0], large[0], rtol=0, atol=1e-5)
    assert bundled.probabilities(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


def test_a_different_architecture_stays_on_tensorflow() -> None:
    keras = load_keras()
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    predictor = Predictor(model, ModelInfo(path="", name="flat"))
    assert not matches_plan(model) and not predictor.fast_path
    probs = predictor.probabilities(np.zeros((1, 28, 28), np.float32))
    assert probs.shape == (1, 10) and np.isclose(probs.sum(), 1.0)


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
