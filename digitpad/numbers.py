"""Split a written number into digits and read them all in one batch (no Qt, no TensorFlow).

The ink is found with :mod:`digitpad.imaging`'s own steps (background from the
border, so either polarity; contrast-relative threshold; speck removal), at
its working resolution. Pieces of ink become digits in one of two ways:

* from the pixels alone: 8-connected components, merged while two of them
  overlap horizontally by at least half the narrower one's width, so the parts
  of one digit (a 4 in two strokes, a 5's separate top bar, a 7's crossbar, a
  1's base, a dot above) stay together while neighbours a few px apart do not;
  a flat piece (a bar sticking out) then joins the digit it overlaps most;
* from the strokes, when the caller has them (the GUI pad): strokes are grouped
  by the same rules, and the ink is cut into vertical bands midway between
  neighbouring groups, which also separates digits whose ink touches.

Pieces much smaller than the typical digit (``SPECK_SIDE``) are specks.

Touching digits that neither way separates show as one piece. A piece at
least ``TOUCH_WIDE`` times as wide as it is tall is cut along up to ``CUTS``
top-to-bottom paths through the least ink (a straight one is the column with
the least ink; a bent one follows the gap between slanted digits) within its
central window. The classifier reads the whole piece and both halves of each
cut in the same batch as all the other digits, and a cut is kept when both
halves read with at least ``HALF_SURE`` confidence and either the cut crosses
at most ``TOUCH_INK`` stroke widths of ink (the halves only touch), or the
piece is wider than tall and its weaker half reads with higher confidence
than the whole piece (a "not a digit" answer counts as confidence 0). Halves
are tried again in a further batch, at most ``ROUNDS`` in all. The thresholds
were chosen on generated numbers made of MNIST *training* digits
(``benchmarks/bench_numbers.py`` measures on test digits). Two 1s touching
side by side are narrower than ``TOUCH_WIDE`` and stay one piece.

Every digit is cropped with a margin, the ink of other digits masked out, and
normalised by :func:`digitpad.imaging.prepare` exactly like a single drawing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from digitpad import imaging
from digitpad.contracts import Prediction, Predictor

MERGE_OVERLAP = 0.5  # pieces overlapping horizontally by this part of the narrower one are one digit
FLAT = 0.5  # a piece under this part of the median height joins the digit it overlaps most
SPECK_SIDE = 0.25  # a piece whose longer side is under this part of the median digit height is a speck
TOUCH_WIDE = 0.7  # a piece at least this wide for its height may be two touching digits
TOUCH_INK = 0.4  # a cut through at most this much ink (in stroke widths) separates touching digits
WIDE = 1.0  # a piece wider than its height times this may also be split through more ink
HALF_SURE = 0.8  # both halves of a kept cut read with at least this confidence
CUT_WINDOW = 0.15  # cuts stay this part of the width away from either side
CUTS = 2  # cut paths tried per piece
ROUNDS = 3  # classifier batches at most (one, unless split halves may be touching digits too)
MARGIN = 2  # px of paper around each digit's crop
STEP = 0.1  # cost of a sideways step of a cut path, in ink pixels

Stroke = Sequence[Sequence[float]]  # (x, y) points in the image's pixel coordinates


@dataclass(frozen=True)
class Box:
    """A digit's bounding box in input pixels; x1 and y1 are exclusive, as in PIL."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def to_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: what it reads as, where it is, and the full prediction."""

    box: Box
    prediction: Prediction

    @property
    def digit(self) -> int | None:
        return None if self.not_a_digit else self.prediction.digit

    @property
    def confidence(self) -> float:
        return float(self.prediction.confidence)

    @property
    def not_a_digit(self) -> bool:
        return bool(getattr(self.prediction, "not_a_digit", False)) or self.prediction.digit is None

    @property
    def symbol(self) -> str:
        """The digit as a character, ``?`` for a mark that is not a digit."""
        return "?" if self.digit is None else str(self.digit)

    def to_json(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": round(self.confidence, 6), "box": self.box.to_list(),
                "not_a_digit": self.not_a_digit}


@dataclass(frozen=True)
class NumberReading:
    """The digits of a number, left to right."""

    digits: tuple[DigitReading, ...]

    @property
    def number(self) -> str | None:
        """``"2026"``, ``?`` in place of a non-digit; None when there is no ink."""
        return "".join(d.symbol for d in self.digits) if self.digits else None

    @property
    def boxes(self) -> list[Box]:
        return [d.box for d in self.digits]

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "digits": [d.to_json() for d in self.digits]}


# ------------------------------------------------------------------ ink


@dataclass(frozen=True)
class _Ink:
    """An image's ink at imaging's working resolution, with its connected components."""

    dist: np.ndarray  # uint8 (H, W): distance of each pixel from the paper colour
    labels: np.ndarray  # int32 (H, W): 0 paper, k >= 1 component k (8-connected)
    factor: int  # input px per working px
    size: tuple[int, int]  # input (width, height)


@dataclass(frozen=True, eq=False)
class _Region:
    """The ink of one (candidate) digit: the pixels of components ``ids`` (all when
    None) from column ``left[y]`` up to, not including, ``right[y]`` in each row y,
    so a cut between two digits may bend; (x0, y0, x1, y1) is its bounding box."""

    ids: frozenset[int] | None
    left: np.ndarray  # int (H,)
    right: np.ndarray  # int (H,)
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def pixels(self, ink: _Ink, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The region's pixels within rows [y0, y1) and columns [x0, x1), as a boolean array."""
        cols = np.arange(x0, x1)
        inside = (cols >= self.left[y0:y1, None]) & (cols < self.right[y0:y1, None])
        return _mask(ink.labels[y0:y1, x0:x1], self.ids) & inside


def _load_ink(source: imaging.Source) -> _Ink | None:
    """The ink of a path, PIL image or array; None when there is none."""
    if isinstance(source, np.ndarray):
        size = (int(source.shape[1]), int(source.shape[0])) if source.ndim >= 2 else (0, 0)
    else:
        source = imaging.load_image(source)
        size = source.size
    px = imaging._pixels(source)
    factor = max(1, math.ceil(max(size) / imaging.MAX_SIDE))
    dist = imaging._ink_map(px)
    contrast = imaging._contrast(dist)
    if contrast < imaging.MIN_CONTRAST * 255:
        return None
    mask = np.asarray(imaging._remove_specks(imaging._ink(dist, contrast))) > 0
    if not mask.any():
        return None
    return _Ink(np.asarray(dist), _label(mask), factor, size)


def _label(mask: np.ndarray) -> np.ndarray:
    """8-connected component numbers 1..K of a boolean image (0 off the ink)."""
    rows, starts, ends, roots = (np.asarray(a, np.int64) for a in imaging._runs(mask))
    _, comp = np.unique(roots, return_inverse=True)
    lengths = ends - starts
    first = np.repeat(rows * mask.shape[1] + starts, lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    labels = np.zeros(mask.shape, np.int32)
    labels.flat[first + offset] = np.repeat(comp + 1, lengths)
    return labels


def _mask(labels: np.ndarray, ids: frozenset[int] | None) -> np.ndarray:
    """Where the labels are one of ``ids`` (any ink when None)."""
    if ids is None:
        return labels > 0
    wanted = np.zeros(max(ids) + 1, bool)
    wanted[list(ids)] = True
    return wanted[np.minimum(labels, len(wanted) - 1)] & (labels < len(wanted))


def _region(ink: _Ink, ids: frozenset[int] | None, left: Any, right: Any) -> _Region | None:
    """The region of components ``ids`` between per-row (or constant) bounds; None without ink."""
    height, width = ink.labels.shape
    left = np.clip(np.broadcast_to(np.asarray(left, np.int64), (height,)), 0, width)
    right = np.clip(np.broadcast_to(np.asarray(right, np.int64), (height,)), 0, width)
    lo, hi = int(left.min()), int(right.max())
    if hi <= lo:
        return None
    probe = _Region(ids, left, right, lo, 0, hi, height)
    mask = probe.pixels(ink, 0, height, lo, hi)
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if not len(cols):
        return None
    return _Region(ids, left, right, lo + int(cols[0]), int(rows[0]), lo + int(cols[-1]) + 1, int(rows[-1]) + 1)


def _component_boxes(ink: _Ink) -> np.ndarray:
    """(K, 4) bounding boxes x0, y0, x1, y1 (exclusive) of components 1..K."""
    labels = ink.labels
    ys, xs = np.nonzero(labels)
    k = labels[ys, xs] - 1
    count = int(labels.max())
    low = np.full((2, count), 1 << 30, np.int64)
    high = np.full((2, count), -1, np.int64)
    for row, values in ((0, xs), (1, ys)):
        np.minimum.at(low[row], k, values)
        np.maximum.at(high[row], k, values)
    return np.stack([low[0], low[1], high[0] + 1, high[1] + 1], axis=1)


# -------------------------------------------------------------- grouping


Span = tuple[float, float, float, float]  # x0, y0, x1, y1


def _overlap_groups(boxes: list[Span]) -> list[list[int]]:
    """Indices of boxes grouped into digits, left to right.

    Groups merge while two overlap horizontally by MERGE_OVERLAP of the
    narrower one's width; then a flat group (under FLAT of the median height:
    a bar, a crossbar, a dot) joins the group it overlaps most, however little.
    """
    groups = [([i], *box) for i, box in enumerate(boxes)]

    def merge(a: int, b: int) -> None:
        (ia, ax0, ay0, ax1, ay1), (ib, bx0, by0, bx1, by1) = groups[a], groups[b]
        groups[a] = (ia + ib, min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1))
        del groups[b]

    def shared(a: int, b: int) -> float:
        return min(groups[a][3], groups[b][3]) - max(groups[a][1], groups[b][1])

    while len(groups) > 1:
        best, pair = MERGE_OVERLAP, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                narrower = min(groups[a][3] - groups[a][1], groups[b][3] - groups[b][1])
                ratio = shared(a, b) / max(1e-9, narrower)
                if ratio >= best:
                    best, pair = ratio, (a, b)
        if pair is None:
            break
        merge(*pair)
    while len(groups) > 1:
        typical = float(np.median([g[4] - g[2] for g in groups]))
        flat = [a for a in range(len(groups)) if groups[a][4] - groups[a][2] < FLAT * typical]
        moves = [(shared(a, b), a, b) for a in flat for b in range(len(groups)) if b != a and shared(a, b) > 0]
        if not moves:
            break
        _, a, b = max(moves)
        merge(min(a, b), max(a, b))
    return [sorted(g[0]) for g in sorted(groups, key=lambda g: g[1])]


def _from_components(ink: _Ink) -> list[_Region]:
    """Connected components merged by horizontal overlap."""
    boxes = _component_boxes(ink)
    height = ink.labels.shape[0]
    regions = []
    for group in _overlap_groups([tuple(map(float, b)) for b in boxes]):
        x0, y0 = boxes[group, :2].min(axis=0)
        x1, y1 = boxes[group, 2:].max(axis=0)
        regions.append(_Region(frozenset(i + 1 for i in group), np.full(height, x0), np.full(height, x1),
                               int(x0), int(y0), int(x1), int(y1)))
    return regions


def _from_strokes(ink: _Ink, strokes: Sequence[Stroke]) -> list[_Region]:
    """Vertical bands of ink, one per group of horizontally overlapping strokes."""
    spans, length = [], 0.0
    for stroke in strokes:
        points = np.asarray(stroke, np.float64).reshape(-1, 2) / ink.factor
        if len(points):
            spans.append((*points.min(axis=0), *points.max(axis=0)))
            length += float(np.hypot(*np.diff(points, axis=0).T).sum()) if len(points) > 1 else 0.0
    if not spans:
        return _from_components(ink)
    pen = float(np.count_nonzero(ink.labels)) / max(length, 1.0)  # ink area / stroke length
    half = min(max(pen / 2, 1.0), 0.5 * ink.labels.shape[0])
    padded = [(x0 - half, y0 - half, x1 + half, y1 + half) for x0, y0, x1, y1 in spans]
    groups = _overlap_groups(padded)
    ranges = [(min(padded[i][0] for i in g), max(padded[i][2] for i in g)) for g in groups]
    cuts = [round((left[1] + right[0]) / 2) for left, right in zip(ranges, ranges[1:])]
    edges = [0, *cuts, ink.labels.shape[1]]
    bands = [_region(ink, None, lo, hi) for lo, hi in zip(edges, edges[1:])]
    return [b for b in bands if b is not None]


def _drop_specks(regions: list[_Region]) -> list[_Region]:
    if not regions:
        return regions
    typical = float(np.median([r.height for r in regions]))
    return [r for r in regions if max(r.width, r.height) >= SPECK_SIDE * typical]


def _regions(ink: _Ink, strokes: Sequence[Stroke] | None) -> list[_Region]:
    found = _from_strokes(ink, strokes) if strokes else _from_components(ink)
    return _drop_specks(found)


# ------------------------------------------------------------- splitting


@dataclass(frozen=True, eq=False)
class _Cut:
    """A split of a piece of ink into two halves."""

    left: _Region
    right: _Region
    joined: float  # ink joining the halves across the cut, in stroke widths
    aspect: float  # the whole piece's width / height
    height: int  # the whole piece's height


def _may_touch(region: _Region) -> bool:
    return region.width >= TOUCH_WIDE * region.height and region.width >= 4


def _cuts(ink: _Ink, region: _Region) -> list[_Cut]:
    """Up to CUTS splits of a piece along its cheapest top-to-bottom paths, those worth reading.

    A path moves down one row at a time, one column left, right or straight
    (a sideways step costs STEP), stays within the central window, and costs
    the ink pixels it crosses; the cheapest paths ending at least a tenth of
    the width apart are the candidates. A straight path is the column with the
    least ink; a bent one follows the gap between slanted touching digits.
    Only cuts that _accept could keep are returned.
    """
    y0, y1, x0 = region.y0, region.y1, region.x0
    low = max(1, math.ceil(CUT_WINDOW * region.width))
    high = min(region.width - 1, math.floor((1 - CUT_WINDOW) * region.width))
    if high < low:
        return []
    ink_px = region.pixels(ink, y0, y1, x0, region.x1)
    cost = ink_px[:, low:high + 1].astype(np.float64)
    back = np.zeros(cost.shape, np.int8)  # column step taken into each cell: -1, 0 or +1
    moves = np.full((3, cost.shape[1]), np.inf)  # arriving from the left, from above, from the right
    total = cost[0].copy()
    for y in range(1, len(cost)):
        moves[0, 1:] = total[:-1] + STEP
        moves[1] = total
        moves[2, :-1] = total[1:] + STEP
        back[y] = 1 - moves.argmin(axis=0)  # from the left neighbour means one column right of it
        total = moves.min(axis=0) + cost[y]
    apart = max(1, round(0.1 * region.width))
    ends: list[int] = []
    for end in np.argsort(total, kind="stable"):
        if len(ends) == CUTS:
            break
        if all(abs(int(end) - e) >= apart for e in ends):
            ends.append(int(end))
    pen = max(1.0, imaging._stroke_ratio(ink_px.astype(np.uint8) * 255) * max(ink_px.shape))
    aspect = region.width / region.height
    rows = np.arange(len(cost))
    out: list[_Cut] = []
    seen: set[bytes] = set()
    for end in ends:
        path = np.empty(len(cost), np.int64)
        path[-1] = end
        for y in range(len(cost) - 1, 0, -1):
            path[y - 1] = path[y] - back[y, path[y]]
        path += low  # columns of the piece's box; each row's cut pixel goes right
        if path.tobytes() in seen:  # paths that end apart may still have merged higher up
            continue
        seen.add(path.tobytes())
        joined = int(np.count_nonzero(ink_px[rows, path - 1] & ink_px[rows, path])) / pen
        if joined > TOUCH_INK and aspect <= WIDE:
            continue
        boundary = np.empty(ink.labels.shape[0], np.int64)
        boundary[y0:y1] = x0 + path
        boundary[:y0], boundary[y1:] = boundary[y0], boundary[y1 - 1]
        left = _region(ink, region.ids, region.left, np.minimum(region.right, boundary))
        right = _region(ink, region.ids, np.maximum(region.left, boundary), region.right)
        if left is not None and right is not None:
            out.append(_Cut(left, right, joined, aspect, region.height))
    return out


def _accept(cut: _Cut, whole: float, left: float, right: float) -> float | None:
    """The cut's worth (its weaker half's confidence) when it should be kept, else None."""
    weaker = min(left, right)
    if weaker < HALF_SURE or min(cut.left.height, cut.right.height) < FLAT * cut.height:
        return None  # a weak reading, or a flat sliver (the end of a bar) is no digit
    touching = cut.joined <= TOUCH_INK  # the halves meet at a point or two
    better = cut.aspect > WIDE and weaker > whole  # too wide for one digit, and reads better as two
    return weaker if touching or better else None


def _score(prediction: Prediction) -> float:
    """Confidence as a digit; 0 for blank or not-a-digit."""
    if prediction.blank or getattr(prediction, "not_a_digit", False) or prediction.digit is None:
        return 0.0
    return float(prediction.confidence)


# --------------------------------------------------------------- reading


def _crop(ink: _Ink, region: _Region) -> np.ndarray:
    """The region's ink distance map with a paper margin; other digits' ink masked out."""
    height, width = ink.labels.shape
    y0, y1 = max(0, region.y0 - MARGIN), min(height, region.y1 + MARGIN)
    x0, x1 = max(0, region.x0 - MARGIN), min(width, region.x1 + MARGIN)
    keep = imaging._dilate(_mask(ink.labels[y0:y1, x0:x1], region.ids).astype(np.uint8), 1)  # with the rims
    cols = np.arange(x0, x1)
    keep &= (cols >= region.left[y0:y1, None]) & (cols < region.right[y0:y1, None])  # its own columns only
    out = np.zeros((y1 - y0 + 2 * MARGIN, x1 - x0 + 2 * MARGIN), np.uint8)
    out[MARGIN:-MARGIN, MARGIN:-MARGIN] = ink.dist[y0:y1, x0:x1] * keep
    return out


class ReadCache:
    """What the last readings found for each digit crop, so a reading after one more stroke
    normalises and classifies only the digit that stroke changed (the others' crops are
    byte-for-byte the same). Holds ``size`` crops of one predictor; a new predictor empties it."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._predictor: Predictor | None = None
        self._prepared: dict[bytes, imaging.Normalized] = {}
        self._read: dict[bytes, Prediction] = {}

    def __len__(self) -> int:
        return len(self._prepared)

    def use(self, predictor: Predictor) -> None:
        """Forget everything when ``predictor`` is not the one the cache was filled with."""
        if predictor is not self._predictor:
            self._predictor = predictor
            self._prepared.clear()
            self._read.clear()

    def prepare(self, crop: np.ndarray) -> tuple[bytes, imaging.Normalized]:
        """(key, :func:`digitpad.imaging.prepare` of ``crop``), computed once per distinct crop."""
        key = hashlib.blake2b(np.asarray(crop.shape, np.int64).tobytes() + crop.tobytes(), digest_size=16).digest()
        if key not in self._prepared:
            while len(self._prepared) >= self.size:  # oldest first: dicts keep insertion order
                oldest = next(iter(self._prepared))
                del self._prepared[oldest]
                self._read.pop(oldest, None)
            self._prepared[key] = imaging.prepare(crop)
        return key, self._prepared[key]

    def classify(self, predictor: Predictor, keys: list[bytes], images: list[np.ndarray]) -> list[Prediction]:
        """Readings of ``images`` (by their crop ``keys``), asking the model only for new ones."""
        out: list[Prediction | None] = [self._read.get(key) for key in keys]
        new = [i for i, found in enumerate(out) if found is None]
        for i, found in zip(new, _classify(predictor, [images[i] for i in new])):
            out[i] = found
            if keys[i] in self._prepared:  # not already pushed out by a larger reading
                self._read[keys[i]] = found
        return [found for found in out if found is not None]


def _classify(predictor: Predictor, images: list[np.ndarray]) -> list[Prediction]:
    """Read prepared 28x28 images in one batch, each with the model's not-a-digit verdict."""
    return predictor.predict_prepared_many(np.stack(images)) if images else []


def _read_regions(ink: _Ink, regions: list[_Region], predictor: Predictor,
                  cache: ReadCache | None = None) -> list[tuple[_Region, Prediction]]:
    """Read every region, splitting touching digits where the classifier agrees."""
    cache = cache if cache is not None else ReadCache(size=1 << 30)
    cache.use(predictor)
    done: list[tuple[_Region, Prediction]] = []
    pending: list[tuple[_Region, Prediction | None]] = [(r, None) for r in regions]
    for round_ in range(ROUNDS):
        if not pending:
            break
        last = round_ == ROUNDS - 1
        plans = [(r, known, [] if last or not _may_touch(r) else _cuts(ink, r)) for r, known in pending]
        wanted = [r for r, known, _ in plans if known is None]
        wanted += [half for _, _, cuts in plans for cut in cuts for half in (cut.left, cut.right)]
        prepared = {id(r): cache.prepare(_crop(ink, r)) for r in wanted}
        inked = [r for r in wanted if not prepared[id(r)][1].blank]
        readings = cache.classify(predictor, [prepared[id(r)][0] for r in inked],
                                  [prepared[id(r)][1].image for r in inked])
        read = dict(zip((id(r) for r in inked), readings))
        pending = []
        for region, known, cuts in plans:
            whole = known or read.get(id(region))
            best, worth = None, -1.0
            for cut in cuts:
                if id(cut.left) in read and id(cut.right) in read:
                    value = _accept(cut, _score(whole) if whole is not None else 0.0,
                                    _score(read[id(cut.left)]), _score(read[id(cut.right)]))
                    if value is not None and value > worth:
                        best, worth = cut, value
            if best is not None:
                pending += [(best.left, read[id(best.left)]), (best.right, read[id(best.right)])]
            elif whole is not None:
                done.append((region, whole))
    done.sort(key=lambda item: item[0].x0 + item[0].x1)
    return done


def _box(ink: _Ink, region: _Region) -> Box:
    f, (width, height) = ink.factor, ink.size
    return Box(region.x0 * f, region.y0 * f, min(width, region.x1 * f), min(height, region.y1 * f))


# ---------------------------------------------------------------- public


def segment(gray: imaging.Source, strokes: Sequence[Stroke] | None = None,
            predictor: Predictor | None = None) -> list[Box]:
    """The boxes of the digits in a picture of a number, left to right (input px).

    ``gray`` is anything :func:`digitpad.imaging.prepare` takes (either
    polarity); ``strokes`` are the drawn strokes as lists of (x, y) points in
    the same pixel coordinates, when known. Touching digits are split only
    when a ``predictor`` is given to verify the cut.
    """
    ink = _load_ink(gray)
    if ink is None:
        return []
    regions = _regions(ink, strokes)
    if predictor is not None:
        regions = [r for r, _ in _read_regions(ink, regions, predictor)]
    return [_box(ink, r) for r in regions]


def read_number(gray: imaging.Source, predictor: Predictor,
                strokes: Sequence[Stroke] | None = None, cache: ReadCache | None = None) -> NumberReading:
    """Segment a picture of a number and read every digit (all in one classifier batch).

    A ``cache`` kept between calls (the GUI pad's) skips the digits an earlier call read."""
    ink = _load_ink(gray)
    if ink is None:
        return NumberReading(())
    read = _read_regions(ink, _regions(ink, strokes), predictor, cache)
    return NumberReading(tuple(DigitReading(_box(ink, r), p) for r, p in read))
