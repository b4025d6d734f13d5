"""The Train tab's lifecycle, apart from its widgets: start, stop, progress and ETA, outcome, saving.

One :class:`TrainingRun` at a time. Saving a model (a 13 MB zip) runs on a
worker thread so the window never stalls. The bundled model is never
overwritten. The view (``TrainTab``) only shows what the signals say.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

from digitpad.contracts import BatchEnd, EpochEnd, describe_epochs
from digitpad.errors import ConfigError, one_line
from digitpad.ml.config import TrainConfig, fine_tune_settings
from digitpad.ui.training_worker import BATCH_INTERVAL_S, TrainingRun, default_trainer
from digitpad.ui.workers import WAIT_MS, run_in_thread, stop_thread

log = logging.getLogger(__name__)


def clock_text(seconds: float) -> str:
    """``83`` -> ``1:23``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def is_bundled_model(path: Path) -> bool:
    from digitpad.resources import bundled_model

    try:
        bundled = bundled_model()
    except FileNotFoundError:
        return False
    return path.resolve() == bundled.resolve() or (path.exists() and bundled.exists() and path.samefile(bundled))


class TrainingController(QObject):
    """Runs trainings and fine-tunings of ``trainer`` (None: the real KerasTrainer, made in the worker)."""

    runStarted = Signal(object, str)  # the TrainConfig, "Training" or "Fine-tuning"
    progress = Signal(int, int, str)  # batches done, batches in all, the progress bar's text
    status = Signal(str)  # "elapsed 0:12 · 3,400 img/s"
    batchEnded = Signal(object)
    epochEnded = Signal(object)  # an EpochEnd, with the layers' weight histograms when the trainer sends them
    finished = Signal(object, str)  # the Outcome and its one-line summary
    failed = Signal(str)
    runningChanged = Signal(bool)  # True when a run starts, False when its thread has ended
    saved = Signal(object)  # the Path written
    saveFailed = Signal(str)

    def __init__(self, trainer: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer = trainer
        self.batch_interval_s = BATCH_INTERVAL_S  # tests set 0 to see every batch
        self.run: TrainingRun | None = None
        self.outcome: Any = None
        self.kind = "Training"
        self._last_batch: BatchEnd | None = None
        self._first_batch: tuple[float, int] | None = None  # (time, batches done) at the first report
        self._t_start = 0.0
        self._save_thread: QThread | None = None
        self._saving = False
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._emit_status)
        app = QCoreApplication.instance()
        if app is not None:  # a safety net if the window forgets to call shutdown()
            app.aboutToQuit.connect(self.shutdown)

    # --- runs ---------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self.run is not None

    def start(self, config: TrainConfig) -> bool:
        """Train a new model with ``config``; False, with ``failed(message)``, if refused."""
        trainer = self.trainer

        def job(on_batch: Any, on_epoch: Any, stop: Any) -> Any:
            return (trainer or default_trainer()).run(config, on_batch=on_batch, on_epoch=on_epoch, stop=stop)

        return self._start(config, job, "Training")

    def start_fine_tune(self, config: TrainConfig, base: Any, store: Any) -> bool:
        """Fine-tune ``base`` on MNIST plus ``store``'s samples, with the one fine-tuning rule."""
        if base is None:
            self.failed.emit("No model is loaded yet: wait for the Draw tab's model, then fine-tune it")
            return False
        config = fine_tune_settings(config)
        trainer = self.trainer

        def job(on_batch: Any, on_epoch: Any, stop: Any) -> Any:
            return (trainer or default_trainer()).fine_tune(config, base, store, on_batch=on_batch,
                                                            on_epoch=on_epoch, stop=stop)

        return self._start(config, job, "Fine-tuning")

    def _start(self, config: TrainConfig, job: Any, kind: str) -> bool:
        if self.run is not None:
            return False
        try:
            config.check()
        except ConfigError as exc:
            self.failed.emit(one_line(exc))
            return False
        self.kind = kind
        self.outcome = None
        self._last_batch, self._first_batch = None, None
        run = TrainingRun(job, config, self.batch_interval_s, parent=self)
        run.batchEnded.connect(self._on_batch)
        run.epochEnded.connect(self._on_epoch)
        run.finished.connect(self._on_finished)
        run.failed.connect(lambda message: self._fail(f"{self.kind} failed: {message}"))
        run.cancelled.connect(lambda: self.progress.emit(0, 1, "cancelled"))
        run.done.connect(self._on_done)
        self.run = run
        self._t_start = time.monotonic()
        self.runStarted.emit(config, kind)
        # The first run loads TensorFlow (seconds, once, at the person's request): say so.
        self.progress.emit(0, 1, "preparing data and model…" if "tensorflow" in sys.modules
                           else "Starting TensorFlow…")
        run.start()
        self._clock.start()
        self.runningChanged.emit(True)
        return True

    def stop(self) -> None:
        """Ask the run to stop after the current batch; the evaluation still follows."""
        if self.run is None or self.run.stop_requested():
            return
        self.run.stop()
        self.status.emit("Stopping after this batch…")

    def stop_requested(self) -> bool:
        return self.run is not None and self.run.stop_requested()

    def shutdown(self, timeout_ms: int = WAIT_MS) -> None:
        """Abort any run (no evaluation: the user is leaving) and wait, at most ``timeout_ms``, for the threads."""
        run = self.run
        if run is not None:
            run.abort()
            if not run.wait(timeout_ms):
                log.warning("training thread still running %d ms after abort", timeout_ms)
            run.discard()  # signals still queued for it are dropped
            self._forget_run()
            self.status.emit("Training stopped")
        stop_thread(self._save_thread, timeout_ms)

    # --- run signals (GUI thread) ---------------------------------------------------------
    def _on_batch(self, batch: BatchEnd) -> None:
        self._last_batch = batch
        done = (batch.epoch - 1) * batch.steps + batch.step
        now = time.monotonic()
        if self._first_batch is None:
            self._first_batch = (now, done)
        total = batch.epochs * batch.steps
        eta = self.eta(done, total, now)
        self.progress.emit(done, total, f"epoch {batch.epoch}/{batch.epochs} · batch {batch.step}/{batch.steps}"
                           + (f" · ETA {clock_text(eta)}" if eta is not None else ""))
        self.batchEnded.emit(batch)

    def eta(self, done: int, total: int, now: float) -> float | None:
        """Seconds left at the pace since the first batch report (None before a second one)."""
        if self._first_batch is None:
            return None
        t0, done0 = self._first_batch
        return (now - t0) / (done - done0) * (total - done) if done > done0 else None

    def _on_epoch(self, end: EpochEnd) -> None:
        self.epochEnded.emit(end)
        if end.epoch >= end.epochs:
            self.progress.emit(1, 1, "evaluating on the test set…")

    def _on_finished(self, outcome: Any) -> None:
        self.outcome = outcome
        result, evaluation = outcome.result, outcome.evaluation
        epochs = describe_epochs(result.epochs_run, result.stop_point)
        stop = result.stop_point
        if not result.stopped:
            self.progress.emit(1, 1, f"done · {epochs} · {clock_text(time.monotonic() - self._t_start)}")
        elif stop is not None and stop.batch > 0:
            self.progress.emit(1, 1, f"stopped at epoch {stop.epoch}/{result.config.epochs} · "
                                     f"batch {stop.batch}/{stop.batches}")
        else:
            self.progress.emit(0, 1, "stopped before the first batch")
        how = "stopped" if result.stopped else "finished"
        self.finished.emit(outcome, f"Run {how} after {epochs} · test accuracy "
                                    f"{evaluation.accuracy * 100:.2f} % · not saved yet")

    def _fail(self, message: str) -> None:
        self.progress.emit(0, 1, "failed")
        self.failed.emit(message)

    def _on_done(self) -> None:
        if self.sender() is self.run:
            self._forget_run()

    def _forget_run(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()  # not now: we may be inside one of its signals
        self._clock.stop()
        self._emit_status()
        self.runningChanged.emit(False)

    def _emit_status(self) -> None:
        if self._last_batch is None and self.run is None:
            return
        now = time.monotonic()
        parts = [f"elapsed {clock_text(now - self._t_start)}"]
        batch, first = self._last_batch, self._first_batch
        if batch is not None and first is not None and now > first[0] and self.run is not None:
            done = (batch.epoch - 1) * batch.steps + batch.step
            rate = (done - first[1]) * self.run.config.batch_size / (now - first[0])
            if rate > 0:
                parts.append(f"{rate:,.0f} img/s")
        if self.stop_requested():
            parts.append("stopping…")
        self.status.emit(" · ".join(parts))

    # --- saving ---------------------------------------------------------------------------
    def is_saving(self) -> bool:
        """True from ``save()`` until ``saved`` or ``saveFailed``."""
        return self._saving

    def save(self, path: Path, name: str | None = None) -> bool:
        """Write the last outcome to ``path`` on a worker thread; ``saved`` or ``saveFailed`` follows."""
        outcome = self.outcome
        if outcome is None or self.is_saving():
            return False
        if is_bundled_model(path):
            self.saveFailed.emit("That is the bundled model; training never overwrites it. Choose another file.")
            return False
        trainer = self.trainer

        def write() -> Path:
            return (trainer or default_trainer()).save(outcome, path, name=name) or path

        def done(path: Path) -> None:
            self._saving = False
            self.saved.emit(path)

        def failed(exc: BaseException) -> None:
            self._saving = False
            self.saveFailed.emit(f"Could not save the model: {one_line(exc)}")

        self._saving = True
        _, self._save_thread = run_in_thread(write, self, "digitpad-save", done, failed)
        return True
