"""Prediction with a model file: NumPy for the tutorial CNN, TensorFlow for anything else.

``load_predictor`` first tries ``numpy_predictor`` (no TensorFlow import; the
model's recorded probe must match), and otherwise loads the model with Keras
into ``Predictor``: a traced function, warmed up at load time. The plain types
both return live in ``digitpad.contracts``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from digitpad.contracts import ModelInfo
from digitpad.ml.fastpath import MAX_BATCH, NumpyCNN, build_fast_path
from digitpad.ml.numpy_predictor import ImagePredictor, NumpyPredictor, load_detector, load_numpy_predictor


class Predictor(ImagePredictor):
    """Wraps a loaded Keras model; thread-safe for one caller at a time."""

    def __init__(self, model: Any, info: ModelInfo, outputs_logits: bool = True) -> None:
        from digitpad.ml.backend import load_keras

        load_keras()
        import tensorflow as tf

        self.model = model
        self.info = info
        spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)

        @tf.function(input_signature=[spec])
        def _probs(x: Any) -> Any:
            y = tf.cast(model(x, training=False), tf.float32)
            return tf.nn.softmax(y) if outputs_logits else y

        self._probs = _probs
        self._fast: NumpyCNN | None = None
        self.probabilities(np.zeros((1, 28, 28), np.float32))  # trace + warm up now
        # Single drawings take the NumPy copy of the forward pass when the model is
        # the tutorial CNN and agrees with TensorFlow; see digitpad.ml.fastpath.
        self._fast = build_fast_path(model, lambda x: _probs(x).numpy()) if outputs_logits else None
        self.detector = load_detector(info) if self._fast is not None else None  # not-a-digit, needs features

    @property
    def fast_path(self) -> bool:
        """True when small batches run on the NumPy forward pass."""
        return self._fast is not None

    @property
    def numpy_cnn(self) -> NumpyCNN | None:
        """The NumPy copy of the forward pass, when the model is the tutorial CNN."""
        return self._fast

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities ``(N, 10)`` for float images ``(N, 28, 28)`` in [0, 1]."""
        x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
        if self._fast is not None and 0 < len(x) <= MAX_BATCH:
            return self._fast.probabilities(x)
        parts = [self._probs(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)


def load_predictor(path: str | Path | None = None) -> Predictor | NumpyPredictor:
    """Load a model file (default: the bundled one) for prediction.

    A tutorial-CNN file whose recorded probe the NumPy pass reproduces gets a
    ``NumpyPredictor`` and TensorFlow is not imported; any other model gets a
    warmed-up TensorFlow ``Predictor``.
    """
    fast = load_numpy_predictor(path, tensorflow=lambda: load_tensorflow_predictor(path))
    return fast if fast is not None else load_tensorflow_predictor(path)


def load_tensorflow_predictor(path: str | Path | None = None) -> Predictor:
    """Load a model file with Keras (``safe_mode``) and return a warmed-up TensorFlow Predictor."""
    from digitpad.ml.storage import load_model

    model, info = load_model(path)
    return Predictor(model, info, outputs_logits=info.metadata.get("outputs", "logits") == "logits")
