"""Load a model on a worker thread, remembering what each load is for.

``digitpad.ml.inference`` is imported inside the worker, never at module level.
For the tutorial CNN it reads the weights without TensorFlow; any other model
loads TensorFlow there, off the GUI thread. Only the newest request's outcome
is reported: if the user opens model A and then model B before A has loaded,
A's result is dropped.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from digitpad.errors import DigitpadError, one_line
from digitpad.ui.workers import WAIT_MS, run_in_thread, stop_thread


class LoadPurpose(enum.Enum):
    """Why a load was started; decides what success and failure mean to the window."""

    START = "start"  # the bundled model at launch
    REMEMBERED = "remembered"  # the model the person chose last time
    FALLBACK = "fallback"  # the bundled model after the remembered one failed
    OPEN = "open"  # Model → Open model…
    RESET = "reset"  # Model → Use the bundled model


def load_message(exc: BaseException, path: str | None) -> str:
    """A user-facing one-line message; DigitpadError messages already name the file."""
    if isinstance(exc, DigitpadError):
        return one_line(exc)
    name = Path(path).name if path else "the bundled model"
    return f"Could not load {name}: {one_line(exc)}"


def _load(path: str | None) -> Any:
    from digitpad.ml import inference  # looked up at call time, so tests can swap load_predictor

    return inference.load_predictor(path)


class ModelLoader(QObject):
    """Starts background loads; emits ``loaded(predictor, purpose)`` or ``failed(message, purpose)``."""

    loaded = Signal(object, object)  # a Predictor, the LoadPurpose
    failed = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[QThread] = []
        self._ticket = 0
        self._pending = 0  # the ticket still to be answered (0: none)
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
        return self._pending == self._ticket and self._pending != 0

    def load(self, path: str | Path | None, purpose: LoadPurpose) -> None:
        """Start loading ``path`` (None: the bundled model) on a worker thread."""
        self._ticket += 1
        ticket, self._pending = self._ticket, self._ticket
        self._path = None if path is None else str(path)
        where = self._path

        def returned(predictor: Any) -> None:
            if ticket == self._ticket:
                self._pending = 0
                self.loaded.emit(predictor, purpose)

        def errored(exc: BaseException) -> None:
            if ticket == self._ticket:
                self._pending = 0
                self.failed.emit(load_message(exc, where), purpose)

        _, thread = run_in_thread(lambda: _load(where), self, "digitpad-model-loader", returned, errored)
        self._threads = [t for t in self._threads if not stop_thread(t, 0)] + [thread]

    def shutdown(self, timeout_ms: int = WAIT_MS) -> None:
        """Forget every load in flight and wait, at most ``timeout_ms`` each, for their threads."""
        self._ticket += 1  # nothing that finishes now is reported
        self._pending = 0
        for thread in list(self._threads):
            stop_thread(thread, timeout_ms)
        self._threads.clear()
