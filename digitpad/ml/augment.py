"""Elastic distortions (Simard, Steinkraus & Platt 2003) as TensorFlow ops.

A random displacement field (uniform in [-1, 1] per pixel and axis) is smoothed
with a Gaussian of ``sigma`` pixels, scaled by ``alpha`` and used to resample
the image bilinearly: strokes bend and wobble as in different handwriting while
the digit stays where it is. Everything is plain TensorFlow (no tfa), so it runs
inside the tf.data map of :func:`digitpad.ml.training.make_datasets`, on
batches ``(N, 28, 28, 1)`` float32 in [0, 1]; pixels sampled from outside the
image are 0 (paper).
"""

from __future__ import annotations

import math
from typing import Any

ELASTIC_SIGMA = 6.0  # px, as Ciresan et al. 2010; Simard's 4 px bends too many digits out of their class


def gaussian_kernel(sigma: float) -> Any:
    """A normalised 1-D Gaussian, truncated at 3 sigma (at most 27 px either side)."""
    import tensorflow as tf

    radius = min(27, max(1, math.ceil(3 * sigma)))
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    k = tf.exp(-0.5 * tf.square(x / sigma))
    return k / tf.reduce_sum(k)


def smooth(field: Any, sigma: float) -> Any:
    """Gaussian-blur each channel of ``(N, H, W, C)`` separably (depthwise convs, reflected edges)."""
    import tensorflow as tf

    k = gaussian_kernel(sigma)
    radius = (int(k.shape[0]) - 1) // 2
    channels = int(field.shape[-1])
    rows = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, channels, 1))
    cols = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, channels, 1))
    # REFLECT needs the pad to be smaller than the side: 28 px images allow radius 27.
    padded = tf.pad(field, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    out = tf.nn.depthwise_conv2d(padded, rows, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depthwise_conv2d(out, cols, strides=[1, 1, 1, 1], padding="VALID")


def warp(images: Any, dy: Any, dx: Any) -> Any:
    """Sample ``images`` ``(N, H, W, C)`` at ``(y + dy, x + dx)`` bilinearly; 0 outside.

    ``dy`` and ``dx`` are ``(N, H, W)`` displacements in pixels.
    """
    import tensorflow as tf

    shape = tf.shape(images)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    grid_y, grid_x = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
    sy, sx = grid_y[None] + dy, grid_x[None] + dx
    y0, x0 = tf.floor(sy), tf.floor(sx)
    fy, fx = (sy - y0)[..., None], (sx - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    flat = tf.reshape(images, (n, h * w, c))

    def corner(yi: Any, xi: Any) -> Any:
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        index = tf.clip_by_value(yi, 0, h - 1) * w + tf.clip_by_value(xi, 0, w - 1)
        values = tf.gather(flat, tf.reshape(index, (n, -1)), batch_dims=1)
        values = tf.reshape(values, (n, h, w, c))
        return values * tf.cast(inside, images.dtype)[..., None]

    top = corner(y0, x0) * (1 - fx) + corner(y0, x0 + 1) * fx
    bottom = corner(y0 + 1, x0) * (1 - fx) + corner(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def affine_field(shape: Any, rotation: float, zoom: float, shift: float, seed: Any) -> tuple[Any, Any]:
    """Displacements ``(dy, dx)``, each ``(N, H, W)``, of a random rotation, zoom and shift about the centre.

    Per image: angle uniform in +-``rotation`` radians, scale in 1 +- ``zoom``,
    shift in +-``shift`` of the side (as Keras' RandomRotation/Zoom/Translation).
    """
    import tensorflow as tf

    n, h, w = shape[0], shape[1], shape[2]
    u = tf.random.stateless_uniform(tf.stack([n, 4]), seed=seed, minval=-1.0, maxval=1.0)
    angle, scale = u[:, 0] * rotation, 1.0 + u[:, 1] * zoom
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    ty, tx = u[:, 2] * shift * hf, u[:, 3] * shift * wf
    grid_y, grid_x = tf.meshgrid(tf.range(hf) - (hf - 1) / 2, tf.range(wf) - (wf - 1) / 2, indexing="ij")
    cos, sin = (tf.reshape(f(angle), (-1, 1, 1)) for f in (tf.cos, tf.sin))
    scale, ty, tx = (tf.reshape(v, (-1, 1, 1)) for v in (scale, ty, tx))
    sy = scale * (cos * grid_y[None] - sin * grid_x[None]) - ty
    sx = scale * (sin * grid_y[None] + cos * grid_x[None]) - tx
    return sy - grid_y[None], sx - grid_x[None]


def elastic_distort(images: Any, alpha: float, sigma: float = ELASTIC_SIGMA, seed: Any = (0, 0),
                    rotation: float = 0.0, zoom: float = 0.0, shift: float = 0.0) -> Any:
    """Elastically distort a batch ``(N, H, W, C)`` float32; the same ``seed`` (2 ints) gives the same result.

    With ``rotation``/``zoom``/``shift`` the random affine map is folded into the
    same displacement field, so each image is resampled once (each bilinear
    resampling blurs strokes a little more). All zero returns the images unchanged.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    if alpha == 0 and rotation == 0 and zoom == 0 and shift == 0:
        return images
    shape = tf.shape(images)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
    field = tf.random.stateless_uniform(tf.stack([shape[0], shape[1], shape[2], 2]), seed=seeds[0],
                                        minval=-1.0, maxval=1.0)
    field = smooth(field, sigma) * alpha
    dy, dx = field[..., 0], field[..., 1]
    if rotation or zoom or shift:
        ay, ax = affine_field(shape, rotation, zoom, shift, seeds[1])
        dy, dx = dy + ay, dx + ax
    return warp(images, dy, dx)


def elastic_layer(alpha: float, sigma: float = ELASTIC_SIGMA, seed: int | None = None, rotation: float = 0.0,
                  zoom: float = 0.0, shift: float = 0.0) -> Any:
    """A Keras layer that distorts training batches (and passes others through).

    Its seed generator advances once per call, so a run with a fixed ``seed``
    sees the same fields in the same order.
    """
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    class ElasticDistortion(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(name="elastic", **kwargs)
            self.options = dict(alpha=float(alpha), sigma=float(sigma), rotation=float(rotation),
                                zoom=float(zoom), shift=float(shift))
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs: Any, training: bool = True) -> Any:
            if not training:
                return inputs
            return elastic_distort(inputs, seed=self.seed_generator.next(), **self.options)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    return ElasticDistortion()
