"""The "not a digit" detector: its file, its maths, the too-little-ink rule, and the
shipped detector on the bundled model (held-out non-digit kinds, MNIST test digits,
the realistic drawings of test_recognition)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitpad import nondigits
from digitpad.errors import ModelError
from digitpad.imaging import prepare, too_little_ink
from digitpad.ml import calibration, novelty
from digitpad.resources import bundled_mnist, bundled_model


def small_detector(seed: int = 0, dim: int = 16, hidden: int = 4, sha: str = "") -> novelty.Detector:
    rng = np.random.default_rng(seed)
    return novelty.Detector(rng.normal(size=dim).astype(np.float32), rng.uniform(0.5, 2, dim).astype(np.float32),
                            rng.normal(size=(dim, hidden)).astype(np.float32), rng.normal(size=hidden).astype(np.float32),
                            rng.normal(size=hidden).astype(np.float32), 0.25, 0.5, 1.7, sha)


def write_npz(path: Path, **arrays: Any) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    return path


def good_arrays(det: novelty.Detector, folder: Path) -> dict[str, np.ndarray]:
    """The arrays of a valid detector file, to break one at a time."""
    with np.load(det.save(folder / "good.reject.npz"), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


# ---------------------------------------------------------------- the detector itself


def test_score_is_the_standardised_perceptron() -> None:
    det = small_detector()
    f = np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32)
    hidden = np.maximum(((f - det.mean) / det.scale) @ det.hidden_w + det.hidden_b, 0)
    assert np.allclose(det.score(f), hidden @ det.out_w + det.out_b, atol=1e-4)
    rejected, probs = det.assess(f, np.zeros((5, 10)))
    assert rejected.dtype == bool and rejected.shape == (5,)
    assert np.array_equal(rejected, det.score(f) > det.threshold)
    assert np.allclose(probs, 0.1)


def test_assess_refuses_wrong_shapes() -> None:
    det = small_detector()
    with pytest.raises(ValueError, match=r"features must be \(N, 16\)"):
        det.assess(np.zeros((2, 15)), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="logits must be"):
        det.assess(np.zeros((2, 16)), np.zeros((2, 9)))
    with pytest.raises(ValueError, match="2 feature rows but 3 logit rows"):
        det.assess(np.zeros((2, 16)), np.zeros((3, 10)))


def test_save_load_round_trip_is_exact_and_atomic(tmp_path: Path) -> None:
    det = small_detector(sha="ab" * 32)
    path = det.save(tmp_path / "m.reject.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.reject.npz"], "no temp file is left"
    back = novelty.load(path)
    f = np.random.default_rng(2).normal(size=(7, 16)).astype(np.float32)
    assert np.array_equal(back.score(f), det.score(f))
    assert (back.threshold, back.temperature, back.model_sha256) == (det.threshold, det.temperature, det.model_sha256)
    with np.load(path, allow_pickle=False) as npz:  # plain arrays only
        assert all(npz[k].dtype != object for k in npz.files)


def test_load_detector_finds_the_file_beside_the_model_or_none(tmp_path: Path) -> None:
    model = tmp_path / "mine.keras"
    model.write_bytes(b"model bytes")
    assert novelty.load_detector(model) is None
    small_detector(sha=novelty.file_sha256(model)).save(novelty.reject_path(model))
    assert novelty.reject_path(model).name == "mine.reject.npz"
    assert isinstance(novelty.load_detector(model), novelty.Detector)
    model.write_bytes(b"a retrained model")
    with pytest.raises(ModelError, match="fitted for another model") as info:
        novelty.load_detector(model)
    assert "\n" not in str(info.value) and str(info.value).count(str(novelty.reject_path(model))) == 1


def _one_line_error(path: Path, match: str) -> None:
    with pytest.raises(ModelError, match=match) as info:
        novelty.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert "allow_pickle" not in message


def test_malformed_files_give_one_line_errors(tmp_path: Path) -> None:
    good = good_arrays(small_detector(), tmp_path)
    _one_line_error(write_npz(tmp_path / "missing.npz", **{k: v for k, v in good.items() if k != "hidden_w"}),
                    "missing hidden_w")
    _one_line_error(write_npz(tmp_path / "shape.npz", **{**good, "hidden_w": np.zeros((16, 5), np.float32)}),
                    "arrays disagree")
    _one_line_error(write_npz(tmp_path / "ndim.npz", **{**good, "mean": np.zeros((4, 4), np.float32)}),
                    "mean must be a 1-D float array")
    _one_line_error(write_npz(tmp_path / "format.npz", **{**good, "format": np.array("something else")}),
                    "format is not")
    _one_line_error(write_npz(tmp_path / "nan.npz", **{**good, "scalars": np.array([0.0, np.nan, 1.0])}),
                    "not finite")
    _one_line_error(write_npz(tmp_path / "temp.npz", **{**good, "scalars": np.array([0.0, 0.0, -1.0])}),
                    "temperature must be > 0")
    _one_line_error(write_npz(tmp_path / "pickle.npz", **{**good, "scale": np.array([{"a": 1}], dtype=object)}),
                    "pickled objects")
    (tmp_path / "text.npz").write_text("not a zip")
    _one_line_error(tmp_path / "text.npz", "not a readable .npz")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    _one_line_error(tmp_path / "empty.npz", "missing")
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mean.npy", b"\0" * (novelty.MAX_BYTES + 1))
    _one_line_error(tmp_path / "bomb.npz", "unpacks to")


def test_fit_head_separates_two_clouds_deterministically() -> None:
    rng = np.random.default_rng(4)
    digits = np.maximum(rng.normal(0, 1, (400, 12)), 0).astype(np.float32)
    others = np.maximum(rng.normal(0, 1, (300, 12)) + np.r_[2.5, np.zeros(11)], 0).astype(np.float32)
    head = novelty.fit_head(digits, others, hidden=8, epochs=40, learning_rate=1e-2, seed=1)
    again = novelty.fit_head(digits, others, hidden=8, epochs=40, learning_rate=1e-2, seed=1)
    assert np.array_equal(head.hidden_w, again.hidden_w)
    test_d = np.maximum(rng.normal(0, 1, (400, 12)), 0)
    test_o = np.maximum(rng.normal(0, 1, (400, 12)) + np.r_[2.5, np.zeros(11)], 0)
    assert novelty.auroc(head.score(test_o), head.score(test_d)) > 0.9


def test_threshold_and_auroc() -> None:
    scores = np.arange(1000, dtype=float)
    assert np.mean(scores > novelty.threshold_for(scores, 0.01)) == pytest.approx(0.01, abs=0.002)
    assert novelty.auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert novelty.auroc(np.array([1.0]), np.array([1.0])) == 0.5


# ---------------------------------------------------------------- too little ink


def _polyline(points: list[tuple[float, float]], width: int = 20, size: int = 280) -> np.ndarray:
    img = Image.new("L", (size, size), 255)
    xy = [(x * size, y * size) for x, y in points]
    pen = ImageDraw.Draw(img)
    pen.line(xy, fill=0, width=width, joint="curve")
    for x, y in xy:
        pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)
    return np.asarray(img)


def test_a_dot_and_a_short_dash_are_too_little_ink() -> None:
    for kind in nondigits.TINY_KINDS:
        marks = nondigits.generate(kind, 12, seed=11)
        assert all(too_little_ink(m) for m in marks), kind
    assert too_little_ink(_polyline([(0.5, 0.5)]))  # a click with the default brush
    assert too_little_ink(_polyline([(0.45, 0.5), (0.55, 0.5)]))  # a short dash


def test_digits_and_blank_pads_are_not_too_little_ink() -> None:
    digits = {
        "1": [(0.5, 0.2), (0.5, 0.8)],
        "short thick 1": [(0.5, 0.4), (0.5, 0.62)],
        "7": [(0.3, 0.2), (0.7, 0.2), (0.42, 0.8)],
        "4": [(0.6, 0.8), (0.6, 0.2), (0.3, 0.6), (0.75, 0.6)],
        "2": [(0.3, 0.3), (0.5, 0.2), (0.7, 0.3), (0.3, 0.8), (0.7, 0.8)],
    }
    for name, points in digits.items():
        assert not too_little_ink(_polyline(points)), name
    assert not too_little_ink(np.full((280, 280), 255, np.uint8))
    with np.load(bundled_mnist(), allow_pickle=False) as data:
        sample = data["x_test"][:300]
    assert sum(too_little_ink(d) for d in sample) == 0


def test_a_large_filled_shape_is_left_to_the_detector() -> None:
    big = _polyline([(0.5, 0.5)], width=200)
    assert not too_little_ink(big)


def test_reject_fit_refuses_a_missing_model_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from digitpad.ml import reject_fit

    missing = tmp_path / "gone.keras"
    assert reject_fit.main(["--model", str(missing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and err[-1].count(str(missing)) == 1
    assert not list(tmp_path.iterdir())


def test_prediction_of_a_non_digit_has_no_digit_and_says_so_in_json() -> None:
    import json

    probs = np.full(10, 0.02, np.float32)
    probs[4] = 0.82
    image = np.zeros((28, 28), np.float32)
    rejected = novelty.prediction(probs, image, True)
    record = json.loads(json.dumps(rejected.to_json()))
    assert record["digit"] is None and record["not_a_digit"] is True and record["blank"] is False
    assert not rejected.unsure and rejected.probabilities[4] == pytest.approx(0.82)
    kept = novelty.prediction(probs, image, False)
    assert (kept.digit, kept.not_a_digit) == (4, False) and kept.confidence == pytest.approx(0.82)


def test_features_and_logits_match_the_network_in_any_chunking() -> None:
    from digitpad.ml.fastpath import NumpyCNN

    rng = np.random.default_rng(5)
    shapes = [(5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (3136, 1024), (1024,), (1024, 10), (10,)]
    net = NumpyCNN([rng.normal(0, 0.05, s).astype(np.float32) for s in shapes])
    images = rng.random((7, 28, 28), dtype=np.float32)
    feats, logits = novelty.features_and_logits(net, images, chunk=3)
    layers = net.activations(images)
    assert np.allclose(feats, layers["dense"], atol=1e-5) and np.allclose(logits, layers["logits"], atol=1e-5)
    assert novelty.features_and_logits(net, np.zeros((0, 28, 28)))[0].shape == (0, 1024)


# ---------------------------------------------------------------- the shipped detector


@pytest.fixture(scope="module")
def bundled() -> Any:
    """(NumPy network, shipped detector) for the bundled model."""
    if not bundled_model().is_file():
        pytest.skip("the bundled model has not been trained yet")
    from digitpad.ml import reject_fit

    detector = novelty.load_detector(bundled_model())
    assert detector is not None, "resources/ lacks the fitted .reject.npz (python -m digitpad.ml.reject_fit)"
    net, _ = reject_fit.load_network(bundled_model())
    return net, detector


def _assess(bundled: Any, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from digitpad.ml import reject_fit

    net, detector = bundled
    features, logits = reject_fit.activations(net, images)
    rejected, probs = detector.assess(features, logits)
    return rejected, probs, logits


@pytest.mark.slow
def test_shipped_detector_rejects_held_out_non_digit_kinds(bundled: Any) -> None:
    from digitpad.ml import reject_fit

    sample = reject_fit.nondigit_sample(reject_fit.HELD_OUT_KINDS, 25, reject_fit.REPORT_SEED)
    rejected, _, _ = _assess(bundled, sample.images)
    kinds = np.array(sample.groups)
    per_kind = {k: float(rejected[kinds == k].mean()) for k in reject_fit.HELD_OUT_KINDS}
    assert not set(reject_fit.HELD_OUT_KINDS) & set(reject_fit.FIT_KINDS)
    assert rejected.mean() >= 0.95, per_kind
    assert min(per_kind.values()) >= 0.70, per_kind  # spirals are the hardest held-out kind (README)


@pytest.mark.slow
def test_shipped_detector_keeps_mnist_test_digits(bundled: Any) -> None:
    with np.load(bundled_mnist(), allow_pickle=False) as data:
        x, y = data["x_test"], data["y_test"]
    pick = np.random.default_rng(8).choice(len(x), 2000, replace=False)
    rejected, probs, _ = _assess(bundled, x[pick].astype(np.float32) / 255)
    assert rejected.mean() <= 0.01, f"{rejected.mean():.2%} of MNIST test digits rejected"
    assert np.mean(probs.argmax(axis=1) == y[pick]) >= 0.99


@pytest.fixture(scope="module")
def realistic(bundled: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(rejected, logits, labels, kind) of realistic drawings no fit saw: the cases of
    test_recognition plus MNIST test digits redrawn on the pad and typed digits (report seeds)."""
    from digitpad.ml import reject_fit
    from tests.test_recognition import build_cases

    sources: list[Any] = []
    labels: list[int] = []
    kinds: list[str] = []
    for source, label, kind in build_cases(tmp_path_factory.mktemp("cases")):
        sources.append(source)
        labels.append(label)
        kinds.append(kind)
    with np.load(bundled_mnist(), allow_pickle=False) as data:
        x, y = data["x_test"], data["y_test"]
    pick = np.random.default_rng(reject_fit.REPORT_SEED).choice(len(x), 800, replace=False)
    sources += list(reject_fit.redraw(x[pick], reject_fit.REPORT_SEED))
    labels += [int(v) for v in y[pick]]
    kinds += ["redrawn MNIST test"] * len(pick)
    typed, typed_labels = reject_fit.typed_digits(200, reject_fit.REPORT_SEED)
    sources += list(typed)
    labels += [int(v) for v in typed_labels]
    kinds += ["typed"] * len(typed)
    prepared = [prepare(source) for source in sources]
    keep = [i for i, p in enumerate(prepared) if not p.blank]
    rejected, _, logits = _assess(bundled, np.stack([prepared[i].image for i in keep]))
    tiny = np.array([too_little_ink(sources[i]) for i in keep])
    return rejected | tiny, logits, np.array([labels[i] for i in keep]), [kinds[i] for i in keep]


@pytest.mark.slow
def test_shipped_detector_keeps_realistic_drawings(realistic: Any) -> None:
    rejected, logits, labels, kinds = realistic
    assert len(labels) > 1400
    assert rejected.mean() <= 0.01, f"{rejected.mean():.2%} rejected: " + ", ".join(
        kinds[i] for i in np.flatnonzero(rejected))
    assert np.mean(logits.argmax(axis=1) == labels) >= 0.985


@pytest.mark.slow
def test_temperature_improves_held_out_likelihood_and_keeps_ece_low(bundled: Any, realistic: Any) -> None:
    """The bundled model is nearly calibrated already (ECE ~0.5 %), below what ~1,500 drawings
    resolve; so the proper score (NLL) must improve and ECE must stay within the issue's 1.5 %
    (temperature scaling minimises NLL, and here it costs a few tenths of a point of ECE). That ECE itself drops
    on held-out data is tested in test_calibration and measured on 2,400 drawings in bench_reject."""
    _, detector = bundled
    _, logits, labels, _ = realistic
    assert detector.temperature > 0
    assert calibration.nll(logits, labels, detector.temperature) < calibration.nll(logits, labels)
    before = calibration.ece(calibration.softmax(logits), labels)
    after = calibration.ece(detector.calibrate(logits), labels)
    assert after <= 0.015, (before, after)  # the bound; NLL, the proper score, improves above
