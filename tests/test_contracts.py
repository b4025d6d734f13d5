"""The real classes and the tests' fakes are held to the same Protocols in digitpad.contracts.

A fake whose signature drifts from the real class (a parameter renamed, added,
dropped or given another default) fails here, so GUI tests cannot certify an
interface the real app does not have.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from digitpad import contracts
from digitpad.ml.inference import Predictor
from digitpad.ml.session import KerasTrainer


def _members(protocol: type) -> list[str]:
    return [name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")]


def _shape(function: Any) -> list[tuple[str, Any, Any]]:
    """Parameter names, kinds and defaults (annotations are left out: they are strings here)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def _fakes() -> dict[str, list[type]]:
    conftest = importlib.import_module("tests.ui.conftest")
    fake_trainer = importlib.import_module("tests.ui.fake_trainer")
    return {"Predictor": [conftest.FakePredictor, fake_trainer.FakeModelPredictor],
            "Trainer": [fake_trainer.FakeTrainer]}


def _implementations() -> list[tuple[type, type]]:
    pairs: list[tuple[type, type]] = [(contracts.Predictor, Predictor), (contracts.Trainer, KerasTrainer)]
    try:
        from digitpad.ml.numpy_predictor import NumpyPredictor
    except ImportError:
        pass
    else:
        pairs.append((contracts.Predictor, NumpyPredictor))
    fakes = _fakes()
    for protocol in (contracts.Predictor, contracts.Trainer):
        pairs += [(protocol, fake) for fake in fakes[protocol.__name__]]
    return pairs


@pytest.mark.parametrize("protocol, cls", _implementations(), ids=lambda x: x.__name__)
def test_each_class_has_the_protocols_signatures(protocol: type, cls: type) -> None:
    methods = _members(protocol)
    assert methods, protocol
    for name in methods:
        assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
        assert _shape(getattr(cls, name)) == _shape(getattr(protocol, name)), f"{cls.__name__}.{name}"


def test_a_drifted_fake_is_caught() -> None:
    class Drifted:
        def save(self, outcome: Any, path: Any) -> Any:  # no ``name``: the old fake's signature
            return path

    assert _shape(Drifted.save) != _shape(contracts.Trainer.save)


def test_contracts_import_neither_tensorflow_nor_qt() -> None:
    code = ("import sys, digitpad.contracts, digitpad.ml.config; "
            "bad = [m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr



def test_epoch_reports_carry_plain_weight_histograms() -> None:
    """Callers that know nothing of histograms keep working; the ones sent compare as values."""
    plain = contracts.EpochEnd(1, 2, 0.5, 0.9, None, None, 1.0, 10.0)
    assert plain.histograms == ()
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=40)
    histogram = contracts.WeightHistogram("dense", float(edges[0]), float(edges[-1]), tuple(counts.tolist()))
    assert np.allclose(histogram.edges(), edges, rtol=0, atol=1e-12)
    sent = contracts.EpochEnd(1, 2, 0.5, 0.9, None, None, 1.0, 10.0, histograms=(histogram,))
    copy = contracts.EpochEnd(1, 2, 0.5, 0.9, None, None, 1.0, 10.0,
                              histograms=(contracts.WeightHistogram("dense", histogram.low, histogram.high,
                                                                    tuple(counts.tolist())),))
    assert sent == copy and sent != plain
