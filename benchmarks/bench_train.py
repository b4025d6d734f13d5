"""Training throughput: plain Keras ``fit`` in float32 vs digitpad's auto mode (and via the GUI worker).

Each run trains the same CNN on the same 55,000 images for the same epochs and
reports two speeds and its test accuracy:
- images/s over epochs 2..N: wall time from the last batch of epoch 1 to the
  last batch, so per-epoch costs count (epoch 1 holds one-time tracing);
- images/s of the median step: the training kernels alone, no per-epoch costs.
Run: ``python benchmarks/bench_train.py [--epochs 3] [--no-gui]``.

``--overhead [--limit 10000] [--epochs 3] [--rounds 1]`` instead trains one
config twice per round in one process: bare ``training.train`` against the
KerasTrainer path with everything on (run history, TensorBoard with weight
and gradient histograms, early stopping, reduce-LR, best checkpoint, CSV log
and the Weights page's histograms), and prints both speeds and the overhead:
over epochs 2..N (per-epoch costs) and over the whole ``train`` call (one-time
costs too: the TensorBoard graph, tracing the histogram function, writing the
checkpoint at the end). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BATCH = 128


class Clock:
    """Batch-end times per epoch; turns them into the two speeds."""

    def __init__(self) -> None:
        self.epochs: list[list[float]] = []

    def new_epoch(self) -> None:
        self.epochs.append([])

    def batch_end(self) -> None:
        self.epochs[-1].append(time.perf_counter())

    def speeds(self, images_per_epoch: int) -> dict[str, float]:
        first, rest = self.epochs[0], [e for e in self.epochs[1:] if e]
        after = {"images_per_s": 0.0}
        if rest:
            after["images_per_s"] = images_per_epoch * len(rest) / (rest[-1][-1] - first[-1])
        steps = np.concatenate([np.diff(e) for e in self.epochs if len(e) > 1])
        after["step_images_per_s"] = BATCH / float(np.median(steps))
        return after


def plain_keras_fit(epochs: int) -> dict[str, Any]:
    """The baseline a tutorial would write: numpy arrays into ``model.fit``, float32, Keras' Adam."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.data import load_mnist, split, to_model_input
    from digitpad.ml.model import build_model

    keras = load_keras()
    keras.utils.set_random_seed(0)
    data = load_mnist()
    parts = split(data, 5000)
    model = build_model("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    clock = Clock()

    class Timing(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            clock.new_epoch()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            clock.batch_end()

    model.fit(to_model_input(parts.x_train), parts.y_train, batch_size=BATCH, epochs=epochs,
              verbose=0, callbacks=[Timing()])
    logits = model.predict(to_model_input(data.x_test), batch_size=1024, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == data.y_test))
    return {"mode": "keras fit float32", **clock.speeds(len(parts.x_train)), "test_accuracy": accuracy}


def digitpad_train(epochs: int, precision: str = "auto") -> dict[str, Any]:
    """digitpad's own path: tf.data pipeline, fused Adam and the auto-picked numeric mode."""
    from digitpad.ml.session import KerasTrainer
    from digitpad.ml.config import TrainConfig

    clock = Clock()

    def on_batch(end: Any) -> None:
        if end.step == 1:
            clock.new_epoch()
        clock.batch_end()

    outcome = KerasTrainer().run(TrainConfig(epochs=epochs, precision=precision, validation=5000),
                                 on_batch=on_batch)
    return {"mode": f"digitpad {precision} ({outcome.result.policy})",
            **clock.speeds(outcome.result.train_images), "test_accuracy": outcome.evaluation.accuracy}


def gui_worker_train(epochs: int) -> dict[str, Any]:
    """The same digitpad run driven through the Train tab (worker thread + Qt event loop)."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from digitpad.ml.config import TrainConfig
    from digitpad.ui.train_tab import TrainTab

    QApplication.instance() or QApplication([])
    tab = TrainTab()
    tab.show()  # charts, table and progress bar really repaint, as for a user
    ends: list[Any] = []
    outcome: list[Any] = []
    loop = QEventLoop()
    tab.outcomeReady.connect(outcome.append)
    tab.outcomeReady.connect(loop.quit)
    if not tab.start_training(TrainConfig(epochs=epochs, validation=5000)):
        raise RuntimeError("the Train tab refused to start")
    assert tab.current_run is not None
    tab.current_run.epochEnded.connect(ends.append)
    loop.exec()  # the real event loop, as in the app
    tab.shutdown()
    # Batch signals are throttled for the GUI, so only epoch times are known here:
    # each epoch's seconds from its start to its end, validation included.
    later = ends[1:]
    images = outcome[0].result.train_images
    return {"mode": "digitpad auto via the Train tab",
            "images_per_s": images * len(later) / sum(e.seconds for e in later) if later else 0.0,
            "step_images_per_s": float("nan"), "test_accuracy": outcome[0].evaluation.accuracy}


def main(epochs: int = 3, gui: bool = True) -> list[dict[str, Any]]:
    rows = [plain_keras_fit(epochs), digitpad_train(epochs)]
    if gui:
        rows.append(gui_worker_train(epochs))
    base, base_step = rows[0]["images_per_s"], rows[0]["step_images_per_s"]
    print(f"training, {epochs} epochs of 55,000 images, batch 128; "
          f"images/s over epochs 2-{epochs} (wall) and of the median step")
    print(f"{'mode':34} {'img/s':>6} {'speed-up':>8} {'step img/s':>10} {'speed-up':>8} {'test acc':>8}")
    for row in rows:
        row["speedup"] = row["images_per_s"] / base
        row["step_speedup"] = row["step_images_per_s"] / base_step
        step = (f"{row['step_images_per_s']:10.0f} {row['step_speedup']:7.2f}x"
                if np.isfinite(row["step_images_per_s"]) else f"{'-':>10} {'-':>8}")
        print(f"{row['mode']:34} {row['images_per_s']:6.0f} {row['speedup']:7.2f}x {step} "
              f"{row['test_accuracy'] * 100:7.2f}%")
    return rows


PATIENCE = 2  # early stopping and reduce-LR: on, and unlikely to act within a few epochs


class TimedTrain:
    """Wraps ``digitpad.ml.training.train`` while in use, to time the call that KerasTrainer makes inside."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __enter__(self) -> "TimedTrain":
        from digitpad.ml import training

        self._train = original = training.train

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds.append(time.perf_counter() - t0)

        training.train = timed
        return self

    def __exit__(self, *exc: Any) -> None:
        from digitpad.ml import training

        training.train = self._train


def _batch_clock() -> tuple[Clock, Any]:
    clock = Clock()

    def on_batch(end: Any) -> None:
        if end.step == 1:
            clock.new_epoch()
        clock.batch_end()

    return clock, on_batch


def overhead_bare(config: Any, data: Any) -> dict[str, Any]:
    """``training.train`` alone: digitpad's progress hooks, no callbacks, no history, no histograms."""
    from digitpad.ml import training

    clock, on_batch = _batch_clock()
    t0 = time.perf_counter()
    result = training.train(config, on_batch=on_batch, data=data)
    wall = time.perf_counter() - t0
    return {"mode": "bare train()", **clock.speeds(result.train_images),
            "whole_images_per_s": result.train_images * result.epochs_run / wall, "epochs": result.epochs_run}


def overhead_full(config: Any, folder: Path) -> dict[str, Any]:
    """KerasTrainer.run with the run history, TensorBoard, early stop, reduce-LR, checkpoint, CSV and histograms."""
    import dataclasses

    from digitpad.ml.runs import RunStore
    from digitpad.ml.session import KerasTrainer
    from digitpad.ml.weight_stats import layer_histograms

    folder.mkdir(parents=True, exist_ok=True)
    full = dataclasses.replace(config, tensorboard=str(folder / "tensorboard"), early_stopping=PATIENCE,
                               reduce_lr=PATIENCE, checkpoint=str(folder / "best.keras"),
                               csv_log=str(folder / "log.csv"))
    clock, on_batch = _batch_clock()
    ends: list[Any] = []
    with TimedTrain() as timer:
        outcome = KerasTrainer(runs=RunStore(folder / "runs")).run(full, on_batch=on_batch, on_epoch=ends.append)
    result = outcome.result
    assert all(len(end.histograms) == 4 for end in ends), "the epoch reports lack the weight histograms"
    costs = []
    for _ in range(5):
        t0 = time.perf_counter()
        layer_histograms(result.model)
        costs.append(time.perf_counter() - t0)
    return {"mode": "KerasTrainer, all on", **clock.speeds(result.train_images),
            "whole_images_per_s": result.train_images * result.epochs_run / timer.seconds[0],
            "epochs": result.epochs_run, "histogram_ms": 1000 * statistics.median(costs)}


def overhead(epochs: int = 3, limit: int = 10_000, rounds: int = 1) -> list[dict[str, Any]]:
    """Bare train() vs the full KerasTrainer path, ``rounds`` times in turn; prints the overhead."""
    from digitpad.ml import training
    from digitpad.ml.config import TrainConfig
    from digitpad.ml.data import load_mnist

    data = load_mnist()
    config = TrainConfig(epochs=epochs, limit=limit, validation=5000)
    training.train(TrainConfig(epochs=1, limit=256, validation=256), data=data)  # warm TensorFlow up
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="digitpad-bench-") as tmp:
        for index in range(rounds):
            rows.append(overhead_bare(config, data))
            rows.append(overhead_full(config, Path(tmp) / f"round{index}"))
    print(f"overhead of history, TensorBoard and callbacks: {epochs} epochs of {limit:,} images, batch {BATCH}, "
          f"validation 5,000, {rounds} round(s)")
    print(f"{'mode':24} {'epochs':>6} {'img/s 2-N':>9} {'img/s all':>9} {'step img/s':>10} {'hist ms':>7}")
    for row in rows:
        hist = f"{row['histogram_ms']:7.1f}" if "histogram_ms" in row else f"{'-':>7}"
        print(f"{row['mode']:24} {row['epochs']:6d} {row['images_per_s']:9.0f} {row['whole_images_per_s']:9.0f} "
              f"{row['step_images_per_s']:10.0f} {hist}")
    bare, full = rows[0::2], rows[1::2]

    def cost(key: str) -> float:
        return 100 * (1 - statistics.median(f[key] / b[key] for b, f in zip(bare, full) if b[key] > 0))

    per_epoch_s = limit / statistics.median(r["images_per_s"] for r in full) if full[0]["images_per_s"] else 0.0
    hist_ms = statistics.median(r["histogram_ms"] for r in full)
    print(f"overhead: {cost('images_per_s'):.1f} % over epochs 2-{epochs}, {cost('whole_images_per_s'):.1f} % "
          f"over the whole train() call; the Weights page's histograms: {hist_ms:.0f} ms per epoch"
          + (f" ({100 * hist_ms / 1000 / per_epoch_s:.2f} % of an epoch)" if per_epoch_s else ""))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-gui", action="store_true")
    parser.add_argument("--overhead", action="store_true",
                        help="bare train() vs KerasTrainer with history, TensorBoard and callbacks")
    parser.add_argument("--limit", type=int, default=10_000, help="with --overhead: training images")
    parser.add_argument("--rounds", type=int, default=1, help="with --overhead: bare/full pairs, in turn")
    args = parser.parse_args()
    if args.overhead:
        overhead(args.epochs, args.limit, args.rounds)
    else:
        main(args.epochs, gui=not args.no_gui)
