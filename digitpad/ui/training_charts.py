"""Live training charts (pyqtgraph): loss and accuracy per epoch, and smoothed per-batch curves.

The x axis counts epochs; a batch sits at a fractional epoch (``epoch - 1 +
step / steps``), so a batch curve ends exactly at each epoch's point. Points
are appended into NumPy buffers and handed to the existing plot items with
``setData``: nothing is re-created per update. The view ranges are fixed
(epochs 0..N padded so the last points are whole; loss from 0 up to a round
ceiling that only grows; accuracy 0..1), so live updates never make the axes
jitter.

The chart widgets exist from the start (names, tooltips, size hints, data);
the pyqtgraph plot inside each is built when it is first shown or read, so
pyqtgraph is imported then and not at start-up, which does not need it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QPen, QShowEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.ui.theme import chart_colors, current_palette, is_palette_change, series_colors, style_chart

if TYPE_CHECKING:  # pragma: no cover
    import pyqtgraph as pg

SMOOTHING = 0.9  # weight of the past per batch in the moving average
X_PAD = 0.04  # share of the x range added on both sides: markers at epoch 0 and N stay whole
Y_PAD = 0.04  # the same for y: a loss of 0 or an accuracy of 1 is not cut in half
HEADROOM = 0.02  # a value on a round limit gets the next one: the top point is below the top grid line
NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)  # round y limits, times a power of ten
MARKER = 7  # px, the per-epoch points
CHART_MINIMUM = QSize(180, 150)  # one chart; small, so the Live view never widens the window

# Legend names: the chart titles say "Loss" / "Accuracy", so one word each keeps the
# legend whole in a narrow window.
TRAIN_LOSS = "train"
VAL_LOSS = "val"
BATCH_LOSS = "batch"  # smoothed per-batch loss (see LossSmoother)
TRAIN_ACCURACY = "train"
VAL_ACCURACY = "val"
BATCH_ACCURACY = "batch"  # smoothed per-batch accuracy (the same smoother, fed the accuracy)

ColorSource = Union[QColor, Qt.GlobalColor, Callable[[QPalette], QColor]]  # fixed, or from the palette


def train_color(palette: QPalette) -> QColor:
    return series_colors(palette)[0]


def val_color(palette: QPalette) -> QColor:
    return series_colors(palette)[1]


def batch_color(palette: QPalette) -> QColor:
    """The training colour, translucent: the noisy batch curve stays behind the epoch points."""
    color = train_color(palette)
    color.setAlpha(150)
    return color


def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) >= ``value``."""
    if not value > 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(n * scale for n in NICE if n * scale >= value * (1 - 1e-9))


def nice_floor(value: float) -> float:
    """The largest round number <= ``value`` (mirrors :func:`nice_ceiling`; 0 stays 0)."""
    if value < 0:
        return -nice_ceiling(-value)
    if value == 0:
        return 0.0
    scale = 10.0 ** math.floor(math.log10(value))
    return max(n * scale for n in NICE if n * scale <= value * (1 + 1e-9))


def epoch_tick_step(epochs: int) -> int:
    """A round tick step that puts at most about six ticks on 0..``epochs``."""
    steps = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
    return next((s for s in steps if s * 5 >= epochs), math.ceil(epochs / 5))


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


class Curve(QObject):
    """One named line of a chart: its points in growing NumPy buffers, shown by one PlotDataItem.

    ``append`` writes into the buffers and hands the filled part to the same
    item with ``setData`` (no new items, no copies of Python lists). The item
    is attached when the chart's plot is built; points added before are shown
    then. ``pointAdded(index)`` follows each accepted point.
    """

    pointAdded = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.item: Any = None  # the pg.PlotDataItem, once attached
        self._x = np.empty(64, np.float64)
        self._y = np.empty(64, np.float64)
        self._count = 0

    def count(self) -> int:
        return self._count

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the x and y values, in the order added."""
        return self._x[:self._count].copy(), self._y[:self._count].copy()

    def points(self) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in zip(*self.data())]

    def attach(self, item: Any) -> None:
        self.item = item
        self._show()

    def append(self, x: float, y: float) -> None:
        if self._count == len(self._x):  # grow by doubling: amortised O(1) per point
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self._count], self._y[self._count] = x, y
        self._count += 1
        self._show()
        self.pointAdded.emit(self._count - 1)

    def clear(self) -> None:
        self._count = 0
        self._show()

    def _show(self) -> None:
        if self.item is not None:
            self.item.setData(self._x[:self._count], self._y[:self._count], skipFiniteCheck=True)


class MetricChart(QWidget):
    """A line chart of named curves over epochs with fixed, padded ranges (a pyqtgraph ``plot`` inside).

    The y range is ``y_floor``..``y_ceiling`` where given; a missing limit is a
    round number beyond the data that only ever widens (until ``reset``), so the
    axes move rarely and never back and forth.
    """

    def __init__(self, title: str, y_title: str, *, y_floor: float | None = None,
                 y_ceiling: float | None = None, legend_corner: str = "top-right",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title, self._y_title, self._legend_corner = title, y_title, legend_corner
        self._y_floor, self._y_ceiling = y_floor, y_ceiling
        self._curves: dict[str, Curve] = {}
        self._styles: dict[str, tuple[ColorSource, float, bool, bool]] = {}
        self._epochs = 1
        self._y_low, self._y_high = self._default_y()
        self._plot: pg.PlotWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setAccessibleName(f"{title} chart")
        self.setToolTip(f"{title} per epoch while training; the legend names the curves")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to operate; the epoch table has the numbers
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(CHART_MINIMUM)

    def sizeHint(self) -> QSize:
        return QSize(320, 260)

    # --- the pyqtgraph plot, built on first need --------------------------------
    @property
    def plot(self) -> pg.PlotWidget:
        """The pyqtgraph PlotWidget (built now if it was not yet)."""
        if self._plot is None:
            self._build()
        return self._plot

    def is_built(self) -> bool:
        return self._plot is not None

    def showEvent(self, event: QShowEvent) -> None:
        if self._plot is None:  # before the first paint
            self._build()
        super().showEvent(event)

    def _build(self) -> None:
        import pyqtgraph as pg  # here, not at module level: see the module docstring

        widget = fixed_plot("epoch", self._y_title)
        plot = widget.getPlotItem()
        plot.setTitle(self._title)
        plot.disableAutoRange()
        plot.getViewBox().setDefaultPadding(0.0)
        dx, dy = 8, (8 if self._legend_corner.startswith("top") else -8)
        size = f"{QApplication.font().pointSizeF():g}pt" if QApplication.instance() else "9pt"
        plot.addLegend(offset=(-dx if self._legend_corner.endswith("right") else dx, dy), labelTextSize=size,
                       colCount=3, horSpacing=4)
        for name, curve in self._curves.items():
            item = pg.PlotDataItem(name=name, antialias=True, autoDownsampleFactor=1.0)
            plot.addItem(item)
            if self._styles[name][3]:  # dense; after addItem, which hands the plot's menu settings to the item
                item.setDownsampling(auto=True, method="subsample")
                item.setClipToView(True)
            curve.attach(item)
        self._layout.addWidget(widget)
        self._plot = widget
        self._apply_ranges()
        self.apply_palette()

    # --- colours ------------------------------------------------------------------
    def apply_palette(self) -> None:
        """Chart and curve colours from the application palette (light or dark)."""
        if self._plot is None:
            return  # styled when built
        palette = current_palette()
        style_chart(self._plot, palette)
        for name in self._curves:
            self._style_curve(name, palette)

    def color(self, name: str, palette: QPalette | None = None) -> QColor:
        """Curve ``name``'s colour in ``palette`` (default: the application's)."""
        source = self._styles[name][0]
        return source(palette or current_palette()) if callable(source) else QColor(source)

    def _style_curve(self, name: str, palette: QPalette) -> None:
        color, (_, width, markers, _) = self.color(name, palette), self._styles[name]
        item = self._curves[name].item
        pen = QPen(color, width)
        pen.setCosmetic(True)
        item.setPen(pen)
        if markers:
            item.setSymbol("o")
            item.setSymbolSize(MARKER)
            item.setSymbolBrush(color)
            item.setSymbolPen(QColor(chart_colors(palette).base))  # a thin ring keeps touching points apart

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event):
            self.apply_palette()
        super().changeEvent(event)

    # --- curves -------------------------------------------------------------------
    def add_series(self, name: str, color: ColorSource, *, width: float = 2.0, markers: bool = False,
                   dense: bool = False) -> Curve:
        """Add a curve; ``color`` is fixed or a function of the palette (re-applied on theme change).

        ``dense``: a curve with a point per batch report (thousands in a long run) is
        drawn from about one point per pixel column, which keeps a repaint cheap.
        Add every curve before the chart is shown.
        """
        if self._plot is not None:
            raise RuntimeError("add curves before the chart is shown")
        self._styles[name] = (color, width, markers, dense)
        self._curves[name] = Curve(self)
        return self._curves[name]

    def series(self, name: str) -> Curve:
        return self._curves[name]

    def series_names(self) -> list[str]:
        return list(self._curves)

    def series_points(self, name: str) -> list[tuple[float, float]]:
        """The points of curve ``name`` as ``(x, y)`` tuples, in the order added."""
        return self._curves[name].points()

    def append(self, name: str, x: float, y: float | None) -> bool:
        """Add a point; missing or non-finite values (a diverged loss) are skipped."""
        if y is None or not math.isfinite(y) or not math.isfinite(x):
            return False
        changed = False
        if x > self._epochs:
            self._epochs, changed = math.ceil(x), True
        if self._y_floor is None and y < self._y_low:
            self._y_low, changed = nice_floor(y - HEADROOM * abs(y)), True
        if self._y_ceiling is None and y >= self._y_high:
            self._y_high, changed = nice_ceiling(y + HEADROOM * abs(y)), True
        if changed:
            self._apply_ranges()
        self._curves[name].append(x, y)
        return True

    def reset(self) -> None:
        for curve in self._curves.values():
            curve.clear()
        self._y_low, self._y_high = self._default_y()
        self._apply_ranges()

    # --- ranges -------------------------------------------------------------------
    def set_epochs(self, epochs: int) -> None:
        """Show epochs 0..``epochs`` on the x axis, with at most about six round ticks."""
        self._epochs = max(1, int(epochs))
        self._apply_ranges()

    def epochs(self) -> int:
        """The last epoch the x axis shows."""
        return self._epochs

    def y_range(self) -> tuple[float, float]:
        """The y limits the axis is scaled to (the view adds a small pad beyond them)."""
        return self._y_low, self._y_high

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """What the plot area shows: ``((x0, x1), (y0, y1))``."""
        (x0, x1), (y0, y1) = self.plot.getPlotItem().getViewBox().viewRange()
        return (x0, x1), (y0, y1)

    def _default_y(self) -> tuple[float, float]:
        low = self._y_floor if self._y_floor is not None else 0.0
        high = self._y_ceiling if self._y_ceiling is not None else max(1.0, low + 1.0)
        return low, high

    def _apply_ranges(self) -> None:
        if self._plot is None:
            return  # applied when built
        x_pad = X_PAD * self._epochs
        y_pad = Y_PAD * (self._y_high - self._y_low)
        plot = self._plot.getPlotItem()
        plot.setRange(xRange=(-x_pad, self._epochs + x_pad), yRange=(self._y_low - y_pad, self._y_high + y_pad),
                      padding=0.0)
        plot.getAxis("bottom").setTickSpacing(levels=[(float(epoch_tick_step(self._epochs)), 0.0)])


class TrainingCharts(QWidget):
    """The ``lossChart`` and ``accuracyChart`` side by side, fed by batch and epoch reports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = MetricChart("Loss", "loss", y_floor=0.0, legend_corner="top-right")
        self.loss.setObjectName("lossChart")
        self.loss.setToolTip("Loss per epoch while training; the faint line is the batch loss, smoothed")
        self.loss.add_series(BATCH_LOSS, batch_color, width=1.5, dense=True)
        self.loss.add_series(TRAIN_LOSS, train_color, markers=True)
        self.loss.add_series(VAL_LOSS, val_color, markers=True)
        self.accuracy = MetricChart("Accuracy", "accuracy", y_floor=0.0, y_ceiling=1.0,
                                    legend_corner="bottom-right")
        self.accuracy.setObjectName("accuracyChart")
        self.accuracy.setToolTip("Accuracy per epoch while training; the faint line is the batch accuracy, "
                                 "smoothed")
        self.accuracy.add_series(BATCH_ACCURACY, batch_color, width=1.5, dense=True)
        self.accuracy.add_series(TRAIN_ACCURACY, train_color, markers=True)
        self.accuracy.add_series(VAL_ACCURACY, val_color, markers=True)
        self.smoother = LossSmoother()
        self.accuracy_smoother = LossSmoother()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss)
        layout.addWidget(self.accuracy)

    def begin(self, epochs: int) -> None:
        """Clear everything for a new run of ``epochs`` epochs."""
        for chart in (self.loss, self.accuracy):
            chart.reset()
            chart.set_epochs(epochs)
        self.smoother.reset()
        self.accuracy_smoother.reset()

    def add_batch(self, batch: BatchEnd) -> None:
        x = batch.epoch - 1 + batch.step / batch.steps
        smoothed = self.smoother.add(batch)
        if smoothed is not None:
            self.loss.append(BATCH_LOSS, x, smoothed)
        as_loss = BatchEnd(batch.epoch, batch.epochs, batch.step, batch.steps, batch.accuracy, batch.accuracy)
        accuracy = self.accuracy_smoother.add(as_loss)  # running means too: the same recovery and smoothing
        if accuracy is not None:
            self.accuracy.append(BATCH_ACCURACY, x, min(1.0, accuracy))

    def add_epoch(self, end: EpochEnd) -> None:
        self.loss.append(TRAIN_LOSS, end.epoch, end.loss)
        self.loss.append(VAL_LOSS, end.epoch, end.val_loss)
        self.accuracy.append(TRAIN_ACCURACY, end.epoch, end.accuracy)
        self.accuracy.append(VAL_ACCURACY, end.epoch, end.val_accuracy)


def fixed_plot(x_label: str, y_label: str) -> pg.PlotWidget:
    """A pyqtgraph plot for a view that sets its own ranges: labelled, gridded, no menu, no
    auto-range "A" button and no mouse panning or zooming. Call it only once a chart is shown."""
    import pyqtgraph as pg  # here, not at module level: see the module docstring

    widget = pg.PlotWidget()
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    plot = widget.getPlotItem()
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    return widget
