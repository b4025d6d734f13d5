"""Start-up timing marks for ``benchmarks/bench_startup.py`` (only with DIGITPAD_STARTUP_PROBE=1).

Prints ``probe <mark> <unix time>`` lines on stdout: ``window-painted`` (first
paint of the tabs, whichever is open), ``model-ready`` (a model is active) and
``first-prediction`` (the model's answer for a stroke drawn programmatically
once the model is ready is on screen). With ``quit_when_ready`` the window
closes after the last mark, or after ``model-failed`` when no model loads.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QTimer



class StartupProbe(QObject):
    """Watches one MainWindow and prints each mark once."""

    def __init__(self, window: Any, quit_when_ready: bool = False) -> None:
        super().__init__(window)
        self._window = window
        self._quit = quit_when_ready
        self._marks: set[str] = set()
        window.tabs.installEventFilter(self)  # the tab widget paints whichever tab was last open
        window.loader.loaded.connect(self._on_model_ready)  # after MainWindow's own slot: model is active
        window.loader.failed.connect(self._on_model_failed)
        window.draw_tab.predictionShown.connect(self._on_prediction)
        if window.predictor() is not None:
            QTimer.singleShot(0, self._on_model_ready)

    def mark(self, name: str) -> None:
        if name not in self._marks:
            self._marks.add(name)
            print(f"probe {name} {time.time():.6f}", flush=True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.mark("window-painted")
            watched.removeEventFilter(self)
        return False

    def _on_model_ready(self, *_: Any) -> None:
        if self._window.predictor() is None or "model-ready" in self._marks:
            return
        self.mark("model-ready")
        canvas = self._window.draw_tab.canvas
        w, h = canvas.width(), canvas.height()
        canvas.begin_stroke(QPointF(w / 2, h / 5))
        for i in range(1, 11):
            canvas.extend_stroke(QPointF(w / 2, h / 5 + i * h * 0.06))
        canvas.finish_stroke()

    def _on_model_failed(self, *_: Any) -> None:
        if self._window.predictor() is None:
            self.mark("model-failed")
            if self._quit:
                QTimer.singleShot(0, self._window.close)

    def _on_prediction(self, prediction: Any) -> None:
        if "model-ready" in self._marks and not prediction.blank:
            self.mark("first-prediction")
            if self._quit:
                QTimer.singleShot(0, self._window.close)
