"""Number mode's core: ink split into digits and read with the bundled model.

Numbers are generated from MNIST *test* digits by ``benchmarks/bench_numbers.py``
(2-6 digits of 80-120 px, a wobbling baseline, tight and wide gaps, either
polarity, canvases at least 3:1), and multi-stroke digits are drawn with
Pillow lines, their strokes kept as the GUI pad keeps them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from benchmarks.bench_numbers import make_number, make_touching, mnist_digits, samples
from digitpad import numbers
from digitpad.contracts import Prediction, from_probabilities
from digitpad.errors import ImageError
from digitpad.numbers import Box, DigitReading, NumberReading, read_number, segment

PEN = 9


@pytest.fixture(scope="module")
def predictor() -> Any:
    from digitpad.ml.inference import load_predictor

    return load_predictor()


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return mnist_digits("test")


class CountingPredictor:
    """The bundled predictor, counting the batches it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.info, self.batches = inner, inner.info, []

    def probabilities(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        self.batches.append(len(images))
        return self.inner.probabilities(images, batch_size)

    def predict(self, source: Any) -> Prediction:
        return self.inner.predict(source)

    def predict_many(self, sources: Any) -> list[Prediction]:
        return self.inner.predict_many(sources)

    def predict_prepared(self, image: np.ndarray) -> Prediction:
        return self.inner.predict_prepared(image)

    def predict_prepared_many(self, images: np.ndarray) -> list[Prediction]:
        self.batches.append(len(images))
        return self.inner.predict_prepared_many(images)


def _shapes(digit: str, x: int, y: int) -> list[list[tuple[int, int]]]:
    """The strokes of a hand-drawn digit about 60 x 112 px, several strokes each."""
    return {
        "4": [[(x + 28, y), (x + 2, y + 66), (x + 58, y + 66)], [(x + 42, y + 80), (x + 42, y + 112)]],
        "+4": [[(x + 28, y), (x + 2, y + 66), (x + 58, y + 66)], [(x + 42, y + 22), (x + 42, y + 112)]],
        "5": [[(x + 10, y + 6), (x + 6, y + 50), (x + 30, y + 42), (x + 50, y + 52), (x + 57, y + 75),
               (x + 48, y + 98), (x + 26, y + 108), (x + 4, y + 100)], [(x + 24, y), (x + 58, y)]],
        "7": [[(x + 2, y + 4), (x + 58, y + 4), (x + 22, y + 112)], [(x + 16, y + 58), (x + 54, y + 58)]],
        "1": [[(x + 20, y + 16), (x + 34, y + 2), (x + 34, y + 96)], [(x + 12, y + 112), (x + 56, y + 112)]],
        "i": [[(x + 30, y + 34), (x + 30, y + 112)], [(x + 28, y + 8), (x + 32, y + 10)]],
    }[digit]


def drawn(shapes: list[str], gap: int = 30, height: int = 220,
          invert: bool = False) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """A wide pad with the digits drawn in black lines on white, and their strokes."""
    strokes, x = [], 30
    for shape in shapes:
        strokes += _shapes(shape, x, 50)
        x += 60 + gap
    img = Image.new("L", (max(x + 30, 3 * height), height), 255)
    pen = ImageDraw.Draw(img)
    for stroke in strokes:
        pen.line(stroke, fill=0, width=PEN, joint="curve")
        for px, py in (stroke[0], stroke[-1]):
            pen.ellipse((px - PEN / 2, py - PEN / 2, px + PEN / 2, py + PEN / 2), fill=0)
    pixels = np.asarray(img)
    return (255 - pixels if invert else pixels), strokes


def _components(image: np.ndarray) -> int:
    ink = numbers._load_ink(image)
    return 0 if ink is None else int(ink.labels.max())


def _iou(a: list[int], b: list[int]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


@pytest.mark.slow
def test_generated_numbers_are_read_exactly(predictor: Any) -> None:
    cases = samples(100, seed=15)
    exact = sum(read_number(case.image, predictor).number == case.text for case in cases)
    assert {len(c.text) for c in cases} == {2, 3, 4, 5, 6}
    assert {c.kind for c in cases} == {"tight", "wide", "mixed"}
    assert exact >= 95, f"{exact} of 100 numbers read exactly"


@pytest.mark.slow
def test_touching_pairs_are_mostly_split(predictor: Any) -> None:
    cases = samples(0, seed=16, touching=30)
    assert sum(len(segment(c.image)) == 1 for c in cases) >= 25  # without the classifier: one piece
    exact = sum(read_number(case.image, predictor).number == case.text for case in cases)
    assert exact >= 24, f"{exact} of 30 touching pairs read exactly"


def test_boxes_are_in_input_pixels_and_left_to_right(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    for count, kind in ((6, "tight"), (3, "wide")):  # a canvas over 512 px wide is worked on at half size
        case = make_number(rng, *digits, count=count, kind=kind)
        reading = read_number(case.image, predictor)
        assert reading.number == case.text
        assert [b.x0 for b in reading.boxes] == sorted(b.x0 for b in reading.boxes)
        for box, truth in zip(reading.boxes, case.boxes):
            assert _iou(box.to_list(), truth) > 0.85, (box, truth)
            assert 0 <= box.x0 < box.x1 <= case.image.shape[1] and 0 <= box.y0 < box.y1 <= case.image.shape[0]
        assert segment(case.image, predictor=predictor) == reading.boxes


def test_either_polarity_reads_the_same(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    case = make_number(np.random.default_rng(4), *digits, count=5, kind="mixed")
    dark, light = read_number(case.image, predictor), read_number(255 - case.image, predictor)
    assert dark.number == light.number == case.text
    assert dark.boxes == light.boxes


def test_one_classifier_batch_for_separate_digits(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    counting = CountingPredictor(predictor)
    case = make_number(np.random.default_rng(5), *digits, count=6, kind="wide")
    assert read_number(case.image, counting).number == case.text
    assert len(counting.batches) == 1 and counting.batches[0] >= 6


@pytest.mark.parametrize("invert", [False, True])
def test_multi_stroke_digits_stay_one_digit(predictor: Any, invert: bool) -> None:
    image, strokes = drawn(["4", "5", "7", "1", "i"], invert=invert)
    assert _components(image) >= 8  # the 4, the 5 and the 1 are two pieces each (the i's dot is a speck)
    for given in (None, strokes):
        assert len(segment(image, given)) == 5
        assert read_number(image, predictor, given).number == "45711"


def test_multi_stroke_digits_with_tight_gaps(predictor: Any) -> None:
    image, strokes = drawn(["+4", "5", "7", "1", "4"], gap=6)
    for given in (None, strokes):
        assert read_number(image, predictor, given).number == "45714"


def test_strokes_separate_digits_whose_ink_touches(predictor: Any) -> None:
    image, strokes = drawn(["5", "7", "4"], gap=-6)  # the bars run into the next digit
    assert len(segment(image)) < 3  # the pixels alone do not tell them apart
    reading = read_number(image, predictor, strokes)
    assert reading.number == "574"
    assert all(b.x1 <= a.x0 + 1 for b, a in zip(reading.boxes, reading.boxes[1:]))


def test_touching_pair_is_split_at_the_join(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    case = next(c for c in (make_touching(rng, *digits) for _ in range(50))
                if _components(c.image) == 1 and "1" not in c.text)
    reading = read_number(case.image, predictor)
    assert reading.number == case.text
    for box, truth in zip(reading.boxes, case.boxes):
        assert _iou(box.to_list(), truth) > 0.6


def test_specks_are_ignored(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    case = make_number(np.random.default_rng(6), *digits, count=4, kind="wide")
    image = case.image.copy()
    paper, ink = int(np.median(image[0])), 255 - int(np.median(image[0]))
    assert paper in (0, 255)
    for x in range(20, image.shape[1] - 20, 97):
        image[8:11, x:x + 3] = ink  # pencil dots along the top edge
    assert read_number(image, predictor).number == case.text


def test_blank_pad_has_no_number(predictor: Any) -> None:
    blank = np.full((200, 700), 255, np.uint8)
    reading = read_number(blank, predictor)
    assert reading.number is None and reading.digits == ()
    assert reading.to_json() == {"number": None, "digits": []}
    assert segment(blank) == []


def test_files_and_pil_images_are_read_like_arrays(predictor: Any, tmp_path: Any,
                                                    digits: tuple[np.ndarray, np.ndarray]) -> None:
    case = make_number(np.random.default_rng(7), *digits, count=3, kind="mixed")
    path = tmp_path / "n.png"
    Image.fromarray(case.image).convert("RGB").save(path)
    expected = read_number(case.image, predictor)
    for source in (path, str(path), Image.open(path)):
        assert_same_reading(read_number(source, predictor), expected)


def assert_same_reading(got: NumberReading, expected: NumberReading) -> None:
    """Equal numbers, digits and boxes; confidences equal up to BLAS rounding (batches differ)."""
    got_json, expected_json = got.to_json(), expected.to_json()
    assert got_json["number"] == expected_json["number"]
    for mine, theirs in zip(got_json["digits"], expected_json["digits"], strict=True):
        assert mine["confidence"] == pytest.approx(theirs["confidence"], abs=1e-5)
        assert {**mine, "confidence": 0} == {**theirs, "confidence": 0}


def test_unreadable_input_raises_image_error(predictor: Any, tmp_path: Any) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(ImageError, match="missing.png"):
        read_number(missing, predictor)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ImageError, match="not an image"):
        segment(text)


def test_a_mark_that_is_not_a_digit_shows_as_a_question_mark() -> None:
    image = np.zeros((28, 28), np.float32)
    probs = np.eye(10, dtype=np.float32)
    digit = DigitReading(Box(0, 0, 10, 20), from_probabilities(probs[3], image))
    other = Prediction(None, 0.97, probs[4], False, image, not_a_digit=True)
    odd = DigitReading(Box(12, 0, 22, 20), other)
    reading = NumberReading((digit, odd, digit))
    assert reading.number == "3?3"
    assert odd.to_json() == {"digit": None, "confidence": 0.97, "box": [12, 0, 22, 20], "not_a_digit": True}
    assert digit.to_json()["digit"] == 3 and digit.to_json()["not_a_digit"] is False


def _without_last_digit(case: Any) -> np.ndarray:
    """The picture before its last digit was written: that digit's box painted over with paper."""
    x0, y0, x1, y1 = case.boxes[-1]
    image = case.image.copy()
    image[y0:y1, x0:x1] = image[0, 0]
    return image


def test_a_kept_cache_reads_only_the_digit_a_stroke_added(predictor: Any,
                                                          digits: tuple[np.ndarray, np.ndarray]) -> None:
    case = make_number(np.random.default_rng(5), *digits, count=6, kind="wide")
    counting, cache = CountingPredictor(predictor), numbers.ReadCache()
    fresh = CountingPredictor(predictor)
    expected = read_number(case.image, fresh)  # no cache: every digit and every trial cut's halves
    before = read_number(_without_last_digit(case), counting, cache=cache)
    assert before.number == case.text[:-1] and len(counting.batches) == 1
    after = read_number(case.image, counting, cache=cache)
    assert_same_reading(after, expected)  # the same answer as a fresh read
    assert len(counting.batches) == 2 and counting.batches[1] <= fresh.batches[0] - 5  # five came from the cache
    read_number(case.image, counting, cache=cache)
    assert len(counting.batches) == 2  # nothing new to ask
    other = CountingPredictor(predictor)  # another model: nothing of the first one's is reused
    assert read_number(case.image, other, cache=cache).number == case.text and other.batches == fresh.batches


def test_the_cache_stays_within_its_size(predictor: Any, digits: tuple[np.ndarray, np.ndarray]) -> None:
    cache = numbers.ReadCache(size=4)
    case = make_number(np.random.default_rng(6), *digits, count=6, kind="wide")
    assert read_number(case.image, predictor, cache=cache).number == case.text  # more crops than it holds
    assert len(cache) == 4
