"""Number mode driven by real mouse events, read by the real bundled model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from digitpad.ui.number_pad import NumberPad
from tests.ui.conftest import draw, line

SIZE = (900, 420)  # the pad itself becomes about 860 x 287 (3:1)


@pytest.fixture(scope="module")
def predictor() -> Any:
    from digitpad.ml.inference import load_predictor

    return load_predictor()


def _pad(qtbot: Any, show: Any, predictor: Any) -> NumberPad:
    pad = NumberPad(predictor)
    pad.resize(*SIZE)
    show(pad)
    canvas = pad.canvas
    assert canvas.width() >= 3 * canvas.height() - 2 and canvas.height() > 200
    return pad


def _write_117(qtbot: Any, pad: NumberPad) -> None:
    """Two vertical bars and a 7 (bar, then the downstroke), each a real mouse stroke."""
    canvas = pad.canvas
    h = canvas.height()
    top, bottom = int(h * 0.2), int(h * 0.8)
    for x in (int(canvas.width() * 0.15), int(canvas.width() * 0.38)):
        with qtbot.waitSignal(pad.readingShown, timeout=10_000):
            draw(qtbot, canvas, line((x, top), (x, bottom)))
    x7 = int(canvas.width() * 0.62)
    width7 = int(h * 0.45)
    draw(qtbot, canvas, line((x7, top), (x7 + width7, top)))
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((x7 + width7, top), (x7 + width7 // 4, bottom)))
    qtbot.waitUntil(pad.is_idle, timeout=10_000)


def test_written_number_reads_copies_and_corrects(qtbot: Any, show: Any, predictor: Any,
                                                   no_thread_leaks: list) -> None:
    pad = _pad(qtbot, show, predictor)
    _write_117(qtbot, pad)
    assert pad.numberLabel.text() == "117"
    assert pad.reading.number == "117"
    assert pad.numberConfidence.text().count("%") == 3
    boxes = pad.box_rects()
    assert len(boxes) == 3 and boxes[0].right() < boxes[1].left() < boxes[1].right() < boxes[2].left()

    pad.grab().save("/tmp/number_pad.png")

    pad.canvas.setFocus()
    pad.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is pad.canvas, timeout=2_000)
    QApplication.clipboard().clear()
    qtbot.keyClick(pad.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "117"

    # a real click on the 7's box (press and release without moving) opens the 0-9 menu
    centre = boxes[2].center().toPoint()
    strokes_before = len(pad.canvas.strokes())
    qtbot.mouseClick(pad.canvas, Qt.MouseButton.LeftButton, pos=centre)
    menu = pad.correction_menu()
    assert menu is not None and [a.text() for a in menu.actions()] == [str(d) for d in range(10)]
    assert len(pad.canvas.strokes()) == strokes_before  # the click drew nothing

    with qtbot.waitSignal(pad.sampleSaved, timeout=2_000) as saved:
        menu.actions()[1].trigger()
    sample = saved.args[0]
    assert sample.label == 1 and pad.numberLabel.text() == "111"
    from digitpad.personal import SampleStore

    stored = SampleStore().samples()
    assert [s.label for s in stored] == [1]
    assert Path(stored[0].canvas_path).exists()
    image = stored[0].image()
    assert image.shape == (28, 28) and np.asarray(image).max() > 0  # the digit's own normalised ink
    assert np.allclose(np.asarray(image, np.float32) / (255.0 if image.dtype == np.uint8 else 1.0),
                       pad.reading.digits[2].prediction.image, atol=1 / 255)

    qtbot.keyClick(pad.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "111"
    pad.grab().save("/tmp/number_pad_corrected.png")

    pad.shutdown()
    assert not any(t.isRunning() for t in no_thread_leaks)


def test_drag_from_a_box_draws_and_clear_empties(qtbot: Any, show: Any, predictor: Any,
                                                  no_thread_leaks: list) -> None:
    pad = _pad(qtbot, show, predictor)
    canvas = pad.canvas
    h = canvas.height()
    x = int(canvas.width() * 0.3)
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((x, int(h * 0.2)), (x, int(h * 0.8))))
    qtbot.waitUntil(pad.is_idle, timeout=10_000)
    assert pad.numberLabel.text() == "1"
    start = pad.box_rects()[0].center().toPoint()
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((start.x(), start.y()), (start.x() + 60, start.y())))
    assert len(canvas.strokes()) == 2 and pad.correction_menu() is None  # a drag is ink, not a click
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        qtbot.mouseClick(pad.numberUndoButton, Qt.MouseButton.LeftButton)
    assert len(canvas.strokes()) == 1 and len(pad.box_rects()) == 1
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pad.box_rects()[0].center().toPoint())
    menu = pad.correction_menu()
    assert menu is not None
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):  # a new reading while the menu is open
        draw(qtbot, canvas, line((int(canvas.width() * 0.7), int(h * 0.2)), (int(canvas.width() * 0.7), int(h * 0.8))))
    with qtbot.assertNotEmitted(pad.sampleSaved):
        menu.actions()[4].trigger()  # was opened on the old reading: not applied to the new one
    from digitpad.personal import SampleStore

    assert SampleStore().samples() == [] and pad.number() == "11"
    canvas.undo()
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        qtbot.mouseClick(pad.numberClearButton, Qt.MouseButton.LeftButton)
    assert pad.number() is None and pad.box_rects() == []
    assert pad.numberLabel.text() == "" and pad.numberConfidence.text() == "Write a number"
    assert not pad.numberClearButton.isEnabled()
    pad.shutdown()
    pad.shutdown()  # idempotent
    assert not any(t.isRunning() for t in no_thread_leaks)


def test_waits_for_a_model_then_reads(qtbot: Any, show: Any, predictor: Any) -> None:
    pad = _pad(qtbot, show, None)
    canvas = pad.canvas
    x, h = canvas.width() // 2, canvas.height()
    draw(qtbot, canvas, line((x, int(h * 0.2)), (x, int(h * 0.8))))
    assert pad.numberStatus.text() == "Waiting for the model…" and pad.number() is None
    qtbot.waitUntil(pad.is_idle, timeout=5_000)  # the worker saw the job, found no model and went to sleep
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        pad.set_predictor(predictor)
    assert pad.numberLabel.text() == "1"


def test_a_mark_that_is_not_a_digit_shows_as_a_question_mark(qtbot: Any, show: Any, predictor: Any) -> None:
    pad = _pad(qtbot, show, predictor)  # the bundled model, with its fitted not-a-digit detector
    canvas = pad.canvas
    w, h = canvas.width(), canvas.height()
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((int(w * 0.15), int(h * 0.2)), (int(w * 0.15), int(h * 0.8))))
    x, side = int(w * 0.4), int(h * 0.5)
    draw(qtbot, canvas, line((x, int(h * 0.2)), (x + side, int(h * 0.8))))
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((x + side, int(h * 0.2)), (x, int(h * 0.8))))
    qtbot.waitUntil(pad.is_idle, timeout=10_000)
    assert pad.numberLabel.text() == "1?"
    assert "?: not a digit" in pad.numberConfidence.text()
    assert pad.reading.digits[1].not_a_digit and len(pad.box_rects()) == 2
    pad.grab().save("/tmp/number_pad_not_a_digit.png")


def test_a_dash_between_digits_is_not_read_as_a_digit(qtbot: Any, show: Any, predictor: Any) -> None:
    pad = _pad(qtbot, show, predictor)
    canvas = pad.canvas
    w, h = canvas.width(), canvas.height()
    for x in (0.15, 0.75):
        with qtbot.waitSignal(pad.readingShown, timeout=10_000):
            draw(qtbot, canvas, line((int(w * x), int(h * 0.2)), (int(w * x), int(h * 0.8))))
    with qtbot.waitSignal(pad.readingShown, timeout=10_000):
        draw(qtbot, canvas, line((int(w * 0.35), h // 2), (int(w * 0.55), h // 2)))
    qtbot.waitUntil(pad.is_idle, timeout=10_000)
    assert pad.numberLabel.text() == "1?1"
    assert pad.reading.digits[1].digit is None and pad.reading.digits[1].not_a_digit
