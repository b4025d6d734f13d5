"""The Evaluation view with real MNIST test images: it fits the window, the gallery is a grid, clicks work."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView

from digitpad.ml.data import load_mnist
from digitpad.ml.evaluation import confusion_matrix
from digitpad.ui.confusion_view import GRID_CELL, EvaluationView
from tests.ui.conftest import FakePredictor

ERRORS = 354
FOUR_DIGITS = np.full((10, 10), 8888, np.int64)  # the widest matrix there can be for 10,000 test images


@pytest.fixture(scope="module")
def evaluation() -> tuple[SimpleNamespace, np.ndarray]:
    """The real MNIST test images, read by a made-up model that gets 354 of them wrong."""
    data = load_mnist()
    labels = np.asarray(data.y_test, np.int64)
    rng = np.random.default_rng(0)
    predicted = labels.copy()
    wrong = rng.choice(len(labels), ERRORS, replace=False)
    predicted[wrong] = (labels[wrong] + rng.integers(1, 10, ERRORS)) % 10
    result = SimpleNamespace(accuracy=float(np.mean(predicted == labels)), loss=0.1,
                             confusion=confusion_matrix(labels, predicted), labels=labels, predicted=predicted)
    return result, np.asarray(data.x_test)


@pytest.fixture
def view(show, evaluation) -> EvaluationView:
    widget = EvaluationView()
    widget.show_evaluation(*evaluation)
    widget.resize(700, 560)
    return show(widget)


def test_minimum_width_fits_a_small_window_with_four_digit_counts(qtbot, view: EvaluationView) -> None:
    view.matrix.set_confusion(FOUR_DIGITS)
    view.filter_label.setText("misclassified test images: 8888 (showing 400)")
    hint = view.minimumSizeHint()
    assert hint.width() <= 700 and hint.height() <= 520
    view.resize(hint)
    qtbot.wait(10)
    assert not view.side_by_side()
    matrix = view.matrix
    needed = matrix.fontMetrics().horizontalAdvance("8888")
    assert all(matrix.columnWidth(c) >= needed for c in range(10))  # every count whole ...
    assert not matrix.horizontalScrollBar().isVisible()  # ... with no scrolling
    assert matrix.viewport().width() >= sum(matrix.columnWidth(c) for c in range(10))


def test_showing_an_evaluation_does_not_widen_the_window(qtbot, show, settings: QSettings,
                                                        evaluation) -> None:
    from digitpad.ui.main_window import MainWindow

    window = show(MainWindow(predictor=FakePredictor(), settings=settings))
    window.resize(900, 640)
    window.tabs.setCurrentWidget(window.train_tab)
    qtbot.wait(10)
    view = window.train_tab.evaluation
    view.show_evaluation(*evaluation)
    view.matrix.set_confusion(FOUR_DIGITS)
    window.train_tab.views.setCurrentWidget(view)
    qtbot.wait(50)
    assert window.width() == 900
    assert window.minimumSizeHint().width() <= 900


def test_gallery_is_a_grid_that_fills_its_width(qtbot, view: EvaluationView) -> None:
    gallery = view.gallery
    assert gallery.count() == ERRORS and gallery.viewMode() == gallery.ViewMode.IconMode
    top_row = [gallery.visualItemRect(gallery.item(i)) for i in range(gallery.count())
               if gallery.visualItemRect(gallery.item(i)).top() == gallery.visualItemRect(gallery.item(0)).top()]
    assert len(top_row) >= 5  # 700 px: five or six thumbnails side by side, not one narrow column
    cell = gallery.gridSize().width()
    assert cell >= GRID_CELL.width()
    assert gallery.viewport().width() - (top_row[-1].left() + cell) < GRID_CELL.width()  # no empty column left
    view.resize(1400, 700)
    qtbot.wait(10)
    assert view.side_by_side()  # wide: the matrix beside the gallery, and still a few columns of images
    assert gallery.columns_for(gallery.width()) >= 3


def test_gallery_header_stays_on_one_line(qtbot, view: EvaluationView) -> None:
    label = view.filter_label
    assert label.text() == f"misclassified test images: {ERRORS}"
    line = label.fontMetrics().height()
    assert label.height() < 2 * line
    view.resize(view.minimumSizeHint().width(), 560)
    qtbot.wait(10)
    assert label.height() < 2 * line  # narrow: shortened with "…", not wrapped onto three lines
    assert label.toolTip() == label.text() == f"misclassified test images: {ERRORS}"


def test_a_clicked_cell_filters_the_gallery_and_an_image_goes_to_the_canvas(qtbot, view: EvaluationView,
                                                                          evaluation) -> None:
    result, images = evaluation
    true, read = np.argwhere(result.confusion - np.diag(np.diag(result.confusion)) > 0)[0]
    matrix = view.matrix
    rect = matrix.visualItemRect(matrix.item(int(true), int(read)))
    qtbot.mouseClick(matrix.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    expected = np.flatnonzero((result.labels == true) & (result.predicted == read))
    assert view.gallery.shown_indices() == expected.tolist()
    assert view.filter_label.text() == f"true {true} → read {read}: {len(expected)}"
    gallery = view.gallery
    gallery.scrollToItem(gallery.item(0), QAbstractItemView.ScrollHint.PositionAtTop)
    with qtbot.waitSignal(view.imageChosen, timeout=2000) as blocker:
        qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton,
                         pos=gallery.visualItemRect(gallery.item(0)).center())
    np.testing.assert_array_equal(blocker.args[0], images[expected[0]].astype(np.float32) / 255.0)
