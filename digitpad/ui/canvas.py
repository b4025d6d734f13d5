"""The drawing surface: a Scribble-style canvas with smoothed, undoable strokes.

Strokes are kept as vectors in coordinates relative to the canvas (fractions of
its width/height, brush width as a fraction of its side), so a resize or a move
to a screen with another device-pixel ratio simply re-renders everything
crisply into a new backing ``QImage``. While a stroke is drawn only the newly
added segment is painted and only its rectangle is repainted.

Default brush: 20 logical px on the 280 px default canvas, i.e. 1/14 of the
side. The digit is later cropped to its bounding box and fitted into MNIST's
20x20 box, so a digit drawn 200 px tall (scaled by 20/200) gets strokes about
2 MNIST pixels wide — like real MNIST digits. (Checked with the bundled model:
0, 1, 2, 4 and 7 drawn at 12, 20 and 28 px are all read correctly.)
"""

from __future__ import annotations

import io

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Property, QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QDragEnterEvent, QDropEvent, QFocusEvent, QImage, QInputDevice,
                           QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette, QPen,
                           QResizeEvent, QTabletEvent, QTouchEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.ui.images import gray_to_qimage, image_from_mime, qimage_to_gray, shrink, to_paper

DEFAULT_SIDE = 280
DEFAULT_BRUSH_WIDTH = 20.0
MIN_BRUSH_WIDTH, MAX_BRUSH_WIDTH = 2.0, 80.0
MIN_PRESSURE = 0.15  # a feather-light pen touch still leaves a visible line
MIN_STEP = 0.75  # logical px; closer pointer samples are dropped as jitter
# The canvas is paper: white with black ink in the light and the dark theme alike (the
# model reads dark ink on light paper, and a drawing should look the same everywhere).
INK = QColor(Qt.GlobalColor.black)
PAPER = QColor(Qt.GlobalColor.white)
HINT_INK = QColor(112, 112, 112)  # muted grey on paper (4.9:1), the paper's placeholder colour
HINT_TEXT = "Draw a digit here"


@dataclass
class Stroke:
    """One pen-down..pen-up path. Points are ``(x, y, pressure)`` relative to the canvas."""

    points: list[tuple[float, float, float]]
    width: float  # brush width as a fraction of the canvas side
    finished: bool = False


@dataclass
class ImageItem:
    """An image shown on the canvas: it replaces what was there (undoably)."""

    gray: np.ndarray
    image: QImage = field(init=False)

    def __post_init__(self) -> None:
        self.image = gray_to_qimage(self.gray)


@dataclass
class ClearItem:
    """Clearing is an item too, so that it can be undone."""


Item = Stroke | ImageItem | ClearItem


def _pressure(value: float) -> float:
    return min(1.0, max(MIN_PRESSURE, float(value)))


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2.0, (a.y() + b.y()) / 2.0)


class DrawingCanvas(QWidget):
    """White paper, black ink; draw with mouse, pen (pressure) or finger."""

    changed = Signal()  # after every modification, also while a stroke grows
    strokeFinished = Signal()  # a pen-up; the drawing is stable for now
    imageDropped = Signal(object)  # a local file path (str) or a QImage
    brushWidthChanged = Signal(float)
    hintDismissed = Signal()  # the first-run hint went away for good (the user drew)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAccessibleName("Drawing canvas")
        self.setToolTip("Draw a digit with the mouse, a pen or a finger; Esc clears, Ctrl+Z undoes")
        self._set_paper_palette()
        self._hint = False  # the first-run hint "Draw a digit here", painted over the paper only
        self._keyboard_focus = False
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._brush_width = DEFAULT_BRUSH_WIDTH
        self._items: list[Item] = []
        self._redo: list[Item] = []
        self._current: Stroke | None = None
        self._image = QImage()
        self._rebuild()

    # --- geometry -----------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(DEFAULT_SIDE, DEFAULT_SIDE)

    def minimumSizeHint(self) -> QSize:
        return QSize(112, 112)

    def _side(self) -> float:
        return float(max(1, min(self.width(), self.height())))

    def _to_widget(self, point: tuple[float, float, float]) -> QPointF:
        return QPointF(point[0] * self.width(), point[1] * self.height())

    # --- public API ---------------------------------------------------------------
    def brush_width(self) -> float:
        """Brush width in logical pixels (scaled by pen pressure when there is one)."""
        return self._brush_width

    def set_brush_width(self, width: float) -> None:
        width = float(min(MAX_BRUSH_WIDTH, max(MIN_BRUSH_WIDTH, width)))
        if width != self._brush_width:
            self._brush_width = width
            self.brushWidthChanged.emit(width)

    brushWidth = Property(float, brush_width, set_brush_width, notify=brushWidthChanged)

    def set_hint_enabled(self, enabled: bool) -> None:
        """Show the first-run hint on empty paper until the first stroke (never part of ``to_array``)."""
        self._hint = bool(enabled)
        self.update()

    def hint_visible(self) -> bool:
        """True when the hint is painted now: enabled and the paper is empty."""
        return self._hint and self.is_empty()

    def _set_paper_palette(self) -> None:
        """Paper colours for this widget whatever the theme, so the hint reads on white."""
        palette = self.palette()
        for role, color in ((QPalette.ColorRole.Window, PAPER), (QPalette.ColorRole.Base, PAPER),
                            (QPalette.ColorRole.WindowText, INK), (QPalette.ColorRole.Text, INK),
                            (QPalette.ColorRole.PlaceholderText, HINT_INK)):
            palette.setColor(role, color)
        self.setPalette(palette)

    def is_empty(self) -> bool:
        """True when nothing has been drawn or shown since the last clear."""
        return not self._items or isinstance(self._items[-1], ClearItem)

    def can_undo(self) -> bool:
        return bool(self._items)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        """Take back the last stroke, image or clear."""
        self._end_current()
        if self._items:
            self._redo.append(self._items.pop())
            self._rebuild()
            self.changed.emit()

    def redo(self) -> None:
        """Put back the last undone item."""
        self._end_current()
        if self._redo:
            self._items.append(self._redo.pop())
            self._rebuild()
            self.changed.emit()

    def clear(self) -> None:
        """Wipe the paper; undo brings the drawing back."""
        self._end_current()
        if self.is_empty():
            return
        self._push(ClearItem())

    def set_image(self, image: Any) -> None:
        """Show an image: a float 28x28 MNIST image (white on black, scaled up), a
        grey/RGB uint8 array, a QImage or a PIL image. Undoable like a stroke."""
        self._end_current()
        self._push(ImageItem(shrink(to_paper(image))))

    def to_array(self) -> np.ndarray:
        """The drawing as uint8 ``(H, W)`` grey, black ink on white, at logical size."""
        image = self._image
        logical = self.size()
        if image.size() != logical:
            image = image.scaled(logical, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return qimage_to_gray(image)

    def save_png(self, path: str | Path) -> None:
        """Write the drawing as a PNG, atomically (``digitpad.fileio.write_atomic``)."""
        from PIL import Image

        from digitpad.fileio import write_atomic

        buffer = io.BytesIO()
        Image.fromarray(self.to_array()).save(buffer, "PNG")
        write_atomic(Path(path), buffer.getvalue())

    def strokes(self) -> list[Stroke]:
        """The strokes currently visible (after the last clear/image), oldest first."""
        start = self._render_start()
        return [item for item in self._items[start:] if isinstance(item, Stroke)]

    # --- stroke building ----------------------------------------------------------
    def _push(self, item: Item) -> None:
        self._items.append(item)
        self._redo.clear()
        self._rebuild()
        self.changed.emit()

    def begin_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        """Start a stroke at ``pos`` (logical px). Input handlers and tests call these."""
        self._end_current()
        stroke = Stroke([(pos.x() / max(1, self.width()), pos.y() / max(1, self.height()), _pressure(pressure))],
                        self._brush_width / self._side())
        self._current = stroke
        self._items.append(stroke)
        self._redo.clear()
        if self._hint:  # gone for good once the user draws, even after undo or clear
            self._hint = False
            self.update()
            self.hintDismissed.emit()
        self._paint_incremental(stroke, self._dot(stroke))
        self.changed.emit()

    def extend_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        """Add a point to the stroke being drawn (no-op when none is)."""
        stroke = self._current
        if stroke is None:
            return
        last = self._to_widget(stroke.points[-1])
        if math.hypot(pos.x() - last.x(), pos.y() - last.y()) < MIN_STEP:
            return
        stroke.points.append((pos.x() / max(1, self.width()), pos.y() / max(1, self.height()), _pressure(pressure)))
        self._paint_incremental(stroke, self._segment(stroke, len(stroke.points) - 1))
        self.changed.emit()

    def finish_stroke(self, pos: QPointF | None = None, pressure: float = 1.0) -> None:
        """End the stroke being drawn, drawing its last piece."""
        stroke = self._current
        if stroke is None:
            return
        if pos is not None:
            self.extend_stroke(pos, pressure)
        stroke.finished = True
        self._current = None
        if len(stroke.points) > 1:
            self._paint_incremental(stroke, self._tail(stroke))
        self.changed.emit()
        self.strokeFinished.emit()

    def _end_current(self) -> None:
        if self._current is not None:
            self.finish_stroke()

    # --- geometry of one stroke: quadratic midpoint smoothing --------------------------
    def _width_at(self, stroke: Stroke, index: int) -> float:
        return max(0.5, stroke.width * self._side() * stroke.points[index][2])

    def _dot(self, stroke: Stroke) -> tuple[QPainterPath, float]:
        """A filled disc at the first point, so a click leaves ink (width 0 means "fill")."""
        radius = self._width_at(stroke, 0) / 2
        path = QPainterPath()
        path.addEllipse(self._to_widget(stroke.points[0]), radius, radius)
        return path, 0.0

    def _segment(self, stroke: Stroke, i: int) -> tuple[QPainterPath, float]:
        """Path added when point ``i`` (>= 1) arrives: from mid(i-2, i-1) via i-1 to mid(i-1, i)."""
        p = [self._to_widget(stroke.points[k]) for k in range(max(0, i - 2), i + 1)]
        if i == 1:
            path = QPainterPath(p[0])
            path.lineTo(_mid(p[0], p[1]))
        else:
            path = QPainterPath(_mid(p[0], p[1]))
            path.quadTo(p[1], _mid(p[1], p[2]))
        return path, self._width_at(stroke, i)

    def _tail(self, stroke: Stroke) -> tuple[QPainterPath, float]:
        """Path from the last midpoint to the last point, drawn at pen-up."""
        a, b = self._to_widget(stroke.points[-2]), self._to_widget(stroke.points[-1])
        path = QPainterPath(_mid(a, b))
        path.lineTo(b)
        return path, self._width_at(stroke, len(stroke.points) - 1)

    def _stroke_paths(self, stroke: Stroke) -> list[tuple[QPainterPath, float]]:
        paths = [self._dot(stroke)]
        paths += [self._segment(stroke, i) for i in range(1, len(stroke.points))]
        if stroke.finished and len(stroke.points) > 1:
            paths.append(self._tail(stroke))
        return paths

    # --- rendering ----------------------------------------------------------------
    def _render_start(self) -> int:
        for index in range(len(self._items) - 1, -1, -1):
            if isinstance(self._items[index], (ClearItem, ImageItem)):
                return index
        return 0

    @staticmethod
    def _begin_painter(image: QImage) -> QPainter:
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        return painter

    @staticmethod
    def _draw_path(painter: QPainter, path: QPainterPath, width: float) -> None:
        """Stroke ``path`` with a round pen of ``width``; width 0 fills it instead."""
        if width > 0:
            painter.setPen(QPen(INK, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(INK)
        painter.drawPath(path)

    def _rebuild(self) -> None:
        """Re-render every visible item into a fresh backing image (size x device ratio)."""
        ratio = self.devicePixelRatioF()
        size = self.size()
        image = QImage(max(1, round(size.width() * ratio)), max(1, round(size.height() * ratio)),
                       QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(PAPER)
        painter = self._begin_painter(image)
        for item in self._items[self._render_start():]:
            if isinstance(item, ImageItem):
                self._draw_image(painter, item)
            elif isinstance(item, Stroke):
                for path, width in self._stroke_paths(item):
                    self._draw_path(painter, path, width)
        painter.end()
        self._image = image
        self.update()

    def _draw_image(self, painter: QPainter, item: ImageItem) -> None:
        """Fit the image into the canvas, keeping its aspect ratio, centred."""
        w, h = item.image.width(), item.image.height()
        scale = min(self.width() / w, self.height() / h)
        target = QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)
        painter.drawImage(target, item.image)

    def _paint_incremental(self, stroke: Stroke, piece: tuple[QPainterPath, float]) -> None:
        """Paint one new piece of a stroke and repaint only its rectangle."""
        if self._image.devicePixelRatio() != self.devicePixelRatioF():
            self._rebuild()
            return
        path, width = piece
        painter = self._begin_painter(self._image)
        self._draw_path(painter, path, width)
        painter.end()
        margin = width / 2 + 2
        self.update(path.controlPointRect().adjusted(-margin, -margin, margin, margin).toAlignedRect())

    # --- Qt event handlers -------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        ratio = self._image.devicePixelRatio()
        if ratio != self.devicePixelRatioF() or self._image.size() != self.size() * ratio:
            self._rebuild()
            ratio = self._image.devicePixelRatio()
        rect: QRect = event.rect()
        source = QRectF(rect.x() * ratio, rect.y() * ratio, rect.width() * ratio, rect.height() * ratio)
        painter = QPainter(self)
        painter.drawImage(QRectF(rect), self._image, source)
        if self.hint_visible():  # over the paper, not in it: to_array() never sees the hint
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, HINT_TEXT)
        if self._keyboard_focus:  # show where the keyboard is after Tab; a click draws no frame
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        else:  # a hairline edge so white paper stands out on a light window
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
            painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._keyboard_focus = event.reason() in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._keyboard_focus = False
        self.update()
        super().focusOutEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._rebuild()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._rebuild()
        super().changeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.extend_stroke(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self.finish_stroke(event.position())
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:
        """Pen input: width follows pressure. Accepting stops Qt synthesising mouse events."""
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self.begin_stroke(event.position(), event.pressure())
        elif kind == QEvent.Type.TabletMove and self._current is not None:
            self.extend_stroke(event.position(), event.pressure())
        elif kind == QEvent.Type.TabletRelease and self._current is not None:
            self.finish_stroke(event.position(), event.pressure())
        event.accept()

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
            self._touch(event)  # type: ignore[arg-type]
            return True
        return super().event(event)

    def _touch(self, event: QTouchEvent) -> None:
        """One finger draws; extra fingers are ignored."""
        event.accept()
        points = event.points()
        if not points:
            if event.type() in (QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
                self.finish_stroke()
            return
        point = points[0]
        device = event.pointingDevice()
        has_pressure = device is not None and bool(device.capabilities() & QInputDevice.Capability.Pressure)
        pressure = point.pressure() if has_pressure and point.pressure() > 0 else 1.0
        kind = event.type()
        if kind == QEvent.Type.TouchBegin:
            self.begin_stroke(point.position(), pressure)
        elif kind == QEvent.Type.TouchUpdate:
            self.extend_stroke(point.position(), pressure)
        else:
            self.finish_stroke(point.position() if kind == QEvent.Type.TouchEnd else None, pressure)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if image_from_mime(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        source = image_from_mime(event.mimeData())
        if source is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.imageDropped.emit(source)


class AspectBox(QWidget):
    """Keeps one child at ``aspect``:1 (width:height), as large as fits, placed by ``alignment``
    (default: centred), whatever shape the box itself gets. ``hint``/``minimum`` default to the
    child's own size hints. ``fitWidthChanged`` says how wide the child would be if the box
    were wide enough (its height times ``aspect``), so a column can follow the child's width.
    ``hug_height``: the box is never taller than the child, so what follows it in a column
    sits right under the child (the slack goes to a stretch after it).

    (Layouts honour ``heightForWidth`` only partly, e.g. not in a QMainWindow's
    central widget, so the canvas is wrapped in this box instead.)
    """

    fitWidthChanged = Signal(int)

    def __init__(self, child: QWidget, parent: QWidget | None = None, aspect: float = 1.0,
                 hint: QSize | None = None, minimum: QSize | None = None,
                 alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter, hug_height: bool = False) -> None:
        super().__init__(parent)
        self._child = child
        self._aspect, self._hint, self._minimum, self._alignment = aspect, hint, minimum, alignment
        self._fit_width = -1
        self._hug_height = hug_height
        child.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return self._hint if self._hint is not None else self._child.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._minimum if self._minimum is not None else self._child.minimumSizeHint()

    def fit_width(self) -> int:
        """The child's width when only the box's height limits it."""
        return int(self.height() * self._aspect)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._hug_height:  # depends on the width only, so it settles in one more layout pass
            self.setMaximumHeight(max(self.minimumSizeHint().height(), int(self.width() / self._aspect)))
        self._place()
        super().resizeEvent(event)
        if self.fit_width() != self._fit_width:
            self._fit_width = self.fit_width()
            self.fitWidthChanged.emit(self._fit_width)

    def _place(self) -> None:
        box_width, box_height = self.width(), min(self.height(), self.maximumHeight())
        width = min(box_width, int(box_height * self._aspect))
        height = int(width / self._aspect)
        flags, align = self._alignment, Qt.AlignmentFlag
        x = _offset(flags, align.AlignLeft, align.AlignRight, box_width - width)
        y = _offset(flags, align.AlignTop, align.AlignBottom, box_height - height)
        self._child.setGeometry(x, y, width, height)


def _offset(flags: Qt.AlignmentFlag, start: Qt.AlignmentFlag, end: Qt.AlignmentFlag, free: int) -> int:
    """Where a child goes along one axis with ``free`` px to spare: at the start, the end or centred."""
    return 0 if flags & start else free if flags & end else free // 2
