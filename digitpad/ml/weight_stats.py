"""Per-layer weight histograms after each epoch, for the Train tab's Weights page.

Plain NumPy on the weights Keras already holds: no extra TensorFlow graph and
nothing traced. One histogram per layer's kernel (conv1, conv2, dense,
logits), not per bias: the biases are 0.03 % of the weights, the logits' ten
make no histogram worth the name, and TensorBoard (``tensorboard_log``) logs
every weight and gradient anyway. The bins are ``np.histogram``'s, so what the
page draws is exactly what NumPy says.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from digitpad.contracts import EpochEnd, EpochHook, WeightHistogram

BINS = 40


def histogram(layer: str, values: Any, bins: int = BINS) -> WeightHistogram:
    """The histogram of the finite ``values`` in ``bins`` equal bins from their min to their max."""
    flat = np.asarray(values).ravel()
    finite = np.isfinite(flat)
    if not finite.all():  # a diverged run: draw what is left, never fail the epoch
        flat = flat[finite]
    if flat.size == 0:
        return WeightHistogram(layer, math.nan, math.nan, (0,) * bins)
    counts, edges = np.histogram(flat, bins=bins)
    return WeightHistogram(layer, float(edges[0]), float(edges[-1]), tuple(int(c) for c in counts))


def layer_histograms(model: Any, bins: int = BINS) -> tuple[WeightHistogram, ...]:
    """One histogram per layer that has a kernel, in the model's layer order."""
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    return tuple(histogram(layer.name, keras.ops.convert_to_numpy(layer.kernel), bins)
                 for layer in model.layers if getattr(layer, "kernel", None) is not None)


def with_histograms(on_epoch: EpochHook, bins: int = BINS) -> tuple[EpochHook, Any]:
    """``on_epoch`` wrapped to receive each EpochEnd with the model's histograms, and the callback that lends the model.

    Pass the callback to ``training.train(callbacks=...)``: Keras hands it the
    model when ``fit`` starts, and the wrapped hook reads the weights through
    it when digitpad's progress hook reports the epoch (the weights are those
    the epoch ended with: no callback changes them at an epoch's end).
    """
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    source = keras.callbacks.Callback()  # only for the model Keras sets on it

    def epoch(end: EpochEnd) -> None:
        model = source.model
        histograms = layer_histograms(model, bins) if model is not None else ()
        on_epoch(dataclasses.replace(end, histograms=histograms))

    return epoch, source
