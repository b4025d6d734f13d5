"""MNIST loading and splitting: Keras' ``.npz`` format or the four IDX files."""

from __future__ import annotations

import gzip
import hashlib
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitpad.errors import DataError, one_line
from digitpad.resources import bundled_mnist

DEFAULT_VALIDATION = 5000
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays (uint8 images ``(N, 28, 28)``, uint8 labels ``(N,)``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str


@dataclass(frozen=True)
class Split:
    """Training and validation parts of the training set; the test set stays apart."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist(path: str | Path | None = None, test_only: bool = False) -> Mnist:
    """Load MNIST from ``path`` (an ``.npz`` or a folder of IDX files); default: bundled.

    ``test_only``: read just the test images and labels (evaluation needs no
    more); the training arrays are then empty.
    """
    source = Path(path) if path is not None else bundled_mnist()
    parts = ("test",) if test_only else ("train", "test")
    keys = [k for k in _KEYS if k.endswith(parts)]
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    if source.is_dir():
        arrays = {key: read_idx(_find_idx(source, _IDX_NAMES[key])) for key in keys}
        sha = hashlib.sha256(b"".join(a.tobytes() for a in arrays.values())).hexdigest()
    else:
        arrays = _load_npz(source, keys)
        sha = file_sha256(source)
    for key in set(_KEYS) - set(keys):
        arrays[key] = np.zeros((0, 28, 28) if key.startswith("x") else (0,), np.uint8)
    _validate(arrays, source, parts)
    return Mnist(**arrays, source=str(source), sha256=sha)


def _load_npz(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):  # an .npz is a zip; anything else is no MNIST file at all
        raise DataError(f"{path}: not an .npz file or a folder of MNIST IDX files")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {', '.join(missing)} (need {', '.join(keys)})")
            return {k: npz[k] for k in keys}
    except DataError:
        raise
    except ValueError:  # an object (pickled) array: refused, never loaded
        raise DataError(f"{path}: holds object arrays, not MNIST's uint8 images and labels") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: damaged .npz file ({one_line(exc, 120)})") from None


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing IDX file {stem} (or {stem}.gz)")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (plain or gzip) of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX data type {raw[2]:#x} is not unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    count = int(np.prod(shape)) if shape else 0
    if len(raw) - header != count:
        raise DataError(f"{path}: expected {count} bytes of data, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _validate(arrays: dict[str, np.ndarray], source: Path, parts: tuple[str, ...] = ("train", "test")) -> None:
    for part in parts:
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise DataError(
                f"{source}: x_{part}/y_{part} must be uint8, found {x.dtype}/{y.dtype}"
            )
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: x_{part} must have shape (N, 28, 28), found {x.shape}")
        if y.ndim != 1:
            raise DataError(f"{source}: y_{part} must have shape (N,), found {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{source}: x_{part} has {len(x)} images but y_{part} has {len(y)} labels")
        if len(x) == 0:
            raise DataError(f"{source}: x_{part} is empty")
        if y.size and int(y.max()) > 9:
            raise DataError(f"{source}: y_{part} has labels outside 0-9 (max {int(y.max())})")


def split(data: Mnist, validation: int = DEFAULT_VALIDATION, limit: int | None = None) -> Split:
    """Hold out the last ``validation`` training images; keep at most ``limit`` for training."""
    n = len(data.x_train)
    if validation < 0:
        raise DataError(f"validation size must be >= 0, got {validation}")
    if validation >= n:
        raise DataError(f"validation size {validation} leaves no training images (have {n})")
    cut = n - validation
    x_train, y_train = data.x_train[:cut], data.y_train[:cut]
    if limit is not None:
        if limit < 1:
            raise DataError(f"image limit must be >= 1, got {limit}")
        x_train, y_train = x_train[:limit], y_train[:limit]
    return Split(x_train, y_train, data.x_train[cut:], data.y_train[cut:])


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Scale uint8 ``(N, 28, 28)`` images to float32 ``(N, 28, 28, 1)`` in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]
