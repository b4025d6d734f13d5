"""The Draw tab: canvas on the left, what the model reads on the right.

Canvas changes are throttled by a single-shot timer (at most one snapshot per
``THROTTLE_MS`` while drawing, so the answer follows the pen) and a pen-up asks
at once. Snapshots are taken here, on the GUI thread, and handed to the
:class:`PredictionService`; results come back as signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QStackedWidget,
                               QVBoxLayout, QWidget)

from digitpad.ui.canvas import AspectBox, DEFAULT_BRUSH_WIDTH, MAX_BRUSH_WIDTH, MIN_BRUSH_WIDTH, DrawingCanvas
from digitpad.ui.corrections import Corrections
from digitpad.ui.images import gray_to_qimage
from digitpad.ui.number_pad import NumberPad
from digitpad.ui.prediction_service import PredictionService
from digitpad.ui.probability_chart import ProbabilityChart

if TYPE_CHECKING:  # pragma: no cover
    from digitpad.contracts import Prediction

THROTTLE_MS = 60
PREVIEW_SCALE = 6  # the 28x28 model input is shown 6x at least ...
MAX_PREVIEW_SCALE = 12  # ... and up to 12x in a big window, always a whole number of screen pixels per pixel
CONFIDENCE_TIP = "How sure the model is of the digit it reads"


def confidence_text(prediction: Prediction | None) -> str:
    """"97.3 % sure", "not sure: 4 or 9?" or "Draw a digit"."""
    if prediction is not None and prediction.not_a_digit:
        return "That doesn't look like a digit"
    if prediction is None or prediction.blank or prediction.digit is None:
        return "Draw a digit"
    if prediction.unsure:  # confidence below digitpad.ml.inference.UNSURE_BELOW (0.6)
        first, second = prediction.ranked[:2]
        return f"not sure: {first} or {second}?"
    return f"{prediction.confidence * 100:.1f} % sure"


def spoken_text(prediction: Prediction | None) -> str:
    """The reading as a sentence for screen readers: "The model reads 7, 97 % sure"."""
    if prediction is not None and prediction.not_a_digit:
        return "That doesn't look like a digit"
    if prediction is None or prediction.blank or prediction.digit is None:
        return "No digit drawn"
    if prediction.unsure:
        first, second = prediction.ranked[:2]
        return f"The model is not sure: {first} or {second}"
    return f"The model reads {prediction.digit}, {prediction.confidence * 100:.0f} % sure"


def _centred(widget: QWidget) -> QHBoxLayout:
    """``widget`` as wide as it may grow, centred in a row (an alignment flag would pin it at its hint)."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addStretch(1)
    row.addWidget(widget, 1000)
    row.addStretch(1)
    return row


class PreviewImage(QLabel):
    """The model's 28x28 input, scaled by the largest whole factor that fits (6x to 12x)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.setMinimumSize(28 * PREVIEW_SCALE, 28 * PREVIEW_SCALE)
        self.setMaximumSize(28 * MAX_PREVIEW_SCALE, 28 * MAX_PREVIEW_SCALE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def sizeHint(self) -> QSize:  # not the pixmap's size: the shown image never sizes the layout
        return self.minimumSize()

    def scale(self) -> int:
        """Screen pixels per model pixel at the label's present size."""
        return max(PREVIEW_SCALE, min(self.width(), self.height()) // 28)

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._render()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._render()

    def _render(self) -> None:
        if self._image is None:
            return
        ratio = self.devicePixelRatioF()  # full resolution on HiDPI screens
        side = round(28 * self.scale() * ratio)
        pixmap = QPixmap.fromImage(self._image).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                       Qt.TransformationMode.FastTransformation)
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


class DrawTab(QWidget):
    """Drawing canvas plus the live reading: big digit, confidence, bars, model input."""

    predictionShown = Signal(object)  # the Prediction now on screen
    predictionFailed = Signal(str)

    def __init__(self, predictor: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drawTab")
        self.canvas = DrawingCanvas()
        self.service = PredictionService(predictor, self)
        self._prediction: Prediction | None = None
        self._blank_ink = False  # the canvas holds marks that read as blank (e.g. an opened blank image)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._build()
        self._timer.timeout.connect(self.request_prediction)
        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.strokeFinished.connect(self._on_stroke_finished)
        self.service.predicted.connect(self._on_predicted)
        self.service.failed.connect(self._on_failed)
        self._sync_buttons()
        self._show_blank()

    def _build(self) -> None:
        self.predictionLabel = QLabel()
        self.predictionLabel.setObjectName("predictionLabel")
        self.predictionLabel.setAccessibleName("Predicted digit")
        font = QFont(self.font())
        font.setPointSize(72)
        font.setBold(True)
        self.predictionLabel.setFont(font)
        self.predictionLabel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.predictionLabel.setMinimumHeight(110)
        self.predictionLabel.setToolTip("The digit the model reads in your drawing")
        self.confidenceLabel = QLabel()
        self.confidenceLabel.setObjectName("confidenceLabel")
        self.confidenceLabel.setAccessibleName("How sure the model is")
        self.confidenceLabel.setToolTip(CONFIDENCE_TIP)
        self.confidenceLabel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSize(14)
        self.confidenceLabel.setFont(font)
        self.probabilityChart = ProbabilityChart()
        self.previewImage = PreviewImage()
        self.previewImage.setObjectName("previewImage")
        self.previewImage.setAccessibleName("The 28 by 28 image the model saw")
        self.previewImage.setToolTip("What the model saw: your drawing cropped, centred and shrunk to 28×28")

        self.undoButton = self._button("Undo", "undoButton", self.canvas.undo, "Take back the last stroke (Ctrl+Z)")
        self.redoButton = self._button("Redo", "redoButton", self.canvas.redo,
                                       "Put back the last undone stroke (Ctrl+Shift+Z)")
        self.clearButton = self._button("Clear", "clearButton", self.canvas.clear, "Wipe the canvas (Esc)")
        self.brushSize = QSpinBox()
        self.brushSize.setObjectName("brushSize")
        self.brushSize.setAccessibleName("Brush size")
        self.brushSize.setRange(int(MIN_BRUSH_WIDTH), int(MAX_BRUSH_WIDTH))
        self.brushSize.setSuffix(" px")
        self.brushSize.setValue(int(DEFAULT_BRUSH_WIDTH))
        self.brushSize.setToolTip(f"Brush width, {int(MIN_BRUSH_WIDTH)}–{int(MAX_BRUSH_WIDTH)} px; "
                                  "pen pressure makes it thinner")
        # A value outside the range (typing "1") becomes the nearest allowed one, not the old value.
        self.brushSize.setCorrectionMode(QSpinBox.CorrectionMode.CorrectToNearestValue)
        self.brushSize.valueChanged.connect(self.canvas.set_brush_width)
        self.canvas.brushWidthChanged.connect(lambda width: self.brushSize.setValue(round(width)))

        tools = QHBoxLayout()
        for widget in (self.undoButton, self.redoButton, self.clearButton):
            tools.addWidget(widget)
        tools.addStretch(1)
        brush_label = QLabel("&Brush:")
        brush_label.setBuddy(self.brushSize)
        tools.addWidget(brush_label)
        tools.addWidget(self.brushSize)
        # The canvas sits in the column's top-left corner and the column is as wide as the canvas,
        # so the canvas, the tool row and the correction row share their left and right edges.
        self.canvasBox = AspectBox(self.canvas, alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.canvasColumn = QWidget()
        self.canvasColumn.setObjectName("canvasColumn")
        left = QVBoxLayout(self.canvasColumn)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.canvasBox, 1)
        left.addLayout(tools)
        # "Wrong? It's a …": save labelled drawings (keys 0-9)
        self.corrections = Corrections(self.canvas, self.service, self.request_prediction, self)
        left.addWidget(self.corrections.bar)
        self.canvasBox.fitWidthChanged.connect(self._fit_column)

        caption = QLabel("Model input (28×28)")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        for label in (self.predictionLabel, self.confidenceLabel):
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        right = QVBoxLayout()
        right.addWidget(self.predictionLabel)
        right.addWidget(self.confidenceLabel)
        # A big window grows the bars and the model input together, each up to a readable size;
        # what is left over stays below them.
        self.probabilityChart.setMaximumSize(720, 260)
        right.addLayout(_centred(self.probabilityChart), 1)
        right.addLayout(_centred(self.previewImage), 1)
        right.addWidget(caption)
        right.addStretch(0)
        panel = QWidget()
        panel.setObjectName("resultPanel")
        panel.setLayout(right)
        panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.resultPanel = panel
        single = QWidget()
        single_layout = QHBoxLayout(single)
        single_layout.setContentsMargins(0, 0, 0, 0)
        single_layout.addWidget(self.canvasColumn, 3)
        single_layout.addWidget(panel, 2)
        self.numberPad = NumberPad(self.service.predictor)
        self.pages = QStackedWidget()
        self.pages.addWidget(single)
        self.pages.addWidget(self.numberPad)
        self.numberToggle = QPushButton("&Number")
        self.numberToggle.setObjectName("numberToggle")
        self.numberToggle.setCheckable(True)
        self.numberToggle.setToolTip("Write a whole number on a wide pad instead of one digit")
        self.numberToggle.setAccessibleName("Number mode")
        self.numberToggle.toggled.connect(self.set_number_mode)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addStretch(1)
        top.addWidget(self.numberToggle)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        chain = [self.canvas, self.brushSize, self.undoButton, self.redoButton, self.clearButton,
                 *self.corrections.bar.buttons]  # then "Wrong? It's a …" 0-9
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _button(self, text: str, name: str, slot: Any, tip: str = "") -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.replace("&", ""))
        button.setToolTip(tip or text.replace("&", ""))
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # clicking keeps the keyboard on the canvas
        button.clicked.connect(slot)
        return button

    # --- public API ---------------------------------------------------------------
    @property
    def prediction(self) -> Prediction | None:
        """The prediction on screen (None before the first one)."""
        return self._prediction

    def set_predictor(self, predictor: Any) -> None:
        """Use ``predictor`` from now on; the current drawing is read again with it."""
        self.service.set_predictor(predictor)
        self.numberPad.set_predictor(predictor)
        if self.service.generation == 0:
            self.request_prediction()

    def predictor(self) -> Any:
        return self.service.predictor

    def set_brush_width(self, width: float) -> None:
        self.canvas.set_brush_width(width)

    def brush_width(self) -> float:
        return self.canvas.brush_width()

    def request_prediction(self) -> int:
        """Snapshot the canvas now and ask for a prediction; returns the request's generation."""
        self._timer.stop()
        empty = self.canvas.is_empty()
        generation = self.service.request(None if empty else self.canvas.to_array())
        if not empty and self.service.predictor is None:
            self.confidenceLabel.setText("Waiting for the model…")
        return generation

    def show_prediction(self, prediction: Prediction) -> None:
        """Put a prediction on screen: digit, confidence, bars and the model's input."""
        self._prediction = prediction
        blank = prediction.blank or prediction.digit is None
        digit = "" if blank else str(prediction.digit)
        confidence = confidence_text(prediction)
        self.predictionLabel.setText(digit)
        self.confidenceLabel.setText(confidence)
        self.confidenceLabel.setToolTip(CONFIDENCE_TIP)
        self._announce(spoken_text(prediction))
        self.probabilityChart.set_probabilities(prediction.probabilities, None if blank else prediction.digit)
        image = np.clip(np.asarray(prediction.image, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        self.previewImage.set_image(gray_to_qimage(image))
        self.predictionShown.emit(prediction)

    def shutdown(self) -> None:
        """Stop the prediction threads (idempotent)."""
        self._timer.stop()
        self.service.shutdown()
        self.numberPad.shutdown()

    def set_number_mode(self, on: bool) -> None:
        """Show the wide number pad (True) or the single-digit canvas."""
        self.pages.setCurrentIndex(1 if on else 0)
        if self.numberToggle.isChecked() != on:
            self.numberToggle.setChecked(on)
        for shortcut in self.corrections.shortcuts:  # keys 0-9 must not save the hidden drawing
            shortcut.setEnabled(not on and not self.canvas.is_empty())
        self.active_canvas().setFocus()

    def is_number_mode(self) -> bool:
        return self.pages.currentIndex() == 1

    def active_canvas(self) -> DrawingCanvas:
        """The canvas the Edit menu works on: the number pad's in number mode."""
        return self.numberPad.canvas if self.is_number_mode() else self.canvas

    # --- internals ----------------------------------------------------------------
    def _announce(self, sentence: str) -> None:
        """Put the reading in predictionLabel's accessible description for screen readers.

        QWidget.setAccessibleDescription sends QAccessible.DescriptionChanged itself when the
        text changes, so assistive technologies hear about each new reading (once).
        """
        self.predictionLabel.setAccessibleDescription(sentence)

    def _show_blank(self) -> None:
        from digitpad.contracts import blank_prediction

        self.show_prediction(blank_prediction())

    def _fit_column(self, canvas_width: int) -> None:
        """Make the canvas column as wide as the canvas can be (never below what its rows need)."""
        self.canvasColumn.setMaximumWidth(max(canvas_width, self.canvasColumn.minimumSizeHint().width()))

    def _on_canvas_changed(self) -> None:
        self._blank_ink = False  # known again when the new drawing has been read
        self._sync_buttons()
        if not self._timer.isActive():  # throttle, not debounce: keep up with a moving pen
            self._timer.start()

    def _on_stroke_finished(self) -> None:
        self.request_prediction()

    def _on_predicted(self, prediction: Prediction, generation: int) -> None:
        self.show_prediction(prediction)
        if generation == self.service.generation:  # the reading of what is on the canvas now
            self._blank_ink = prediction.blank and not self.canvas.is_empty()
            self._sync_buttons()

    def _on_failed(self, message: str, generation: int) -> None:
        self.confidenceLabel.setText("Prediction failed")
        self.confidenceLabel.setToolTip(message)
        self.predictionFailed.emit(message)

    def _sync_buttons(self) -> None:
        self.undoButton.setEnabled(self.canvas.can_undo())
        self.redoButton.setEnabled(self.canvas.can_redo())
        self.clearButton.setEnabled(not self.canvas.is_empty() and not self._blank_ink)
