"""One complete training run as the app and the CLI use it: train, evaluate, wrap, save."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from digitpad.ml.evaluation import Evaluation
from digitpad.ml.training import BatchHook, EpochHook, TrainConfig, TrainResult


@dataclass
class Outcome:
    """A finished (or stopped) run: model, test evaluation and the test images for galleries."""

    result: TrainResult
    evaluation: Evaluation
    predictor: Any  # digitpad.ml.inference.Predictor
    test_images: np.ndarray  # uint8 (N, 28, 28), aligned with evaluation.labels
    metadata: dict[str, Any] = field(default_factory=dict)


class KerasTrainer:
    """Trains the real CNN on MNIST; the GUI's fake trainers mimic this interface."""

    def __init__(self, name: str = "digitpad CNN") -> None:
        self.name = name

    def run(self, config: TrainConfig, on_batch: BatchHook | None = None,
            on_epoch: EpochHook | None = None, stop: Any = None,
            initial_model: Any = None) -> Outcome:
        """Train with ``config``, then evaluate on the MNIST test set."""
        from digitpad.ml import training
        from digitpad.ml.data import load_mnist
        from digitpad.ml.evaluation import evaluate
        from digitpad.ml.inference import ModelInfo, Predictor
        from digitpad.ml.storage import build_metadata

        config.check()
        data = load_mnist(config.data)
        result = training.train(config, on_batch=on_batch, on_epoch=on_epoch, stop=stop,
                                data=data, initial_model=initial_model)
        scratch = Predictor(result.model, ModelInfo(path="", name=self.name))
        evaluation = evaluate(scratch, data.x_test, data.y_test)
        metadata = build_metadata(result, evaluation, name=self.name)
        info = ModelInfo(path="", name=self.name, test_accuracy=evaluation.accuracy,
                         date=metadata["date"], metadata=metadata)
        scratch.info = info
        return Outcome(result, evaluation, scratch, data.x_test, metadata)

    def save(self, outcome: Outcome, path: str | Path) -> Path:
        """Write the model and its metadata atomically; returns the path."""
        from digitpad.ml.storage import save_model

        return save_model(outcome.result.model, path, outcome.metadata)
