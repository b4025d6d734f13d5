"""Fixed probe inputs and a model's answers to them, saved so a later load can check itself.

At save time the metadata JSON records the model's own (TensorFlow)
probabilities for a few images made here from a seed; at load time the NumPy
forward pass must give the same numbers to 1e-5, or the model stays on
TensorFlow. The images come from integer hashing and simple geometry (only
+, -, *, / and sqrt, which IEEE 754 rounds the same everywhere), so every
machine and NumPy version builds the same bytes; their sha256 is recorded too.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Callable, Protocol

import numpy as np

VERSION = 1
SEED = 20240613
TOLERANCE = 1e-5  # largest difference allowed in any probability
COUNT = 7  # blank, noise, sparse noise, a bar, a "1", a "0", a "7"


class _Probabilities(Protocol):
    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


def probe_images(seed: int = SEED) -> np.ndarray:
    """The probe inputs, float32 ``(7, 28, 28)`` in [0, 1]."""
    noise = _uniform(seed, 2 * 28 * 28).reshape(2, 28, 28)
    images = np.zeros((COUNT, 28, 28), np.float32)
    images[1] = noise[0]
    images[2] = (noise[1] > 0.9).astype(np.float32)
    images[3, 4:24, 12:16] = 1.0
    images[4] = _strokes([((5.0, 16.0), (23.0, 12.0))], 1.6)
    images[5] = _ring((14.0, 14.0), 5.5, 8.5, 1.5)
    images[6] = _strokes([((6.0, 8.0), (6.0, 20.0)), ((6.0, 20.0), (23.0, 12.0))], 1.4)
    return images


def probe_record(probabilities: Callable[[np.ndarray], Any]) -> dict[str, Any]:
    """What to store in the metadata: the probe's version, seed, sha256 and the model's answers.

    ``probabilities`` maps float32 images ``(N, 28, 28)`` to ``(N, 10)``.
    """
    images = probe_images()
    probs = np.asarray(probabilities(images), np.float32).reshape(COUNT, 10)
    return {
        "version": VERSION,
        "seed": SEED,
        "sha256": _digest(images),
        "probabilities": [[float(p) for p in row] for row in probs],
    }


def probe_matches(cnn: _Probabilities, record: Any, tolerance: float = TOLERANCE) -> bool:
    """True when ``cnn`` answers the recorded probe as the saved model did, to ``tolerance``.

    A record of another version, a malformed one, or one whose images this
    code no longer reproduces is a mismatch: the caller then uses TensorFlow.
    """
    if not isinstance(record, dict) or record.get("version") != VERSION:
        return False
    seed = record.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        return False
    images = probe_images(seed)
    if record.get("sha256") != _digest(images):
        return False
    expected = _matrix(record.get("probabilities"))
    if expected is None:
        return False
    got = np.asarray(cnn.probabilities(images), np.float64)
    return got.shape == expected.shape and bool(np.all(np.abs(got - expected) <= tolerance))


def _matrix(rows: Any) -> np.ndarray | None:
    """``rows`` as a finite (COUNT, 10) float array, or None for anything else."""
    if not isinstance(rows, list) or len(rows) != COUNT:
        return None
    if not all(isinstance(r, list) and len(r) == 10 for r in rows):
        return None
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for r in rows for p in r):
        return None
    matrix = np.array(rows, np.float64)
    return matrix if np.all(np.isfinite(matrix)) else None


def _digest(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images, "<f4").tobytes()).hexdigest()


def _uniform(seed: int, count: int) -> np.ndarray:
    """``count`` floats in [0, 1) from splitmix64: the same stream on every platform."""
    with np.errstate(over="ignore"):
        z = (np.arange(1, count + 1, dtype=np.uint64) + np.uint64(seed)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) / np.float32(2**24)).astype(np.float32)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    return rows, cols


def _strokes(segments: list[tuple[tuple[float, float], tuple[float, float]]], radius: float) -> np.ndarray:
    """Anti-aliased pen strokes of ``radius`` pixels along (row, col) segments."""
    rows, cols = _grid()
    distance = np.full((28, 28), math.inf)
    for (r0, c0), (r1, c1) in segments:
        dr, dc = r1 - r0, c1 - c0
        t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / (dr * dr + dc * dc), 0.0, 1.0)
        distance = np.minimum(distance, np.sqrt((rows - r0 - t * dr) ** 2 + (cols - c0 - t * dc) ** 2))
    return np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def _ring(centre: tuple[float, float], half_width: float, half_height: float, radius: float) -> np.ndarray:
    """An anti-aliased ellipse outline (roughly a pen-drawn "0")."""
    rows, cols = _grid()
    scaled = np.sqrt(((cols - centre[1]) / half_width) ** 2 + ((rows - centre[0]) / half_height) ** 2)
    distance = np.abs(scaled - 1.0) * (half_width + half_height) / 2.0
    return np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)
