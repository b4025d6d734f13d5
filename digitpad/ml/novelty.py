"""Is it a digit at all? A detector on the CNN's penultimate features, plus calibration.

The method is outlier exposure (Hendrycks et al., 2019) with a small head: a
one-hidden-layer perceptron on the model's dense-1024 features that tells
MNIST-style digits from synthetic non-digits (:mod:`digitpad.nondigits`). The model's own
output layer is untouched, so the detector can be refitted on any retrained
model with ``python -m digitpad.ml.reject_fit``. The threshold on its score is
set on held-out digits for a chosen false-rejection rate. The same file holds
the temperature that calibrates the model's probabilities.

A fitted detector lives beside its model as ``<model stem>.reject.npz`` (plain
arrays, read with ``allow_pickle=False``, written atomically). Scoring is two
small matrix products in NumPy: no TensorFlow at inference.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitpad.contracts import Prediction
from digitpad.errors import ModelError
from digitpad.fileio import write_atomic
from digitpad.ml.calibration import softmax

FORMAT = "digitpad-reject-1"
SUFFIX = ".reject.npz"
CLASSES = 10
MAX_BYTES = 64 << 20  # a detector file unpacks to well under 1 MB; refuse anything near this


@dataclass(frozen=True)
class Detector:
    """A "not a digit" head on standardised features, its threshold and a temperature.

    score = relu(((f - mean) / scale) @ hidden_w + hidden_b) @ out_w + out_b,
    the log-odds that a drawing is not a digit.
    """

    mean: np.ndarray  # (D,) feature means used for standardising
    scale: np.ndarray  # (D,) feature scales (> 0)
    hidden_w: np.ndarray  # (D, H)
    hidden_b: np.ndarray  # (H,)
    out_w: np.ndarray  # (H,)
    out_b: float
    threshold: float  # score above this: not a digit
    temperature: float  # logits are divided by this before the softmax (> 0)
    model_sha256: str = ""  # the model file it was fitted for ("" = not recorded)

    def __post_init__(self) -> None:
        d, h = self.mean.shape, self.hidden_b.shape
        if (len(d) != 1 or d[0] == 0 or len(h) != 1 or h[0] == 0 or self.scale.shape != d
                or self.hidden_w.shape != d + h or self.out_w.shape != h):
            raise ValueError(f"detector arrays disagree: mean {self.mean.shape}, scale {self.scale.shape}, "
                             f"hidden_w {self.hidden_w.shape}, hidden_b {h}, out_w {self.out_w.shape}")
        for name in ("out_b", "threshold", "temperature"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} is not finite")
        if not all(np.all(np.isfinite(a)) for a in (self.mean, self.scale, self.hidden_w, self.hidden_b, self.out_w)):
            raise ValueError("arrays hold NaN or infinite values")
        if not np.all(self.scale > 0):
            raise ValueError("feature scales must be > 0")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        # The standardisation folded into the first layer: two matrix products per batch.
        w1 = (self.hidden_w / self.scale[:, None]).astype(np.float32)
        object.__setattr__(self, "_w1", w1)
        object.__setattr__(self, "_b1", (self.hidden_b - (self.mean / self.scale) @ self.hidden_w).astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def score(self, features: np.ndarray) -> np.ndarray:
        """Log-odds that each row of ``features`` ``(N, D)`` is not a digit."""
        f = np.asarray(features, np.float32)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise ValueError(f"features must be (N, {self.dim}), got {f.shape}")
        hidden = np.maximum(f @ self._w1 + self._b1, 0.0)  # type: ignore[attr-defined]
        return (hidden @ self.out_w).astype(np.float64) + self.out_b

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """True where a score says "not a digit"."""
        return np.asarray(scores) > self.threshold

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities ``(N, 10)``."""
        z = np.asarray(logits)
        if z.ndim != 2 or z.shape[1] != CLASSES:
            raise ValueError(f"logits must be (N, {CLASSES}), got {z.shape}")
        return softmax(z, self.temperature)

    def assess(self, features: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(not a digit ``(N,)`` bool, calibrated probabilities ``(N, 10)``) for one batch."""
        if len(features) != len(logits):
            raise ValueError(f"{len(features)} feature rows but {len(logits)} logit rows")
        return self.decide(self.score(features)), self.calibrate(logits)

    # ------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the detector as a plain-array ``.npz``, atomically."""
        path = Path(path)
        buffer = io.BytesIO()
        np.savez(buffer, format=np.array(FORMAT), mean=self.mean.astype(np.float32),
                 scale=self.scale.astype(np.float32), hidden_w=self.hidden_w.astype(np.float32),
                 hidden_b=self.hidden_b.astype(np.float32), out_w=self.out_w.astype(np.float32),
                 scalars=np.array([self.out_b, self.threshold, self.temperature], np.float64),
                 model_sha256=np.array(self.model_sha256))
        try:
            write_atomic(path, buffer.getvalue())
        except OSError as exc:
            raise ModelError(f"{path}: could not save ({exc.strerror or exc})") from None
        return path


_ARRAYS = {"mean": 1, "scale": 1, "hidden_w": 2, "hidden_b": 1, "out_w": 1}  # name: ndim
_KEYS = {"format", "scalars", "model_sha256", *_ARRAYS}


def load(path: str | Path) -> Detector:
    """Read a detector file; any malformed file raises ModelError with one line."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a readable .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    if unpacked > MAX_BYTES:
        raise ModelError(f"{path}: not a digitpad reject file (unpacks to {unpacked:,} bytes)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(_KEYS - set(npz.files))
            if missing:
                raise ModelError(f"{path}: not a digitpad reject file (missing {', '.join(missing)})")
            arrays = {k: npz[k] for k in _KEYS}
    except ModelError:
        raise
    except ValueError as exc:  # a pickled object array, among others
        reason = "holds pickled objects" if "pickle" in str(exc) else str(exc).splitlines()[0]
        raise ModelError(f"{path}: not a digitpad reject file ({reason})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    if arrays["format"].shape != () or str(arrays["format"]) != FORMAT:
        raise ModelError(f"{path}: not a digitpad reject file (format is not {FORMAT})")
    scalars = arrays["scalars"]
    if scalars.shape != (3,) or scalars.dtype.kind != "f":
        raise ModelError(f"{path}: not a digitpad reject file (scalars must be 3 floats)")
    for key, ndim in _ARRAYS.items():
        if arrays[key].dtype.kind != "f" or arrays[key].ndim != ndim:
            raise ModelError(f"{path}: not a digitpad reject file ({key} must be a {ndim}-D float array)")
    if arrays["model_sha256"].shape != () or arrays["model_sha256"].dtype.kind != "U":
        raise ModelError(f"{path}: not a digitpad reject file (model_sha256 must be a string)")
    try:
        return Detector(*(arrays[k].astype(np.float32) for k in _ARRAYS), float(scalars[0]), float(scalars[1]),
                        float(scalars[2]), str(arrays["model_sha256"]))
    except ValueError as exc:
        raise ModelError(f"{path}: not a digitpad reject file ({exc})") from None


def reject_path(model_path: str | Path) -> Path:
    """``models/x.keras`` -> ``models/x.reject.npz``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + SUFFIX)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_detector(model_path: str | Path) -> Detector | None:
    """The detector fitted for ``model_path``, or None when there is none beside it.

    Raises ModelError when the file is malformed or was fitted for another model.
    """
    path = reject_path(model_path)
    if not path.is_file():
        return None
    detector = load(path)
    if detector.model_sha256 and Path(model_path).is_file():
        if file_sha256(model_path) != detector.model_sha256:
            raise ModelError(f"{path}: fitted for another model (refit: python -m digitpad.ml.reject_fit "
                             f"--model {model_path})")
    return detector


def features_and_logits(net: Any, images: np.ndarray, chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Dense-1024 features and logits of a ``NumpyCNN`` for float images ``(N, 28, 28)``, in chunks."""
    x = np.asarray(images, np.float32).reshape(-1, 28, 28)
    feats, logits = [], []
    for start in range(0, len(x), chunk):
        layers = net.activations(x[start:start + chunk])
        feats.append(layers["dense"])
        logits.append(layers["logits"])
    if not feats:
        return np.zeros((0, 1024), np.float32), np.zeros((0, CLASSES), np.float32)
    return np.concatenate(feats).astype(np.float32), np.concatenate(logits).astype(np.float32)


def prediction(probabilities: np.ndarray, image: np.ndarray, not_a_digit: bool) -> Prediction:
    """The Prediction for one inked drawing: no digit and confidence 0 when it is not a digit.

    The (calibrated) probabilities are kept either way, so a view can still show them.
    """
    probs = np.asarray(probabilities, np.float32)
    if not_a_digit:
        return Prediction(None, 0.0, probs, False, image, not_a_digit=True)
    digit = int(np.argmax(probs))
    return Prediction(digit, float(probs[digit]), probs, False, image)


# ---------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Head:
    """The fitted layers of a detector, before a threshold and temperature are chosen."""

    mean: np.ndarray
    scale: np.ndarray
    hidden_w: np.ndarray
    hidden_b: np.ndarray
    out_w: np.ndarray
    out_b: float

    def detector(self, threshold: float, temperature: float, model_sha256: str = "") -> Detector:
        return Detector(self.mean, self.scale, self.hidden_w, self.hidden_b, self.out_w, self.out_b,
                        float(threshold), float(temperature), model_sha256)

    def score(self, features: np.ndarray) -> np.ndarray:
        return self.detector(0.0, 1.0).score(features)


def fit_head(digits: np.ndarray, others: np.ndarray, hidden: int = 64, epochs: int = 15,
             weight_decay: float = 1e-4, learning_rate: float = 1e-3, batch: int = 256, seed: int = 0) -> Head:
    """Train the "not a digit" head on features of digits (0) and non-digits (1).

    Cross-entropy with both classes weighing the same in total, Adam, L2 weight
    decay; deterministic for a seed.
    """
    x = np.vstack([digits, others]).astype(np.float32)
    y = np.r_[np.zeros(len(digits)), np.ones(len(others))].astype(np.float32)
    weight = np.r_[np.full(len(digits), 0.5 / len(digits)), np.full(len(others), 0.5 / len(others))]
    weight = (weight * len(y)).astype(np.float32)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + np.float32(1e-3)  # dead units (always 0) keep a finite scale
    x = (x - mean) / scale
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], hidden)).astype(np.float32),
              np.zeros(hidden, np.float32), rng.normal(0, np.sqrt(1 / hidden), hidden).astype(np.float32),
              np.zeros(1, np.float32)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            xb = x[idx]
            h = np.maximum(xb @ params[0] + params[1], 0)
            p = 1 / (1 + np.exp(-np.clip(h @ params[2] + params[3][0], -40, 40)))
            gs = weight[idx] * (p - y[idx]) / len(idx)
            gh = np.outer(gs, params[2]) * (h > 0)
            grads = [xb.T @ gh + weight_decay * params[0], gh.sum(axis=0),
                     h.T @ gs + weight_decay * params[2], np.array([gs.sum()], np.float32)]
            step += 1
            for i, g in enumerate(grads):
                moments[i] = 0.9 * moments[i] + 0.1 * g
                squares[i] = 0.999 * squares[i] + 0.001 * g * g
                corrected = moments[i] / (1 - 0.9 ** step)
                params[i] -= (learning_rate * corrected / (np.sqrt(squares[i] / (1 - 0.999 ** step)) + 1e-8)
                              ).astype(np.float32)
    return Head(mean, scale, params[0], params[1], params[2], float(params[3][0]))


def threshold_for(scores: np.ndarray, false_rejection: float) -> float:
    """The score above which only ``false_rejection`` of these (digit) scores lie."""
    return float(np.quantile(np.asarray(scores, np.float64), 1.0 - false_rejection))


def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties count half)."""
    pos, neg = np.asarray(positives, np.float64), np.asarray(negatives, np.float64)
    if not len(pos) or not len(neg):
        raise ValueError("AUROC needs positives and negatives")
    values = np.concatenate([pos, neg])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]  # mean rank within ties
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
