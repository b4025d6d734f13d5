"""Test-set evaluation: accuracy, loss and the 10x10 confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    loss: float
    confusion: np.ndarray  # (10, 10) int64; rows = true digit, columns = predicted
    predicted: np.ndarray  # (N,) predicted digit per test image
    labels: np.ndarray  # (N,) true digit per test image

    def misclassified(self) -> np.ndarray:
        """Indices of the test images the model got wrong."""
        return np.flatnonzero(self.predicted != self.labels)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of test images of digit ``true`` read as ``predicted``."""
        return np.flatnonzero((self.labels == true) & (self.predicted == predicted))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    flat = labels.astype(np.int64) * classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def evaluate_probabilities(probs: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Score class probabilities ``(N, 10)`` against the true labels."""
    labels = np.asarray(labels).astype(np.int64)
    predicted = np.argmax(probs, axis=1)
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)
    return Evaluation(
        accuracy=float(np.mean(predicted == labels)),
        loss=float(-np.mean(np.log(picked))),
        confusion=confusion_matrix(labels, predicted),
        predicted=predicted,
        labels=labels,
    )


def evaluate(predictor: Any, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Evaluate a ``Predictor`` on uint8 ``(N, 28, 28)`` images."""
    probs = predictor.probabilities(images.astype(np.float32) / 255.0)
    return evaluate_probabilities(probs, labels)


def format_confusion(confusion: np.ndarray) -> str:
    """The matrix as aligned text: rows are true digits, columns predictions."""
    width = max(4, len(str(int(confusion.max()))) + 1)
    head = "true\\pred" + "".join(f"{d:>{width}}" for d in range(confusion.shape[1]))
    rows = [f"{t:>9}" + "".join(f"{v:>{width}}" for v in row) for t, row in enumerate(confusion)]
    return "\n".join([head, *rows])
