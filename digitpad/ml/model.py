"""The CNN of the original TensorFlow MNIST tutorial, in Keras 3.

conv 5x5x32 -> pool -> conv 5x5x64 -> pool -> dense 1024 -> dropout -> 10 logits.
Two fixes over the seed: Glorot/He initialisers instead of a stddev-1 normal,
and dropout that is active only in training (Keras' Dropout does exactly that).
"""

from __future__ import annotations

from typing import Any

ARCHITECTURE = "tf-tutorial-cnn"
PARAMETERS = 3_274_634
INPUT_SHAPE = (28, 28, 1)
CLASSES = 10
DROPOUT_RATE = 0.2  # the seed's keep probability 0.8


def build_model(dtype: str = "float32", name: str = "digitpad_cnn") -> Any:
    """Return an uncompiled model that maps ``(N, 28, 28, 1)`` floats to 10 logits.

    ``dtype`` is a Keras dtype policy name ("float32" or "mixed_bfloat16");
    the last layer always computes in float32 so logits and loss stay exact.
    """
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(32, 5, padding="same", activation="relu",
                          kernel_initializer="he_normal", dtype=dtype, name="conv1"),
            layers.MaxPooling2D(2, dtype=dtype, name="pool1"),
            layers.Conv2D(64, 5, padding="same", activation="relu",
                          kernel_initializer="he_normal", dtype=dtype, name="conv2"),
            layers.MaxPooling2D(2, dtype=dtype, name="pool2"),
            layers.Flatten(dtype=dtype, name="flatten"),
            layers.Dense(1024, activation="relu", kernel_initializer="he_normal",
                         dtype=dtype, name="dense"),
            layers.Dropout(DROPOUT_RATE, dtype=dtype, name="dropout"),
            layers.Dense(CLASSES, kernel_initializer="glorot_uniform",
                         dtype="float32", name="logits"),
        ],
        name=name,
    )


def compile_model(model: Any, learning_rate: Any = 1e-3, jit_compile: bool | str = "auto") -> Any:
    """Compile with Adam (fused update, same maths) and softmax cross-entropy on logits."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.optimizer import fused_adam

    keras = load_keras()

    model.compile(
        optimizer=fused_adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model


ROTATION = 10 / 360  # of a full turn: +-10 degrees
ZOOM = 0.1
SHIFT = 0.1  # of the side


def augmentation(seed: int | None = None, elastic: float = 0.0) -> Any:
    """Random rotation, zoom and shift (plus elastic distortion when ``elastic`` > 0), for training batches only.

    ``elastic`` is Simard et al.'s alpha (34 is typical; the field is smoothed
    with ``augment.ELASTIC_SIGMA``); then all four are one displacement field
    and one resampling, which keeps strokes sharper than four resamplings would.
    """
    import math

    from digitpad.ml.augment import elastic_layer
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    from keras import layers

    if elastic > 0:
        stages = [elastic_layer(elastic, seed=seed, rotation=2 * math.pi * ROTATION, zoom=ZOOM, shift=SHIFT)]
    else:
        stages = [
            layers.RandomRotation(ROTATION, fill_mode="constant", seed=seed),
            layers.RandomZoom(ZOOM, fill_mode="constant", seed=seed),
            layers.RandomTranslation(SHIFT, SHIFT, fill_mode="constant", seed=seed),
        ]
    return keras.Sequential(stages, name="augmentation")


def inference_copy(model: Any) -> Any:
    """Return a float32, uncompiled copy of ``model`` with the same weights.

    Used for saving (no optimizer state, loads as float32 anywhere) and for
    inference after mixed-precision training.
    """
    copy = build_model("float32", name=model.name)
    copy.set_weights(model.get_weights())
    return copy
