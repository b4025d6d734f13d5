"""Per-class accuracy, precision, recall and F1 from a confusion matrix.

NumPy only (no TensorFlow), so the run history, the CLI and the Train tab's
evaluation view can all use it. Rows of the matrix are true digits, columns
predictions, as in :func:`digitpad.ml.evaluation.confusion_matrix`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def per_class_metrics(confusion: Any) -> dict[str, list[Any]]:
    """Per class (index = digit): ``accuracy``, ``precision``, ``recall``, ``f1`` and ``support``.

    ``accuracy`` is the one-vs-rest accuracy ``(TP + TN) / N`` of "is it this
    digit?", so it differs from ``recall`` (the share of this digit's images
    read correctly). A ratio with nothing to divide by (no image of the digit,
    or the digit never predicted) is None rather than NaN, so the result is
    valid JSON. ``support`` is the number of test images of each digit.
    """
    matrix = np.asarray(confusion, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {matrix.shape}")
    total = int(matrix.sum())
    tp = np.diag(matrix)
    actual = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    tn = total - actual - predicted + tp
    precision = [_ratio(t, p) for t, p in zip(tp, predicted)]
    recall = [_ratio(t, a) for t, a in zip(tp, actual)]
    f1 = [None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
          for p, r in zip(precision, recall)]
    return {
        "accuracy": [_ratio(t + n, total) for t, n in zip(tp, tn)],
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": [int(a) for a in actual],
    }


def _ratio(num: Any, den: Any) -> float | None:
    return float(num) / float(den) if den else None
