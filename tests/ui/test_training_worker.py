"""The training worker: signal order, throttling, stop, error messages, no TensorFlow at import."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QThread

from digitpad.errors import ConfigError, DataError
from digitpad.ml.config import TrainConfig
from digitpad.contracts import BatchEnd
from digitpad.errors import one_line
from digitpad.ui.training_worker import BatchThrottle, TrainingRun, TrainingWorker

try:
    from .fake_trainer import FakeTrainer
except ImportError:  # tests/ui collected as a plain folder
    from fake_trainer import FakeTrainer


def job(trainer: Any, config: TrainConfig) -> Any:
    """What the controller hands a worker: train ``config`` with ``trainer`` (None: the real one)."""
    from digitpad.ui.training_worker import default_trainer

    def call(on_batch: Any, on_epoch: Any, stop: Any) -> Any:
        return (trainer or default_trainer()).run(config, on_batch=on_batch, on_epoch=on_epoch, stop=stop)

    return call


def record(worker: Any) -> list[tuple[str, Any]]:
    """Every signal of ``worker`` (or a TrainingRun) as (name, argument), in arrival order."""
    events: list[tuple[str, Any]] = []
    for name in ("started", "batchEnded", "epochEnded", "finished", "failed", "cancelled"):
        getattr(worker, name).connect(lambda *args, n=name: events.append((n, args[0] if args else None)))
    return events


# --- one-line failure messages ------------------------------------------------------
class ResourceExhaustedError(Exception):
    """Same name as TensorFlow's OOM error, which the worker must not import to recognise."""


@pytest.mark.parametrize(("exc", "expected"), [
    (DataError("data not found: /nowhere/mnist.npz"), "data not found: /nowhere/mnist.npz"),
    (ConfigError("batch size must be\n a whole number"), "batch size must be a whole number"),
    (ValueError("bad\n\tthing"), "ValueError: bad thing"),
    (RuntimeError(), "RuntimeError"),
])
def test_one_line_messages(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected


@pytest.mark.parametrize("exc", [MemoryError(), MemoryError("Unable to allocate 3 GiB"),
                                 ResourceExhaustedError("OOM when allocating tensor\nwith shape [128,1024]")])
def test_memory_errors_say_out_of_memory(exc: BaseException) -> None:
    message = one_line(exc)
    assert message.startswith("out of memory")
    assert "\n" not in message


def test_long_messages_are_cut() -> None:
    message = one_line(ValueError("x" * 5000))
    assert len(message) <= 320 and message.endswith("…")


# --- throttle -------------------------------------------------------------------------
def test_throttle_passes_one_batch_per_interval_and_every_epoch_end() -> None:
    now = [0.0]
    throttle = BatchThrottle(0.05, clock=lambda: now[0])
    allowed = []
    for step in range(1, 11):  # one epoch of 10 batches, 20 ms apart
        now[0] = step * 0.02
        allowed.append(throttle.allow(BatchEnd(1, 1, step, 10, 1.0, 0.5)))
    # step 1 (first), then whenever >= 50 ms passed since the last one let through, and step 10 (epoch end)
    assert [s for s, ok in zip(range(1, 11), allowed) if ok] == [1, 4, 7, 10]


def test_zero_interval_passes_everything() -> None:
    throttle = BatchThrottle(0.0, clock=lambda: 1.0)
    assert all(throttle.allow(BatchEnd(1, 1, s, 5, 1.0, 0.5)) for s in range(1, 6))


# --- worker, synchronously ---------------------------------------------------------------
def test_worker_emits_the_script_in_order() -> None:
    trainer = FakeTrainer(steps=4)
    worker = TrainingWorker(job(trainer, TrainConfig(epochs=2)), batch_interval=0.0)
    events = record(worker)
    ended = []
    worker.ended.connect(lambda: ended.append(len(events)))
    worker.run()
    batches, ends = trainer.script(2)
    expected = [("started", None)]
    for epoch in (1, 2):
        expected += [("batchEnded", b) for b in batches if b.epoch == epoch]
        expected.append(("epochEnded", ends[epoch - 1]))
    expected.append(("finished", trainer.outcomes[0]))
    assert events == expected
    assert ended == [len(expected)]  # ended comes last, once


def test_stop_before_start_cancels_without_training() -> None:
    trainer = FakeTrainer()
    worker = TrainingWorker(job(trainer, TrainConfig(epochs=2)))
    events = record(worker)
    worker.stop()
    worker.run()
    assert [name for name, _ in events] == ["started", "cancelled"]
    assert trainer.runs == 0


@pytest.mark.parametrize(("exc", "expected"), [
    (DataError("data not found: /x/mnist.npz"), "data not found: /x/mnist.npz"),
    (MemoryError(), "out of memory — try a smaller batch size or image limit"),
    (KeyError("conv1"), "KeyError: 'conv1'"),
])
def test_worker_turns_exceptions_into_failed(exc: BaseException, expected: str) -> None:
    trainer = FakeTrainer(fail=exc, fail_after=2)
    worker = TrainingWorker(job(trainer, TrainConfig(epochs=1)), batch_interval=0.0)
    events = record(worker)
    ended = []
    worker.ended.connect(lambda: ended.append(True))
    worker.run()  # must not raise
    assert [name for name, _ in events] == ["started", "batchEnded", "batchEnded", "failed"]
    assert events[-1][1] == expected
    assert ended == [True]


def test_worker_uses_keras_trainer_when_none_given(monkeypatch: pytest.MonkeyPatch) -> None:
    import digitpad.ml.session

    made: list[FakeTrainer] = []

    def make(**kwargs: Any) -> FakeTrainer:
        made.append(FakeTrainer(steps=2))
        made[-1].made_with = kwargs  # the app's runs are recorded as the GUI's
        return made[-1]

    monkeypatch.setattr(digitpad.ml.session, "KerasTrainer", make)
    worker = TrainingWorker(job(None, TrainConfig(epochs=1)), batch_interval=0.0)
    events = record(worker)
    worker.run()
    assert len(made) == 1 and made[0].runs == 1 and made[0].made_with == {"source": "gui"}
    assert events[-1] == ("finished", made[0].outcomes[0])


# --- TrainingRun: the worker in its own thread ------------------------------------------------
def test_run_trains_in_another_thread_and_relays_in_order(qtbot: Any) -> None:
    trainer = FakeTrainer(steps=3, delay=0.002)
    run = TrainingRun(job(trainer, TrainConfig(epochs=2)), TrainConfig(epochs=2), batch_interval=0.0)
    threads: list[bool] = []
    run.batchEnded.connect(lambda b: threads.append(threading.current_thread() is threading.main_thread()))
    events = record(run)
    with qtbot.waitSignals([run.started, run.epochEnded, run.epochEnded, run.finished, run.done],
                           order="strict", timeout=10_000):
        run.start()
    assert trainer.thread_ids[0] != threading.get_ident()
    assert threads == [True] * 6  # slots run in the GUI thread
    batches, ends = trainer.script(2)
    assert [a for n, a in events if n == "batchEnded"] == batches
    assert [a for n, a in events if n == "epochEnded"] == ends
    assert run.wait(0)  # the thread has ended


def test_run_throttles_batches_but_keeps_every_epoch(qtbot: Any) -> None:
    trainer = FakeTrainer(steps=200, delay=0.001)
    run = TrainingRun(job(trainer, TrainConfig(epochs=3)), TrainConfig(epochs=3))  # default interval: 50 ms
    events = record(run)
    t0 = time.monotonic()
    with qtbot.waitSignal(run.done, timeout=30_000):
        run.start()
    wall = time.monotonic() - t0
    batches = [a for n, a in events if n == "batchEnded"]
    assert [a.epoch for n, a in events if n == "epochEnded"] == [1, 2, 3]
    assert [(b.epoch, b.step) for b in batches if b.step == b.steps] == [(1, 200), (2, 200), (3, 200)]
    assert len(batches) <= wall / 0.05 + 3 + 1  # <= 20 a second, plus the epoch ends
    assert len(batches) < len(trainer.batches) / 4


def test_run_stops_within_one_batch(qtbot: Any) -> None:
    trainer = FakeTrainer(steps=10, delay=0.02)
    run = TrainingRun(job(trainer, TrainConfig(epochs=5)), TrainConfig(epochs=5), batch_interval=0.0)
    at_stop: list[int] = []

    def stop_now(batch: BatchEnd) -> None:
        if not at_stop:
            run.stop()
            at_stop.append(len(trainer.batches))

    run.batchEnded.connect(stop_now)
    outcomes: list[Any] = []
    run.finished.connect(outcomes.append)
    with qtbot.waitSignal(run.done, timeout=10_000):
        run.start()
    assert len(trainer.batches) - at_stop[0] <= 1
    assert len(trainer.batches) < 50
    assert outcomes and outcomes[0].result.stopped


def test_run_failure_is_relayed_and_thread_ends(qtbot: Any) -> None:
    run = TrainingRun(job(FakeTrainer(fail=DataError("bad file: x.npz")), TrainConfig(epochs=1)), TrainConfig(epochs=1))
    events = record(run)
    with qtbot.waitSignals([run.failed, run.done], order="strict", timeout=10_000):
        run.start()
    assert events == [("started", None), ("failed", "bad file: x.npz")]
    assert run.wait(0)


def test_discarded_run_relays_nothing_more(qtbot: Any, no_thread_leaks: list[QThread]) -> None:
    trainer = FakeTrainer(steps=5, delay=0.01)
    run = TrainingRun(job(trainer, TrainConfig(epochs=1)), TrainConfig(epochs=1), batch_interval=0.0)
    events = record(run)
    done: list[bool] = []
    run.done.connect(lambda: done.append(True))
    run.start()
    run.stop()
    assert run.wait(10_000)
    run.discard()
    qtbot.wait(50)  # deliver whatever was still queued
    assert [n for n, _ in events if n in ("finished", "failed")] == []
    assert done == []
    assert no_thread_leaks == [run.thread]


# --- import hygiene ---------------------------------------------------------------------------
def test_ui_modules_do_not_import_tensorflow() -> None:
    code = ("import sys; import digitpad.ui.train_tab, digitpad.ui.training_worker, "
            "digitpad.ui.training_charts, digitpad.ui.confusion_view; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_abort_is_reported_as_cancelled_not_failed(qtbot) -> None:
    """Closing the app aborts mid-run: the trainer gives up (TrainingAborted) and the run ends quietly."""
    from digitpad.errors import TrainingAborted
    from digitpad.ml.config import TrainConfig
    from digitpad.ui.training_worker import TrainingWorker

    class GivesUp:
        def run(self, config, on_batch=None, on_epoch=None, stop=None):
            worker.abort()  # the window closes while this batch runs
            assert stop.aborted and stop.is_set()
            raise TrainingAborted("training aborted")

    worker = TrainingWorker(job(GivesUp(), TrainConfig()))
    failed: list[str] = []
    finished: list[object] = []
    worker.failed.connect(failed.append)
    worker.finished.connect(finished.append)
    with qtbot.waitSignals([worker.started, worker.cancelled, worker.ended], order="strict", timeout=2000):
        worker.run()
    assert failed == [] and finished == []
