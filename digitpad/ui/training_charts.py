"""Live training charts: loss and accuracy per epoch, and a smoothed per-batch loss.

The x axis counts epochs; a batch sits at a fractional epoch (``epoch - 1 +
step / steps``), so the batch curve ends exactly at each epoch's point.
"""

from __future__ import annotations

import math
from typing import Callable, Union

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QWidget

from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.ui.theme import current_palette, is_palette_change, series_colors, style_chart

SMOOTHING = 0.9  # weight of the past per batch in the moving average

# Legend names: the chart titles say "Loss" / "Accuracy", so one word each keeps the
# legend whole in a narrow window.
TRAIN_LOSS = "train"
VAL_LOSS = "val"
BATCH_LOSS = "batch"  # smoothed per-batch loss (see LossSmoother)
TRAIN_ACCURACY = "train"
VAL_ACCURACY = "val"

ColorSource = Union[QColor, Qt.GlobalColor, Callable[[QPalette], QColor]]  # fixed, or from the palette


def train_color(palette: QPalette) -> QColor:
    return series_colors(palette)[0]


def val_color(palette: QPalette) -> QColor:
    return series_colors(palette)[1]


def batch_color(palette: QPalette) -> QColor:
    """The training colour, translucent: the noisy batch curve stays behind the epoch points."""
    color = train_color(palette)
    color.setAlpha(110)
    return color


class LossSmoother:
    """Turns the running-mean losses Keras reports per batch into a smoothed per-batch curve.

    After step ``k`` of an epoch Keras reports the mean loss ``m_k`` of steps 1..k,
    so the batches between two reported steps ``j < k`` have the mean loss
    ``(k*m_k - j*m_j) / (k - j)`` (exact for equal batch sizes). Throttled
    updates therefore still give the right curve; an exponential moving average
    (``smoothing`` per batch) then smooths it.
    """

    def __init__(self, smoothing: float = SMOOTHING) -> None:
        self.smoothing = smoothing
        self.reset()

    def reset(self) -> None:
        self._epoch = 0
        self._step = 0
        self._mean = 0.0
        self.value: float | None = None

    def add(self, batch: BatchEnd) -> float | None:
        """Fold one reported batch in; returns the smoothed loss, or None if nothing new."""
        if batch.epoch != self._epoch:
            self._epoch, self._step, self._mean = batch.epoch, 0, 0.0
        count = batch.step - self._step
        if count <= 0 or not math.isfinite(batch.loss):
            return None
        interval = max(0.0, (batch.step * batch.loss - self._step * self._mean) / count)
        self._step, self._mean = batch.step, batch.loss
        if self.value is None:
            self.value = interval
        else:
            weight = self.smoothing ** count
            self.value = weight * self.value + (1.0 - weight) * interval
        return self.value


class MetricChart(QChartView):
    """A line chart of named series over epochs; the axes grow with the data."""

    def __init__(self, title: str, y_title: str, *, y_floor: float | None = None,
                 y_ceiling: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._y_floor, self._y_ceiling = y_floor, y_ceiling
        self._series: dict[str, QLineSeries] = {}
        self._colors: dict[str, ColorSource] = {}
        self._points: dict[str, list[tuple[float, float]]] = {}
        self._low = math.inf
        self._high = -math.inf
        chart = QChart()
        chart.setTitle(title)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.x_axis = QValueAxis()
        self.x_axis.setTitleText("epoch")
        self.x_axis.setLabelFormat("%.0f")
        self.x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.x_axis.setTickAnchor(0.0)
        self.y_axis = QValueAxis()
        self.y_axis.setTitleText(y_title)
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.setChart(chart)
        self.setAccessibleName(f"{title} chart")
        self.setToolTip(f"{title} per epoch while training; the legend names the curves")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to operate; the epoch table has the numbers
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumSize(220, 200)
        self.set_epochs(1)
        self._rescale_y()
        self.apply_palette()

    def apply_palette(self) -> None:
        """Chart and series colours from the application palette (light or dark)."""
        palette = current_palette()
        style_chart(self.chart(), palette)
        for name, series in self._series.items():
            pen = series.pen()
            pen.setColor(self._color(name, palette))
            series.setPen(pen)

    def _color(self, name: str, palette: QPalette) -> QColor:
        source = self._colors[name]
        return source(palette) if callable(source) else QColor(source)

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event):
            self.apply_palette()
        super().changeEvent(event)

    def add_series(self, name: str, color: ColorSource, *, width: float = 2.0,
                   markers: bool = False) -> QLineSeries:
        """Add a line; ``color`` is fixed or a function of the palette (re-applied on theme change)."""
        self._colors[name] = color
        series = QLineSeries()
        series.setName(name)
        series.setPen(QPen(self._color(name, current_palette()), width))
        series.setPointsVisible(markers)
        self.chart().addSeries(series)
        series.attachAxis(self.x_axis)
        series.attachAxis(self.y_axis)
        self._series[name] = series
        self._points[name] = []
        return series

    def series(self, name: str) -> QLineSeries:
        return self._series[name]

    def series_names(self) -> list[str]:
        return list(self._series)

    def series_points(self, name: str) -> list[tuple[float, float]]:
        """The points of series ``name`` as ``(x, y)`` tuples, in the order added."""
        return list(self._points[name])

    def append(self, name: str, x: float, y: float | None) -> bool:
        """Add a point; missing or non-finite values (a diverged loss) are skipped."""
        if y is None or not math.isfinite(y) or not math.isfinite(x):
            return False
        self._series[name].append(QPointF(x, y))
        self._points[name].append((x, y))
        self._low, self._high = min(self._low, y), max(self._high, y)
        if x > self.x_axis.max():
            self.set_epochs(math.ceil(x))
        self._rescale_y()
        return True

    def set_epochs(self, epochs: int) -> None:
        """Show epochs 0..``epochs`` on the x axis, with at most about six round ticks."""
        epochs = max(1, int(epochs))
        self.x_axis.setRange(0.0, float(epochs))
        steps = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
        step = next((s for s in steps if s * 5 >= epochs), math.ceil(epochs / 5))
        self.x_axis.setTickInterval(float(step))

    def y_range(self) -> tuple[float, float]:
        return self.y_axis.min(), self.y_axis.max()

    def reset(self) -> None:
        for name, series in self._series.items():
            series.clear()
            self._points[name] = []
        self._low, self._high = math.inf, -math.inf
        self._rescale_y()

    def _rescale_y(self) -> None:
        if self._low > self._high:  # no data yet
            low, high = self._y_floor or 0.0, self._y_ceiling or 1.0
        else:
            pad = max(0.05 * (self._high - self._low), 0.01)
            low = self._y_floor if self._y_floor is not None else self._low - pad
            high = self._y_ceiling if self._y_ceiling is not None else self._high + pad
            if self._y_floor is None and self._y_ceiling is not None:
                low = max(0.0, min(low, high - 0.02))
            if self._y_ceiling is None:
                high = max(high, low + 0.02)
        self.y_axis.setRange(low, high)
        self.y_axis.applyNiceNumbers()  # round ticks (0.7, 0.8, ...) read better than 0.871


class TrainingCharts(QWidget):
    """The ``lossChart`` and ``accuracyChart`` side by side, fed by batch and epoch reports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = MetricChart("Loss", "loss", y_floor=0.0)
        self.loss.setObjectName("lossChart")
        self.loss.setToolTip("Loss per epoch while training; the faint line is the batch loss, smoothed")
        self.loss.add_series(BATCH_LOSS, batch_color, width=1.5)
        self.loss.add_series(TRAIN_LOSS, train_color, markers=True)
        self.loss.add_series(VAL_LOSS, val_color, markers=True)
        self.accuracy = MetricChart("Accuracy", "accuracy", y_ceiling=1.0)
        self.accuracy.setObjectName("accuracyChart")
        self.accuracy.add_series(TRAIN_ACCURACY, train_color, markers=True)
        self.accuracy.add_series(VAL_ACCURACY, val_color, markers=True)
        self.smoother = LossSmoother()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss)
        layout.addWidget(self.accuracy)

    def begin(self, epochs: int) -> None:
        """Clear everything for a new run of ``epochs`` epochs."""
        self.loss.reset()
        self.accuracy.reset()
        self.smoother.reset()
        self.loss.set_epochs(epochs)
        self.accuracy.set_epochs(epochs)

    def add_batch(self, batch: BatchEnd) -> None:
        smoothed = self.smoother.add(batch)
        if smoothed is not None:
            self.loss.append(BATCH_LOSS, batch.epoch - 1 + batch.step / batch.steps, smoothed)

    def add_epoch(self, end: EpochEnd) -> None:
        self.loss.append(TRAIN_LOSS, end.epoch, end.loss)
        self.loss.append(VAL_LOSS, end.epoch, end.val_loss)
        self.accuracy.append(TRAIN_ACCURACY, end.epoch, end.accuracy)
        self.accuracy.append(VAL_ACCURACY, end.epoch, end.val_accuracy)
