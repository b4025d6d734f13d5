"""MainWindow: structure, menus, model loading and switching, images, settings, shutdown."""

from __future__ import annotations

import zipfile
from typing import Any
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QByteArray, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QWidget

from digitpad.ui.main_window import BRUSH_KEY, GEOMETRY_KEY, MODEL_KEY, MainWindow
from tests.ui.conftest import FakePredictor, LoadRecorder, draw, line

NAMES = ["tabs", "canvas", "predictionLabel", "confidenceLabel", "probabilityChart", "previewImage",
         "clearButton", "undoButton", "redoButton", "brushSize"]


def middle_column_inked(array: np.ndarray, top: float, bottom: float) -> bool:
    """True when the canvas's middle column is ink from ``top`` to ``bottom`` (fractions of the side)."""
    side = array.shape[0]
    return bool((array[int(side * top):int(side * bottom), array.shape[1] // 2] < 128).all())


@pytest.fixture
def window(show, fake_predictor: FakePredictor, settings: QSettings) -> MainWindow:
    return show(MainWindow(predictor=fake_predictor, settings=settings))


def test_window_structure_with_an_injected_predictor(window: MainWindow, fake_predictor: FakePredictor) -> None:
    assert window.objectName() == "mainWindow" and window.windowTitle() == "digitpad"
    for name in NAMES:
        assert window.findChild(QWidget, name) is not None, name
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Draw", "Train", "Inside"]
    assert window.predictor() is fake_predictor
    assert window.status_text() == fake_predictor.info.describe()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "Model", "Help"]
    a = window.menu_actions
    assert a.open_image.shortcut().toString() == "Ctrl+O" and a.save_png.shortcut().toString() == "Ctrl+S"
    assert a.paste.shortcut().toString() == "Ctrl+V" and a.quit.shortcut().toString() == "Ctrl+Q"
    assert a.undo.shortcut().toString() == "Ctrl+Z" and a.redo.shortcut().toString() == "Ctrl+Shift+Z"
    assert [k.toString() for k in a.clear.shortcuts()] == ["Esc", "Del"]


def test_window_builds_without_arguments_and_loads_in_the_background(qtbot, show, cheap_loader: LoadRecorder) -> None:
    window = MainWindow()
    assert window.status_text() == "Loading model…"  # shown before the model is there
    show(window)
    qtbot.waitUntil(lambda: window.predictor() is not None, timeout=3000)
    assert cheap_loader.paths == [None]  # the bundled model
    assert window.status_text() == "bundled fake (99.12 % on MNIST test)"
    draw(qtbot, window.draw_tab.canvas, line((140, 40), (140, 220)))
    qtbot.waitUntil(lambda: not window.draw_tab.prediction.blank, timeout=3000)


def _junk_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:  # a zip, so Keras itself (TensorFlow) has to refuse it
        archive.writestr("config.json", "{not json")
        archive.writestr("model.weights.h5", b"\x00" * 64)


@pytest.mark.parametrize("kind", ["junk bytes", "junk zip"])
def test_corrupt_model_is_refused_and_the_old_one_stays(qtbot, window: MainWindow, tmp_path: Path, kind: str,
                                                        fake_predictor: FakePredictor, settings: QSettings,
                                                        warnings_shown: list[str], monkeypatch) -> None:
    bad = tmp_path / "bad.keras"
    if kind == "junk zip":
        _junk_zip(bad)
    else:
        bad.write_bytes(b"this is not a keras file \x00\x01\x02" * 50)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    window.menu_actions.open_model.trigger()  # Model -> Open model…, through the real load_predictor
    qtbot.waitUntil(lambda: bool(warnings_shown), timeout=120_000)
    assert len(warnings_shown) == 1 and "\n" not in warnings_shown[0] and "bad.keras" in warnings_shown[0]
    assert window.predictor() is fake_predictor
    assert window.status_text() == fake_predictor.info.describe()
    assert settings.value(MODEL_KEY) is None


def test_an_opened_model_is_used_and_remembered(qtbot, show, window: MainWindow, tmp_path: Path,
                                                settings: QSettings, cheap_loader: LoadRecorder) -> None:
    good = tmp_path / "mine.keras"
    good.write_bytes(b"pretend")
    window.open_model(good)
    qtbot.waitUntil(lambda: window.predictor().info.name == "fake from mine.keras", timeout=3000)
    assert window.status_text().startswith("fake from mine.keras")
    assert settings.value(MODEL_KEY) == str(good.resolve())
    window.close()
    again = show(MainWindow(settings=settings))
    qtbot.waitUntil(lambda: again.predictor() is not None, timeout=3000)
    assert cheap_loader.paths[-1] == str(good.resolve())
    assert again.predictor().info.name == "fake from mine.keras"


def test_a_broken_remembered_model_falls_back_to_the_bundled_one(qtbot, show, tmp_path: Path,
                                                                  settings: QSettings,
                                                                  cheap_loader: LoadRecorder) -> None:
    broken = tmp_path / "gone.keras"
    broken.write_bytes(b"x")
    cheap_loader.broken.add(str(broken))
    settings.setValue(MODEL_KEY, str(broken))
    window = show(MainWindow(settings=settings))
    qtbot.waitUntil(lambda: window.predictor() is not None, timeout=3000)
    assert cheap_loader.paths == [str(broken), None]
    assert window.predictor().info.bundled
    assert "bundled" in window.status_text() and "remembered model failed" in window.status_text()
    assert settings.value(MODEL_KEY) is None


def test_reset_to_bundled_model_forgets_the_remembered_path(qtbot, window: MainWindow, settings: QSettings,
                                                             cheap_loader: LoadRecorder, tmp_path: Path) -> None:
    settings.setValue(MODEL_KEY, str(tmp_path / "old.keras"))
    window.menu_actions.reset_model.trigger()
    qtbot.waitUntil(lambda: window.predictor().info.bundled, timeout=3000)
    assert settings.value(MODEL_KEY) is None and cheap_loader.paths == [None]


def test_brush_width_and_geometry_are_remembered(qtbot, show, settings: QSettings,
                                                 fake_predictor: FakePredictor) -> None:
    window = show(MainWindow(fake_predictor, settings))
    window.draw_tab.brushSize.setValue(31)
    size = window.minimumSizeHint().expandedTo(QSize(700, 500)) + QSize(0, 43)  # offscreen screen: 800x600
    window.resize(size)
    window.close()
    assert float(settings.value(BRUSH_KEY)) == 31
    again = show(MainWindow(fake_predictor, settings))
    assert again.draw_tab.brushSize.value() == 31 and again.draw_tab.canvas.brush_width() == 31
    assert again.size() == size
    assert isinstance(settings.value(GEOMETRY_KEY), QByteArray)


def test_closing_stops_every_thread(qtbot, window: MainWindow, cheap_loader: LoadRecorder,
                                    no_thread_leaks: list) -> None:
    window.reset_model()
    draw(qtbot, window.draw_tab.canvas, line((60, 60), (200, 200)))
    assert any(t.isRunning() for t in no_thread_leaks)
    shutdowns = []
    window.train_tab.shutdown = lambda: shutdowns.append(1)
    window.close()
    assert shutdowns == [1]
    assert not any(t.isRunning() for t in no_thread_leaks)


def test_closing_while_training_asks_first(qtbot, window: MainWindow, monkeypatch) -> None:
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(window.train_tab, "is_training", lambda: True)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: answers.pop(0)))
    window.close()
    assert window.isVisible()
    window.close()
    assert not window.isVisible() and answers == []


def test_menu_undo_and_shortcuts_act_once(qtbot, window: MainWindow) -> None:
    canvas = window.draw_tab.canvas
    draw(qtbot, canvas, line((40, 80), (240, 80)))
    draw(qtbot, canvas, line((40, 200), (240, 200)))
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(canvas.strokes()) == 1  # one stroke, not two: the shortcut is handled once
    window.menu_actions.redo.trigger()
    assert len(canvas.strokes()) == 2
    window.menu_actions.clear.trigger()
    assert canvas.is_empty()
    window.menu_actions.undo.trigger()
    assert len(canvas.strokes()) == 2


def test_edit_actions_follow_canvas_and_tab(qtbot, window: MainWindow) -> None:
    a = window.menu_actions
    assert not a.undo.isEnabled() and not a.clear.isEnabled()
    draw(qtbot, window.draw_tab.canvas, line((40, 80), (240, 80)))
    assert a.undo.isEnabled() and a.clear.isEnabled() and not a.redo.isEnabled()
    window.tabs.setCurrentWidget(window.train_tab)
    assert not a.undo.isEnabled() and not a.clear.isEnabled()  # Esc on the Train tab must not wipe drawings


def test_opening_an_image_puts_it_on_the_canvas(qtbot, window: MainWindow, tmp_path: Path,
                                                warnings_shown: list[str], monkeypatch) -> None:
    pytest.importorskip("digitpad.imaging")
    from PIL import Image

    pixels = np.full((60, 40), 255, np.uint8)
    pixels[10:50, 18:22] = 0
    path = tmp_path / "one.png"
    Image.fromarray(pixels).save(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    window.tabs.setCurrentWidget(window.train_tab)
    window.menu_actions.open_image.trigger()
    assert warnings_shown == []
    assert window.tabs.currentWidget() is window.draw_tab
    array = window.draw_tab.canvas.to_array()
    assert middle_column_inked(array, 0.25, 0.75)
    qtbot.waitUntil(lambda: not window.draw_tab.prediction.blank, timeout=3000)


def test_an_unreadable_image_is_refused(qtbot, window: MainWindow, tmp_path: Path,
                                        warnings_shown: list[str]) -> None:
    pytest.importorskip("digitpad.imaging")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    draw(qtbot, window.draw_tab.canvas, line((40, 80), (240, 80)))
    before = window.draw_tab.canvas.to_array()
    assert window.open_image(junk) is False
    assert len(warnings_shown) == 1 and warnings_shown[0].startswith("Could not open the image")
    np.testing.assert_array_equal(window.draw_tab.canvas.to_array(), before)


def test_paste_puts_the_clipboard_image_on_the_canvas(qtbot, window: MainWindow) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    assert window.paste_image() is False
    assert window.draw_tab.canvas.is_empty()
    image = QImage(56, 56, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    for y in range(8, 48):
        for x in range(26, 30):
            image.setPixel(x, y, 0xFF000000)
    clipboard.setImage(image)
    window.menu_actions.paste.trigger()
    array = window.draw_tab.canvas.to_array()
    assert middle_column_inked(array, 0.2, 0.8)
    clipboard.clear()


def test_a_dropped_image_is_shown(qtbot, window: MainWindow) -> None:
    image = QImage(28, 28, QImage.Format.Format_Grayscale8)
    image.fill(Qt.GlobalColor.black)
    window.draw_tab.canvas.imageDropped.emit(image)  # what the canvas emits on a drop
    assert not window.draw_tab.canvas.is_empty()


def test_save_drawing_adds_png_suffix(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    draw(qtbot, window.draw_tab.canvas, line((40, 80), (240, 80)))
    target = tmp_path / "drawing"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.menu_actions.save_png.trigger()
    saved = QImage(str(tmp_path / "drawing.png"))
    assert not saved.isNull() and saved.width() == window.draw_tab.canvas.width()


def test_train_tab_can_hand_over_a_model_and_an_image(qtbot, window: MainWindow, tmp_path: Path,
                                                       settings: QSettings) -> None:
    saved = tmp_path / "trained.keras"
    saved.write_bytes(b"weights")
    trained = FakePredictor(name="trained just now", path=str(saved))
    window.train_tab.useModelRequested.emit(trained)
    assert window.predictor() is trained
    assert window.status_text().startswith("trained just now")
    assert settings.value(MODEL_KEY) == str(saved.resolve())
    mnist = np.zeros((28, 28), np.float32)
    mnist[4:24, 13:15] = 1.0
    window.tabs.setCurrentWidget(window.train_tab)
    window.train_tab.showImageRequested.emit(mnist)
    assert window.tabs.currentWidget() is window.draw_tab
    array = window.draw_tab.canvas.to_array()
    assert middle_column_inked(array, 0.2, 0.8)


def test_model_info_dialog_describes_the_model(qtbot, window: MainWindow, monkeypatch,
                                               fake_predictor: FakePredictor) -> None:
    shown = []
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda parent, title, text: shown.append(text)))
    window.menu_actions.model_info.trigger()
    assert fake_predictor.info.describe() in shown[0] and "fake.keras" in shown[0]


def test_status_bar_shows_the_model_line(window: MainWindow, fake_predictor: Any) -> None:
    label = window.statusBar().findChild(QLabel, "modelStatus")
    assert label is not None and label.isVisible()
    assert label.text() == fake_predictor.info.describe() == "fake model (99.12 % on MNIST test)"


@pytest.mark.slow
def test_real_bundled_model_reads_a_vertical_stroke_as_one(qtbot, show, settings: QSettings) -> None:
    from digitpad.resources import bundled_model

    try:
        model_file = bundled_model()
    except FileNotFoundError:
        pytest.skip("resources folder missing")
    if not model_file.is_file():
        pytest.skip("resources/digitpad-cnn.keras has not been trained yet")
    window = show(MainWindow(settings=settings))
    qtbot.waitUntil(lambda: window.predictor() is not None, timeout=120_000)
    canvas = window.draw_tab.canvas
    side = canvas.width()
    with qtbot.waitSignal(window.draw_tab.service.predicted, timeout=30_000,
                          check_params_cb=lambda p, generation: not p.blank):
        draw(qtbot, canvas, line((side // 2, side // 5), (side // 2, side * 4 // 5), steps=20))
    qtbot.waitUntil(lambda: window.draw_tab.service.is_idle(), timeout=30_000)
    qtbot.wait(100)
    prediction = window.draw_tab.prediction
    assert prediction.digit == 1, prediction.probabilities
    assert window.draw_tab.predictionLabel.text() == "1"


def test_window_fits_a_1024_pixel_projector_after_a_run(qtbot, show, fake_predictor: FakePredictor,
                                                         settings: QSettings) -> None:
    """A classroom projector is often 1024 px wide: the filled Evaluation view, the widest, must fit with a frame.

    (966 px here and on X11; 1,026 before the confusion cells and charts were trimmed.)
    """
    from tests.ui.fake_trainer import FakeTrainer

    window = show(MainWindow(predictor=fake_predictor, settings=settings, trainer=FakeTrainer()))
    window.tabs.setCurrentWidget(window.train_tab)
    window.train_tab.batch_interval_s = 0.0
    with qtbot.waitSignal(window.train_tab.outcomeReady, timeout=10_000):
        assert window.train_tab.start_training()
    qtbot.waitUntil(lambda: not window.train_tab.is_training(), timeout=10_000)
    assert window.train_tab.views.currentWidget() is window.train_tab.evaluation
    assert window.train_tab.evaluation.gallery.count() > 0
    window.adjustSize()
    assert window.minimumSizeHint().width() <= 1000
