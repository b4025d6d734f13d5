"""Settings: what persists, that a damaged settings file means defaults, and the first-run hint."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, QSize

from digitpad.ui.canvas import DEFAULT_BRUSH_WIDTH, HINT_TEXT
from digitpad.ui.images import qimage_to_gray
from digitpad.ui.main_window import BRUSH_KEY, DEFAULT_SIZE, GEOMETRY_KEY, HINT_KEY, LAST_TAB_KEY, MainWindow
from digitpad.ui.settings_io import read_setting
from tests.ui.conftest import FakePredictor, draw, line


def _ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


def _assert_defaults(window: MainWindow) -> None:
    assert window.draw_tab.brush_width() == DEFAULT_BRUSH_WIDTH and window.draw_tab.brushSize.value() == 20
    assert window.tabs.currentIndex() == 0
    assert window.size() == DEFAULT_SIZE.expandedTo(window.minimumSizeHint())


# --- persistence ----------------------------------------------------------------------------
def test_last_tab_brush_and_geometry_persist(qtbot, show, tmp_path: Path, fake_predictor: FakePredictor) -> None:
    window = show(MainWindow(fake_predictor, _ini(tmp_path)))
    window.tabs.setCurrentWidget(window.train_tab)
    window.draw_tab.brushSize.setValue(33)
    size = window.minimumSizeHint() + QSize(0, 21)  # not the default size (and no wider than needed:
    # restoreGeometry fits the width to the 800 px offscreen screen)
    window.resize(size)
    window.close()
    stored = _ini(tmp_path)
    assert stored.value(LAST_TAB_KEY, type=int) == 1 and float(stored.value(BRUSH_KEY)) == 33
    again = show(MainWindow(fake_predictor, _ini(tmp_path)))
    assert again.tabs.currentWidget() is again.train_tab
    assert again.draw_tab.brush_width() == 33 and again.size() == size


# --- damaged settings -------------------------------------------------------------------------
def test_garbage_settings_file_opens_with_defaults(qtbot, show, tmp_path: Path,
                                                   fake_predictor: FakePredictor) -> None:
    noise = random.Random(7)
    junk = bytes(noise.randrange(256) for _ in range(4000))
    fragments = b"\n[canvas]\nbrushWidth=@Variant(\x00\x01\n[window]\ngeometry=@ByteArray(\xff\xfe\nlastTab==\n\x00["
    (tmp_path / "s.ini").write_bytes(junk + fragments + junk)
    window = MainWindow(fake_predictor, _ini(tmp_path))
    _assert_defaults(window)
    show(window)
    assert window.draw_tab.canvas.hint_visible()  # first run, as far as anyone can tell
    window.close()  # saving over the damaged file raises nothing either


@pytest.mark.parametrize("key, value", [
    (BRUSH_KEY, "banana"), (BRUSH_KEY, "nan"), (BRUSH_KEY, "-4"), (BRUSH_KEY, "1e9"), (BRUSH_KEY, "0"),
    (GEOMETRY_KEY, "xx"), (GEOMETRY_KEY, "@ByteArray(xx)"), (GEOMETRY_KEY, "12"),
    (LAST_TAB_KEY, "99"), (LAST_TAB_KEY, "-1"), (LAST_TAB_KEY, "1.5"), (LAST_TAB_KEY, "banana"),
    (LAST_TAB_KEY, "@Variant(junk"),
])
def test_wrong_typed_values_in_the_ini_fall_back_to_defaults(qtbot, show, tmp_path: Path, key: str, value: str,
                                                              fake_predictor: FakePredictor) -> None:
    section, name = key.split("/")
    (tmp_path / "s.ini").write_text(f"[{section}]\n{name}={value}\n", encoding="latin-1")
    window = MainWindow(fake_predictor, _ini(tmp_path))
    _assert_defaults(window)
    show(window)


def test_all_wrong_values_at_once_set_through_qsettings(qtbot, show, tmp_path: Path,
                                                        fake_predictor: FakePredictor) -> None:
    settings = _ini(tmp_path)
    for key, value in ((BRUSH_KEY, "banana"), (GEOMETRY_KEY, "xx"), (LAST_TAB_KEY, 99), (HINT_KEY, [1, 2])):
        settings.setValue(key, value)
    settings.sync()
    window = MainWindow(fake_predictor, _ini(tmp_path))
    _assert_defaults(window)
    assert window.draw_tab.canvas.hint_visible()
    show(window)


@pytest.mark.parametrize("raw, kind, expected", [
    ("12.5", float, 12.5), ("inf", float, 7.0), (True, float, 7.0), (["1"], float, 7.0),
    ("3", int, 3), ("3.0", int, 3), ("3.5", int, 7), ("true", bool, True), ("no", bool, False),
    ("maybe", bool, 7), ("x", str, "x"), (["a", "b"], str, "fallback"),
])
def test_read_setting_converts_or_falls_back(tmp_path: Path, raw, kind: type, expected) -> None:
    settings = _ini(tmp_path)
    settings.setValue("k", raw)
    default = "fallback" if kind is str else 7 if kind in (int, bool) else 7.0
    assert read_setting(settings, "k", default, kind) == expected
    assert read_setting(settings, "missing", default, kind) == default
    assert read_setting(settings, "k", default, kind, valid=lambda v: False) == default


# --- first-run hint ---------------------------------------------------------------------------
def _on_screen(widget) -> np.ndarray:
    """What the widget paints, as grey uint8."""
    return qimage_to_gray(widget.grab().toImage())


def _hint_pixels(canvas) -> int:
    """Pixels that are neither paper nor ink: the grey hint text (the hairline edge excluded)."""
    shown = _on_screen(canvas)[3:-3, 3:-3]
    return int(np.count_nonzero((shown > 60) & (shown < 200)))


def test_hint_on_first_run_is_painted_but_never_in_the_model_input(show, settings: QSettings,
                                                                   fake_predictor: FakePredictor) -> None:
    window = show(MainWindow(fake_predictor, settings))
    canvas = window.draw_tab.canvas
    assert canvas.hint_visible() and HINT_TEXT == "Draw a digit here"
    assert _hint_pixels(canvas) > 50  # the text is really on screen, centred
    shown = _on_screen(canvas)
    rows = np.flatnonzero((shown < 200).any(axis=1))
    assert abs((rows.min() + rows.max()) / 2 - shown.shape[0] / 2) < shown.shape[0] * 0.1
    assert int(canvas.to_array().min()) == 255  # the model sees blank paper
    assert window.draw_tab.prediction.blank and fake_predictor.calls == 0


def test_hint_goes_for_good_after_a_real_stroke(qtbot, show, settings: QSettings,
                                                fake_predictor: FakePredictor) -> None:
    window = show(MainWindow(fake_predictor, settings))
    canvas = window.draw_tab.canvas
    draw(qtbot, canvas, line((60, 60), (90, 90)))
    assert not canvas.hint_visible()
    assert read_setting(settings, HINT_KEY, False, bool) is True
    canvas.undo()
    assert canvas.is_empty() and not canvas.hint_visible() and _hint_pixels(canvas) == 0
    draw(qtbot, canvas, line((60, 60), (90, 90)))
    canvas.clear()
    assert canvas.is_empty() and _hint_pixels(canvas) == 0


def test_no_hint_when_the_settings_say_it_was_shown(show, settings: QSettings,
                                                    fake_predictor: FakePredictor) -> None:
    settings.setValue(HINT_KEY, True)
    window = show(MainWindow(fake_predictor, settings))
    canvas = window.draw_tab.canvas
    assert not canvas.hint_visible() and _hint_pixels(canvas) == 0


def test_hint_stays_off_an_image_on_the_canvas(show, settings: QSettings, fake_predictor: FakePredictor) -> None:
    window = show(MainWindow(fake_predictor, settings))
    canvas = window.draw_tab.canvas
    canvas.set_image(np.zeros((28, 28), np.float32))  # a blank MNIST image: white paper again
    assert not canvas.hint_visible() and _hint_pixels(canvas) == 0
    canvas.undo()
    assert canvas.hint_visible()  # nothing drawn by the user yet: still the first run


def test_train_settings_and_a_used_model_are_remembered(qtbot, show, settings, fake_predictor, tmp_path) -> None:
    """Issue #17: Train settings and the model picked with "Use this model" survive a restart."""
    from PySide6.QtWidgets import QSpinBox

    from digitpad.ui.main_window import MODEL_KEY, MainWindow
    from tests.ui.fake_trainer import FakeTrainer

    trainer = FakeTrainer(steps=2)
    window = show(MainWindow(predictor=fake_predictor, settings=settings, trainer=trainer))
    tab = window.train_tab
    tab.findChild(QSpinBox, "epochsSpin").setValue(2)
    tab.findChild(QSpinBox, "limitSpin").setValue(1234)
    tab.batch_interval_s = 0.0
    with qtbot.waitSignal(tab.outcomeReady, timeout=10_000):
        tab.start_training()
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=10_000)
    tab.findChild(type(tab.use_button), "useModelButton").click()
    qtbot.waitUntil(lambda: bool(settings.value(MODEL_KEY)), timeout=10_000)  # kept in the models folder
    kept = settings.value(MODEL_KEY)
    assert kept == str(trainer.saves[0][1].resolve()) and window.predictor() is tab.outcome.predictor
    window.save_settings()

    again = show(MainWindow(predictor=fake_predictor, settings=settings, trainer=FakeTrainer()))
    assert again.train_tab.findChild(QSpinBox, "epochsSpin").value() == 2
    assert again.train_tab.config().limit == 1234
