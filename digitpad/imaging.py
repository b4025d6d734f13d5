"""Turn any picture of a digit into a 28x28 image made the way MNIST was made.

MNIST digits are white ink on black, their bounding box fitted into 20x20 px
(aspect kept, antialiased) and their centre of mass moved to the middle of a
28x28 field. A model trained on MNIST reads a drawing well only when the
drawing is brought to that same form, stroke thickness included, so
:func:`prepare` does: pixels -> ink map (distance from the background colour,
alpha-aware) -> contrast-relative threshold -> speck removal -> crop ->
stroke-width normalisation -> fit into 20 px -> centre of mass to (14, 14).

Only numpy, Pillow and the standard library are used, so the GUI and the CLI
can call this without Qt or TensorFlow.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from digitpad.errors import ImageError, one_line

Source = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]  # anything else: ImageError

SIZE = 28  # output field, px
FIT = 20  # the digit's longer side is fitted into this many px, as in MNIST
CENTRE = 14.0  # MNIST's mean centre of mass is (13.996, 14.004) in pixel indices
MAX_SIDE = 512  # larger inputs are box-averaged down to this first (speed)
WORK = 80  # the digit's longer side in px while strokes are reshaped (4x FIT)
# Stroke width / longer side of the ink's bounding box in MNIST, measured with
# _stroke_ratio() on all 60,000 training digits taken through this module's own
# steps (ink map, crop, bilinear up to WORK px): median 0.122, quartiles
# 0.103-0.144. That is about 2.4 px of stroke on the 20 px fitted digit.
MNIST_STROKE_RATIO = 0.122
MIN_CONTRAST = 0.12  # weaker ink than this (0-1 distance from background) is no ink
INK_LOW, INK_HIGH = 0.25, 0.70  # ink ramps from 0 to 1 between these fractions of contrast
PEAK_FRACTION = 2e-4  # contrast = the value this fraction of pixels reaches
GRID = 64  # speck analysis runs on a grid of at most GRID x GRID cells
SPECK = 0.2  # a component smaller than this (mass and extent) vs the largest is a speck
MIN_EXTENT = 0.04  # ink spanning less than this part of the image is "nearly blank"
# too_little_ink(): a dot or a dash fills its equivalent ellipse (fill ~1; digits
# 0.2-0.9), a dot is round, a dash lies flat and is at most ~5 pen widths long.
SOLID, DOT_ELONGATION, DASH_ELONGATION, DASH_TILT = 0.9, 1.4, 5.0, 30.0
TINY_EXTENT = 0.6  # ... and spans at most this part of the image's longer side


@dataclass(frozen=True)
class Normalized:
    """A digit in MNIST form."""

    image: np.ndarray  # float32 (28, 28) in [0, 1], white ink on black; all zeros when blank
    blank: bool  # True when there is no ink, or nearly none


# ----------------------------------------------------------------- loading


def load_image(source: Source) -> Image.Image:
    """Return a PIL image for a path, PIL image or array; raise ImageError if unusable."""
    if isinstance(source, np.ndarray):
        pixels = _array_pixels(source)
        if pixels.dtype != np.uint8:
            pixels = np.round(pixels * 255).astype(np.uint8)
        return Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    if isinstance(source, Image.Image):
        _check_size(*source.size)
        try:
            upright = source.getexif().get(0x0112, 1) == 1
            return source if upright else ImageOps.exif_transpose(source)
        except Exception as exc:  # a malformed EXIF block: Pillow raises many kinds
            raise ImageError(f"cannot read the image's EXIF data: {exc}") from None
    if isinstance(source, (str, os.PathLike)):
        return _open_path(Path(source))
    raise ImageError(f"cannot read an image from a {type(source).__name__}")


def _open_path(path: Path) -> Image.Image:
    """Open, decode and upright an image file; the first frame of an animation."""
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.seek(0)
                img.load()
                return ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{path}: image too large (over {Image.MAX_IMAGE_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file") from None
    except Exception as exc:  # Pillow's decoders raise many kinds for a damaged file
        raise ImageError(f"{path}: cannot read the image ({one_line(exc, 200)})") from None


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageError("empty image")
    if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
        raise ImageError(f"image too large ({width}x{height}, over {Image.MAX_IMAGE_PIXELS:,} pixels)")


def _array_pixels(arr: np.ndarray) -> np.ndarray:
    """Validate an array; return (H, W, C), C in 1, 3, 4: uint8 as is, else float32 0-1."""
    if arr.size == 0:
        raise ImageError("empty image array")
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageError(f"image array must be (H, W) or (H, W, 1|3|4), not {arr.shape}")
    _check_size(arr.shape[1], arr.shape[0])
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) * np.float32(1 / 65535)
    if kind == "b":
        return arr.astype(np.float32)
    if kind in "iu":
        if arr.min() < 0 or arr.max() > 255:
            raise ImageError(f"integer image values must lie in 0-255 (dtype {arr.dtype})")
        return arr.astype(np.uint8)
    if kind == "f":
        return _float_pixels(arr)
    raise ImageError(f"unsupported image array dtype {arr.dtype}")


def _float_pixels(arr: np.ndarray) -> np.ndarray:
    """Floats are read as 0-1 when their maximum is at most 1, else as 0-255."""
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():
        raise ImageError("image contains NaN or infinite values")
    low, high = float(out.min()), float(out.max())
    if low < 0 or high > 255:
        raise ImageError(f"image values must lie in 0-1 or 0-255, not {low:g}..{high:g}")
    return out if high <= 1 else out * np.float32(1 / 255)


_CONVERT = {"1": "L", "P": "RGB", "PA": "RGBA", "La": "LA", "RGBa": "RGBA"}
_KEEP = ("L", "LA", "RGB", "RGBA", "I", "F")


def _image_pixels(img: Image.Image) -> np.ndarray:
    """A PIL image as (H, W, C) (C: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), shrunk early.

    8-bit modes stay uint8; 16/32-bit and float modes become float32 in 0-1.
    """
    _check_size(*img.size)
    mode, scale = img.mode, 0.0
    if mode.startswith("I;16"):
        scale, target = 65535.0, "I"
    elif mode == "P" and "transparency" in img.info:
        target = "RGBA"
    else:
        target = _CONVERT.get(mode, mode if mode in _KEEP else "RGB")
    if target != mode:
        img = img.convert(target)
    factor = math.ceil(max(img.size) / MAX_SIDE)
    if factor > 1:
        img = img.reduce(factor)
    arr = np.asarray(img)
    if target == "F":
        arr = _float_pixels(arr)
    elif target == "I":
        high = int(arr.max())
        scale = scale or (255.0 if high <= 255 else 65535.0 if high <= 65535 else float(2**31 - 1))
        arr = np.clip(arr, 0, None).astype(np.float32) * np.float32(1 / scale)
    return arr.reshape(arr.shape[0], arr.shape[1], -1)


def _pixels(source: Source) -> np.ndarray:
    """Any accepted source as (H, W, C) uint8 or float32 0-1, at most MAX_SIDE px a side."""
    if isinstance(source, np.ndarray):
        return _shrink(_array_pixels(source))
    return _image_pixels(load_image(source))


def _shrink(px: np.ndarray) -> np.ndarray:
    """Box-average an array down so its longer side is at most MAX_SIDE."""
    factor = math.ceil(max(px.shape[:2]) / MAX_SIDE)
    if factor == 1:
        return px
    fy, fx = min(factor, px.shape[0]), min(factor, px.shape[1])
    h, w = px.shape[0] // fy, px.shape[1] // fx
    blocks = px[: h * fy, : w * fx].reshape(h, fy, w, fx, px.shape[2])
    out = blocks.mean(axis=(1, 3), dtype=np.float32)
    return np.round(out).astype(np.uint8) if px.dtype == np.uint8 else out


# ---------------------------------------------------------------- ink map


def _ink_map(px: np.ndarray) -> Image.Image:
    """Distance of every pixel from the background colour, as an 8-bit image (polarity-free).

    The background is the median of the border pixels. With real transparency
    the colours are premultiplied by alpha and alpha counts as a channel, so
    opaque strokes on a transparent background are ink whatever their colour.
    """
    if px.dtype == np.uint8 and px.shape[2] == 1:  # the common case, in Pillow's C code
        grey = np.ascontiguousarray(px[..., 0])
        background = int(np.median(_border(grey)))
        return ImageChops.difference(Image.fromarray(grey), Image.new("L", grey.shape[::-1], background))
    planes = np.ascontiguousarray(np.moveaxis(px, 2, 0), dtype=np.float32)  # fast per-channel maths
    if px.dtype == np.uint8:
        planes *= np.float32(1 / 255)
    colours = planes[: len(planes) - (len(planes) in (2, 4))]
    alpha = planes[len(colours) :]
    if alpha.size and float(alpha.min()) < 0.99:  # real transparency
        colours = colours * alpha
    else:
        alpha = alpha[:0]
    dist = np.zeros(px.shape[:2], np.float32)
    for plane in colours:
        dist += np.square(plane - np.float32(np.median(_border(plane))))
    dist = np.sqrt(dist * np.float32(1 / len(colours)))
    for plane in alpha:
        dist = np.maximum(dist, np.abs(plane - np.float32(np.median(_border(plane)))))
    return Image.fromarray(np.clip(dist * 255 + 0.5, 0, 255).astype(np.uint8), "L")


def _border(px: np.ndarray) -> np.ndarray:
    """The pixels along the four edges."""
    return np.concatenate([px[0], px[-1], px[1:-1, 0], px[1:-1, -1]])


def _contrast(dist: Image.Image) -> int:
    """The ink level (0-255) a small fraction of pixels reaches: a max that ignores lone pixels."""
    from_top = np.cumsum(dist.histogram()[::-1])
    need = max(1, round(dist.width * dist.height * PEAK_FRACTION))
    return 255 - int(np.searchsorted(from_top, need))


def _ink(dist: Image.Image, contrast: int) -> Image.Image:
    """Grey ink 0-255: zero below INK_LOW x contrast (noise, paper grain), full above INK_HIGH."""
    low, span = INK_LOW * contrast, (INK_HIGH - INK_LOW) * contrast
    levels = np.round((np.arange(256) - low) * (255 / span))
    return dist.point(np.clip(levels, 0, 255).astype(np.uint8).tolist())


# ---------------------------------------------------------------- specks


def _runs(mask: np.ndarray) -> tuple[list[int], list[int], list[int], list[int]]:
    """The horizontal runs of a boolean grid and their 8-connected component numbers.

    Returns (row, start, end (exclusive), component) per run. A union-find over
    runs, so the cost follows the number of runs (tens for a digit).
    """
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = (a.tolist() for a in np.nonzero(edges == 1))
    ends = np.nonzero(edges == -1)[1].tolist()
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above, begin = 0, 0  # first run of the row above / of this row
    for i in range(len(rows)):
        if i and rows[i] != rows[i - 1]:
            above, begin = (begin, i) if rows[i] == rows[i - 1] + 1 else (i, i)
        j = above
        while j < begin and ends[j] < starts[i]:
            j += 1
        above = j  # runs left of this one cannot touch the next one either
        while j < begin and starts[j] <= ends[i]:
            a, b = root(i), root(j)
            parent[max(a, b)] = min(a, b)
            j += 1
    return rows, starts, ends, [root(i) for i in range(len(rows))]


def _remove_specks(ink: Image.Image) -> Image.Image:
    """Zero the components far smaller (in mass and extent) than the largest one.

    Components are found on a coarse grid, so ink a few px apart counts as one
    piece: broken pencil strokes stay together, lone dots and grain go.
    """
    step = max(1, math.ceil(max(ink.size) / GRID))
    mass = np.asarray(ink.reduce(step) if step > 1 else ink, np.float32)  # mean ink per cell
    rows, starts, ends, comps = _runs(mass * (step * step) >= 64)  # a quarter px of ink
    if len(set(comps)) < 2:
        return ink
    cumulative = np.pad(np.cumsum(mass, axis=1), ((0, 0), (1, 0)))
    run_mass = cumulative[rows, ends] - cumulative[rows, starts]
    ids, comp = np.unique(comps, return_inverse=True)
    comp_mass = np.bincount(comp, weights=run_mass)
    spans = []
    for low_of, high_of in ((rows, rows), (starts, np.subtract(ends, 1))):
        low, high = np.full(len(ids), 1 << 30), np.full(len(ids), -1)
        np.minimum.at(low, comp, low_of)
        np.maximum.at(high, comp, high_of)
        spans.append(high - low + 1)
    extent = np.maximum(*spans)
    big = int(np.argmax(comp_mass))
    keep = (comp_mass >= SPECK * comp_mass[big]) | (extent >= SPECK * extent[big])
    if keep.all():
        return ink
    kept = np.zeros(mass.shape, np.float32)
    for row, start, end, k in zip(rows, starts, ends, keep[comp]):
        kept[row, start:end] = k
    kept = _dilate(kept, 1) > 0  # keep the faint rims of kept strokes
    full = np.repeat(np.repeat(kept, step, axis=0), step, axis=1)[: ink.height, : ink.width]
    return Image.fromarray(np.asarray(ink) * full.astype(np.uint8), "L")


# ---------------------------------------------------------------- strokes


def _dilate(img: np.ndarray, steps: int, first: int = 0) -> np.ndarray:
    """Grey dilation by `steps` px, alternating square and cross (a near-round pen).

    The image should have `steps` px of empty margin: nothing grows past its edge.
    ``first`` is the number of steps already taken, to keep the alternation going.
    """
    for i in range(first, first + steps):
        src, out = img, img.copy()
        np.maximum(out[:, 1:], src[:, :-1], out=out[:, 1:])
        np.maximum(out[:, :-1], src[:, 1:], out=out[:, :-1])
        if i % 2 == 0:  # square: grow the row-grown image vertically
            src = out.copy()
        np.maximum(out[1:], src[:-1], out=out[1:])
        np.maximum(out[:-1], src[1:], out=out[:-1])
        img = out
    return img


def _pad(img: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Zero-pad an image (np.pad is slow for small arrays)."""
    out = np.zeros((img.shape[0] + top + bottom, img.shape[1] + left + right), img.dtype)
    out[top : top + img.shape[0], left : left + img.shape[1]] = img
    return out


def _grow(img: np.ndarray, amount: float) -> np.ndarray:
    """Dilate (amount > 0) or erode (< 0) by a fractional number of px per side.

    Whole steps are morphological; the fraction blends in one more step. The
    image needs a margin of empty px at least as wide as the amount.
    """
    if amount < 0:
        return 1 - _grow(1 - img, -amount)
    steps = math.floor(amount)
    near = _dilate(img, steps)
    return near + (amount - steps) * (_dilate(near, 1, first=steps) - near)


def _stroke_ratio(ink: np.ndarray) -> float:
    """Mean stroke width / longer side of the ink's bounding box (scale-free).

    Width = 2 x area / perimeter. The perimeter comes from Crofton's formula:
    ink/no-ink changes counted along rows, columns and both diagonals, which
    measures strokes of any direction alike (within 1 %).
    """
    full = 255.0 if ink.dtype == np.uint8 else 1.0
    mask = _pad(ink >= full / 2, 1, 1, 1, 1)
    axial = np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    diagonal = np.count_nonzero(mask[1:, 1:] != mask[:-1, :-1]) + np.count_nonzero(mask[1:, :-1] != mask[:-1, 1:])
    perimeter = math.pi / 8 * (axial + diagonal / math.sqrt(2))
    if perimeter == 0:
        return MNIST_STROKE_RATIO
    return 2 * float(ink.sum()) / full / perimeter / _longer_side(ink > full / 10)


def _longer_side(mask: np.ndarray) -> int:
    """The longer side of the bounding box of a mask, in px (1 for an empty mask)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return 1
    return max(int(rows[-1] - rows[0]), int(cols[-1] - cols[0])) + 1


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample a float image to (width, height): box-average down, bilinear up."""
    if (img.shape[1], img.shape[0]) == size:
        return img
    method = Image.Resampling.BOX if size[0] <= img.shape[1] else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(img, "F").resize(size, method))


def _normalise_strokes(crop: np.ndarray) -> np.ndarray:
    """Bring the cropped 8-bit ink to WORK px with MNIST's stroke width / size ratio.

    Strokes that would end up under 2 px at WORK size are first widened at full
    resolution, so shrinking keeps them solid; the rest happens at WORK size.
    """
    side, ratio = max(crop.shape), _stroke_ratio(crop)
    width = ratio * side
    if side > WORK and width * WORK / side < 2:
        pre = math.ceil((2 * side / WORK - width) / 2)
        crop = _dilate(_pad(crop, pre, pre, pre, pre), pre)
        side, width = side + 2 * pre, width + 2 * pre
    scale = WORK / side
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    work = _resize(crop.astype(np.float32) * np.float32(1 / 255), size)
    if scale > 1:  # a small source: measure at WORK size, where its pixels are smoothed
        width = _stroke_ratio(work) * WORK
    else:
        width *= scale
    grow = (MNIST_STROKE_RATIO * WORK - width) / (1 - MNIST_STROKE_RATIO) / 2  # px per side
    target = width + 2 * grow
    work = _pad(work, *[math.ceil(abs(grow) + target) + 2] * 4)
    return _grow(work, grow) if grow >= 0 else _thin(work, grow, target)


def _thin(work: np.ndarray, grow: float, target: float) -> np.ndarray:
    """Erode strokes by -grow px a side, then put back, at the target width, the
    parts that erosion wiped out (hairlines of a bold font, a light brush end)."""
    thin = _grow(work, grow)
    kept = _dilate((thin > 0.05).astype(np.uint8), math.ceil(-grow) + 1)
    lost = work * (kept == 0)
    if lost.sum() < 0.02 * work.sum():
        return thin
    lost_width = _stroke_ratio(lost) * _longer_side(lost > 0.1)
    return np.maximum(thin, _grow(lost, max(0.0, (target - lost_width) / 2)))


# ---------------------------------------------------------------- placing


def _place(work: np.ndarray) -> np.ndarray:
    """Fit the ink's longer side into FIT px and put its centre of mass at CENTRE."""
    strong = work > 0.1
    scale = FIT / _longer_side(strong if strong.any() else work > 0)  # output px per work px
    mass = float(work.sum())
    cy = float(work.sum(axis=1) @ np.arange(work.shape[0])) / mass + 0.5
    cx = float(work.sum(axis=0) @ np.arange(work.shape[1])) / mass + 0.5
    out = np.clip(_render(work, cx - (CENTRE + 0.5) / scale, cy - (CENTRE + 0.5) / scale, SIZE / scale), 0, 1)
    for _ in range(2):  # the box filter moves whole work px; a sub-pixel shift finishes the job
        total = float(out.sum())
        if total <= 0:
            break
        oy = float(out.sum(axis=1) @ np.arange(SIZE)) / total
        ox = float(out.sum(axis=0) @ np.arange(SIZE)) / total
        if abs(oy - CENTRE) <= 0.1 and abs(ox - CENTRE) <= 0.1:
            break
        out = _shift(_shift(out, CENTRE - oy, 0), CENTRE - ox, 1)
    return out


def _shift(img: np.ndarray, amount: float, axis: int) -> np.ndarray:
    """Move an image by a fractional number of px along one axis (linear interpolation, zero fill)."""
    whole = math.floor(amount)
    frac = amount - whole
    return (1 - frac) * _roll(img, whole, axis) + frac * _roll(img, whole + 1, axis)


def _roll(img: np.ndarray, by: int, axis: int) -> np.ndarray:
    """Move an image by whole px along one axis, filling with zeros."""
    out = np.zeros_like(img)
    n = img.shape[axis]
    if abs(by) >= n:
        return out
    src = [slice(None)] * 2
    dst = [slice(None)] * 2
    src[axis], dst[axis] = slice(max(0, -by), n - max(0, by)), slice(max(0, by), n - max(0, -by))
    out[tuple(dst)] = img[tuple(src)]
    return out


def _render(work: np.ndarray, left: float, top: float, span: float) -> np.ndarray:
    """Box-resample the square (left, top, span) of `work` (padded as needed) to 28x28."""
    pad_l, pad_t = max(0, math.ceil(-left)), max(0, math.ceil(-top))
    pad_r = max(0, math.ceil(left + span - work.shape[1]))
    pad_b = max(0, math.ceil(top + span - work.shape[0]))
    if pad_l or pad_t or pad_r or pad_b:
        work = _pad(work, pad_t, pad_b, pad_l, pad_r)
    box = (left + pad_l, top + pad_t, left + pad_l + span, top + pad_t + span)
    image = Image.fromarray(np.ascontiguousarray(work, np.float32), "F")
    return np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BOX, box=box), np.float32)


# ---------------------------------------------------------------- public


def prepare(source: Source) -> Normalized:
    """Normalise a path, PIL image or array into MNIST form; say whether it is blank."""
    px = _pixels(source)
    dist = _ink_map(px)
    contrast = _contrast(dist)
    if contrast < MIN_CONTRAST * 255:
        return _blank()
    ink = _remove_specks(_ink(dist, contrast))
    box = ink.getbbox()
    if box is None or max(box[2] - box[0], box[3] - box[1]) < max(2, MIN_EXTENT * max(ink.size)):
        return _blank()
    return Normalized(_place(_normalise_strokes(np.asarray(ink.crop(box)))), False)


def too_little_ink(source: Source) -> bool:
    """True for a dot or a short dash: a small solid mark, round or short and lying flat.

    The ink must span at most TINY_EXTENT of the image; then its shape decides,
    whatever the pen: the ink's second moments give its equivalent ellipse, and
    ink that fills that ellipse (no strokes around holes or bends) and is round
    (a dot) or short and within DASH_TILT degrees of horizontal (a dash) is too
    little to be a digit. Normalising such a mark would only blow it up into a
    disc or a bar. Blank is False.
    """
    px = _pixels(source)
    dist = _ink_map(px)
    contrast = _contrast(dist)
    if contrast < MIN_CONTRAST * 255:
        return False
    ink = _remove_specks(_ink(dist, contrast))
    box = ink.getbbox()
    if box is None or max(box[2] - box[0], box[3] - box[1]) > TINY_EXTENT * max(ink.size):
        return False
    weight = np.asarray(ink.crop(box), np.float64) * (1 / 255)
    mass = float(weight.sum())
    ys, xs = np.arange(weight.shape[0]), np.arange(weight.shape[1])
    cy, cx = float(weight.sum(axis=1) @ ys) / mass, float(weight.sum(axis=0) @ xs) / mass
    dy, dx = ys - cy, xs - cx
    syy = float(weight.sum(axis=1) @ (dy * dy)) / mass + 1 / 12
    sxx = float(weight.sum(axis=0) @ (dx * dx)) / mass + 1 / 12
    sxy = float(dy @ weight @ dx) / mass
    half, spread = (sxx + syy) / 2, math.hypot((sxx - syy) / 2, sxy)
    major, minor = half + spread, max(half - spread, 1e-9)
    fill = mass / (4 * math.pi * math.sqrt(major * minor))  # 1 for a filled ellipse
    elongation = math.sqrt(major / minor)
    tilt = abs(math.degrees(0.5 * math.atan2(2 * sxy, sxx - syy)))  # 0 = horizontal
    if fill < SOLID:
        return False
    return elongation < DOT_ELONGATION or (elongation < DASH_ELONGATION and tilt < DASH_TILT)


def to_mnist(source: Source) -> np.ndarray:
    """The 28x28 float32 MNIST-form image of a digit (all zeros when blank)."""
    return prepare(source).image


def plain_resize(source: Source) -> np.ndarray:
    """The naive baseline: the whole image as grey ink on black, resized to 28x28."""
    small = _ink_map(_pixels(source)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    return np.asarray(small, np.float32) * np.float32(1 / 255)


def _blank() -> Normalized:
    return Normalized(np.zeros((SIZE, SIZE), np.float32), True)
