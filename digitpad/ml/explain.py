"""What every layer of the tutorial CNN computes for one drawing, and why it answered.

The computational core of the Inside tab and ``digitpad explain``: plain NumPy
arrays from :class:`digitpad.ml.fastpath.NumpyCNN` (no TensorFlow, no Qt), in
Keras' own layout (height, width, channels) so each map is the same number
Keras computes. An :class:`Explainer` is made once per model and is
stateless after that, so a worker thread can call it for every drawing. Its
attribution maps run with BLAS on one thread (:mod:`digitpad.ml.blas`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from digitpad.ml.blas import one_blas_thread
from digitpad.ml.fastpath import NumpyCNN
from digitpad.ml.gradients import softmax
from digitpad.ml import saliency as attribution
from digitpad.ml.occlusion import occlusion
from digitpad.ml.saliency import Contrast, integrated_gradients, make_contrast, top_two

# (name, output shape without the batch axis, parameter count), in the order the data flows.
LAYERS: tuple[tuple[str, tuple[int, ...], int], ...] = (
    ("input", (28, 28, 1), 0),
    ("conv1", (28, 28, 32), 5 * 5 * 1 * 32 + 32),
    ("pool1", (14, 14, 32), 0),
    ("conv2", (14, 14, 64), 5 * 5 * 32 * 64 + 64),
    ("pool2", (7, 7, 64), 0),
    ("dense", (1024,), 3136 * 1024 + 1024),
    ("logits", (10,), 1024 * 10 + 10),
    ("softmax", (10,), 0),
)


def layers() -> list[dict[str, Any]]:
    """``[{name, shape, params}]`` for each layer shown; the params add up to 3,274,634."""
    return [{"name": name, "shape": list(shape), "params": params} for name, shape, params in LAYERS]


@dataclass(frozen=True)
class Conv1Arithmetic:
    """How one conv1 output is computed: ReLU(sum(patch * kernel) + bias)."""

    patch: np.ndarray  # (5, 5) input pixels around (row, col), zeros outside the image
    kernel: np.ndarray  # (5, 5) the channel's filter
    products: np.ndarray  # (5, 5) patch * kernel
    bias: float
    total: float  # products.sum() + bias, before ReLU
    output: float  # max(total, 0): the feature map's value at (row, col)


@dataclass(frozen=True)
class Why:
    """The three "why this answer?" maps for one drawing, all ``(28, 28)`` float32."""

    digit: int
    probabilities: np.ndarray  # (10,)
    saliency: np.ndarray  # Integrated Gradients of the predicted class's logit
    occlusion: np.ndarray  # drop in the predicted class's probability when a patch is hidden
    contrast: Contrast  # why the top class and not the runner-up


class Explainer:
    """Feature maps, conv1 arithmetic and attribution maps of one tutorial-CNN model."""

    def __init__(self, weights: Sequence[np.ndarray] | NumpyCNN) -> None:
        self.net = weights if isinstance(weights, NumpyCNN) else NumpyCNN(list(weights))

    @staticmethod
    def layers() -> list[dict[str, Any]]:
        return layers()

    def feature_maps(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output for one float32 ``(28, 28)`` image in [0, 1], keyed as :data:`LAYERS`."""
        x = _image(image)
        with one_blas_thread():
            act = self.net.activations(x)
        maps = {"input": x[:, :, None]}
        maps.update({name: value[0] for name, value in act.items()})
        maps["softmax"] = softmax(maps["logits"])
        return maps

    def conv1_filters(self) -> np.ndarray:
        """The 32 conv1 kernels, ``(5, 5, 32)``."""
        return self.net.weights[0][:, :, 0, :]

    def conv1_arithmetic(self, image: np.ndarray, channel: int, row: int, col: int) -> Conv1Arithmetic:
        """The numbers behind ``feature_maps(image)["conv1"][row, col, channel]``."""
        if not (0 <= channel < 32 and 0 <= row < 28 and 0 <= col < 28):
            raise IndexError(f"no conv1 output at channel {channel}, row {row}, column {col}")
        padded = np.pad(_image(image), 2)
        patch = padded[row:row + 5, col:col + 5].copy()
        kernel = self.conv1_filters()[:, :, channel].copy()
        products = patch * kernel
        bias = float(self.net.weights[1][channel])
        total = float(products.sum(dtype=np.float64) + bias)
        return Conv1Arithmetic(patch, kernel, products, bias, total, max(total, 0.0))

    def saliency(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """Integrated Gradients of ``logit_target`` (default: the predicted class), ``(28, 28)``."""
        with one_blas_thread():
            return attribution.saliency(self.net, _image(image), target)

    def occlusion(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """Drop in ``target``'s probability (default: the predicted class) as a patch hides each place."""
        with one_blas_thread():
            return occlusion(self.net, _image(image), target)

    def contrast(self, image: np.ndarray, classes: tuple[int, int] | None = None) -> Contrast:
        """Why ``a`` and not ``b`` (default: the top two classes)."""
        with one_blas_thread():
            return attribution.contrast(self.net, _image(image), classes)

    def why(self, image: np.ndarray) -> Why:
        """Saliency, occlusion and contrast for the predicted class, with BLAS on one thread."""
        with one_blas_thread():
            return why_maps(self.net, image)


def why_maps(net: NumpyCNN, image: np.ndarray) -> Why:
    """Saliency, occlusion and contrast for the predicted class; one IG pass serves two maps.

    Runs with whatever BLAS threads are set; :meth:`Explainer.why` is this on one thread.
    """
    x = _image(image)
    logits = net.logits(x)[0]
    classes = top_two(logits)
    maps = integrated_gradients(net, x, list(classes))
    return Why(classes[0], softmax(logits), maps[0], occlusion(net, x, classes[0]), make_contrast(classes, maps))


def dense_mosaic(dense: np.ndarray) -> np.ndarray:
    """The 1024 dense activations as a 32x32 picture (unit i at row i // 32, column i % 32)."""
    return np.asarray(dense).reshape(32, 32)


def tile(maps: np.ndarray, columns: int, gap: int = 1, fill: float = np.nan) -> np.ndarray:
    """Lay ``(h, w, c)`` maps out as one 2-D grid, ``columns`` wide, row by row; ``fill`` between."""
    height, width, count = maps.shape
    rows = -(-count // columns)
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), fill, np.float32)
    for k in range(count):
        r, c = divmod(k, columns)
        out[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = maps[:, :, k]
    return out


def _image(image: np.ndarray) -> np.ndarray:
    x = np.asarray(image, np.float32)
    if x.size != 784:
        raise ValueError(f"expected a 28x28 image, got shape {x.shape}")
    return x.reshape(28, 28)
