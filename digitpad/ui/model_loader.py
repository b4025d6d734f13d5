"""Load a model in a background QThread so the window never freezes on TensorFlow.

``digitpad.ml.inference`` (and with it TensorFlow) is imported inside the
thread's ``run`` — never at module level — which keeps the window's start fast.
Only the newest request's outcome is reported: if the user opens model A and
then model B before A has loaded, A's result is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from digitpad.ui import qtfix  # noqa: F401  - must precede any emit (PySide6 6.12 refcount bug)


def _one_line(exc: BaseException, path: str | None) -> str:
    """A user-facing one-line message; DigitpadError messages are already written for users."""
    from digitpad.errors import DigitpadError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, DigitpadError):
        return text
    name = Path(path).name if path else "the bundled model"
    return f"Could not load {name}: {text}"


class _LoadThread(QThread):
    """Runs ``load_predictor(path)`` once and reports through its signals."""

    succeeded = Signal(object, int)
    failed = Signal(str, int)

    def __init__(self, path: str | None, ticket: int) -> None:
        super().__init__()
        self.path = path
        self.ticket = ticket
        self.setObjectName("digitpad-model-loader")

    def run(self) -> None:
        try:
            from digitpad.ml.inference import load_predictor  # TensorFlow loads here, off the GUI thread

            predictor = load_predictor(self.path)
        except Exception as exc:
            self.failed.emit(_one_line(exc, self.path), self.ticket)
            return
        self.succeeded.emit(predictor, self.ticket)


class ModelLoader(QObject):
    """Starts background loads; emits ``loaded(predictor)`` or ``failed(message)``."""

    loaded = Signal(object)  # a digitpad.ml.inference.Predictor
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[_LoadThread] = []
        self._ticket = 0
        self._path: str | None = None
        app = QCoreApplication.instance()
        if app is not None:  # a safety net; owners call shutdown() themselves
            app.aboutToQuit.connect(self.shutdown)

    @property
    def requested_path(self) -> str | None:
        """The path of the newest request (None: the bundled model)."""
        return self._path

    def is_loading(self) -> bool:
        """True while the newest request has not been answered yet."""
        return any(t.ticket == self._ticket and t.isRunning() for t in self._threads)

    def load(self, path: str | Path | None = None) -> None:
        """Start loading ``path`` (None: the bundled model) in a new thread."""
        self._ticket += 1
        self._path = None if path is None else str(path)
        thread = _LoadThread(self._path, self._ticket)
        thread.succeeded.connect(self._on_succeeded)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._reap)
        self._threads.append(thread)
        thread.start()

    def shutdown(self) -> None:
        """Wait for every load in flight (a load cannot be interrupted) and forget them."""
        self._ticket += 1  # nothing that finishes now is reported
        for thread in self._threads:
            thread.quit()
            thread.wait()
        self._threads.clear()

    @Slot(object, int)
    def _on_succeeded(self, predictor: Any, ticket: int) -> None:
        if ticket == self._ticket:
            self.loaded.emit(predictor)

    @Slot(str, int)
    def _on_failed(self, message: str, ticket: int) -> None:
        if ticket == self._ticket:
            self.failed.emit(message)

    @Slot()
    def _reap(self) -> None:
        """Drop finished threads (their signals have been delivered by now)."""
        self._threads = [t for t in self._threads if not t.isFinished()]
