"""The Inside tab: what every layer of the tutorial CNN computes for the current drawing, and why it answered.

``set_network(predictor)`` takes the active predictor and uses its NumPy copy
of the network (``predictor.numpy_cnn``: a NumpyPredictor has one, a
TensorFlow Predictor has one when the model is the tutorial CNN);
``show_drawing(image28)`` shows the model input of a reading. The maps are
computed by :mod:`digitpad.ml.explain` on the tab's own thread, newest drawing
first (:mod:`digitpad.ui.inside_worker`); no TensorFlow is involved. The
look-alikes need the model's index of the training digits: the first "why"
drawing of a model asks :mod:`digitpad.ui.lookalike_indexer` to read or build
it on another thread, and the tab shows its progress until it is there.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget)

from digitpad.ui.inside_maps import MapGrid, OutputBars, arithmetic_text, layer_column, picture_label
from digitpad.ui.inside_worker import (POOL_COLUMNS, SCALES, InsideJob, InsideResult, InsideWorker, tiled_size,
                                       to_qimage)
from digitpad.ui.lookalike_indexer import LookalikeIndexer
from digitpad.ui.workers import WAIT_MS, start_thread, stop_thread

NEEDS_TUTORIAL = "The Inside view needs the tutorial CNN"
NO_DRAWING = "Draw a digit on the Draw tab to see inside the network."
NUMPY_NOTE = "Computed with NumPy from the model's weights (TensorFlow is not needed)."


class InsideTab(QWidget):
    """Feature maps of every layer, conv1 arithmetic on hover, and "why this answer?" maps."""

    shown = Signal(int)  # the generation now on screen (for tests and the status bar)
    _wake = Signal()

    def __init__(self, parent: QWidget | None = None, training_data: Callable[[], Any] | None = None) -> None:
        """``training_data()`` gives the digits to find look-alikes among (default: the bundled MNIST)."""
        super().__init__(parent)
        self.setObjectName("insideTab")
        self._explainer: Any = None
        self._model_path = ""
        self._image: np.ndarray | None = None
        self._generation = 0
        self.result: InsideResult | None = None  # what is on screen
        self.arithmetic: Any = None  # the Conv1Arithmetic in the hover panel
        self._build()
        self._worker = InsideWorker()
        self._wake.connect(self._worker.drain)
        self._worker.done.connect(self._on_done)
        self._worker.error.connect(self._on_error)
        self._thread = start_thread(self._worker, self, "digitpad-inside", serve=True)
        self.indexer = LookalikeIndexer(self, training_data)
        self.indexer.ready.connect(self._on_neighbours)
        self.indexer.noteChanged.connect(self._on_index_note)
        self._running = True
        app = QCoreApplication.instance()
        if app is not None:  # a safety net; the window calls shutdown() itself
            app.aboutToQuit.connect(self.shutdown)

    # --- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        from digitpad.ml.explain import layers

        spec = {layer["name"]: layer for layer in layers()}
        self.message = QLabel(NEEDS_TUTORIAL)
        self.message.setObjectName("insideMessage")
        self.why_check = QCheckBox("Why this answer?")
        self.why_check.setObjectName("whyCheck")
        self.why_check.toggled.connect(self._on_why_toggled)
        total = QLabel(f"{sum(layer['params'] for layer in layers()):,} parameters in all")
        total.setObjectName("totalParams")
        top = QHBoxLayout()
        top.addWidget(self.message, 1)
        top.addWidget(total)
        top.addWidget(self.why_check)

        self.input_label = picture_label("inputPicture", 28 * SCALES["input"], 28 * SCALES["input"])
        self.conv1_grid = MapGrid(32, 28, SCALES["conv1"], on_hover=self._on_conv1_hover)
        self.filters_label = picture_label("conv1Filters", *tiled_size(5, 32, 8, SCALES["filters"]))
        self.filters_label.setToolTip("The 32 conv1 kernels (5 × 5), in the same order as the maps; red > 0, blue < 0")
        self.pool1_label = picture_label("pool1Picture", *tiled_size(14, 32, POOL_COLUMNS, SCALES["pool1"]))
        self.conv2_grid = MapGrid(64, 14, SCALES["conv2"])
        self.pool2_label = picture_label("pool2Picture", *tiled_size(7, 64, POOL_COLUMNS, SCALES["pool2"]))
        self.dense_label = picture_label("densePicture", 32 * SCALES["dense"], 32 * SCALES["dense"])
        self.bars = OutputBars()
        kernels = QWidget()
        kbox = QVBoxLayout(kernels)
        kbox.setContentsMargins(0, 6, 0, 0)
        kbox.addWidget(QLabel("kernels (5 × 5), same order:"))
        kbox.addWidget(self.filters_label)
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(4, 4, 4, 4)
        for name, body, extra in (("input", self.input_label, None), ("conv1", self.conv1_grid, kernels),
                                  ("pool1", self.pool1_label, None), ("conv2", self.conv2_grid, None),
                                  ("pool2", self.pool2_label, None), ("dense", self.dense_label, None),
                                  ("softmax", self.bars, None)):
            layer = dict(spec[name])
            if name == "softmax":
                layer = {"name": "softmax %, logit", "shape": [10], "params": spec["logits"]["params"]}
            row.addWidget(layer_column(layer, body, extra), 0, Qt.AlignmentFlag.AlignTop)
        row.addStretch(1)
        self.strip = scroll = QScrollArea()
        scroll.setObjectName("layerStrip")
        scroll.setWidget(strip)
        scroll.setWidgetResizable(False)
        scroll.setMinimumHeight(strip.sizeHint().height() + 24)
        scroll.setVisible(False)

        self.arithmetic_panel = QLabel("Point at a conv1 map to see how its value is computed.")
        self.arithmetic_panel.setObjectName("arithmeticPanel")
        self.arithmetic_panel.setFont(QFont("monospace", 9))
        self.arithmetic_panel.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.arithmetic_panel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arithmetic_panel.setMinimumWidth(330)
        self.arithmetic_panel.setVisible(False)
        self.why_panel = QWidget()
        self.why_panel.setObjectName("whyPanel")
        why_box = QVBoxLayout(self.why_panel)
        why_box.setContentsMargins(0, 0, 0, 0)
        self.why_title = QLabel()
        self.why_title.setWordWrap(True)
        why_row = QHBoxLayout()
        self.why_labels: dict[str, QLabel] = {}
        self.why_captions: list[QLabel] = []
        for key in ("saliency_a", "saliency_b", "contrast", "occlusion"):
            cell = QVBoxLayout()
            caption = QLabel()
            self.why_captions.append(caption)
            self.why_labels[key] = picture_label(f"why_{key}", 28 * SCALES["why"], 28 * SCALES["why"])
            cell.addWidget(caption)
            cell.addWidget(self.why_labels[key])
            why_row.addLayout(cell)
        why_row.addStretch(1)
        self.lookalike_label = QLabel()
        self.lookalike_label.setObjectName("lookalikes")
        self.lookalike_label.setWordWrap(True)  # eight labels and scores: never wider than the window
        self.lookalike_row = QHBoxLayout()
        self.lookalike_thumbs = [picture_label(f"lookalike{k}", 56, 56) for k in range(8)]
        for thumb in self.lookalike_thumbs:
            self.lookalike_row.addWidget(thumb)
        self.lookalike_row.addStretch(1)
        why_box.addWidget(self.why_title)
        why_box.addLayout(why_row)
        why_box.addWidget(self.lookalike_label)
        why_box.addLayout(self.lookalike_row)
        why_box.addStretch(1)
        self.why_panel.setVisible(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.arithmetic_panel)
        bottom.addWidget(self.why_panel, 1)

        body = QWidget()  # the strip and the panels below it scroll together inside the window's size
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(scroll)
        body_layout.addLayout(bottom, 1)
        page = QScrollArea()
        page.setObjectName("insidePage")
        page.setWidgetResizable(True)
        page.setFrameShape(QScrollArea.Shape.NoFrame)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page.setWidget(body)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addWidget(page, 1)

    # --- public API ---------------------------------------------------------------------------
    def set_network(self, source: Any) -> bool:
        """Use ``source``'s tutorial CNN (a predictor with ``numpy_cnn``, or a NumpyCNN); False if it has none."""
        from digitpad.ml.explain import Explainer
        from digitpad.ml.fastpath import NumpyCNN

        net = source if isinstance(source, NumpyCNN) else getattr(source, "numpy_cnn", None)
        info = getattr(source, "info", None)
        self._model_path = str(getattr(info, "path", "") or "")
        self._explainer = Explainer(net) if isinstance(net, NumpyCNN) else None
        self.indexer.set_model(self._model_path if self._explainer is not None else "")
        for part in (self.strip, self.arithmetic_panel):
            part.setVisible(self._explainer is not None)
        self.why_panel.setVisible(self._explainer is not None and self.why_check.isChecked())
        self.result = None if self._explainer is None else self.result
        if self._explainer is None:
            self.message.setText(NEEDS_TUTORIAL)
            self._generation += 1  # whatever is still computing is for the old model
            return False
        self.filters_label.setPixmap(QPixmap.fromImage(self._filters_picture()))
        self.message.setText(NUMPY_NOTE if self._image is not None else NO_DRAWING)
        if self._image is not None:
            self._request()
        return True

    def show_drawing(self, image28: np.ndarray | None) -> int:
        """Show what the network computes for the (28, 28) model input; None: a blank canvas. Returns the generation."""
        self._image = None if image28 is None else np.array(image28, np.float32).reshape(28, 28)
        if self._image is None or not self._image.any():
            self._image = None
            self._generation += 1
            if self._explainer is not None:
                self.message.setText(NO_DRAWING)
            return self._generation
        if self._explainer is not None:
            self._request()
        return self._generation

    @property
    def generation(self) -> int:
        return self._generation

    def is_idle(self) -> bool:
        return not self._worker.mailbox.busy()

    def shutdown(self, timeout_ms: int = WAIT_MS) -> None:
        """Stop the worker thread and any index build, waiting at most ``timeout_ms`` for each
        (a running computation finishes first, a build stops at its next chunk)."""
        if not self._running:
            return
        self._running = False
        self.indexer.shutdown(timeout_ms)
        stop_thread(self._thread, timeout_ms)

    # --- work ---------------------------------------------------------------------------------
    def _request(self) -> None:
        self._generation += 1
        if self.why_check.isChecked():
            self.message.setText("Computing why (saliency, occlusion)…")
        why = self.why_check.isChecked()
        neighbours = self.indexer.need(self._explainer.net, self._model_path) if why and self._running else None
        job = InsideJob(self._generation, self._image, self._explainer, why, neighbours)
        if self._running and self._worker.mailbox.put(job):
            self._wake.emit()

    def _filters_picture(self) -> Any:
        from digitpad.explain_pictures import colorize
        from digitpad.ml.explain import tile

        filters = self._explainer.conv1_filters()
        limit = float(np.abs(filters).max()) or 1.0
        return to_qimage(colorize(tile(filters, 8), "diverging", -limit, limit), SCALES["filters"])

    @Slot(bool)
    def _on_why_toggled(self, on: bool) -> None:
        self.why_panel.setVisible(on and self._explainer is not None)
        if on and self._image is not None and self._explainer is not None:
            self._request()

    @Slot(object)
    def _on_done(self, result: InsideResult) -> None:
        if not self._running or result.generation != self._generation:
            return  # a newer drawing or model is on its way
        self.result = result
        maps, pictures = result.maps, result.pictures
        self.input_label.setPixmap(QPixmap.fromImage(pictures["input"]))
        self.conv1_grid.show_maps(maps["conv1"], pictures["conv1"])
        self.conv2_grid.show_maps(maps["conv2"], pictures["conv2"])
        for label, name in ((self.pool1_label, "pool1"), (self.pool2_label, "pool2"), (self.dense_label, "dense")):
            label.setPixmap(QPixmap.fromImage(pictures[name]))
        self.bars.show_outputs(maps["logits"], maps["softmax"])
        self.message.setText(NUMPY_NOTE)
        if result.why is not None:
            self._show_why(result)
        self.shown.emit(result.generation)

    def _show_why(self, result: InsideResult) -> None:
        why = result.why
        a, b = why.contrast.classes
        p = why.probabilities
        self.why_title.setText(
            f"<b>Why {a}?</b> P({a}) = {p[a]:.3f}, runner-up {b} ({p[b]:.3f}). Integrated Gradients maps share one "
            f"scale ±{why.contrast.limit:.3g} (logit units; red raises, blue lowers); occlusion has its own "
            f"(probability drop when a 4×4 patch is hidden).")
        keys = ("saliency_a", "saliency_b", "contrast", "occlusion")
        names = list(result.pictures["why"]) + ["occlusion"]
        texts = (f"saliency of {a}", f"saliency of {b}", f"why {a}, not {b}", f"occlusion of {a}")
        for key, name, text, caption in zip(keys, names, texts, self.why_captions):
            picture = result.pictures["occlusion"] if key == "occlusion" else result.pictures["why"][name]
            self.why_labels[key].setPixmap(QPixmap.fromImage(picture))
            caption.setText(text)
        if result.lookalikes is not None:
            found = ", ".join(f"{int(d)} ({s:.2f})" for d, s in zip(result.lookalikes.labels, result.lookalikes.similarity))
            self.lookalike_label.setText(f"Look-alikes (nearest training digits, cosine): {found}")
        else:
            self.lookalike_label.setText(self.indexer.note)
        for k, thumb in enumerate(self.lookalike_thumbs):
            pictures = result.lookalike_pictures
            thumb.setVisible(k < len(pictures))
            if k < len(pictures):
                thumb.setPixmap(QPixmap.fromImage(pictures[k]))

    @Slot(str)
    def _on_neighbours(self, model_path: str) -> None:
        """The index came: show the look-alikes of the drawing on screen."""
        if self._running and model_path == self._model_path and self.why_check.isChecked() and self._image is not None:
            self._request()

    @Slot(str)
    def _on_index_note(self, text: str) -> None:
        if self.result is None or self.result.lookalikes is None:
            self.lookalike_label.setText(text)

    @Slot(str, int)
    def _on_error(self, message: str, generation: int) -> None:
        if self._running and generation == self._generation:
            self.message.setText(message)

    def _on_conv1_hover(self, channel: int, row: int, col: int) -> None:
        if self.result is None or self._explainer is None:
            return
        self.arithmetic = self.result.explainer.conv1_arithmetic(self.result.image, channel, row, col)
        self.arithmetic_panel.setText(arithmetic_text(channel, row, col, self.arithmetic))
