"""The Train tab: a view of settings, Start/Stop, live charts and table, then the test-set evaluation.

Everything with a lifetime (the run, its ETA, the outcome, saving) lives in
:class:`~digitpad.ui.training_controller.TrainingController`; this widget shows
what its signals say and turns clicks into its calls. A finished run is only
kept in memory: "Use this model" hands its predictor to the Draw tab and
"Save model…" writes it where the user says, never over the bundled model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QInputDialog,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from digitpad.contracts import EpochEnd
from digitpad.ml.config import TrainConfig
from digitpad.ui.class_metrics_view import ClassMetricsView
from digitpad.ui.confusion_view import EvaluationView
from digitpad.ui.fine_tune import FINE_TUNE_TIP, report_text
from digitpad.ui.runs_view import RunsView
from digitpad.ui.settings_form import SettingsForm, auto_precision_text
from digitpad.ui.theme import error_color, is_palette_change
from digitpad.ui.training_charts import TrainingCharts
from digitpad.ui.training_controller import TrainingController
from digitpad.ui.weights_view import WeightsView

EPOCH_COLUMNS = ("epoch", "loss", "acc", "val loss", "val acc", "seconds", "img/s")
MODEL_FILTER = "Keras models (*.keras)"


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


class TrainTab(QWidget):
    """The Train tab's widgets over a TrainingController; emits ``useModelRequested(predictor)``.

    ``trainer``: an object with the ``digitpad.contracts.Trainer`` methods; None
    means the real ``KerasTrainer`` (made in the worker thread, so this module
    does not load TensorFlow).
    """

    useModelRequested = Signal(object)  # a Predictor
    showImageRequested = Signal(object)  # a float32 (28, 28) image to put on the Draw canvas
    runningChanged = Signal(bool)  # True when a run starts, False when its thread has ended
    outcomeReady = Signal(object)  # the Outcome of a finished or stopped run
    modelSaved = Signal(object, object)  # the Path written, the predictor it holds
    useModelPathRequested = Signal(str)  # a run's saved model file, from the Runs view

    def __init__(self, trainer: object | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainTab")
        self.controller = TrainingController(trainer, self)
        self._active_predictor: Any = None  # the Draw tab's model: where fine-tuning starts
        self._build()
        self._connect()
        self._set_running(False)

    # --- construction -------------------------------------------------------------
    def _build(self) -> None:
        self.settings_box = SettingsForm()
        w = self.settings_box.widgets
        self.epochs_spin, self.batch_spin, self.lr_spin = w["epochs"], w["batch_size"], w["learning_rate"]
        self.validation_spin, self.limit_spin, self.seed_spin = w["validation"], w["limit"], w["seed"]
        self.augment_check, self.precision_combo = w["augment"], w["precision"]

        self.start_button = self._button("Start", "startButton", lambda: self.start_training(),
                                         "Train a new model with these settings")
        self.stop_button = self._button("Stop", "stopButton", self.stop_training,
                                        "Stop after the current batch; the test-set evaluation still runs")
        self.fine_tune_button = self._button("Fine-tune on my samples", "fineTuneButton",
                                             lambda: self.start_fine_tune(), FINE_TUNE_TIP)
        self.fine_tune_report = self._label("fineTuneReport", "Fine-tuning result")
        self.fine_tune_report.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setTextVisible(True)
        self.progress.setAccessibleName("Training progress")
        self.progress.setToolTip("Epoch and batch done, with the time left")
        self.status_label = self._label("trainStatus", "Training status")
        self.error_label = self._label("trainError", "Training error")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.active_model_label = self._label("activeModelLabel", "Model the Draw tab uses")
        self.use_button = self._button("Use this model", "useModelButton", self._use_model,
                                       "Make the Draw tab read with the model just trained")
        self.save_button = self._button("Save model…", "saveModelButton", self._save_model,
                                        "Write the trained model to a .keras file, under a name you choose")
        self.model_status = self._label("trainedModelStatus", "Trained model")
        self._apply_palette()

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        model_box = QGroupBox("Trained model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.model_status)
        model_layout.addWidget(self.fine_tune_report)
        model_row = QHBoxLayout()
        model_row.addWidget(self.use_button)
        model_row.addWidget(self.save_button)
        model_layout.addLayout(model_row)
        model_layout.addWidget(self.active_model_label)
        left = QVBoxLayout()
        left.addWidget(self.settings_box)
        left.addLayout(buttons)
        left.addWidget(self.fine_tune_button)
        for widget in (self.progress, self.status_label, self.error_label, model_box):
            left.addWidget(widget)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)  # as wide as its
        # contents need (no fixed pixel width: long combo texts or large fonts would be cut off)

        self.charts = TrainingCharts()
        self.epoch_table = QTableWidget(0, len(EPOCH_COLUMNS))
        self.epoch_table.setObjectName("epochTable")
        self.epoch_table.setAccessibleName("Epoch results")
        self.epoch_table.setToolTip("Loss, accuracy and speed of each full epoch")
        self.epoch_table.setTabKeyNavigation(False)  # Tab leaves the table; arrow keys move between cells
        self.epoch_table.setHorizontalHeaderLabels(list(EPOCH_COLUMNS))
        self.epoch_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.epoch_table.verticalHeader().setVisible(False)
        self.epoch_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        rows = self.epoch_table.verticalHeader().defaultSectionSize()
        self.epoch_table.setMinimumHeight(self.epoch_table.horizontalHeader().sizeHint().height() + 4 * rows)
        live = QSplitter(Qt.Orientation.Vertical)
        live.addWidget(self.charts)
        live.addWidget(self.epoch_table)
        live.setStretchFactor(0, 3)
        live.setStretchFactor(1, 1)
        self.evaluation = EvaluationView()
        self.views = QTabWidget()
        self.views.setObjectName("trainViews")
        self.views.addTab(live, "Live")
        self.views.addTab(self.evaluation, "Evaluation")
        self.per_class = ClassMetricsView()
        self.views.addTab(self.per_class, "Per class")
        self.weights = WeightsView()
        self.views.addTab(self.weights, "Weights")
        self.views.setTabToolTip(self.views.indexOf(self.weights),
                                 "Histograms of each layer's weights after every epoch, while it trains")
        self.runs_view = RunsView()
        self.views.addTab(self.runs_view, "Runs")

        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addWidget(self.views, 1)
        chain = list(self.settings_box.widgets.values()) + [self.start_button, self.stop_button,
                                                            self.fine_tune_button, self.use_button, self.save_button]
        for first, second in zip(chain, chain[1:]):  # top to bottom, then the buttons
            QWidget.setTabOrder(first, second)
        self._show_error("")
        self.set_active_model_info(None)
        self.status_label.setText("Ready to train")

    def _connect(self) -> None:
        c = self.controller
        self.evaluation.imageChosen.connect(self.showImageRequested)
        self.runs_view.useModelRequested.connect(self.useModelPathRequested)
        c.runStarted.connect(self._on_started)
        c.progress.connect(self._on_progress)
        c.status.connect(self.status_label.setText)
        c.batchEnded.connect(self.charts.add_batch)
        c.epochEnded.connect(self._on_epoch)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._show_error)
        c.runningChanged.connect(self._on_running_changed)
        c.saved.connect(self._on_saved)
        c.saveFailed.connect(self._on_save_failed)

    @staticmethod
    def _button(text: str, name: str, slot: Any, tip: str = "") -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.setToolTip(tip or text.replace("&", ""))
        button.clicked.connect(slot)
        return button

    @staticmethod
    def _label(name: str, accessible_name: str = "") -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setAccessibleName(accessible_name)
        label.setWordWrap(True)
        return label

    # --- public API (thin: the controller does the work) ------------------------------
    @property
    def trainer(self) -> Any:
        return self.controller.trainer

    @property
    def batch_interval_s(self) -> float:
        return self.controller.batch_interval_s

    @batch_interval_s.setter
    def batch_interval_s(self, value: float) -> None:
        self.controller.batch_interval_s = value

    @property
    def outcome(self) -> Any:
        """The last finished run's Outcome (None before the first or after a failure)."""
        return self.controller.outcome

    @property
    def current_run(self) -> Any:
        return self.controller.run

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig (not yet checked)."""
        return self.settings_box.config()

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Start a run with ``config`` (default: the settings); False, with a message, if refused."""
        self._show_error("")
        return self.controller.start(config if config is not None else self.config())

    def start_fine_tune(self) -> bool:
        """Fine-tune the Draw tab's model on MNIST plus the user's samples (see ml.config.fine_tune_settings)."""
        from digitpad.personal import SampleStore

        self._show_error("")
        return self.controller.start_fine_tune(self.config(), self._active_predictor, SampleStore())

    def stop_training(self) -> None:
        """Ask the run to stop after the current batch; the evaluation still follows."""
        if self.controller.is_training() and not self.controller.stop_requested():
            self.stop_button.setEnabled(False)
        self.controller.stop()

    def is_training(self) -> bool:
        return self.controller.is_training()

    def shutdown(self) -> None:
        """Stop any training (no evaluation) and wait, within a time limit, for its thread."""
        self.controller.shutdown()

    def set_active_predictor(self, predictor: Any) -> None:
        """The model the Draw tab reads with; "Fine-tune on my samples" starts from it."""
        self._active_predictor = predictor

    def active_predictor(self) -> Any:
        return self._active_predictor

    def set_active_model_info(self, info: Any) -> None:
        """Show which model the Draw tab reads with (a ModelInfo, a string, or None to hide it)."""
        text = "" if info is None else info.describe() if hasattr(info, "describe") else str(info)
        self.active_model_label.setText(f"Draw tab uses: {text}" if text else "")
        self.active_model_label.setVisible(bool(text))

    # --- controller signals ---------------------------------------------------------------
    def _on_started(self, config: TrainConfig, kind: str) -> None:
        self.charts.begin(config.epochs)
        self.epoch_table.setRowCount(0)
        self.evaluation.clear()
        self.per_class.clear()
        self.weights.begin()
        self.views.setCurrentIndex(0)
        self.model_status.setText("")
        self.fine_tune_report.setVisible(False)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(text)

    def _on_epoch(self, end: EpochEnd) -> None:
        self.charts.add_epoch(end)
        self.weights.add_epoch(end)
        row = self.epoch_table.rowCount()
        self.epoch_table.insertRow(row)
        cells = ((end.epoch, str(end.epoch)), (end.loss, _number(end.loss)), (end.accuracy, _percent(end.accuracy)),
                 (end.val_loss, _number(end.val_loss)), (end.val_accuracy, _percent(end.val_accuracy)),
                 (end.seconds, f"{end.seconds:.1f}"), (end.samples_per_second, f"{end.samples_per_second:,.0f}"))
        for column, (value, text) in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.epoch_table.setItem(row, column, item)
        self.epoch_table.scrollToBottom()

    def _on_finished(self, outcome: Any, summary: str) -> None:
        self.evaluation.show_evaluation(outcome.evaluation, outcome.test_images)
        self.per_class.show_confusion(outcome.evaluation.confusion)
        self.views.setCurrentWidget(self.evaluation)
        self.precision_combo.setItemText(0, auto_precision_text(getattr(outcome.result, "policy", None)))
        self.model_status.setText(summary)
        report = getattr(outcome, "fine_tune", None)
        self.fine_tune_report.setText("" if report is None else report_text(report))
        self.fine_tune_report.setVisible(report is not None)
        self.outcomeReady.emit(outcome)
        self.runs_view.refresh()  # the run just recorded

    def _on_running_changed(self, running: bool) -> None:
        self._set_running(running)
        self.runningChanged.emit(running)

    def _set_running(self, running: bool) -> None:
        has_outcome = self.controller.outcome is not None
        self.settings_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.fine_tune_button.setEnabled(not running)
        self.use_button.setEnabled(not running and has_outcome)
        self.save_button.setEnabled(not running and has_outcome and not self.controller.is_saving())

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _apply_palette(self) -> None:
        """Errors in a red that keeps its contrast in the light and the dark theme."""
        palette = self.error_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, error_color())
        self.error_label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event) and hasattr(self, "error_label"):
            self._apply_palette()
        super().changeEvent(event)

    # --- trained model ------------------------------------------------------------
    def _use_model(self) -> None:
        outcome = self.controller.outcome
        if outcome is not None:
            self.useModelRequested.emit(outcome.predictor)
            if getattr(outcome.predictor.info, "path", ""):
                self.model_status.setText("The Draw tab now reads with this model")
                return
            from digitpad.paths import new_model_path  # kept, so the app can come back to it after a restart

            path = new_model_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # the save reports a real problem
            if self.controller.save(path):
                self.save_button.setEnabled(False)
                self.model_status.setText(f"The Draw tab now reads with this model; keeping it in {path}…")

    def _save_model(self) -> None:
        """Ask for a file (default: a new one in the models folder) and a name, then save on a worker thread."""
        outcome = self.controller.outcome
        if outcome is None:
            return
        from digitpad.paths import new_model_path

        default = new_model_path()
        try:
            default.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the dialog still opens; the save reports a real problem
        chosen, _ = QFileDialog.getSaveFileName(self, "Save model — digitpad", str(default), MODEL_FILTER)
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix == "":
            path = path.with_suffix(".keras")
            if path.exists():
                self._show_error(f"{path} already exists; choose another name")
                return
        current = str(outcome.metadata.get("name") or outcome.predictor.info.name)
        name, ok = QInputDialog.getText(self, "Name the model — digitpad", "Name shown in the app:",
                                        QLineEdit.EchoMode.Normal, current)
        if self.controller.save(path, name.strip() if ok and name.strip() else None):
            self._show_error("")
            self.save_button.setEnabled(False)
            self.model_status.setText(f"Saving to {path}…")

    def _on_saved(self, path: Path) -> None:
        self.model_status.setText(f"Saved to {path}")
        if self.controller.outcome is not None:
            self.modelSaved.emit(path, self.controller.outcome.predictor)
        self._set_running(self.controller.is_training())

    def _on_save_failed(self, message: str) -> None:
        self._show_error(message)
        self._set_running(self.controller.is_training())
