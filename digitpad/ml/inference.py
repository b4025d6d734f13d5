"""Fast prediction with a loaded model: a traced function, warmed up at load time.

The plain types it returns live in ``digitpad.contracts``; only ``Predictor``
touches Keras, and only when built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from digitpad.contracts import ModelInfo, Prediction, blank_prediction, from_probabilities
from digitpad.ml.fastpath import MAX_BATCH, NumpyCNN, build_fast_path

class Predictor:
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

    @property
    def fast_path(self) -> bool:
        """True when small batches run on the NumPy forward pass."""
        return self._fast is not None

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities ``(N, 10)`` for float images ``(N, 28, 28)`` in [0, 1]."""
        x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
        if self._fast is not None and 0 < len(x) <= MAX_BATCH:
            return self._fast.probabilities(x)
        parts = [self._probs(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)

    def predict(self, source: Any) -> Prediction:
        """Classify one image (path, PIL image or array) the way MNIST was made."""
        return self.predict_many([source])[0]

    def predict_many(self, sources: Sequence[Any] | Iterable[Any]) -> list[Prediction]:
        """Classify many images in one batch; blank images get a blank prediction."""
        from digitpad.imaging import prepare

        prepared = [prepare(s) for s in sources]
        inked = [i for i, p in enumerate(prepared) if not p.blank]
        probs = self.probabilities(np.stack([prepared[i].image for i in inked])) if inked else None
        results = [blank_prediction(p.image) for p in prepared]
        for row, i in enumerate(inked):
            results[i] = from_probabilities(probs[row], prepared[i].image)
        return results

    def predict_prepared(self, image: np.ndarray) -> Prediction:
        """Classify one already-normalised 28x28 image."""
        return from_probabilities(self.probabilities(image[np.newaxis])[0], image)


def load_predictor(path: str | Path | None = None) -> Predictor:
    """Load a model file (default: the bundled one) and return a warmed-up Predictor."""
    from digitpad.ml.storage import load_model

    model, info = load_model(path)
    return Predictor(model, info, outputs_logits=info.metadata.get("outputs", "logits") == "logits")
