"""The seed CNN, real (short) training runs with hooks and stop, and evaluation."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from digitpad.errors import ConfigError
from digitpad.ml.data import load_mnist
from digitpad.ml.evaluation import confusion_matrix, evaluate_probabilities, format_confusion
from digitpad.ml.model import PARAMETERS, build_model
from digitpad.ml.training import train
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd, EpochEnd, StopPoint, describe_epochs
from digitpad.ml.storage import build_metadata


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_architecture_matches_the_seed() -> None:
    model = build_model()
    assert model.count_params() == PARAMETERS == 3_274_634
    assert tuple(model.input_shape) == (None, 28, 28, 1)
    assert tuple(model.output_shape) == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                     "Dense", "Dropout", "Dense"]
    assert model.get_layer("dropout").rate == pytest.approx(0.2)


def test_dropout_only_while_training() -> None:
    model = build_model()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    a, b = model(x, training=False).numpy(), model(x, training=False).numpy()
    assert np.array_equal(a, b)
    assert not np.allclose(model(x, training=True).numpy(), a)


def test_initialisers_are_not_unit_normal() -> None:
    weights = build_model().get_layer("dense").get_weights()[0]
    assert weights.std() < 0.1  # the seed's stddev-1 normal would give 1.0


def test_mixed_precision_keeps_logits_float32() -> None:
    model = build_model("mixed_bfloat16")
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert model.get_layer("logits").compute_dtype == "float32"
    assert model(np.zeros((1, 28, 28, 1), np.float32)).dtype == "float32"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", -3, "epochs"),
        ("epochs", 0, "epochs"),
        ("batch_size", 0, "batch size"),
        ("learning_rate", float("nan"), "learning rate"),
        ("learning_rate", float("inf"), "learning rate"),
        ("learning_rate", -1.0, "learning rate"),
        ("validation", -1, "validation"),
        ("limit", 0, "image limit"),
        ("epochs", 2.5, "epochs"),
        ("precision", "float8", "precision"),
    ],
)
def test_absurd_config_is_refused(field: str, value, message: str) -> None:
    config = TrainConfig(**{field: value})
    with pytest.raises(ConfigError, match=message):
        config.check()


@pytest.mark.slow
def test_short_training_lowers_loss_and_calls_hooks(mnist) -> None:
    batches: list[BatchEnd] = []
    epochs: list[EpochEnd] = []
    config = TrainConfig(epochs=2, limit=1280, validation=500, seed=1, precision="float32")
    result = train(config, on_batch=batches.append, on_epoch=epochs.append, data=mnist)
    assert len(batches) == 2 * 10 and len(epochs) == 2
    assert [b.step for b in batches[:10]] == list(range(1, 11))
    assert all(b.steps == 10 and b.epochs == 2 for b in batches)
    assert epochs[1].loss < epochs[0].loss < math.log(10) + 0.5
    assert epochs[-1].val_accuracy is not None and epochs[-1].val_accuracy > 0.6
    assert epochs[0].samples_per_second > 0 and epochs[0].seconds > 0
    assert result.history == epochs and not result.stopped
    # the returned model is float32 and keeps no optimizer
    assert all(layer.dtype_policy.name == "float32" for layer in result.model.layers)
    assert getattr(result.model, "optimizer", None) is None


@pytest.mark.slow
def test_stop_ends_within_one_batch(mnist) -> None:
    event = threading.Event()
    batches: list[BatchEnd] = []

    def on_batch(end: BatchEnd) -> None:
        batches.append(end)
        if len(batches) == 3:
            event.set()

    epochs: list[EpochEnd] = []
    result = train(TrainConfig(epochs=3, limit=2560, validation=0, batch_size=128),
                   on_batch=on_batch, on_epoch=epochs.append, stop=event, data=mnist)
    assert len(batches) == 3
    # Keras ends the epoch early and calls on_epoch_end with the partial epoch's logs:
    # that is not a full epoch, so nothing is recorded or reported as one.
    assert result.stopped and result.epochs_run == 0 and epochs == [] and result.history == []
    assert result.stop_point == StopPoint(epoch=1, batch=3, batches=20)
    assert describe_epochs(result.epochs_run, result.stop_point) == "0 full epochs (stopped at batch 3/20)"
    metadata = build_metadata(result)
    assert metadata["epochs_run"] == 0
    assert metadata["stopped_at"] == {"epoch": 1, "batch": 3, "batches": 20}


@pytest.mark.slow
def test_stop_at_an_epochs_last_batch_keeps_that_epoch(mnist) -> None:
    event = threading.Event()

    def on_batch(end: BatchEnd) -> None:
        if end.epoch == 1 and end.step == end.steps:
            event.set()

    result = train(TrainConfig(epochs=3, limit=512, validation=0, batch_size=128),
                   on_batch=on_batch, stop=event, data=mnist)
    assert result.epochs_run == 1 and result.stop_point == StopPoint(1, 4, 4)
    assert describe_epochs(result.epochs_run, result.stop_point) == "1 full epoch"


@pytest.mark.slow
def test_stop_before_start_still_runs_one_batch_and_says_so(mnist) -> None:
    batches: list[BatchEnd] = []
    result = train(TrainConfig(epochs=2, limit=512, validation=0, batch_size=128), on_batch=batches.append,
                   stop=lambda: True, data=mnist)
    assert result.stopped and len(batches) == 1  # Keras runs the first batch before it looks at the flag
    assert result.epochs_run == 0 and result.stop_point == StopPoint(1, 1, 4)


@pytest.mark.slow
def test_same_seed_same_first_epoch_loss(mnist) -> None:
    config = TrainConfig(epochs=1, limit=1024, validation=256, seed=7, augment=True, precision="float32")
    first = train(config, data=mnist).history[0].loss
    second = train(config, data=mnist).history[0].loss
    assert abs(first - second) < 1e-3


def test_confusion_and_scores() -> None:
    labels = np.array([0, 1, 1, 2])
    probs = np.eye(10, dtype=np.float32)[[0, 1, 2, 2]] * 0.9 + 0.01
    result = evaluate_probabilities(probs, labels)
    assert result.accuracy == pytest.approx(0.75)
    assert result.confusion[1, 2] == 1 and result.confusion.sum() == 4
    assert list(result.misclassified()) == [2]
    assert list(result.cell(1, 2)) == [2]
    assert np.array_equal(confusion_matrix(labels, labels), np.diag([1, 2, 1, 0, 0, 0, 0, 0, 0, 0]))
    assert "true\\pred" in format_confusion(result.confusion)


@pytest.mark.slow
def test_abort_leaves_at_once_without_validation_or_evaluation(mnist) -> None:
    from digitpad.errors import TrainingAborted
    from digitpad.ml.session import KerasTrainer
    from digitpad.ml.training import StopFlag

    flag = StopFlag()
    batches: list[BatchEnd] = []
    epochs: list[EpochEnd] = []

    def on_batch(end: BatchEnd) -> None:
        batches.append(end)
        if len(batches) == 2:
            flag.abort()

    with pytest.raises(TrainingAborted):
        KerasTrainer().run(TrainConfig(epochs=2, limit=1280, validation=500), on_batch=on_batch,
                           on_epoch=epochs.append, stop=flag)
    assert len(batches) == 2 and epochs == []  # no epoch end: the validation pass was skipped


KERNEL_LAYERS = ["conv1", "conv2", "dense", "logits"]


def _assert_numpy_histograms(histograms, kernels: dict) -> None:
    assert [h.layer for h in histograms] == KERNEL_LAYERS
    for histogram in histograms:
        counts, edges = np.histogram(kernels[histogram.layer], bins=40)
        assert histogram.counts == tuple(int(c) for c in counts)
        assert (histogram.low, histogram.high) == (float(edges[0]), float(edges[-1]))
        assert sum(histogram.counts) == kernels[histogram.layer].size


@pytest.mark.slow
def test_weight_histograms_are_numpys_of_each_epochs_weights(mnist) -> None:
    """Issue #16 item 4: each epoch's report carries np.histogram of every kernel as that epoch left it."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.weight_stats import with_histograms

    keras = load_keras()
    ends: list[EpochEnd] = []
    kernels: list[dict] = []

    class Weights(keras.callbacks.Callback):  # runs after digitpad's hooks, at the same epoch end
        def on_epoch_end(self, epoch: int, logs=None) -> None:
            kernels.append({layer.name: layer.kernel.numpy() for layer in self.model.layers
                            if getattr(layer, "kernel", None) is not None})

    on_epoch, source = with_histograms(ends.append)
    train(TrainConfig(epochs=2, limit=512, validation=0, batch_size=128, precision="float32"),
          on_epoch=on_epoch, data=mnist, callbacks=[source, Weights()])
    assert [e.epoch for e in ends] == [1, 2] and len(kernels) == 2
    for end, weights in zip(ends, kernels):
        _assert_numpy_histograms(end.histograms, weights)
    assert ends[0].histograms != ends[1].histograms  # the weights moved


@pytest.mark.slow
def test_keras_trainer_sends_histograms_but_records_none(mnist) -> None:
    """The GUI's hook gets them (auto precision: mixed bfloat16 where the CPU has it); the run record does not."""
    from digitpad.ml.runs import RunStore
    from digitpad.ml.session import KerasTrainer

    ends: list[EpochEnd] = []
    trainer = KerasTrainer()
    outcome = trainer.run(TrainConfig(epochs=2, limit=512, validation=128, batch_size=128), on_epoch=ends.append)
    model = outcome.result.model  # the float32 copy of the weights the last epoch ended with
    _assert_numpy_histograms(ends[-1].histograms, {name: model.get_layer(name).kernel.numpy()
                                                   for name in KERNEL_LAYERS})
    assert all(e.histograms == () for e in outcome.result.history)
    record = RunStore().get(outcome.metadata["run_id"])
    assert len(record.epoch_metrics) == 2 and all(m["histograms"] == [] for m in record.epoch_metrics)
