"""The "My samples" dialog: grouped thumbnails, counts, filter, Delete (button and key), Export, refresh."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton

from digitpad.personal import SampleStore, samples_dir
from digitpad.ui.images import qimage_to_gray
from digitpad.ui.main_window import MainWindow
from digitpad.ui.samples_view import THUMB, THUMB_SCALE, SamplesDialog, counts_text
from tests.ui.conftest import FakePredictor, draw, line

LEFT = Qt.MouseButton.LeftButton
LABELS = [3, 1, 3, 0, 9, 3, 1]


def digit_image(seed: int) -> np.ndarray:
    """A distinct uint8 28x28 white-on-black image per seed."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 6 + seed % 14:9 + seed % 14] = 255
    image[0, 0] = seed
    return image


@pytest.fixture
def stored() -> list[Any]:
    store = SampleStore()
    return [store.add(digit_image(i), label) for i, label in enumerate(LABELS)]


@pytest.fixture
def dialog(show: Any, stored: list[Any]) -> SamplesDialog:
    return show(SamplesDialog())


class Answers:
    """Stands in for QMessageBox.question: records each question, answers from ``replies`` (then Yes)."""

    def __init__(self) -> None:
        self.replies: list[QMessageBox.StandardButton] = []
        self.asked: list[str] = []

    def __call__(self, parent: Any, title: str, text: str, *args: Any, **kwargs: Any) -> QMessageBox.StandardButton:
        self.asked.append(text)
        return self.replies.pop(0) if self.replies else QMessageBox.StandardButton.Yes


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorder = Answers()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(recorder))
    return recorder


def click_item(qtbot: Any, dialog: SamplesDialog, row: int, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    item = dialog.list.item(row)
    dialog.list.scrollToItem(item)
    qtbot.mouseClick(dialog.list.viewport(), LEFT, modifier, dialog.list.visualItemRect(item).center())


def test_samples_are_grouped_by_digit_with_counts_and_thumbnails(dialog: SamplesDialog, stored: list[Any]) -> None:
    assert dialog.objectName() == "samplesDialog"
    assert dialog.counts_label.text() == ("0: 1 · 1: 2 · 2: 0 · 3: 3 · 4: 0 · 5: 0 · 6: 0 · 7: 0 · 8: 0 · 9: 1"
                                          " — 7 in all")
    assert [dialog.list.item(r).text() for r in range(dialog.list.count())] == ["0", "1", "1", "3", "3", "3", "9"]
    by_id = {s.id: s for s in stored}
    for row in range(dialog.list.count()):
        item = dialog.list.item(row)
        sample = by_id[item.data(Qt.ItemDataRole.UserRole)]
        assert item.text() == str(sample.label)
        thumb = qimage_to_gray(item.icon().pixmap(THUMB, THUMB).toImage())
        assert thumb.shape == (THUMB, THUMB)
        # x3 with sharp pixels: every 3x3 block is one sample pixel
        np.testing.assert_array_equal(thumb[1::THUMB_SCALE, 1::THUMB_SCALE], sample.image())
        np.testing.assert_array_equal(thumb[::THUMB_SCALE, ::THUMB_SCALE], sample.image())


def test_filter_shows_one_digit(dialog: SamplesDialog, stored: list[Any]) -> None:
    dialog.set_filter(3)
    assert dialog.filter_combo.currentText() == "Only 3"
    assert dialog.shown_ids() == sorted(s.id for s in stored if s.label == 3)
    dialog.set_filter(7)
    assert dialog.shown_ids() == []
    dialog.set_filter(None)
    assert len(dialog.shown_ids()) == len(LABELS)
    assert "3: 3" in dialog.counts_label.text()  # counts always cover every digit


def test_delete_with_the_button_and_the_delete_key(qtbot: Any, dialog: SamplesDialog, stored: list[Any],
                                                   answers: Answers) -> None:
    assert not dialog.delete_button.isEnabled()
    click_item(qtbot, dialog, 0)
    click_item(qtbot, dialog, 6, Qt.KeyboardModifier.ControlModifier)
    doomed = set(dialog.shown_ids()[i] for i in (0, 6))
    assert {i.data(Qt.ItemDataRole.UserRole) for i in dialog.list.selectedItems()} == doomed
    answers.replies.append(QMessageBox.StandardButton.No)
    qtbot.mouseClick(dialog.delete_button, LEFT)
    assert len(SampleStore().samples()) == len(LABELS)  # "No" keeps them
    qtbot.mouseClick(dialog.delete_button, LEFT)
    assert len(answers.asked) == 2 and answers.asked[-1].startswith("Delete 2 samples?")
    left = {s.id for s in SampleStore().samples()}
    assert left == {s.id for s in stored} - doomed
    for sample in stored:
        if sample.id in doomed:
            assert not sample.image_path.exists() and not (sample.folder / f"{sample.id}.json").exists()
    assert dialog.counts_label.text().startswith("0: 0 · 1: 2") and "9: 0" in dialog.counts_label.text()
    assert dialog.status_label.text() == "Deleted 2 samples"

    click_item(qtbot, dialog, 0)
    victim = dialog.shown_ids()[0]
    dialog.list.setFocus()
    qtbot.keyClick(dialog.list, Qt.Key.Key_Delete)
    assert victim not in {s.id for s in SampleStore().samples()}
    assert len(SampleStore().samples()) == len(LABELS) - 3


def test_export_writes_mnist_style_npz(qtbot: Any, dialog: SamplesDialog, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, warnings_shown: list[str]) -> None:
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    qtbot.mouseClick(dialog.export_button, LEFT)
    assert warnings_shown == []
    with np.load(tmp_path / "mine.npz") as data:
        x, y = data["x_train"], data["y_train"]
    want_x, want_y, _ = SampleStore().arrays()
    assert x.dtype == np.uint8 and x.shape == (len(LABELS), 28, 28) and y.dtype == np.uint8
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)
    assert sorted(y.tolist()) == sorted(LABELS)
    assert dialog.status_label.text() == f"Exported {len(LABELS)} samples to {tmp_path / 'mine.npz'}"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_export_failure_warns_and_writes_nothing(dialog: SamplesDialog, tmp_path: Path,
                                                 warnings_shown: list[str]) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    assert dialog.export(blocker / "out.npz") is None
    assert len(warnings_shown) == 1 and warnings_shown[0].startswith("Could not export the samples")
    assert blocker.read_text() == "not a folder"


def test_export_cancelled_or_empty_does_nothing(show: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = show(SamplesDialog())
    assert not empty.export_button.isEnabled()
    assert empty.export(tmp_path / "x.npz") is None and not (tmp_path / "x.npz").exists()
    assert empty.status_label.text() == "No samples to export yet"
    SampleStore().add(digit_image(1), 4)
    empty.refresh()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    assert empty.export() is None and list(tmp_path.iterdir()) == []


def test_an_unreadable_thumbnail_is_listed_without_a_picture(show: Any, stored: list[Any]) -> None:
    stored[0].image_path.write_bytes(b"damaged")
    dialog = show(SamplesDialog())
    assert len(dialog.shown_ids()) == len(LABELS)
    item = next(dialog.list.item(r) for r in range(dialog.list.count())
                if dialog.list.item(r).data(Qt.ItemDataRole.UserRole) == stored[0].id)
    assert item.icon().isNull()


def test_an_unreadable_folder_shows_none_and_says_why(show: Any, stored: list[Any]) -> None:
    class Unreadable:
        def samples(self) -> list[Any]:
            raise PermissionError(13, "Permission denied")

    broken = {"now": True}
    dialog = show(SamplesDialog(store_factory=lambda: Unreadable() if broken["now"] else SampleStore()))
    assert dialog.list.count() == 0 and "0 in all" in dialog.counts_label.text()
    assert dialog.status_label.text() == "Could not read the samples folder: Permission denied"
    broken["now"] = False
    dialog.refresh()
    assert dialog.list.count() == len(LABELS) and dialog.status_label.text() == ""


def test_the_dialog_follows_saves_and_a_deleted_folder(qtbot: Any, show: Any, settings: QSettings,
                                                      stored: list[Any]) -> None:
    window = show(MainWindow(predictor=FakePredictor(), settings=settings))
    dialog = window.show_samples()
    qtbot.waitExposed(dialog)
    assert "7 in all" in dialog.counts_label.text()
    tab = window.draw_tab
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    qtbot.mouseClick(tab.findChild(QPushButton, "correct5"), LEFT)
    qtbot.waitUntil(lambda: "5: 1" in dialog.counts_label.text(), timeout=3000)  # refreshed while open
    assert "8 in all" in dialog.counts_label.text() and dialog.list.count() == 8

    shutil.rmtree(samples_dir())  # gone behind the app's back
    dialog.refresh()
    assert dialog.counts_label.text() == counts_text(dict.fromkeys(range(10), 0))
    assert dialog.list.count() == 0 and "0 in all" in dialog.counts_label.text()
    draw(qtbot, tab.canvas, line((140, 40), (140, 220)))
    qtbot.mouseClick(tab.findChild(QPushButton, "correct2"), LEFT)
    qtbot.waitUntil(lambda: "1 in all" in dialog.counts_label.text(), timeout=3000)
    assert samples_dir().is_dir() and dialog.list.count() == 1 and "2: 1" in dialog.counts_label.text()
    assert window.show_samples() is dialog  # one dialog, raised again

