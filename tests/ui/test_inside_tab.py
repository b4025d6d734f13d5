"""The Inside tab on the real bundled model: maps equal the network's own numbers, hover arithmetic, latest wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PySide6.QtCore import QPoint

import shutil

from digitpad.ml.data import file_sha256, load_mnist
from digitpad.ml.explain import Explainer
from digitpad.ml.inference import load_predictor
from digitpad.ml.lookalikes import build_index, save_index
from digitpad.resources import bundled_model
from digitpad.ui.inside_tab import NEEDS_TUTORIAL, InsideTab

WAIT = 20_000  # ms; the "why" maps take a second or two on a busy machine


@pytest.fixture(scope="module")
def predictor() -> Any:
    return load_predictor()


def vertical_bar() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    return image


def horizontal_bar() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[12:16, 4:24] = 1.0
    return image


def shown(qtbot: Any, tab: InsideTab, generation: int) -> None:
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.generation == generation, timeout=WAIT)


@pytest.fixture
def tab(show: Callable[[Any], Any], predictor: Any) -> InsideTab:
    widget = show(InsideTab())
    widget.resize(1400, 900)
    assert widget.set_network(predictor)
    return widget


def test_maps_shown_are_the_networks_activations(qtbot: Any, tab: InsideTab, predictor: Any) -> None:
    image = vertical_bar()
    shown(qtbot, tab, tab.show_drawing(image))
    act = predictor.numpy_cnn.activations(image[None])
    assert len(tab.conv1_grid.tiles) == 32 and len(tab.conv2_grid.tiles) == 64
    for k, tile in enumerate(tab.conv1_grid.tiles):
        np.testing.assert_array_equal(tile.values, act["conv1"][0, :, :, k])
        assert not tile.pixmap().isNull() and tile.pixmap().width() == 56
    for k, tile in enumerate(tab.conv2_grid.tiles):
        np.testing.assert_array_equal(tile.values, act["conv2"][0, :, :, k])
    assert act["conv1"].max() > 0  # the bar lights some maps, so the comparison is not of zeros
    np.testing.assert_allclose(tab.bars.logits, act["logits"][0])
    assert int(np.argmax(tab.bars.probabilities)) == predictor.predict_prepared(image).digit
    assert tab.findChild(object, "totalParams").text() == "3,274,634 parameters in all"


def test_hovering_a_conv1_map_shows_its_arithmetic(qtbot: Any, tab: InsideTab) -> None:
    image = vertical_bar()
    shown(qtbot, tab, tab.show_drawing(image))
    values = tab.result.maps["conv1"]
    channel, row, col = np.unravel_index(int(np.argmax(values.transpose(2, 0, 1))), (32, 28, 28))
    tile = tab.conv1_grid.tiles[channel]
    qtbot.mouseMove(tile, QPoint(col * tile.scale + 1, row * tile.scale + 1))
    qtbot.waitUntil(lambda: tab.arithmetic is not None, timeout=2000)
    text = tab.arithmetic_panel.text()
    assert f"conv1 map {channel}, row {row}, column {col}" in text
    assert tab.arithmetic.output == pytest.approx(float(values[row, col, channel]), abs=1e-5)
    assert f"ReLU → {float(values[row, col, channel]):.4f}" in text
    assert tab.arithmetic.total == pytest.approx(float(tab.arithmetic.products.sum()) + tab.arithmetic.bias)


def test_a_newer_drawing_wins(qtbot: Any, tab: InsideTab, predictor: Any) -> None:
    seen: list[int] = []
    tab.shown.connect(seen.append)
    tab.show_drawing(vertical_bar())
    tab.show_drawing(np.flipud(vertical_bar()) * 0.5)
    last = tab.show_drawing(horizontal_bar())
    shown(qtbot, tab, last)
    qtbot.waitUntil(tab.is_idle, timeout=WAIT)
    assert seen == [last]  # the older drawings never reach the screen
    np.testing.assert_array_equal(tab.conv2_grid.tiles[5].values,
                                  predictor.numpy_cnn.activations(horizontal_bar()[None])["conv2"][0, :, :, 5])


def test_why_maps_appear_when_asked(qtbot: Any, tab: InsideTab, predictor: Any) -> None:
    image = vertical_bar()
    shown(qtbot, tab, tab.show_drawing(image))
    assert tab.result.why is None and not tab.why_panel.isVisible()
    tab.why_check.setChecked(True)
    qtbot.waitUntil(lambda: tab.result.why is not None, timeout=WAIT)
    expected = Explainer(predictor.numpy_cnn).why(image)
    a, b = expected.contrast.classes
    np.testing.assert_allclose(tab.result.why.contrast.map, expected.contrast.map, atol=1e-6)
    assert tab.why_panel.isVisible()
    assert all(not label.pixmap().isNull() for label in tab.why_labels.values())
    assert tab.lookalike_label.text() == "Look-alikes: no index built for this model yet"
    assert f"Why {a}?" in tab.why_title.text() and f"runner-up {b}" in tab.why_title.text()


def test_a_model_without_the_tutorial_cnn_gets_a_message(show: Callable[[Any], Any]) -> None:
    class OtherModel:  # a TensorFlow Predictor of another architecture has numpy_cnn None
        numpy_cnn = None

    tab = show(InsideTab())
    assert not tab.set_network(OtherModel())
    tab.show_drawing(vertical_bar())
    assert tab.message.text() == NEEDS_TUTORIAL and tab.result is None
    assert not tab.strip.isVisibleTo(tab) and not tab.arithmetic_panel.isVisibleTo(tab)


@pytest.mark.slow  # reads MNIST twice (here and in the tab's worker)
def test_lookalikes_come_from_a_cached_index(qtbot: Any, show: Callable[[Any], Any], tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    shutil.copy(bundled_model(), model)
    shutil.copy(bundled_model().with_suffix(".json"), tmp_path / "model.json")
    predictor = load_predictor(model)
    mnist = load_mnist()
    index = build_index(predictor.numpy_cnn, mnist.x_train[:100], mnist.y_train[:100], file_sha256(model))
    save_index(index, model)
    tab = show(InsideTab())
    tab.set_network(predictor)
    tab.why_check.setChecked(True)
    image = vertical_bar()
    generation = tab.show_drawing(image)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.generation == generation
                    and tab.result.why is not None, timeout=WAIT)
    expected = index.nearest(predictor.numpy_cnn.features(image[None])[0])
    np.testing.assert_array_equal(tab.result.lookalikes.rows, expected.rows)
    assert tab.lookalike_label.text().startswith("Look-alikes (nearest training digits")
    assert len(tab.result.lookalike_pictures) == len(expected.rows) == 8
    assert all(not thumb.pixmap().isNull() for thumb in tab.lookalike_thumbs)


def test_shutdown_stops_the_thread(qtbot: Any, tab: InsideTab) -> None:
    tab.why_check.setChecked(True)
    tab.show_drawing(vertical_bar())
    thread = tab._thread
    tab.shutdown(timeout_ms=10_000)
    assert not thread.isRunning()
    tab.show_drawing(horizontal_bar())  # after shutdown: ignored, no error
    assert not thread.isRunning()


def test_screenshot(qtbot: Any, tab: InsideTab) -> None:
    tab.why_check.setChecked(True)
    generation = tab.show_drawing(vertical_bar())
    shown(qtbot, tab, generation)
    qtbot.waitUntil(lambda: tab.result.why is not None, timeout=WAIT)
    path = Path("/tmp/inside_tab.png")
    assert tab.grab().save(str(path))
    assert path.stat().st_size > 10_000
