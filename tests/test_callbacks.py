"""Keras callbacks from the config, on real (short) training runs: early stopping, reduce-LR, checkpoint, CSV."""

from __future__ import annotations

import csv
import types

import numpy as np
import pytest

from digitpad.errors import ConfigError
from digitpad.ml.callbacks import best_checkpoint, build_callbacks, check_callbacks
from digitpad.ml.config import TrainConfig
from digitpad.ml.data import Mnist, load_mnist, to_model_input
from digitpad.ml.evaluation import evaluate_probabilities
from digitpad.ml.storage import load_model, read_metadata
from digitpad.ml.training import train

TRAIN, VALIDATION = 512, 256


@pytest.fixture(scope="module")
def slices() -> dict[str, Mnist]:
    """512 real training and 256 real validation images, with true and with shifted validation labels.

    With every validation label shifted by one (a 3 labelled 4), the better
    the network learns the digits the worse its validation loss, so the first
    epoch is reliably the best: a plateau that early stopping, reduce-LR and
    the checkpoint must react to.
    """
    mnist = load_mnist()
    x = np.concatenate([mnist.x_train[:TRAIN], mnist.x_train[-VALIDATION:]])
    y = np.concatenate([mnist.y_train[:TRAIN], mnist.y_train[-VALIDATION:]]).astype(np.uint8)
    shifted = y.copy()
    shifted[TRAIN:] = (shifted[TRAIN:] + 1) % 10
    return {"true": Mnist(x, y, mnist.x_test[:10], mnist.y_test[:10], mnist.source, "true-validation"),
            "shifted": Mnist(x, shifted, mnist.x_test[:10], mnist.y_test[:10], mnist.source, "shifted-validation")}


def _config(**changes) -> TrainConfig:
    values = dict(epochs=5, batch_size=64, validation=VALIDATION, precision="float32", seed=3)
    return TrainConfig(**{**values, **changes})


def _val_loss(model, data: Mnist) -> float:
    logits = np.asarray(model.predict_on_batch(to_model_input(data.x_train[-VALIDATION:])), np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return evaluate_probabilities(probs / probs.sum(axis=1, keepdims=True), data.y_train[-VALIDATION:]).loss


def _probe(checkpoint=None):
    """Our own callback, after the built ones: the checkpoint file's epoch after each epoch, the final rate."""
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    class Probe(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.saved_epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.saved_epochs.append(read_metadata(checkpoint).get("epochs_run") if checkpoint else None)

        def on_train_end(self, logs=None):
            self.final_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return Probe()


@pytest.mark.slow
def test_early_stopping_reduce_lr_checkpoint_and_csv_in_one_real_run(tmp_path, slices) -> None:
    data = slices["shifted"]
    config = _config(early_stopping=2, reduce_lr=1, checkpoint=str(tmp_path / "best.keras"),
                     csv_log=str(tmp_path / "log.csv"))
    probe = _probe()
    result = train(config, data=data, callbacks=[*build_callbacks(config, data=data), probe])
    losses = [e.val_loss for e in result.history]

    # Early stopping: it stopped before the 5 planned epochs, two epochs after the best one...
    best = int(np.argmin(losses))
    assert len(losses) < 5 and len(losses) == best + 1 + 2
    assert not result.stopped  # a normal end, not the user's stop
    # ...and the model it returns has the best epoch's weights, not the last epoch's.
    restored = _val_loss(result.model, data)
    assert restored == pytest.approx(losses[best], abs=1e-4)
    assert abs(restored - losses[-1]) > 1e-3

    # CSV log: one row per epoch, with the metrics Keras logged and the learning rate of that epoch.
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(len(losses)))
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(losses, rel=1e-6)
    assert [float(r["loss"]) for r in rows] == pytest.approx([e.loss for e in result.history], rel=1e-6)

    # Reduce-LR: the rate halves after each epoch that did not beat the best so far.
    expected, rate, lowest = [], 1e-3, np.inf
    for loss in losses:
        expected.append(rate)
        if loss < lowest:
            lowest = loss
        else:
            rate /= 2
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx(expected, rel=1e-6)
    assert probe.final_rate == pytest.approx(rate, rel=1e-6) and probe.final_rate < 1e-3

    # Checkpoint: the best epoch, as a digitpad model that loads like any other.
    model, info = load_model(tmp_path / "best.keras")
    assert _val_loss(model, data) == pytest.approx(losses[best], abs=1e-4)
    metadata = read_metadata(tmp_path / "best.keras")
    assert metadata["epochs_run"] == best + 1 and metadata["checkpoint"] is True
    assert metadata["validation_loss"] == pytest.approx(losses[best], rel=1e-6)
    assert len(model.get_weights()) == 8 and all(w.dtype == np.float32 for w in model.get_weights())


@pytest.mark.slow
def test_checkpoint_is_kept_in_memory_between_writes_and_written_at_the_end(tmp_path, slices) -> None:
    data, path, eager_path = slices["true"], tmp_path / "best.keras", tmp_path / "eager.keras"
    config = _config(epochs=2, learning_rate=3e-4)
    checkpoint = best_checkpoint(path, config, min_interval_s=3600)
    eager = best_checkpoint(eager_path, config, min_interval_s=0)
    probe, eager_probe = _probe(path), _probe(eager_path)
    result = train(config, data=data, callbacks=[checkpoint, eager, probe, eager_probe])
    losses = [e.val_loss for e in result.history]
    assert checkpoint.best_epoch == int(np.argmin(losses)) + 1 == 2  # true labels: it kept improving
    assert probe.saved_epochs == [None, None]  # not written within the hour...
    assert checkpoint.writes == 1  # ...but when training ended
    assert eager_probe.saved_epochs == [1, 2] and eager.writes == 2  # no interval: every better epoch at once
    for saved in (path, eager_path):
        assert read_metadata(saved)["epochs_run"] == 2
        model, _ = load_model(saved)
        assert _val_loss(model, data) == pytest.approx(min(losses), abs=1e-4)


def test_nothing_asked_means_no_callbacks() -> None:
    assert build_callbacks(TrainConfig()) == []
    assert build_callbacks(types.SimpleNamespace(validation=0, epochs=1)) == []  # a config without the new fields


@pytest.mark.parametrize(("changes", "message"), [
    ({"early_stopping": 3, "validation": 0}, r"^early stop needs validation images \(validation is 0\)$"),
    ({"reduce_lr": 2, "checkpoint": "x.keras", "validation": 0},
     r"^reduce LR and checkpoint need validation images"),
    ({"reduce_lr": 2, "lr_decay": 0.9}, r"^reduce LR and LR decay both change the learning rate"),
    ({"checkpoint": "best.h5"}, r"^best.h5: the checkpoint must be a .keras file$"),
    ({"checkpoint": "/no/such/folder/best.keras"}, r"^/no/such/folder: folder does not exist$"),
    ({"csv_log": "/no/such/folder/log.csv"}, r"^/no/such/folder: folder does not exist$"),
])
def test_settings_that_cannot_work_are_refused_in_one_line(changes, message) -> None:
    config = TrainConfig(**changes)
    with pytest.raises(ConfigError, match=message):
        build_callbacks(config)
    with pytest.raises(ConfigError):
        check_callbacks(types.SimpleNamespace(**{"validation": 5000, **changes}))


def test_a_tensorboard_path_that_is_a_file_is_refused(tmp_path) -> None:
    (tmp_path / "tb").write_text("a file")
    with pytest.raises(ConfigError, match="tb: the TensorBoard log folder is a file"):
        build_callbacks(TrainConfig(tensorboard=str(tmp_path / "tb")))
