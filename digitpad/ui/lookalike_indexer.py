"""The look-alike index of the Inside tab's model: read from its cache or built, on a thread of its own.

Nothing happens at launch: the tab calls :meth:`LookalikeIndexer.need` when a
drawing first asks for look-alikes, and only then is the cache read or the
60,000 training digits indexed (about a minute). The build runs on its own
thread, not the live maps' one, because it is one long computation: in chunks
on the maps' thread every stroke would wait for a chunk. Here the maps never
wait for it, and for the CPU the build thread stands back: it runs at a lower
OS priority (Linux: per-thread nice) with BLAS on one thread, so one core stays
free for the maps and the GUI. A model change or the window closing sets the
build's stop flag, which it checks before every chunk; the thread then ends
within a chunk (well under a second), and the tab waits for it at most
:data:`digitpad.ui.workers.WAIT_MS`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.errors import one_line
from digitpad.ui.workers import WAIT_MS, start_thread, stop_thread

CHUNK = 100  # training digits per forward pass: about 65 MB of im2col, a stop flag check every ~0.1-0.5 s
NICE = 10  # how much lower than the GUI the build thread runs (Linux)
DataLoader = Callable[[], Any]  # returns a digitpad.ml.data.Mnist (x_train, y_train, sha256)


@dataclass(frozen=True)
class Neighbours:
    """A model's look-alike index and the training images its rows point into."""

    index: Any  # digitpad.ml.lookalikes.LookalikeIndex
    images: np.ndarray  # (n, 28, 28) the training digits (uint8), for thumbnails


def default_data() -> Any:
    """The bundled MNIST."""
    from digitpad.ml.data import load_mnist

    return load_mnist()


class _IndexWorker(QObject):
    """Reads or builds one model's index in its thread; every signal carries the build's number."""

    progress = Signal(int, int, int)  # build, images done, total
    returned = Signal(int, object)  # build, Neighbours
    errored = Signal(int, str)  # build, one-line message
    finished = Signal()

    def __init__(self, build: int, net: Any, model_path: str, load_data: DataLoader, stop: threading.Event,
                 chunk: int) -> None:
        super().__init__()
        self._build, self._net, self._path, self._load_data = build, net, model_path, load_data
        self._stop, self._chunk = stop, chunk

    @Slot()
    def run(self) -> None:
        from digitpad.ml.blas import one_blas_thread
        from digitpad.ml.lookalikes import BuildCancelled, load_or_build

        stand_back()
        try:
            with one_blas_thread():
                data = self._load_data()
                if self._stop.is_set():
                    raise BuildCancelled("stopped before the build")
                index = load_or_build(self._net, self._path, data,
                                      progress=lambda done, total: self.progress.emit(self._build, done, total),
                                      cancelled=self._stop.is_set, chunk=self._chunk)
        except BuildCancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - a missing data set or a full disk must not kill the thread
            self.errored.emit(self._build, one_line(exc))
        else:
            self.returned.emit(self._build, Neighbours(index, data.x_train))
        finally:
            self.finished.emit()


def stand_back() -> None:
    """Lower the calling thread's CPU priority by :data:`NICE` (Linux threads have their own nice)."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))
    except OSError:  # not allowed here: the build still runs, only less politely
        pass


class LookalikeIndexer(QObject):
    """One model's look-alike index at a time; ``need`` starts reading or building it, ``ready`` says it came."""

    ready = Signal(str)  # the model path whose Neighbours are now available
    noteChanged = Signal(str)  # what to show while there are no look-alikes (progress, an error)

    def __init__(self, parent: QObject, load_data: DataLoader | None = None, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self.load_data: DataLoader = load_data or default_data
        self._chunk = chunk
        self._path = ""  # the model whose index is wanted
        self._neighbours: Neighbours | None = None  # the index of self._path, once there
        self._failed: dict[str, str] = {}  # model path -> why its index could not be had
        self._build = 0  # number of the latest build; results of older ones are dropped
        self._stop: threading.Event | None = None  # the running build's stop flag
        self._threads: list[QThread] = []  # every build thread not yet known to have ended
        self.note = ""
        self._running = True

    def neighbours(self, model_path: str) -> Neighbours | None:
        """The index of ``model_path`` if it is loaded; never starts anything."""
        return self._neighbours if model_path and model_path == self._path else None

    def building(self) -> bool:
        """True while a build thread is running."""
        self._prune()
        return bool(self._threads)

    def need(self, net: Any, model_path: str) -> Neighbours | None:
        """The index of ``model_path``, or None while it is read or built (started here, once per model)."""
        if not model_path:
            self._set_note("Look-alikes: only for a model saved in a file")
            return None
        if model_path != self._path:
            self.set_model(model_path)
        if self._neighbours is not None:
            return self._neighbours
        if model_path in self._failed:
            self._set_note(f"Look-alikes: {self._failed[model_path]}")
        elif self._stop is None and self._running:
            self._start(net, model_path)
        return None

    def set_model(self, model_path: str) -> None:
        """Forget the old model's index and stop its build (without waiting for it)."""
        if model_path == self._path:
            return
        self._cancel()
        self._path, self._neighbours, self.note = model_path, None, ""

    def shutdown(self, timeout_ms: int = WAIT_MS) -> bool:
        """Stop any build, waiting at most ``timeout_ms`` for each thread; True when all ended."""
        self._running = False
        self._cancel()
        ended = all([stop_thread(thread, timeout_ms) for thread in self._threads])
        self._prune()
        return ended

    def _start(self, net: Any, model_path: str) -> None:
        self._build += 1
        self._stop = threading.Event()
        worker = _IndexWorker(self._build, net, model_path, self.load_data, self._stop, self._chunk)
        worker.progress.connect(self._on_progress)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self._set_note("Look-alikes: reading the training digits…")
        self._prune()
        self._threads.append(start_thread(worker, self, "digitpad-lookalikes"))

    def _cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self._stop = None
        self._build += 1  # whatever the stopped build still sends is dropped

    def _prune(self) -> None:
        def running(thread: QThread) -> bool:
            try:
                return thread.isRunning()
            except RuntimeError:  # deleted after it finished
                return False

        self._threads = [thread for thread in self._threads if running(thread)]

    def _set_note(self, text: str) -> None:
        if text != self.note:
            self.note = text
            self.noteChanged.emit(text)

    @Slot(int, int, int)
    def _on_progress(self, build: int, done: int, total: int) -> None:
        if build != self._build:
            return
        if done < total:
            self._set_note(f"Indexing {total:,} training digits for look-alikes… {100 * done // total} %")
        else:
            self._set_note(f"Indexing {total:,} training digits for look-alikes… 100 %, saving")

    @Slot(int, object)
    def _on_returned(self, build: int, neighbours: Neighbours) -> None:
        if build != self._build:
            return
        self._stop, self._neighbours = None, neighbours
        self._set_note("")
        self.ready.emit(self._path)

    @Slot(int, str)
    def _on_errored(self, build: int, message: str) -> None:
        if build != self._build:
            return
        self._stop = None
        self._failed[self._path] = message
        self._set_note(f"Look-alikes: {message}")
