"""Temperature scaling, ECE and reliability bins (the bundled model's case is in test_novelty)."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ml import calibration


def _overconfident(n: int, temperature: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels follow softmax(logits / temperature): over-confident by that factor."""
    rng = np.random.default_rng(seed)
    true = rng.normal(0, 2.0, (n, 10))
    probs = calibration.softmax(true).astype(np.float64)
    labels = np.array([rng.choice(10, p=p / p.sum()) for p in probs])
    return true * temperature, labels


def test_softmax_rows_sum_to_one_and_temperature_flattens_them() -> None:
    z = np.array([[2.0, 1.0, 0.0], [1000.0, 0.0, -1000.0]])
    p1, p3 = calibration.softmax(z), calibration.softmax(z, 3.0)
    assert np.allclose(p1.sum(axis=1), 1) and np.all(np.isfinite(p1))
    assert p3[0].max() < p1[0].max()
    assert np.array_equal(p1.argmax(axis=1), p3.argmax(axis=1))


def test_fit_temperature_recovers_a_known_overconfidence() -> None:
    logits, labels = _overconfident(4000, 2.5, seed=0)
    t = calibration.fit_temperature(logits, labels)
    assert 2.2 < t < 2.8
    assert calibration.nll(logits, labels, t) < calibration.nll(logits, labels, 1.0)


def test_temperature_fitted_on_one_half_lowers_ece_on_the_other() -> None:
    logits, labels = _overconfident(6000, 3.0, seed=1)
    t = calibration.fit_temperature(logits[:3000], labels[:3000])
    assert t > 0
    before = calibration.ece(calibration.softmax(logits[3000:]), labels[3000:])
    after = calibration.ece(calibration.softmax(logits[3000:], t), labels[3000:])
    assert after < before / 2 and after < 0.03


def test_ece_of_known_cases() -> None:
    sure_and_right = np.eye(10)[[1, 2, 3]]
    assert calibration.ece(sure_and_right, np.array([1, 2, 3])) == pytest.approx(0.0)
    half_wrong = np.eye(10)[[1, 1, 1, 1]]
    assert calibration.ece(half_wrong, np.array([1, 1, 0, 0])) == pytest.approx(0.5)


def test_reliability_bins_count_everything_once() -> None:
    rng = np.random.default_rng(3)
    probs = calibration.softmax(rng.normal(0, 3, (500, 10)))
    labels = rng.integers(0, 10, 500)
    rel = calibration.reliability(probs, labels)
    assert rel.counts.sum() == 500 and len(rel.edges) == calibration.BINS + 1
    filled = rel.counts > 0
    assert np.all((rel.confidence[filled] >= rel.edges[:-1][filled]) & (rel.confidence[filled] <= rel.edges[1:][filled]))
    assert np.all((rel.accuracy[filled] >= 0) & (rel.accuracy[filled] <= 1))
    text = calibration.text_diagram(rel)
    assert len(text.splitlines()) == 1 + int(filled.sum())


def test_fit_temperature_refuses_mismatched_input() -> None:
    with pytest.raises(ValueError, match="need logits"):
        calibration.fit_temperature(np.zeros((3, 10)), np.zeros(4, int))
