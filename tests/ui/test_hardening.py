"""Bad input never crashes the app: a clear one-line dialog, nothing half-written, the old state intact.

Covers models (truncated, wrong input shape), odd and bad image files through
``MainWindow.open_image``, and the personal samples folder (unwritable, deleted,
a failing write, the window closed around a save). Junk-bytes and junk-zip
models are in test_main_window.py; closing mid-training is in test_train_tab.py
and closing mid-fine-tune in test_fine_tune_tab.py.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt

import digitpad.fileio
import digitpad.personal
from digitpad.personal import SampleStore, samples_dir
from digitpad.ui.main_window import MODEL_KEY, MainWindow
from tests.ui.conftest import STROKE, FakePredictor, _running, correction_button, draw

LEFT = Qt.MouseButton.LeftButton


correct = correction_button


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def assert_only_complete_samples(folder: Path) -> None:
    """Every file in the samples folder belongs to a complete, readable sample; no temp files."""
    store = SampleStore(folder)
    ids = {s.id for s in store.samples()}
    for path in files_under(folder):
        assert not path.name.endswith(".tmp"), path
        assert path.name.split(".")[0].removesuffix("-canvas") in ids, f"orphan {path.name}"
    for sample in store.samples():
        assert sample.image().shape == (28, 28)
        with Image.open(sample.canvas_path) as raw:
            raw.load()
        assert json.loads((folder / f"{sample.id}.json").read_text())["label"] == sample.label


# --- models ---------------------------------------------------------------------------------
def _open_model_and_wait(qtbot: Any, window: MainWindow, path: Path, warnings_shown: list[str]) -> None:
    window.open_model(path)  # the real background loader and load_predictor
    qtbot.waitUntil(lambda: bool(warnings_shown), timeout=180_000)
    qtbot.waitUntil(lambda: not window.loader.is_loading(), timeout=10_000)


def test_a_truncated_model_file_is_refused_and_the_old_model_stays(
        qtbot: Any, window: MainWindow, tmp_path: Path, fake_predictor: FakePredictor, settings: QSettings,
        warnings_shown: list[str]) -> None:
    from digitpad.resources import bundled_model

    try:
        whole = bundled_model().read_bytes()
    except (FileNotFoundError, OSError):
        pytest.skip("no bundled model to truncate")
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole[: len(whole) // 2])  # a download that stopped half-way
    _open_model_and_wait(qtbot, window, cut, warnings_shown)
    assert len(warnings_shown) == 1 and "\n" not in warnings_shown[0] and "cut.keras" in warnings_shown[0]
    assert window.predictor() is fake_predictor and settings.value(MODEL_KEY) is None
    assert window.status_text() == fake_predictor.info.describe()


@pytest.mark.slow
def test_a_model_with_the_wrong_input_shape_is_refused(qtbot: Any, window: MainWindow, tmp_path: Path,
                                                       fake_predictor: FakePredictor, settings: QSettings,
                                                       warnings_shown: list[str]) -> None:
    from digitpad.ml.backend import load_keras

    keras = load_keras()
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    wrong = tmp_path / "cifar.keras"
    keras.Model(inputs, outputs).save(wrong)
    before = wrong.read_bytes()
    _open_model_and_wait(qtbot, window, wrong, warnings_shown)
    assert len(warnings_shown) == 1 and "\n" not in warnings_shown[0]
    assert "not a digitpad model" in warnings_shown[0] and "(32, 32, 3)" in warnings_shown[0]
    assert window.predictor() is fake_predictor and settings.value(MODEL_KEY) is None
    assert wrong.read_bytes() == before  # refusing a file never touches it


# --- images ---------------------------------------------------------------------------------
def _bar(height: int = 60, width: int = 40) -> np.ndarray:
    """Black vertical bar on white paper."""
    pixels = np.full((height, width), 255, np.uint8)
    pixels[height // 6:height * 5 // 6, width // 2 - 2:width // 2 + 2] = 0
    return pixels


def _not_an_image(path: Path) -> Path:
    path = path.with_suffix(".png")
    path.write_text("these are words, not pixels\n" * 20)
    return path


def _empty_file(path: Path) -> Path:
    path = path.with_suffix(".jpg")
    path.write_bytes(b"")
    return path


def _huge(path: Path) -> Path:
    path = path.with_suffix(".png")
    Image.new("1", (10_000, 10_000), 1).save(path)  # 100 megapixels, a few kB on disk
    return path


def _truncated_png(path: Path) -> Path:
    path = path.with_suffix(".png")
    Image.fromarray(_bar(300, 200)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _one_pixel(path: Path) -> Path:
    path = path.with_suffix(".png")
    Image.new("L", (1, 1), 0).save(path)
    return path


def _animated_gif(path: Path) -> Path:
    """Two frames: a vertical bar, then a horizontal one. The first frame is what counts."""
    path = path.with_suffix(".gif")
    across = np.full((60, 40), 255, np.uint8)
    across[28:32, 4:36] = 0
    Image.fromarray(_bar()).save(path, save_all=True, append_images=[Image.fromarray(across)], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.is_animated and check.n_frames == 2
    return path


def _sixteen_bit(path: Path) -> Path:
    path = path.with_suffix(".png")
    deep = np.where(_bar() == 0, 0, 60_000).astype(np.uint16)
    Image.fromarray(deep).save(path)
    with Image.open(path) as check:
        assert check.mode == "I;16"
    return path


def _cmyk_jpeg(path: Path) -> Path:
    path = path.with_suffix(".jpg")
    cmyk = np.zeros((60, 40, 4), np.uint8)
    cmyk[..., 3] = 255 - _bar()  # K channel: black where the bar is
    Image.fromarray(cmyk, "CMYK").save(path, quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    return path


BAD: dict[str, Callable[[Path], Path]] = {"not an image": _not_an_image, "empty file": _empty_file,
                                          "10000x10000": _huge, "truncated png": _truncated_png}
ODD: dict[str, Callable[[Path], Path]] = {"1x1": _one_pixel, "animated gif": _animated_gif,
                                          "16-bit png": _sixteen_bit, "cmyk jpeg": _cmyk_jpeg}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_image_files_warn_and_keep_the_drawing(qtbot: Any, window: MainWindow, tmp_path: Path, kind: str,
                                                   warnings_shown: list[str]) -> None:
    path = BAD[kind](tmp_path / "picture")
    draw(qtbot, window.draw_tab.canvas, STROKE)
    before = window.draw_tab.canvas.to_array()
    assert window.open_image(path) is False
    assert len(warnings_shown) == 1, warnings_shown
    assert warnings_shown[0].startswith("Could not open the image") and "\n" not in warnings_shown[0]
    np.testing.assert_array_equal(window.draw_tab.canvas.to_array(), before)
    if kind == "10000x10000":
        assert "too large" in warnings_shown[0]


@pytest.mark.parametrize("kind", list(ODD))
def test_odd_but_valid_image_files_load(qtbot: Any, window: MainWindow, tmp_path: Path, kind: str,
                                        warnings_shown: list[str]) -> None:
    path = ODD[kind](tmp_path / "picture")
    window.tabs.setCurrentWidget(window.train_tab)
    assert window.open_image(path) is True
    assert warnings_shown == []
    assert window.tabs.currentWidget() is window.draw_tab and not window.draw_tab.canvas.is_empty()
    array = window.draw_tab.canvas.to_array()
    side = array.shape[0]
    if kind == "1x1":
        return  # one dark pixel is read as a dark background: plain paper, and nothing crashed
    middle = array[int(side * 0.3):int(side * 0.7), array.shape[1] // 2]
    assert (middle < 128).all(), kind  # the (first frame's) vertical bar is on the canvas
    assert (array[side // 2, : array.shape[1] // 5] > 200).all(), kind  # not the second frame's cross bar
    qtbot.waitUntil(lambda: not window.draw_tab.prediction.blank, timeout=3000)


# --- the samples folder -------------------------------------------------------------------------
def test_an_empty_canvas_offers_no_correction(qtbot: Any, window: MainWindow) -> None:
    assert all(not correct(window, d).isEnabled() for d in range(10))
    qtbot.mouseClick(correct(window, 4), LEFT)  # a disabled button ignores the click
    window.draw_tab.corrections.choose(4)
    qtbot.wait(100)
    assert files_under(samples_dir()) == []


def test_an_unwritable_samples_location_warns_and_writes_nothing(qtbot: Any, window: MainWindow, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 warnings_shown: list[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file where a folder should be")
    good = samples_dir()
    target = {"dir": blocker / "samples"}
    monkeypatch.setattr(digitpad.personal, "samples_dir", lambda: target["dir"])
    draw(qtbot, window.draw_tab.canvas, STROKE)
    drawing = window.draw_tab.canvas.to_array()
    qtbot.mouseClick(correct(window, 7), LEFT)
    qtbot.waitUntil(lambda: bool(warnings_shown), timeout=3000)
    assert len(warnings_shown) == 1 and "\n" not in warnings_shown[0]
    assert warnings_shown[0].startswith("Could not save the sample") and str(blocker) in warnings_shown[0]
    assert blocker.read_text() == "a regular file where a folder should be"
    assert [p for p in files_under(tmp_path) if p.name != "s.ini"] == [blocker]  # settings aside, nothing new
    assert files_under(good) == []
    np.testing.assert_array_equal(window.draw_tab.canvas.to_array(), drawing)  # the drawing is kept
    assert window.draw_tab.corrections.bar.status.text() == "Not saved"
    target["dir"] = good  # fixed: the same drawing saves now
    qtbot.mouseClick(correct(window, 7), LEFT)
    qtbot.waitUntil(lambda: len(SampleStore().samples()) == 1, timeout=3000)
    assert len(warnings_shown) == 1


def test_a_write_failing_half_way_leaves_no_partial_sample(qtbot: Any, window: MainWindow,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           warnings_shown: list[str]) -> None:
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith(".json"):  # the pictures are in place, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(digitpad.fileio.os, "replace", replace)
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.mouseClick(correct(window, 2), LEFT)
    qtbot.waitUntil(lambda: bool(warnings_shown), timeout=3000)
    assert "No space left on device" in warnings_shown[0]
    assert files_under(samples_dir()) == []  # no temp file, no orphaned picture
    assert not window.draw_tab.canvas.is_empty()
    monkeypatch.setattr(digitpad.fileio.os, "replace", real_replace)
    qtbot.mouseClick(correct(window, 2), LEFT)
    qtbot.waitUntil(lambda: len(SampleStore().samples()) == 1, timeout=3000)
    assert_only_complete_samples(samples_dir())


def test_a_deleted_samples_folder_is_recreated_by_the_next_save(qtbot: Any, window: MainWindow,
                                                                warnings_shown: list[str]) -> None:
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.mouseClick(correct(window, 7), LEFT)
    qtbot.waitUntil(lambda: len(SampleStore().samples()) == 1, timeout=3000)
    shutil.rmtree(samples_dir())
    assert SampleStore().counts() == dict.fromkeys(range(10), 0)
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.mouseClick(correct(window, 7), LEFT)
    qtbot.waitUntil(lambda: len(SampleStore().samples()) == 1 and samples_dir().is_dir(), timeout=3000)
    assert window.draw_tab.corrections.bar.status.text() == "Saved as a 7 (you have 1 sample of 7)"
    assert warnings_shown == []
    assert_only_complete_samples(samples_dir())


def test_closing_the_window_around_a_save_leaves_whole_files_only(qtbot: Any, settings: QSettings,
                                                                 no_thread_leaks: list[Any]) -> None:
    slow = FakePredictor(delay=0.3)
    window = MainWindow(predictor=slow, settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.mouseClick(correct(window, 7), LEFT)  # saved once the slow model has read the drawing
    qtbot.waitUntil(lambda: len(SampleStore().samples()) == 1, timeout=5000)
    draw(qtbot, window.draw_tab.canvas, STROKE)
    qtbot.mouseClick(correct(window, 1), LEFT)
    assert window.draw_tab.corrections.is_pending()
    assert window.close()  # while the second save waits for its reading
    qtbot.wait(100)
    assert not any(_running(t) for t in no_thread_leaks)
    labels = sorted(s.label for s in SampleStore().samples())
    assert labels in ([7], [1, 7])  # the pending one is absent or complete, never partial
    assert_only_complete_samples(samples_dir())
