"""The "My samples" dialog: the user's saved drawings, grouped by digit, with Delete and Export.

It lists :class:`digitpad.personal.SampleStore`'s samples as 28x28 thumbnails
(scaled x3), sorted by digit, filterable by digit, with a line of counts per
digit. It re-reads the folder when shown, when it becomes the active window
and whenever :meth:`refresh` is called (the main window calls it after each
save), so a folder deleted behind the app's back simply shows zero samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout,
                               QLabel, QListView, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from digitpad.ui.images import gray_to_qimage

if TYPE_CHECKING:  # pragma: no cover
    from digitpad.personal import Sample, SampleStore

THUMB_SCALE = 3
THUMB = 28 * THUMB_SCALE
ID_ROLE = Qt.ItemDataRole.UserRole
NPZ_FILTER = "NumPy archives (*.npz)"
READ_ERROR = "Could not read the samples folder"


def counts_text(counts: dict[int, int]) -> str:
    """'0: 3 · 1: 5 · … · 9: 0 — 8 in all'."""
    total = sum(counts.values())
    return " · ".join(f"{digit}: {counts.get(digit, 0)}" for digit in range(10)) + f" — {total} in all"


def _default_store() -> SampleStore:
    from digitpad.personal import SampleStore

    return SampleStore()


def _thumbnail(sample: Sample) -> QIcon:
    """The sample's 28x28 image scaled x3 with sharp pixels; an empty icon if unreadable."""
    try:
        pixels = sample.image()
        if pixels.ndim != 2:
            raise ValueError(f"unexpected image shape {pixels.shape}")
    except Exception:  # noqa: BLE001 - removed or damaged behind our back (Pillow raises many kinds)
        return QIcon()
    pixmap = QPixmap.fromImage(gray_to_qimage(pixels)).scaled(
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return QIcon(pixmap)


class SamplesDialog(QDialog):
    """Browse, delete and export personal samples."""


    def __init__(self, parent: QWidget | None = None,
                 store_factory: Callable[[], SampleStore] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("samplesDialog")
        self.setWindowTitle("My samples")
        self.store_factory = store_factory or _default_store
        self._icons: dict[str, QIcon] = {}  # samples never change once written: cache by id
        self._samples: list[Sample] = []

        self.counts_label = QLabel()
        self.counts_label.setObjectName("samplesCounts")
        self.counts_label.setAccessibleName("Samples per digit")
        self.counts_label.setWordWrap(True)
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("samplesFilter")
        self.filter_combo.setAccessibleName("Show digit")
        self.filter_combo.addItem("All digits", None)
        for digit in range(10):
            self.filter_combo.addItem(f"Only {digit}", digit)
        self.filter_combo.currentIndexChanged.connect(self._fill)
        self.list = QListWidget()
        self.list.setObjectName("samplesList")
        self.list.setAccessibleName("Saved samples")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(4)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._sync_buttons)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setObjectName("deleteSamplesButton")
        self.delete_button.setToolTip("Delete the selected samples from disk (Delete key)")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.export_button = QPushButton("&Export…")
        self.export_button.setObjectName("exportSamplesButton")
        self.export_button.setToolTip("Write every sample to a .npz file in MNIST's format (x_train, y_train)")
        self.export_button.clicked.connect(lambda: self.export())
        self.status_label = QLabel()
        self.status_label.setObjectName("samplesStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        delete_key.activated.connect(lambda: self.delete_selected())
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        top = QHBoxLayout()
        show_label = QLabel("&Show:")
        show_label.setBuddy(self.filter_combo)
        top.addWidget(show_label)
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.delete_button)
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(bottom)
        self.resize(640, 480)
        self.refresh()

    # --- public API -------------------------------------------------------------------
    def samples(self) -> list[Sample]:
        """Every sample as last read from disk, grouped by digit (oldest first within one)."""
        return list(self._samples)

    def shown_ids(self) -> list[str]:
        """Ids of the samples the list shows now (after the digit filter)."""
        return [self.list.item(row).data(ID_ROLE) for row in range(self.list.count())]

    def set_filter(self, digit: int | None) -> None:
        self.filter_combo.setCurrentIndex(0 if digit is None else digit + 1)

    def refresh(self) -> None:
        """Re-read the samples folder and redraw counts and list (keeps the selection)."""
        try:
            found = self.store_factory().samples()
        except OSError as exc:  # e.g. the folder lost its read permission: show none, say why
            found = []
            self.status_label.setText(f"{READ_ERROR}: {exc.strerror or exc}")
        else:
            if self.status_label.text().startswith(READ_ERROR):
                self.status_label.clear()
        self._samples = sorted(found, key=lambda s: (s.label, s.id))
        known = {s.id for s in self._samples}
        self._icons = {k: v for k, v in self._icons.items() if k in known}
        counts = dict.fromkeys(range(10), 0)
        for sample in self._samples:
            counts[sample.label] += 1
        self.counts_label.setText(counts_text(counts))
        self._fill()

    def delete_selected(self, confirm: bool = True) -> int:
        """Delete the selected samples (after a question unless ``confirm`` is False); returns how many."""
        ids = [item.data(ID_ROLE) for item in self.list.selectedItems()]
        if not ids:
            return 0
        if confirm:
            answer = QMessageBox.question(self, "Delete samples — digitpad",
                                          f"Delete {len(ids)} sample{'s' * (len(ids) != 1)}? This cannot be undone.")
            if answer != QMessageBox.StandardButton.Yes:
                return 0
        from digitpad.errors import DataError, one_line

        store, deleted = self.store_factory(), 0
        try:
            for sample_id in ids:
                store.delete(sample_id)
                deleted += 1
        except (OSError, DataError) as exc:
            QMessageBox.warning(self, "Delete samples — digitpad", f"Could not delete a sample: {one_line(exc)}")
        self.refresh()
        self.status_label.setText(f"Deleted {deleted} sample{'s' * (deleted != 1)}")
        return deleted

    def export(self, path: str | Path | None = None) -> int | None:
        """Write every sample to ``path`` (default: ask) as MNIST-style .npz; returns the count."""
        if not self._samples and not self.store_factory().samples():
            self.status_label.setText("No samples to export yet")
            return None
        if path is None:
            default = str(Path.home() / "digitpad-samples.npz")
            chosen, _ = QFileDialog.getSaveFileName(self, "Export samples", default, NPZ_FILTER)
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        if target.suffix.lower() != ".npz":
            target = target.with_name(target.name + ".npz")
        from digitpad.errors import DataError, one_line

        try:
            count = self.store_factory().export_npz(target)
        except DataError as exc:
            QMessageBox.warning(self, "Export samples — digitpad", f"Could not export the samples: {one_line(exc)}")
            return None
        self.status_label.setText(f"Exported {count} sample{'s' * (count != 1)} to {target}")
        return count

    # --- internals ----------------------------------------------------------------------
    def _fill(self) -> None:
        digit = self.filter_combo.currentData()
        selected = {item.data(ID_ROLE) for item in self.list.selectedItems()}
        self.list.clear()
        for sample in self._samples:
            if digit is not None and sample.label != digit:
                continue
            icon = self._icons.get(sample.id)
            if icon is None:
                icon = self._icons[sample.id] = _thumbnail(sample)
            item = QListWidgetItem(icon, str(sample.label))
            item.setData(ID_ROLE, sample.id)
            item.setToolTip(f"{sample.label} · saved {sample.date or 'at an unknown time'}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.list.addItem(item)
            item.setSelected(sample.id in selected)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.delete_button.setEnabled(bool(self.list.selectedItems()))
        self.export_button.setEnabled(bool(self._samples))

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.refresh()  # the user may have changed the folder elsewhere (CLI, file manager)
        super().changeEvent(event)
