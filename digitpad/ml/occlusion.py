"""Occlusion sensitivity (Zeiler & Fergus 2014): how much the answer drops when a patch of ink is hidden.

Every hidden copy goes through the network, in batches. A patch changes conv2
only near itself, so conv2 (two thirds of the arithmetic) is computed just in
a window around the patch and the rest is taken from the unhidden drawing;
the result is the same as a full forward pass (tests compare with one).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitpad.ml.fastpath import NumpyCNN
from digitpad.ml.gradients import softmax

PATCH = 4  # patch side, px
STRIDE = 2  # px between patch positions
CHUNK = 64  # hidden copies per batch


def occlusion(net: NumpyCNN, image: np.ndarray, target: int | None = None, patch: int = PATCH,
              stride: int = STRIDE) -> np.ndarray:
    """Drop in ``target``'s probability when a ``patch`` x ``patch`` square is blanked, ``(28, 28)``.

    The square slides with ``stride`` (the last position touches the edge);
    each pixel gets the mean drop of the squares that cover it (negative:
    hiding it makes the class more likely). ``target`` defaults to the
    predicted class. A square over no ink changes nothing, so its drop is 0
    without a pass.
    """
    if not 0 < stride <= patch <= 28:
        raise ValueError(f"patch {patch} with stride {stride} leaves pixels uncovered")
    x = np.asarray(image, np.float32).reshape(28, 28)
    base = net.activations(x)
    probs = softmax(base["logits"][0])
    target = int(np.argmax(probs)) if target is None else int(target)
    corners = [(r, c) for r in starts(patch, stride) for c in starts(patch, stride)]
    inked = [(r, c) for r, c in corners if x[r:r + patch, c:c + patch].any()]
    drops = dict.fromkeys(corners, 0.0)
    for first in range(0, len(inked), CHUNK):
        part = inked[first:first + CHUNK]
        hidden = softmax(hidden_logits(net, x, base["conv2"][0], part, patch))[:, target]
        drops.update({corner: float(probs[target] - p) for corner, p in zip(part, hidden)})
    return _spread(drops, patch)


def starts(patch: int, stride: int) -> list[int]:
    """Patch positions along one axis: every ``stride`` px, and one flush with the far edge."""
    positions = list(range(0, 28 - patch + 1, stride))
    return positions if positions[-1] == 28 - patch else positions + [28 - patch]


def hidden_logits(net: NumpyCNN, image: np.ndarray, conv2: np.ndarray, corners: list[tuple[int, int]],
                  patch: int) -> np.ndarray:
    """Logits ``(n, 10)`` of ``image`` with a blank patch at each corner; ``conv2`` is the image's own."""
    k1, b1, k2, b2, w3, b3, w4, b4 = net.weights
    n = len(corners)
    batch = np.repeat(image[None], n, axis=0)
    for k, (r, c) in enumerate(corners):
        batch[k, r:r + patch, c:c + patch] = 0.0
    conv1 = _conv5_relu(np.pad(batch[..., None], ((0, 0), (2, 2), (2, 2), (0, 0))), k1, b1)
    pool1 = np.pad(_pool(conv1), ((0, 0), (2, 2), (2, 2), (0, 0)))  # conv2's zero padding
    size = min(14, max(_reach(r, patch)[1] - _reach(r, patch)[0] + 1 for r in range(2)))
    origins = [(_origin(r, patch, size), _origin(c, patch, size)) for r, c in corners]
    windows = np.stack([pool1[k, r:r + size + 4, c:c + size + 4] for k, (r, c) in enumerate(origins)])
    local = _conv5_relu(windows, k2, b2)
    out = np.repeat(conv2[None], n, axis=0)
    for k, (r, c) in enumerate(origins):
        out[k, r:r + size, c:c + size] = local[k]
    dense = np.maximum(_pool(out).reshape(n, 3136) @ w3 + b3, 0.0)
    return dense @ w4 + b4


def _reach(start: int, patch: int) -> tuple[int, int]:
    """First and last conv2 row (unclipped) that a patch over input rows [start, start + patch) changes."""
    first_pool1 = (start - 2) // 2  # conv1 reaches 2 px beyond the patch, pooling halves
    last_pool1 = (start + patch - 1 + 2) // 2
    return first_pool1 - 2, last_pool1 + 2  # conv2 reaches 2 cells beyond


def _origin(start: int, patch: int, size: int) -> int:
    """Where a ``size``-cell conv2 window that covers the patch's reach begins, inside the 14 cells."""
    return min(max(_reach(start, patch)[0], 0), 14 - size)


def _conv5_relu(padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A 5x5 valid convolution of already padded ``(n, h + 4, w + 4, c)`` input, plus bias and ReLU."""
    n, height, width, channels = padded.shape
    height, width = height - 4, width - 4
    windows = sliding_window_view(padded, (5, 5), axis=(1, 2))  # (n, h, w, c, 5, 5)
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * height * width, 25 * channels)
    out = np.maximum(columns @ kernel.reshape(25 * channels, -1) + bias, 0.0)
    return out.reshape(n, height, width, -1)


def _pool(x: np.ndarray) -> np.ndarray:
    n, height, width, channels = x.shape
    return x.reshape(n, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))


def _spread(drops: dict[tuple[int, int], float], patch: int) -> np.ndarray:
    total = np.zeros((28, 28), np.float64)
    count = np.zeros((28, 28), np.float64)
    for (r, c), drop in drops.items():
        total[r:r + patch, c:c + patch] += drop
        count[r:r + patch, c:c + patch] += 1
    return (total / count).astype(np.float32)
