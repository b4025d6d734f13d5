"""Unit tests for digitpad.imaging: each normalisation step, every input kind, every error."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitpad.errors import ImageError
from digitpad.imaging import Normalized, load_image, plain_resize, prepare, to_mnist

SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.4, 0.85)]  # a "7" as a polyline, in fractions of the box
FOUR = [(0.6, 0.85), (0.6, 0.15), (0.2, 0.6), (0.8, 0.6)]


def draw(points: list[tuple[float, float]] = SEVEN, size: int = 280, box: tuple[int, int, int] = (40, 40, 200),
         width: int = 12, ink: int = 0, paper: int = 255) -> Image.Image:
    """An 'L' image of a polyline digit inside the square box (left, top, side)."""
    img = Image.new("L", (size, size), paper)
    left, top, side = box
    xy = [(left + x * side, top + y * side) for x, y in points]
    pen = ImageDraw.Draw(img)
    pen.line(xy, fill=ink, width=width, joint="curve")
    for x, y in (xy[0], xy[-1]):  # round caps, like a real pen
        pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)
    return img


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    idx = np.arange(img.shape[0])
    total = img.sum()
    return float(img.sum(axis=1) @ idx / total), float(img.sum(axis=0) @ idx / total)


def ink_box(img: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    """Height and width of the bounding box of pixels above ``level``."""
    rows, cols = np.nonzero(img > level)
    return int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1


def similar(a: np.ndarray, b: np.ndarray, tolerance: float = 0.06) -> bool:
    """Same digit: small mean difference and high correlation."""
    return float(np.abs(a - b).mean()) < tolerance and float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) > 0.9


def check_valid(out: np.ndarray) -> None:
    assert out.dtype == np.float32 and out.shape == (28, 28)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The normalised plain black-on-white "7" that other inputs are compared to."""
    return to_mnist(np.asarray(draw()))


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("box", [(40, 40, 200), (0, 0, 60), (220, 220, 60), (0, 200, 80), (120, 10, 150)])
def test_centre_of_mass_is_within_half_a_pixel_of_14_14(box: tuple[int, int, int]) -> None:
    out = to_mnist(np.asarray(draw(box=box, width=max(2, box[2] // 15))))
    check_valid(out)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, (cy, cx)


def test_centre_of_mass_of_a_lopsided_digit() -> None:
    out = to_mnist(np.asarray(draw(FOUR, box=(10, 150, 120), width=6)))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, (cy, cx)


@pytest.mark.parametrize("points", [SEVEN, FOUR, [(0.1, 0.4), (0.9, 0.4), (0.9, 0.6)]])
def test_longer_side_of_the_ink_is_fitted_into_20_px(points: list[tuple[float, float]]) -> None:
    out = to_mnist(np.asarray(draw(points, width=8)))
    height, width = ink_box(out, 0.05)
    assert 19 <= max(height, width) <= 21, (height, width)


@pytest.mark.parametrize("pen", [2, 10, 30])
def test_a_one_stays_thin(pen: int) -> None:
    one = draw([(0.5, 0.05), (0.5, 0.95)], width=pen)
    out = to_mnist(np.asarray(one))
    height, width = ink_box(out, 0.1)
    assert 19 <= height <= 21 and width <= 6, (height, width)


def test_wide_digit_keeps_its_aspect_ratio() -> None:
    wide = draw([(0.05, 0.4), (0.95, 0.4), (0.95, 0.7), (0.05, 0.7), (0.05, 0.4)], width=6)
    height, width = ink_box(to_mnist(np.asarray(wide)), 0.1)
    assert 19 <= width <= 21 and 6 <= height <= 10, (height, width)


def test_small_digit_is_scaled_up_like_a_large_one(reference: np.ndarray) -> None:
    small = to_mnist(np.asarray(draw(box=(200, 10, 50), width=3)))
    assert similar(small, reference, 0.08)


def test_large_image_is_handled_like_a_canvas(reference: np.ndarray) -> None:
    big = draw(size=2000, box=(300, 300, 1430), width=86)
    assert similar(to_mnist(big), reference)


# ---------------------------------------------------------------- stroke width


def test_thin_and_fat_pens_give_mnist_like_strokes() -> None:
    thin = to_mnist(np.asarray(draw(width=2)))
    fat = to_mnist(np.asarray(draw(width=25)))
    assert abs(thin.sum() - fat.sum()) < 0.15 * fat.sum(), (thin.sum(), fat.sum())
    assert similar(thin, fat, 0.08)
    # MNIST "7"s carry 60-130 px of ink (5th-95th percentile, test set)
    assert 60 <= thin.sum() <= 130 and 60 <= fat.sum() <= 130


def test_strokes_come_out_about_two_and_a_half_px_wide() -> None:
    for pen in (1, 4, 40):
        out = to_mnist(np.asarray(draw([(0.5, 0.05), (0.5, 0.95)], width=pen)))
        row = out[14]
        assert 1.8 <= row.sum() <= 3.5, (pen, row.sum())  # ink across a vertical stroke


def test_an_mnist_digit_goes_through_nearly_unchanged() -> None:
    from digitpad.resources import bundled_mnist

    digits = np.load(bundled_mnist(), allow_pickle=False)["x_test"][:20]
    diffs = [np.abs(to_mnist(d) - d.astype(np.float32) / 255).mean() for d in digits]
    assert np.median(diffs) < 0.06, diffs


# ---------------------------------------------------------------- blank and specks


@pytest.mark.parametrize(
    "image",
    [
        np.full((280, 280), 255, np.uint8),
        np.zeros((280, 280), np.uint8),
        np.full((280, 280, 4), 0, np.uint8),  # fully transparent
        np.full((5, 5), 0.5, np.float32),
    ],
    ids=["white", "black", "transparent", "grey"],
)
def test_uniform_images_are_blank(image: np.ndarray) -> None:
    result = prepare(image)
    assert result.blank and not result.image.any()
    check_valid(result.image)


def test_a_tiny_speck_is_blank() -> None:
    img = np.full((280, 280), 255, np.uint8)
    img[100:104, 150:154] = 0
    assert prepare(img).blank


def test_faint_marks_are_blank() -> None:
    img = np.full((280, 280), 255, np.uint8)
    img[50:200, 100:110] = 240  # under the contrast floor
    assert prepare(img).blank


def test_jpeg_noise_alone_is_blank(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noisy = np.clip(235 + rng.normal(0, 4, (280, 280)), 0, 255).astype(np.uint8)
    path = tmp_path / "noise.jpg"
    Image.fromarray(noisy).save(path, quality=40)
    assert prepare(path).blank


def test_one_pixel_images_do_not_crash() -> None:
    for image in (np.zeros((1, 1), np.uint8), np.full((1, 1, 3), 200, np.uint8), Image.new("RGBA", (1, 1))):
        result = prepare(image)
        check_valid(result.image)


def test_far_away_specks_are_ignored(reference: np.ndarray) -> None:
    img = np.asarray(draw()).copy()
    for y, x in ((5, 5), (270, 20), (260, 265), (10, 250)):
        img[y : y + 5, x : x + 5] = 0
    assert similar(to_mnist(img), reference, 0.02)


def test_jpeg_artefacts_around_a_digit_are_ignored(tmp_path: Path, reference: np.ndarray) -> None:
    path = tmp_path / "digit.jpg"
    draw().save(path, quality=30)
    assert similar(to_mnist(path), reference, 0.04)


def test_a_digit_in_two_separate_strokes_keeps_both() -> None:
    img = draw([(0.3, 0.1), (0.3, 0.9)], width=10)
    ImageDraw.Draw(img).line([(150, 150), (250, 150)], fill=0, width=10)  # apart from the first stroke
    out = to_mnist(np.asarray(img))
    height, width = ink_box(out, 0.1)
    assert height >= 19 and width >= 15


# ---------------------------------------------------------------- polarity and colour


def test_polarity_does_not_matter(reference: np.ndarray) -> None:
    inverted = to_mnist(np.asarray(draw(ink=255, paper=0)))
    np.testing.assert_allclose(inverted, reference, atol=1e-5)
    assert similar(to_mnist(np.asarray(draw(ink=200, paper=30))), reference, 0.03)


@pytest.mark.parametrize(
    "ink, paper",
    [((220, 20, 20), (200, 230, 255)), ((0, 160, 0), (70, 0, 90)),
     ((255, 230, 0), (0, 0, 120)), ((0, 0, 255), (255, 0, 0))],
)
def test_coloured_ink_on_coloured_paper(ink: tuple[int, ...], paper: tuple[int, ...], reference: np.ndarray) -> None:
    mask = np.asarray(draw(ink=255, paper=0), np.float32)[..., None] / 255
    rgb = (mask * np.array(ink) + (1 - mask) * np.array(paper)).round().astype(np.uint8)
    assert similar(to_mnist(rgb), reference, 0.03)


def test_plain_resize_fixes_polarity_but_does_not_centre() -> None:
    img = draw(box=(0, 0, 100), width=6)
    out = plain_resize(np.asarray(img))
    check_valid(out)
    np.testing.assert_allclose(out, plain_resize(255 - np.asarray(img)), atol=1e-6)
    cy, cx = centre_of_mass(out)
    assert cy < 10 and cx < 10  # still in the top-left corner


# ---------------------------------------------------------------- input kinds


def _save(img: Image.Image, path: Path, **kwargs: object) -> Path:
    img.save(path, **kwargs)
    return path


def _modes(tmp: Path) -> dict[str, object]:
    """The same "7" in every mode and file kind the app accepts."""
    grey = draw()
    mask = Image.eval(grey, lambda v: 255 - v)
    rgba = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", grey.size, (30, 60, 200, 255)), mask=mask)
    la = Image.merge("LA", [Image.new("L", grey.size, 0), mask])
    grey16 = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    return {
        "L png": _save(grey, tmp / "l.png"),
        "RGB png": _save(grey.convert("RGB"), tmp / "rgb.png"),
        "RGBA transparent png": _save(rgba, tmp / "rgba.png"),
        "LA transparent png": _save(la, tmp / "la.png"),
        "P png": _save(grey.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE), tmp / "p.png"),
        "P gif with transparency": _save(grey.convert("P"), tmp / "t.gif", transparency=255),
        "1 png": _save(grey.convert("1", dither=Image.Dither.NONE), tmp / "one.png"),
        "I;16 png": _save(grey16, tmp / "sixteen.png"),
        "CMYK jpeg": _save(grey.convert("CMYK"), tmp / "cmyk.jpg", quality=95),
        "RGBA array": np.asarray(rgba),
        "opaque RGBA array": np.asarray(grey.convert("RGBA")),
        "RGB array": np.asarray(grey.convert("RGB")),
        "uint16 array": np.asarray(grey).astype(np.uint16) * 257,
        "float array 0-1": np.asarray(grey, np.float32) / 255,
        "float array 0-255": np.asarray(grey, np.float64),
        "bool array": np.asarray(grey) > 128,
        "int64 array": np.asarray(grey).astype(np.int64),
        "(H, W, 1) array": np.asarray(grey)[..., None],
        "PIL image": grey,
        "str path": str(tmp / "l.png"),
    }


def test_every_mode_gives_the_same_digit(tmp_path: Path, reference: np.ndarray) -> None:
    for name, source in _modes(tmp_path).items():
        out = to_mnist(source)
        check_valid(out)
        assert similar(out, reference, 0.05), name


def test_sixteen_bit_png_is_read_at_full_depth(tmp_path: Path) -> None:
    path = _save(Image.fromarray(np.asarray(draw()).astype(np.uint16) * 257), tmp_path / "deep.png")
    assert load_image(path).mode.startswith("I")
    faint = np.full((280, 280), 40000, np.uint16)
    faint[60:220, 130:140] = 20000  # a plain 8-bit conversion clips both levels to white
    assert not prepare(_save(Image.fromarray(faint), tmp_path / "faint.png")).blank


@pytest.mark.parametrize("orientation, turn", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
                                               (3, Image.Transpose.ROTATE_180)])
def test_exif_rotated_jpeg_comes_out_upright(tmp_path: Path, orientation: int, turn: Image.Transpose) -> None:
    upright = _save(draw(FOUR).convert("RGB"), tmp_path / "upright.jpg", quality=95)
    stored = draw(FOUR).convert("RGB").transpose(turn)  # what a camera writes, to be turned back
    exif = Image.Exif()
    exif[0x0112] = orientation
    rotated = _save(stored, tmp_path / "rotated.jpg", quality=95, exif=exif.tobytes())
    assert load_image(rotated).size == (280, 280)
    expected = to_mnist(upright)
    assert similar(to_mnist(rotated), expected, 0.03)
    assert not similar(to_mnist(stored), expected, 0.03)  # the test can tell


def test_animated_gif_uses_its_first_frame(tmp_path: Path, reference: np.ndarray) -> None:
    frames = [draw().convert("P"), draw(FOUR).convert("P"), Image.new("P", (280, 280), 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3
    assert similar(to_mnist(path), reference, 0.05)


def test_load_image_returns_pil_images(tmp_path: Path) -> None:
    assert isinstance(load_image(np.zeros((4, 5, 3), np.uint8)), Image.Image)
    assert load_image(np.zeros((4, 5), np.float32)).size == (5, 4)
    path = _save(draw(), tmp_path / "x.png")
    assert load_image(path).size == load_image(str(path)).size == (280, 280)


def test_normalized_is_frozen() -> None:
    result = prepare(np.asarray(draw()))
    assert isinstance(result, Normalized) and not result.blank
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.blank = True  # type: ignore[misc]


# ---------------------------------------------------------------- errors


def _huge_png(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit PNG of any size written in a few ms (all-zero rows compress to nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def _raises(source: object, *words: str) -> None:
    with pytest.raises(ImageError) as info:
        prepare(source)
    message = str(info.value)
    assert message and "\n" not in message
    for word in words:
        assert word in message.lower(), message


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.png", "no such file")
    _raises(str(tmp_path / "nope.png"), "no such file")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    _raises(tmp_path, "not a file")


def test_non_image_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture\n")
    _raises(text, "not an image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    _raises(empty, "not an image")


def test_truncated_image_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    draw().save(buffer, format="PNG")
    broken = tmp_path / "broken.png"
    broken.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    _raises(broken, "cannot read")


@pytest.mark.parametrize("width, height", [(10_000, 10_000), (20_000, 10_000)])
def test_decompression_bombs_are_refused(tmp_path: Path, width: int, height: int) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None and width * height > limit
    _raises(_huge_png(tmp_path / "bomb.png", width, height), "too large")
    assert Image.MAX_IMAGE_PIXELS == limit


def test_huge_arrays_are_refused() -> None:
    _raises(np.broadcast_to(np.zeros(1, np.uint8), (10_000, 10_000)), "too large")


@pytest.mark.parametrize(
    "array, words",
    [
        (np.zeros((0, 5), np.uint8), ("empty",)),
        (np.zeros((5,), np.uint8), ("(h, w)",)),
        (np.zeros((5, 5, 2), np.uint8), ("(h, w)",)),
        (np.zeros((5, 5, 5), np.uint8), ("(h, w)",)),
        (np.zeros((2, 5, 5, 1), np.uint8), ("(h, w)",)),
        (np.full((5, 5), np.nan, np.float32), ("nan",)),
        (np.array([[0.0, np.inf], [1.0, 0.5]]), ("infinite",)),
        (np.full((5, 5), -1.0), ("0-255",)),
        (np.full((5, 5), 300.0), ("0-255",)),
        (np.full((5, 5), 300, np.int32), ("0-255",)),
        (np.zeros((5, 5), np.complex64), ("dtype",)),
        (np.array([["a", "b"]]), ("dtype",)),
        (np.zeros((5, 5), object), ("dtype",)),
    ],
)
def test_bad_arrays(array: np.ndarray, words: tuple[str, ...]) -> None:
    _raises(array, *words)


@pytest.mark.parametrize("source", [None, 42, [[0, 255]], b"\x89PNG"])
def test_unsupported_sources(source: object) -> None:
    _raises(source, "cannot read an image from")


def test_errors_are_value_errors_too() -> None:
    with pytest.raises(ValueError):
        to_mnist(np.zeros((3, 3, 7)))
    with pytest.raises(ImageError):
        plain_resize(np.full((3, 3), np.nan))
    with pytest.raises(ImageError):
        load_image(np.zeros((0, 0)))
