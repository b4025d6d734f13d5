"""Property tests: whatever array, image or file comes in, prepare() returns a
valid Normalized or raises ImageError, and nothing else."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from digitpad.errors import ImageError
from digitpad.imaging import Normalized, plain_resize, prepare

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = [np.uint8, np.uint16, np.bool_, np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.complex64]
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F", "HSV", "LAB"]


def _check(source: Any) -> None:
    """The property itself."""
    try:
        result = prepare(source)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, Normalized)
    image = result.image
    assert image.dtype == np.float32 and image.shape == (28, 28)
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    assert isinstance(result.blank, bool)
    assert not result.blank or not image.any()
    baseline = plain_resize(source)
    assert baseline.shape == (28, 28) and np.isfinite(baseline).all() and 0 <= baseline.min() <= baseline.max() <= 1


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays of any small shape and dtype, with any values (NaN and inf included)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(st.one_of(
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4])),
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    ))
    if dtype.kind == "f" and draw(st.booleans()):
        elements = st.floats(0, 1, width=min(32, dtype.itemsize * 8))  # the usual, valid range
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def ink_arrays(draw: st.DrawFn) -> np.ndarray:
    """Mostly paper with a few random strokes: exercises the full pipeline, not just blanks."""
    h, w = draw(st.integers(1, 60)), draw(st.integers(1, 60))
    paper, ink = draw(st.sampled_from([(255, 0), (0, 255), (200, 30)]))
    img = np.full((h, w), paper, np.uint8)
    for _ in range(draw(st.integers(0, 6))):
        y0, y1 = sorted(draw(st.tuples(st.integers(0, h), st.integers(0, h))))
        x0, x1 = sorted(draw(st.tuples(st.integers(0, w), st.integers(0, w))))
        img[y0:y1 + 1, x0:x1 + 1] = ink
    return img


@st.composite
def images(draw: st.DrawFn) -> Image.Image:
    """Small PIL images of every mode, filled with random bytes."""
    mode = draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    probe = Image.new(mode, (1, 1))
    nbytes = len(probe.tobytes()) * size[0] * size[1] if mode != "1" else ((size[0] + 7) // 8) * size[1]
    data = draw(st.binary(min_size=nbytes, max_size=nbytes))
    img = Image.frombytes(mode, size, data)
    if mode == "P" and draw(st.booleans()):
        img.info["transparency"] = draw(st.integers(0, 255))
    return img


@FUZZ
@given(arrays())
def test_random_arrays(array: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # hypothesis' own float16 casts
        _check(array)


@FUZZ
@given(ink_arrays())
def test_random_drawings(array: np.ndarray) -> None:
    _check(array)
    out = prepare(array).image
    clipped = out[0].any() or out[-1].any() or out[:, 0].any() or out[:, -1].any()
    if out.any() and not clipped:  # a very lopsided shape may not fit around its centre of mass
        ii = np.arange(28)
        assert abs(out.sum(axis=1) @ ii / out.sum() - 14) <= 0.5
        assert abs(out.sum(axis=0) @ ii / out.sum() - 14) <= 0.5


@FUZZ
@given(images())
def test_random_pil_images(image: Image.Image) -> None:
    _check(image)


@FUZZ
@given(images(), st.sampled_from(["PNG", "GIF", "TIFF", "BMP", "JPEG", "WEBP"]))
def test_random_image_files(image: Image.Image, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"img.{fmt.lower()}"
        try:
            image.save(path, format=fmt)
        except (OSError, ValueError, KeyError):
            return  # this format cannot store this mode; nothing to test
        _check(path)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_files(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.png"
        path.write_bytes(data)
        _check(path)
