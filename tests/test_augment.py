"""Elastic distortions: reproducible, shape- and range-preserving, moving strokes but not ink."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ml.data import load_mnist


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """32 real MNIST training digits as (N, 28, 28, 1) float32 in [0, 1]."""
    return load_mnist().x_train[:32].astype(np.float32)[..., None] / 255.0


def _distort(images: np.ndarray, alpha: float, seed: tuple[int, int] = (3, 1), sigma: float = 4.0) -> np.ndarray:
    from digitpad.ml.augment import elastic_distort

    return np.asarray(elastic_distort(images, alpha, sigma, seed=seed))


def test_same_seed_same_distortion_other_seed_another(digits: np.ndarray) -> None:
    a, b = _distort(digits, 34.0), _distort(digits, 34.0)
    assert np.array_equal(a, b)
    assert not np.allclose(a, _distort(digits, 34.0, seed=(4, 1)))


def test_keeps_shape_dtype_and_range_moves_pixels_keeps_ink(digits: np.ndarray) -> None:
    out = _distort(digits, 34.0)
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    moved = np.abs(out - digits).mean(axis=(1, 2, 3)) / digits.mean(axis=(1, 2, 3))
    assert (moved > 0.1).all()  # every digit visibly changed
    # a warp stretches some strokes and squeezes others, so single digits vary; ink is neither lost nor made
    mass = out.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert ((mass > 0.6) & (mass < 1.5)).all() and 0.9 < mass.mean() < 1.1
    # the centre of mass stays close: strokes bend, the digit does not wander off
    grid = np.arange(28, dtype=np.float32)
    def centre(x: np.ndarray) -> np.ndarray:
        w = x[..., 0]
        return np.stack([(w.sum(2) * grid).sum(1), (w.sum(1) * grid).sum(1)], 1) / w.sum((1, 2))[:, None]
    assert np.abs(centre(out) - centre(digits)).max() < 3.0


def test_alpha_zero_is_identity_and_zero_field_warp_is_exact(digits: np.ndarray) -> None:
    from digitpad.ml.augment import warp

    assert np.array_equal(_distort(digits, 0.0), digits)
    zero = np.zeros(digits.shape[:3], np.float32)
    assert np.allclose(np.asarray(warp(digits, zero, zero)), digits, atol=1e-6)


def test_warp_shifts_by_whole_pixels_and_fills_with_paper() -> None:
    from digitpad.ml.augment import warp

    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 10, 12, 0] = 1.0
    dy = np.full((1, 28, 28), 2.0, np.float32)  # sample two rows below: content moves up
    dx = np.full((1, 28, 28), -3.0, np.float32)  # sample three columns left: content moves right
    out = np.asarray(warp(image, dy, dx))
    assert out[0, 8, 15, 0] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)
    far = np.asarray(warp(np.ones_like(image), dy * 20, dx * 20))
    assert far.max() == 0.0  # everything sampled from outside the image


def test_affine_field_rotates_zooms_and_shifts_within_its_limits() -> None:
    from digitpad.ml.augment import affine_field

    dy, dx = (np.asarray(d) for d in affine_field((64, 28, 28), 0.0, 0.0, 0.1, seed=(1, 2)))
    assert np.allclose(dy, dy[:, :1, :1], atol=1e-5) and np.allclose(dx, dx[:, :1, :1], atol=1e-5)  # a pure shift
    assert np.abs(dy).max() <= 2.8 + 1e-5 and np.abs(dy).max() > 1.5
    dy, dx = (np.asarray(d) for d in affine_field((64, 28, 28), np.pi / 18, 0.1, 0.0, seed=(1, 2)))
    assert np.abs(dy[:, 13:15, 13:15]).max() < 0.2  # the centre (13.5, 13.5) stays put
    corner = np.hypot(dy[:, 0, 0], dx[:, 0, 0])  # |R s p - p| at 19 px from the centre
    assert corner.max() < 19.1 * (0.1 + 2 * np.sin(np.pi / 36)) + 1e-3 and corner.max() > 1.0


def test_smoothing_keeps_a_constant_field_and_weights_sum_to_one() -> None:
    from digitpad.ml.augment import gaussian_kernel, smooth

    assert float(np.sum(np.asarray(gaussian_kernel(4.0)))) == pytest.approx(1.0, abs=1e-6)
    field = np.full((2, 28, 28, 2), 0.5, np.float32)
    assert np.allclose(np.asarray(smooth(field, 4.0)), 0.5, atol=1e-5)


def test_augmentation_layer_is_reproducible_per_seed_and_off_outside_training(digits: np.ndarray) -> None:
    from digitpad.ml.model import augmentation

    first = [np.asarray(augmentation(seed=5, elastic=34.0)(digits, training=True)) for _ in range(2)]
    assert np.array_equal(first[0], first[1])
    layer = augmentation(seed=5, elastic=34.0)
    again = np.asarray(layer(digits, training=True))
    assert not np.array_equal(again, np.asarray(layer(digits, training=True)))  # the stream advances per batch
    assert np.array_equal(np.asarray(layer(digits, training=False)), digits)
    names = [stage.name for stage in augmentation(seed=5, elastic=34.0).layers]
    assert names[0] == "elastic" and "elastic" not in [s.name for s in augmentation(seed=5).layers]


@pytest.mark.slow
def test_elastic_runs_inside_the_training_input_pipeline() -> None:
    from digitpad.ml.model import augmentation
    from digitpad.ml.training import TrainConfig, make_datasets

    data = load_mnist()
    config = TrainConfig(limit=256, batch_size=64, validation=0, seed=2, augment=True, elastic=34.0)

    def batches() -> list[np.ndarray]:
        train, _, n = make_datasets(config, data, augmentation(seed=config.seed, elastic=config.elastic))
        assert n == 256
        return [np.asarray(x) for x, _ in train]

    a, b = batches(), batches()
    assert [x.shape for x in a] == [(64, 28, 28, 1)] * 4
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0 for x in a)
