"""Live prediction off the GUI thread, always on the latest drawing only.

The GUI thread calls :meth:`PredictionService.request` with a snapshot of the
canvas (a numpy array, or ``None`` for a blank canvas). The worker, living in
its own QThread, holds at most ONE pending request in a lock-protected slot: a
request arriving while the model is busy replaces the pending one, so stale
drawings are never queued. Results come back to the GUI thread through
signals, tagged with a generation number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from digitpad.errors import one_line
from digitpad.ui.mailbox import Mailbox
from digitpad.ui.workers import WAIT_MS, start_thread, stop_thread

if TYPE_CHECKING:  # pragma: no cover - types only; the GUI never needs TensorFlow for these
    from digitpad.contracts import Prediction

BLANK_ABOVE = 250  # an array with no pixel darker than this is blank paper


def is_blank_array(array: np.ndarray) -> bool:
    """True when a black-on-white snapshot holds no ink at all."""
    return array.size == 0 or int(array.min()) > BLANK_ABOVE


@dataclass(frozen=True)
class _Job:
    generation: int
    array: np.ndarray | None  # None: blank canvas


class _Worker(QObject):
    """Runs predictions in the service's thread; touches no widget."""

    done = Signal(object, int)  # Prediction, generation
    error = Signal(str, int)

    def __init__(self) -> None:
        super().__init__()
        self.mailbox: Mailbox[_Job] = Mailbox()  # the job, and the predictor as its context
        self.calls = 0

    @Slot()
    def drain(self) -> None:
        """Handle pending jobs until none is left; a drawing waits while no model is set."""
        from digitpad.contracts import blank_prediction
        from digitpad.ml.blas import one_blas_thread  # small products: one thread is faster on a busy CPU

        while (taken := self.mailbox.take(lambda job, predictor: job.array is None or predictor is not None)):
            job, predictor = taken
            if job.array is None or is_blank_array(job.array):
                self.done.emit(blank_prediction(), job.generation)
                continue
            try:
                self.calls += 1
                with one_blas_thread():
                    prediction = predictor.predict(job.array)
            except Exception as exc:  # a model error must not kill the worker
                self.error.emit(one_line(exc), job.generation)
                continue
            self.done.emit(prediction, job.generation)


class PredictionService(QObject):
    """GUI-side handle: ``request()`` snapshots, receive ``predicted``/``failed``."""

    predicted = Signal(object, int)  # the Prediction and the generation of the request it answers
    failed = Signal(str, int)  # a one-line message and the generation
    _wake = Signal()

    def __init__(self, predictor: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._accept_from = 0  # results older than the last predictor swap are dropped
        self._last: _Job | None = None
        self._worker = _Worker()
        self._worker.mailbox.set_context(predictor)
        self._wake.connect(self._worker.drain)
        self._worker.done.connect(self._on_done)
        self._worker.error.connect(self._on_error)
        self._thread = start_thread(self._worker, self, "digitpad-prediction", serve=True)
        self._running = True
        app = QCoreApplication.instance()
        if app is not None:  # a safety net; owners call shutdown() themselves
            app.aboutToQuit.connect(self.shutdown)

    @property
    def predictor(self) -> Any:
        return self._worker.mailbox.context

    @property
    def generation(self) -> int:
        """Number of the latest request."""
        return self._generation

    @property
    def model_calls(self) -> int:
        """How many times the model was actually called (blank canvases excluded)."""
        return self._worker.calls

    def is_idle(self) -> bool:
        """True when no request is pending or running."""
        return not self._worker.mailbox.busy()

    def request(self, array: np.ndarray | None) -> int:
        """Ask for a prediction of ``array`` (None: blank); returns its generation."""
        if self._submit(array) and self._running:
            self._wake.emit()
        return self._generation

    def set_predictor(self, predictor: Any) -> None:
        """Make ``predictor`` the model for later requests and re-run the last drawing with it."""
        self._accept_from = self._generation + 1
        wake = self._worker.mailbox.set_context(predictor)
        if self._last is not None:
            wake = self._submit(self._last.array) or wake
        if wake and self._running:
            self._wake.emit()

    def _submit(self, array: np.ndarray | None) -> bool:
        """Hand a new job to the worker; True when the worker must be woken."""
        self._generation += 1
        job = _Job(self._generation, None if array is None else np.ascontiguousarray(array))
        self._last = job
        return self._running and self._worker.mailbox.put(job)

    def shutdown(self, timeout_ms: int = WAIT_MS) -> None:
        """Stop the worker thread; wait at most ``timeout_ms`` (a running prediction finishes first)."""
        if not self._running:
            return
        self._running = False
        stop_thread(self._thread, timeout_ms)

    @Slot(object, int)
    def _on_done(self, prediction: Prediction, generation: int) -> None:
        if self._running and generation >= self._accept_from:
            self.predicted.emit(prediction, generation)

    @Slot(str, int)
    def _on_error(self, message: str, generation: int) -> None:
        if self._running and generation >= self._accept_from:
            self.failed.emit(message, generation)
