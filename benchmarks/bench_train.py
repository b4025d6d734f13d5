"""Training throughput: plain Keras ``fit`` in float32 vs digitpad's auto mode (and via the GUI worker).

Each run trains the same CNN on the same 55,000 images for the same epochs and
reports two speeds and its test accuracy:
- images/s over epochs 2..N: wall time from the last batch of epoch 1 to the
  last batch, so per-epoch costs count (epoch 1 holds one-time tracing);
- images/s of the median step: the training kernels alone, no per-epoch costs.
Run: ``python benchmarks/bench_train.py [--epochs 3] [--no-gui]``.
"""

from __future__ import annotations

import argparse
import os
import time
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-gui", action="store_true")
    args = parser.parse_args()
    main(args.epochs, gui=not args.no_gui)
