"""One complete training run as the app and the CLI use it: train, evaluate, wrap, save.

Also fine-tuning on the user's own samples, reporting MNIST and personal
accuracy before and after, so a user sees it learned their hand without
forgetting MNIST.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from digitpad.errors import DataError, DigitpadError, TrainingAborted, one_line
from digitpad.ml.evaluation import Evaluation
from digitpad.ml.training import BatchHook, EpochHook, TrainResult
from digitpad.ml.config import TrainConfig

log = logging.getLogger(__name__)

PERSONAL_SHARE = 0.05  # personal samples make up about this share of each fine-tuning epoch


@dataclass
class FineTuneReport:
    mnist_before: float
    mnist_after: float
    personal_before: float | None  # on held-out personal samples; None when none are held out
    personal_after: float | None
    personal_train: int
    personal_test: int

    def lines(self) -> list[str]:
        out = [f"MNIST test accuracy {self.mnist_before:.4f} -> {self.mnist_after:.4f}"]
        if self.personal_before is not None:
            out.append(f"personal held-out accuracy {self.personal_before:.4f} -> {self.personal_after:.4f} "
                       f"({self.personal_test} samples)")
        out.append(f"trained on {self.personal_train} personal samples")
        return out


@dataclass
class Outcome:
    """A finished (or stopped) run: model, test evaluation and the test images for galleries."""

    result: TrainResult
    evaluation: Evaluation
    predictor: Any  # digitpad.ml.inference.Predictor
    test_images: np.ndarray  # uint8 (N, 28, 28), aligned with evaluation.labels
    metadata: dict[str, Any] = field(default_factory=dict)
    fine_tune: FineTuneReport | None = None


def keras_model(predictor: Any) -> Any:
    """The Keras model behind a predictor; one read without TensorFlow is loaded again through Keras."""
    model = getattr(predictor, "model", None)
    if model is not None:
        return model
    from digitpad.ml.storage import load_model

    return load_model(getattr(predictor.info, "path", "") or None)[0]


class KerasTrainer:
    """Trains the real CNN on MNIST; the GUI's fake trainers mimic this interface."""

    def __init__(self, name: str | None = None, source: str = "cli", runs: Any = None) -> None:
        self.name = name  # None: named by date, epochs and accuracy (storage.default_name)
        self.source = source  # "gui" or "cli", as the run history records it
        self.runs = runs  # a digitpad.ml.runs.RunStore (None: the user's)

    def run(self, config: TrainConfig, on_batch: BatchHook | None = None,
            on_epoch: EpochHook | None = None, stop: Any = None,
            initial_model: Any = None, extra: tuple[np.ndarray, np.ndarray] | None = None) -> Outcome:
        """Train with ``config``, evaluate on the MNIST test set, and record the run in the history.

        Each EpochEnd that reaches ``on_epoch`` carries the histograms of the
        layers' kernels (``digitpad.ml.weight_stats``), for the Train tab's
        Weights page; the run's record does not keep them.
        """
        from digitpad.ml.runs import RunRecorder

        recorder = RunRecorder("train", self.source)
        on_batch, on_epoch = recorder.hooks(on_batch, on_epoch)
        outcome = self._train(config, on_batch, on_epoch, stop, initial_model, extra, recorder.run_id)
        self._record(outcome, recorder)
        return outcome

    def _train(self, config: TrainConfig, on_batch: BatchHook, on_epoch: EpochHook, stop: Any,
               initial_model: Any, extra: tuple[np.ndarray, np.ndarray] | None, run_id: str) -> Outcome:
        from digitpad.contracts import ModelInfo
        from digitpad.ml import training
        from digitpad.ml.callbacks import build_callbacks
        from digitpad.ml.data import load_mnist
        from digitpad.ml.evaluation import evaluate
        from digitpad.ml.inference import Predictor
        from digitpad.ml.storage import build_metadata
        from digitpad.ml.weight_stats import with_histograms

        config.check()
        data = load_mnist(config.data)
        callbacks = build_callbacks(config, self._store().folder(run_id), data)
        on_epoch, model_source = with_histograms(on_epoch)
        callbacks.append(model_source)
        result = training.train(config, on_batch=on_batch, on_epoch=on_epoch, stop=stop,
                                data=data, initial_model=initial_model, extra=extra, callbacks=callbacks)
        if getattr(stop, "aborted", False):
            raise TrainingAborted("training aborted")
        predictor = Predictor(result.model, ModelInfo(path="", name=self.name or "new CNN"))
        evaluation = evaluate(predictor, data.x_test, data.y_test)
        if config.tensorboard:
            from digitpad.ml.tensorboard_log import log_misclassified, run_logdir

            log_misclassified(run_logdir(config.tensorboard, run_id), data.x_test, evaluation)
        metadata = build_metadata(result, evaluation, name=self.name)
        metadata["run_id"] = run_id
        predictor.info = ModelInfo(path="", name=metadata["name"], test_accuracy=evaluation.accuracy,
                                   date=metadata["date"], metadata=metadata)
        return Outcome(result, evaluation, predictor, data.x_test, metadata)

    def _store(self) -> Any:
        from digitpad.ml.runs import RunStore

        if self.runs is None:
            self.runs = RunStore()
        return self.runs

    def _record(self, outcome: Outcome, recorder: Any) -> None:
        """Keep the run: its model in the run's folder, then its record (never lost over a history error)."""
        from digitpad.ml.distribute import is_chief

        if not is_chief():
            return
        try:
            store = self._store()
            path = self.save(outcome, store.model_file(recorder.run_id))
            store.record(recorder.build(outcome.result, outcome.evaluation, path,
                                        extra={"fine_tune": outcome.metadata.get("fine_tune")}))
        except (DigitpadError, OSError) as exc:
            log.warning("run not recorded: %s", one_line(exc))

    def fine_tune(self, config: TrainConfig, base: Any, store: Any,
                  on_batch: BatchHook | None = None, on_epoch: EpochHook | None = None,
                  stop: Any = None) -> Outcome:
        """Continue training ``base`` (a Predictor) on MNIST plus the user's samples; recorded as fine-tune."""
        from digitpad.ml.data import load_mnist
        from digitpad.ml.evaluation import evaluate
        from digitpad.ml.runs import RunRecorder
        from digitpad.personal import held_out

        x, y, ids = store.arrays()
        if len(y) == 0:
            raise DataError("no personal samples yet: correct or label a few drawings first")
        test = held_out(ids)
        if test.all():
            test[:] = False
        x_fit, y_fit = x[~test], y[~test]
        mnist = load_mnist(config.data)
        repeat = max(1, min(200, round(PERSONAL_SHARE * len(mnist.x_train) / len(y_fit))))
        mnist_before = evaluate(base, mnist.x_test, mnist.y_test).accuracy
        personal_before = evaluate(base, x[test], y[test]).accuracy if test.any() else None
        recorder = RunRecorder("fine-tune", self.source)
        on_batch, on_epoch = recorder.hooks(on_batch, on_epoch)
        outcome = self._train(config, on_batch, on_epoch, stop, keras_model(base),
                              (np.repeat(x_fit, repeat, axis=0), np.repeat(y_fit, repeat)), recorder.run_id)
        personal_after = evaluate(outcome.predictor, x[test], y[test]).accuracy if test.any() else None
        outcome.fine_tune = FineTuneReport(mnist_before, outcome.evaluation.accuracy, personal_before,
                                           personal_after, int(len(y_fit)), int(test.sum()))
        outcome.metadata["fine_tune"] = vars(outcome.fine_tune)
        outcome.metadata["base_model"] = getattr(base.info, "path", "")
        self._record(outcome, recorder)
        return outcome

    def save(self, outcome: Outcome, path: str | Path, name: str | None = None) -> Path:
        """Write the model and its metadata atomically (``name``: rename it first); returns the path.

        The outcome's predictor then names that file, so the app can remember it.
        """
        import dataclasses

        from digitpad.ml.storage import save_model

        if name:
            outcome.metadata["name"] = name
        saved = save_model(outcome.result.model, path, outcome.metadata)
        info = getattr(outcome.predictor, "info", None)
        if info is not None:
            outcome.predictor.info = dataclasses.replace(info, path=str(saved),
                                                         name=str(outcome.metadata.get("name") or info.name))
        return saved
