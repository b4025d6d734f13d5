"""A Predictor for tutorial-CNN models that runs on NumPy alone: no TensorFlow import at all.

``load_numpy_predictor`` reads the weights with ``keras_reader`` and accepts
the model only when it answers the probe recorded in its metadata as the
saved model did (``probe``); otherwise it returns None and the caller loads
the model with TensorFlow. Images go through the network in small chunks, so a
thousand of them need a few tens of MB, not gigabytes.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from digitpad.contracts import ModelInfo, Prediction, blank_prediction
from digitpad.errors import ModelError
from digitpad.ml.fastpath import NumpyCNN
from digitpad.ml.keras_reader import NotTutorialCNN, read_tutorial_weights
from digitpad.ml.novelty import features_and_logits, prediction
from digitpad.ml.probe import probe_matches
from digitpad.ml.storage import read_metadata
from digitpad.resources import bundled_model

log = logging.getLogger(__name__)

CHUNK = 32  # images per NumPy pass: about 25 MB of scratch memory
# TensorFlow is faster per image on large batches, but loading the model into it takes about a
# second and importing it several (benchmarks/bench_numpy_loader.py). So a batch goes to TensorFlow
# only when it is imported anyway, and only when large enough to pay for what is still to load:
TENSORFLOW_FROM = 5000  # images, while the model is not yet loaded into TensorFlow
TENSORFLOW_LOADED_FROM = 128  # images, once it is (``model`` loads it too)


class ImagePredictor:
    """``predict``, ``predict_many`` and ``predict_prepared`` on top of a ``probabilities`` method."""

    info: ModelInfo

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        raise NotImplementedError

    def predict(self, source: Any) -> Prediction:
        """Classify one image (path, PIL image or array) the way MNIST was made."""
        return self.predict_many([source])[0]

    def predict_many(self, sources: Sequence[Any] | Iterable[Any]) -> list[Prediction]:
        """Classify many images in one batch; blank images get a blank prediction, marks that are
        not digits (the model's novelty detector, or too little ink) a not-a-digit one."""
        from digitpad.imaging import load_image, prepare, too_little_ink

        sources = [load_image(s) if isinstance(s, (str, os.PathLike)) else s for s in sources]  # decode once
        prepared = [prepare(s) for s in sources]
        inked = [i for i, p in enumerate(prepared) if not p.blank]
        results = [blank_prediction(p.image) for p in prepared]
        if inked:
            rejected, probs = self.judge(np.stack([prepared[i].image for i in inked]))
            for row, i in enumerate(inked):
                results[i] = prediction(probs[row], prepared[i].image, bool(rejected[row]) or too_little_ink(sources[i]))
        return results

    def predict_prepared(self, image: np.ndarray) -> Prediction:
        """Classify one already-normalised 28x28 image."""
        return self.predict_prepared_many(image[np.newaxis])[0]

    def predict_prepared_many(self, images: np.ndarray) -> list[Prediction]:
        """Classify already-normalised 28x28 images in one batch, each with its not-a-digit verdict
        (number mode reads every digit of a number this way)."""
        images = np.asarray(images, np.float32)
        if not len(images):
            return []
        rejected, probs = self.judge(images)
        return [prediction(p, image, bool(r)) for p, image, r in zip(probs, images, rejected)]

    def judge(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(not a digit per image, calibrated probabilities), from the model's detector where it has one."""
        detector, cnn = getattr(self, "detector", None), getattr(self, "numpy_cnn", None)
        if detector is None or cnn is None:
            return np.zeros(len(images), bool), self.probabilities(images)
        features, logits = features_and_logits(cnn, images, CHUNK)
        return detector.assess(features, logits)


def load_detector(info: ModelInfo) -> Any:
    """The not-a-digit detector fitted for this model file, or None (none fitted, or stale)."""
    from digitpad.ml.novelty import load_detector as load

    try:
        return load(info.path) if info.path else None
    except ModelError as exc:
        log.warning("%s", exc)
        return None


class NumpyPredictor(ImagePredictor):
    """Reads digits with a ``NumpyCNN``; thread-safe for one caller at a time.

    ``tensorflow`` (optional) builds the TensorFlow Predictor of the same file
    on first use: for ``model`` (fine-tuning needs the Keras model) and for
    large batches once TensorFlow is imported anyway, where it is faster.
    """

    def __init__(self, cnn: NumpyCNN, info: ModelInfo, tensorflow: Callable[[], Any] | None = None) -> None:
        self.numpy_cnn = cnn
        self.info = info
        self.detector = load_detector(info)
        self._make_tensorflow = tensorflow
        self._tensorflow: Any = None
        self._lock = threading.Lock()

    @property
    def fast_path(self) -> bool:
        """Always True: every batch size runs on NumPy unless TensorFlow is loaded and faster."""
        return True

    @property
    def model(self) -> Any:
        """The Keras model of the same file, loaded (with TensorFlow) on first use."""
        return self._tensorflow_predictor().model

    def _tensorflow_predictor(self) -> Any:
        with self._lock:
            if self._tensorflow is None:
                if self._make_tensorflow is None:
                    raise ModelError(f"{self.info.path}: no TensorFlow model for this predictor")
                self._tensorflow = self._make_tensorflow()
            return self._tensorflow

    def _tensorflow_is_faster(self, count: int) -> bool:
        if self._make_tensorflow is None or "tensorflow" not in sys.modules:
            return False
        return count >= (TENSORFLOW_FROM if self._tensorflow is None else TENSORFLOW_LOADED_FROM)

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities ``(N, 10)`` for float images ``(N, 28, 28)`` in [0, 1].

        NumPy works through at most ``min(batch_size, CHUNK)`` images at a time.
        """
        x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
        if self._tensorflow_is_faster(len(x)):
            return np.asarray(self._tensorflow_predictor().probabilities(x, batch_size), np.float32)
        step = max(1, min(int(batch_size), CHUNK))
        out = np.empty((len(x), 10), np.float32)
        for start in range(0, len(x), step):
            out[start:start + step] = self.numpy_cnn.probabilities(x[start:start + step])
        return out


def load_numpy_predictor(path: str | Path | None = None,
                         tensorflow: Callable[[], Any] | None = None) -> NumpyPredictor | None:
    """A NumpyPredictor for a tutorial-CNN model file (default: the bundled one), or None.

    None means "use TensorFlow": the metadata has no probe, the model is of
    another architecture or does not output logits, or the NumPy pass does not
    reproduce the recorded probe. A missing, malformed or hostile file raises
    a one-line ``ModelError``.
    """
    path = Path(path) if path is not None else bundled_model()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras .keras model file")
    metadata = read_metadata(path)
    if metadata.get("outputs", "logits") != "logits" or "probe" not in metadata:
        return None
    try:
        cnn = NumpyCNN(read_tutorial_weights(path))
    except NotTutorialCNN:
        return None
    if not probe_matches(cnn, metadata["probe"]):
        return None
    metadata.setdefault("outputs", "logits")
    return NumpyPredictor(cnn, model_info(path, metadata), tensorflow)


def model_info(path: Path, metadata: dict[str, Any]) -> ModelInfo:
    """What the app shows about a model file, from its metadata (as ``storage.load_model`` builds it)."""
    accuracy = metadata.get("test_accuracy")
    return ModelInfo(
        path=str(path),
        name=str(metadata.get("name") or path.stem),
        test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        date=metadata.get("date"),
        bundled=path.resolve() == bundled_model().resolve(),
        metadata=metadata,
    )
