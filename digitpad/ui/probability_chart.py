"""The Draw tab's ten probability bars, painted with QPainter.

Ten fixed bars need no plotting library: a plain widget paints them from the
palette in each ``paintEvent``, so a theme change needs nothing but a repaint
and an update costs ten rectangles.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.ui.theme import chart_colors, is_palette_change

DIGITS = 10
BAR_SHARE = 0.72  # of each digit's slot; the rest is the gap between bars
GRID = (0.0, 0.5, 1.0)  # probabilities with a labelled grid line


def percent_text(value: float) -> str:
    return f"{value * 100:.0f} %"


class ProbabilityChart(QWidget):
    """Ten bars, one per digit, y from 0 to 1; the top digit's bar in the highlight colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityChart")
        self.setAccessibleName("Probability of each digit")
        self.setToolTip("How likely the model finds each digit; the top one is highlighted")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to operate; the description says it all
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._values = np.zeros(DIGITS, np.float64)
        self._top: int | None = None

    # --- data ---------------------------------------------------------------------
    def values(self) -> list[float]:
        return [float(v) for v in self._values]

    def top(self) -> int | None:
        """The highlighted digit (None for a blank reading)."""
        return self._top

    def set_probabilities(self, probabilities: np.ndarray, top: int | None) -> None:
        """Replace the ten bar heights; highlight the top digit's bar."""
        values = np.zeros(DIGITS, np.float64)
        given = np.asarray(probabilities, dtype=np.float64).reshape(-1)[:DIGITS]
        values[:len(given)] = np.nan_to_num(np.clip(given, 0.0, 1.0))
        self._values, self._top = values, top
        ranked = sorted(enumerate(self.values()), key=lambda pair: -pair[1])[:3]
        self.setAccessibleDescription("" if top is None else "Most likely: " + ", ".join(
            f"{digit} {percent_text(value)}" for digit, value in ranked))
        self.update()

    # --- geometry -----------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(300, 180)

    def minimumSizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(self._label_width() + DIGITS * (metrics.horizontalAdvance("0") + 8), 6 * metrics.height())

    def _label_width(self) -> int:
        return self.fontMetrics().horizontalAdvance(percent_text(1.0)) + 8

    def plot_rect(self) -> QRectF:
        """The plot area (bars and grid), inside the y labels and above the digit labels."""
        metrics = self.fontMetrics()
        half = metrics.height() / 2  # the top label is centred on the 100 % line
        return QRectF(self._label_width(), half + 2, self.width() - self._label_width() - 6,
                      self.height() - half - 2 - metrics.height() - 6)

    def bar_rect(self, digit: int) -> QRectF:
        """Where the bar of ``digit`` is painted (empty height for a zero probability)."""
        plot = self.plot_rect()
        slot = plot.width() / DIGITS
        width = max(1.0, round(slot * BAR_SHARE))
        height = round(plot.height() * float(self._values[digit]))
        left = round(plot.left() + slot * digit + (slot - width) / 2)
        return QRectF(left, round(plot.bottom()) - height, width, height)

    # --- painting -----------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event):
            self.update()  # colours are read from the palette in paintEvent
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colors = chart_colors(self.palette())
        painter = QPainter(self)  # no background of its own: the labels sit on the parent's, like a QLabel's
        plot = self.plot_rect()
        painter.fillRect(plot, colors.base)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.9))
        painter.setFont(small)
        height = painter.fontMetrics().height()
        for value in GRID:  # grid lines with their labels on the left
            y = round(plot.bottom() - plot.height() * value)
            painter.setPen(QPen(colors.grid, 1))
            painter.drawLine(round(plot.left()), y, round(plot.right()), y)
            painter.setPen(colors.text)
            painter.drawText(QRectF(0, y - height / 2, plot.left() - 6, height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, percent_text(value))
        painter.setFont(self.font())
        slot = plot.width() / DIGITS
        for digit in range(DIGITS):
            top = digit == self._top
            bar = self.bar_rect(digit)
            if bar.height() > 0:
                painter.fillRect(bar, colors.highlight if top else colors.muted)
            font = QFont(self.font())
            font.setBold(top)
            painter.setFont(font)
            painter.setPen(colors.text)
            painter.drawText(QRectF(plot.left() + slot * digit, plot.bottom() + 3, slot, self.height() - plot.bottom()),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, str(digit))
        painter.setPen(QPen(colors.axis, 1))
        painter.drawLine(round(plot.left()), round(plot.bottom()), round(plot.right()), round(plot.bottom()))
        painter.end()
