"""DrawingCanvas: real input events leave ink; undo/redo/clear; images; saving; resizing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QInputDevice, QPointingDevice, QPointingDeviceUniqueId, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from digitpad.ui.canvas import DEFAULT_BRUSH_WIDTH, DrawingCanvas
from tests.ui.conftest import draw, line


@pytest.fixture
def canvas(show) -> DrawingCanvas:
    widget = DrawingCanvas()
    widget.resize(280, 280)
    return show(widget)


def ink(array: np.ndarray) -> np.ndarray:
    return array < 128


def test_mouse_stroke_leaves_smooth_ink_along_its_path(qtbot, canvas: DrawingCanvas) -> None:
    changes: list[int] = []
    canvas.changed.connect(lambda: changes.append(1))
    with qtbot.waitSignal(canvas.strokeFinished, timeout=1000):
        draw(qtbot, canvas, line((60, 140), (220, 140), steps=16))
    array = canvas.to_array()
    assert array.shape == (280, 280) and array.dtype == np.uint8
    assert ink(array[140, 70:210]).all()  # the line itself
    assert not ink(array[:100]).any() and not ink(array[180:]).any()  # nothing far away
    thickness = ink(array[:, 140]).sum()
    assert DEFAULT_BRUSH_WIDTH - 3 <= thickness <= DEFAULT_BRUSH_WIDTH + 3
    assert len(changes) >= 10  # changed() fires while the stroke grows, not only at the end
    assert not canvas.is_empty() and canvas.can_undo() and not canvas.can_redo()


def test_a_click_leaves_a_round_dot(qtbot, canvas: DrawingCanvas) -> None:
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    dot = ink(canvas.to_array())
    ys, xs = np.nonzero(dot)
    assert dot[100, 100]
    assert 14 <= xs.max() - xs.min() + 1 <= 24 and 14 <= ys.max() - ys.min() + 1 <= 24


def test_smoothing_keeps_a_curve_inside_its_polyline(qtbot, canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(4)
    draw(qtbot, canvas, [(40, 240), (140, 40), (240, 240)])
    array = canvas.to_array()
    # Quadratic midpoint smoothing rounds the sharp apex at (140, 40) off: the curve
    # from (90, 140) via (140, 40) to (190, 140) peaks at y = 90.
    assert not ink(array[30:84, 120:161]).any()
    assert ink(array[88:92, 140]).all() and not ink(array[96:130, 140]).any()
    assert ink(array[140, 88:93]).any() and ink(array[140, 188:193]).any()  # it joins the straight parts


def test_undo_redo_and_clear_work_per_stroke(qtbot, canvas: DrawingCanvas) -> None:
    draw(qtbot, canvas, line((40, 60), (240, 60)))
    first = canvas.to_array()
    draw(qtbot, canvas, line((40, 200), (240, 200)))
    both = canvas.to_array()
    canvas.undo()
    np.testing.assert_array_equal(canvas.to_array(), first)
    assert canvas.can_redo()
    canvas.redo()
    np.testing.assert_array_equal(canvas.to_array(), both)
    canvas.clear()
    assert canvas.is_empty() and not ink(canvas.to_array()).any()
    canvas.undo()  # clearing is undoable
    np.testing.assert_array_equal(canvas.to_array(), both)
    canvas.undo()
    draw(qtbot, canvas, line((140, 20), (140, 260)))
    assert not canvas.can_redo()  # a new stroke drops the redo history
    canvas.undo()
    canvas.undo()
    assert canvas.is_empty() and not canvas.can_undo()


def test_keyboard_undo_redo_and_clear(qtbot, window) -> None:
    """The keys are the window's actions (Edit menu); the canvas has no key handling of its own."""
    canvas = window.draw_tab.canvas
    canvas.setFocus()
    draw(qtbot, canvas, line((40, 140), (240, 140)))
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas.is_empty() and canvas.can_redo()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not canvas.is_empty()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.is_empty()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_empty()


def test_brush_width_changes_the_stroke_width(qtbot, canvas: DrawingCanvas) -> None:
    widths = []
    for width in (6, 36):
        canvas.clear()
        canvas.set_brush_width(width)
        draw(qtbot, canvas, line((40, 140), (240, 140)))
        widths.append(int(ink(canvas.to_array())[:, 140].sum()))
    assert widths[0] <= 8 and widths[1] >= 33
    assert 18 <= DEFAULT_BRUSH_WIDTH <= 22
    canvas.set_brush_width(1000)
    assert canvas.brush_width() <= 100


_PEN: list[QPointingDevice] = []


def _pen() -> QPointingDevice:
    """One stylus device for the whole session, owned by the application (Qt keeps a device registry)."""
    if not _PEN:
        _PEN.append(QPointingDevice("test pen", 4242, QInputDevice.DeviceType.Stylus,
                                    QPointingDevice.PointerType.Pen,
                                    QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3, "",
                                    QPointingDeviceUniqueId(), QApplication.instance()))
    return _PEN[0]


def _tablet(canvas: DrawingCanvas, kind: QEvent.Type, pos: QPointF, pressure: float) -> None:
    pen = _pen()
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else Qt.MouseButton.LeftButton
    event = QTabletEvent(kind, pen, pos, canvas.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                         Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons)
    QApplication.sendEvent(canvas, event)


def test_pen_pressure_scales_the_width(canvas: DrawingCanvas) -> None:
    measured = []
    for pressure in (0.3, 1.0):
        canvas.clear()
        _tablet(canvas, QEvent.Type.TabletPress, QPointF(40, 140), pressure)
        for x in range(50, 241, 10):
            _tablet(canvas, QEvent.Type.TabletMove, QPointF(x, 140), pressure)
        _tablet(canvas, QEvent.Type.TabletRelease, QPointF(240, 140), pressure)
        measured.append(int(ink(canvas.to_array())[:, 140].sum()))
    assert measured[0] < measured[1] * 0.45
    assert measured[1] >= DEFAULT_BRUSH_WIDTH - 3


def test_a_finger_draws_too(qtbot, canvas: DrawingCanvas) -> None:
    device = QTest.createTouchDevice()
    QTest.touchEvent(canvas, device).press(0, QPoint(140, 40), canvas).commit()
    for y in range(60, 241, 20):
        QTest.touchEvent(canvas, device).move(0, QPoint(140, y), canvas).commit()
    with qtbot.waitSignal(canvas.strokeFinished, timeout=1000):
        QTest.touchEvent(canvas, device).release(0, QPoint(140, 240), canvas).commit()
    array = canvas.to_array()
    assert ink(array[50:230, 140]).all()
    assert len(canvas.strokes()) == 1


def test_resize_rescales_the_drawing(qtbot, canvas: DrawingCanvas) -> None:
    draw(qtbot, canvas, line((70, 140), (210, 140)))
    canvas.resize(420, 420)
    array = canvas.to_array()
    assert array.shape == (420, 420)
    assert ink(array[210, 120:300]).all()  # same place, relative to the new size
    thickness = int(ink(array[:, 210]).sum())
    assert DEFAULT_BRUSH_WIDTH * 1.5 - 4 <= thickness <= DEFAULT_BRUSH_WIDTH * 1.5 + 4


def test_a_float_mnist_image_is_shown_as_black_ink_on_white(canvas: DrawingCanvas) -> None:
    mnist = np.zeros((28, 28), np.float32)
    mnist[4:24, 13:15] = 1.0  # white "1" on black, as in MNIST
    canvas.set_image(mnist)
    array = canvas.to_array()
    assert ink(array[60:220, 140]).all()
    assert not ink(array[:, :100]).any() and not ink(array[:, 180:]).any()
    assert canvas.can_undo()
    canvas.undo()
    assert canvas.is_empty() and not ink(canvas.to_array()).any()


def test_images_of_either_polarity_become_dark_ink(canvas: DrawingCanvas) -> None:
    white_paper = np.full((50, 100), 255, np.uint8)
    white_paper[20:30, 40:60] = 0
    dark_paper = 255 - white_paper
    for image in (white_paper, dark_paper):
        canvas.set_image(image)
        array = canvas.to_array()
        assert ink(array[140, 130:150]).all()  # the mark, in the middle
        assert not ink(array[140, 20:80]).any()  # paper around it is white
    qimage = QImage(40, 40, QImage.Format.Format_ARGB32)
    qimage.fill(Qt.GlobalColor.transparent)  # transparent background counts as paper
    canvas.set_image(qimage)
    assert not ink(canvas.to_array()).any() and not canvas.is_empty()


def test_save_png_is_atomic_and_round_trips(qtbot, canvas: DrawingCanvas, tmp_path: Path) -> None:
    draw(qtbot, canvas, line((60, 60), (220, 220)))
    target = tmp_path / "digit.png"
    target.write_bytes(b"old contents")
    canvas.save_png(target)
    saved = QImage(str(target)).convertToFormat(QImage.Format.Format_Grayscale8)
    assert (saved.width(), saved.height()) == (280, 280)
    from digitpad.ui.images import qimage_to_gray

    np.testing.assert_array_equal(qimage_to_gray(saved), canvas.to_array())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digit.png"]  # no temp file left
    with pytest.raises(OSError):
        canvas.save_png(tmp_path / "missing-folder" / "x.png")


def test_dropping_a_file_or_an_image_emits_image_dropped(qtbot, canvas: DrawingCanvas, tmp_path: Path) -> None:
    file_mime = QMimeData()
    file_mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "seven.png"))])
    image_mime = QMimeData()
    image_mime.setImageData(QImage(10, 10, QImage.Format.Format_RGB32))
    text_mime = QMimeData()
    text_mime.setText("seven")
    got = []
    canvas.imageDropped.connect(got.append)
    accepted = []
    # Qt delivers drop events only during a real drag, so the handlers are called directly.
    for mime in (file_mime, image_mime, text_mime):
        enter = QDragEnterEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        canvas.dragEnterEvent(enter)
        accepted.append(enter.isAccepted())
        canvas.dropEvent(QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier))
    assert accepted == [True, True, False]
    assert got[0] == str(tmp_path / "seven.png")
    assert isinstance(got[1], QImage) and got[1].width() == 10
    assert len(got) == 2  # plain text is not an image


def test_image_helpers_handle_padding_alpha_and_deep_images() -> None:
    from PIL import Image

    from digitpad.ui.images import gray_to_qimage, qimage_to_gray, to_paper

    odd = np.arange(27 * 5, dtype=np.uint8).reshape(5, 27)  # rows padded to 28 bytes inside QImage
    np.testing.assert_array_equal(qimage_to_gray(gray_to_qimage(odd)), odd)
    transparent = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    transparent.putpixel((3, 3), (0, 0, 0, 255))
    paper = to_paper(transparent)
    assert paper[0, 0] == 255 and paper[3, 3] == 0  # see-through becomes paper, opaque black stays ink
    deep = Image.fromarray(np.full((6, 6), 60000, np.uint16))
    deep.putpixel((2, 2), 0)
    paper = to_paper(deep)
    assert paper[0, 0] == 255 and paper[2, 2] == 0
    with pytest.raises(TypeError):
        to_paper("not an image")


def test_high_dpi_backing_store_is_sharp_and_to_array_is_logical(tmp_path: Path) -> None:
    """With a device-pixel ratio of 2 the backing image has twice the pixels."""
    script = textwrap.dedent("""
        import numpy as np
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication
        from digitpad.ui.canvas import DrawingCanvas
        app = QApplication([])
        c = DrawingCanvas(); c.resize(280, 280); c.show(); QTest.qWaitForWindowExposed(c)
        QTest.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 140))
        QTest.mouseMove(c, QPoint(140, 140)); QTest.mouseMove(c, QPoint(240, 140))
        QTest.mouseRelease(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(240, 140))
        a = c.to_array()
        print(c.devicePixelRatioF(), c._image.width(), a.shape[0], a.shape[1], int((a[140, 50:230] < 128).all()))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    ratio, width, height, logical_width, inked = out.stdout.split()
    assert float(ratio) == 2.0 and int(width) == 560
    assert (int(height), int(logical_width), int(inked)) == (280, 280, 1)


def test_aspect_box_places_its_child_by_alignment_and_says_how_wide_it_could_be(qtbot, show) -> None:
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from digitpad.ui.canvas import AspectBox

    centred, corner = QWidget(), QWidget()
    boxes = [AspectBox(centred), AspectBox(corner, alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)]
    widths: list[int] = []
    boxes[1].fitWidthChanged.connect(widths.append)
    for box in boxes:
        show(box).resize(400, 200)
    qtbot.waitUntil(lambda: corner.width() == 200, timeout=2000)
    assert centred.geometry().getRect() == (100, 0, 200, 200)  # the number pad's default: centred
    assert corner.geometry().getRect() == (0, 0, 200, 200)  # the Draw canvas: its corner stays put
    assert widths[-1] == 200
    boxes[1].resize(300, 500)  # taller than wide: the width limits it
    qtbot.waitUntil(lambda: corner.width() == 300, timeout=2000)
    assert corner.geometry().getRect() == (0, 0, 300, 300) and widths[-1] == 500

    pad, below = QWidget(), QWidget()
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.addWidget(AspectBox(pad, aspect=3.0, hug_height=True, minimum=QSize(30, 10)), 1000)
    layout.addWidget(below)
    layout.addStretch(1)
    show(column).resize(600, 600)
    qtbot.waitUntil(lambda: pad.width() > 500, timeout=2000)
    qtbot.wait(20)
    pad_bottom = pad.mapTo(column, QPoint(0, pad.height())).y()
    assert pad.height() == pad.width() // 3 and below.mapTo(column, QPoint(0, 0)).y() - pad_bottom <= 12
