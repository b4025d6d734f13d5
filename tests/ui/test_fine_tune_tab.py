"""Fine-tuning from the Train tab: the button, its settings, the before/after report, Use this model."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, QThread
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel, QMessageBox, QPushButton, QSpinBox

from digitpad.ml.session import FineTuneReport
from digitpad.ml.config import TrainConfig
from digitpad.personal import SampleStore, held_out, samples_dir
from digitpad.ml.config import fine_tune_settings
from digitpad.ui.fine_tune import FINE_TUNE_TIP, report_text
from digitpad.ui.main_window import MainWindow
from digitpad.ui.train_tab import TrainTab
from digitpad.ui.training_worker import TrainingWorker
from tests.ui.conftest import FakePredictor, _running

try:
    from .fake_trainer import MNIST_BEFORE, PERSONAL_AFTER, PERSONAL_BEFORE, FakeTrainer
except ImportError:  # tests/ui collected as a plain folder
    from fake_trainer import MNIST_BEFORE, PERSONAL_AFTER, PERSONAL_BEFORE, FakeTrainer

LEFT = Qt.MouseButton.LeftButton
SAMPLES = 30


def add_samples(n: int = SAMPLES) -> list[str]:
    store = SampleStore()
    ids = []
    for i in range(n):
        image = np.zeros((28, 28), np.uint8)
        image[5:23, 8 + i % 12:11 + i % 12] = 255
        ids.append(store.add(image, i % 10).id)
    return ids


@pytest.fixture
def make_tab(qtbot: Any) -> Iterator[Callable[..., TrainTab]]:
    """Train tabs with their controls at the defaults, every batch shown, shut down at the end."""
    tabs: list[TrainTab] = []

    def _make(trainer: Any = "fake", predictor: Any = "fake") -> TrainTab:
        tab = TrainTab(trainer=FakeTrainer() if trainer == "fake" else trainer)
        tab.batch_interval_s = 0.0
        if predictor is not None:
            tab.set_active_predictor(FakePredictor() if predictor == "fake" else predictor)
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


def button(tab: TrainTab) -> QPushButton:
    found = tab.findChild(QPushButton, "fineTuneButton")
    assert found is not None
    return found


def report_label(tab: TrainTab) -> QLabel:
    found = tab.findChild(QLabel, "fineTuneReport")
    assert found is not None
    return found


def fine_tune(qtbot: Any, tab: TrainTab, timeout: int = 10_000) -> None:
    """Press "Fine-tune on my samples" and wait until the run's thread has ended."""
    with qtbot.waitSignal(tab.runningChanged, timeout=timeout, check_params_cb=lambda running: not running):
        qtbot.mouseClick(button(tab), LEFT)


def test_fine_tune_starts_from_the_active_model_with_gentle_defaults(qtbot: Any,
                                                                       make_tab: Callable[..., TrainTab]) -> None:
    ids = add_samples()
    tab = make_tab()
    base = tab.active_predictor()
    assert button(tab).toolTip() == FINE_TUNE_TIP and "1 epoch" in FINE_TUNE_TIP
    tab.findChild(QSpinBox, "batchSizeSpin").setValue(64)  # an untuned setting: used as set
    fine_tune(qtbot, tab)
    trainer = tab.trainer
    assert len(trainer.fine_tunes) == 1
    used_base, store, count = trainer.fine_tunes[0]
    assert used_base is base and store.root == samples_dir() and count == SAMPLES
    config = trainer.configs[0]
    assert (config.epochs, config.learning_rate, config.augment, config.batch_size) == (1, 1e-4, True, 64)
    assert trainer.thread_ids[0] != threading.get_ident()  # ran in the worker thread

    test = held_out(ids)
    lines = report_label(tab).text().splitlines()
    assert report_label(tab).isVisible()
    after = tab.outcome.evaluation.accuracy
    assert lines[0] == f"MNIST test accuracy: {MNIST_BEFORE * 100:.2f} % → {after * 100:.2f} %"
    if test.any():
        assert lines[1] == (f"Your held-out samples: {PERSONAL_BEFORE * 100:.2f} % → {PERSONAL_AFTER * 100:.2f} % "
                            f"({int(test.sum())} sample{'s' * (int(test.sum()) != 1)})")
    else:
        assert lines[1].startswith("Your held-out samples: none yet")
    assert lines[2] == f"Trained on {SAMPLES - int(test.sum())} of your samples"
    assert tab.findChild(QPushButton, "useModelButton").isEnabled()
    assert tab.findChild(QLabel, "trainError").text() == ""


def test_settings_the_user_changed_are_kept(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    add_samples(5)
    tab = make_tab()
    tab.findChild(QSpinBox, "epochsSpin").setValue(2)
    tab.findChild(QDoubleSpinBox, "learningRateSpin").setValue(0.002)
    fine_tune(qtbot, tab)
    config = tab.trainer.configs[0]
    assert (config.epochs, config.learning_rate, config.augment) == (2, 0.002, True)


def test_fine_tune_settings_and_report_text() -> None:
    default = fine_tune_settings(TrainConfig())
    assert (default.epochs, default.learning_rate, default.augment) == (1, 1e-4, True)
    assert default.batch_size == TrainConfig().batch_size
    mine = fine_tune_settings(TrainConfig(epochs=4, learning_rate=5e-4, augment=True, seed=7, limit=1000))
    assert (mine.epochs, mine.learning_rate, mine.augment, mine.seed, mine.limit) == (4, 5e-4, True, 7, 1000)
    report = FineTuneReport(0.99, 0.9875, 0.6, 0.9, 40, 10)
    assert report_text(report).splitlines() == [
        "MNIST test accuracy: 99.00 % → 98.75 %",
        "Your held-out samples: 60.00 % → 90.00 % (10 samples)",
        "Trained on 40 of your samples"]
    lone = FineTuneReport(0.99, 0.98, None, None, 3, 0)
    assert report_text(lone).splitlines()[1] == "Your held-out samples: none yet (save more drawings to measure this)"


def test_no_samples_shows_the_trainers_message(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    tab = make_tab(trainer=None)  # the real KerasTrainer: it refuses before loading MNIST or TensorFlow
    fine_tune(qtbot, tab)
    error = tab.findChild(QLabel, "trainError")
    assert error.isVisible()
    assert error.text() == "Fine-tuning failed: no personal samples yet: correct or label a few drawings first"
    assert tab.outcome is None and not report_label(tab).isVisible()
    assert button(tab).isEnabled() and tab.findChild(QPushButton, "startButton").isEnabled()


def test_no_active_model_is_refused_without_a_thread(make_tab: Callable[..., TrainTab],
                                                      no_thread_leaks: list[QThread]) -> None:
    add_samples(3)
    tab = make_tab(predictor=None)
    assert tab.start_fine_tune() is False
    assert "No model is loaded yet" in tab.findChild(QLabel, "trainError").text()
    assert [t for t in no_thread_leaks if t.objectName() == "digitpad-training"] == []


def test_a_failure_mid_fine_tune_is_worded_as_such(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    add_samples(5)
    tab = make_tab(trainer=FakeTrainer(fail=RuntimeError("disk on fire"), fail_after=2))
    fine_tune(qtbot, tab)
    assert tab.findChild(QLabel, "trainError").text() == "Fine-tuning failed: RuntimeError: disk on fire"
    assert not report_label(tab).isVisible()


def test_a_normal_run_after_fine_tuning_hides_the_report(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    add_samples(5)
    tab = make_tab()
    fine_tune(qtbot, tab)
    assert report_label(tab).isVisible()
    tab.findChild(QSpinBox, "epochsSpin").setValue(1)
    with qtbot.waitSignal(tab.runningChanged, timeout=10_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(tab.findChild(QPushButton, "startButton"), LEFT)
    assert tab.outcome.fine_tune is None and not report_label(tab).isVisible()
    assert tab.trainer.fine_tunes and tab.trainer.runs == 2


def test_buttons_are_disabled_while_fine_tuning(qtbot: Any, make_tab: Callable[..., TrainTab]) -> None:
    add_samples(5)
    tab = make_tab(trainer=FakeTrainer(steps=20, delay=0.02))
    with qtbot.waitSignal(tab.runningChanged, timeout=5000):
        qtbot.mouseClick(button(tab), LEFT)
    assert not button(tab).isEnabled() and not tab.findChild(QPushButton, "startButton").isEnabled()
    assert not tab.findChild(QCheckBox, "augmentCheck").isEnabled()
    assert tab.start_fine_tune() is False  # one run at a time
    tab.stop_training()
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=10_000)
    assert button(tab).isEnabled()


def test_the_window_fine_tunes_its_active_model_and_use_this_model_swaps_it(
        qtbot: Any, show: Any, settings: QSettings) -> None:
    add_samples(8)
    first = FakePredictor(name="first")
    window = show(MainWindow(predictor=first, settings=settings, trainer=FakeTrainer()))
    tab = window.train_tab
    tab.batch_interval_s = 0.0
    assert tab.active_predictor() is first
    window.tabs.setCurrentWidget(tab)
    fine_tune(qtbot, tab)
    assert tab.trainer.fine_tunes[0][0] is first
    qtbot.mouseClick(tab.findChild(QPushButton, "useModelButton"), LEFT)
    tuned = tab.outcome.predictor
    assert window.predictor() is tuned and tab.active_predictor() is tuned
    assert window.status_text().startswith(tuned.info.describe())
    fine_tune(qtbot, tab)  # the next fine-tuning starts from the tuned model
    assert tab.trainer.fine_tunes[1][0] is tuned


def test_closing_the_window_mid_fine_tune_stops_it(qtbot: Any, settings: QSettings, monkeypatch: pytest.MonkeyPatch,
                                                    no_thread_leaks: list[QThread]) -> None:
    add_samples(5)
    trainer = FakeTrainer(steps=50, delay=0.05)
    window = MainWindow(predictor=FakePredictor(), settings=settings, trainer=trainer)
    qtbot.addWidget(window)
    window.show()
    tab = window.train_tab
    tab.findChild(QSpinBox, "epochsSpin").setValue(100)
    with qtbot.waitSignal(tab.runningChanged, timeout=5000):
        assert tab.start_fine_tune()
    qtbot.waitUntil(lambda: len(trainer.batches) >= 2, timeout=30_000)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    assert window.close()  # how fast: benchmarks/bench_exit.py
    assert not tab.is_training() and len(trainer.batches) < 100 * 50
    training = [t for t in no_thread_leaks if t.objectName() == "digitpad-training"]
    assert len(training) == 1 and not _running(training[0])


def test_the_worker_can_call_fine_tune(qtbot: Any) -> None:
    add_samples(4)
    trainer = FakeTrainer(steps=3)
    base = FakePredictor()
    store = SampleStore()
    worker = TrainingWorker(lambda on_batch, on_epoch, stop: trainer.fine_tune(
        TrainConfig(epochs=1), base, store, on_batch=on_batch, on_epoch=on_epoch, stop=stop), 0.0)
    outcomes: list[Any] = []
    worker.finished.connect(outcomes.append)
    worker.run()  # in this thread: the call itself is what is tested here
    assert len(outcomes) == 1 and outcomes[0].fine_tune is not None
    assert trainer.fine_tunes[0][0] is base and trainer.fine_tunes[0][2] == 4
