"""How well "not a digit" and the calibrated confidence work, on data no threshold saw.

Digits: MNIST *test* images as they are, MNIST test digits redrawn on the pad
and digits typed in the installed fonts (report seeds), and the realistic
cases of tests/test_recognition.py. Non-digits: every kind of
:mod:`digitpad.nondigits` with report seeds; the kinds held out from fitting
are marked. The app's decision is "too little ink" (a rule on the raw image)
or the detector; both are shown. Prints AUROC, the operating point, rejection
per kind, false rejection, accuracy, ECE before/after temperature scaling, a
text reliability diagram and the detector's time per drawing, and writes
docs/reliability.png.
Run: ``python benchmarks/bench_reject.py [--model PATH] [--mnist 5000] [--per-kind 100]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from digitpad import nondigits  # noqa: E402
from digitpad.imaging import prepare, too_little_ink  # noqa: E402
from digitpad.ml import calibration, novelty, reject_fit  # noqa: E402

FIGURE = ROOT / "docs" / "reliability.png"


def realistic(mnist_x: np.ndarray, mnist_y: np.ndarray, drawn: int, typed: int) -> tuple[list, np.ndarray, list[str]]:
    """(canvases, labels, group) of realistic digit drawings, none used in fitting."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_recognition import build_cases  # the project's realistic set

    rng = np.random.default_rng(reject_fit.REPORT_SEED)
    pick = rng.choice(len(mnist_x), drawn, replace=False)
    canvases: list = list(reject_fit.redraw(mnist_x[pick], reject_fit.REPORT_SEED))
    labels = list(mnist_y[pick])
    groups = ["drawn"] * drawn
    typed_canvas, typed_labels = reject_fit.typed_digits(typed, reject_fit.REPORT_SEED)
    canvases += list(typed_canvas)
    labels += list(typed_labels)
    groups += ["typed"] * typed
    folder = Path(tempfile.mkdtemp(prefix="bench_reject_"))
    for source, label, _ in build_cases(folder):
        canvases.append(source)
        labels.append(label)
        groups.append("test_recognition")
    return canvases, np.array(labels, int), groups


def figure(before: calibration.Reliability, after: calibration.Reliability, ece: tuple[float, float],
           path: Path) -> None:
    """Two reliability diagrams side by side, drawn with Pillow."""
    panel, margin = 300, 50
    img = Image.new("RGB", (2 * panel + 3 * margin + 60, panel + 2 * margin + 40), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=14)
    for n, (rel, title) in enumerate(((before, f"before (T = 1): ECE {ece[0]:.2%}"),
                                      (after, f"after temperature scaling: ECE {ece[1]:.2%}"))):
        x0, y0 = margin + n * (panel + margin), margin
        draw.rectangle((x0, y0, x0 + panel, y0 + panel), outline="black")
        draw.line((x0, y0 + panel, x0 + panel, y0), fill=(170, 170, 170), width=1)
        width = panel / len(rel.counts)
        for i, count in enumerate(rel.counts):
            if count == 0:
                continue
            left = x0 + i * width
            draw.rectangle((left + 1, y0 + panel * (1 - rel.accuracy[i]), left + width - 1, y0 + panel),
                           fill=(70, 110, 190))
            gap_top = y0 + panel * (1 - max(rel.accuracy[i], rel.confidence[i]))
            gap_bottom = y0 + panel * (1 - min(rel.accuracy[i], rel.confidence[i]))
            draw.rectangle((left + 1, gap_top, left + width - 1, gap_bottom), outline=(200, 60, 60))
        draw.text((x0, y0 - 22), title, fill="black", font=font)
        draw.text((x0, y0 + panel + 6), "confidence 0 -> 1", fill="black", font=font)
    draw.text((margin, panel + margin + 26), "blue: accuracy per confidence bin (height 0 -> 1); red box: gap to "
              "the bin's mean confidence;", fill="black", font=font)
    draw.text((margin, panel + margin + 44), f"grey: perfect calibration. {int(after.counts.sum())} realistic "
              "drawings no fit saw; most sit in the top bin.", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main(model: str | None = None, mnist_count: int = 5000, per_kind: int = 100, drawn: int = 1500,
         typed: int = 400) -> dict[str, float]:
    from digitpad.ml.data import load_mnist

    started = time.perf_counter()
    net, path = reject_fit.load_network(model)
    detector = novelty.load_detector(path)
    if detector is None:
        raise SystemExit(f"{novelty.reject_path(path)}: missing; run python -m digitpad.ml.reject_fit --model {path}")
    data = load_mnist()
    pick = np.random.default_rng(reject_fit.REPORT_SEED).choice(len(data.x_test), mnist_count, replace=False)
    mnist_f, mnist_z = reject_fit.activations(net, data.x_test[pick].astype(np.float32) / 255)
    mnist_y = data.y_test[pick].astype(int)

    canvases, labels, groups = realistic(data.x_test, data.y_test, drawn, typed)
    prepared = [prepare(c) for c in canvases]
    keep = np.array([not p.blank for p in prepared])
    tiny_digits = np.array([too_little_ink(c) for c in canvases])
    real_f, real_z = reject_fit.activations(net, np.stack([p.image for p, k in zip(prepared, keep) if k]))
    real_y, real_g = labels[keep], np.array(groups)[keep]
    real_tiny = tiny_digits[keep]

    kinds = list(nondigits.KINDS)
    other_canvas, other_kind = nondigits.generate_many(kinds, per_kind, reject_fit.REPORT_SEED)
    other_prep = [prepare(c) for c in other_canvas]
    other_tiny = np.array([too_little_ink(c) for c in other_canvas])
    other_blank = np.array([p.blank for p in other_prep])
    other_f, _ = reject_fit.activations(net, np.stack([p.image for p in other_prep]))
    other_kind = np.array(other_kind)

    s_mnist, s_real, s_other = detector.score(mnist_f), detector.score(real_f), detector.score(other_f)
    r_mnist, r_real = detector.decide(s_mnist), detector.decide(s_real) | real_tiny
    r_other = (detector.decide(s_other) | other_tiny) & ~other_blank
    held = np.isin(other_kind, reject_fit.HELD_OUT_KINDS)
    digit_scores = np.concatenate([s_mnist, s_real])

    print(f"model {path.name}; detector {novelty.reject_path(path).name}: threshold {detector.threshold:+.3f}, "
          f"temperature {detector.temperature:.3f}")
    print(f"digits: {len(s_mnist)} MNIST test, {len(s_real)} realistic drawings "
          f"({', '.join(f'{g} {int((real_g == g).sum())}' for g in dict.fromkeys(real_g))}); "
          f"non-digits: {len(kinds)} kinds x {per_kind} (report seeds)")
    auroc_held = novelty.auroc(s_other[held], digit_scores)
    auroc_all = novelty.auroc(s_other[~np.isin(other_kind, nondigits.TINY_KINDS)], digit_scores)
    print(f"\nAUROC, detector score, digits vs held-out kinds {auroc_held:.4f}; vs all drawn kinds but dot/dash "
          f"{auroc_all:.4f}")
    print("operating point (threshold set on validation digits, never on these):")
    print(f"  MNIST test digits rejected        {r_mnist.mean():7.2%}")
    for g in dict.fromkeys(real_g):
        print(f"  realistic {g:<22} rejected {r_real[real_g == g].mean():7.2%}")
    print(f"  realistic drawings, all           {r_real.mean():7.2%}  (of which too little ink {real_tiny.mean():.2%})")
    print(f"  held-out non-digit kinds answered 'not a digit' {r_other[held].mean():7.2%}")
    print(f"  all non-digit marks answered 'not a digit'      {r_other.mean():7.2%}")
    print("\nper kind ('held out' = never fitted on): not a digit (by the ink rule / by the detector), blank")
    for kind in kinds:
        k = other_kind == kind
        tag = "held out" if kind in reject_fit.HELD_OUT_KINDS else ("rule" if kind in nondigits.TINY_KINDS else "fitted")
        print(f"  {kind:<13} {tag:<9} {r_other[k].mean():7.1%}  ({other_tiny[k].mean():5.1%} / "
              f"{detector.decide(s_other[k]).mean():5.1%}), blank {other_blank[k].mean():5.1%}")

    probs_real_before = calibration.softmax(real_z)
    probs_real = detector.calibrate(real_z)
    accuracy = float(np.mean(probs_real.argmax(axis=1) == real_y))
    kept_right = float(np.mean((probs_real.argmax(axis=1) == real_y) & ~r_real))
    print(f"\nrealistic drawings read right {accuracy:.2%}; read right and not rejected {kept_right:.2%}; "
          f"MNIST test read right {np.mean(mnist_z.argmax(axis=1) == mnist_y):.2%}")
    rel_before = calibration.reliability(probs_real_before, real_y)
    rel_after = calibration.reliability(probs_real, real_y)
    ece_mnist = (calibration.ece(calibration.softmax(mnist_z), mnist_y),
                 calibration.ece(detector.calibrate(mnist_z), mnist_y))
    print(f"ECE on realistic drawings: {rel_before.ece:.2%} before, {rel_after.ece:.2%} after temperature scaling "
          f"(T = {detector.temperature:.3f}); on MNIST test {ece_mnist[0]:.2%} -> {ece_mnist[1]:.2%}")
    print("\nreliability diagram, realistic drawings, after temperature scaling:")
    print(calibration.text_diagram(rel_after))

    one_f, one_z = real_f[:1], real_z[:1]
    samples = []
    for _ in range(300):
        t0 = time.perf_counter()
        detector.assess(one_f, one_z)
        samples.append((time.perf_counter() - t0) * 1000)
    canvas = np.asarray(other_canvas[0])
    rule = []
    for _ in range(50):
        t0 = time.perf_counter()
        too_little_ink(canvas)
        rule.append((time.perf_counter() - t0) * 1000)
    assess_ms, rule_ms = statistics.median(samples), statistics.median(rule)
    print(f"\nDetector.assess, one drawing: {assess_ms:.3f} ms p50; too_little_ink on a 280 px pad: {rule_ms:.2f} ms p50")
    figure(rel_before, rel_after, (rel_before.ece, rel_after.ece), FIGURE)
    print(f"wrote {FIGURE.relative_to(ROOT)}; {time.perf_counter() - started:.0f} s in all")
    return {"AUROC held-out": auroc_held, "held-out rejected": float(r_other[held].mean()),
            "non-digits rejected": float(r_other.mean()), "realistic falsely rejected": float(r_real.mean()),
            "MNIST test falsely rejected": float(r_mnist.mean()), "ECE before": rel_before.ece,
            "ECE after": rel_after.ece, "assess ms": assess_ms}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--mnist", type=int, default=5000)
    parser.add_argument("--per-kind", type=int, default=100)
    args = parser.parse_args()
    main(args.model, args.mnist, args.per_kind)
