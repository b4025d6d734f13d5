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
    conv2: np.ndarray  # (n, 14, 14, 64) after ReLU
    pool2: np.ndarray  # (n, 7, 7, 64)
    dense: np.ndarray  # (n, 1024) after ReLU
    logits: np.ndarray  # (n, 10)
    route1: np.ndarray  # (n, 28, 28, 32) 1.0 where conv1 passes a gradient: first max of its window, > 0
    route2: np.ndarray  # (n, 14, 14, 64) the same for conv2

    @property
    def probabilities(self) -> np.ndarray:
        return softmax(self.logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def forward(net: NumpyCNN, images: np.ndarray) -> Trace:
    """The forward pass of float32 images ``(n, 28, 28)`` (NumpyCNN's own), plus the gradient routes."""
    act = net.activations(images)
    return Trace(act["conv1"], act["pool1"], act["conv2"], act["pool2"], act["dense"], act["logits"],
                 _route(act["conv1"], act["pool1"]), _route(act["conv2"], act["pool2"]))


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
    grad = _unpool(grad, trace.route2)  # d conv2 pre-activation (max-pool and ReLU)
    grad = _conv5_transpose(grad, k2)  # d pool1: (n, s, 14, 14, 32)
    grad = _unpool(grad, trace.route1)  # d conv1 pre-activation
    grad = _conv5_transpose(grad, k1)  # d input: (n, s, 28, 28, 1)
    return grad[..., 0]


def class_gradient(net: NumpyCNN, images: np.ndarray, target: int | np.ndarray) -> np.ndarray:
    """d logit_target / d input for images ``(n, 28, 28)``: ``(n, 28, 28)``."""
    trace = forward(net, images)
    seeds = np.zeros((len(trace.logits), 1, 10), np.float32)
    seeds[np.arange(len(seeds)), 0, target] = 1.0
    return input_gradients(net, trace, seeds)[:, 0]


def _route(conv: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """1.0 at each 2x2 window's first maximum in row-major order (TensorFlow's choice on ties) when it
    is positive (ReLU passes it), else 0.0: where max-pooling and ReLU send a gradient."""
    n, height, width, channels = conv.shape
    top = pooled[:, :, None, :, None, :]
    hit = conv.reshape(n, height // 2, 2, width // 2, 2, channels) == top  # (n, h/2, dy, w/2, dx, c)
    route = np.zeros(hit.shape, np.float32)
    taken = np.zeros((n, height // 2, width // 2, channels), bool)
    for dy in (0, 1):
        for dx in (0, 1):
            first = hit[:, :, dy, :, dx] & ~taken
            route[:, :, dy, :, dx] = first
            taken |= first
    route *= top > 0
    return route.reshape(n, height, width, channels)


def _unpool(grad: np.ndarray, route: np.ndarray) -> np.ndarray:
    """Send ``(n, s, h, w, c)`` pooled gradients back along ``route`` ``(n, 2h, 2w, c)``."""
    n, s, height, width, channels = grad.shape
    spread = grad[:, :, :, None, :, None, :] * route.reshape(n, 1, height, 2, width, 2, channels)
    return spread.reshape(n, s, 2 * height, 2 * width, channels)


def _conv5_transpose(grad: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The transpose of a 5x5 "same" convolution with Keras kernel ``(5, 5, in, out)``.

    ``(n, s, h, w, out)`` -> ``(n, s, h, w, in)``: each of the 25 kernel taps
    sends ``grad @ tap.T`` back to the input pixels it read (col2im). With many
    input channels that is 25 small products (little memory traffic); with one
    input channel, one product and 25 slice additions.
    """
    n, s, height, width, out = grad.shape
    channels = kernel.shape[2]
    flat = grad.reshape(-1, out)
    padded = np.zeros((n * s, height + 4, width + 4, channels), np.float32)
    if channels == 1:
        columns = (flat @ kernel.reshape(25, out).T).reshape(n * s, height, width, 5, 5)
        for i in range(5):
            for j in range(5):
                padded[:, i:i + height, j:j + width, 0] += columns[:, :, :, i, j]
    else:
        for i in range(5):
            for j in range(5):
                padded[:, i:i + height, j:j + width] += (flat @ kernel[i, j].T).reshape(n * s, height, width, channels)
    return padded[:, 2:2 + height, 2:2 + width].reshape(n, s, height, width, channels)
