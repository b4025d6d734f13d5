"""The Train tab with a scripted fake trainer: controls, live view, evaluation, model buttons, errors."""

from __future__ import annotations

import threading

import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QListWidget,
                               QProgressBar, QPushButton, QSpinBox, QTableWidget)

from digitpad.errors import DataError, ModelError
from digitpad.ml.precision import cpu_has_bf16
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd, EpochEnd
from digitpad.paths import models_dir
from digitpad.ui.training_charts import (BATCH_LOSS, SMOOTHING, TRAIN_ACCURACY, TRAIN_LOSS, VAL_ACCURACY, VAL_LOSS,
                                         LossSmoother, MetricChart, TrainingCharts)
from digitpad.ui.training_worker import BATCH_INTERVAL_S
from digitpad.ui.train_tab import TrainTab
from digitpad.ui.training_controller import clock_text

from tests.ui.conftest import _running

try:
    from .fake_trainer import CONFUSIONS, TEST_IMAGES, FakeTrainer, batch_loss, fake_test_images
except ImportError:  # tests/ui collected as a plain folder
    from fake_trainer import CONFUSIONS, TEST_IMAGES, FakeTrainer, batch_loss, fake_test_images

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def make_tab(qtbot: Any) -> Iterator[Callable[..., TrainTab]]:
    """Build, show and finally shut down Train tabs; every batch reaches the GUI (no throttle)."""
    tabs: list[TrainTab] = []

    def _make(trainer: Any = None, epochs: int = 3) -> TrainTab:
        tab = TrainTab(trainer=trainer if trainer is not None else FakeTrainer())
        tab.batch_interval_s = 0.0
        tab.findChild(QSpinBox, "epochsSpin").setValue(epochs)
        qtbot.addWidget(tab)
        tab.resize(1100, 700)
        tab.show()
        qtbot.waitExposed(tab)
        tabs.append(tab)
        return tab

    yield _make
    for tab in tabs:
        tab.shutdown()
        assert not tab.is_training()


def child(tab: TrainTab, kind: type, name: str) -> Any:
    widget = tab.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name}"
    return widget


def train(qtbot: Any, tab: TrainTab, timeout: int = 10_000) -> None:
    """Press Start and wait until the run's thread has ended."""
    with qtbot.waitSignal(tab.runningChanged, timeout=timeout, check_params_cb=lambda running: not running):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)


def expected_smoothed(trainer: FakeTrainer, epochs: int) -> list[tuple[float, float]]:
    """EMA over the raw scripted per-batch losses, at fractional epochs."""
    points, value = [], None
    for epoch in range(1, epochs + 1):
        for step in range(1, trainer.steps + 1):
            loss = batch_loss(epoch, step, trainer.steps)
            value = loss if value is None else SMOOTHING * value + (1 - SMOOTHING) * loss
            points.append((epoch - 1 + step / trainer.steps, value))
    return points


# --- controls -------------------------------------------------------------------------------
def test_controls_and_defaults(qtbot: Any) -> None:
    tab = TrainTab(trainer=FakeTrainer())
    qtbot.addWidget(tab)
    assert child(tab, QSpinBox, "epochsSpin").value() == 10
    assert child(tab, QSpinBox, "batchSizeSpin").value() == 128
    lr = child(tab, QDoubleSpinBox, "learningRateSpin")
    assert lr.value() == pytest.approx(1e-3)
    assert (lr.minimum(), lr.maximum()) == (pytest.approx(1e-6), 1.0) and lr.decimals() >= 5
    validation = child(tab, QSpinBox, "validationSpin")
    assert validation.value() == 5000 and validation.minimum() == 0
    limit = child(tab, QSpinBox, "limitSpin")
    assert limit.value() == 0 and limit.text() == "all"
    assert child(tab, QSpinBox, "seedSpin").value() == 0
    assert not child(tab, QCheckBox, "augmentCheck").isChecked()
    combo = child(tab, QComboBox, "precisionCombo")
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "float32", "bfloat16"]
    assert combo.itemText(0) == ("auto (bfloat16 here)" if cpu_has_bf16() else "auto (float32 here)")
    assert child(tab, QPushButton, "startButton").isEnabled()
    for name in ("stopButton", "useModelButton", "saveModelButton"):
        assert not child(tab, QPushButton, name).isEnabled(), name
    assert tab.config() == TrainConfig()
    assert tab.batch_interval_s == BATCH_INTERVAL_S
    assert not tab.is_training()


def test_config_follows_the_controls(make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab()
    child(tab, QSpinBox, "batchSizeSpin").setValue(64)
    child(tab, QDoubleSpinBox, "learningRateSpin").setValue(0.0005)
    child(tab, QSpinBox, "validationSpin").setValue(0)
    child(tab, QSpinBox, "limitSpin").setValue(2000)
    child(tab, QSpinBox, "seedSpin").setValue(7)
    child(tab, QCheckBox, "augmentCheck").setChecked(True)
    combo = child(tab, QComboBox, "precisionCombo")
    combo.setCurrentIndex(combo.findData("bfloat16"))
    assert tab.config() == TrainConfig(epochs=3, batch_size=64, learning_rate=0.0005, validation=0, limit=2000,
                                       seed=7, augment=True, precision="bfloat16")


def test_spin_ranges_keep_values_valid(make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab()
    child(tab, QDoubleSpinBox, "learningRateSpin").setValue(float("nan"))
    child(tab, QSpinBox, "batchSizeSpin").setValue(0)
    child(tab, QSpinBox, "epochsSpin").setValue(-3)
    child(tab, QSpinBox, "validationSpin").setValue(-1)
    config = tab.config()
    assert math.isfinite(config.learning_rate) and config.batch_size == 1 and config.epochs == 1
    assert config.validation == 0
    config.check()  # whatever the spins hold is a valid configuration


def test_invalid_config_is_refused_with_a_message(make_tab: Callable[..., TrainTab],
                                                  no_thread_leaks: list[QThread]) -> None:
    trainer = FakeTrainer()
    tab = make_tab(trainer)
    assert not tab.start_training(TrainConfig(learning_rate=float("nan")))
    error = child(tab, QLabel, "trainError")
    assert error.isVisible() and error.text() == "learning rate must be a number in (0, 1], got nan"
    assert not tab.start_training(TrainConfig(batch_size=0))
    assert error.text().startswith("batch size must be a whole number")
    assert not tab.is_training() and trainer.runs == 0 and no_thread_leaks == []
    assert child(tab, QPushButton, "startButton").isEnabled()


# --- a complete run -------------------------------------------------------------------------
def test_run_feeds_charts_table_and_progress_exactly(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    trainer = FakeTrainer(steps=5)
    tab = make_tab(trainer, epochs=3)
    train(qtbot, tab)
    batches, ends = trainer.script(3)
    assert trainer.batches == batches and trainer.epochs == ends  # the whole script was played
    assert trainer.configs == [tab.config()]
    loss, accuracy = tab.charts.loss, tab.charts.accuracy
    assert loss.objectName() == "lossChart" and accuracy.objectName() == "accuracyChart"
    assert loss.series_points(TRAIN_LOSS) == [(e.epoch, e.loss) for e in ends]
    assert loss.series_points(VAL_LOSS) == [(e.epoch, e.val_loss) for e in ends]
    assert accuracy.series_points(TRAIN_ACCURACY) == [(e.epoch, e.accuracy) for e in ends]
    assert accuracy.series_points(VAL_ACCURACY) == [(e.epoch, e.val_accuracy) for e in ends]
    smoothed = loss.series_points(BATCH_LOSS)
    expected = expected_smoothed(trainer, 3)
    assert [x for x, _ in smoothed] == pytest.approx([x for x, _ in expected])
    assert [y for _, y in smoothed] == pytest.approx([y for _, y in expected], rel=1e-9)
    assert loss.series(TRAIN_LOSS).count() == 3 and loss.series(BATCH_LOSS).count() == 15
    low, high = loss.y_range()
    assert low == 0.0 and high >= max(y for _, y in smoothed)

    table = child(tab, QTableWidget, "epochTable")
    assert table.rowCount() == 3
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == [
        "epoch", "loss", "acc", "val loss", "val acc", "seconds", "img/s"]
    for row, end in enumerate(ends):
        values = [table.item(row, c).data(Qt.ItemDataRole.UserRole) for c in range(7)]
        assert values == [end.epoch, end.loss, end.accuracy, end.val_loss, end.val_accuracy, end.seconds,
                          end.samples_per_second]
    assert [table.item(2, c).text() for c in range(7)] == [
        "3", f"{ends[2].loss:.4f}", f"{ends[2].accuracy * 100:.2f} %", "0.1667", "93.00 %", "4.5", "1,003"]

    progress = child(tab, QProgressBar, "trainProgress")
    assert progress.value() == progress.maximum() > 0
    assert progress.format().startswith("done · 3 full epochs · ")
    assert re.fullmatch(r"elapsed \d+:\d\d( · [\d,]+ img/s)?", child(tab, QLabel, "trainStatus").text())
    assert child(tab, QPushButton, "startButton").isEnabled()
    assert not child(tab, QPushButton, "stopButton").isEnabled()
    assert child(tab, QPushButton, "useModelButton").isEnabled()
    assert child(tab, QPushButton, "saveModelButton").isEnabled()
    assert not child(tab, QLabel, "trainError").isVisible()


def test_progress_reports_epoch_batch_and_eta(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(FakeTrainer(steps=5, delay=0.005), epochs=2)
    progress = child(tab, QProgressBar, "trainProgress")
    seen: list[tuple[int, int, str]] = []
    at_epoch_end: list[str] = []
    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)
        assert progress.format() == ("preparing data and model…" if "tensorflow" in sys.modules else "Starting TensorFlow…")
        # connected after the tab's own slots, so they see the bar as the tab left it
        tab.current_run.batchEnded.connect(lambda b: seen.append((progress.value(), progress.maximum(),
                                                                  progress.format())))
        tab.current_run.epochEnded.connect(lambda e: at_epoch_end.append(progress.format()))
    assert at_epoch_end[-1] == "evaluating on the test set…"
    assert [value for value, _, _ in seen] == list(range(1, 11))
    assert {maximum for _, maximum, _ in seen} == {10}
    assert seen[0][2] == "epoch 1/2 · batch 1/5"  # no rate yet, so no ETA
    for (value, _, text) in seen[1:]:
        epoch, step = divmod(value - 1, 5)
        assert re.fullmatch(rf"epoch {epoch + 1}/2 · batch {step + 1}/5 · ETA \d+:\d\d", text), text


def test_controls_are_disabled_while_training(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(FakeTrainer(steps=5, delay=0.02), epochs=2)
    states: list[tuple[bool, ...]] = []
    names = ("epochsSpin", "batchSizeSpin", "validationSpin", "limitSpin", "seedSpin")

    def snapshot(batch: BatchEnd) -> None:
        states.append(tuple(child(tab, QSpinBox, n).isEnabled() for n in names) + (
            child(tab, QDoubleSpinBox, "learningRateSpin").isEnabled(),
            child(tab, QCheckBox, "augmentCheck").isEnabled(),
            child(tab, QComboBox, "precisionCombo").isEnabled(),
            child(tab, QPushButton, "startButton").isEnabled(),
            not child(tab, QPushButton, "stopButton").isEnabled()))

    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)
        assert tab.is_training()
        tab.current_run.batchEnded.connect(snapshot)
    assert states and all(not any(s) for s in states)
    assert child(tab, QSpinBox, "epochsSpin").isEnabled() and child(tab, QPushButton, "startButton").isEnabled()


def test_tab_signals_arrive_in_order(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    with qtbot.waitSignals([tab.runningChanged, tab.outcomeReady, tab.runningChanged], order="strict",
                           timeout=10_000, check_params_cbs=[lambda r: r is True, None, lambda r: r is False]):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)
    assert tab.outcome is trainer.outcomes[0]


# --- stop and shutdown ----------------------------------------------------------------------
def test_stop_ends_the_run_within_one_batch(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    trainer = FakeTrainer(steps=5, delay=0.03)
    tab = make_tab(trainer, epochs=10)
    stop = child(tab, QPushButton, "stopButton")
    at_click: list[int] = []

    def press_stop(batch: BatchEnd) -> None:
        if batch.epoch == 2 and not at_click:
            qtbot.mouseClick(stop, LEFT)
            at_click.append(len(trainer.batches))

    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)
        tab.current_run.batchEnded.connect(press_stop)
    assert at_click and len(trainer.batches) - at_click[0] <= 1
    outcome = tab.outcome
    assert outcome is trainer.outcomes[0] and outcome.result.stopped
    assert len(tab.charts.loss.series_points(TRAIN_LOSS)) == 1  # only epoch 1 completed
    assert child(tab, QProgressBar, "trainProgress").format().startswith("stopped at epoch 2/10 · batch ")
    assert child(tab, QLabel, "testAccuracyLabel").text() == "test accuracy 91.67 %"  # evaluated after Stop
    assert not stop.isEnabled() and child(tab, QPushButton, "useModelButton").isEnabled()


def test_shutdown_during_a_run_returns_promptly(qtbot: Any, make_tab: Callable[..., TrainTab],
                                                no_thread_leaks: list[QThread]) -> None:
    trainer = FakeTrainer(steps=50, delay=0.05)
    tab = make_tab(trainer, epochs=100)
    changes: list[bool] = []
    tab.runningChanged.connect(changes.append)
    with qtbot.waitSignal(tab.charts.loss.series(BATCH_LOSS).pointAdded, timeout=10_000):
        qtbot.mouseClick(child(tab, QPushButton, "startButton"), LEFT)
    tab.shutdown()  # how fast: benchmarks/bench_exit.py
    assert not tab.is_training() and changes == [True, False]
    assert len(no_thread_leaks) == 1 and not _running(no_thread_leaks[0])
    batches = len(trainer.batches)
    qtbot.wait(100)  # anything still queued from the run must not reach the tab
    assert len(trainer.batches) == batches < 5000
    assert tab.outcome is None and changes == [True, False]
    assert child(tab, QPushButton, "startButton").isEnabled()
    tab.shutdown()  # a second call is harmless


def test_shutdown_when_idle_leaves_the_tab_ready(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(FakeTrainer(steps=2), epochs=1)
    status = child(tab, QLabel, "trainStatus").text()
    tab.shutdown()
    assert child(tab, QLabel, "trainStatus").text() == status == "Ready to train"
    assert child(tab, QPushButton, "startButton").isEnabled()
    train(qtbot, tab)  # and it still trains afterwards
    assert tab.outcome is not None


def test_can_train_again_after_shutdown(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    trainer = FakeTrainer(steps=5, delay=0.02)
    tab = make_tab(trainer, epochs=20)
    with qtbot.waitSignal(tab.charts.loss.series(BATCH_LOSS).pointAdded, timeout=10_000):
        tab.start_training()
    tab.shutdown()
    child(tab, QSpinBox, "epochsSpin").setValue(1)
    train(qtbot, tab)
    assert tab.outcome is trainer.outcomes[-1] and len(trainer.configs) == 2
    assert len(tab.charts.loss.series_points(TRAIN_LOSS)) == 1


# --- evaluation, gallery and the Draw canvas --------------------------------------------------
def click_cell(qtbot: Any, table: QTableWidget, row: int, column: int) -> None:
    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())


def test_evaluation_fills_in_and_cells_filter_the_gallery(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(FakeTrainer(steps=2), epochs=1)
    train(qtbot, tab)
    assert child(tab, QLabel, "testAccuracyLabel").text() == "test accuracy 91.67 %"
    matrix = child(tab, QTableWidget, "confusionMatrix")
    counts = np.array([[int(matrix.item(r, c).text()) for c in range(10)] for r in range(10)])
    expected = np.diag(np.full(10, TEST_IMAGES // 10))
    for index, read in CONFUSIONS.items():
        expected[index % 10, index % 10] -= 1
        expected[index % 10, read] += 1
    assert (counts == expected).all()
    assert matrix.item(4, 4).background().color() != matrix.item(4, 9).background().color()
    assert matrix.item(0, 1).background().style() == Qt.BrushStyle.NoBrush  # no errors: no shade

    gallery = child(tab, QListWidget, "misclassifiedGallery")
    assert gallery.isVisible()
    assert sorted(tab.evaluation.gallery.shown_indices()) == sorted(CONFUSIONS)  # all errors first
    click_cell(qtbot, matrix, 4, 9)
    assert tab.evaluation.gallery.shown_indices() == [4, 14, 24]
    assert [gallery.item(i).toolTip().split(" (")[0] for i in range(gallery.count())] == ["true 4 → read 9"] * 3
    assert child(tab, QLabel, "galleryFilterLabel").text() == "true 4 → read 9: 3"
    click_cell(qtbot, matrix, 3, 8)
    assert tab.evaluation.gallery.shown_indices() == [13]
    click_cell(qtbot, matrix, 2, 2)
    assert tab.evaluation.gallery.shown_indices() == [2, 12, 22, 32, 42, 52]
    click_cell(qtbot, matrix, 0, 5)
    assert gallery.count() == 0
    qtbot.mouseClick(child(tab, QPushButton, "showAllErrorsButton"), LEFT)
    assert gallery.count() == len(CONFUSIONS)


def test_clicking_a_gallery_image_sends_it_to_the_canvas(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(FakeTrainer(steps=2), epochs=1)
    train(qtbot, tab)
    click_cell(qtbot, child(tab, QTableWidget, "confusionMatrix"), 7, 1)
    gallery = child(tab, QListWidget, "misclassifiedGallery")
    assert gallery.count() == 1
    rect = gallery.visualItemRect(gallery.item(0))
    with qtbot.waitSignal(tab.showImageRequested, timeout=2000) as blocker:
        qtbot.mouseClick(gallery.viewport(), LEFT, pos=rect.center())
    image = blocker.args[0]
    assert isinstance(image, np.ndarray) and image.dtype == np.float32 and image.shape == (28, 28)
    np.testing.assert_array_equal(image, fake_test_images()[7].astype(np.float32) / 255.0)
    assert 0.0 <= image.min() and image.max() == 1.0
    gallery.setCurrentRow(0)
    with qtbot.waitSignal(tab.showImageRequested, timeout=2000):
        qtbot.keyClick(gallery, Qt.Key.Key_Return)


# --- the trained model --------------------------------------------------------------------------
def test_use_this_model_emits_the_predictor(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    train(qtbot, tab)
    with qtbot.waitSignal(tab.useModelRequested, timeout=2000) as blocker:
        qtbot.mouseClick(child(tab, QPushButton, "useModelButton"), LEFT)
    assert blocker.args[0] is trainer.outcomes[0].predictor
    assert "Draw tab now reads with this model" in child(tab, QLabel, "trainedModelStatus").text()


def test_active_model_line(make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab()
    label = child(tab, QLabel, "activeModelLabel")
    assert not label.isVisible()
    from digitpad.contracts import ModelInfo

    tab.set_active_model_info(ModelInfo(path="", name="bundled CNN", test_accuracy=0.9921))
    assert label.isVisible() and label.text() == "Draw tab uses: bundled CNN (99.21 % on MNIST test)"
    tab.set_active_model_info("my.keras")
    assert label.text() == "Draw tab uses: my.keras"
    tab.set_active_model_info(None)
    assert not label.isVisible()


def test_save_writes_through_the_trainer(qtbot: Any, make_tab: Callable[..., TrainTab], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    train(qtbot, tab)
    asked: list[str] = []
    answers = iter([str(tmp_path / "mine.keras"), str(tmp_path / "other"), ""])
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, caption, directory, filter_: (asked.append(directory),
                                                                                  (next(answers), filter_))[1]))
    save = child(tab, QPushButton, "saveModelButton")
    qtbot.mouseClick(save, LEFT)
    default = Path(asked[0])
    assert default.parent == models_dir() and default.parent.is_dir()
    assert re.fullmatch(r"digitpad-\d{8}-\d{6}\.keras", default.name)
    status = child(tab, QLabel, "trainedModelStatus")
    assert not save.isEnabled()  # saving runs on a worker thread; one save at a time
    qtbot.waitUntil(lambda: status.text() == f"Saved to {tmp_path / 'mine.keras'}", timeout=5000)
    assert trainer.saves == [(trainer.outcomes[0], tmp_path / "mine.keras")]
    assert trainer.save_threads[0] != threading.get_ident()  # not the GUI thread
    assert save.isEnabled()
    qtbot.mouseClick(save, LEFT)  # no suffix typed: .keras is added
    qtbot.waitUntil(lambda: len(trainer.saves) == 2, timeout=5000)
    assert trainer.saves[-1][1] == tmp_path / "other.keras"
    qtbot.waitUntil(save.isEnabled, timeout=5000)
    qtbot.mouseClick(save, LEFT)  # cancelled
    assert len(trainer.saves) == 2
    assert not any(models_dir().iterdir())  # nothing saved unless asked


def test_save_refuses_the_bundled_model(qtbot: Any, make_tab: Callable[..., TrainTab],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from digitpad.resources import bundled_model

    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    train(qtbot, tab)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(bundled_model()), "")))
    qtbot.mouseClick(child(tab, QPushButton, "saveModelButton"), LEFT)
    assert trainer.saves == []
    error = child(tab, QLabel, "trainError")
    assert error.isVisible() and "bundled model" in error.text()


def test_save_failure_is_shown(qtbot: Any, make_tab: Callable[..., TrainTab], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    train(qtbot, tab)

    def refuse(outcome: Any, path: Any, name: Any = None) -> Path:
        raise ModelError(f"{path}: permission denied")

    monkeypatch.setattr(trainer, "save", refuse)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(tmp_path / "m.keras"), "")))
    qtbot.mouseClick(child(tab, QPushButton, "saveModelButton"), LEFT)
    error = child(tab, QLabel, "trainError")
    qtbot.waitUntil(error.isVisible, timeout=5000)
    assert error.text() == f"Could not save the model: {tmp_path / 'm.keras'}: permission denied"


# --- failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("exc", "message"), [
    (DataError("data not found: /nowhere/mnist.npz"), "Training failed: data not found: /nowhere/mnist.npz"),
    (MemoryError(), "Training failed: out of memory — try a smaller batch size or image limit"),
    (ZeroDivisionError("division by zero"), "Training failed: ZeroDivisionError: division by zero"),
])
def test_failure_is_shown_and_the_tab_can_start_again(qtbot: Any, make_tab: Callable[..., TrainTab],
                                                      exc: BaseException, message: str) -> None:
    trainer = FakeTrainer(steps=3, fail=exc, fail_after=2, fail_runs=1)
    tab = make_tab(trainer, epochs=2)
    train(qtbot, tab)
    error = child(tab, QLabel, "trainError")
    assert error.isVisible() and error.text() == message
    assert QApplication.activeModalWidget() is None
    assert child(tab, QProgressBar, "trainProgress").format() == "failed"
    assert tab.outcome is None and not child(tab, QPushButton, "useModelButton").isEnabled()
    assert child(tab, QPushButton, "startButton").isEnabled()
    train(qtbot, tab)  # the second run succeeds
    assert not error.isVisible()
    assert tab.outcome is trainer.outcomes[0]
    assert len(tab.charts.loss.series_points(TRAIN_LOSS)) == 2


# --- charts on their own -----------------------------------------------------------------------
def test_smoother_recovers_skipped_batches_from_running_means() -> None:
    losses = [2.0, 1.0, 0.9, 0.6, 0.5]
    means = [sum(losses[:k]) / k for k in range(1, 6)]
    smoother = LossSmoother(0.5)
    assert smoother.add(BatchEnd(1, 2, 2, 5, means[1], 0.5)) == pytest.approx(1.5)  # mean of batches 1-2
    # batches 3-5 (mean 2/3) folded in as three batches: weight of the past 0.5 ** 3
    assert smoother.add(BatchEnd(1, 2, 5, 5, means[4], 0.5)) == pytest.approx(0.125 * 1.5 + 0.875 * (2.0 / 3))
    assert smoother.add(BatchEnd(1, 2, 5, 5, means[4], 0.5)) is None  # repeated report
    assert smoother.add(BatchEnd(2, 2, 1, 5, float("nan"), 0.5)) is None  # diverged: skipped
    value = smoother.value
    assert smoother.add(BatchEnd(2, 2, 2, 5, 0.4, 0.5)) == pytest.approx(0.25 * value + 0.75 * 0.4)


def test_chart_skips_missing_values_and_grows_its_axes(qtbot: Any) -> None:
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.begin(4)
    assert charts.loss.epochs() == 4
    charts.add_epoch(EpochEnd(1, 4, 0.8, 0.7, None, None, 1.0, 100.0))  # no validation set
    charts.add_epoch(EpochEnd(2, 4, float("nan"), 0.75, None, None, 1.0, 100.0))
    assert charts.loss.series_points(TRAIN_LOSS) == [(1, 0.8)]
    assert charts.loss.series_points(VAL_LOSS) == []
    assert charts.accuracy.series_points(TRAIN_ACCURACY) == [(1, 0.7), (2, 0.75)]
    low, high = charts.accuracy.y_range()
    assert low < 0.7 and high == 1.0
    assert charts.loss.y_range()[0] == 0.0 and charts.loss.y_range()[1] > 0.8
    charts.begin(2)
    assert all(charts.loss.series_points(n) == [] for n in charts.loss.series_names())
    assert charts.loss.series(TRAIN_LOSS).count() == 0 and charts.loss.epochs() == 2


def test_metric_chart_extends_x_for_late_points(qtbot: Any) -> None:
    chart = MetricChart("t", "y")
    qtbot.addWidget(chart)
    chart.add_series("s", Qt.GlobalColor.red)
    chart.set_epochs(2)
    chart.append("s", 3.5, 0.3)
    assert chart.epochs() == 4 and chart.series_points("s") == [(3.5, 0.3)]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (83.4, "1:23"), (3725, "1:02:05")])
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


# --- inside the main window ------------------------------------------------------------------
def test_closing_the_window_while_training_stops_it(qtbot: Any, settings: Any, fake_predictor: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    no_thread_leaks: list[QThread]) -> None:
    from PySide6.QtWidgets import QMessageBox

    from digitpad.ui.main_window import MainWindow

    trainer = FakeTrainer(steps=50, delay=0.05)
    window = MainWindow(predictor=fake_predictor, settings=settings, trainer=trainer)
    qtbot.addWidget(window)
    window.show()
    tab = window.train_tab
    tab.findChild(QSpinBox, "epochsSpin").setValue(100)
    with qtbot.waitSignal(tab.charts.loss.series(BATCH_LOSS).pointAdded, timeout=10_000):
        tab.start_training()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    assert window.close()  # how fast: benchmarks/bench_exit.py
    assert not tab.is_training()
    training = [t for t in no_thread_leaks if t.objectName() == "digitpad-training"]
    assert len(training) == 1 and not _running(training[0])


def test_per_class_view_follows_the_confusion_matrix(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    """Issue #16 item 4: per-class recall and precision beside the confusion matrix."""
    trainer = FakeTrainer(steps=2)
    tab = make_tab(trainer, epochs=1)
    train(qtbot, tab)
    table = tab.findChild(QTableWidget, "classMetricsTable")
    assert table.rowCount() == 10
    rows = {int(table.item(r, 0).text()): r for r in range(10)}
    # the fake misreads test images 4, 14, 24 (fours) as 9: 3 of the 6 fours are wrong
    assert table.item(rows[4], 2).text() == "50.00 %"  # recall of 4
    assert table.item(rows[9], 3).text() == f"{6 / 9 * 100:.2f} %"  # precision of 9: 6 right of 9 read
    table.sortItems(2)  # by recall, numerically: the fours come first
    assert int(table.item(0, 0).text()) == 4
