"""Run one training off the GUI thread and turn its progress into Qt signals.

The pattern follows superqt's ``_qthreading``: a plain QObject worker is moved to
a QThread, reports through signals and aborts cooperatively. ``TrainingWorker``
runs ``trainer.run(config, on_batch, on_epoch, stop)`` in the worker thread;
its hooks only emit signals, never touch widgets. ``TrainingRun`` lives in the
GUI thread, owns the worker and its thread, and relays the worker's signals so
that the tab can silence a run it has given up on (``discard``) without stale
queued signals reaching it later.

Nothing here imports TensorFlow: the real ``KerasTrainer`` is imported inside
the worker thread, and only when no trainer was given.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from digitpad.errors import DigitpadError, TrainingAborted
from digitpad.ml.training import StopFlag
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd, EpochEnd

log = logging.getLogger(__name__)

BATCH_INTERVAL_S = 0.1  # at most ~10 batch signals a second reach the GUI: smooth, and cheap on 2 cores
MAX_MESSAGE = 300


def failure_message(exc: BaseException) -> str:
    """One line for the user: the message of our own errors, a hint for memory errors."""
    text = " ".join(str(exc).split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    if isinstance(exc, DigitpadError):
        return text or type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return "out of memory — try a smaller batch size or image limit"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BatchThrottle:
    """Lets a batch through at most every ``interval`` seconds, plus every epoch's last batch."""

    def __init__(self, interval: float = BATCH_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None

    def allow(self, batch: BatchEnd) -> bool:
        now = self._clock()
        if batch.step >= batch.steps or self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def _default_trainer() -> Any:
    from digitpad.ml.session import KerasTrainer  # TensorFlow loads in the worker thread only

    return KerasTrainer()


class TrainingWorker(QObject):
    """Calls ``trainer.run`` (or ``method``, e.g. ``fine_tune``) once and reports through signals.

    The call is ``getattr(trainer, method)(config, on_batch=, on_epoch=, stop=, **arguments)``;
    ``stop()`` is thread-safe.

    Signals, in order: ``started``; ``batchEnded``/``epochEnded`` while training;
    exactly one of ``finished(outcome)``, ``failed(message)`` or ``cancelled``
    (stop requested before training began); and ``ended`` last, always.
    """

    started = Signal()
    batchEnded = Signal(object)  # digitpad.ml.training.BatchEnd (throttled)
    epochEnded = Signal(object)  # digitpad.ml.training.EpochEnd (every one)
    finished = Signal(object)  # digitpad.ml.session.Outcome (also after a stop)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, config: TrainConfig, trainer: Any = None,
                 batch_interval: float = BATCH_INTERVAL_S, parent: QObject | None = None,
                 method: str = "run", arguments: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.trainer = trainer
        self.method = method
        self.arguments = dict(arguments or {})
        self._stop = StopFlag()
        self._throttle = BatchThrottle(batch_interval)

    @property
    def stop_event(self) -> StopFlag:
        return self._stop

    def stop(self) -> None:
        """Ask the training to end after the current batch (callable from any thread)."""
        self._stop.set()

    def abort(self) -> None:
        """Stop after the current batch and skip evaluation: the app is closing."""
        self._stop.abort()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _on_batch(self, batch: BatchEnd) -> None:
        if self._throttle.allow(batch):
            self.batchEnded.emit(batch)

    def _on_epoch(self, epoch: EpochEnd) -> None:
        self.epochEnded.emit(epoch)

    @Slot()
    def run(self) -> None:
        """Train (in the worker thread); every exception becomes ``failed(one line)``."""
        self.started.emit()
        try:
            if self._stop.is_set():
                self.cancelled.emit()
                return
            if self.trainer is None:
                self.trainer = _default_trainer()
            call = getattr(self.trainer, self.method)
            outcome = call(self.config, on_batch=self._on_batch, on_epoch=self._on_epoch, stop=self._stop,
                           **self.arguments)
        except TrainingAborted:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - the GUI must survive any training failure
            if not isinstance(exc, (DigitpadError, MemoryError)):
                log.exception("training failed")
            self.failed.emit(failure_message(exc))
        else:
            self.finished.emit(outcome)
        finally:
            self.ended.emit()


class TrainingRun(QObject):
    """One training run: its worker, its QThread and the worker's signals relayed into the GUI thread."""

    started = Signal()
    batchEnded = Signal(object)
    epochEnded = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()  # the thread has ended; emitted once, last

    def __init__(self, config: TrainConfig, trainer: Any = None,
                 batch_interval: float = BATCH_INTERVAL_S, parent: QObject | None = None,
                 method: str = "run", arguments: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.worker = TrainingWorker(config, trainer, batch_interval, method=method, arguments=arguments)
        self.thread = QThread()
        self.thread.setObjectName("digitpad-training")
        self.worker.moveToThread(self.thread)
        self._silenced = False
        self._done = False
        self.thread.started.connect(self.worker.run)
        # Direct: quit() is thread-safe and must not wait for the GUI loop (shutdown blocks it).
        self.worker.ended.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        # Queued into this object's (GUI) thread, then re-emitted unless discarded.
        self.worker.started.connect(self._relay_started)
        self.worker.batchEnded.connect(self._relay_batch)
        self.worker.epochEnded.connect(self._relay_epoch)
        self.worker.finished.connect(self._relay_finished)
        self.worker.failed.connect(self._relay_failed)
        self.worker.cancelled.connect(self._relay_cancelled)
        self.thread.finished.connect(self._on_thread_finished)

    @property
    def config(self) -> TrainConfig:
        return self.worker.config

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the worker to stop within one batch; returns at once."""
        self.worker.stop()

    def abort(self) -> None:
        """Stop within one batch and skip evaluation (the window is closing); returns at once."""
        self.worker.abort()

    def stop_requested(self) -> bool:
        return self.worker.stop_requested()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread has ended (True) or ``timeout_ms`` passed (False)."""
        return self.thread.wait(timeout_ms)

    def discard(self) -> None:
        """Drop every signal not yet relayed; the owner has forgotten this run."""
        self._silenced = True

    def _relay_started(self) -> None:
        if not self._silenced:
            self.started.emit()

    def _relay_batch(self, batch: BatchEnd) -> None:
        if not self._silenced:
            self.batchEnded.emit(batch)

    def _relay_epoch(self, epoch: EpochEnd) -> None:
        if not self._silenced:
            self.epochEnded.emit(epoch)

    def _relay_finished(self, outcome: Any) -> None:
        if not self._silenced:
            self.finished.emit(outcome)

    def _relay_failed(self, message: str) -> None:
        if not self._silenced:
            self.failed.emit(message)

    def _relay_cancelled(self) -> None:
        if not self._silenced:
            self.cancelled.emit()

    def _on_thread_finished(self) -> None:
        # QThread.finished is emitted from the ending thread itself: wait until it is really gone.
        self.thread.wait()
        if not self._silenced and not self._done:
            self._done = True
            self.done.emit()
