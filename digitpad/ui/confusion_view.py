"""Test-set evaluation view: accuracy, a 10x10 confusion matrix and a gallery of test images.

Clicking a matrix cell (rows = true digit, columns = what the model read)
filters the gallery to that confusion; clicking a gallery image emits it as a
float32 (28, 28) image in [0, 1], white ink on black, for the Draw canvas.

The view fits the window the person chose instead of widening it: every part
has a small minimum (the matrix as ten 4-digit columns, the gallery one
thumbnail), the gallery header shortens with "…" instead of wrapping, and the
matrix and gallery sit side by side only when both have room, else stacked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import (QBrush, QColor, QIcon, QKeyEvent, QPainter, QPaintEvent, QPalette, QPixmap,
                           QResizeEvent)
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QBoxLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLayout, QListView, QListWidget, QListWidgetItem, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from digitpad.ui.images import gray_to_qimage
from digitpad.ui.theme import blend, current_palette, is_palette_change, readable_text

CLASSES = 10
THUMB_SCALE = 3  # 28 px images shown at 84 px
MAX_THUMBS = 400  # a badly trained model can get thousands wrong; show the first ones
INDEX_ROLE = Qt.ItemDataRole.UserRole
THUMB_SIDE = 28 * THUMB_SCALE
GRID_CELL = QSize(THUMB_SIDE + 16, THUMB_SIDE + 24)  # the smallest gallery cell: thumbnail, caption, margins
SIDE_BY_SIDE_COLUMNS = 3  # gallery columns needed beside the matrix before the two sit side by side
CORRECT_COLOR = (46, 160, 67)
WRONG_COLOR = (214, 39, 40)


def confusion_text(true: int, predicted: int) -> str:
    return f"true {true} → read {predicted}"


class ElidedLabel(QLabel):
    """One line that ends in "…" when it is too narrow, instead of wrapping or widening the window.

    ``text()`` stays the whole text; the tooltip repeats it. One line also keeps the
    view's minimum height exact (a wrapping label grows taller than its size hint).
    """

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("0000 …"), super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(), self.isEnabled(), text,
                                  self.foregroundRole())
        painter.end()


class ConfusionMatrixView(QTableWidget):
    """The confusion matrix as a table; ``confusionChosen(true, predicted)`` on click or Enter.

    QTableWidget's own ``cellClicked(row, column)`` is ``(true, predicted)`` as well.
    """

    confusionChosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(CLASSES, CLASSES, parent)
        self.setObjectName("confusionMatrix")
        # Bare digits as headers (the caption above says rows are true, columns read), so ten
        # 4-digit columns fit the window's 960 px minimum; the headers' tooltips say it again.
        self.setHorizontalHeaderLabels([str(d) for d in range(CLASSES)])
        self.setVerticalHeaderLabels([str(d) for d in range(CLASSES)])
        for d in range(CLASSES):
            self.horizontalHeaderItem(d).setToolTip(f"read {d}: the model read {d}")
            self.verticalHeaderItem(d).setToolTip(f"true {d}: test images of {d}")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTabKeyNavigation(False)  # Tab leaves the matrix; arrow keys move between cells
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(self._cell_width(tight=True))
        self.verticalHeader().setMinimumSectionSize(self.fontMetrics().height() + 4)
        self.setAccessibleName("Confusion matrix")
        self.setToolTip("Rows: true digit, columns: what the model read; click a cell or press Enter")
        corner = self.findChild(QAbstractButton)  # QTableView's select-all corner button
        if corner is not None:
            corner.setAccessibleName("Select all cells")
            corner.setToolTip("Select all cells")
        self._confusion = np.zeros((CLASSES, CLASSES), np.int64)
        self.cellClicked.connect(self.confusionChosen)
        self.cellActivated.connect(self.confusionChosen)
        self.clear_matrix()

    def _cell_width(self, tight: bool) -> int:
        """A 4-digit count plus the item margins (``tight``), or with some air around it."""
        return self.fontMetrics().horizontalAdvance("0000") + (6 if tight else 18)

    def _size_for(self, cell_width: int, row_height: int) -> QSize:
        frame = 2 * self.frameWidth()
        rows = self.verticalHeader()
        row_header = max(rows.sizeHint().width(), self.fontMetrics().horizontalAdvance("0") + 12)
        return QSize(row_header + CLASSES * cell_width + frame,
                     self.horizontalHeader().sizeHint().height() + CLASSES * row_height + frame)

    def minimumSizeHint(self) -> QSize:
        """Ten whole 4-digit columns and ten rows of text: the matrix stays readable without scrolling."""
        return self._size_for(self._cell_width(tight=True), self.fontMetrics().height() + 4)

    def sizeHint(self) -> QSize:
        return self._size_for(self._cell_width(tight=False), self.fontMetrics().height() + 12)

    def clear_matrix(self) -> None:
        self.set_confusion(np.zeros((CLASSES, CLASSES), np.int64))

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event) and hasattr(self, "_confusion"):  # shades depend on the base colour
            self.set_confusion(self._confusion)
        super().changeEvent(event)

    def set_confusion(self, confusion: np.ndarray) -> None:
        """Fill the cells; the diagonal is green, errors red, shaded by count over the palette's base
        (not bold: a bold 4-digit count is cut off in a 40 px column).

        Each shaded cell's text is the palette's text colour if it reads well on the
        shade, else black or white, so counts stay legible in light and dark themes.
        """
        base = current_palette().color(QPalette.ColorRole.Base)
        matrix = np.asarray(confusion, np.int64)
        if matrix.shape != (CLASSES, CLASSES):
            raise ValueError(f"expected a 10x10 confusion matrix, got shape {matrix.shape}")
        self._confusion = matrix.copy()
        diagonal = np.diag(matrix)
        off = matrix - np.diag(diagonal)
        top_right, top_wrong = max(int(diagonal.max()), 1), max(int(off.max()), 1)
        for true in range(CLASSES):
            for predicted in range(CLASSES):
                count = int(matrix[true, predicted])
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                if true == predicted:
                    shade, rgb = count / top_right, CORRECT_COLOR
                    item.setToolTip(f"{count} test images of {true} read correctly")
                else:
                    shade, rgb = math.sqrt(count / top_wrong), WRONG_COLOR  # sqrt: rare errors stay visible
                    item.setToolTip(f"{confusion_text(true, predicted)}: {count} test images")
                if count:
                    shading = QColor(*rgb, int(40 + 180 * shade))
                    item.setBackground(QBrush(shading))
                    item.setForeground(QBrush(readable_text(blend(shading, base))))
                self.setItem(true, predicted, item)

    def count(self, true: int, predicted: int) -> int:
        return int(self._confusion[true, predicted])


class MisclassifiedGallery(QListWidget):
    """Test images as enlarged thumbnails; ``imageChosen(float32 (28, 28))`` on click or Enter."""

    imageChosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("misclassifiedGallery")
        self.setAccessibleName("Test images")
        self.setToolTip("Test images (true → read); click one or press Enter to put it on the Draw canvas")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.setGridSize(GRID_CELL)
        self._images = np.zeros((0, 28, 28), np.uint8)
        self._labels = np.zeros(0, np.int64)
        self._predicted = np.zeros(0, np.int64)
        self.total = 0  # images that match the current filter, shown or not
        self.itemClicked.connect(self._choose)

    def columns_for(self, width: int) -> int:
        """How many thumbnails fit side by side in a gallery ``width`` px wide."""
        return max(1, (width - self._chrome()) // GRID_CELL.width())

    def width_for(self, columns: int) -> int:
        """The gallery width that holds ``columns`` thumbnails side by side."""
        return self._chrome() + columns * GRID_CELL.width()

    def _chrome(self) -> int:
        """Frame and (room for) the vertical scroll bar, so the columns do not change when it appears."""
        return 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width() + 2

    def minimumSizeHint(self) -> QSize:
        return QSize(self.width_for(1), GRID_CELL.height() + 2 * self.frameWidth())

    def sizeHint(self) -> QSize:
        return QSize(self.width_for(SIDE_BY_SIDE_COLUMNS), 2 * GRID_CELL.height() + 2 * self.frameWidth())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Share the width out among the columns: the grid fills the gallery instead of leaving a gap."""
        columns = self.columns_for(self.width())
        cell = QSize((self.width() - self._chrome()) // columns, GRID_CELL.height())
        if cell.width() >= GRID_CELL.width() and cell != self.gridSize():
            self.setGridSize(cell)
        super().resizeEvent(event)

    def set_source(self, images: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> None:
        """The uint8 test images with their true and predicted digits (aligned)."""
        self._images = np.asarray(images)
        self._labels = np.asarray(labels).astype(np.int64)
        self._predicted = np.asarray(predicted).astype(np.int64)
        self.show_indices(np.zeros(0, np.int64))

    def show_errors(self) -> None:
        self.show_indices(np.flatnonzero(self._labels != self._predicted))

    def show_cell(self, true: int, predicted: int) -> None:
        self.show_indices(np.flatnonzero((self._labels == true) & (self._predicted == predicted)))

    def show_indices(self, indices: np.ndarray) -> None:
        """Show the test images at ``indices`` (at most ``MAX_THUMBS`` of them)."""
        self.clear()
        self.total = len(indices)
        ratio = self.devicePixelRatioF()  # crisp pixels on HiDPI screens, not an upscaled thumbnail
        side = round(THUMB_SIDE * ratio)
        for index in indices[:MAX_THUMBS]:
            index = int(index)
            true, read = int(self._labels[index]), int(self._predicted[index])
            mnist = np.asarray(self._images[index], np.uint8)  # white ink on black, as the model saw it
            pixmap = QPixmap.fromImage(gray_to_qimage(mnist)).scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
            pixmap.setDevicePixelRatio(ratio)
            item = QListWidgetItem(QIcon(pixmap), f"{true} → {read}")
            item.setToolTip(confusion_text(true, read) + f" (test image {index})")
            item.setData(INDEX_ROLE, index)
            self.addItem(item)

    def shown_indices(self) -> list[int]:
        return [int(self.item(row).data(INDEX_ROLE)) for row in range(self.count())]

    def image(self, index: int) -> np.ndarray:
        """Test image ``index`` as float32 (28, 28) in [0, 1], white ink on black."""
        return np.asarray(self._images[index], np.float32) / 255.0

    def _choose(self, item: QListWidgetItem) -> None:
        self.imageChosen.emit(self.image(int(item.data(INDEX_ROLE))))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self._choose(self.currentItem())
            return
        super().keyPressEvent(event)


class EvaluationView(QWidget):
    """``testAccuracyLabel``, ``confusionMatrix`` and the gallery, filled from an Outcome."""

    imageChosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accuracy_label = QLabel()
        self.accuracy_label.setObjectName("testAccuracyLabel")
        font = self.accuracy_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.accuracy_label.setFont(font)
        self.matrix = ConfusionMatrixView()
        self.gallery = MisclassifiedGallery()
        self.filter_label = ElidedLabel("")
        self.filter_label.setObjectName("galleryFilterLabel")
        self.all_errors_button = QPushButton("All errors")
        self.all_errors_button.setObjectName("showAllErrorsButton")
        self.all_errors_button.setToolTip("Show every misclassified test image")
        self.all_errors_button.setAccessibleName("Show all errors")
        self.accuracy_label.setAccessibleName("Test accuracy")
        self.accuracy_label.setToolTip("Share of the 10,000 MNIST test images the model reads correctly")
        self.filter_label.setAccessibleName("Images shown")

        self.matrix_panel = QWidget()
        matrix_box = QVBoxLayout(self.matrix_panel)
        matrix_box.setContentsMargins(0, 0, 0, 0)
        matrix_box.addWidget(self.accuracy_label)
        matrix_box.addWidget(ElidedLabel("Rows: true digit · columns: what the model read · click a cell"))
        matrix_box.addWidget(self.matrix, 1)
        self.gallery_panel = QWidget()
        gallery_box = QVBoxLayout(self.gallery_panel)
        gallery_box.setContentsMargins(0, 0, 0, 0)
        gallery_head = QHBoxLayout()
        gallery_head.addWidget(self.filter_label, 1)
        gallery_head.addWidget(self.all_errors_button)
        gallery_box.addLayout(gallery_head)
        gallery_box.addWidget(self.gallery, 1)
        gallery_box.addWidget(ElidedLabel("Click an image to put it on the Draw canvas"))
        layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        # The widget's minimum is minimumSizeHint() below (the stacked one), not the current direction's.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.addWidget(self.matrix_panel, 1)
        layout.addWidget(self.gallery_panel, 1)
        self._layout = layout

        self.matrix.confusionChosen.connect(self.show_cell)
        self.all_errors_button.clicked.connect(self.show_errors)
        self.gallery.imageChosen.connect(self.imageChosen)
        self.clear()

    def side_by_side(self) -> bool:
        """True when the matrix and the gallery sit next to each other (a wide view), False when stacked."""
        return self._layout.direction() == QBoxLayout.Direction.LeftToRight

    def side_by_side_width(self) -> int:
        """The narrowest width that puts the matrix at its size hint beside a gallery of a few columns."""
        margins = self._layout.contentsMargins()
        return (margins.left() + margins.right() + self._layout.spacing() + self.matrix_panel.sizeHint().width()
                + max(self.gallery.width_for(SIDE_BY_SIDE_COLUMNS), self.gallery_panel.minimumSizeHint().width()))

    def minimumSizeHint(self) -> QSize:
        """The stacked arrangement's minimum: the view never makes its window wider than that."""
        margins = self._layout.contentsMargins()
        panels = (self.matrix_panel.minimumSizeHint(), self.gallery_panel.minimumSizeHint())
        return QSize(max(p.width() for p in panels) + margins.left() + margins.right(),
                     sum(p.height() for p in panels) + self._layout.spacing() + margins.top() + margins.bottom())

    def resizeEvent(self, event: QResizeEvent) -> None:
        wide = event.size().width() >= self.side_by_side_width()
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._layout.direction() != direction:  # the width does not depend on it, so this cannot flip-flop
            self._layout.setDirection(direction)
            self._layout.setStretch(0, 0 if wide else 1)  # side by side the gallery takes the extra width
        super().resizeEvent(event)

    def clear(self) -> None:
        self.accuracy_label.setText("test accuracy: no evaluation yet")
        self.matrix.clear_matrix()
        self.gallery.set_source(np.zeros((0, 28, 28), np.uint8), np.zeros(0), np.zeros(0))
        self.filter_label.setText("")
        self.all_errors_button.setEnabled(False)

    def show_evaluation(self, evaluation: Any, test_images: np.ndarray) -> None:
        """Show an ``Evaluation`` and the test images it scored (aligned with its labels)."""
        self.accuracy_label.setText(f"test accuracy {evaluation.accuracy * 100:.2f} %")
        self.matrix.set_confusion(evaluation.confusion)
        self.gallery.set_source(test_images, evaluation.labels, evaluation.predicted)
        self.all_errors_button.setEnabled(True)
        self.show_errors()

    def show_errors(self) -> None:
        self.gallery.show_errors()
        self.filter_label.setText(self._count_text("misclassified test images"))

    def show_cell(self, true: int, predicted: int) -> None:
        self.gallery.show_cell(true, predicted)
        what = f"{true}s read correctly" if true == predicted else confusion_text(true, predicted)
        self.filter_label.setText(self._count_text(what))

    def _count_text(self, what: str) -> str:
        shown, total = self.gallery.count(), self.gallery.total
        return f"{what}: {total}" if shown == total else f"{what}: {total} (showing {shown})"
