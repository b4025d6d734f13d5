"""The Keras callbacks a TrainConfig asks for: early stopping, reduce-LR, best checkpoint, CSV, TensorBoard.

Keras' own ``EarlyStopping``, ``ReduceLROnPlateau`` and ``CSVLogger`` are
used as they are. Two are digitpad's own, for reasons:

* **checkpoint**: ``ModelCheckpoint(save_best_only=True)`` would save the
  training model itself, with its mixed-precision policy and Adam's state
  (three times the size), through a non-atomic write. ``BestCheckpoint``
  saves through :func:`digitpad.ml.storage.save_model` instead: a float32
  copy without optimizer, written atomically, with the metadata JSON beside
  it, so the file is a digitpad model like any other.
* **TensorBoard**: ``keras.callbacks.TensorBoard`` needs the ``tensorboard``
  package; see :mod:`digitpad.ml.tensorboard_log`.

Reduce-LR-on-plateau assigns a new learning rate, which Keras refuses when the
rate is a schedule (digitpad's LR decay). Two schedules that both change the
rate would also be hard to read, so the combination is refused with a
ConfigError rather than one of them silently winning.

In multi-worker training only the chief keeps files (checkpoint, CSV,
TensorBoard; :func:`digitpad.ml.distribute.is_chief`): the others save their
checkpoints into a scratch folder and write no logs. Every worker runs early
stopping and reduce-LR, which see the same validation loss and so stay in step.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from digitpad.errors import ConfigError

REDUCE_LR_FACTOR = 0.5
MONITOR = "val_loss"
CHECKPOINT_INTERVAL_S = 300.0  # the best-model file is rewritten at most this often during a run
_NEEDS_VALIDATION = (("early_stopping", "early stop"), ("reduce_lr", "reduce LR"), ("checkpoint", "checkpoint"))


def check_callbacks(config: Any) -> None:
    """Refuse callback settings that cannot work, with one line (before any training starts)."""
    asked = [words for name, words in _NEEDS_VALIDATION if getattr(config, name, None)]
    if asked and getattr(config, "validation", 0) == 0:
        verb = "needs" if len(asked) == 1 else "need"
        raise ConfigError(f"{' and '.join(asked)} {verb} validation images (validation is 0)")
    if getattr(config, "reduce_lr", 0) and getattr(config, "lr_decay", 1.0) < 1.0:
        raise ConfigError("reduce LR and LR decay both change the learning rate: set one of them off "
                          "(reduce LR 0 or LR decay 1)")
    checkpoint = getattr(config, "checkpoint", None)
    if checkpoint:
        path = Path(checkpoint)
        if path.suffix != ".keras":
            raise ConfigError(f"{path}: the checkpoint must be a .keras file")
        _folder_exists(path)
    csv_log = getattr(config, "csv_log", None)
    if csv_log:
        _folder_exists(Path(csv_log))
        if Path(csv_log).is_dir():
            raise ConfigError(f"{csv_log}: the CSV log must be a file, this is a folder")
    tensorboard = getattr(config, "tensorboard", None)
    if tensorboard and Path(tensorboard).exists() and not Path(tensorboard).is_dir():
        raise ConfigError(f"{tensorboard}: the TensorBoard log folder is a file")


def _folder_exists(path: Path) -> None:
    if not path.parent.is_dir():
        raise ConfigError(f"{path.parent}: folder does not exist")


def build_callbacks(config: Any, run_dir: str | Path | None = None, data: Any = None) -> list[Any]:
    """The Keras callbacks for ``config``'s early_stopping, reduce_lr, checkpoint, csv_log and tensorboard.

    Pass them to ``digitpad.ml.training.train(..., callbacks=...)``; they run
    after digitpad's own progress hooks. ``run_dir`` is the run's folder in
    the run store: TensorBoard logs go to ``<tensorboard>/<run_dir name>``,
    one subfolder per run, so TensorBoard shows the runs side by side.
    ``data`` (an Mnist) supplies the fixed batch for gradient histograms
    (default: loaded from ``config.data``). Returns [] when nothing is asked for.
    """
    check_callbacks(config)
    early = int(getattr(config, "early_stopping", 0) or 0)
    reduce = int(getattr(config, "reduce_lr", 0) or 0)
    checkpoint = getattr(config, "checkpoint", None)
    csv_log = getattr(config, "csv_log", None)
    tensorboard = getattr(config, "tensorboard", None)
    if not (early or reduce or checkpoint or csv_log or tensorboard):
        return []
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    from digitpad.ml.distribute import is_chief

    chief = is_chief()
    callbacks: list[Any] = [learning_rate_log()]  # first: every later callback sees the epoch's rate
    if reduce:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=MONITOR, factor=REDUCE_LR_FACTOR,
                                                           patience=reduce, verbose=0))
    if early:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=MONITOR, patience=early,
                                                       restore_best_weights=True, verbose=0))
    if checkpoint:  # every worker saves (TensorFlow's advice); save_target keeps only the chief's
        callbacks.append(best_checkpoint(checkpoint, config))
    if csv_log and chief:
        callbacks.append(keras.callbacks.CSVLogger(str(csv_log)))
    if tensorboard and chief:
        callbacks.append(_tensorboard(config, run_dir, data))
    return callbacks


def tensorboard_dir(config: Any, run_dir: str | Path | None) -> Path | None:
    """Where this run's TensorBoard logs go (``<tensorboard>/<run_dir name>``), or None when TensorBoard is off.

    Without ``run_dir`` every call names a new folder; then read the folder
    from the TensorBoard callback's ``logdir`` instead.
    """
    from digitpad.ml.runs import new_run_id
    from digitpad.ml.tensorboard_log import run_logdir

    root = getattr(config, "tensorboard", None)
    if not root:
        return None
    return run_logdir(root, Path(run_dir).name if run_dir is not None else new_run_id())


def _tensorboard(config: Any, run_dir: str | Path | None, data: Any) -> Any:
    from digitpad.ml.data import load_mnist
    from digitpad.ml.tensorboard_log import gradient_sample, tensorboard_callback

    data = data if data is not None else load_mnist(getattr(config, "data", None))
    sample = gradient_sample(data, getattr(config, "validation", 0))
    return tensorboard_callback(tensorboard_dir(config, run_dir), sample=sample)


def learning_rate_log() -> Any:
    """A callback that puts the epoch's learning rate into the logs as ``learning_rate`` (for CSV and TensorBoard)."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.tensorboard_log import learning_rate

    keras = load_keras()

    class LearningRateLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.rate = learning_rate(self.model.optimizer)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is not None:
                logs["learning_rate"] = self.rate

    return LearningRateLog()


def best_checkpoint(path: str | Path, config: Any = None, min_interval_s: float = CHECKPOINT_INTERVAL_S) -> Any:
    """A callback that keeps the model with the lowest validation loss so far in ``path`` (a digitpad model).

    Each better epoch's weights are kept in memory (a 13 MB copy, ~3-8 ms); the
    file is written when training ends (also after a stop) and during the run
    at most every ``min_interval_s`` seconds, counted from the start, because
    one save costs about a second (6 % of a full-MNIST epoch on 2 cores). So
    the file holds the best model at the end, and during a long run one at
    most ``min_interval_s`` old.
    """
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    class BestCheckpoint(_CheckpointMixin, keras.callbacks.Callback):
        pass

    return BestCheckpoint(Path(path), config, min_interval_s)


class _CheckpointMixin:
    def __init__(self, path: Path, config: Any, min_interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.path, self.config = path, config
        self.min_interval_s, self._clock = min_interval_s, clock
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_accuracy: float | None = None
        self.writes = 0
        self._weights: list[Any] | None = None
        self._pending = False
        self._last_write = clock()
        self._copy: Any = None  # a float32 model to load the best weights into for saving

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._last_write = self._clock()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        value = logs.get(MONITOR)
        if value is None or not math.isfinite(value) or value >= self.best:
            return
        self.best, self.best_epoch = float(value), epoch + 1
        accuracy = logs.get("val_accuracy")
        self.best_accuracy = None if accuracy is None else float(accuracy)
        self._weights = self.model.get_weights()
        self._pending = True
        if self._clock() - self._last_write >= self.min_interval_s:
            self._write()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._pending:
            self._write()

    def _write(self) -> None:
        from digitpad.ml.distribute import save_target
        from digitpad.ml.model import inference_copy
        from digitpad.ml.storage import save_model

        if self._copy is None:
            self._copy = inference_copy(self.model)
        best = self._copy
        best.set_weights(self._weights)
        with save_target(self.path) as target:  # a non-chief worker saves to a scratch folder
            save_model(best, target, self._metadata())
        self._pending = False
        self._last_write = self._clock()
        self.writes += 1

    def _metadata(self) -> dict[str, Any]:
        from digitpad import __version__
        from digitpad.ml.model import ARCHITECTURE

        config = self.config
        return {
            "format": "digitpad-model",
            "name": f"{self.path.stem} (best of epoch {self.best_epoch})",
            "architecture": ARCHITECTURE,
            "outputs": "logits",
            "hyperparameters": config.as_dict() if hasattr(config, "as_dict") else {},
            "checkpoint": True,
            "epochs_run": self.best_epoch,
            "validation_loss": self.best,
            "validation_accuracy": self.best_accuracy,
            "test_accuracy": None,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "digitpad_version": __version__,
        }
