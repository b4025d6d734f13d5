"""Training throughput: plain Keras ``fit`` in float32 vs digitpad's auto mode (and via the GUI worker).

Each run trains the same CNN on the same 55,000 images for the same epochs and
reports steady-state images/s (the last epoch) and MNIST test accuracy.
Run: ``python benchmarks/bench_train.py [--epochs 2] [--no-gui]``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def plain_keras_fit(epochs: int) -> dict[str, Any]:
    """The baseline a tutorial would write: numpy arrays into ``model.fit``, float32."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.data import load_mnist, split, to_model_input
    from digitpad.ml.model import build_model, compile_model

    keras = load_keras()
    keras.utils.set_random_seed(0)
    data = load_mnist()
    parts = split(data, 5000)
    model = compile_model(build_model("float32"))
    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.t0)

    model.fit(to_model_input(parts.x_train), parts.y_train, batch_size=128, epochs=epochs,
              verbose=0, callbacks=[Clock()])
    logits = model.predict(to_model_input(data.x_test), batch_size=1024, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == data.y_test))
    return {"mode": "keras fit float32", "images_per_s": len(parts.x_train) / times[-1],
            "test_accuracy": accuracy}


def digitpad_train(epochs: int, precision: str = "auto") -> dict[str, Any]:
    """digitpad's own path: tf.data pipeline and the auto-picked numeric mode."""
    from digitpad.ml.session import KerasTrainer
    from digitpad.ml.training import TrainConfig

    ends: list[Any] = []
    outcome = KerasTrainer().run(TrainConfig(epochs=epochs, precision=precision, validation=5000),
                                 on_epoch=ends.append)
    return {"mode": f"digitpad {precision} ({outcome.result.policy})",
            "images_per_s": ends[-1].samples_per_second,
            "test_accuracy": outcome.evaluation.accuracy}


def gui_worker_train(epochs: int) -> dict[str, Any]:
    """The same digitpad run driven through the Train tab (worker thread + Qt event loop)."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from digitpad.ml.training import TrainConfig
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
    return {"mode": "digitpad auto via the Train tab", "images_per_s": ends[-1].samples_per_second,
            "test_accuracy": outcome[0].evaluation.accuracy}


def main(epochs: int = 2, gui: bool = True) -> list[dict[str, Any]]:
    rows = [plain_keras_fit(epochs), digitpad_train(epochs)]
    if gui:
        rows.append(gui_worker_train(epochs))
    base = rows[0]["images_per_s"]
    print(f"training, {epochs} epoch(s) of 55,000 images, batch 128")
    print(f"{'mode':38} {'images/s':>9} {'speed-up':>9} {'test acc':>9}")
    for row in rows:
        row["speedup"] = row["images_per_s"] / base
        print(f"{row['mode']:38} {row['images_per_s']:9.0f} {row['speedup']:8.2f}x "
              f"{row['test_accuracy'] * 100:8.2f}%")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-gui", action="store_true")
    args = parser.parse_args()
    main(args.epochs, gui=not args.no_gui)
