"""Fine-tuning from the Train tab: its tooltip and the before/after report.

Which settings fine-tuning uses is decided by one rule for the CLI and the GUI,
:func:`digitpad.ml.config.fine_tune_settings`. Qt-free and TensorFlow-free.
"""

from __future__ import annotations

from typing import Any

from digitpad.ml.config import fine_tune_text

FINE_TUNE_TIP = ("Continue training the model the Draw tab uses on MNIST plus the drawings you saved with "
                 "\"Wrong? It's a …\", then compare accuracy before and after.\n"
                 f"Fine-tuning {fine_tune_text()}; the other settings apply as shown.")


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
