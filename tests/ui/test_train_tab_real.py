"""One real (short) training through the Train tab, then its model at work on the Draw tab.

Uses the default trainer (the real KerasTrainer, TensorFlow in the worker thread)
on a small slice of the bundled MNIST: 2000 images, 1 epoch, 1000 for validation.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QSpinBox, QTableWidget

from digitpad.ui.training_charts import TRAIN_LOSS, VAL_ACCURACY

pytestmark = pytest.mark.slow

LEFT = Qt.MouseButton.LeftButton
TRAIN_TIMEOUT_MS = 240_000  # ~30 s on an idle laptop; CI machines can be much busier


def test_real_training_through_the_tab_reaches_the_draw_tab(qtbot: Any, settings: Any, fake_predictor: Any,
                                                             no_thread_leaks: list[QThread]) -> None:
    from digitpad.ui.main_window import MainWindow

    window = MainWindow(predictor=fake_predictor, settings=settings)  # trainer None: the real one
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.findChild(QSpinBox, "limitSpin").setValue(2000)
    tab.findChild(QSpinBox, "epochsSpin").setValue(1)
    tab.findChild(QSpinBox, "validationSpin").setValue(1000)
    assert tab.trainer is None

    with qtbot.waitSignal(tab.runningChanged, timeout=TRAIN_TIMEOUT_MS,
                          check_params_cb=lambda running: not running):
        qtbot.mouseClick(tab.findChild(QPushButton, "startButton"), LEFT)

    error = tab.findChild(QLabel, "trainError")
    assert not error.isVisible(), error.text()
    outcome = tab.outcome
    assert outcome is not None and not outcome.result.stopped
    assert outcome.result.train_images == 2000 and len(outcome.result.history) == 1
    match = re.fullmatch(r"test accuracy (\d+\.\d\d) %", tab.findChild(QLabel, "testAccuracyLabel").text())
    assert match and float(match.group(1)) > 50.0
    assert float(match.group(1)) == pytest.approx(outcome.evaluation.accuracy * 100, abs=0.006)
    assert len(tab.charts.loss.series_points(TRAIN_LOSS)) == 1
    assert len(tab.charts.accuracy.series_points(VAL_ACCURACY)) == 1
    assert tab.findChild(QTableWidget, "epochTable").rowCount() == 1
    matrix = tab.findChild(QTableWidget, "confusionMatrix")
    assert sum(int(matrix.item(r, c).text()) for r in range(10) for c in range(10)) == 10_000
    training = [t for t in no_thread_leaks if t.objectName() == "digitpad-training"]
    assert len(training) == 1 and training[0].isFinished()

    # "Use this model": the Draw tab now reads with the freshly trained predictor.
    assert window.predictor() is fake_predictor
    qtbot.mouseClick(tab.findChild(QPushButton, "useModelButton"), LEFT)
    assert window.predictor() is outcome.predictor
    assert window.status_text().startswith(outcome.predictor.info.describe())

    # A test image from the gallery goes onto the canvas and is read by the new model.
    rect = matrix.visualItemRect(matrix.item(1, 1))
    qtbot.mouseClick(matrix.viewport(), LEFT, pos=rect.center())
    gallery = tab.findChild(QListWidget, "misclassifiedGallery")
    assert gallery.count() > 0
    with qtbot.waitSignal(window.draw_tab.predictionShown, timeout=30_000,
                          check_params_cb=lambda p: not p.blank) as shown:
        qtbot.mouseClick(gallery.viewport(), LEFT, pos=gallery.visualItemRect(gallery.item(0)).center())
    assert window.tabs.currentWidget() is window.draw_tab
    probabilities = np.sort(shown.args[0].probabilities)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-3)
    assert not np.allclose(probabilities, [0.01] * 9 + [0.91])  # not the fake model's answer
    assert fake_predictor.calls == 0  # the old model was never asked about it
    window.close()
