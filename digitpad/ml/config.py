"""Training settings: one spec per setting, and the config built from it.

Each :class:`Setting` carries its default, range or choices and help text. The
CLI's arguments (``digitpad.cli``), the Train tab's widgets
(``digitpad.ui.settings_form``) and :meth:`TrainConfig.check` are all made from
``SETTINGS``, so a default or a limit is written exactly once. Qt-free and
TensorFlow-free.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitpad.errors import ConfigError
from digitpad.ml.precision import PRECISIONS

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class Setting:
    """One training setting: its type, default, limits and the words shown for it."""

    name: str  # TrainConfig field
    kind: type  # int, float, bool or str
    default: Any
    label: str  # the Train tab's label, "&" marks the Alt key
    help: str  # one sentence, for --help and the tooltip
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (shown as "off"/"all"; 0 in a spin box)
    low_open: bool = False  # ``low`` itself is not allowed (a learning rate of 0)
    gui: bool = True  # shown in the Train tab's settings form
    fine_tune: Any = None  # the fine-tuning default, where it differs (None: same as training)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def words(self) -> str:
        return self.label.replace("&", "").lower()

    def check(self, value: Any) -> None:
        """Raise ConfigError with one line when ``value`` is not allowed."""
        if value is None and self.optional:
            return
        if self.kind is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"{self.words} must be true or false, got {value!r}")
        elif self.choices:
            if value not in self.choices:
                raise ConfigError(f"{self.words} must be one of {', '.join(self.choices)}, got {value!r}")
        elif self.kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not self.low <= value <= self.high:
                raise ConfigError(f"{self.words} must be a whole number from {self.low:g} to {self.high:g}, "
                                  f"got {value}")
        elif self.kind is float:
            ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) \
                and math.isfinite(value) and (self.low < value if self.low_open else self.low <= value) \
                and value <= self.high
            if not ok:
                bracket = "(" if self.low_open else "["
                raise ConfigError(f"{self.words} must be a number in {bracket}{self.low:g}, {self.high:g}], "
                                  f"got {value}")
        elif not isinstance(value, str) or not value:
            raise ConfigError(f"{self.words} must be a non-empty text, got {value!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting("epochs", int, 10, "E&pochs", "passes over the training images", 1, 1000, fine_tune=1),
    Setting("batch_size", int, 128, "Ba&tch size", "images per Adam step", 1, 65536),
    Setting("learning_rate", float, 1e-3, "&Learning rate", "Adam's learning rate", 0.0, 1.0,
            low_open=True, fine_tune=1e-4),
    Setting("lr_decay", float, 1.0, "LR &decay", "multiply the learning rate by this after every epoch "
            "(1 = constant)", 0.0, 1.0, low_open=True),
    Setting("validation", int, 5000, "&Validation images", "training images held out to validate each "
            "epoch (0: none)", 0, 59_000),
    Setting("limit", int, None, "Image l&imit", "train on at most this many images (quick runs)", 1, 60_000,
            optional=True),
    Setting("seed", int, 0, "See&d", "random seed: same seed, same run", 0, 2**31 - 1),
    Setting("augment", bool, False, "Au&gment", "randomly rotate, zoom and shift the training images",
            fine_tune=True),
    Setting("elastic", float, 0.0, "&Elastic", "with augment: elastic-distortion strength "
            "(Simard et al. 2003; 0 = off, 34 is typical)", 0.0, 100.0,
            fine_tune=34.0),  # the bundled model's: fine-tuning it without them cost 0.6 pt of MNIST
    Setting("precision", str, "auto", "P&recision", "numeric mode; auto picks mixed bfloat16 where the "
            "hardware has it", choices=PRECISIONS),
    Setting("early_stopping", int, 0, "Early &stop", "stop when validation loss has not improved for this "
            "many epochs, keeping the best weights (0 = off)", 0, 1000),
    Setting("reduce_lr", int, 0, "Reduce L&R", "halve the learning rate when validation loss has not "
            "improved for this many epochs (0 = off)", 0, 1000),
    Setting("strategy", str, "default", "Strategy", "tf.distribute strategy: mirrored = all local GPUs "
            "(or CPUs); multiworker = the machines listed in TF_CONFIG", choices=STRATEGIES, gui=False),
    Setting("data", str, None, "Data", "MNIST .npz (Keras format) or a folder of IDX files (default: bundled)",
            optional=True, gui=False),
    Setting("checkpoint", str, None, "Checkpoint", "keep the best model by validation loss in this .keras file",
            optional=True, gui=False),
    Setting("csv_log", str, None, "CSV log", "write per-epoch metrics to this CSV file", optional=True,
            gui=False),
    Setting("tensorboard", str, None, "TensorBoard", "write TensorBoard logs into this folder", optional=True,
            gui=False),
)

BY_NAME = {s.name: s for s in SETTINGS}
TUNED = tuple(s.name for s in SETTINGS if s.fine_tune is not None)


def _default(name: str) -> Any:
    return BY_NAME[name].default


@dataclass
class TrainConfig:
    """Everything that decides a training run; one field per entry of ``SETTINGS``."""

    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    learning_rate: float = _default("learning_rate")
    lr_decay: float = _default("lr_decay")
    validation: int = _default("validation")
    limit: int | None = _default("limit")
    seed: int = _default("seed")
    augment: bool = _default("augment")
    elastic: float = _default("elastic")
    precision: str = _default("precision")
    early_stopping: int = _default("early_stopping")
    reduce_lr: int = _default("reduce_lr")
    strategy: str = _default("strategy")
    data: str | None = _default("data")
    checkpoint: str | None = _default("checkpoint")
    csv_log: str | None = _default("csv_log")
    tensorboard: str | None = _default("tensorboard")

    def check(self) -> None:
        """Refuse absurd values with one clear message."""
        for setting in SETTINGS:
            setting.check(getattr(self, setting.name))
        needs_validation = [BY_NAME[n].words for n in ("early_stopping", "reduce_lr", "checkpoint")
                            if getattr(self, n)]
        if needs_validation and self.validation == 0:
            verb = "needs" if len(needs_validation) == 1 else "need"
            raise ConfigError(f"{' and '.join(needs_validation)} {verb} validation images (validation is 0)")
        if self.reduce_lr and self.lr_decay < 1.0:  # Keras cannot set the rate of a schedule
            raise ConfigError("reduce LR and LR decay both change the learning rate: "
                              "set one of them off (reduce LR 0 or LR decay 1)")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def fine_tune_settings(config: TrainConfig) -> TrainConfig:
    """The one fine-tuning rule, for the CLI and the Train tab alike.

    Each of epochs, learning rate and augmentation that is still at its
    training default takes its gentler fine-tuning default (1 epoch, 1e-4,
    augmentation on, elastic distortions 34 as the bundled model was trained);
    a value the person changed is used as set.
    """
    changes = {name: BY_NAME[name].fine_tune for name in TUNED
               if _same(getattr(config, name), BY_NAME[name].default)}
    return dataclasses.replace(config, **changes)


def fine_tune_text() -> str:
    """The rule in words, with the values from the spec (for the tooltip and --help)."""
    parts = [_value_words(BY_NAME[name], BY_NAME[name].fine_tune) for name in TUNED]
    return f"uses {', '.join(parts[:-1])} and {parts[-1]} unless you changed those settings"


def _value_words(setting: Setting, value: Any) -> str:
    if setting.kind is bool:
        return f"{setting.words} {'on' if value else 'off'}"
    if setting.kind is int:
        return f"{value} {setting.words[:-1] if value == 1 and setting.words.endswith('s') else setting.words}"
    return f"{setting.words} {value:g}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return bool(a == b)
