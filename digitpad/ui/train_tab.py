"""The Train tab: settings, Start/Stop, live charts and table, then the test-set evaluation.

Training runs in a :class:`~digitpad.ui.training_worker.TrainingRun` thread, so
the window (and the Draw tab's predictions) stay responsive. A finished run is
only kept in memory: "Use this model" hands its predictor to the Draw tab and
"Save model…" writes it where the user says, never over the bundled model.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from digitpad.errors import ConfigError
from digitpad.ml.precision import cpu_has_bf16
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.ui.confusion_view import EvaluationView
from digitpad.ml.config import fine_tune_settings
from digitpad.ui.fine_tune import FINE_TUNE_TIP, report_text
from digitpad.ui.theme import error_color, is_palette_change
from digitpad.ui.training_charts import TrainingCharts
from digitpad.ui.training_worker import BATCH_INTERVAL_S, TrainingRun, failure_message

EPOCH_COLUMNS = ("epoch", "loss", "acc", "val loss", "val acc", "seconds", "img/s")
SHUTDOWN_TIMEOUT_MS = 60_000  # a stop ends within one batch, then the test set is evaluated
MODEL_FILTER = "Keras models (*.keras)"

log = logging.getLogger(__name__)
_abandoned: list[TrainingRun] = []  # runs whose thread outlived shutdown's wait: never delete those


def clock_text(seconds: float) -> str:
    """``83`` -> ``1:23``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


class TrainTab(QWidget):
    """Trains the CNN in a worker thread; emits ``useModelRequested(predictor)``.

    ``trainer``: an object with ``run(config, on_batch, on_epoch, stop)`` and
    ``save(outcome, path)``; None means the real ``KerasTrainer`` (imported
    only when needed, so this module does not load TensorFlow).
    """

    useModelRequested = Signal(object)  # a digitpad.ml.inference.Predictor-like object
    showImageRequested = Signal(object)  # a float32 (28, 28) image to put on the Draw canvas
    runningChanged = Signal(bool)  # True when a run starts, False when its thread has ended
    outcomeReady = Signal(object)  # the Outcome of a finished or stopped run

    def __init__(self, trainer: object | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainTab")
        self.trainer = trainer
        self.batch_interval_s = BATCH_INTERVAL_S  # tests set 0 to see every batch
        self._run: TrainingRun | None = None
        self._outcome: Any = None
        self._active_predictor: Any = None  # the Draw tab's model: where fine-tuning starts
        self._run_kind = "Training"  # or "Fine-tuning": how failures are worded
        self._last_batch: BatchEnd | None = None
        self._t_start = 0.0
        self._first_batch: tuple[float, int] | None = None  # (time, batches done) at the first report
        self._build()
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._update_status)
        app = QCoreApplication.instance()
        if app is not None:  # safety net if the window forgets to call shutdown()
            app.aboutToQuit.connect(self.shutdown)
        self._set_running(False)

    # --- construction -------------------------------------------------------------
    def _build(self) -> None:
        self.epochs_spin = self._spin("epochsSpin", 1, 1000, 10, "Passes over the training images")
        self.batch_spin = self._spin("batchSizeSpin", 1, 65536, 128, "Images per Adam step")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setObjectName("learningRateSpin")
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-5, 1.0)
        self.lr_spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.lr_spin.setValue(1e-3)
        self.lr_spin.setToolTip("Adam's learning rate")
        self.validation_spin = self._spin("validationSpin", 0, 59_000, 5000,
                                          "Training images held out to validate each epoch (0: none)")
        self.limit_spin = self._spin("limitSpin", 0, 60_000, 0, "Train on at most this many images")
        self.limit_spin.setSpecialValueText("all")
        self.seed_spin = self._spin("seedSpin", 0, 2**31 - 1, 0, "Random seed: same seed, same run")
        self.augment_check = QCheckBox("rotate, zoom, shift")
        self.augment_check.setObjectName("augmentCheck")
        self.augment_check.setToolTip("Randomly rotate, zoom and shift the training images each epoch")
        self.precision_combo = QComboBox()
        self.precision_combo.setObjectName("precisionCombo")
        for text, value in ((self._auto_text(), "auto"), ("float32", "float32"), ("bfloat16 (mixed)", "bfloat16")):
            self.precision_combo.addItem(text, value)
        self.precision_combo.setToolTip("Numeric mode; auto picks bfloat16 where the hardware computes it natively")

        self.settings_box = QGroupBox("Settings")
        form = QFormLayout(self.settings_box)
        settings = (("E&pochs", self.epochs_spin), ("Ba&tch size", self.batch_spin),
                    ("&Learning rate", self.lr_spin), ("&Validation images", self.validation_spin),
                    ("Image l&imit", self.limit_spin), ("See&d", self.seed_spin),
                    ("Au&gment", self.augment_check), ("P&recision", self.precision_combo))
        for label, widget in settings:  # "&": Alt+letter focuses the field (File/Edit/Model/Help keep F/E/M/H)
            form.addRow(label, widget)
            widget.setAccessibleName(label.replace("&", ""))
        self.augment_check.setAccessibleName("Augment: rotate, zoom, shift")

        self.start_button = self._button("Start", "startButton", lambda: self.start_training(),
                                         "Train a new model with these settings")
        self.stop_button = self._button("Stop", "stopButton", self.stop_training,
                                        "Stop after the current batch; the test-set evaluation still runs")
        self.fine_tune_button = self._button("Fine-tune on my samples", "fineTuneButton",
                                             lambda: self.start_fine_tune(), FINE_TUNE_TIP)
        self.fine_tune_report = self._label("fineTuneReport", "Fine-tuning result")
        self.fine_tune_report.setVisible(False)
        self.outcomeReady.connect(self._show_fine_tune_report)
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
                                        "Write the trained model to a .keras file")
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
        self.epoch_table.setToolTip("Loss, accuracy and speed of each finished epoch")
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
        self.evaluation.imageChosen.connect(self.showImageRequested)
        self.views = QTabWidget()
        self.views.setObjectName("trainViews")
        self.views.addTab(live, "Live")
        self.views.addTab(self.evaluation, "Evaluation")

        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addWidget(self.views, 1)
        chain = [widget for _, widget in settings] + [self.start_button, self.stop_button, self.fine_tune_button,
                                                       self.use_button, self.save_button]
        for first, second in zip(chain, chain[1:]):  # top to bottom, then the buttons
            QWidget.setTabOrder(first, second)
        self._show_error("")
        self.set_active_model_info(None)
        self.status_label.setText("Ready to train")

    @staticmethod
    def _spin(name: str, low: int, high: int, value: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setGroupSeparatorShown(high >= 10_000)
        return spin

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

    @staticmethod
    def _auto_text(policy: str | None = None) -> str:
        if policy is not None:
            return f"auto (last run: {'bfloat16' if 'bfloat16' in policy else 'float32'})"
        return "auto (bfloat16 on this CPU)" if cpu_has_bf16() else "auto (float32 here, bfloat16 on a recent GPU)"

    # --- public API ---------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The settings as a TrainConfig (not yet checked)."""
        return TrainConfig(
            epochs=self.epochs_spin.value(), batch_size=self.batch_spin.value(),
            learning_rate=self.lr_spin.value(), validation=self.validation_spin.value(),
            limit=self.limit_spin.value() or None, seed=self.seed_spin.value(),
            augment=self.augment_check.isChecked(), precision=self.precision_combo.currentData())

    def start_training(self, config: TrainConfig | None = None, *, method: str = "run",
                       arguments: dict[str, Any] | None = None) -> bool:
        """Start a run with ``config`` (default: the settings); False, with a message, if refused."""
        if self._run is not None:
            return False
        config = config if config is not None else self.config()
        try:
            config.check()
        except ConfigError as exc:
            self._show_error(failure_message(exc))
            return False
        self._show_error("")
        self._outcome = None
        self._last_batch, self._first_batch = None, None
        self.charts.begin(config.epochs)
        self.epoch_table.setRowCount(0)
        self.evaluation.clear()
        self.views.setCurrentIndex(0)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("preparing data and model…")
        self.model_status.setText("")
        self.fine_tune_report.setVisible(False)
        self._run_kind = "Fine-tuning" if method == "fine_tune" else "Training"
        run = TrainingRun(config, self.trainer, self.batch_interval_s, parent=self, method=method,
                          arguments=arguments)
        run.batchEnded.connect(self._on_batch)
        run.epochEnded.connect(self._on_epoch)
        run.finished.connect(self._on_finished)
        run.failed.connect(self._on_failed)
        run.cancelled.connect(self._on_cancelled)
        run.done.connect(self._on_done)
        self._run = run
        self._t_start = time.monotonic()
        self._set_running(True)
        run.start()
        self.runningChanged.emit(True)
        return True

    def stop_training(self) -> None:
        """Ask the run to stop after the current batch; the evaluation still follows."""
        if self._run is None or self._run.stop_requested():
            return
        self._run.stop()
        self.stop_button.setEnabled(False)
        self.status_label.setText("Stopping after this batch…")

    def is_training(self) -> bool:
        return self._run is not None

    @property
    def current_run(self) -> TrainingRun | None:
        return self._run

    @property
    def outcome(self) -> Any:
        """The last finished run's Outcome (None before the first or after a failure)."""
        return self._outcome

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> None:
        """Stop any training and wait for its thread; called when the window closes."""
        run = self._run
        if run is None:
            return
        run.abort()  # no evaluation: the user is leaving
        ended = run.wait(timeout_ms)
        run.discard()  # signals still queued for it are dropped
        if not ended:
            log.warning("training thread still running %d ms after stop; leaving it", timeout_ms)
            run.setParent(None)
            _abandoned.append(run)
        self._forget_run(delete=ended)
        self.status_label.setText("Training stopped")

    def set_active_predictor(self, predictor: Any) -> None:
        """The model the Draw tab reads with; "Fine-tune on my samples" starts from it."""
        self._active_predictor = predictor

    def active_predictor(self) -> Any:
        return self._active_predictor

    def start_fine_tune(self) -> bool:
        """Fine-tune the Draw tab's model on MNIST plus the user's samples, in the worker thread.

        Settings: see :func:`digitpad.ml.config.fine_tune_settings`. With no samples the
        trainer's DataError ("no personal samples yet…") appears in the error line.
        """
        if self._run is not None:
            return False
        if self._active_predictor is None:
            self._show_error("No model is loaded yet: wait for the Draw tab's model, then fine-tune it")
            return False
        from digitpad.personal import SampleStore

        return self.start_training(fine_tune_settings(self.config()), method="fine_tune",
                                   arguments={"base": self._active_predictor, "store": SampleStore()})

    def _show_fine_tune_report(self, outcome: Any) -> None:
        report = getattr(outcome, "fine_tune", None)
        self.fine_tune_report.setText("" if report is None else report_text(report))
        self.fine_tune_report.setVisible(report is not None)

    def set_active_model_info(self, info: Any) -> None:
        """Show which model the Draw tab reads with (a ModelInfo, a string, or None to hide it).

        The window calls this whenever the active model changes, so the line never goes stale.
        """
        text = "" if info is None else info.describe() if hasattr(info, "describe") else str(info)
        self.active_model_label.setText(f"Draw tab uses: {text}" if text else "")
        self.active_model_label.setVisible(bool(text))

    # --- run signals (GUI thread) ---------------------------------------------------
    def _on_batch(self, batch: BatchEnd) -> None:
        self._last_batch = batch
        done = (batch.epoch - 1) * batch.steps + batch.step
        now = time.monotonic()
        if self._first_batch is None:
            self._first_batch = (now, done)
        total = batch.epochs * batch.steps
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        eta = self._eta(done, total, now)
        self.progress.setFormat(f"epoch {batch.epoch}/{batch.epochs} · batch {batch.step}/{batch.steps}"
                                + (f" · ETA {clock_text(eta)}" if eta is not None else ""))
        self.charts.add_batch(batch)

    def _eta(self, done: int, total: int, now: float) -> float | None:
        if self._first_batch is None:
            return None
        t0, done0 = self._first_batch
        return (now - t0) / (done - done0) * (total - done) if done > done0 else None

    def _on_epoch(self, end: EpochEnd) -> None:
        self.charts.add_epoch(end)
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
        if end.epoch >= end.epochs:
            self.progress.setFormat("evaluating on the test set…")

    def _on_finished(self, outcome: Any) -> None:
        self._outcome = outcome
        result, evaluation = outcome.result, outcome.evaluation
        self.evaluation.show_evaluation(evaluation, outcome.test_images)
        self.views.setCurrentWidget(self.evaluation)
        self.precision_combo.setItemText(0, self._auto_text(getattr(result, "policy", None)))
        last = self._last_batch
        elapsed = clock_text(time.monotonic() - self._t_start)
        epochs = len(result.history)
        if result.stopped and last is not None:
            self.progress.setFormat(f"stopped at epoch {last.epoch}/{last.epochs} · batch {last.step}/{last.steps}")
        elif not result.stopped:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat(f"done · {epochs} epoch{'s' * (epochs != 1)} · {elapsed}")
        else:
            self.progress.setFormat("stopped before the first batch")
        how = "stopped" if result.stopped else "finished"
        self.model_status.setText(f"Run {how} after {epochs} full epoch{'s' * (epochs != 1)} · "
                                  f"test accuracy {evaluation.accuracy * 100:.2f} % · not saved yet")
        self.outcomeReady.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._show_error(f"{self._run_kind} failed: {message}")
        self.progress.setFormat("failed")

    def _on_cancelled(self) -> None:
        self.progress.setFormat("cancelled")

    def _on_done(self) -> None:
        if self.sender() is self._run:
            self._forget_run()

    def _forget_run(self, delete: bool = True) -> None:
        run, self._run = self._run, None
        if run is not None and delete:
            run.deleteLater()  # not now: we may be inside one of its signals
        self._update_status()
        self._set_running(False)
        self.runningChanged.emit(False)

    # --- state and status ---------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.settings_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.fine_tune_button.setEnabled(not running)
        self.use_button.setEnabled(not running and self._outcome is not None)
        self.save_button.setEnabled(not running and self._outcome is not None)
        if running:
            self._clock.start()
        else:
            self._clock.stop()

    def _update_status(self) -> None:
        if self._run is None and self._last_batch is None:
            return
        now = time.monotonic()
        parts = [f"elapsed {clock_text(now - self._t_start)}"]
        batch, first = self._last_batch, self._first_batch
        if batch is not None and first is not None and now > first[0]:
            done = (batch.epoch - 1) * batch.steps + batch.step
            rate = (done - first[1]) * self._current_batch_size() / (now - first[0])
            if rate > 0:
                parts.append(f"{rate:,.0f} img/s")
        if self._run is not None and self._run.stop_requested():
            parts.append("stopping…")
        self.status_label.setText(" · ".join(parts))

    def _current_batch_size(self) -> int:
        run = self._run
        return run.config.batch_size if run is not None else self.batch_spin.value()

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
        if self._outcome is not None:
            self.useModelRequested.emit(self._outcome.predictor)
            self.model_status.setText("The Draw tab now reads with this model (not saved yet)")

    def _saver(self) -> Any:
        if self.trainer is not None:
            return self.trainer
        from digitpad.ml.session import KerasTrainer  # no TensorFlow import until save itself

        return KerasTrainer()

    def _save_model(self) -> None:
        """Ask for a file (default: a new one in the models folder) and write the model there."""
        if self._outcome is None:
            return
        from digitpad.paths import new_model_path

        default = new_model_path()
        try:
            default.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the dialog still opens; the save reports a real problem
        chosen, _ = QFileDialog.getSaveFileName(self, "Save model", str(default), MODEL_FILTER)
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix == "":
            path = path.with_suffix(".keras")
            if path.exists():
                self._show_error(f"{path} already exists; choose another name")
                return
        if _is_bundled_model(path):
            self._show_error("That is the bundled model; training never overwrites it. Choose another file.")
            return
        try:
            saved = self._saver().save(self._outcome, path)
        except Exception as exc:  # noqa: BLE001 - report any save failure in the tab
            self._show_error(f"Could not save the model: {failure_message(exc)}")
            return
        self._show_error("")
        self.model_status.setText(f"Saved to {saved if saved is not None else path}")


def _is_bundled_model(path: Path) -> bool:
    from digitpad.resources import bundled_model

    try:
        bundled = bundled_model()
    except FileNotFoundError:
        return False
    return path.resolve() == bundled.resolve() or (path.exists() and bundled.exists() and path.samefile(bundled))

