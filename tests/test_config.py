"""The training-settings spec: one source for the config's fields, the CLI's options and the checks."""

from __future__ import annotations

import dataclasses

import pytest

from digitpad.cli import build_parser
from digitpad.errors import ConfigError
from digitpad.ml.config import SETTINGS, TrainConfig, fine_tune_settings


def test_the_config_has_one_field_per_setting_with_the_specs_default() -> None:
    assert [f.name for f in dataclasses.fields(TrainConfig)] == [s.name for s in SETTINGS]
    config = TrainConfig()
    assert all(getattr(config, s.name) == s.default for s in SETTINGS)
    config.check()


def test_the_cli_offers_every_setting_with_the_specs_default() -> None:
    train = build_parser().parse_args(["train"])
    assert {s.name: getattr(train, s.name) for s in SETTINGS} == TrainConfig().as_dict()
    assert build_parser().parse_args(["train", "--no-augment", "--epochs", "3"]).epochs == 3


@pytest.mark.parametrize("name", [s.name for s in SETTINGS if s.low is not None and s.kind is int])
def test_each_range_is_enforced(name: str) -> None:
    setting = next(s for s in SETTINGS if s.name == name)
    with pytest.raises(ConfigError, match="whole number"):
        TrainConfig(**{name: int(setting.high) + 1}).check()


def test_the_one_fine_tune_rule() -> None:
    tuned = fine_tune_settings(TrainConfig(limit=100))
    assert (tuned.epochs, tuned.learning_rate, tuned.augment, tuned.elastic, tuned.limit) == (1, 1e-4, True, 34.0, 100)
    mine = fine_tune_settings(TrainConfig(epochs=4, learning_rate=5e-4))
    assert (mine.epochs, mine.learning_rate, mine.augment) == (4, 5e-4, True)


def test_settings_that_fight_over_the_learning_rate_are_refused_in_one_line() -> None:
    from digitpad.errors import ConfigError
    from digitpad.ml.config import TrainConfig

    with pytest.raises(ConfigError, match="reduce LR and LR decay"):
        TrainConfig(reduce_lr=2, lr_decay=0.9).check()
    with pytest.raises(ConfigError, match="^early stop needs validation images"):
        TrainConfig(early_stopping=2, validation=0).check()
    TrainConfig(reduce_lr=2).check()  # alone, fine
