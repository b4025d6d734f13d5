"""Test-set evaluation view: accuracy, a 10x10 confusion matrix and a gallery of test images.

Clicking a matrix cell (rows = true digit, columns = what the model read)
filters the gallery to that confusion; clicking a gallery image emits it as a
float32 (28, 28) image in [0, 1], white ink on black, for the Draw canvas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPalette, QPixmap
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListView,
                               QListWidget, QListWidgetItem, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from digitpad.ui.images import gray_to_qimage
from digitpad.ui.theme import blend, current_palette, is_palette_change, readable_text

CLASSES = 10
THUMB_SCALE = 3  # 28 px images shown at 84 px
MAX_THUMBS = 400  # a badly trained model can get thousands wrong; show the first ones
INDEX_ROLE = Qt.ItemDataRole.UserRole
CORRECT_COLOR = (46, 160, 67)
WRONG_COLOR = (214, 39, 40)


def confusion_text(true: int, predicted: int) -> str:
    return f"true {true} → read {predicted}"


def _wrapped(text: str) -> QLabel:
    """A label that wraps instead of widening the window (it must fit 960 px, e.g. 1920 px at 200 %)."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


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
        cell = self.fontMetrics().horizontalAdvance("0000") + 6  # a 4-digit count plus the item margins
        self.horizontalHeader().setMinimumSectionSize(cell)
        row_header = self.fontMetrics().horizontalAdvance("0") + 16
        self.setMinimumSize(row_header + CLASSES * cell + 2 * self.frameWidth() + 4, 260)
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
        side = 28 * THUMB_SCALE
        self.setIconSize(QSize(side, side))
        self.setGridSize(QSize(side + 16, side + 24))
        self.setSpacing(4)
        self._images = np.zeros((0, 28, 28), np.uint8)
        self._labels = np.zeros(0, np.int64)
        self._predicted = np.zeros(0, np.int64)
        self.total = 0  # images that match the current filter, shown or not
        self.itemClicked.connect(self._choose)

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
        side = round(28 * THUMB_SCALE * ratio)
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
        self.filter_label = _wrapped("")
        self.filter_label.setObjectName("galleryFilterLabel")
        self.all_errors_button = QPushButton("All errors")
        self.all_errors_button.setObjectName("showAllErrorsButton")
        self.all_errors_button.setToolTip("Show every misclassified test image")
        self.all_errors_button.setAccessibleName("Show all errors")
        self.accuracy_label.setAccessibleName("Test accuracy")
        self.accuracy_label.setToolTip("Share of the 10,000 MNIST test images the model reads correctly")
        self.filter_label.setAccessibleName("Images shown")

        matrix_box = QVBoxLayout()
        matrix_box.addWidget(self.accuracy_label)
        matrix_box.addWidget(_wrapped("Rows: true digit · columns: what the model read · click a cell"))
        matrix_box.addWidget(self.matrix, 1)
        gallery_head = QHBoxLayout()
        gallery_head.addWidget(self.filter_label, 1)
        gallery_head.addWidget(self.all_errors_button)
        gallery_box = QVBoxLayout()
        gallery_box.addLayout(gallery_head)
        gallery_box.addWidget(self.gallery, 1)
        gallery_box.addWidget(_wrapped("Click an image to put it on the Draw canvas"))
        layout = QHBoxLayout(self)
        layout.addLayout(matrix_box, 3)
        layout.addLayout(gallery_box, 2)

        self.matrix.confusionChosen.connect(self.show_cell)
        self.all_errors_button.clicked.connect(self.show_errors)
        self.gallery.imageChosen.connect(self.imageChosen)
        self.clear()

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
