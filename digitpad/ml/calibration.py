"""Confidence that means what it says: temperature scaling, ECE and reliability bins.

A network trained with cross-entropy is often over-confident. Temperature
scaling (Guo et al., 2017) divides the logits by one number T > 0 fitted on
validation data by minimising the negative log-likelihood; it changes no
prediction, only how sure each one is. The expected calibration error (ECE)
is the gap between confidence and accuracy, averaged over confidence bins
weighted by how many predictions fall in each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 15  # equal-width confidence bins, as in Guo et al.
T_RANGE = (0.05, 20.0)  # temperatures searched


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` in float64-stable form, as float32."""
    z = np.asarray(logits, np.float64) / float(temperature)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels at ``temperature``."""
    z = np.asarray(logits, np.float64) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(z)), np.asarray(labels, int)]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the NLL of ``labels`` (golden-section search on log T).

    The NLL is convex in 1/T, so the search on a bracketing interval finds the optimum.
    """
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, int)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError(f"need logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}")
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


@dataclass(frozen=True)
class Reliability:
    """Per-bin counts, mean confidence and accuracy (NaN where a bin is empty)."""

    edges: np.ndarray  # (BINS + 1,)
    counts: np.ndarray  # (BINS,) int
    confidence: np.ndarray  # (BINS,)
    accuracy: np.ndarray  # (BINS,)

    @property
    def ece(self) -> float:
        total = int(self.counts.sum())
        if total == 0:
            return 0.0
        filled = self.counts > 0
        gaps = np.abs(self.confidence[filled] - self.accuracy[filled])
        return float(np.sum(gaps * self.counts[filled]) / total)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    """Bin predictions by top probability; each bin's mean confidence and accuracy."""
    probs = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, int)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=bins) / counts
        acc = np.bincount(which, weights=correct.astype(float), minlength=bins) / counts
    return Reliability(edges, counts, conf, acc)


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error of top-1 predictions, 0-1."""
    return reliability(probabilities, labels, bins).ece


def text_diagram(rel: Reliability, width: int = 40) -> str:
    """A reliability diagram as text: one line per non-empty bin."""
    lines = [f"{'confidence':>13}  {'n':>6}  {'conf':>6}  {'acc':>6}  accuracy bar (| = confidence)"]
    for i in range(len(rel.counts)):
        if rel.counts[i] == 0:
            continue
        bar = [" "] * (width + 1)
        filled = int(round(rel.accuracy[i] * width))
        bar[:filled] = "#" * filled
        bar[int(round(rel.confidence[i] * width))] = "|"
        lines.append(f"{rel.edges[i]:5.2f}-{rel.edges[i + 1]:4.2f}  {rel.counts[i]:6d}  "
                     f"{rel.confidence[i]:6.3f}  {rel.accuracy[i]:6.3f}  {''.join(bar)}")
    return "\n".join(lines)
