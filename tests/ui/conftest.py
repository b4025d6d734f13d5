"""Fixtures for GUI tests: a fake predictor, isolated settings, stroke drawing, a thread-leak guard.

GUI-logic tests never load TensorFlow: ``FakePredictor`` answers from the amount
of ink, so different drawings give different, predictable answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QThread
from PySide6.QtWidgets import QApplication, QWidget

from digitpad.errors import ModelError
from digitpad.ui import qtfix  # noqa: F401  - PySide6 6.12 loses None/True references on CPython 3.11
from digitpad.contracts import ModelInfo, Prediction, from_probabilities


class FakePredictor:
    """Predictor stand-in: digit = (number of inked pixels // 7) % 10, 0.91 sure.

    ``probabilities``: fixed answer instead (for the "not sure" case);
    ``delay``: seconds each call sleeps (to test that stale requests are dropped);
    ``error``: raise this instead of answering.
    """

    def __init__(self, name: str = "fake model", path: str = "fake.keras", delay: float = 0.0,
                 probabilities: Sequence[float] | None = None, error: Exception | None = None,
                 bundled: bool = False) -> None:
        self.info = ModelInfo(path=path, name=name, test_accuracy=0.9912, date="2024-05-01", bundled=bundled,
                              metadata={"epochs": 3})
        self.delay = delay
        self.fixed = None if probabilities is None else np.asarray(probabilities, np.float32)
        self.error = error
        self.arrays: list[np.ndarray] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.arrays)

    @staticmethod
    def expected_digit(array: np.ndarray) -> int:
        return int(np.count_nonzero(np.asarray(array) < 128) // 7) % 10

    def probabilities_for(self, array: np.ndarray) -> np.ndarray:
        if self.fixed is not None:
            return self.fixed
        probs = np.full(10, 0.01, np.float32)
        probs[self.expected_digit(array)] = 0.91
        return probs

    @staticmethod
    def small(array: np.ndarray) -> np.ndarray:
        """A 28x28 white-on-black float image, like the one the real model sees."""
        a = np.asarray(array, np.float32)
        ys = np.linspace(0, a.shape[0] - 1, 28).astype(int)
        xs = np.linspace(0, a.shape[1] - 1, 28).astype(int)
        return 1.0 - a[np.ix_(ys, xs)] / 255.0

    def predict(self, source: Any) -> Prediction:
        array = np.asarray(source)
        with self._lock:
            self.arrays.append(np.array(array, copy=True))
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return from_probabilities(self.probabilities_for(array), self.small(array))

    def predict_many(self, sources: Sequence[Any] | Iterable[Any]) -> list[Prediction]:
        return [self.predict(source) for source in sources]

    def predict_prepared(self, image: np.ndarray) -> Prediction:
        return from_probabilities(self.probabilities(image[np.newaxis])[0], image)

    def predict_prepared_many(self, images: np.ndarray) -> list[Prediction]:
        return [from_probabilities(p, image) for p, image in zip(self.probabilities(images), images)]

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """For already-normalised white-on-black images: the ink rule on their paper form."""
        paper = [255.0 - np.asarray(image, np.float32) * 255.0 for image in images]
        return np.stack([self.probabilities_for(a) for a in paper]) if paper else np.zeros((0, 10), np.float32)


@pytest.fixture
def fake_predictor() -> FakePredictor:
    return FakePredictor()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Settings in a private INI file, so tests never share state."""
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


class LoadRecorder:
    """Replacement for ``digitpad.ml.inference.load_predictor``: fast, records paths."""

    def __init__(self) -> None:
        self.paths: list[str | None] = []
        self.broken: set[str] = set()

    def __call__(self, path: str | Path | None = None) -> FakePredictor:
        self.paths.append(None if path is None else str(path))
        if path is None:
            return FakePredictor(name="bundled fake", path="", bundled=True)
        if str(path) in self.broken:
            raise ModelError(f"{Path(path).name} is not a digitpad model")
        return FakePredictor(name=f"fake from {Path(path).name}", path=str(path))


@pytest.fixture
def cheap_loader(monkeypatch: pytest.MonkeyPatch) -> LoadRecorder:
    """Make the background model loader instant (no TensorFlow)."""
    import digitpad.ml.inference

    recorder = LoadRecorder()
    monkeypatch.setattr(digitpad.ml.inference, "load_predictor", recorder)
    return recorder


@pytest.fixture
def warnings_shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record QMessageBox.warning texts instead of blocking on a modal dialog."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k: shown.append(text)))
    return shown


def line(start: tuple[int, int], end: tuple[int, int], steps: int = 12) -> list[tuple[int, int]]:
    """Points from ``start`` to ``end`` inclusive."""
    return [(round(start[0] + (end[0] - start[0]) * i / steps), round(start[1] + (end[1] - start[1]) * i / steps))
            for i in range(steps + 1)]


def draw(qtbot: Any, canvas: QWidget, points: Sequence[tuple[int, int]]) -> None:
    """Draw one stroke with real mouse press/move/release events."""
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, pos=QPoint(*point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[-1]))


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone, so it was not running
        return False


@pytest.fixture(autouse=True)
def no_thread_leaks(monkeypatch: pytest.MonkeyPatch, qapp: QApplication) -> Iterator[list[QThread]]:
    """Fail a test that leaves a QThread running (pytest-qt has closed its widgets by now)."""
    started: list[QThread] = []
    original: Callable[..., Any] = QThread.start

    def start(self: QThread, *args: Any, **kwargs: Any) -> Any:
        started.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    deadline = time.monotonic() + 2.0
    while any(_running(t) for t in started) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    leaked = [t for t in started if _running(t)]
    for thread in leaked:  # stop them anyway so the next test starts clean
        thread.quit()
        thread.wait(30_000)
    if leaked:
        pytest.fail(f"{len(leaked)} QThread(s) still running after the test: "
                    + ", ".join(t.objectName() or type(t).__name__ for t in leaked))


@pytest.fixture
def show(qtbot: Any) -> Iterator[Callable[[QWidget], Any]]:
    """Register, show and expose a widget; keeps it alive until pytest-qt has closed it."""
    kept: list[QWidget] = []

    def _show(widget: QWidget) -> Any:
        qtbot.addWidget(widget)
        kept.append(widget)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    yield _show
    for widget in kept:  # what the window's shutdown does for its tabs (a tab alone has no window)
        shutdown = getattr(widget, "shutdown", None)
        if callable(shutdown):
            shutdown()
    kept.clear()


@pytest.fixture(scope="session", autouse=True)
def _no_modal_dialogs() -> Any:
    """A modal QMessageBox would block a headless run forever (for example a close
    that asks about running training while pytest-qt tears a window down). For the
    whole session they answer at once: Yes / Ok. Tests that want to see or steer a
    dialog monkeypatch it themselves; their patch wins and is undone back to this."""
    from PySide6.QtWidgets import QMessageBox

    Button = QMessageBox.StandardButton
    answers = {"question": Button.Yes, "warning": Button.Ok, "information": Button.Ok, "critical": Button.Ok}
    saved = {name: getattr(QMessageBox, name) for name in answers}
    for name, answer in answers.items():
        setattr(QMessageBox, name, staticmethod(lambda *args, _answer=answer, **kwargs: _answer))
    from PySide6.QtWidgets import QInputDialog

    get_text = QInputDialog.getText  # answers with the text it offers, as if OK were pressed
    QInputDialog.getText = staticmethod(lambda parent, title, label, mode=None, text="", *a, **k: (text, True))
    yield
    for name, original in saved.items():
        setattr(QMessageBox, name, original)
    QInputDialog.getText = get_text


STROKE = line((140, 40), (140, 220))  # a vertical bar through the middle of a 280 px canvas


@pytest.fixture
def window(show: Callable[[Any], Any], fake_predictor: FakePredictor, settings: QSettings) -> Any:
    """A shown MainWindow with the fake predictor and isolated settings."""
    from digitpad.ui.main_window import MainWindow

    return show(MainWindow(predictor=fake_predictor, settings=settings))


def correction_button(parent: QWidget, digit: int) -> Any:
    """The "Wrong? It's a …" button for ``digit`` inside ``parent`` (a window or the Draw tab)."""
    from PySide6.QtWidgets import QPushButton

    found = parent.findChild(QPushButton, f"correct{digit}")
    assert found is not None, f"no button correct{digit}"
    return found
