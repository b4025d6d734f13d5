"""The bundled model: size, metadata, and its accuracy on the MNIST test set."""

from __future__ import annotations

import json

import pytest

from digitpad.ml.data import load_mnist
from digitpad.ml.evaluation import evaluate
from digitpad.ml.inference import load_predictor
from digitpad.resources import bundled_model


def test_bundled_model_file_and_metadata() -> None:
    path = bundled_model()
    assert path.stat().st_size <= 14_000_000
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["architecture"] == "tf-tutorial-cnn"
    assert meta["hyperparameters"]["augment"] is True
    assert meta["test_accuracy"] >= 0.993
    assert meta["data_sha256"] == load_mnist().sha256


@pytest.mark.slow
def test_bundled_model_reaches_99_3_percent_on_mnist_test() -> None:
    data = load_mnist()
    predictor = load_predictor()
    assert predictor.info.bundled
    result = evaluate(predictor, data.x_test, data.y_test)
    assert result.accuracy >= 0.993
    meta_accuracy = predictor.info.test_accuracy
    assert meta_accuracy is not None and abs(result.accuracy - meta_accuracy) < 1e-4
