"""The plain types and Protocols that the ML core and the UI speak to each other.

Nothing here imports TensorFlow, Keras or Qt: the GUI, the CLI and the tests'
fakes all use these, and the real classes in ``digitpad.ml`` implement the
Protocols (``tests/test_contracts.py`` holds both sides to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

UNSURE_BELOW = 0.6  # a top probability under this reads as "not sure: a or b?"


@dataclass(frozen=True)
class ModelInfo:
    """What the app shows about the active model."""

    path: str
    name: str
    test_accuracy: float | None = None
    date: str | None = None
    bundled: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        acc = f"{self.test_accuracy * 100:.2f} % on MNIST test" if self.test_accuracy is not None else "accuracy unknown"
        return f"{self.name} ({acc})"


@dataclass(frozen=True)
class Prediction:
    """One classified image. ``digit`` is None when the image is blank or not a digit."""

    digit: int | None
    confidence: float
    probabilities: np.ndarray  # (10,) float32, sums to 1 (all zeros when blank)
    blank: bool
    image: np.ndarray  # (28, 28) float32, what the model saw
    not_a_digit: bool = False

    @property
    def ranked(self) -> list[int]:
        """Digits from most to least likely."""
        return [int(i) for i in np.argsort(-self.probabilities, kind="stable")]

    @property
    def unsure(self) -> bool:
        return not self.blank and not self.not_a_digit and self.confidence < UNSURE_BELOW

    def to_json(self) -> dict[str, Any]:
        return {
            "digit": self.digit,
            "confidence": round(float(self.confidence), 6),
            "probabilities": [round(float(p), 6) for p in self.probabilities],
            "blank": self.blank,
            "not_a_digit": self.not_a_digit,
        }


def blank_prediction(image: np.ndarray | None = None) -> Prediction:
    img = np.zeros((28, 28), np.float32) if image is None else image
    return Prediction(None, 0.0, np.zeros(10, np.float32), True, img)


def from_probabilities(probs: np.ndarray, image: np.ndarray) -> Prediction:
    probs = np.asarray(probs, dtype=np.float32)
    digit = int(np.argmax(probs))
    return Prediction(digit, float(probs[digit]), probs, False, image)


@dataclass(frozen=True)
class BatchEnd:
    """Progress after one training batch."""

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps: int
    loss: float  # running mean over the epoch so far
    accuracy: float


@dataclass(frozen=True)
class WeightHistogram:
    """One layer's kernel values after an epoch: ``counts`` in equal bins from ``low`` to ``high``.

    Plain ints and floats (no arrays), so an EpochEnd that carries some still
    compares with ``==`` and crosses threads as an immutable value.
    """

    layer: str  # the Keras layer's name, e.g. "conv1"
    low: float  # left edge of the first bin (NaN when the layer has no finite value)
    high: float  # right edge of the last bin
    counts: tuple[int, ...]

    def edges(self) -> np.ndarray:
        """The ``len(counts) + 1`` bin edges, as ``np.histogram`` returns them."""
        return np.linspace(self.low, self.high, len(self.counts) + 1)


@dataclass(frozen=True)
class EpochEnd:
    """Metrics after one full epoch; ``histograms`` of the layers' kernels where the trainer adds them."""

    epoch: int  # 1-based
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    samples_per_second: float
    histograms: tuple[WeightHistogram, ...] = ()


@dataclass(frozen=True)
class StopPoint:
    """Where a stopped run stopped: after batch ``batch`` of ``batches`` in epoch ``epoch``."""

    epoch: int  # 1-based epoch that was running
    batch: int  # batches done in that epoch
    batches: int  # batches per epoch

    @property
    def partial(self) -> bool:
        """True when the stop fell inside an epoch rather than at its end."""
        return 0 < self.batch < self.batches

    def to_json(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch, "batches": self.batches}


def describe_epochs(full_epochs: int, stop: StopPoint | None) -> str:
    """'3 full epochs', or '0 full epochs (stopped at batch 127/157)': one wording everywhere."""
    text = f"{full_epochs} full epoch{'' if full_epochs == 1 else 's'}"
    if stop is not None and stop.partial:
        text += f" (stopped at batch {stop.batch}/{stop.batches})"
    return text


BatchHook = Callable[[BatchEnd], None]
EpochHook = Callable[[EpochEnd], None]


@runtime_checkable
class StopRequest(Protocol):
    """A stop flag: ``is_set()`` is polled after each batch; ``aborted`` skips evaluation."""

    aborted: bool

    def is_set(self) -> bool: ...


@runtime_checkable
class Predictor(Protocol):
    """Reads digits with one loaded model."""

    info: ModelInfo

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray: ...

    def predict(self, source: Any) -> Prediction: ...

    def predict_many(self, sources: Sequence[Any] | Iterable[Any]) -> list[Prediction]: ...

    def predict_prepared(self, image: np.ndarray) -> Prediction: ...

    def predict_prepared_many(self, images: np.ndarray) -> list[Prediction]: ...


@runtime_checkable
class Trainer(Protocol):
    """Trains (or fine-tunes) a model and saves the outcome; the Train tab drives one."""

    def run(self, config: Any, on_batch: BatchHook | None = None, on_epoch: EpochHook | None = None,
            stop: Any = None, initial_model: Any = None,
            extra: tuple[np.ndarray, np.ndarray] | None = None) -> Any: ...

    def fine_tune(self, config: Any, base: Any, store: Any, on_batch: BatchHook | None = None,
                  on_epoch: EpochHook | None = None, stop: Any = None) -> Any: ...

    def save(self, outcome: Any, path: str | Path, name: str | None = None) -> Path: ...
