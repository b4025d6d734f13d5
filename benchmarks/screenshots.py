"""Screenshots of digitpad in the light and the dark theme, for the docs and for checking the look.

Builds the real window with the bundled model, offscreen, in Fusion with a
light and then a dark palette; draws a 7 with real mouse events, waits for the
reading and saves the Draw tab in both themes, then the Inside tab on a drawn 4
with "Why this answer?" on. Then it trains the real CNN on a
small slice (6000 images, 3 epochs) and saves the Train tab right after the
2nd epoch ends. Settings go to a temporary file, never the user's.

Run: ``python benchmarks/screenshots.py [--out docs] [--extras DIR] [--no-train]``
(``QT_QPA_PLATFORM`` defaults to ``offscreen``; try ``QT_SCALE_FACTOR=2`` for HiDPI).
``--extras`` also saves the Train tab in the dark theme and the Evaluation view in both.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from digitpad.ui import qtfix  # noqa: E402,F401  - before any emit (PySide6 6.12 refcount bug)
from digitpad.ui.main_window import MainWindow  # noqa: E402
from digitpad.ui.theme import Scheme, use_scheme  # noqa: E402

SIZE = (1040, 660)
SEVEN = [((0.25, 0.22), (0.75, 0.22)), ((0.75, 0.22), (0.45, 0.82))]  # strokes, in fractions of the canvas
FOUR = [((0.38, 0.18), (0.28, 0.62)), ((0.28, 0.62), (0.75, 0.62)), ((0.62, 0.3), (0.62, 0.86))]
INSIDE_SIZE = (1280, 960)  # the whole strip to the dense mosaic, and the look-alikes


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let layouts, repaints and chart re-styling finish."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def draw_strokes(canvas: QWidget, strokes: list[tuple[tuple[float, float], tuple[float, float]]]) -> None:
    """Draw straight strokes with real mouse press, move and release events."""
    w, h = canvas.width(), canvas.height()
    for (x0, y0), (x1, y1) in strokes:
        points = [QPoint(round((x0 + (x1 - x0) * i / 16) * w), round((y0 + (y1 - y0) * i / 16) * h))
                  for i in range(17)]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for point in points[1:]:
            QTest.mouseMove(canvas, point)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def save(app: QApplication, widget: QWidget, path: Path) -> None:
    settle(app)
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"saved {path}")


def in_scheme(app: QApplication, scheme: Scheme) -> None:
    use_scheme(app, scheme)
    settle(app)


def draw_screenshots(app: QApplication, window: MainWindow, out: Path) -> None:
    wait_until(app, lambda: window.predictor() is not None, 180, "the bundled model")
    window.tabs.setCurrentWidget(window.draw_tab)
    settle(app)
    tab = window.draw_tab
    shown: list[float] = []
    tab.predictionShown.connect(lambda _prediction: shown.append(time.monotonic()))
    draw_strokes(tab.canvas, SEVEN)
    # the last reading: one came after the pen went up, and none for half a second since
    wait_until(app, lambda: bool(shown) and time.monotonic() - shown[-1] > 0.5 and not tab.prediction.blank,
               60, "the reading of the finished drawing")
    print(f"reading: {tab.predictionLabel.text()} ({tab.confidenceLabel.text()})")
    for scheme in ("light", "dark"):
        in_scheme(app, scheme)
        save(app, window, out / f"screenshot-draw-{scheme}.png")


def inside_screenshot(app: QApplication, window: MainWindow, out: Path) -> None:
    """The Inside tab on a drawn 4 with "Why this answer?" on (light theme)."""
    in_scheme(app, "light")
    tab = window.draw_tab
    window.tabs.setCurrentWidget(tab)
    tab.canvas.clear()
    draw_strokes(tab.canvas, FOUR)
    wait_until(app, lambda: tab.service.is_idle() and tab.predictionLabel.text() == "4", 60, "the reading of the 4")
    inside = window.inside_tab
    window.resize(*INSIDE_SIZE)
    window.tabs.setCurrentWidget(inside)
    inside.why_check.setChecked(True)
    settle(app, 1.0)
    wait_until(app, lambda: inside.is_idle() and not inside.message.text().startswith("Computing"), 180,
               "the Inside tab's maps and the 'why' maps")
    wait_until(app, lambda: inside.result is not None and inside.result.lookalikes is not None, 600,
               "the look-alikes (the first time, the index of 60,000 training digits is built)")
    settle(app, 0.5)
    save(app, window, out / "screenshot-inside.png")
    window.resize(*SIZE)


def train_screenshots(app: QApplication, window: MainWindow, out: Path, extras: Path | None) -> None:
    """Train 3 epochs on 6000 images; grab after epoch 2, and (extras) the evaluation afterwards."""
    in_scheme(app, "light")
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.epochs_spin.setValue(3)
    tab.limit_spin.setValue(6000)
    tab.validation_spin.setValue(1000)
    shots: list[str] = []

    def on_epoch(end: Any) -> None:
        if end.epoch == 2 and not shots:
            shots.append("epoch 2")
            save(app, window, out / "screenshot-train.png")
            if extras is not None:
                in_scheme(app, "dark")
                save(app, window, extras / "screenshot-train-dark.png")
                in_scheme(app, "light")

    if not tab.start_training():
        raise RuntimeError(f"training refused: {tab.error_label.text()}")
    run = tab.current_run
    assert run is not None
    run.epochEnded.connect(on_epoch)  # after the tab's own slot: the charts already show epoch 2
    wait_until(app, lambda: not tab.is_training(), 900, "training and evaluation")
    if not shots:
        raise RuntimeError(f"training ended before epoch 2: {tab.error_label.text()}")
    if extras is not None and tab.outcome is not None:
        for scheme in ("light", "dark"):
            in_scheme(app, scheme)
            save(app, window, extras / f"screenshot-evaluation-{scheme}.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    parser.add_argument("--extras", type=Path, default=None, help="also save dark Train and Evaluation views here")
    parser.add_argument("--no-train", action="store_true", help="only the Draw and Inside tab screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.extras is not None:
        args.extras.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("digitpad")
    use_scheme(app, "light")
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("hints/drawShown", True)
        window = MainWindow(settings=settings)
        window.resize(*SIZE)
        window.show()
        try:
            draw_screenshots(app, window, args.out)
            inside_screenshot(app, window, args.out)
            if not args.no_train:
                train_screenshots(app, window, args.out, args.extras)
        finally:
            window.shutdown()
            window.deleteLater()
            settle(app, 0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
