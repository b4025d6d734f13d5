"""Fit the "not a digit" detector and the temperature for one model, and save them beside it.

``python -m digitpad.ml.reject_fit [--model PATH]`` writes ``<model stem>.reject.npz``
next to the model (default: the bundled one) and prints AUROC, the operating
point and the ECE before and after temperature scaling on its validation data
(benchmarks/bench_reject.py measures the same on test data).

Data, kept apart by role so no threshold is set on anything reported:

* digits to fit on: MNIST training images (the first 55,000), raw and redrawn
  as canvas drawings, plus digits typed in the installed fonts;
* digits to set the threshold on: the validation part (the last 5,000 training
  images), raw, redrawn and typed with other seeds; the temperature is fitted
  on the redrawn and typed ones, drawings being what the app reads;
* non-digits to fit on: :data:`FIT_KINDS` of :mod:`digitpad.nondigits`;
  :data:`HELD_OUT_KINDS` are never fitted on: tests and benchmarks measure them.

Every drawing goes through :func:`digitpad.imaging.prepare`, as in the app.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from digitpad import nondigits
from digitpad.errors import DigitpadError, ModelError
from digitpad.imaging import prepare
from digitpad.ml import calibration, novelty

HELD_OUT_KINDS = ("star", "x_mark", "wavy", "box_cross", "hatching", "spiral")
FIT_KINDS = tuple(k for k in nondigits.KINDS if k not in HELD_OUT_KINDS and k not in nondigits.TINY_KINDS)
CANVAS = nondigits.CANVAS
VALIDATION = 5000  # the last training images, as digitpad.ml.data.split holds them out

# Seeds by role: fitting, threshold/temperature, and reporting never share one.
FIT_SEED, TUNE_SEED, REPORT_SEED = 101, 202, 303


# ---------------------------------------------------------------- drawings


def scale_and_repen(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """A cropped white-on-black digit scaled to 40-250 px and drawn with a thicker, thinner or
    unchanged pen (thinned only when the digit survives it); returns it and the pen's name."""
    size = int(rng.integers(40, 251))
    scale = size / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)
    pen = str(rng.choice(["as is", "thicker", "thinner"]))
    if pen == "thicker":
        for _ in range(int(rng.integers(1, max(2, size // 25) + 1))):
            image = image.filter(ImageFilter.MaxFilter(3))
    elif pen == "thinner":
        thin = image.filter(ImageFilter.MinFilter(3 if size < 120 else 5))
        if np.asarray(thin, np.float32).sum() > 0.4 * np.asarray(image, np.float32).sum():
            image = thin
    return image, pen


def redraw(digits: np.ndarray, seed: int) -> np.ndarray:
    """MNIST digits redrawn as canvas drawings: uint8 ``(N, 280, 280)``, black on white.

    Each digit is cropped, scaled to 40-250 px, put anywhere on the pad and
    drawn with a thicker, thinner or unchanged pen (``scale_and_repen``, shared with
    tests/test_recognition.py).
    """
    rng = np.random.default_rng(seed)
    out = np.full((len(digits), CANVAS, CANVAS), 255, np.uint8)
    for n, digit in enumerate(digits):
        image = Image.fromarray(np.asarray(digit, np.uint8))
        box = image.getbbox()
        if box is None:
            continue
        image, _ = scale_and_repen(image.crop(box), rng)
        if max(image.size) > CANVAS:
            image.thumbnail((CANVAS, CANVAS))
        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        canvas.paste(image, (int(rng.integers(0, CANVAS - image.width + 1)),
                             int(rng.integers(0, CANVAS - image.height + 1))))
        out[n] = 255 - np.asarray(canvas)
    return out


def typed_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits typed in the installed fonts (else Pillow's own), placed like drawings."""
    rng = np.random.default_rng(seed)
    files = nondigits.font_files()
    out = np.full((count, CANVAS, CANVAS), 255, np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    from PIL import ImageFont

    for n, digit in enumerate(labels):
        size = int(rng.choice([48, 120, 220]))
        font = (ImageFont.truetype(files[int(rng.integers(len(files)))], size) if files
                else ImageFont.load_default(size=size))
        stroke = int(rng.choice([0, 0, 1, size // 25]))
        sheet = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
        ImageDraw.Draw(sheet).text((CANVAS // 2, CANVAS // 2), str(int(digit)), fill=255, font=font,
                                   stroke_width=stroke, stroke_fill=255)
        glyph = sheet.crop(sheet.getbbox())
        if max(glyph.size) > CANVAS - 10:
            glyph.thumbnail((CANVAS - 10, CANVAS - 10))
        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        canvas.paste(glyph, (int(rng.integers(0, CANVAS - glyph.width + 1)),
                             int(rng.integers(0, CANVAS - glyph.height + 1))))
        out[n] = 255 - np.asarray(canvas)
    return out, labels


def prepared(canvases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The app's MNIST-form images ``(N, 28, 28)`` of canvas drawings, and which were blank."""
    results = [prepare(c) for c in canvases]
    images = np.stack([r.image for r in results]) if results else np.zeros((0, 28, 28), np.float32)
    return images, np.array([r.blank for r in results], bool)


# ---------------------------------------------------------------- model


def load_network(model_path: str | Path | None = None) -> tuple["NumpyCNN", Path]:  # noqa: F821
    """The NumPy forward pass of a saved tutorial-CNN model (read without TensorFlow), and its path."""
    from digitpad.ml.fastpath import NumpyCNN
    from digitpad.ml.keras_reader import read_tutorial_weights
    from digitpad.ml.storage import read_metadata
    from digitpad.resources import bundled_model

    path = Path(model_path) if model_path is not None else bundled_model()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if read_metadata(path).get("outputs", "logits") != "logits":
        raise ModelError(f"{path}: the novelty detector needs a model with logit outputs")
    return NumpyCNN(read_tutorial_weights(path)), path


def activations(net: "NumpyCNN", images: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:  # noqa: F821
    """Dense-1024 features and logits of float images ``(N, 28, 28)``, as the app computes them."""
    return novelty.features_and_logits(net, images, chunk)


# ---------------------------------------------------------------- sets


@dataclass(frozen=True)
class Sample:
    """MNIST-form images with labels (-1 for a non-digit) and where each came from."""

    images: np.ndarray  # (N, 28, 28) float32
    labels: np.ndarray  # (N,) int, -1 = not a digit
    groups: list[str]


def digit_sample(x: np.ndarray, y: np.ndarray, raw: int, drawn: int, typed: int, seed: int) -> Sample:
    """``raw`` MNIST images as they are, ``drawn`` redrawn on the pad, ``typed`` font digits."""
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(x))
    raw_idx, drawn_idx = pick[:raw], pick[raw:raw + drawn]
    drawn_imgs, drawn_blank = prepared(redraw(x[drawn_idx], seed + 1))
    typed_canvas, typed_labels = typed_digits(typed, seed + 2)
    typed_imgs, typed_blank = prepared(typed_canvas)
    images = np.concatenate([x[raw_idx].astype(np.float32) / 255, drawn_imgs[~drawn_blank], typed_imgs[~typed_blank]])
    labels = np.concatenate([y[raw_idx], y[drawn_idx][~drawn_blank], typed_labels[~typed_blank]]).astype(int)
    groups = ["mnist"] * raw + ["drawn"] * int((~drawn_blank).sum()) + ["typed"] * int((~typed_blank).sum())
    return Sample(images, labels, groups)


def nondigit_sample(kinds: Sequence[str], per_kind: int, seed: int) -> Sample:
    """Non-digit marks of the given kinds through ``prepare`` (blank ones dropped)."""
    canvases, kind_of = nondigits.generate_many(kinds, per_kind, seed)
    images, blank = prepared(canvases)
    return Sample(images[~blank], np.full(int((~blank).sum()), -1), [k for k, b in zip(kind_of, blank) if not b])


# ---------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Sizes:
    """How many images of each role the fit draws (defaults: the shipped fit)."""

    fit_raw: int = 6000
    fit_drawn: int = 5000
    fit_typed: int = 600
    fit_per_kind: int = 300
    tune_raw: int = 1500
    tune_drawn: int = 2500
    tune_typed: int = 400
    tune_per_kind: int = 60
    epochs: int = 15


FALSE_REJECTION = 0.004  # share of validation digits the threshold may reject


@dataclass(frozen=True)
class FitReport:
    """What the fit measured on its validation data (digits) and on held-out kinds."""

    temperature: float
    threshold: float
    false_rejection: float  # validation digits rejected
    auroc: float  # validation digits vs held-out kinds
    held_out_rejected: dict[str, float]
    fit_kinds_rejected: dict[str, float]  # fresh seeds of the fitted kinds
    ece_before: float
    ece_after: float
    accuracy: float
    seconds: float

    def text(self) -> str:
        def rates(d: dict[str, float]) -> str:
            return ", ".join(f"{k} {v:.1%}" for k, v in d.items())
        held = np.mean(list(self.held_out_rejected.values())) if self.held_out_rejected else float("nan")
        return "\n".join([
            f"temperature {self.temperature:.3f}; ECE on validation drawings {self.ece_before:.2%} -> "
            f"{self.ece_after:.2%} (accuracy {self.accuracy:.2%})",
            f"operating point: threshold {self.threshold:+.3f} rejects {self.false_rejection:.2%} of validation "
            f"digits and {held:.1%} of held-out non-digit kinds",
            f"AUROC (validation digits vs held-out kinds) {self.auroc:.4f}",
            f"held-out kinds rejected: {rates(self.held_out_rejected)}",
            f"fitted kinds, new seeds, rejected: {rates(self.fit_kinds_rejected)}",
            f"fitted in {self.seconds:.0f} s",
        ])


def fit(model_path: str | Path | None = None, sizes: Sizes = Sizes(),
        false_rejection: float = FALSE_REJECTION, log=print) -> tuple[novelty.Detector, FitReport, Path]:
    """Fit temperature + detector for a model; return them, the report and the model's path."""
    from digitpad.ml.data import load_mnist

    started = time.perf_counter()
    net, path = load_network(model_path)
    data = load_mnist()
    cut = len(data.x_train) - VALIDATION
    log("drawing digits and non-digits ...")
    fit_digits = digit_sample(data.x_train[:cut], data.y_train[:cut], sizes.fit_raw, sizes.fit_drawn,
                              sizes.fit_typed, FIT_SEED)
    tune_digits = digit_sample(data.x_train[cut:], data.y_train[cut:], sizes.tune_raw, sizes.tune_drawn,
                               sizes.tune_typed, TUNE_SEED)
    fit_other = nondigit_sample(FIT_KINDS, sizes.fit_per_kind, FIT_SEED)
    tune_other = nondigit_sample(FIT_KINDS + HELD_OUT_KINDS, sizes.tune_per_kind, TUNE_SEED)
    log(f"features of {len(fit_digits.images) + len(tune_digits.images) + len(fit_other.images) + len(tune_other.images)} images ...")
    f_fit, _ = activations(net, fit_digits.images)
    f_tune, z_tune = activations(net, tune_digits.images)
    o_fit, _ = activations(net, fit_other.images)
    o_tune, _ = activations(net, tune_other.images)
    log("fitting ...")
    head = novelty.fit_head(f_fit, o_fit, epochs=sizes.epochs)
    drawings = np.isin(tune_digits.groups, ("drawn", "typed"))  # what the app sees: drawings via prepare
    temperature = calibration.fit_temperature(z_tune[drawings], tune_digits.labels[drawings])
    digit_scores = head.score(f_tune)
    threshold = novelty.threshold_for(digit_scores, false_rejection)
    detector = head.detector(threshold, temperature, novelty.file_sha256(path))
    other_scores = detector.score(o_tune)
    kinds = np.array(tune_other.groups)
    held = np.isin(kinds, HELD_OUT_KINDS)
    rejected = detector.decide(other_scores)
    probs_before = calibration.softmax(z_tune)
    report = FitReport(
        temperature=temperature, threshold=threshold,
        false_rejection=float(np.mean(detector.decide(digit_scores))),
        auroc=novelty.auroc(other_scores[held], digit_scores) if held.any() else float("nan"),
        held_out_rejected={k: float(rejected[kinds == k].mean()) for k in HELD_OUT_KINDS if (kinds == k).any()},
        fit_kinds_rejected={k: float(rejected[kinds == k].mean()) for k in FIT_KINDS if (kinds == k).any()},
        ece_before=calibration.ece(probs_before[drawings], tune_digits.labels[drawings]),
        ece_after=calibration.ece(detector.calibrate(z_tune[drawings]), tune_digits.labels[drawings]),
        accuracy=float(np.mean(probs_before[drawings].argmax(axis=1) == tune_digits.labels[drawings])),
        seconds=time.perf_counter() - started)
    return detector, report, path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitpad.ml.reject_fit",
                                     description="Fit the 'not a digit' detector and temperature for a model.")
    parser.add_argument("--model", help="a .keras model (default: the bundled one)")
    parser.add_argument("--false-rejection", type=float, default=FALSE_REJECTION,
                        help=f"share of validation digits the threshold may reject (default {FALSE_REJECTION})")
    args = parser.parse_args(argv)
    if not 0 < args.false_rejection < 0.5:
        print("error: --false-rejection must lie between 0 and 0.5", file=sys.stderr)
        return 2
    try:
        detector, report, path = fit(args.model, false_rejection=args.false_rejection,
                                     log=lambda m: print(m, file=sys.stderr, flush=True))
        target = detector.save(novelty.reject_path(path))
    except DigitpadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.text())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
