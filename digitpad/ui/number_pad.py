"""Number mode: a wide pad for writing several digits, read as one number.

After each pen-up the drawing and its strokes go to a worker thread that runs
:func:`digitpad.numbers.read_number`. The worker holds at most one pending job
(a newer drawing replaces it) and every job carries a generation number, so
only the reading of what is on the pad now is shown. A box and its reading are
painted over each digit; clicking a box (press and release without moving)
opens a 0-9 menu that corrects the digit and saves it as a personal sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QGuiApplication, QKeySequence, QMouseEvent, QPainter, QPen, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from digitpad.errors import DigitpadError, one_line
from digitpad.numbers import NumberReading
from digitpad.ui.canvas import AspectBox, DrawingCanvas
from digitpad.ui.mailbox import Mailbox
from digitpad.ui.workers import WAIT_MS, start_thread, stop_thread

if TYPE_CHECKING:  # pragma: no cover - types only
    from digitpad.personal import Sample

ASPECT = 3.0  # the pad is this many times as wide as it is tall
CLICK_SLOP = 4  # px a press may move and still be a click on a box
BOX_INK = QColor(30, 110, 220)
NOT_DIGIT_INK = QColor(200, 40, 40)
CORRECTED_INK = QColor(30, 140, 60)
EMPTY_TEXT = "Write a number"


@dataclass(frozen=True)
class _Job:
    generation: int
    array: np.ndarray
    strokes: list[list[tuple[float, float]]]  # in the array's pixel coordinates


class _NumberWorker(QObject):
    """Reads numbers in its own thread; touches no widget."""

    done = Signal(object, int)  # NumberReading, generation
    error = Signal(str, int)

    def __init__(self, predictor: Any) -> None:
        super().__init__()
        self.mailbox: Mailbox[_Job] = Mailbox(predictor)  # the job, and the predictor as its context
        self.cache: Any = None  # digitpad.numbers.ReadCache, made in the worker's thread

    @Slot()
    def drain(self) -> None:
        """Read pending jobs until none is left; a job waits while there is no model."""
        from digitpad.ml.blas import one_blas_thread  # small products: one thread is faster on a busy CPU
        from digitpad.numbers import ReadCache, read_number

        if self.cache is None:
            self.cache = ReadCache()
        while (taken := self.mailbox.take(lambda job, predictor: predictor is not None)):
            job, predictor = taken
            try:
                with one_blas_thread():
                    reading = read_number(job.array, predictor, job.strokes or None, self.cache)
            except Exception as exc:  # noqa: BLE001 - a model error must not kill the worker
                self.error.emit(one_line(exc), job.generation)
                continue
            self.done.emit(reading, job.generation)


class _BoxOverlay(QWidget):
    """Paints each digit's box and reading over the canvas; mouse events pass through."""

    def __init__(self, pad: NumberPad, canvas: DrawingCanvas) -> None:
        super().__init__(canvas)
        self._pad = pad
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.rect())

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(max(12, self.height() // 9))
        font.setBold(True)
        painter.setFont(font)
        tag_h = font.pixelSize() + 6
        for index, rect in enumerate(self._pad.box_rects()):
            symbol = self._pad.symbol(index)
            colour = BOX_INK
            if self._pad.is_corrected(index):
                colour = CORRECTED_INK
            elif symbol == "?":
                colour = NOT_DIGIT_INK
            painter.setPen(QPen(colour, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            tag_w = painter.fontMetrics().horizontalAdvance(symbol) + 10
            top = rect.top() - tag_h if rect.top() >= tag_h else rect.top()  # inside when no room above
            tag = QRectF(rect.left(), top, tag_w, tag_h)
            painter.fillRect(tag, colour)
            painter.setPen(QColor(Qt.GlobalColor.white))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, symbol)
        painter.end()


class NumberPad(QWidget):
    """A wide pad that reads a whole written number, with per-digit boxes and corrections."""

    readingShown = Signal(object)  # the NumberReading now on screen
    sampleSaved = Signal(object)  # the digitpad.personal.Sample a correction saved
    _wake = Signal()

    def __init__(self, predictor: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("numberPad")
        self.canvas = DrawingCanvas()
        self.canvas.setObjectName("numberCanvas")
        self.canvas.setAccessibleName("Number pad")
        self.canvas.setToolTip("Write a number, digits side by side; click a digit's box to correct it")
        self.canvas.changed.connect(self._on_changed)  # a pen-up, undo, redo, clear or image: read again
        self.canvas.installEventFilter(self)
        self._overlay = _BoxOverlay(self, self.canvas)
        self._reading = NumberReading(())
        self._snapshot: tuple[np.ndarray, QSize] | None = None  # the array the reading is of
        self._pending_snapshot: tuple[np.ndarray, QSize] | None = None  # of the latest request
        self._shown_for: QSize = QSize(1, 1)
        self._overrides: dict[int, int] = {}  # digit index -> corrected digit
        self._press: tuple[int, QPointF] | None = None  # a press on a box, not yet a stroke
        self._menu: QMenu | None = None
        self._generation = 0
        self._worker = _NumberWorker(predictor)
        self._wake.connect(self._worker.drain)
        self._worker.done.connect(self._on_done)
        self._worker.error.connect(self._on_error)
        self._thread = start_thread(self._worker, self, "digitpad-number", serve=True)
        self._running = True
        app = QCoreApplication.instance()
        if app is not None:  # a safety net; owners call shutdown() themselves
            app.aboutToQuit.connect(self.shutdown)

        self.numberLabel = QLabel("")
        self.numberLabel.setObjectName("numberLabel")
        big = QFont(self.numberLabel.font())
        big.setPointSizeF(big.pointSizeF() * 3)
        big.setBold(True)
        self.numberLabel.setFont(big)
        self.numberLabel.setMinimumHeight(self.numberLabel.fontMetrics().height())  # nothing moves when empty
        self.numberLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numberConfidence = QLabel(EMPTY_TEXT)
        self.numberConfidence.setObjectName("numberConfidence")
        self.numberConfidence.setWordWrap(True)
        self.numberClearButton = QPushButton("Clear")
        self.numberClearButton.setObjectName("numberClearButton")
        self.numberClearButton.setToolTip("Wipe the pad")
        self.numberClearButton.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.numberClearButton.clicked.connect(self.canvas.clear)
        self.numberUndoButton = QPushButton("Undo")
        self.numberUndoButton.setObjectName("numberUndoButton")
        self.numberUndoButton.setToolTip("Take back the last stroke")
        self.numberUndoButton.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.numberUndoButton.clicked.connect(self.canvas.undo)
        self.numberStatus = QLabel("")
        self.numberStatus.setObjectName("numberStatus")

        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self)
        copy.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy.activated.connect(self.copy_number)
        copy.setWhatsThis("Copy the number")  # what Help → Keyboard shortcuts lists
        self.copyShortcut = copy

        row = QHBoxLayout()
        row.addWidget(self.numberLabel, 1)
        row.addWidget(self.numberUndoButton, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.numberClearButton, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        # The pad as big as the width allows, its reading right under it, the slack below that.
        layout.addWidget(AspectBox(self.canvas, aspect=ASPECT, hint=QSize(720, 240), minimum=QSize(336, 112),
                                   hug_height=True), 1000)
        layout.addLayout(row)
        layout.addWidget(self.numberConfidence)
        layout.addWidget(self.numberStatus)
        layout.addStretch(1)
        self._sync()

    # --- public API ---------------------------------------------------------------
    @property
    def reading(self) -> NumberReading:
        """The reading on screen (no digits before the first one)."""
        return self._reading

    def number(self) -> str | None:
        """The number on screen, corrections included; None when nothing is read."""
        if not self._reading.digits:
            return None
        return "".join(self.symbol(i) for i in range(len(self._reading.digits)))

    def symbol(self, index: int) -> str:
        """Digit ``index`` as shown: the correction if there is one, else the reading."""
        if index in self._overrides:
            return str(self._overrides[index])
        return self._reading.digits[index].symbol

    def is_corrected(self, index: int) -> bool:
        return index in self._overrides

    def set_predictor(self, predictor: Any) -> None:
        """Read with ``predictor`` from now on; the drawing on the pad is read again."""
        wake = self._worker.mailbox.set_context(predictor)
        if not self.canvas.is_empty():
            wake = self._submit() or wake
        if wake and self._running:
            self._wake.emit()

    def is_idle(self) -> bool:
        return not self._worker.mailbox.busy()

    def copy_number(self) -> None:
        """Put the number on the clipboard (nothing happens while none is read)."""
        number = self.number()
        if number:
            QGuiApplication.clipboard().setText(number)
            self.numberStatus.setText(f"Copied {number}")

    def box_rects(self) -> list[QRectF]:
        """Each digit's box in the canvas's current coordinates."""
        sx = self.canvas.width() / max(1, self._shown_for.width())
        sy = self.canvas.height() / max(1, self._shown_for.height())
        return [QRectF(d.box.x0 * sx, d.box.y0 * sy, d.box.width * sx, d.box.height * sy)
                for d in self._reading.digits]

    def correction_menu(self) -> QMenu | None:
        """The 0-9 menu of the last click on a box (for tests and accessibility tools)."""
        return self._menu

    def open_correction(self, index: int, at: QPoint | None = None) -> QMenu:
        """Pop up the 0-9 menu that corrects digit ``index``."""
        if self._menu is not None:
            self._menu.close()
            self._menu.deleteLater()
        menu = QMenu(self)
        menu.setObjectName("numberCorrectionMenu")
        menu.setTitle(f"Digit {index + 1} is…")
        for digit in range(10):
            action = menu.addAction(str(digit))
            action.setObjectName(f"correct{digit}")
            action.triggered.connect(
                lambda _=False, d=digit, i=index, r=self._reading: self._correct_if_shown(r, i, d))
        self._menu = menu
        menu.popup(at if at is not None else self.canvas.mapToGlobal(self.box_rects()[index].center().toPoint()))
        return menu

    def _correct_if_shown(self, reading: NumberReading, index: int, digit: int) -> None:
        """A menu's choice, unless a newer reading has replaced the one it was opened on."""
        if reading is self._reading:
            self.correct(index, digit)

    def correct(self, index: int, digit: int) -> Sample | None:
        """Say digit ``index`` is ``digit``: shown at once and saved as a personal sample."""
        from digitpad.personal import SampleStore

        if not 0 <= index < len(self._reading.digits) or self._snapshot is None:
            return None
        reading = self._reading.digits[index]
        array = self._snapshot[0]
        box = reading.box
        crop = np.ascontiguousarray(array[box.y0:box.y1, box.x0:box.x1])
        try:
            sample = SampleStore().add(reading.prediction.image, digit, canvas=crop)
        except DigitpadError as exc:
            self.numberStatus.setText(one_line(exc))
            return None
        self._overrides[index] = digit
        self.numberStatus.setText(f"Saved digit {index + 1} as a {digit}")
        self._show_text()
        self._overlay.update()
        self.sampleSaved.emit(sample)
        return sample

    def shutdown(self) -> None:
        """Stop the reading thread (idempotent; waits a bounded time)."""
        if not self._running:
            return
        self._running = False
        if self._menu is not None:
            self._menu.close()
        stop_thread(self._thread, WAIT_MS)

    # --- reading ----------------------------------------------------------------------
    def _request(self) -> int:
        """Snapshot the pad and hand it to the worker; a blank pad is shown at once."""
        if self._submit() and self._running:
            self._wake.emit()
        return self._generation

    def _submit(self) -> bool:
        """Make a new generation's job; True when the worker must be woken."""
        self._generation += 1
        if self.canvas.is_empty():
            self._worker.mailbox.put(None)
            self._show(NumberReading(()), None)
            return False
        array = self.canvas.to_array()
        w, h = self.canvas.width(), self.canvas.height()
        strokes = [[(x * w, y * h) for x, y, _ in s.points] for s in self.canvas.strokes()]
        job = _Job(self._generation, array, strokes)
        self._pending_snapshot = (array, QSize(w, h))
        if self._worker.mailbox.context is None:
            self.numberStatus.setText("Waiting for the model…")
        return self._running and self._worker.mailbox.put(job)

    @Slot(object, int)
    def _on_done(self, reading: NumberReading, generation: int) -> None:
        if self._running and generation == self._generation:
            self._show(reading, self._pending_snapshot)

    @Slot(str, int)
    def _on_error(self, message: str, generation: int) -> None:
        if self._running and generation == self._generation:
            self.numberStatus.setText(message)

    def _show(self, reading: NumberReading, snapshot: tuple[np.ndarray, QSize] | None) -> None:
        self._reading = reading
        self._snapshot = snapshot
        self._shown_for = snapshot[1] if snapshot is not None else QSize(1, 1)
        self._overrides.clear()
        self.numberStatus.setText("")
        self._show_text()
        self._overlay.update()
        self.readingShown.emit(reading)

    def _show_text(self) -> None:
        number = self.number()
        self.numberLabel.setText(number or "")
        self.numberLabel.setAccessibleDescription(f"The number reads {number}" if number else "No number written")
        parts = []
        for i, d in enumerate(self._reading.digits):
            if i in self._overrides:
                parts.append(f"{self._overrides[i]}: corrected")
            elif d.not_a_digit:
                parts.append("?: not a digit")
            else:
                parts.append(f"{d.symbol}: {d.confidence * 100:.0f} %")
        self.numberConfidence.setText("   ".join(parts) or EMPTY_TEXT)

    def _on_changed(self) -> None:
        self._sync()
        strokes = self.canvas.strokes()
        if not (strokes and not strokes[-1].finished):  # not while a stroke is being drawn
            self._request()

    def _sync(self) -> None:
        self.numberClearButton.setEnabled(not self.canvas.is_empty())
        self.numberUndoButton.setEnabled(self.canvas.can_undo())

    # --- clicks on boxes ----------------------------------------------------------------
    def _box_at(self, pos: QPointF) -> int | None:
        for index, rect in enumerate(self.box_rects()):
            if rect.adjusted(-2, -2, 2, 2).contains(pos):
                return index
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A press on a box waits: moving draws a stroke from there, releasing opens the menu."""
        if watched is self.canvas:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self._overlay.setGeometry(self.canvas.rect())
            elif kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
                if event.button() == Qt.MouseButton.LeftButton:
                    index = self._box_at(event.position())
                    if index is not None:
                        self._press = (index, event.position())
                        return True
            elif kind == QEvent.Type.MouseMove and self._press is not None and isinstance(event, QMouseEvent):
                start = self._press[1]
                if (event.position() - start).manhattanLength() > CLICK_SLOP:
                    self._press = None
                    self.canvas.begin_stroke(start)  # the canvas follows the rest of the drag itself
                    self.canvas.extend_stroke(event.position())
                return True
            elif kind == QEvent.Type.MouseButtonRelease and self._press is not None:
                index, _ = self._press
                self._press = None
                self.open_correction(index, event.globalPosition().toPoint())  # type: ignore[attr-defined]
                return True
        return super().eventFilter(watched, event)
