"""The pyqtgraph training charts and the painted probability bars, as real widgets offscreen."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage

from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.ui.probability_chart import ProbabilityChart
from digitpad.ui.theme import chart_colors
from digitpad.ui.training_charts import (BATCH_ACCURACY, BATCH_LOSS, MARKER, TRAIN_ACCURACY, TRAIN_LOSS,
                                         VAL_ACCURACY, VAL_LOSS, LossSmoother, MetricChart, TrainingCharts,
                                         nice_ceiling, nice_floor)

STEPS = 8


def run_script(epochs: int) -> tuple[list[BatchEnd], list[EpochEnd]]:
    """Batch reports as Keras makes them (running means within each epoch) and the epoch ends."""
    batches, ends = [], []
    for epoch in range(1, epochs + 1):
        losses, accuracies = [], []
        for step in range(1, STEPS + 1):
            k = (epoch - 1) * STEPS + step
            losses.append(2.3 / (1 + 0.4 * k))
            accuracies.append(min(1.0, 0.1 + 0.05 * k))
            batches.append(BatchEnd(epoch, epochs, step, STEPS, float(np.mean(losses)), float(np.mean(accuracies))))
        ends.append(EpochEnd(epoch, epochs, float(np.mean(losses)), float(np.mean(accuracies)),
                             val_loss=0.4 / epoch, val_accuracy=min(1.0, 0.9 + 0.05 * epoch),
                             seconds=1.0, samples_per_second=100.0))
    return batches, ends


@pytest.fixture
def charts(show) -> TrainingCharts:
    widget = TrainingCharts()
    widget.resize(640, 260)
    return show(widget)


def feed(charts: TrainingCharts, epochs: int) -> tuple[list[BatchEnd], list[EpochEnd]]:
    batches, ends = run_script(epochs)
    charts.begin(epochs)
    for epoch in range(1, epochs + 1):
        for batch in batches[(epoch - 1) * STEPS:epoch * STEPS]:
            charts.add_batch(batch)
        charts.add_epoch(ends[epoch - 1])
    return batches, ends


def item_points(chart: MetricChart, name: str) -> list[tuple[float, float]]:
    """What the pyqtgraph item itself holds (not the chart's own bookkeeping)."""
    x, y = chart.series(name).item.getOriginalDataset()
    return [] if x is None else list(zip(x.tolist(), y.tolist()))


def test_curves_hold_exactly_the_reported_values(charts: TrainingCharts) -> None:
    batches, ends = feed(charts, 3)
    assert item_points(charts.loss, TRAIN_LOSS) == [(e.epoch, e.loss) for e in ends]
    assert item_points(charts.loss, VAL_LOSS) == [(e.epoch, e.val_loss) for e in ends]
    assert item_points(charts.accuracy, TRAIN_ACCURACY) == [(e.epoch, e.accuracy) for e in ends]
    assert item_points(charts.accuracy, VAL_ACCURACY) == [(e.epoch, e.val_accuracy) for e in ends]
    loss_smoother, accuracy_smoother = LossSmoother(), LossSmoother()
    expected_loss = [(b.epoch - 1 + b.step / b.steps, loss_smoother.add(b)) for b in batches]
    expected_accuracy = [(b.epoch - 1 + b.step / b.steps,
                          accuracy_smoother.add(BatchEnd(b.epoch, b.epochs, b.step, b.steps, b.accuracy, 0.0)))
                         for b in batches]
    np.testing.assert_allclose(item_points(charts.loss, BATCH_LOSS), expected_loss, rtol=1e-12)
    np.testing.assert_allclose(item_points(charts.accuracy, BATCH_ACCURACY), expected_accuracy, rtol=1e-12)
    assert charts.loss.series_points(TRAIN_LOSS) == item_points(charts.loss, TRAIN_LOSS)


def test_updates_reuse_the_same_plot_items(charts: TrainingCharts) -> None:
    items = {name: charts.loss.series(name).item for name in charts.loss.series_names()}
    before = list(charts.loss.plot.getPlotItem().listDataItems())
    feed(charts, 2)
    feed(charts, 4)  # a second run: cleared and refilled, not rebuilt
    assert list(charts.loss.plot.getPlotItem().listDataItems()) == before
    assert all(charts.loss.series(name).item is item for name, item in items.items())
    assert charts.loss.series(BATCH_LOSS).count() == 4 * STEPS


def test_ranges_are_fixed_while_batches_arrive(charts: TrainingCharts) -> None:
    """No auto-range: the view changes only when a value passes a round limit, never back and forth."""
    batches, _ = run_script(10)
    charts.begin(10)
    loss_views, accuracy_views = set(), set()
    for batch in batches:
        charts.add_batch(batch)
        loss_views.add(charts.loss.view_range())
        accuracy_views.add(charts.accuracy.view_range())
    assert len(accuracy_views) == 1 and len(loss_views) == 1  # the first loss (1.64) set the ceiling once
    assert charts.loss.y_range() == (0.0, 2.0) and charts.accuracy.y_range() == (0.0, 1.0)
    assert not charts.loss.plot.getPlotItem().getViewBox().autoRangeEnabled()[1]


def marker_inside(chart: MetricChart, x: float, y: float) -> bool:
    """True when a whole marker at (x, y) lies in the plot area, in pixels."""
    box = chart.plot.getPlotItem().getViewBox()
    radius = MARKER / 2 + 1
    area = box.sceneBoundingRect().adjusted(radius, radius, -radius, -radius)
    return area.contains(box.mapViewToScene(QPointF(x, y)))


@pytest.mark.parametrize("epochs", [1, 3, 20])
def test_first_and_last_points_are_whole_inside_the_plot(qtbot, charts: TrainingCharts, epochs: int) -> None:
    feed(charts, epochs)
    charts.loss.append(TRAIN_LOSS, epochs, 0.0)  # the corners: a perfect last epoch
    charts.accuracy.append(TRAIN_ACCURACY, epochs, 1.0)
    qtbot.wait(10)
    for chart in (charts.loss, charts.accuracy):
        for name in chart.series_names():
            for x, y in chart.series_points(name):
                assert marker_inside(chart, x, y), (chart.objectName(), name, x, y)
    assert charts.loss.epochs() == epochs and charts.loss.view_range()[0][1] > epochs


def test_late_points_widen_the_x_axis_and_skip_missing_values(charts: TrainingCharts) -> None:
    charts.begin(2)
    charts.add_epoch(EpochEnd(1, 2, 0.8, 0.7, None, None, 1.0, 100.0))  # no validation set
    charts.add_epoch(EpochEnd(2, 2, float("nan"), 0.75, None, None, 1.0, 100.0))
    assert charts.loss.series_points(TRAIN_LOSS) == [(1, 0.8)] and charts.loss.series_points(VAL_LOSS) == []
    assert charts.loss.append(TRAIN_LOSS, 3.5, 0.3) and charts.loss.epochs() == 4
    assert charts.loss.view_range()[0][1] > 4
    charts.begin(2)
    assert charts.loss.epochs() == 2 and all(charts.loss.series(n).count() == 0 for n in charts.loss.series_names())


def test_round_limits() -> None:
    assert [nice_ceiling(v) for v in (0.07, 0.9, 1.0, 1.1, 2.31, 7.0, 13.0)] == pytest.approx(
        [0.08, 1.0, 1.0, 1.2, 2.5, 8.0, 15.0])
    assert [nice_floor(v) for v in (0.0, 0.07, 0.93, 2.31)] == pytest.approx([0.0, 0.06, 0.8, 2.0])
    assert nice_floor(-0.35) == pytest.approx(-0.4)


# --- the probability bars ---------------------------------------------------------------------
def _pixel(image: QImage, point: QPointF) -> QColor:
    return image.pixelColor(round(point.x()), round(point.y()))


def test_bars_show_the_probabilities_and_highlight_the_top_digit(show) -> None:
    chart = show(ProbabilityChart())
    chart.resize(320, 200)
    probabilities = np.full(10, 0.02)
    probabilities[3], probabilities[8] = 0.74, 0.1
    chart.set_probabilities(probabilities, 3)
    assert chart.values() == pytest.approx(list(probabilities)) and chart.top() == 3
    plot = chart.plot_rect()
    for digit in range(10):
        assert chart.bar_rect(digit).height() == pytest.approx(probabilities[digit] * plot.height(), abs=1)
    image = chart.grab().toImage()
    colors = chart_colors(chart.palette())
    assert _pixel(image, chart.bar_rect(3).center()).name() == colors.highlight.name()
    assert _pixel(image, chart.bar_rect(8).center()).name() == colors.muted.name()
    assert chart.accessibleDescription() == "Most likely: 3 74 %, 8 10 %, 0 2 %"
    chart.set_probabilities(np.zeros(10), None)  # a blank reading: no bars, nothing highlighted
    assert chart.top() is None and chart.accessibleDescription() == ""
    image = chart.grab().toImage()
    assert _pixel(image, QPointF(chart.bar_rect(3).center().x(), plot.top() + plot.height() / 4)).name() == colors.base.name()


def test_bars_stay_readable_when_small(show) -> None:
    chart = show(ProbabilityChart())
    hint = chart.minimumSizeHint()
    assert hint.width() <= 240 and hint.height() <= 120
    chart.resize(hint)
    chart.set_probabilities(np.eye(10)[7], 7)
    assert all(chart.bar_rect(d).width() >= 4 for d in range(10))
    assert chart.bar_rect(7).bottom() <= chart.height() - chart.fontMetrics().height()  # room for the digits


def test_pyqtgraph_waits_until_a_chart_is_shown() -> None:
    """Start-up does not pay for pyqtgraph: the charts take data before their plots exist."""
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from digitpad.contracts import EpochEnd; from digitpad.ui.training_charts import TrainingCharts; "
            "charts = TrainingCharts(); charts.begin(2); charts.add_epoch(EpochEnd(1, 2, 0.5, 0.8, 0.4, 0.9, 1, 1)); "
            "before = 'pyqtgraph' in sys.modules; charts.show(); app.processEvents(); "
            "x, y = charts.loss.series('train').item.getOriginalDataset(); "
            "print(before, 'pyqtgraph' in sys.modules, x.tolist(), y.tolist())")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "[1.0]", "[0.5]"]


# --- no Qt Charts -----------------------------------------------------------------------------
def test_no_module_imports_qt_charts() -> None:
    code = ("import sys; import digitpad.ui.training_charts, digitpad.ui.confusion_view, "
            "digitpad.ui.probability_chart, digitpad.ui.theme, digitpad.ui.draw_tab; "
            "print('PySide6.QtCharts' in sys.modules)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
