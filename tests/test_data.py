"""MNIST loading: the bundled file, IDX folders, and every loader error."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from digitpad.errors import DataError
from digitpad.ml.data import load_mnist, read_idx, split, to_model_input
from digitpad.resources import bundled_mnist

# The value in ../shared/data/mnist.npz.sha256, written here so a changed file is caught.
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_bundled_file_is_the_shared_mnist() -> None:
    digest = hashlib.sha256(bundled_mnist().read_bytes()).hexdigest()
    assert digest == MNIST_SHA256


def test_bundled_mnist_shapes(mnist) -> None:
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert set(np.unique(mnist.y_test)) == set(range(10))
    assert mnist.sha256 == MNIST_SHA256


def test_split_holds_out_the_last_images(mnist) -> None:
    parts = split(mnist, validation=5000)
    assert len(parts.x_train) == 55000 and len(parts.x_val) == 5000
    assert np.array_equal(parts.x_val, mnist.x_train[-5000:])
    parts = split(mnist, validation=0, limit=100)
    assert len(parts.x_train) == 100 and len(parts.x_val) == 0
    with pytest.raises(DataError, match="validation"):
        split(mnist, validation=60000)
    with pytest.raises(DataError, match="limit"):
        split(mnist, limit=0)


def test_to_model_input_scales() -> None:
    x = to_model_input(np.full((2, 28, 28), 255, np.uint8))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0


def _write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder(tmp_path: Path, mnist, compress: bool) -> None:
    arrays = {
        "train-images-idx3-ubyte": mnist.x_train[:50],
        "train-labels-idx1-ubyte": mnist.y_train[:50],
        "t10k-images-idx3-ubyte": mnist.x_test[:20],
        "t10k-labels-idx1-ubyte": mnist.y_test[:20],
    }
    for name, array in arrays.items():
        _write_idx(tmp_path / name, array, compress)
    data = load_mnist(tmp_path)
    assert np.array_equal(data.x_train, mnist.x_train[:50])
    assert np.array_equal(data.y_test, mnist.y_test[:20])


def test_user_npz(tmp_path: Path, mnist) -> None:
    path = tmp_path / "small.npz"
    np.savez(path, x_train=mnist.x_train[:30], y_train=mnist.y_train[:30],
             x_test=mnist.x_test[:10], y_test=mnist.y_test[:10])
    data = load_mnist(path)
    assert len(data.x_train) == 30 and len(data.y_test) == 10


def _npz(tmp_path: Path, **overrides) -> Path:
    arrays = {
        "x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.zeros(4, np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.zeros(2, np.uint8),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_test": None}, "missing arrays y_test"),
        ({"x_train": np.zeros((4, 27, 28), np.uint8)}, r"shape \(N, 28, 28\)"),
        ({"x_train": np.zeros((4, 28, 28), np.float32)}, "must be uint8"),
        ({"y_train": np.full(4, 10, np.uint8)}, "outside 0-9"),
        ({"y_train": np.zeros(3, np.uint8)}, "4 images but y_train has 3 labels"),
        ({"y_train": np.zeros((4, 1), np.uint8)}, r"shape \(N,\)"),
    ],
)
def test_loader_errors(tmp_path: Path, overrides, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_mnist(_npz(tmp_path, **overrides))


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_mnist(tmp_path / "nope.npz")
    junk = tmp_path / "x.png"
    junk.write_text("a text file")
    with pytest.raises(DataError) as caught:
        load_mnist(junk)
    assert str(caught.value) == f"{junk}: not an .npz file or a folder of MNIST IDX files"
    assert "pickle" not in str(caught.value)  # never a hint to load unsafely
    with pytest.raises(DataError, match="missing IDX file"):
        load_mnist(tmp_path)


def test_pickled_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pickled.npz"
    np.savez(path, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataError) as caught:
        load_mnist(path)
    assert "object arrays" in str(caught.value) and "allow_pickle" not in str(caught.value)


def test_evaluation_needs_only_the_test_files(tmp_path: Path) -> None:
    from digitpad.ml.data import _IDX_NAMES

    mnist = load_mnist()
    for key in ("x_test", "y_test"):
        raw = getattr(mnist, key)
        header = bytes([0, 0, 8, raw.ndim]) + struct.pack(">" + "I" * raw.ndim, *raw.shape)
        (tmp_path / _IDX_NAMES[key]).write_bytes(header + raw.tobytes())
    test = load_mnist(tmp_path, test_only=True)
    assert np.array_equal(test.x_test, mnist.x_test) and len(test.x_train) == 0
    with pytest.raises(DataError, match="missing IDX file train-images"):
        load_mnist(tmp_path)


def test_truncated_idx(tmp_path: Path) -> None:
    path = tmp_path / "bad-idx"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x01\x02")
    with pytest.raises(DataError, match="expected 10 bytes"):
        read_idx(path)
    path.write_bytes(b"\x89PNG....")
    with pytest.raises(DataError, match="not an IDX"):
        read_idx(path)
