"""The Train tab's "Per class" view: each digit's test images, accuracy, precision, recall and F1.

Filled from the run's confusion matrix (``digitpad.ml.class_metrics``), so it
always agrees with the Evaluation view. Sorting is numeric (UserRole data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from digitpad.ml.class_metrics import per_class_metrics

COLUMNS = ("digit", "test images", "recall", "precision", "F1", "accuracy")
KEYS = (None, "support", "recall", "precision", "f1", "accuracy")


class _Item(QTableWidgetItem):
    """Sorts by the number behind the text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        return (-1.0 if mine is None else mine) < (-1.0 if theirs is None else theirs)


class ClassMetricsView(QWidget):
    """A 10-row table, one row per digit; ``show_confusion`` fills it, ``clear`` empties it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classMetricsView")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("classMetricsTable")
        self.table.setAccessibleName("Per-class results")
        self.table.setToolTip("Recall: share of this digit's test images read right · precision: share of the "
                              "readings of this digit that were right · accuracy: of the yes/no question "
                              "'is it this digit?'")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(True)
        self.hint = QLabel("Train a model to see how well it reads each digit")
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.hint.setText("Train a model to see how well it reads each digit")

    def show_confusion(self, confusion: Any) -> dict[str, list[Any]]:
        """Fill the table from a (10, 10) confusion matrix; returns the metrics shown."""
        metrics = per_class_metrics(np.asarray(confusion))
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(metrics["support"]))
        for digit in range(len(metrics["support"])):
            for column, key in enumerate(KEYS):
                value = digit if key is None else metrics[key][digit]
                text = ("—" if value is None else str(value) if key in (None, "support")
                        else f"{value * 100:.2f} %")
                item = _Item(text)
                item.setData(Qt.ItemDataRole.UserRole, None if value is None else float(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(digit, column, item)
        self.table.setSortingEnabled(True)
        worst = int(np.nanargmin([np.nan if r is None else r for r in metrics["recall"]]))
        self.hint.setText(f"Hardest digit for this model: {worst} (recall {metrics['recall'][worst] * 100:.2f} %)")
        return metrics
