"""Train the bundled model: elastic distortions plus rotation/zoom/shift, a decayed schedule, epoch chosen by validation.

Trains ``--epochs`` epochs with seed 0 keeping every epoch's weights, picks the
epoch with the best validation accuracy (then lowest validation loss), and only
then evaluates that one on the MNIST test set and saves it with its metadata.
The learning-rate schedule is per epoch, not per run length, so the epoch-E
weights are those of the same run with ``epochs=E`` (that is what the metadata
records). Run: ``python benchmarks/train_bundled.py [--epochs 22] [--elastic 34]
[--lr-decay 0.85] [--out resources/digitpad-cnn.keras] [--limit N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def best_epoch(history: list[Any]) -> int:
    """1-based epoch with the highest validation accuracy, ties to the lower validation loss."""
    return 1 + max(range(len(history)), key=lambda i: (history[i].val_accuracy, -history[i].val_loss))


def main(epochs: int = 22, elastic: float = 34.0, lr_decay: float = 0.85, out: str = "resources/digitpad-cnn.keras",
         limit: int | None = None) -> float:
    """Train, choose, evaluate and save; return the chosen model's test accuracy."""
    from digitpad.ml.backend import load_keras
    from digitpad.ml.data import load_mnist
    from digitpad.ml.evaluation import evaluate
    from digitpad.ml.inference import load_predictor
    from digitpad.ml.model import build_model
    from digitpad.ml.storage import build_metadata, save_model
    from digitpad.ml.training import TrainConfig, train

    keras = load_keras()
    config = TrainConfig(epochs=epochs, batch_size=128, learning_rate=1e-3, lr_decay=lr_decay, seed=0,
                         augment=True, elastic=elastic, precision="auto", limit=limit)
    kept: list[list[np.ndarray]] = []

    class KeepWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            kept.append([np.array(w, np.float32) for w in self.model.get_weights()])

    start = time.perf_counter()

    def report(e: Any) -> None:
        print(f"epoch {e.epoch}/{e.epochs}  loss {e.loss:.4f}  acc {e.accuracy:.4f}  val_loss {e.val_loss:.4f}  "
              f"val_acc {e.val_accuracy:.4f}  {e.seconds:.0f}s  ({time.perf_counter() - start:.0f}s in all)", flush=True)

    result = train(config, on_epoch=report, callbacks=[KeepWeights()])
    chosen = best_epoch(result.history)
    net = build_model("float32")
    net.set_weights(kept[chosen - 1])
    result = replace(result, model=net, config=replace(config, epochs=chosen),
                     history=[replace(h, epochs=chosen) for h in result.history[:chosen]])
    data = load_mnist()
    with tempfile.TemporaryDirectory() as folder:  # the test set is read once, for the chosen epoch only
        probe = Path(folder) / "chosen.keras"
        save_model(net, probe)
        evaluation = evaluate(load_predictor(probe), data.x_test, data.y_test)
    save_model(net, out, build_metadata(result, evaluation, name="digitpad CNN"))
    print(f"chosen by validation: epoch {chosen} (val_acc {result.history[-1].val_accuracy:.4f}); "
          f"test accuracy {evaluation.accuracy:.4f}; saved {out} ({Path(out).stat().st_size:,} bytes)")
    return evaluation.accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=22)
    parser.add_argument("--elastic", type=float, default=34.0)
    parser.add_argument("--lr-decay", type=float, default=0.85)
    parser.add_argument("--out", default="resources/digitpad-cnn.keras")
    parser.add_argument("--limit", type=int, default=None, help="train on at most this many images (trial runs)")
    args = parser.parse_args()
    main(args.epochs, args.elastic, args.lr_decay, args.out, args.limit)
