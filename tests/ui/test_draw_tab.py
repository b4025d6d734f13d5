"""DrawTab and PredictionService: live predictions off the GUI thread, latest drawing only."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from digitpad.ui.draw_tab import PREVIEW_SCALE, DrawTab, confidence_text
from digitpad.ui.prediction_service import PredictionService
from tests.ui.conftest import FakePredictor, draw, line


@pytest.fixture
def tab(show, fake_predictor: FakePredictor) -> DrawTab:
    widget = DrawTab(fake_predictor)
    widget.resize(800, 480)
    return show(widget)


def wait_for(qtbot, tab: DrawTab, check, timeout: int = 3000) -> None:
    qtbot.waitUntil(lambda: tab.prediction is not None and check(tab.prediction), timeout=timeout)


def test_a_drawn_stroke_is_read_and_shown(qtbot, tab: DrawTab, fake_predictor: FakePredictor) -> None:
    canvas = tab.canvas
    with qtbot.waitSignal(tab.service.predicted, timeout=3000,
                          check_params_cb=lambda p, generation: not p.blank and p.digit is not None) as blocker:
        draw(qtbot, canvas, line((140, 40), (140, 220)))
    prediction = blocker.args[0]
    assert prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    wait_for(qtbot, tab, lambda p: p.digit == FakePredictor.expected_digit(canvas.to_array()))
    digit = FakePredictor.expected_digit(canvas.to_array())
    assert tab.predictionLabel.text() == str(digit)
    assert tab.confidenceLabel.text() == "91.0 % sure"
    assert str(digit) in tab.predictionLabel.accessibleDescription()
    values = tab.probabilityChart.values()
    assert len(values) == 10 and values[digit] == pytest.approx(0.91)
    pixmap = tab.previewImage.pixmap()
    assert not pixmap.isNull() and pixmap.width() == 28 * PREVIEW_SCALE
    preview = pixmap.toImage()
    # Nearest-neighbour scaling: every 6x6 block is one flat model pixel.
    block = [preview.pixelColor(x, y).value() for x in range(84, 90) for y in range(84, 90)]
    assert len(set(block)) == 1


def test_bars_show_the_reading(qtbot, tab: DrawTab) -> None:
    chart = tab.probabilityChart
    draw(qtbot, tab.canvas, line((100, 100), (180, 180)))
    wait_for(qtbot, tab, lambda p: not p.blank)
    assert tab.probabilityChart is chart and chart.top() == tab.prediction.digit
    assert chart.values()[tab.prediction.digit] == pytest.approx(0.91)


def test_blank_canvas_shows_no_digit_and_skips_the_model(qtbot, tab: DrawTab,
                                                         fake_predictor: FakePredictor) -> None:
    assert tab.predictionLabel.text() == "" and tab.confidenceLabel.text() == "Draw a digit"
    draw(qtbot, tab.canvas, line((60, 140), (220, 140)))
    wait_for(qtbot, tab, lambda p: not p.blank)
    qtbot.waitUntil(tab.service.is_idle)
    calls = fake_predictor.calls
    tab.canvas.clear()
    wait_for(qtbot, tab, lambda p: p.blank)
    assert tab.predictionLabel.text() == "" and tab.confidenceLabel.text() == "Draw a digit"
    assert tab.probabilityChart.values() == [0.0] * 10
    assert tab.predictionLabel.accessibleDescription() == "No digit drawn"
    qtbot.wait(150)
    assert fake_predictor.calls == calls


def test_unsure_prediction_names_the_two_candidates(qtbot, show) -> None:
    probabilities = [0.01, 0.01, 0.02, 0.03, 0.45, 0.02, 0.03, 0.02, 0.01, 0.40]
    tab = show(DrawTab(FakePredictor(probabilities=probabilities)))
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    wait_for(qtbot, tab, lambda p: not p.blank)
    assert tab.predictionLabel.text() == "4"
    assert tab.confidenceLabel.text() == "not sure: 4 or 9?"
    assert confidence_text(None) == "Draw a digit"


def test_stale_requests_are_dropped_by_the_service(qtbot) -> None:
    slow = FakePredictor(delay=0.15)
    service = PredictionService(slow)
    results = []
    service.predicted.connect(lambda prediction, generation: results.append(prediction))
    try:
        arrays = []
        for i in range(40):
            array = np.full((280, 280), 255, np.uint8)
            array[100:100 + i + 1, 100:110] = 0  # every request a different drawing
            arrays.append(array)
            service.request(array)
            time.sleep(0.005)
        qtbot.waitUntil(lambda: service.is_idle() and bool(results), timeout=5000)
        qtbot.wait(50)
        assert slow.calls <= 4  # 40 requests, but only the newest pending one is ever run
        np.testing.assert_array_equal(slow.arrays[-1], arrays[-1])
        assert results[-1].digit == FakePredictor.expected_digit(arrays[-1])
        assert service.model_calls == slow.calls
    finally:
        service.shutdown()


def test_fast_drawing_asks_far_less_often_than_it_changes(qtbot, show) -> None:
    slow = FakePredictor(delay=0.05)
    tab = show(DrawTab(slow))
    changes = []
    tab.canvas.changed.connect(lambda: changes.append(1))
    for k in range(4):
        draw(qtbot, tab.canvas, line((30 + 60 * k, 30), (60 + 60 * k, 250), steps=60))
    final = tab.canvas.to_array()
    wait_for(qtbot, tab, lambda p: p.digit == FakePredictor.expected_digit(final), timeout=5000)
    assert len(changes) > 200
    assert slow.calls < len(changes) / 10
    np.testing.assert_array_equal(slow.arrays[-1], final)


def test_buttons_follow_the_canvas(qtbot, tab: DrawTab) -> None:
    assert not tab.undoButton.isEnabled() and not tab.redoButton.isEnabled() and not tab.clearButton.isEnabled()
    draw(qtbot, tab.canvas, line((60, 60), (200, 200)))
    assert tab.undoButton.isEnabled() and tab.clearButton.isEnabled() and not tab.redoButton.isEnabled()
    qtbot.mouseClick(tab.undoButton, Qt.MouseButton.LeftButton)
    assert tab.canvas.is_empty() and tab.redoButton.isEnabled() and not tab.clearButton.isEnabled()
    qtbot.mouseClick(tab.redoButton, Qt.MouseButton.LeftButton)
    assert not tab.canvas.is_empty()
    qtbot.mouseClick(tab.clearButton, Qt.MouseButton.LeftButton)
    assert tab.canvas.is_empty()


def test_brush_size_box_drives_the_canvas(qtbot, tab: DrawTab) -> None:
    tab.brushSize.setValue(33)
    assert tab.canvas.brush_width() == 33
    tab.set_brush_width(12)
    assert tab.brushSize.value() == 12


def test_swapping_the_model_rereads_the_drawing(qtbot, tab: DrawTab) -> None:
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    wait_for(qtbot, tab, lambda p: not p.blank)
    other = FakePredictor(name="other", probabilities=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.97, 0.03, 0.0])
    tab.set_predictor(other)
    wait_for(qtbot, tab, lambda p: p.digit == 7)
    assert tab.predictor() is other and other.calls >= 1
    assert tab.confidenceLabel.text() == "97.0 % sure"


def test_a_drawing_made_before_the_model_loads_is_read_when_it_arrives(qtbot, show) -> None:
    tab = show(DrawTab(None))
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    qtbot.wait(120)
    assert tab.prediction.blank  # nothing to read with yet
    assert tab.confidenceLabel.text() == "Waiting for the model…"
    model = FakePredictor()
    tab.set_predictor(model)
    wait_for(qtbot, tab, lambda p: not p.blank)
    assert model.calls >= 1


def test_a_failing_model_is_reported_not_fatal(qtbot, show) -> None:
    tab = show(DrawTab(FakePredictor(error=RuntimeError("GPU on fire\nsecond line"))))
    with qtbot.waitSignal(tab.predictionFailed, timeout=3000) as blocker:
        tab.canvas.begin_stroke(QPointF(100, 100))
        tab.canvas.finish_stroke(QPointF(150, 150))
    assert blocker.args == ["RuntimeError: GPU on fire second line"]  # one line, however many it had
    assert tab.confidenceLabel.text() == "Prediction failed"
    tab.set_predictor(FakePredictor())
    wait_for(qtbot, tab, lambda p: not p.blank)  # the worker survived


def test_a_brush_size_below_the_range_is_clamped_not_reverted(qtbot, tab: DrawTab) -> None:
    from PySide6.QtCore import Qt

    box = tab.brushSize
    box.setValue(30)
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "1")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    box.clearFocus()
    assert box.value() == box.minimum() and tab.brush_width() == box.minimum()
    assert f"{box.minimum()}–{box.maximum()} px" in box.toolTip()


class BlasRecordingPredictor(FakePredictor):
    """Records how many threads NumPy's BLAS would use while it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.blas: list[int] = []

    def predict(self, source):  # type: ignore[override]
        from digitpad.ml.blas import blas_threads

        self.blas.append(blas_threads())
        return super().predict(source)


def test_predictions_run_on_one_blas_thread_and_the_limit_is_restored(qtbot) -> None:
    """A drawing's forward pass is a few small products: on a CPU busy with training, BLAS threads
    spinning for a core made one reading twice as slow (benchmarks/bench_predict.py)."""
    from digitpad.ml.blas import blas_threads

    before = blas_threads()
    recording = BlasRecordingPredictor()
    service = PredictionService(recording)
    try:
        array = np.full((280, 280), 255, np.uint8)
        array[60:220, 130:150] = 0
        with qtbot.waitSignal(service.predicted, timeout=5000):
            service.request(array)
        assert recording.blas == [1]
        qtbot.waitUntil(service.is_idle, timeout=5000)
        assert blas_threads() == before
    finally:
        service.shutdown()
