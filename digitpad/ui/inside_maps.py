"""Small widgets of the Inside tab: one feature map, a grid of them, a layer column and the output bars."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

Hover = Callable[[int, int, int], None]  # (channel, row, column)


class MapTile(QLabel):
    """One feature map as a picture; keeps the values it shows and reports the pixel under the pointer."""

    def __init__(self, channel: int, side: int, scale: int, on_hover: Hover | None = None) -> None:
        super().__init__()
        self.setObjectName(f"map{channel}")
        self.channel, self.side, self.scale = channel, side, scale
        self.values = np.zeros((side, side), np.float32)
        self._on_hover = on_hover
        self.setFixedSize(side * scale, side * scale)
        self.setMouseTracking(on_hover is not None)
        self.setStyleSheet("background: #440154;")

    def show_map(self, values: np.ndarray, picture: QImage) -> None:
        self.values = np.array(values, np.float32)
        self.setPixmap(QPixmap.fromImage(picture))

    def pixel_at(self, x: float, y: float) -> tuple[int, int]:
        """The (row, column) of the map under widget point (x, y)."""
        last = self.side - 1
        return min(max(int(y) // self.scale, 0), last), min(max(int(x) // self.scale, 0), last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._on_hover is not None:
            row, col = self.pixel_at(event.position().x(), event.position().y())
            self._on_hover(self.channel, row, col)
        super().mouseMoveEvent(event)


class MapGrid(QWidget):
    """``count`` maps of ``side`` x ``side`` px, ``columns`` to a row, in channel order."""

    def __init__(self, count: int, side: int, scale: int, columns: int = 8, on_hover: Hover | None = None) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        self.tiles = [MapTile(k, side, scale, on_hover) for k in range(count)]
        for k, tile in enumerate(self.tiles):
            grid.addWidget(tile, k // columns, k % columns)

    def show_maps(self, stack: np.ndarray, pictures: list[QImage]) -> None:
        """``stack`` is ``(side, side, count)``; ``pictures`` one QImage per channel."""
        for k, tile in enumerate(self.tiles):
            tile.show_map(stack[:, :, k], pictures[k])


def picture_label(name: str, width: int, height: int) -> QLabel:
    """A fixed-size label that will hold one picture."""
    label = QLabel()
    label.setObjectName(name)
    label.setFixedSize(width, height)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return label


def layer_column(layer: dict[str, Any], body: QWidget, extra: QWidget | None = None) -> QWidget:
    """A layer of the strip: its name, output shape and parameter count above what it computes."""
    column = QWidget()
    column.setObjectName(f"layer_{layer['name']}")
    box = QVBoxLayout(column)
    box.setContentsMargins(3, 0, 3, 0)
    shape = " × ".join(str(n) for n in layer["shape"])
    head = QLabel(f"<b>{layer['name']}</b><br>{shape}<br>{layer['params']:,} params")
    head.setObjectName(f"head_{layer['name']}")
    box.addWidget(head)
    box.addWidget(body)
    if extra is not None:
        box.addWidget(extra)
    box.addStretch(1)
    return column


class OutputBars(QWidget):
    """The 10 logits and their softmax probabilities as horizontal bars."""

    ROW = 20

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("outputBars")
        self.logits = np.zeros(10, np.float32)
        self.probabilities = np.zeros(10, np.float32)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(190, 10 * self.ROW + 4)

    def show_outputs(self, logits: np.ndarray, probabilities: np.ndarray) -> None:
        self.logits = np.array(logits, np.float32)
        self.probabilities = np.array(probabilities, np.float32)
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        top = int(np.argmax(self.probabilities)) if self.probabilities.any() else -1
        bar_left, bar_width = 18, 60
        for digit in range(10):
            y = 2 + digit * self.ROW
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(0, y, 16, self.ROW), Qt.AlignmentFlag.AlignCenter, str(digit))
            painter.fillRect(QRectF(bar_left, y + 3, bar_width, self.ROW - 6), QColor(225, 225, 225))
            colour = QColor(214, 96, 77) if digit == top else QColor(67, 147, 195)
            painter.fillRect(QRectF(bar_left, y + 3, bar_width * float(self.probabilities[digit]), self.ROW - 6),
                             colour)
            text = f"{100 * self.probabilities[digit]:5.1f}% {self.logits[digit]:+6.1f}"
            painter.drawText(QRectF(bar_left + bar_width + 4, y, 108, self.ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.end()


def arithmetic_text(channel: int, row: int, col: int, arithmetic: Any) -> str:
    """The hover panel's text: patch, kernel, products and their sum for one conv1 output."""
    def grid(values: np.ndarray, fmt: str) -> str:
        return "\n".join(" ".join(format(float(v), fmt) for v in line) for line in values)

    a = arithmetic
    return (f"conv1 map {channel}, row {row}, column {col}\n\n"
            f"input patch (5×5):\n{grid(a.patch, '5.2f')}\n\n"
            f"kernel {channel}:\n{grid(a.kernel, '+6.2f')}\n\n"
            f"products:\n{grid(a.products, '+6.2f')}\n\n"
            f"sum {float(a.products.sum()):+.4f} + bias {a.bias:+.4f} = {a.total:+.4f}\n"
            f"ReLU → {a.output:.4f}")
