"""Run one training off the GUI thread and turn its progress into Qt signals.

A plain QObject worker is moved to a QThread (see ``digitpad.ui.workers``),
reports through signals and aborts cooperatively. ``TrainingWorker`` runs a
job, e.g. ``trainer.run(config, on_batch, on_epoch, stop)``, in the worker
thread; its hooks only emit signals, never touch widgets. ``TrainingRun`` lives in the
GUI thread, owns the worker and its thread, and relays the worker's signals so
that the tab can silence a run it has given up on (``discard``) without stale
queued signals reaching it later.

Nothing here imports TensorFlow: the real ``KerasTrainer`` trains (and so
loads TensorFlow) inside the worker thread.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.errors import DigitpadError, TrainingAborted, one_line
from digitpad.ml.training import StopFlag
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.ui.workers import start_thread, stop_thread

log = logging.getLogger(__name__)

BATCH_INTERVAL_S = 0.1  # at most ~10 batch signals a second reach the GUI: smooth, and cheap on 2 cores


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


Job = Callable[[Callable[[BatchEnd], None], Callable[[EpochEnd], None], StopFlag], Any]
"""A training call: ``job(on_batch, on_epoch, stop) -> Outcome``, run in the worker thread."""


def default_trainer() -> Any:
    """The real trainer; TensorFlow loads when it first trains, in the worker thread."""
    from digitpad.ml.session import KerasTrainer

    return KerasTrainer(source="gui")


class TrainingWorker(QObject):
    """Calls ``job(on_batch, on_epoch, stop)`` once and reports through signals.

    Signals, in order: ``started``; ``batchEnded``/``epochEnded`` while training;
    exactly one of ``finished(outcome)``, ``failed(message)`` or ``cancelled``
    (stopped before training began, or aborted); and ``ended`` last, always.
    ``stop()`` and ``abort()`` are thread-safe.
    """

    started = Signal()
    batchEnded = Signal(object)  # digitpad.contracts.BatchEnd (throttled)
    epochEnded = Signal(object)  # digitpad.contracts.EpochEnd (every one)
    finished = Signal(object)  # digitpad.ml.session.Outcome (also after a stop)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, job: Job, batch_interval: float = BATCH_INTERVAL_S) -> None:
        super().__init__()
        self.job = job
        self._stop = StopFlag()
        self._throttle = BatchThrottle(batch_interval)

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
            outcome = self.job(self._on_batch, self._on_epoch, self._stop)
        except TrainingAborted:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - the GUI must survive any training failure
            if not isinstance(exc, (DigitpadError, MemoryError)):
                log.exception("training failed")
            self.failed.emit(one_line(exc))
        else:
            self.finished.emit(outcome)
        finally:
            self.ended.emit()


class TrainingRun(QObject):
    """One training run: its worker, its QThread (a child of this object) and the relayed signals.

    Relaying through this GUI-thread object lets the owner silence a run it has
    given up on (``discard``) without stale queued signals reaching it later.
    """

    started = Signal()
    batchEnded = Signal(object)
    epochEnded = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()  # the thread has ended; emitted once, last

    def __init__(self, job: Job, config: TrainConfig, batch_interval: float = BATCH_INTERVAL_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.worker = TrainingWorker(job, batch_interval)
        self.thread: QThread | None = None
        self._silenced = False
        self._done = False
        # Queued into this object's (GUI) thread, then re-emitted unless discarded by then.
        self.worker.started.connect(self._relay_started)
        self.worker.batchEnded.connect(self._relay_batch)
        self.worker.epochEnded.connect(self._relay_epoch)
        self.worker.finished.connect(self._relay_finished)
        self.worker.failed.connect(self._relay_failed)
        self.worker.cancelled.connect(self._relay_cancelled)

    @Slot()
    def _relay_started(self) -> None:
        if not self._silenced:
            self.started.emit()

    @Slot(object)
    def _relay_batch(self, batch: BatchEnd) -> None:
        if not self._silenced:
            self.batchEnded.emit(batch)

    @Slot(object)
    def _relay_epoch(self, epoch: EpochEnd) -> None:
        if not self._silenced:
            self.epochEnded.emit(epoch)

    @Slot(object)
    def _relay_finished(self, outcome: Any) -> None:
        if not self._silenced:
            self.finished.emit(outcome)

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        if not self._silenced:
            self.failed.emit(message)

    @Slot()
    def _relay_cancelled(self) -> None:
        if not self._silenced:
            self.cancelled.emit()

    def start(self) -> None:
        self.thread = start_thread(self.worker, self, "digitpad-training", done=self.worker.ended)
        self.thread.finished.connect(self._on_thread_finished)

    def stop(self) -> None:
        """Ask the worker to stop within one batch; returns at once."""
        self.worker.stop()

    def abort(self) -> None:
        """Stop within one batch and skip evaluation (the window is closing); returns at once."""
        self.worker.abort()

    def stop_requested(self) -> bool:
        return self.worker.stop_requested()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread has ended (True) or ``timeout_ms`` passed (False)."""
        return stop_thread(self.thread, timeout_ms)

    def discard(self) -> None:
        """Drop every signal not yet relayed; the owner has forgotten this run."""
        self._silenced = True

    def _on_thread_finished(self) -> None:
        if not self._silenced and not self._done:
            self._done = True
            self.done.emit()
