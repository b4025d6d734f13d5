"""The tutorial CNN's forward pass in NumPy, for one drawing at a time.

A TensorFlow call for one 28x28 image spends most of its time waking the
intra-op threads, and more so when they have slept between strokes, as they do
in the GUI (measured: 1.8 ms back to back, 3.3 ms after 10 ms idle). The same
arithmetic as two small matrix products in NumPy takes 0.5 / 1.2 ms.
It is used only for a model with exactly this architecture whose answers match
TensorFlow's on test inputs at load time; anything else stays on TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitpad.ml.probe import TOLERANCE, probe_images

MAX_BATCH = 8  # larger batches go to TensorFlow, which uses both cores well for them

PLAN = (  # (layer class, config that must match); weights follow the same order
    ("Conv2D", {"filters": 32, "kernel_size": (5, 5), "strides": (1, 1), "padding": "same",
                "activation": "relu", "data_format": "channels_last", "dilation_rate": (1, 1),
                "groups": 1, "use_bias": True}),
    ("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid",
                      "data_format": "channels_last"}),
    ("Conv2D", {"filters": 64, "kernel_size": (5, 5), "strides": (1, 1), "padding": "same",
                "activation": "relu", "data_format": "channels_last", "dilation_rate": (1, 1),
                "groups": 1, "use_bias": True}),
    ("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid",
                      "data_format": "channels_last"}),
    ("Flatten", {"data_format": "channels_last"}),
    ("Dense", {"units": 1024, "activation": "relu", "use_bias": True}),
    ("Dropout", {}),
    ("Dense", {"units": 10, "activation": "linear", "use_bias": True}),
)
WEIGHT_SHAPES = ((5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (3136, 1024), (1024,), (1024, 10), (10,))


class NumpyCNN:
    """Logits of the tutorial CNN for float32 images ``(N, 28, 28)`` in [0, 1]."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        arrays = [np.ascontiguousarray(w, np.float32) for w in weights]
        if [a.shape for a in arrays] != list(WEIGHT_SHAPES):
            raise ValueError(f"not the tutorial CNN's weights: shapes {[a.shape for a in arrays]}")
        k1, b1, k2, b2, w3, b3, w4, b4 = arrays
        self.weights = [k1, b1, k2, b2, w3, b3, w4, b4]  # Keras shapes, e.g. conv1 kernel (5, 5, 1, 32)
        self._k1, self._b1 = k1.reshape(25, 32), b1
        self._k2, self._b2 = k2.reshape(800, 64), b2
        self._w3, self._b3, self._w4, self._b4 = w3, b3, w4, b4

    def activations(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output for float32 images ``(N, 28, 28)``, keyed by the Keras layer name."""
        x = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
        n = len(x)
        conv1 = _conv5_relu(x, self._k1, self._b1)  # (n, 28, 28, 32)
        pool1 = conv1.reshape(n, 14, 2, 14, 2, 32).max(axis=(2, 4))
        conv2 = _conv5_relu(pool1, self._k2, self._b2)  # (n, 14, 14, 64)
        pool2 = conv2.reshape(n, 7, 2, 7, 2, 64).max(axis=(2, 4))
        dense = np.maximum(pool2.reshape(n, 3136) @ self._w3 + self._b3, 0.0)
        logits = dense @ self._w4 + self._b4
        return {"conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2,
                "dense": dense, "logits": logits}

    def features(self, images: np.ndarray) -> np.ndarray:
        """The dense-1024 activations ``(N, 1024)``: the space look-alikes and novelty use."""
        return self.activations(images)["dense"]

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.activations(images)["logits"]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        z = self.logits(images)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _conv5_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A 5x5, stride-1, "same" convolution plus bias and ReLU, as one matrix product."""
    n, height, width, channels = x.shape
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    windows = sliding_window_view(padded, (5, 5), axis=(1, 2))  # (n, h, w, c, 5, 5)
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * height * width, 25 * channels)
    out = np.maximum(columns @ kernel + bias, 0.0)
    return out.reshape(n, height, width, -1)


def matches_plan(model: Any) -> bool:
    """True when ``model`` is exactly the tutorial CNN (layer kinds and settings)."""
    layers = list(getattr(model, "layers", []))
    if len(layers) != len(PLAN):
        return False
    for layer, (kind, wanted) in zip(layers, PLAN):
        if type(layer).__name__ != kind or plan_mismatch(layer.get_config(), wanted):
            return False
    return True


def plan_mismatch(config: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """The first setting of a layer ``config`` that differs from ``wanted``, or None.

    Settings Keras leaves out of a config count as their defaults (``groups``
    1, ``use_bias`` true), as Keras itself reads them.
    """
    defaults = {"groups": 1, "use_bias": True}
    for key, value in wanted.items():
        got = config.get(key, defaults.get(key))
        got = tuple(got) if isinstance(got, list) else got
        if got != value:
            return f"{key} {got!r}"
    return None


def build_fast_path(model: Any, reference: Any) -> NumpyCNN | None:
    """A NumpyCNN for ``model`` if it is the tutorial CNN and agrees with ``reference``.

    ``reference`` maps float32 images ``(N, 28, 28, 1)`` to probabilities (the
    TensorFlow path); it is checked on blank, random and stroke-like inputs.
    """
    if not matches_plan(model):
        return None
    try:
        fast = NumpyCNN([np.asarray(w) for w in model.get_weights()])
    except (ValueError, TypeError):
        return None
    images = probe_images()
    expected = np.asarray(reference(images.reshape(-1, 28, 28, 1)))
    if not np.allclose(fast.probabilities(images), expected, rtol=0.0, atol=TOLERANCE):
        return None
    return fast
