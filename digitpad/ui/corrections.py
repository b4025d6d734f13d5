"""Corrections on the Draw tab: "Wrong? It's a …" and ten digit buttons (keys 0-9 too).

Pressing a digit saves the drawing to the personal dataset
(:class:`digitpad.personal.SampleStore`) with that label: the normalised 28x28
image the model saw and the raw canvas. The same buttons label a drawing that
was read right ("Save as …"). Nothing is ever recorded without that press.

To save exactly the image the model saw for the drawing now on the canvas, a
press asks the prediction service to read the canvas once more and saves when
that reading (matched by its generation number) comes back - a few milliseconds.
If the drawing changes first, the press is dropped and the bar says so. Saving
itself runs on the GUI thread: it is three small files, written atomically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QSizePolicy, QVBoxLayout, QWidget


from digitpad.errors import one_line

if TYPE_CHECKING:  # pragma: no cover
    from digitpad.contracts import Prediction
    from digitpad.personal import Sample, SampleStore
    from digitpad.ui.canvas import DrawingCanvas
    from digitpad.ui.prediction_service import PredictionService

MESSAGE_MS = 5000  # how long a confirmation stays in the bar


def _default_store() -> SampleStore:
    from digitpad.personal import SampleStore  # Pillow; imported on the first save only

    return SampleStore()


def saved_text(label: int, count: int | None) -> str:
    """'Saved as a 7 (you have 12 samples of 7)' ('Saved as a 7' when the count is unknown)."""
    article = "an" if label == 8 else "a"
    if count is None:
        return f"Saved as {article} {label}"
    return f"Saved as {article} {label} (you have {count} sample{'s' * (count != 1)} of {label})"


class CorrectionBar(QWidget):
    """The row "Wrong? It's a …" [0] … [9] plus a short status line; emits ``labelChosen``."""

    labelChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("correctionBar")
        self.prompt = QLabel("Wrong? It's a …")
        self.prompt.setObjectName("correctionPrompt")
        self.prompt.setToolTip("Press the right digit (or type it) to save this drawing to your samples")
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.prompt)
        for digit in range(10):
            button = QPushButton(str(digit))
            button.setObjectName(f"correct{digit}")
            button.setAccessibleName(f"Save as {digit}")
            button.setToolTip(f"Save this drawing as a {digit} in your samples (key {digit}) — to correct a "
                              f"wrong reading, or to label one that was read right")
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # clicking keeps the keyboard on the canvas
            button.setMinimumWidth(24)
            button.setMaximumWidth(56)  # grows with a big window, but stays a button, not a bar
            button.clicked.connect(lambda _checked=False, d=digit: self.labelChosen.emit(d))
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)
        self.status = QLabel()
        self.status.setObjectName("correctionStatus")
        self.status.setAccessibleName("Sample status")
        # Its own line, always as tall as one line of text: a message never moves or squeezes anything.
        self.status.setFixedHeight(self.status.fontMetrics().height() + 4)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(self.status.clear)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(row)
        outer.addWidget(self.status)

    def set_buttons_enabled(self, enabled: bool) -> None:
        for button in self.buttons:
            button.setEnabled(enabled)

    def show_message(self, text: str, timeout_ms: int = MESSAGE_MS) -> None:
        """Show ``text`` in the status line; it goes away after ``timeout_ms`` (0: stays)."""
        self.status.setText(text)
        self._clear_timer.stop()
        if timeout_ms > 0:
            self._clear_timer.start(timeout_ms)


class Corrections(QObject):
    """Saves labelled drawings of a canvas to the personal dataset.

    It needs the ``canvas``, the prediction ``service`` whose readings it waits
    for, ``reread`` (asks for a fresh reading now and returns its generation)
    and ``view``, the widget its keys and messages belong to. ``store_factory``
    makes the store at each save (default ``SampleStore()``), so a samples
    folder that moved or vanished is picked up, never cached.
    """

    sampleSaved = Signal(object, object)  # the digitpad.personal.Sample; how many of its digit exist (or None)

    def __init__(self, canvas: DrawingCanvas, service: PredictionService, reread: Callable[[], int],
                 view: QWidget, store_factory: Callable[[], SampleStore] | None = None) -> None:
        super().__init__(view)
        self.canvas, self.service, self.reread, self.view = canvas, service, reread, view
        self.store_factory = store_factory or _default_store
        self.clear_after_save = True  # ready for the next digit (the clear is undoable)
        self.bar = CorrectionBar()
        self._pending: tuple[int, int] | None = None  # (label, generation of the reading it waits for)
        self._blank_image = False  # the canvas holds ink that reads as blank (e.g. an opened blank image)
        self.shortcuts: list[QShortcut] = []
        for digit in range(10):
            key = Qt.Key(Qt.Key.Key_0.value + digit)
            shortcut = QShortcut(QKeySequence(key), view)
            shortcut.setKeys([QKeySequence(key), QKeySequence(Qt.KeyboardModifier.KeypadModifier | key)])
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # never in the Train tab
            shortcut.setAutoRepeat(False)
            shortcut.setWhatsThis(f"Save the drawing as a {digit}")  # what Help → Keyboard shortcuts lists
            shortcut.activated.connect(lambda d=digit: self.choose(d))
            self.shortcuts.append(shortcut)
        self.bar.labelChosen.connect(self.choose)
        canvas.changed.connect(self._on_canvas_changed)
        service.predicted.connect(self._on_predicted)
        service.failed.connect(self._on_failed)
        self._sync()

    # --- public API -------------------------------------------------------------------
    def is_pending(self) -> bool:
        """True while a press waits for the model's reading of the drawing."""
        return self._pending is not None

    def choose(self, label: int) -> None:
        """The user says the drawing is ``label``: read it once more, then save it."""
        if self.canvas.is_empty():
            self._say("Draw a digit first")
            return
        self._pending = (int(label), self.reread())
        if self.service.predictor is None:
            self._say(f"Will save as {label} once the model has loaded", 0)

    # --- internals ----------------------------------------------------------------------
    def _say(self, text: str, timeout_ms: int = MESSAGE_MS) -> None:
        self.bar.show_message(text, timeout_ms)

    def _sync(self) -> None:
        enabled = not self.canvas.is_empty() and not self._blank_image
        self.bar.set_buttons_enabled(enabled)
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    def _on_canvas_changed(self) -> None:
        self._blank_image = False  # known again once the new drawing is read
        self._sync()
        if self._pending is not None:
            self._pending = None
            self._say("Not saved: the drawing changed before it was read")

    def _waiting_for_this(self, generation: int) -> int | None:
        """The pending label when ``generation`` is the reading it waits for (or a newer one)."""
        if self._pending is None or generation < self._pending[1]:
            return None
        label, self._pending = self._pending[0], None
        return label

    def _on_failed(self, message: str, generation: int) -> None:
        if self._waiting_for_this(generation) is not None:
            self._say(f"Not saved: the model could not read the drawing ({message})")

    def _on_predicted(self, prediction: Prediction, generation: int) -> None:
        if generation == self.service.generation:  # ink that reads as blank: the buttons look as after Clear
            self._blank_image = prediction.blank and not self.canvas.is_empty()
            self._sync()
        label = self._waiting_for_this(generation)
        if label is None:
            return
        if prediction.blank or prediction.digit is None:
            self._say("Not saved: the drawing reads as blank")
            return
        self.save(prediction.image, label)

    def save(self, image: Any, label: int) -> Sample | None:
        """Write ``image`` (the model's 28x28 input) and the canvas as a sample; warn on failure."""
        from digitpad.errors import DataError

        try:
            store = self.store_factory()
            sample = store.add(image, label, canvas=self.canvas.to_array())
        except (DataError, OSError) as exc:
            QMessageBox.warning(self.view, "Save sample — digitpad", f"Could not save the sample: {one_line(exc)}")
            self._say("Not saved")
            return None
        try:
            count: int | None = store.counts()[sample.label]
        except OSError:  # saved, but the folder cannot be listed right now
            count = None
        self._say(saved_text(sample.label, count))
        self.sampleSaved.emit(sample, count)
        if self.clear_after_save:
            self.canvas.clear()
        return sample
