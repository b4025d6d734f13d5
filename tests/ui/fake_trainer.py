"""A trainer with KerasTrainer's interface that plays back a scripted run (no TensorFlow).

Per-batch losses follow a fixed formula and are reported as running means, as
Keras does; everything the fake emits is recorded so tests can compare it with
what the GUI shows. The Outcome is built from numpy: a made-up set of test
images whose misclassifications are known exactly (see ``CONFUSIONS``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from digitpad.contracts import (BatchEnd, BatchHook, EpochEnd, EpochHook, ModelInfo, Prediction, StopPoint,
                                WeightHistogram, from_probabilities)
from digitpad.ml.evaluation import Evaluation, confusion_matrix
from digitpad.errors import DataError, TrainingAborted
from digitpad.ml.session import FineTuneReport, Outcome
from digitpad.ml.training import TrainResult
from digitpad.ml.config import TrainConfig

TEST_IMAGES = 60  # test image i shows digit i % 10 ...
CONFUSIONS = {4: 9, 14: 9, 24: 9, 7: 1, 13: 8}  # ... except these, which the model misreads
CORRECT = TEST_IMAGES - len(CONFUSIONS)
MNIST_BEFORE = 0.9750  # the fake fine-tuning's report: MNIST accuracy of the base model ...
PERSONAL_BEFORE, PERSONAL_AFTER = 0.5, 0.875  # ... and personal held-out accuracy before and after
LAYERS = ("conv1", "conv2", "dense", "logits")  # the real CNN's layers with a kernel
BINS = 40


def batch_loss(epoch: int, step: int, steps: int) -> float:
    """The scripted loss of one batch (1-based epoch and step): falls, with a wobble."""
    k = (epoch - 1) * steps + step
    return 2.0 / (1.0 + 0.5 * k) + (0.05 if step % 2 else 0.0)


def batch_accuracy(epoch: int, step: int, steps: int) -> float:
    return min(1.0, 0.5 + 0.03 * ((epoch - 1) * steps + step))


def fake_histograms(epoch: int) -> tuple[WeightHistogram, ...]:
    """Each layer's scripted kernel histogram after ``epoch``: a bell that widens epoch by epoch."""
    out = []
    for index, layer in enumerate(LAYERS):
        width = 0.05 * (index + 1) * (1 + 0.2 * epoch)
        centres = np.linspace(-2.0, 2.0, BINS)
        counts = np.round(1000 * (index + 1) * np.exp(-centres ** 2 / 2)) + epoch
        out.append(WeightHistogram(layer, -width, width, tuple(int(c) for c in counts)))
    return tuple(out)


def fake_test_images() -> np.ndarray:
    """Distinct uint8 (N, 28, 28) images: a bright bar whose place and size depend on i."""
    images = np.zeros((TEST_IMAGES, 28, 28), np.uint8)
    for i in range(TEST_IMAGES):
        row = 2 + i % 20
        images[i, row:row + 3, 4:4 + 1 + i % 20] = 255
        images[i, 0, 0] = i  # makes every image unique even where the bars coincide
    return images


def fake_evaluation() -> Evaluation:
    labels = np.arange(TEST_IMAGES) % 10
    predicted = labels.copy()
    for index, read in CONFUSIONS.items():
        predicted[index] = read
    return Evaluation(accuracy=float(np.mean(predicted == labels)), loss=0.25,
                      confusion=confusion_matrix(labels, predicted), predicted=predicted, labels=labels)


class FakeModelPredictor:
    """What the trained run hands to the Draw tab: ``.info`` plus a constant answer (a 3)."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        probs = np.full((len(images), 10), 0.01, np.float32)
        probs[:, 3] = 0.91
        return probs

    def predict(self, source: Any) -> Prediction:
        return self.predict_prepared(np.zeros((28, 28), np.float32))

    def predict_many(self, sources: Sequence[Any] | Iterable[Any]) -> list[Prediction]:
        return [self.predict(source) for source in sources]

    def predict_prepared(self, image: np.ndarray) -> Prediction:
        return from_probabilities(self.probabilities(image[np.newaxis])[0], image)

    def predict_prepared_many(self, images: np.ndarray) -> list[Prediction]:
        return [from_probabilities(p, image) for p, image in zip(self.probabilities(images), images)]


class FakeTrainer:
    """Plays ``config.epochs`` epochs of ``steps`` batches, sleeping ``delay`` s per batch.

    ``fail``: raise this after ``fail_after`` batches of the first ``fail_runs`` runs.
    ``on_batch_hook``: called in the worker thread after each batch (tests use it to act mid-run).
    Records: ``configs``, ``batches``, ``epochs``, ``saves``, ``outcomes``, ``thread_ids``,
    and ``fine_tunes`` (base, store, number of samples) for each ``fine_tune`` call.
    """

    def __init__(self, steps: int = 5, delay: float = 0.0, fail: BaseException | None = None,
                 fail_after: int = 0, fail_runs: int = 1, evaluation_delay: float = 0.0,
                 on_batch_hook: Callable[[BatchEnd], None] | None = None) -> None:
        self.steps = steps
        self.delay = delay
        self.fail = fail
        self.fail_after = fail_after
        self.fail_runs = fail_runs
        self.evaluation_delay = evaluation_delay
        self.on_batch_hook = on_batch_hook
        self.configs: list[TrainConfig] = []
        self.batches: list[BatchEnd] = []
        self.epochs: list[EpochEnd] = []
        self.saves: list[tuple[Outcome, Path]] = []
        self.outcomes: list[Outcome] = []
        self.thread_ids: list[int] = []
        self.save_threads: list[int] = []
        self.fine_tunes: list[tuple[Any, Any, int]] = []
        self.runs = 0

    def script(self, epochs: int) -> tuple[list[BatchEnd], list[EpochEnd]]:
        """Every batch and epoch report of a complete ``epochs``-epoch run, in order."""
        batches: list[BatchEnd] = []
        ends: list[EpochEnd] = []
        for epoch in range(1, epochs + 1):
            losses: list[float] = []
            accs: list[float] = []
            for step in range(1, self.steps + 1):
                losses.append(batch_loss(epoch, step, self.steps))
                accs.append(batch_accuracy(epoch, step, self.steps))
                batches.append(BatchEnd(epoch, epochs, step, self.steps,
                                        float(np.mean(losses)), float(np.mean(accs))))
            ends.append(EpochEnd(epoch, epochs, float(np.mean(losses)), float(np.mean(accs)),
                                 val_loss=0.5 / epoch, val_accuracy=0.9 + 0.01 * epoch,
                                 seconds=1.5 * epoch, samples_per_second=1000.0 + epoch,
                                 histograms=fake_histograms(epoch)))
        return batches, ends

    def run(self, config: TrainConfig, on_batch: BatchHook | None = None, on_epoch: EpochHook | None = None,
            stop: Any = None, initial_model: Any = None,
            extra: tuple[np.ndarray, np.ndarray] | None = None) -> Outcome:
        config.check()
        self.runs += 1
        self.configs.append(config)
        self.thread_ids.append(threading.get_ident())
        failing = self.fail is not None and self.runs <= self.fail_runs
        batches, ends = self.script(config.epochs)
        history: list[EpochEnd] = []
        stop_point: StopPoint | None = None
        done = 0
        for batch in batches:  # like Keras: a batch runs, then the stop flag is looked at
            if failing and done == self.fail_after:
                raise self.fail
            if self.delay:
                time.sleep(self.delay)
            done += 1
            self.batches.append(batch)
            if on_batch is not None:
                on_batch(batch)
            if self.on_batch_hook is not None:
                self.on_batch_hook(batch)
            if batch.step == batch.steps:
                end = ends[batch.epoch - 1]
                history.append(end)
                self.epochs.append(end)
                if on_epoch is not None:
                    on_epoch(end)
            if stop is not None and stop.is_set():
                if getattr(stop, "aborted", False):
                    raise TrainingAborted("training aborted")
                stop_point = StopPoint(batch.epoch, batch.step, batch.steps)
                break
        stopped = stop_point is not None
        if failing:
            raise self.fail
        if self.evaluation_delay:
            time.sleep(self.evaluation_delay)
        evaluation = fake_evaluation()
        result = TrainResult(model=object(), config=config, history=history, stopped=stopped,
                             policy="float32", data_sha256="0" * 64, train_images=640, stop_point=stop_point)
        info = ModelInfo(path="", name=f"fake run {self.runs}", test_accuracy=evaluation.accuracy,
                         date="2024-05-01T12:00:00+00:00", metadata={"epochs_run": len(history)})
        outcome = Outcome(result, evaluation, FakeModelPredictor(info), fake_test_images(),
                          {"test_accuracy": evaluation.accuracy})
        self.outcomes.append(outcome)
        return outcome

    def fine_tune(self, config: TrainConfig, base: Any, store: Any, on_batch: BatchHook | None = None,
                  on_epoch: EpochHook | None = None, stop: Any = None) -> Outcome:
        """Like KerasTrainer.fine_tune: refuses an empty store, plays the scripted run, adds a report."""
        from digitpad.personal import held_out

        _, labels, ids = store.arrays()
        self.fine_tunes.append((base, store, len(labels)))
        if len(labels) == 0:
            raise DataError("no personal samples yet: correct or label a few drawings first")
        test = held_out(ids)
        if test.all():
            test[:] = False
        outcome = self.run(config, on_batch, on_epoch, stop, initial_model=getattr(base, "model", None))
        held = bool(test.any())
        outcome.fine_tune = FineTuneReport(MNIST_BEFORE, outcome.evaluation.accuracy,
                                           PERSONAL_BEFORE if held else None, PERSONAL_AFTER if held else None,
                                           int((~test).sum()), int(test.sum()))
        return outcome

    def save(self, outcome: Outcome, path: str | Path, name: str | None = None) -> Path:
        path = Path(path)
        self.save_threads.append(threading.get_ident())
        if name:
            outcome.metadata["name"] = name
        self.saves.append((outcome, path))
        path.write_bytes(b"fake model")
        predictor = outcome.predictor
        predictor.info = dataclasses.replace(predictor.info, path=str(path),
                                             name=str(outcome.metadata.get("name") or predictor.info.name))
        return path
