"""The Train tab's Weights page: per-layer kernel histograms, the latest epoch strong and earlier ones faded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QSpinBox, QTabBar

from digitpad.contracts import EpochEnd, WeightHistogram
from digitpad.ui.main_window import MainWindow
from digitpad.ui.train_tab import TrainTab
from digitpad.ui.weights_view import FADED, LATEST_FILL_ALPHA, WeightsView, faded_alpha
from tests.ui.conftest import FakePredictor
from tests.ui.fake_trainer import LAYERS, FakeTrainer, fake_histograms

LEFT = Qt.MouseButton.LeftButton


def epoch_end(epoch: int, histograms: tuple[WeightHistogram, ...]) -> EpochEnd:
    return EpochEnd(epoch, 9, 0.5, 0.9, None, None, 1.0, 100.0, histograms=histograms)


def assert_shows(view: WeightsView, layer: str, expected: list[WeightHistogram]) -> None:
    """The chart's plot items hold exactly ``expected`` (latest first): edges on x, counts on y."""
    curves = view.chart(layer).curve_data()
    assert len(curves) == len(expected)
    for (x, y), histogram in zip(curves, expected):
        assert np.array_equal(y, np.asarray(histogram.counts))
        assert np.array_equal(x, np.linspace(histogram.low, histogram.high, len(histogram.counts) + 1))
        assert x[0] == histogram.low and x[-1] == histogram.high


def pg_color(brush: Any) -> Any:
    import pyqtgraph as pg

    return pg.mkBrush(brush).color().alpha()


def click_page(qtbot: Any, tab: TrainTab, title: str) -> None:
    bar = tab.views.findChild(QTabBar)
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert tab.views.currentIndex() == index


def test_the_curves_hold_exactly_the_sent_counts(qtbot: Any) -> None:
    view = WeightsView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert view.hint.isVisible() and view.layers() == []
    sent = fake_histograms(1)
    view.add_epoch(epoch_end(1, sent))
    assert view.layers() == list(LAYERS)
    assert not view.hint.isVisible()
    for histogram in sent:
        assert_shows(view, histogram.layer, [histogram])
        assert view.chart(histogram.layer).isVisible()
        assert view.chart(histogram.layer).title() == f"{histogram.layer} · epoch 1"


def test_earlier_epochs_stay_faded_behind_the_latest(qtbot: Any) -> None:
    view = WeightsView()
    qtbot.addWidget(view)
    view.show()
    epochs = FADED + 3
    for epoch in range(1, epochs + 1):
        view.add_epoch(epoch_end(epoch, fake_histograms(epoch)))
    chart = view.chart("dense")
    shown = list(range(epochs, epochs - FADED - 1, -1))  # the latest and the FADED before it
    assert chart.epochs() == shown
    assert_shows(view, "dense", [fake_histograms(e)[LAYERS.index("dense")] for e in shown])
    items = chart._items
    alphas = [item.opts["pen"].color().alpha() for item in items]
    assert alphas[0] == 255 and alphas[1:] == [faded_alpha(age) for age in range(1, FADED + 1)]
    assert alphas == sorted(alphas, reverse=True) and len(set(alphas)) == len(alphas)
    assert items[0].opts["fillLevel"] == 0 and pg_color(items[0].opts["fillBrush"]) == LATEST_FILL_ALPHA
    assert all(item.opts["fillLevel"] is None for item in items[1:])
    assert [item.zValue() for item in items] == sorted((item.zValue() for item in items), reverse=True)


def test_a_layer_without_finite_weights_draws_nothing(qtbot: Any) -> None:
    view = WeightsView()
    qtbot.addWidget(view)
    view.show()
    nan = WeightHistogram("dense", float("nan"), float("nan"), (0,) * 40)
    view.add_epoch(epoch_end(1, (nan,)))
    assert view.chart("dense")._items[0].yData is None
    assert view.add_epoch(epoch_end(2, ())) is None and view.chart("dense").epochs() == [1]  # nothing sent


@pytest.fixture
def tab(qtbot: Any) -> Any:
    tab = TrainTab(trainer=FakeTrainer(steps=3))
    tab.batch_interval_s = 0.0
    tab.findChild(QSpinBox, "epochsSpin").setValue(3)
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    qtbot.waitExposed(tab)
    yield tab
    tab.shutdown()


def test_the_page_follows_each_epoch_of_a_run(qtbot: Any, tab: TrainTab) -> None:
    click_page(qtbot, tab, "Weights")
    seen: list[tuple[int, list[list[WeightHistogram]]]] = []

    def after_epoch(end: EpochEnd) -> None:  # connected after the tab's own slot: the page is updated
        seen.append((end.epoch, [tab.weights.chart(layer).histograms() for layer in LAYERS]))
        assert end.histograms == fake_histograms(end.epoch)
        for histogram in end.histograms:
            assert_shows(tab.weights, histogram.layer,
                         [fake_histograms(e)[LAYERS.index(histogram.layer)] for e in range(end.epoch, 0, -1)])

    tab.controller.epochEnded.connect(after_epoch)
    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(tab.start_button, LEFT)
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert seen[0][1] == [[h] for h in fake_histograms(1)]
    assert tab.trainer.epochs[-1].histograms == fake_histograms(3)

    # a new run starts from an empty page
    tab.findChild(QSpinBox, "epochsSpin").setValue(1)
    started: list[bool] = []
    tab.controller.runStarted.connect(lambda *_: started.append(not tab.weights.hint.isHidden()
                                                                and not tab.weights.layers()))
    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(tab.start_button, LEFT)
    assert started == [True]
    assert tab.weights.chart("conv1").epochs() == [1]


def test_the_weights_page_fits_a_1024_pixel_window(qtbot: Any, show: Any, fake_predictor: FakePredictor,
                                                   settings: QSettings) -> None:
    window = show(MainWindow(predictor=fake_predictor, settings=settings, trainer=FakeTrainer()))
    window.resize(1024, 768)
    window.tabs.setCurrentWidget(window.train_tab)
    window.train_tab.batch_interval_s = 0.0
    with qtbot.waitSignal(window.train_tab.outcomeReady, timeout=10_000):
        assert window.train_tab.start_training()
    qtbot.waitUntil(lambda: not window.train_tab.is_training(), timeout=10_000)
    click_page(qtbot, window.train_tab, "Weights")
    assert window.train_tab.weights.layers() == list(LAYERS)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1000 and hint.height() <= 740, hint
    assert window.width() <= 1024 and window.height() <= 768
    assert all(window.train_tab.weights.chart(layer).isVisible() for layer in LAYERS)
