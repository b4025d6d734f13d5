"""Accessibility: names and tooltips on every control, keyboard tab order, the spoken reading."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QCheckBox, QComboBox, QLabel, QWidget

from digitpad.contracts import blank_prediction, from_probabilities
from digitpad.ui.draw_tab import spoken_text
from digitpad.ui.main_window import MainWindow
from tests.ui.conftest import FakePredictor, draw, line

CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QCheckBox)
# Result labels, charts and the canvas: not controls, but they carry what the user needs to know.
CARRIERS = ["canvas", "predictionLabel", "confidenceLabel", "probabilityChart", "previewImage", "lossChart",
            "accuracyChart", "epochTable", "confusionMatrix", "misclassifiedGallery", "testAccuracyLabel"]


@pytest.fixture
def window(show, fake_predictor: FakePredictor, settings: QSettings) -> MainWindow:
    return show(MainWindow(predictor=fake_predictor, settings=settings))


def _unnamed_visible_controls(window: MainWindow) -> list[str]:
    missing = []
    for kind in CONTROLS:
        for widget in window.findChildren(kind):
            if widget.isVisible() and not (widget.accessibleName().strip() and widget.toolTip().strip()):
                text = widget.text() if hasattr(widget, "text") else ""
                missing.append(f"{type(widget).__name__} {widget.objectName()!r} text={text!r}")
    return missing


def test_every_visible_control_has_an_accessible_name_and_a_tooltip(qtbot, window: MainWindow) -> None:
    draw(qtbot, window.draw_tab.canvas, line((60, 60), (200, 200)))
    window.train_tab.evaluation.all_errors_button.setEnabled(True)
    checked: set[str] = set()
    missing: list[str] = []
    pages = [(window.draw_tab, None)] + [(window.train_tab, i) for i in range(window.train_tab.views.count())]
    for page, view in pages:  # the Draw tab, then the Train tab with each of its views
        window.tabs.setCurrentWidget(page)
        if view is not None:
            window.train_tab.views.setCurrentIndex(view)
        qtbot.wait(10)
        for kind in CONTROLS:
            checked |= {w.objectName() for w in window.findChildren(kind) if w.isVisible()}
        missing += _unnamed_visible_controls(window)
    assert not missing, "\n".join(sorted(set(missing)))
    # the walk really saw both tabs' controls (an empty walk would pass vacuously)
    assert {"undoButton", "redoButton", "clearButton", "brushSize", "epochsSpin", "precisionCombo",
            "augmentCheck", "startButton", "saveModelButton", "showAllErrorsButton"} <= checked


def test_canvas_charts_and_result_labels_have_names_and_tooltips(window: MainWindow) -> None:
    for name in CARRIERS:
        widget = window.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName().strip(), f"{name} has no accessible name"
        assert widget.toolTip().strip(), f"{name} has no tooltip"


def _tab_through(qtbot, window: MainWindow, start: QWidget, presses: int) -> list[QWidget]:
    """Press Tab ``presses`` times from ``start``; the widgets that got the focus, in order."""
    start.setFocus(Qt.FocusReason.OtherFocusReason)
    assert window.focusWidget() is start
    visited = []
    for _ in range(presses):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        visited.append(window.focusWidget())
    return visited


def test_draw_tab_tab_order(qtbot, window: MainWindow) -> None:
    tab = window.draw_tab
    draw(qtbot, tab.canvas, line((60, 60), (200, 200)))
    draw(qtbot, tab.canvas, line((60, 200), (200, 60)))
    tab.canvas.undo()  # now Undo, Redo and Clear are all enabled (Tab skips disabled buttons)
    expected = [tab.brushSize, tab.undoButton, tab.redoButton, tab.clearButton]
    visited = _tab_through(qtbot, window, tab.canvas, len(expected))
    assert visited == expected, [w.objectName() for w in visited]


def test_train_tab_tab_order(qtbot, window: MainWindow) -> None:
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    listed = [tab.epochs_spin, tab.batch_spin, tab.lr_spin, tab.validation_spin, tab.limit_spin, tab.seed_spin,
              tab.augment_check, tab.precision_combo, tab.start_button, tab.stop_button, tab.use_button,
              tab.save_button]
    for widget in listed:
        widget.setEnabled(True)  # Stop, Use and Save wait for a run; the order must already be right
    left_column = tab.settings_box.parentWidget()
    visited = _tab_through(qtbot, window, tab.epochs_spin, 30)
    visited = visited[:visited.index(tab.save_button) + 1]
    assert [w for w in visited if w in listed] == listed[1:], [w.objectName() for w in visited]
    # anything else on the way (a button added later) sits in the same column: no jumps to the charts
    assert all(left_column.isAncestorOf(w) for w in visited), [w.objectName() for w in visited]


def test_keyboard_focus_on_the_canvas_is_visible_but_not_drawn(qtbot, window: MainWindow) -> None:
    """Tabbing onto the canvas shows a focus frame; the model's input stays blank paper."""
    canvas = window.draw_tab.canvas
    window.draw_tab.brushSize.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.keyClick(window.draw_tab.brushSize, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert window.focusWidget() is canvas
    shot = canvas.grab().toImage()
    edge = shot.pixelColor(1, shot.height() // 2)
    assert edge != shot.pixelColor(shot.width() // 2, shot.height() // 2)  # the frame is painted
    assert int(canvas.to_array().min()) == 255


@pytest.mark.parametrize("probabilities, expected", [
    ([0.01] * 7 + [0.91, 0.01, 0.03], "The model reads 7, 91 % sure"),
    ([0.0, 0.0, 0.0, 0.0, 0.45, 0.0, 0.0, 0.0, 0.0, 0.55], "The model is not sure: 9 or 4"),
])
def test_spoken_reading_is_a_sentence(probabilities: list[float], expected: str) -> None:
    prediction = from_probabilities(np.asarray(probabilities, np.float32), np.zeros((28, 28), np.float32))
    assert spoken_text(prediction) == expected
    assert spoken_text(blank_prediction()) == "No digit drawn"


def test_prediction_is_announced_in_the_accessible_description(qtbot, window: MainWindow,
                                                               fake_predictor: FakePredictor) -> None:
    tab = window.draw_tab
    label: QLabel = tab.predictionLabel
    assert label.accessibleDescription() == "No digit drawn"
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    qtbot.waitUntil(lambda: tab.prediction is not None and not tab.prediction.blank, timeout=3000)
    digit = fake_predictor.expected_digit(fake_predictor.arrays[-1])
    qtbot.waitUntil(lambda: label.text() == str(digit), timeout=3000)
    assert label.accessibleDescription() == f"The model reads {digit}, 91 % sure"
    assert tab.probabilityChart.accessibleDescription().startswith(f"Most likely: {digit} 91 %")
