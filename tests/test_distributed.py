"""Training under a tf.distribute strategy, on the CPU split into two logical devices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    from digitpad.ml.backend import load_keras
    load_keras()
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    from digitpad.ml.training import make_strategy, train
    from digitpad.ml.config import TrainConfig
    strategy = make_strategy("mirrored")
    print("replicas", strategy.num_replicas_in_sync)
    batches = []
    result = train(TrainConfig(epochs=1, limit=1024, validation=256, strategy="mirrored",
                               precision="float32"), on_batch=batches.append)
    print("batches", len(batches))
    print("loss", result.history[0].loss)
    print("val_accuracy", result.history[0].val_accuracy)
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["replicas"] == "2"
    assert lines["batches"] == "8"
    assert float(lines["loss"]) > 0 and float(lines["val_accuracy"]) > 0.2


def test_unknown_strategy_is_refused() -> None:
    from digitpad.errors import ConfigError
    from digitpad.ml.config import TrainConfig

    with pytest.raises(ConfigError, match="strategy"):
        TrainConfig(strategy="tpu").check()
