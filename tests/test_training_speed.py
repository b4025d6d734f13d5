"""The fused Adam update (the same numbers as Keras' Adam, from one kernel call) and the input pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ml.backend import load_keras
from digitpad.ml.optimizer import fused_adam


def _run(optimizer, steps: int, compiled: bool):
    keras = load_keras()
    import tensorflow as tf

    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=shape).astype("float32"))
                 for shape in [(7, 5), (5,), (3, 3, 2, 4)]]
    grads = [[rng.normal(size=v.shape).astype("float32") for v in variables] for _ in range(steps)]
    optimizer.build(variables)

    def apply(gs):
        optimizer.apply_gradients(zip(gs, variables))

    step = tf.function(apply) if compiled else apply
    for gs in grads:
        step([tf.constant(g) for g in gs])
    state = [v.numpy() for v in variables]
    state += [m.numpy() for m in optimizer._momentums] + [v.numpy() for v in optimizer._velocities]
    return state


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("schedule", [False, True])
def test_same_numbers_as_keras_adam(compiled: bool, schedule: bool) -> None:
    keras = load_keras()

    def rate():
        if schedule:
            return keras.optimizers.schedules.ExponentialDecay(3e-2, decay_steps=2, decay_rate=0.5)
        return 3e-2

    ours = _run(fused_adam(rate()), steps=6, compiled=compiled)
    theirs = _run(keras.optimizers.Adam(rate()), steps=6, compiled=compiled)
    assert len(ours) == len(theirs) == 9
    for a, b in zip(ours, theirs):
        # float32 round-off only: each step moves a weight by up to 3e-2
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=5e-6)
    assert not np.allclose(ours[0], _run(keras.optimizers.Adam(rate()), steps=1, compiled=False)[0])


def test_update_is_one_fused_kernel() -> None:
    keras = load_keras()
    import tensorflow as tf

    variable = keras.Variable(np.ones((4, 4), "float32"))
    optimizer = fused_adam(1e-3)
    optimizer.build([variable])

    @tf.function
    def step(g):
        optimizer.apply_gradients([(g, variable)])

    graph = step.get_concrete_function(tf.TensorSpec((4, 4), tf.float32)).graph
    names = {op.type for op in graph.get_operations()}
    names |= {node.op for f in graph._functions.values() for node in f.cached_definition.node_def}
    assert "ResourceApplyAdam" in names
    assert "Sqrt" not in names  # Keras' own Adam would take a square root op by op


def test_amsgrad_falls_back_to_keras_maths() -> None:
    keras = load_keras()

    ours = _run(fused_adam(1e-2, amsgrad=True), steps=3, compiled=False)
    theirs = _run(keras.optimizers.Adam(1e-2, amsgrad=True), steps=3, compiled=False)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_input_pipeline_has_no_autotuner_and_one_private_thread() -> None:
    """Ending an autotuned iterator waited seconds for the autotuner's thread at every epoch."""
    from digitpad.ml.data import load_mnist
    from digitpad.ml.training import make_datasets
    from digitpad.ml.config import TrainConfig

    train, val, n = make_datasets(TrainConfig(limit=512, validation=256), load_mnist())
    assert n == 512
    for dataset in (train, val):
        options = dataset.options()
        assert options.autotune.enabled is False
        assert options.threading.private_threadpool_size == 1
    x, y = next(iter(train))
    assert x.shape == (128, 28, 28, 1) and y.shape == (128,)
