"""The tutorial CNN's backward pass in NumPy: d logits / d input for a batch of drawings.

The forward pass keeps what the backward pass needs (ReLU masks, the max-pool
winners); the backward pass then runs the layers in reverse: dense layers as
matrix products, ReLU as a mask, max-pooling by sending each gradient to the
window's first maximum (as TensorFlow's MaxPoolGrad does), and each 5x5 "same"
convolution as the transpose of its im2col product (col2im). It is exact for
the network's piecewise-linear function, so it matches tf.GradientTape to
float32 rounding (tests/test_explain.py), without loading TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitpad.ml.fastpath import NumpyCNN


@dataclass(frozen=True)
class Trace:
    """One forward pass of a batch, with what its backward pass needs."""

    conv1: np.ndarray  # (n, 28, 28, 32) after ReLU
    pool1: np.ndarray  # (n, 14, 14, 32)
    pool1_winner: np.ndarray  # (n, 14, 14, 32) index 0-3 of the max in each 2x2 window
    conv2: np.ndarray  # (n, 14, 14, 64) after ReLU
    pool2: np.ndarray  # (n, 7, 7, 64)
    pool2_winner: np.ndarray  # (n, 7, 7, 64)
    dense: np.ndarray  # (n, 1024) after ReLU
    logits: np.ndarray  # (n, 10)

    @property
    def probabilities(self) -> np.ndarray:
        return softmax(self.logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def forward(net: NumpyCNN, images: np.ndarray) -> Trace:
    """The forward pass of float32 images ``(n, 28, 28)`` (NumpyCNN's own), plus the pool winners."""
    act = net.activations(images)
    return Trace(act["conv1"], act["pool1"], _winners(act["conv1"]), act["conv2"], act["pool2"],
                 _winners(act["conv2"]), act["dense"], act["logits"])


def input_gradients(net: NumpyCNN, trace: Trace, seeds: np.ndarray) -> np.ndarray:
    """Gradients of ``seeds . logits`` with respect to the input, ``(n, s, 28, 28)``.

    ``seeds`` is ``(n, s, 10)``: ``s`` output directions per image, e.g. a
    one-hot row for d logit_c / d input, or ``e_a - e_b`` for
    d (logit_a - logit_b) / d input. All ``s`` share the forward pass.
    """
    k1, _, k2, _, w3, _, w4, _ = net.weights
    seeds = np.asarray(seeds, np.float32)
    n, s = seeds.shape[:2]
    # Flat 2-D products: a batched (n, s, k) @ (k, m) would stream the weights once per image.
    grad = (seeds.reshape(n * s, 10) @ w4.T).reshape(n, s, 1024)  # d dense
    grad = grad * (trace.dense > 0)[:, None]
    grad = (grad.reshape(n * s, 1024) @ w3.T).reshape(n, s, 7, 7, 64)  # d pool2
    grad = _unpool(grad, trace.pool2_winner) * (trace.conv2 > 0)[:, None]  # d conv2 pre-activation
    grad = _conv5_transpose(grad, k2.reshape(800, 64))  # d pool1: (n, s, 14, 14, 32)
    grad = _unpool(grad, trace.pool1_winner) * (trace.conv1 > 0)[:, None]  # d conv1 pre-activation
    grad = _conv5_transpose(grad, k1.reshape(25, 32))  # d input: (n, s, 28, 28, 1)
    return grad[..., 0]


def class_gradient(net: NumpyCNN, images: np.ndarray, target: int | np.ndarray) -> np.ndarray:
    """d logit_target / d input for images ``(n, 28, 28)``: ``(n, 28, 28)``."""
    trace = forward(net, images)
    seeds = np.zeros((len(trace.logits), 1, 10), np.float32)
    seeds[np.arange(len(seeds)), 0, target] = 1.0
    return input_gradients(net, trace, seeds)[:, 0]


def _winners(x: np.ndarray) -> np.ndarray:
    """Row-major index (0-3) of the first maximum in each 2x2 pooling window of ``(n, h, w, c)``."""
    n, height, width, channels = x.shape
    windows = x.reshape(n, height // 2, 2, width // 2, 2, channels).transpose(0, 1, 3, 5, 2, 4)
    windows = windows.reshape(n, height // 2, width // 2, channels, 4)
    return windows.argmax(axis=-1).astype(np.int8)


def _unpool(grad: np.ndarray, winner: np.ndarray) -> np.ndarray:
    """Route ``(n, s, h, w, c)`` pooled gradients to the winners: ``(n, s, 2h, 2w, c)``."""
    n, s, height, width, channels = grad.shape
    choice = winner[:, None, :, :, :, None] == np.arange(4, dtype=np.int8)  # (n, 1, h, w, c, 4)
    spread = np.where(choice, grad[..., None], np.float32(0.0))
    spread = spread.reshape(n, s, height, width, channels, 2, 2).transpose(0, 1, 2, 5, 3, 6, 4)
    return spread.reshape(n, s, 2 * height, 2 * width, channels)


def _conv5_transpose(grad: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The transpose of a 5x5 "same" im2col convolution: ``(n, s, h, w, out)`` -> ``(n, s, h, w, in)``."""
    n, s, height, width, _ = grad.shape
    channels = kernel.shape[0] // 25
    columns = (grad.reshape(-1, grad.shape[-1]) @ kernel.T).reshape(n * s, height, width, 5, 5, channels)
    padded = np.zeros((n * s, height + 4, width + 4, channels), np.float32)
    for i in range(5):
        for j in range(5):
            padded[:, i:i + height, j:j + width] += columns[:, :, :, i, j]
    return padded[:, 2:2 + height, 2:2 + width].reshape(n, s, height, width, channels)
