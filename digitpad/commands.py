"""What ``digitpad train``, ``evaluate`` and ``predict`` do (argparse lives in cli.py)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

from digitpad.contracts import describe_epochs
from digitpad.errors import DigitpadError, ModelError


def format_epoch(end: Any) -> str:
    """``epoch 3/10  loss 0.0412  acc 0.9871  val_loss 0.0301  val_acc 0.9912  21.4s  1190 img/s``."""
    parts = [f"epoch {end.epoch}/{end.epochs}", f"loss {end.loss:.4f}", f"acc {end.accuracy:.4f}"]
    if end.val_loss is not None:
        parts += [f"val_loss {end.val_loss:.4f}", f"val_acc {end.val_accuracy:.4f}"]
    parts += [f"{end.seconds:.1f}s", f"{end.samples_per_second:.0f} img/s"]
    return "  ".join(parts)


class _EpochBar:
    """A tqdm bar per epoch when stdout is a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def batch(self, end: Any) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            # No rate field: the bar starts at the first batch's end, so tqdm's rate would be bogus.
            self.bar = tqdm(total=end.steps, desc=f"epoch {end.epoch}/{end.epochs}", leave=False,
                            dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")
        self.bar.n = end.step
        self.bar.set_postfix(loss=f"{end.loss:.4f}", acc=f"{end.accuracy:.4f}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _StopOnInterrupt:
    """Turn the first Ctrl-C into a stop request; a second one aborts."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        print("\nstopping after the current batch (Ctrl-C again to abort)", file=sys.stderr)

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self.event

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _train_config(args: argparse.Namespace) -> Any:
    from digitpad.ml.config import SETTINGS, TrainConfig, fine_tune_settings

    values = {s.name: getattr(args, s.name) for s in SETTINGS}
    values["data"] = str(values["data"]) if values["data"] else None
    config = TrainConfig(**values)
    config = fine_tune_settings(config) if args.personal else config
    config.check()
    return config


def train(args: argparse.Namespace) -> int:
    from digitpad.ml.session import KerasTrainer

    from digitpad.ml import distribute

    config = _train_config(args)
    distribute.prepare(config.strategy)  # multiworker: before anything starts TensorFlow's context
    out = _output_path(args.out)
    trainer = KerasTrainer(name=args.name)
    bar = _EpochBar(sys.stdout.isatty())

    def on_epoch(end: Any) -> None:
        bar.close()
        print(format_epoch(end), flush=True)

    if args.personal:
        from digitpad.ml.inference import load_predictor
        from digitpad.personal import SampleStore

        base = load_predictor(args.model)
        with _StopOnInterrupt() as stop:
            outcome = trainer.fine_tune(config, base, SampleStore(), on_batch=bar.batch,
                                        on_epoch=on_epoch, stop=stop)
    else:
        with _StopOnInterrupt() as stop:
            outcome = trainer.run(config, on_batch=bar.batch, on_epoch=on_epoch, stop=stop)
    bar.close()
    result, evaluation = outcome.result, outcome.evaluation
    print(f"precision {result.policy}, {result.train_images} training images", flush=True)
    print(f"test accuracy {evaluation.accuracy:.4f}  test loss {evaluation.loss:.4f}")
    if outcome.fine_tune is not None:
        print("\n".join(outcome.fine_tune.lines()))
    with distribute.save_target(out) as target:  # a non-chief worker saves into a temporary folder
        trainer.save(outcome, target)
    print(f"trained {describe_epochs(result.epochs_run, result.stop_point)}")
    print(f"saved model to {out}" if distribute.is_chief() else "not saved here: the chief worker saves the model")
    if config.tensorboard:
        from digitpad.ml.tensorboard_log import tensorboard_command

        print(f"TensorBoard: {tensorboard_command(config.tensorboard)}")
    return 0


def _output_path(out: Path | None) -> Path:
    from digitpad.paths import new_model_path

    path = out if out is not None else new_model_path()
    if path.suffix != ".keras":
        raise ModelError(f"{path}: --out must end in .keras")
    if out is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise ModelError(f"{path.parent}: folder does not exist")
    return path


def evaluate(args: argparse.Namespace) -> int:
    from digitpad.ml.data import load_mnist
    from digitpad.ml.evaluation import evaluate as run_evaluation, format_confusion
    from digitpad.ml.inference import load_predictor

    data = load_mnist(args.data, test_only=True)
    predictor = load_predictor(args.model)
    result = run_evaluation(predictor, data.x_test, data.y_test)
    print(f"model {predictor.info.path}")
    print(f"test accuracy {result.accuracy:.4f}")
    print(f"test loss {result.loss:.4f}")
    print(f"errors {int(len(result.misclassified()))} of {len(result.labels)}")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print(format_confusion(result.confusion))
    return 0


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def readable_files(paths: list[Path]) -> tuple[list[Path], int]:
    """The paths that are readable files, before any model loads; each other one is reported once."""
    import os

    good: list[Path] = []
    for path in paths:
        problem = ("no such file" if not path.exists() else "not a file" if not path.is_file()
                   else "not readable" if not os.access(path, os.R_OK) else None)
        if problem:
            print(f"digitpad: error: {path}: {problem}", file=sys.stderr)
        else:
            good.append(path)
    return good, len(paths) - len(good)


def predict(args: argparse.Namespace) -> int:
    import numpy as np

    from digitpad.contracts import blank_prediction
    from digitpad.imaging import load_image, prepare, too_little_ink
    from digitpad.ml.inference import load_predictor
    from digitpad.ml.novelty import prediction

    readable, failed = readable_files(args.images)
    if not readable:
        return 1
    predictor = load_predictor(args.model)
    if args.number:
        from digitpad.number_command import print_numbers

        failed += print_numbers(readable, predictor, args.json,
                                lambda path, exc: print(f"digitpad: error: {exc}", file=sys.stderr))
        return 1 if failed else 0
    records: list[dict[str, Any]] = []
    for chunk in _chunks(readable, 256):
        prepared = []
        for path in chunk:
            try:
                image = load_image(path)
                prepared.append((path, prepare(image), too_little_ink(image)))
            except DigitpadError as exc:
                failed += 1
                print(f"digitpad: error: {exc}", file=sys.stderr)  # the message names the path
        inked = [(n, tiny) for _, n, tiny in prepared if not n.blank]
        rejected, probs = predictor.judge(np.stack([n.image for n, _ in inked])) if inked else ([], [])
        by_id = {id(n): prediction(p, n.image, bool(r) or tiny) for (n, tiny), r, p in zip(inked, rejected, probs)}
        for path, n, _ in prepared:
            result = by_id.get(id(n)) or blank_prediction(n.image)
            if args.json:
                records.append({"path": str(path), **result.to_json()})
            else:
                digit = "-" if result.blank else "?" if result.digit is None else str(result.digit)
                print(f"{path}\t{digit}\t{result.confidence:.3f}", flush=True)
    if args.json:
        json.dump(records, sys.stdout, indent=1)
        print()
    return 1 if failed else 0
