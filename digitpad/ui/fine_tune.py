"""Fine-tuning from the Train tab: its settings, tooltip and the before/after report.

The Train tab's controls default to a full training run (10 epochs, learning
rate 1e-3, no augmentation). Fine-tuning wants gentler defaults (1 epoch, 1e-4,
augmentation on, from :func:`digitpad.ml.session.fine_tune_config`); each of
those three controls still at its training default takes the fine-tuning
default, and one the user changed is used as set. Qt-free and TensorFlow-free.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from digitpad.ml.training import TrainConfig

TUNED = ("epochs", "learning_rate", "augment")  # the settings with their own fine-tuning defaults

FINE_TUNE_TIP = ("Continue training the model the Draw tab uses on MNIST plus the drawings you saved with "
                 "\"Wrong? It's a …\", then compare accuracy before and after.\n"
                 "Uses 1 epoch, learning rate 0.0001 and augmentation unless you changed those settings; "
                 "the other settings apply as shown.")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return bool(a == b)


def fine_tune_settings(config: TrainConfig) -> TrainConfig:
    """``config`` with epochs, learning rate and augmentation at fine-tuning defaults where untouched."""
    from digitpad.ml.session import fine_tune_config  # numpy and dataclasses only

    training, tuning = TrainConfig(), fine_tune_config()
    changes = {name: getattr(tuning, name) for name in TUNED
               if _same(getattr(config, name), getattr(training, name))}
    return dataclasses.replace(config, **changes)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def report_text(report: Any) -> str:
    """A FineTuneReport as a few lines: MNIST and personal held-out accuracy, before → after."""
    lines = [f"MNIST test accuracy: {_percent(report.mnist_before)} → {_percent(report.mnist_after)}"]
    if report.personal_before is not None:
        lines.append(f"Your held-out samples: {_percent(report.personal_before)} → "
                     f"{_percent(report.personal_after)} ({report.personal_test} "
                     f"sample{'s' * (report.personal_test != 1)})")
    else:
        lines.append("Your held-out samples: none yet (save more drawings to measure this)")
    lines.append(f"Trained on {report.personal_train} of your samples")
    return "\n".join(lines)
