"""Training under tf.distribute: two logical CPU devices (mirrored), and two worker
processes on localhost that train one model together (multiworker)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

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


# What ``digitpad train --strategy multiworker`` does, step by step: the strategy
# first (before anything starts TensorFlow's context), then train and evaluate,
# then save where this worker's save_target says.
WORKER = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from digitpad.ml import distribute
    distribute.prepare("multiworker")
    from digitpad.ml.config import TrainConfig
    from digitpad.ml.session import KerasTrainer
    out = sys.argv[1]
    config = TrainConfig(epochs=1, limit=int(sys.argv[2]), validation=0, batch_size=64, strategy="multiworker")
    trainer = KerasTrainer(name="two workers")
    outcome = trainer.run(config)
    with distribute.save_target(out) as target:
        trainer.save(outcome, target)
        saved = os.stat(target)
    print(json.dumps({"chief": distribute.is_chief(), "target": str(target),
                      "inode": saved.st_ino, "mtime": saved.st_mtime_ns,
                      "weights": hashlib.sha256(b"".join(w.tobytes() for w in outcome.result.model.get_weights()))
                      .hexdigest(),
                      "loss": outcome.result.history[0].loss, "accuracy": outcome.evaluation.accuracy,
                      "images": outcome.result.train_images}))
    """
)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_two_workers_on_localhost_train_one_model(tmp_path: Path) -> None:
    out = tmp_path / "shared" / "model.keras"
    out.parent.mkdir()
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    procs, logs = [], []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CONFIG": json.dumps(tf_config)}
        # Output to files, not pipes: a worker blocked on a full pipe would stall the other one too.
        log = tmp_path / f"worker{index}"
        logs.append(log)
        with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
            procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(out), "1024"], env=env,
                                          stdout=stdout, stderr=stderr))
    reports = []
    try:
        for proc, log in zip(procs, logs):
            proc.wait(timeout=240)
            assert proc.returncode == 0, Path(f"{log}.err").read_text()[-3000:]
            reports.append(json.loads(Path(f"{log}.out").read_text().strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    chief, other = reports
    assert chief["chief"] is True and other["chief"] is False
    assert chief["weights"] == other["weights"]  # one model trained together, not two runs
    assert chief["images"] == other["images"] == 1024
    # The chief's file is the one on disk, untouched since it wrote it; the other
    # worker saved into a temporary folder that is gone.
    assert Path(chief["target"]) == out
    assert Path(other["target"]).parent != out.parent and not Path(other["target"]).parent.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.json", "model.keras"]
    now = out.stat()
    assert (now.st_ino, now.st_mtime_ns) == (chief["inode"], chief["mtime"])

    from digitpad.ml.data import load_mnist
    from digitpad.ml.evaluation import evaluate
    from digitpad.ml.inference import load_predictor

    saved = load_predictor(out)
    assert saved.info.test_accuracy == pytest.approx(chief["accuracy"])
    assert chief["accuracy"] > 0.6  # on the MNIST test set; chance is 0.1, 16 steps of 64 images reach 0.8
    data = load_mnist()
    assert evaluate(saved, data.x_test[:2000], data.y_test[:2000]).accuracy > 0.6  # the file, not the run


def test_unknown_strategy_is_refused() -> None:
    from digitpad.errors import ConfigError
    from digitpad.ml.config import TrainConfig

    with pytest.raises(ConfigError, match="strategy"):
        TrainConfig(strategy="tpu").check()


@pytest.mark.parametrize("tf_config, message", [
    ("{not json", "TF_CONFIG: not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', 'TF_CONFIG: needs "cluster"'),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', 'TF_CONFIG: needs "task"'),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', 'TF_CONFIG: needs "task"'),
])
def test_a_broken_tf_config_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, tf_config: str,
                                                    message: str) -> None:
    from digitpad.errors import ConfigError
    from digitpad.ml import distribute

    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ConfigError, match=message) as caught:
        distribute.prepare("multiworker")  # refused before TensorFlow is involved
    assert "\n" not in str(caught.value)


def test_a_process_without_a_multiworker_strategy_is_its_own_chief(tmp_path: Path) -> None:
    from digitpad.ml import distribute

    assert distribute.is_chief()
    with distribute.save_target(tmp_path / "m.keras") as target:
        assert target == tmp_path / "m.keras"
