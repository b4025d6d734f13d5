"""The Train tab's "Weights" page: a histogram of each layer's kernel after every epoch (pyqtgraph).

One small chart per layer. The latest epoch is drawn strongly (a line over
a light fill) and up to ``FADED`` earlier ones fainter the older they are, so
how the weights spread out from their initial values shows as training goes
on. x is the weight value, y the number of weights in the bin. Each chart's
plot items are made once, when its plot is built, and then only handed new
data with ``setData``; the histograms themselves come with each epoch's
report (``EpochEnd.histograms``, computed in the trainer with NumPy).

As in :mod:`digitpad.ui.training_charts`, pyqtgraph is imported when a chart
is first shown, not at start-up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QPen, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from digitpad.contracts import EpochEnd, WeightHistogram
from digitpad.ui.theme import current_palette, is_palette_change, series_colors, style_chart
from digitpad.ui.training_charts import fixed_plot

if TYPE_CHECKING:  # pragma: no cover
    import pyqtgraph as pg

FADED = 4  # earlier epochs drawn behind the latest one
COLUMNS = 2  # charts per row: four layers fit a 1024x768 window as 2 x 2
CHART_MINIMUM = QSize(150, 110)
LATEST_FILL_ALPHA = 60
HINT = "The weights of each layer appear here after the first epoch"


def faded_alpha(age: int) -> int:
    """Line opacity of the epoch ``age`` epochs before the latest (1 = the one just before)."""
    return max(40, 170 - 40 * (age - 1))


class LayerHistogramChart(QWidget):
    """One layer's kernel histograms: the latest epoch strong, up to ``FADED`` earlier ones faded."""

    def __init__(self, layer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self._shown: list[tuple[int, WeightHistogram]] = []  # (epoch, histogram), latest first
        self._items: list[Any] = []  # the PlotDataItems, latest first, once built
        self._plot: pg.PlotWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setObjectName(f"weights_{layer}")
        self.setAccessibleName(f"{layer} weights histogram")
        self.setToolTip(f"How many of {layer}'s kernel weights have each value, after each epoch: the strong "
                        f"curve is the latest epoch, the faint ones the {FADED} before it")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(CHART_MINIMUM)

    def sizeHint(self) -> QSize:
        return QSize(260, 180)

    # --- data -----------------------------------------------------------------------
    def add(self, epoch: int, histogram: WeightHistogram) -> None:
        """Show ``histogram`` as the latest epoch; the one before it moves back and fades."""
        self._shown = [(epoch, histogram), *self._shown][:FADED + 1]
        self._show()

    def clear(self) -> None:
        self._shown = []
        self._show()

    def epochs(self) -> list[int]:
        """The epochs drawn, latest first."""
        return [epoch for epoch, _ in self._shown]

    def histograms(self) -> list[WeightHistogram]:
        """The histograms drawn, latest first."""
        return [histogram for _, histogram in self._shown]

    def curve_data(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """What the plot items hold, latest first: (bin edges, counts) each (builds the plot if needed)."""
        self.plot  # noqa: B018 - build, so the items exist
        return [(item.xData, item.yData) for item in self._items[:len(self._shown)]]

    def title(self) -> str:
        if not self._shown:
            return self.layer
        return f"{self.layer} · epoch {self._shown[0][0]}"

    # --- the pyqtgraph plot, built on first need ----------------------------------
    @property
    def plot(self) -> pg.PlotWidget:
        if self._plot is None:
            self._build()
        return self._plot

    def showEvent(self, event: QShowEvent) -> None:
        if self._plot is None:
            self._build()
        super().showEvent(event)

    def _build(self) -> None:
        import pyqtgraph as pg  # here, not at module level: see the module docstring

        widget = fixed_plot("weight", "count")
        plot = widget.getPlotItem()
        self._items = [pg.PlotDataItem(antialias=True) for _ in range(FADED + 1)]
        for depth, item in enumerate(self._items):
            item.setZValue(-depth)  # the latest on top
            plot.addItem(item)
        self._layout.addWidget(widget)
        self._plot = widget
        self.apply_palette()
        self._show()

    def _show(self) -> None:
        if self._plot is None:
            return
        for index, item in enumerate(self._items):
            if index < len(self._shown) and math.isfinite(self._shown[index][1].low):
                histogram = self._shown[index][1]
                item.setData(histogram.edges(), np.asarray(histogram.counts, np.int64), stepMode="center",
                             fillLevel=0 if index == 0 else None)
            else:
                item.clear()
        self._plot.getPlotItem().setTitle(self.title())
        style_chart(self._plot, current_palette())  # a new title needs the palette's colour and size again

    # --- colours --------------------------------------------------------------------
    def apply_palette(self) -> None:
        if self._plot is None:
            return
        palette = current_palette()
        style_chart(self._plot, palette)
        color = series_colors(palette)[0]
        for index, item in enumerate(self._items):
            line = QColor(color)
            if index:
                line.setAlpha(faded_alpha(index))
            pen = QPen(line, 2.0 if index == 0 else 1.2)
            pen.setCosmetic(True)
            item.setPen(pen)
            fill = QColor(color)
            fill.setAlpha(LATEST_FILL_ALPHA)
            item.setBrush(fill if index == 0 else None)

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event):
            self.apply_palette()
        super().changeEvent(event)


class WeightsView(QWidget):
    """A grid of :class:`LayerHistogramChart`, one per layer, fed each epoch's ``EpochEnd.histograms``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightsView")
        self.hint = QLabel(HINT)
        self.hint.setObjectName("weightsHint")
        self.hint.setWordWrap(True)
        self._charts: dict[str, LayerHistogramChart] = {}
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(self._grid, 1)

    def begin(self) -> None:
        """A new run: empty every chart (they are kept for its layers) and show the hint."""
        for chart in self._charts.values():
            chart.clear()
            chart.setVisible(False)
        self.hint.setText(HINT)
        self.hint.setVisible(True)

    def add_epoch(self, end: EpochEnd) -> None:
        """Draw ``end``'s histograms as the latest epoch of their layers (nothing to draw: unchanged)."""
        for histogram in end.histograms:
            chart = self._charts.get(histogram.layer)
            if chart is None:
                chart = self._charts[histogram.layer] = LayerHistogramChart(histogram.layer)
                count = len(self._charts) - 1
                self._grid.addWidget(chart, count // COLUMNS, count % COLUMNS)
            chart.add(end.epoch, histogram)
            chart.setVisible(True)
        if end.histograms:
            self.hint.setVisible(False)

    def layers(self) -> list[str]:
        """The layers with a chart on show, in the order they first came."""
        return [name for name, chart in self._charts.items() if chart.epochs()]

    def chart(self, layer: str) -> LayerHistogramChart:
        return self._charts[layer]
