"""Corrections on the Draw tab: "Wrong? It's a …" buttons and keys 0-9 save labelled samples.

Real mouse and key events throughout; the files on disk (under the per-test
XDG_DATA_HOME from tests/conftest.py) are checked, not just the signals.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QSpinBox

from digitpad.personal import SampleStore, samples_dir
from digitpad.ui.corrections import saved_text
from digitpad.ui.draw_tab import DrawTab
from digitpad.ui.main_window import MainWindow
from tests.ui.conftest import FakePredictor, STROKE, correction_button, draw, line

LEFT = Qt.MouseButton.LeftButton


button = correction_button


def press_key(qtbot: Any, window: Any, key: Qt.Key, target: Any = None) -> None:
    """Type ``key`` into ``target`` (default: the canvas) of the active window."""
    window.activateWindow()
    qtbot.waitActive(window)
    target = target if target is not None else window.draw_tab.canvas
    target.setFocus()
    qtbot.keyClick(target, key)


def saved_of(label: int) -> list[Any]:
    return [s for s in SampleStore().samples() if s.label == label]


def expected_image(canvas_array: np.ndarray) -> np.ndarray:
    """What FakePredictor hands over as the model's input, stored as uint8."""
    return np.clip(FakePredictor.small(canvas_array) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def test_button_and_key_save_what_the_model_saw_and_the_samples_view_counts_them(
        qtbot: Any, window: MainWindow) -> None:
    tab = window.draw_tab
    draw(qtbot, tab.canvas, STROKE)
    first = tab.canvas.to_array()
    qtbot.mouseClick(button(tab, 7), LEFT)
    qtbot.waitUntil(lambda: len(saved_of(7)) == 1, timeout=3000)

    draw(qtbot, tab.canvas, line((60, 60), (220, 200)))
    second = tab.canvas.to_array()
    assert not np.array_equal(first, second)
    press_key(qtbot, window, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: len(saved_of(3)) == 1, timeout=3000)

    for sample, canvas in ((saved_of(7)[0], first), (saved_of(3)[0], second)):
        assert sample.folder == samples_dir()
        np.testing.assert_array_equal(sample.image(), expected_image(canvas))
        with Image.open(sample.canvas_path) as raw:
            np.testing.assert_array_equal(np.asarray(raw), canvas)
        meta = json.loads((sample.folder / f"{sample.id}.json").read_text())
        assert meta["label"] == sample.label
    assert SampleStore().counts() == {**dict.fromkeys(range(10), 0), 3: 1, 7: 1}

    window.menu_actions.samples.trigger()  # Model -> My samples…
    dialog = window.samples_dialog
    assert dialog is not None and dialog.isVisible() and dialog.objectName() == "samplesDialog"
    counts = dialog.counts_label.text()
    assert "3: 1" in counts and "7: 1" in counts and "0: 0" in counts and "2 in all" in counts


def test_saving_confirms_with_the_count_and_clears_the_canvas_undoably(qtbot: Any, window: MainWindow) -> None:
    tab = window.draw_tab
    for n in (1, 2):
        draw(qtbot, tab.canvas, STROKE)
        qtbot.mouseClick(button(tab, 7), LEFT)
        qtbot.waitUntil(lambda: len(saved_of(7)) == n, timeout=3000)
        assert tab.corrections.bar.status.text() == saved_text(7, n)
        assert tab.canvas.is_empty()
    assert saved_text(7, 2) == "Saved as a 7 (you have 2 samples of 7)"
    assert saved_text(1, 1) == "Saved as a 1 (you have 1 sample of 1)" and saved_text(8, None) == "Saved as an 8"
    tab.canvas.undo()  # the clear is undoable: the drawing comes back
    assert not tab.canvas.is_empty()


def test_buttons_and_keys_need_a_drawing(qtbot: Any, window: MainWindow) -> None:
    tab = window.draw_tab
    assert all(not button(tab, d).isEnabled() for d in range(10))
    press_key(qtbot, window, Qt.Key.Key_5)
    qtbot.wait(100)
    assert not samples_dir().exists() or SampleStore().samples() == []
    draw(qtbot, tab.canvas, STROKE)
    assert all(button(tab, d).isEnabled() for d in range(10))
    qtbot.mouseClick(tab.clearButton, LEFT)
    assert all(not button(tab, d).isEnabled() for d in range(10))
    tab.corrections.choose(4)  # even if called directly, an empty canvas is never saved
    qtbot.wait(100)
    assert SampleStore().samples() == []
    assert tab.corrections.bar.status.text() == "Draw a digit first"


def test_digit_keys_do_not_fire_in_the_train_tab_or_the_brush_box(qtbot: Any, window: MainWindow) -> None:
    tab = window.draw_tab
    draw(qtbot, tab.canvas, STROKE)
    tab.brushSize.lineEdit().selectAll()
    press_key(qtbot, window, Qt.Key.Key_3, tab.brushSize)
    assert tab.brushSize.value() == 3  # typed into the box, not taken as a label
    window.tabs.tabBar().setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    press_key(qtbot, window, Qt.Key.Key_5, window.tabs.tabBar())  # keyboard outside the Draw tab
    assert window.tabs.currentWidget() is tab
    window.tabs.setCurrentWidget(window.train_tab)
    epochs = window.train_tab.findChild(QSpinBox, "epochsSpin")
    epochs.lineEdit().selectAll()
    press_key(qtbot, window, Qt.Key.Key_7, epochs)
    assert epochs.value() == 7
    augment = window.train_tab.findChild(QCheckBox, "augmentCheck")  # takes no text: a shortcut could fire
    press_key(qtbot, window, Qt.Key.Key_4, augment)
    qtbot.wait(150)
    assert SampleStore().samples() == [] and not tab.canvas.is_empty()


def test_keypad_digits_work_too(qtbot: Any, window: MainWindow) -> None:
    draw(qtbot, window.draw_tab.canvas, STROKE)
    window.activateWindow()
    qtbot.waitActive(window)
    window.draw_tab.canvas.setFocus()
    qtbot.keyClick(window.draw_tab.canvas, Qt.Key.Key_9, Qt.KeyboardModifier.KeypadModifier)
    qtbot.waitUntil(lambda: len(saved_of(9)) == 1, timeout=3000)


def test_a_drawing_changed_before_it_was_read_is_not_saved(qtbot: Any, show: Any) -> None:
    tab = show(DrawTab(FakePredictor(delay=0.3)))
    tab.resize(900, 560)
    draw(qtbot, tab.canvas, STROKE)
    qtbot.mouseClick(button(tab, 2), LEFT)
    assert tab.corrections.is_pending()
    draw(qtbot, tab.canvas, line((60, 60), (220, 200)))  # more ink before the reading came back
    assert not tab.corrections.is_pending()
    assert tab.corrections.bar.status.text().startswith("Not saved: the drawing changed")
    qtbot.waitUntil(tab.service.is_idle, timeout=5000)
    qtbot.wait(100)
    assert SampleStore().samples() == []


def test_a_press_before_the_model_loads_saves_once_it_arrives(qtbot: Any, show: Any) -> None:
    tab = show(DrawTab(None))
    draw(qtbot, tab.canvas, STROKE)
    canvas = tab.canvas.to_array()
    qtbot.mouseClick(button(tab, 6), LEFT)
    qtbot.wait(100)
    assert SampleStore().samples() == []
    assert "once the model has loaded" in tab.corrections.bar.status.text()
    tab.set_predictor(FakePredictor())
    qtbot.waitUntil(lambda: len(saved_of(6)) == 1, timeout=3000)
    np.testing.assert_array_equal(saved_of(6)[0].image(), expected_image(canvas))


def test_a_failing_model_saves_nothing(qtbot: Any, show: Any) -> None:
    tab = show(DrawTab(FakePredictor(error=RuntimeError("model broke"))))
    draw(qtbot, tab.canvas, STROKE)
    qtbot.mouseClick(button(tab, 1), LEFT)
    qtbot.waitUntil(lambda: not tab.corrections.is_pending(), timeout=3000)
    assert "could not read the drawing (RuntimeError: model broke)" in tab.corrections.bar.status.text()
    assert SampleStore().samples() == [] and not tab.canvas.is_empty()


def test_a_drawing_that_reads_as_blank_is_not_saved(qtbot: Any, show: Any) -> None:
    tab = show(DrawTab(FakePredictor()))
    tab.canvas.set_image(np.full((60, 60), 253, np.uint8))  # something on the canvas, but no ink
    assert not tab.canvas.is_empty()
    qtbot.mouseClick(button(tab, 8), LEFT)
    qtbot.waitUntil(lambda: not tab.corrections.is_pending(), timeout=3000)
    assert tab.corrections.bar.status.text() == "Not saved: the drawing reads as blank"
    assert SampleStore().samples() == []


def test_buttons_say_they_also_label_right_readings(window: MainWindow) -> None:
    for digit in range(10):
        tip = button(window.draw_tab, digit).toolTip()
        assert f"as a {digit}" in tip and f"key {digit}" in tip and "read right" in tip
    assert window.draw_tab.corrections.bar.prompt.text() == "Wrong? It's a …"
