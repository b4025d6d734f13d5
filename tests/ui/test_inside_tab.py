"""The Inside tab on the real bundled model: maps equal the network's own numbers, hover arithmetic, latest wins,
and look-alikes from an index built on demand (never at launch) from a subset of the real MNIST."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QThread

from digitpad.ml.data import Mnist, file_sha256, load_mnist
from digitpad.ml.explain import Explainer
from digitpad.ml.inference import load_predictor
from digitpad.ml.lookalikes import build_index, cache_path, fallback_path, load_index, save_index
from digitpad.resources import bundled_model
from digitpad.ui.inside_tab import NEEDS_TUTORIAL, InsideTab
from digitpad.ui.workers import WAIT_MS
from tests.ui.conftest import STROKE, draw

WAIT = 20_000  # ms; the "why" maps take a second or two on a busy machine
INDEXER = "digitpad-lookalikes"  # the index build thread's name


@pytest.fixture(scope="module")
def mnist() -> Mnist:
    return load_mnist()


def subset(mnist: Mnist, count: int) -> Mnist:
    """The first ``count`` training digits, with a sha256 of their own (a cache for them is not the full set's)."""
    x, y = mnist.x_train[:count], mnist.y_train[:count]
    sha = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    return Mnist(x, y, mnist.x_test[:0], mnist.y_test[:0], f"first {count}", sha)


@pytest.fixture(scope="module")
def small(mnist: Mnist) -> Mnist:
    return subset(mnist, 300)


def model_copy(folder: Path, name: str = "model") -> Path:
    """The bundled model (and its metadata) copied into ``folder``: a model file of the user's own."""
    model = folder / f"{name}.keras"
    shutil.copy(bundled_model(), model)
    shutil.copy(bundled_model().with_suffix(".json"), folder / f"{name}.json")
    return model


def thread_names(threads: list[QThread]) -> list[str]:
    names = []
    for thread in threads:
        try:
            names.append(thread.objectName())
        except RuntimeError:  # deleted after it finished; its name is gone with it
            names.append("?")
    return names


def running(threads: list[QThread], name: str) -> bool:
    def alive(thread: QThread) -> bool:
        try:
            return thread.objectName() == name and thread.isRunning()
        except RuntimeError:
            return False

    return any(alive(thread) for thread in threads)


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
def tab(show: Callable[[Any], Any], predictor: Any, small: Mnist) -> InsideTab:
    widget = show(InsideTab(training_data=lambda: small))
    widget.resize(1400, 900)
    assert widget.set_network(predictor)
    return widget


def test_maps_shown_are_the_networks_activations(qtbot: Any, tab: InsideTab, predictor: Any) -> None:
    image = vertical_bar()
    shown(qtbot, tab, tab.show_drawing(image))
    act = predictor.numpy_cnn.activations(image[None])
    assert len(tab.conv1_grid.tiles) == 32 and len(tab.conv2_grid.tiles) == 64
    for k, tile in enumerate(tab.conv1_grid.tiles):  # to float32 rounding: BLAS's sums differ by thread count
        np.testing.assert_allclose(tile.values, act["conv1"][0, :, :, k], rtol=1e-6, atol=1e-6)
        assert not tile.pixmap().isNull() and tile.pixmap().width() == 56
    for k, tile in enumerate(tab.conv2_grid.tiles):
        np.testing.assert_allclose(tile.values, act["conv2"][0, :, :, k], rtol=1e-6, atol=1e-6)
    assert act["conv1"].max() > 0  # the bar lights some maps, so the comparison is not of zeros
    np.testing.assert_allclose(tab.bars.logits, act["logits"][0], rtol=1e-5, atol=1e-5)
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
    np.testing.assert_allclose(tab.conv2_grid.tiles[5].values,
                               predictor.numpy_cnn.activations(horizontal_bar()[None])["conv2"][0, :, :, 5],
                               rtol=1e-6, atol=1e-6)


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
    assert f"Why {a}?" in tab.why_title.text() and f"runner-up {b}" in tab.why_title.text()


def test_the_bundled_models_index_is_built_into_the_user_data_folder(qtbot: Any, tab: InsideTab, predictor: Any,
                                                                     small: Mnist) -> None:
    """resources/ may be read-only (and ships verbatim in the wheel): the cache goes to the user's folder."""
    tab.why_check.setChecked(True)
    tab.show_drawing(vertical_bar())
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.lookalikes is not None, timeout=WAIT)
    written = fallback_path(bundled_model(), file_sha256(bundled_model()))
    assert written.is_file() and written.parent.parent == Path(os.environ["XDG_DATA_HOME"]) / "digitpad"
    assert not cache_path(bundled_model()).exists()
    index = load_index(bundled_model(), small.sha256)
    assert index is not None and len(index) == 300
    expected = index.nearest(predictor.numpy_cnn.features(vertical_bar()[None])[0])
    np.testing.assert_array_equal(tab.result.lookalikes.rows, expected.rows)


def test_a_model_without_the_tutorial_cnn_gets_a_message(show: Callable[[Any], Any]) -> None:
    class OtherModel:  # a TensorFlow Predictor of another architecture has numpy_cnn None
        numpy_cnn = None

    tab = show(InsideTab())
    assert not tab.set_network(OtherModel())
    tab.show_drawing(vertical_bar())
    assert tab.message.text() == NEEDS_TUTORIAL and tab.result is None
    assert not tab.strip.isVisibleTo(tab) and not tab.arithmetic_panel.isVisibleTo(tab)


def test_lookalikes_come_from_a_cached_index(qtbot: Any, show: Callable[[Any], Any], tmp_path: Path,
                                            mnist: Mnist) -> None:
    model = model_copy(tmp_path)
    predictor = load_predictor(model)
    data = subset(mnist, 100)
    index = build_index(predictor.numpy_cnn, data.x_train, data.y_train, file_sha256(model), data.sha256)
    save_index(index, model)
    built_at = cache_path(model).stat().st_mtime_ns
    tab = show(InsideTab(training_data=lambda: data))
    notes: list[str] = []
    tab.indexer.noteChanged.connect(notes.append)
    tab.set_network(predictor)
    tab.why_check.setChecked(True)
    image = vertical_bar()
    tab.show_drawing(image)  # the maps come at once, the look-alikes once the cache is read
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.lookalikes is not None, timeout=WAIT)
    expected = index.nearest(predictor.numpy_cnn.features(image[None])[0])
    np.testing.assert_array_equal(tab.result.lookalikes.rows, expected.rows)
    assert tab.lookalike_label.text().startswith("Look-alikes (nearest training digits")
    assert len(tab.result.lookalike_pictures) == len(expected.rows) == 8
    assert all(not thumb.pixmap().isNull() for thumb in tab.lookalike_thumbs)
    assert not any(note.startswith("Indexing") for note in notes)  # read, not rebuilt
    assert cache_path(model).stat().st_mtime_ns == built_at


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


# ------------------------------------------------------- the look-alike index in the window


@pytest.fixture
def real_window(show: Callable[[Any], Any], settings: QSettings, tmp_path: Path) -> Any:
    """A shown MainWindow on a model file of the user's own (a copy of the bundled one)."""
    from digitpad.ui.main_window import MainWindow

    window = show(MainWindow(predictor=load_predictor(model_copy(tmp_path)), settings=settings))
    window.resize(1400, 900)
    return window


def open_inside_with_why(qtbot: Any, window: Any) -> InsideTab:
    """Click the Inside tab, then "Why this answer?", as a person would."""
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(window.tabs.indexOf(window.inside_tab)).center())
    assert window.tabs.currentWidget() is window.inside_tab
    tab = window.inside_tab
    qtbot.waitExposed(tab.why_check)
    qtbot.mouseClick(tab.why_check, Qt.MouseButton.LeftButton, pos=tab.why_check.rect().center())
    assert tab.why_check.isChecked()
    return tab


def test_launch_and_drawing_build_no_index_until_the_tab_asks(qtbot: Any, real_window: Any, small: Mnist,
                                                              no_thread_leaks: list[QThread]) -> None:
    window = real_window
    model = Path(window.predictor().info.path)
    window.inside_tab.indexer.load_data = lambda: small
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.waitUntil(lambda: window.inside_tab.result is not None, timeout=WAIT)  # the live maps follow the drawing
    qtbot.wait(300)  # time for anything the drawing would have started
    assert INDEXER not in thread_names(no_thread_leaks) and not window.inside_tab.indexer.building()
    assert not cache_path(model).exists() and not (Path(os.environ["XDG_DATA_HOME"]) / "digitpad" / "lookalikes").exists()
    open_inside_with_why(qtbot, window)
    assert INDEXER in thread_names(no_thread_leaks)  # asked: now it builds
    qtbot.waitUntil(cache_path(model).is_file, timeout=WAIT)


def test_the_inside_tab_builds_caches_and_shows_eight_lookalikes(qtbot: Any, real_window: Any, small: Mnist) -> None:
    window = real_window
    model = Path(window.predictor().info.path)
    tab = window.inside_tab
    tab.indexer.load_data = lambda: small
    notes: list[str] = []
    tab.indexer.noteChanged.connect(notes.append)
    draw(qtbot, window.draw_tab.canvas, STROKE)
    open_inside_with_why(qtbot, window)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.lookalikes is not None, timeout=WAIT)
    assert cache_path(model).is_file()  # beside the model: its folder is writable
    cached = load_index(model, small.sha256)
    assert cached is not None and len(cached) == 300
    expected = cached.nearest(tab.result.maps["dense"])
    np.testing.assert_array_equal(tab.result.lookalikes.rows, expected.rows)
    assert any(note.startswith("Indexing 300 training digits for look-alikes…") and note.endswith("%")
               for note in notes)
    labels = ", ".join(str(int(d)) for d in small.y_train[expected.rows])
    text = tab.lookalike_label.text()
    assert text.startswith("Look-alikes (nearest training digits")
    assert ", ".join(part.split(" ")[0] for part in text.split(": ", 1)[1].split(", ")) == labels
    thumbs = [thumb for thumb in tab.lookalike_thumbs if thumb.isVisible()]
    assert len(thumbs) == 8 and all(not thumb.pixmap().isNull() for thumb in thumbs)
    first = thumbs[0].pixmap().toImage()  # the nearest training digit's own pixels, 2x
    shown_digit = np.array([[first.pixelColor(2 * c, 2 * r).red() for c in range(28)] for r in range(28)], float)
    assert np.corrcoef(shown_digit.ravel(), small.x_train[expected.rows[0]].ravel())[0, 1] > 0.95
    window.resize(1040, 780)  # the look-alikes' line must not widen the panel past the window (it overlapped)
    qtbot.wait(100)
    body = tab.strip.parentWidget()
    assert body.minimumSizeHint().width() <= body.width()
    strip, why = tab.strip.geometry(), tab.why_panel.geometry()
    assert strip.bottom() < why.top() and strip.bottom() < tab.arithmetic_panel.geometry().top()
    assert why.right() <= body.width() and tab.lookalike_label.geometry().right() <= why.width()


def test_the_live_maps_follow_strokes_while_the_index_builds_and_closing_stops_it(
        qtbot: Any, real_window: Any, mnist: Mnist, no_thread_leaks: list[QThread]) -> None:
    window = real_window
    model = Path(window.predictor().info.path)
    tab = window.inside_tab
    tab.indexer.load_data = lambda: subset(mnist, 20_000)  # long enough to still run when the window closes
    draw(qtbot, window.draw_tab.canvas, STROKE)
    open_inside_with_why(qtbot, window)
    qtbot.waitUntil(lambda: tab.indexer.note.startswith("Indexing 20,000"), timeout=WAIT)
    before = tab.generation
    draw(qtbot, window.draw_tab.canvas, [(60, 120), (220, 120)])
    qtbot.waitUntil(lambda: tab.generation > before, timeout=WAIT)  # the Draw tab's reading reached the tab
    generation = tab.generation
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.generation == generation, timeout=WAIT)
    assert tab.indexer.building() and tab.result.lookalikes is None  # the maps did not wait for the build
    assert tab.lookalike_label.text().startswith("Indexing 20,000 training digits for look-alikes…")
    start = time.monotonic()
    window.close()
    closed = time.monotonic() - start
    assert closed < WAIT_MS / 1000, f"closing took {closed:.1f} s"
    assert not running(no_thread_leaks, INDEXER)
    assert not cache_path(model).exists()  # a stopped build writes nothing


def test_a_model_change_stops_the_old_build(qtbot: Any, show: Callable[[Any], Any], tmp_path: Path,
                                            mnist: Mnist, no_thread_leaks: list[QThread]) -> None:
    first, second = model_copy(tmp_path, "first"), model_copy(tmp_path, "second")
    tab = show(InsideTab(training_data=lambda: subset(mnist, 20_000)))
    tab.set_network(load_predictor(first))
    tab.why_check.setChecked(True)
    tab.show_drawing(vertical_bar())
    qtbot.waitUntil(lambda: tab.indexer.note.startswith("Indexing"), timeout=WAIT)
    old = [t for t in no_thread_leaks if thread_names([t]) == [INDEXER]]
    tab.indexer.load_data = lambda: subset(mnist, 300)
    tab.set_network(load_predictor(second))
    qtbot.waitUntil(lambda: not running(old, INDEXER), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.lookalikes is not None, timeout=WAIT)
    assert cache_path(second).is_file() and not cache_path(first).exists()
