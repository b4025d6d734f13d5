"""Look-alikes: the MNIST training digits nearest to a drawing in the dense-1024 space.

Nearness is cosine similarity of the dense-layer activations. The length of
that vector grows with the amount and contrast of ink, while which units fire
(its direction) is what the logits read, so cosine finds digits the network
sees the same way, not digits with as much ink.

The index holds the 60,000 unit-length training vectors in float16 (only the
units that fire for some training digit; the others are 0 for all of them and
add nothing to a dot product). A query must not scan all of them in float32
(240 MB per query), so it goes in two steps and stays exact: each vector is
split into its part in a k-dimensional principal subspace and a residual, so
``q . x = qk . xk + qr . xr`` with ``|qr . xr| <= |qr| |xr|``. The small
projections give every digit's similarity within a bound; only digits whose
upper bound reaches the 8th best lower bound are scored in full.

The index is built once per model (:func:`build_index`, a minute or so on two
cores; never at launch) and cached beside the model as
``<model>.lookalikes.npz``, or in the user data folder when that folder is
read-only. The bundled model's index always goes to the user data folder: in
a checkout ``resources/`` is writable, and the wheel copies that folder
verbatim, so a 100 MB cache there would ship. The cache is keyed by the model
file's and the training data's sha256, so a changed model rebuilds.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from digitpad.fileio import write_atomic
from digitpad.ml.data import Mnist, file_sha256
from digitpad.ml.fastpath import NumpyCNN

FORMAT = 1  # bump when the file layout changes: old caches then rebuild
COUNT = 8  # look-alikes shown
RANK = 64  # principal directions kept for the bounds
CHUNK = 250  # training images per forward pass while building
SLACK = 1e-4  # float32 rounding headroom for the bounds
Progress = Callable[[int, int], None]  # (images done, total)
Cancelled = Callable[[], bool]  # True: stop building


class BuildCancelled(Exception):
    """A build was stopped by its ``cancelled`` check; nothing was written."""


@dataclass(frozen=True)
class Lookalikes:
    """The nearest training digits, most similar first."""

    rows: np.ndarray  # (k,) int: indices into the training set (x_train, y_train)
    labels: np.ndarray  # (k,) int: their digits
    similarity: np.ndarray  # (k,) float32 cosine similarity, 1 = same direction


@dataclass(frozen=True)
class LookalikeIndex:
    """Unit dense-1024 vectors of training digits, with what makes queries fast."""

    features: np.ndarray  # (n, d) float16 unit vectors over the live units
    units: np.ndarray  # (d,) int16: which of the 1024 units the columns are
    labels: np.ndarray  # (n,) uint8
    rows: np.ndarray  # (n,) int32 into the training set
    basis: np.ndarray  # (d, RANK) float32 orthonormal principal directions
    projections: np.ndarray  # (n, RANK) float32 features @ basis
    residuals: np.ndarray  # (n,) float32 |feature - projection @ basis.T|
    model_sha256: str = ""
    data_sha256: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def nearest(self, dense: np.ndarray, k: int = COUNT) -> Lookalikes:
        """The ``k`` training digits with the most similar dense-1024 vector to ``dense``."""
        k = min(k, len(self))
        q = np.asarray(dense, np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        if norm == 0.0 or k == 0:  # no direction: nothing is similar
            return Lookalikes(np.zeros(0, np.int32), np.zeros(0, int), np.zeros(0, np.float32))
        q = q[self.units.astype(np.intp)] / norm
        a = q @ self.basis
        spread = float(np.linalg.norm(q - self.basis @ a)) * self.residuals + SLACK
        guess = self.projections @ a
        floor = np.partition(guess - spread, len(guess) - k)[len(guess) - k]
        candidates = np.flatnonzero(guess + spread >= floor)
        scores = self.features[candidates].astype(np.float32) @ q
        best = np.lexsort((candidates, -scores))[:k]
        chosen = candidates[best]
        return Lookalikes(self.rows[chosen].copy(), self.labels[chosen].astype(int), scores[best])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, format=np.int64(FORMAT), features=self.features, units=self.units, labels=self.labels,
                 rows=self.rows, basis=self.basis, projections=self.projections, residuals=self.residuals,
                 model_sha256=np.str_(self.model_sha256), data_sha256=np.str_(self.data_sha256))
        return buffer.getvalue()


def build_index(net: NumpyCNN, images: np.ndarray, labels: np.ndarray, model_sha256: str = "",
                data_sha256: str = "", progress: Progress | None = None, chunk: int = CHUNK,
                cancelled: Cancelled | None = None) -> LookalikeIndex:
    """Index ``images`` (uint8 or float ``(n, 28, 28)``) by their dense-1024 vectors, in chunks.

    ``progress(done, total)`` is called after each chunk of forward passes (the
    principal basis follows the last one); an exception it raises aborts the
    build. ``cancelled()`` is asked before every chunk of either step and
    raises :class:`BuildCancelled` when it says True.
    """
    n = len(images)
    unit = np.zeros((n, 1024), np.float16)
    scale = np.float32(1 / 255) if np.asarray(images[:1]).dtype == np.uint8 else np.float32(1)
    for start in range(0, n, chunk):
        _check(cancelled)
        dense = net.features(np.asarray(images[start:start + chunk], np.float32) * scale)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        unit[start:start + chunk] = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
        if progress is not None:
            progress(min(start + chunk, n), n)
    return _from_unit(unit, labels, model_sha256, data_sha256, chunk, cancelled)


def _check(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise BuildCancelled("look-alike index build cancelled")


def index_from_features(dense: np.ndarray, labels: np.ndarray, model_sha256: str = "",
                        data_sha256: str = "") -> LookalikeIndex:
    """An index of already computed dense-1024 vectors ``(n, 1024)`` (what build_index computes)."""
    dense = np.asarray(dense, np.float32)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    unit = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0).astype(np.float16)
    return _from_unit(unit, labels, model_sha256, data_sha256, CHUNK)


def _from_unit(unit: np.ndarray, labels: np.ndarray, model_sha256: str, data_sha256: str,
               chunk: int, cancelled: Cancelled | None = None) -> LookalikeIndex:
    units = np.flatnonzero((unit != 0).any(axis=0)).astype(np.int16)
    features = np.ascontiguousarray(unit[:, units])
    basis, projections, residuals = _bounds(features, chunk, cancelled)
    return LookalikeIndex(features, units, np.asarray(labels, np.uint8), np.arange(len(unit), dtype=np.int32),
                          basis, projections, residuals, model_sha256, data_sha256)


def _bounds(features: np.ndarray, chunk: int,
            cancelled: Cancelled | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The principal basis of the stored (float16) vectors, their projections and residual norms."""
    n, d = features.shape
    gram = np.zeros((d, d), np.float64)
    for start in range(0, n, 4 * chunk):
        _check(cancelled)
        part = features[start:start + 4 * chunk].astype(np.float32)
        gram += part.T @ part
    rank = min(RANK, d, n)
    basis = np.ascontiguousarray(np.linalg.eigh(gram)[1][:, ::-1][:, :rank], np.float32)
    projections = np.zeros((n, rank), np.float32)
    residuals = np.zeros(n, np.float32)
    for start in range(0, n, 4 * chunk):
        _check(cancelled)
        part = features[start:start + 4 * chunk].astype(np.float32)
        projections[start:start + len(part)] = part @ basis
        residuals[start:start + len(part)] = np.linalg.norm(part - projections[start:start + len(part)] @ basis.T,
                                                            axis=1)
    return basis, projections, residuals


def cache_path(model_path: str | Path) -> Path:
    """``model.keras`` -> ``model.lookalikes.npz`` beside it."""
    return Path(model_path).with_suffix(".lookalikes.npz")


def fallback_path(model_path: str | Path, model_sha256: str) -> Path:
    """Where the cache goes when the model's folder is read-only: the user data folder."""
    from digitpad.paths import user_data_dir

    return user_data_dir() / "lookalikes" / f"{Path(model_path).stem}-{model_sha256[:16]}.lookalikes.npz"


def save_index(index: LookalikeIndex, model_path: str | Path) -> Path:
    """Write the index atomically beside the model, or in the user data folder if that fails.

    The bundled model's index goes straight to the user data folder.
    """
    data = index.to_bytes()
    beside = cache_path(model_path)
    if not _is_bundled(model_path):
        try:
            write_atomic(beside, data)
            return beside
        except OSError:
            pass  # a read-only folder (site-packages, a shared drive): use the user's own
    other = fallback_path(model_path, index.model_sha256)
    other.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(other, data)
    return other


def _is_bundled(model_path: str | Path) -> bool:
    from digitpad.resources import bundled_model

    try:
        return Path(model_path).resolve() == bundled_model().resolve()
    except (OSError, FileNotFoundError):
        return False


def read_index(path: str | Path) -> LookalikeIndex | None:
    """An index file, or None when it is missing, unreadable or of another format."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if int(npz["format"]) != FORMAT:
                return None
            index = LookalikeIndex(
                npz["features"], npz["units"], npz["labels"], npz["rows"], npz["basis"],
                npz["projections"], npz["residuals"], str(npz["model_sha256"]), str(npz["data_sha256"]))
    except (OSError, KeyError, ValueError, TypeError, EOFError, MemoryError):
        return None
    return index if _well_formed(index) else None


def _well_formed(index: LookalikeIndex) -> bool:
    """Shapes, types and ranges a query relies on (the file may come from anywhere)."""
    if index.features.ndim != 2 or index.features.dtype != np.float16:
        return False
    n, d = index.features.shape
    shapes = (index.units.shape == (d,) and index.labels.shape == index.rows.shape == index.residuals.shape == (n,)
              and index.basis.shape[0] == d and index.projections.shape == (n, index.basis.shape[1]))
    kinds = all(a.dtype.kind in "iu" for a in (index.units, index.labels, index.rows))
    return bool(shapes and kinds and (d == 0 or 0 <= index.units.min() <= index.units.max() < 1024)
                and np.array_equal(index.rows, np.arange(n)) and (n == 0 or index.labels.max() <= 9))


def load_index(model_path: str | Path, data_sha256: str | None = None,
               model_sha256: str | None = None) -> LookalikeIndex | None:
    """The cached index for this model file (and data, when given), or None if there is none yet."""
    model_sha256 = model_sha256 or file_sha256(Path(model_path))
    for path in (cache_path(model_path), fallback_path(model_path, model_sha256)):
        if not os.path.isfile(path):
            continue
        index = read_index(path)
        if index is not None and index.model_sha256 == model_sha256 and (
                data_sha256 is None or index.data_sha256 == data_sha256):
            return index
    return None


def load_or_build(net: NumpyCNN, model_path: str | Path, data: Mnist | None = None,
                  progress: Progress | None = None, cancelled: Cancelled | None = None,
                  chunk: int = CHUNK) -> LookalikeIndex:
    """The cached index for ``model_path``, building and caching it from MNIST training data if needed.

    ``data`` defaults to the bundled MNIST. Meant for a worker thread: building
    takes about a minute. A cancelled build (:class:`BuildCancelled`) writes nothing.
    """
    from digitpad.ml.data import load_mnist

    mnist = data if data is not None else load_mnist()
    model_sha256 = file_sha256(Path(model_path))
    index = load_index(model_path, mnist.sha256, model_sha256)
    if index is None:
        index = build_index(net, mnist.x_train, mnist.y_train, model_sha256, mnist.sha256, progress, chunk,
                            cancelled)
        _check(cancelled)
        save_index(index, model_path)
    return index
