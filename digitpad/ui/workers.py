"""One discipline for background work: a QObject worker on a QThread that has a parent.

Every thread made here has a Qt parent, its worker and the thread itself are
``deleteLater``'d when the thread finishes, and every wait has a time limit.
Functions are passed directly (no method names as strings). The shape follows
superqt's ``create_worker``: ``started``, ``returned``, ``errored``, ``finished``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

WAIT_MS = 5_000  # the longest any shutdown waits for one thread


class FunctionWorker(QObject):
    """Calls ``function()`` once in its thread; reports the value or the exception."""

    started = Signal()
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()  # always, last

    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__()
        self._function = function

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            value = self._function()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none kills the thread
            self.errored.emit(exc)
        else:
            self.returned.emit(value)
        finally:
            self.finished.emit()


def start_thread(worker: QObject, parent: QObject, name: str, done: Any = None, serve: bool = False) -> QThread:
    """Move ``worker`` to a new thread owned by ``parent`` and start it.

    The thread's start calls ``worker.run``, and the worker's ``done`` signal
    (default ``worker.finished``) ends the thread. ``serve``: neither; the
    worker answers queued calls until :func:`stop_thread`. When the thread
    finishes, the worker and the thread are deleted later.
    """
    thread = QThread(parent)
    thread.setObjectName(name)
    thread.worker = worker  # type: ignore[attr-defined]  # the unparented worker lives as long as its thread
    worker.moveToThread(thread)
    if not serve:
        thread.started.connect(worker.run)  # type: ignore[attr-defined]
        (done if done is not None else worker.finished).connect(thread.quit)  # type: ignore[attr-defined]
    thread.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


def run_in_thread(function: Callable[[], Any], parent: QObject, name: str = "digitpad-worker",
                  on_returned: Callable[[Any], None] | None = None,
                  on_errored: Callable[[BaseException], None] | None = None) -> tuple[FunctionWorker, QThread]:
    """Run ``function()`` on a new thread; the callbacks run in ``parent``'s thread."""
    worker = FunctionWorker(function)
    relay = _Relay(parent, on_returned, on_errored)
    worker.returned.connect(relay.returned)
    worker.errored.connect(relay.errored)
    worker.finished.connect(relay.deleteLater)
    thread = start_thread(worker, parent, name)
    return worker, thread


def stop_thread(thread: QThread | None, timeout_ms: int = WAIT_MS) -> bool:
    """Ask ``thread``'s event loop to quit and wait at most ``timeout_ms``; True when it ended."""
    if thread is None:
        return True
    try:
        if not thread.isRunning():
            return True
        thread.quit()
        ended = thread.wait(timeout_ms)
    except RuntimeError:  # already deleted by deleteLater: it has ended
        return True
    if not ended:
        log.warning("thread %s still running after %d ms", thread.objectName(), timeout_ms)
    return ended


class _Relay(QObject):
    """Lives in the parent's thread, so the callbacks run there (queued from the worker)."""

    def __init__(self, parent: QObject, on_returned: Callable[[Any], None] | None,
                 on_errored: Callable[[BaseException], None] | None) -> None:
        super().__init__(parent)
        self._on_returned, self._on_errored = on_returned, on_errored

    @Slot(object)
    def returned(self, value: Any) -> None:
        if self._on_returned is not None:
            self._on_returned(value)

    @Slot(object)
    def errored(self, exc: BaseException) -> None:
        if self._on_errored is not None:
            self._on_errored(exc)
