"""The synthetic non-digit generators: named kinds, deterministic per seed, real ink."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad import nondigits
from digitpad.imaging import prepare


@pytest.mark.parametrize("kind", list(nondigits.KINDS))
def test_each_kind_is_deterministic_per_seed_and_draws_real_ink(kind: str) -> None:
    first = nondigits.generate(kind, 2, seed=5)
    again = nondigits.generate(kind, 2, seed=5)
    other = nondigits.generate(kind, 2, seed=6)
    assert first.shape == (2, nondigits.CANVAS, nondigits.CANVAS) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    for image in first:
        assert np.median(image) == 255, "paper is white"
        inked = np.count_nonzero(image < 128)
        assert 10 < inked < 0.6 * image.size, f"{kind}: {inked} inked px"
        assert not prepare(image).blank, f"{kind}: the app would see a blank pad"


def test_images_of_one_seed_differ_from_each_other() -> None:
    stars = nondigits.generate("star", 4, seed=1)
    assert len({s.tobytes() for s in stars}) == 4


def test_kinds_draw_different_streams_for_the_same_seed() -> None:
    assert not np.array_equal(nondigits.generate("x_mark", 1, 0), nondigits.generate("star", 1, 0))


def test_generate_many_labels_every_image_with_its_kind() -> None:
    images, kinds = nondigits.generate_many(["dot", "wavy"], 2, seed=3)
    assert images.shape[0] == 4 and kinds == ["dot", "dot", "wavy", "wavy"]
    assert np.array_equal(images[2:], nondigits.generate("wavy", 2, seed=3))


def test_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown non-digit kind 'digit'"):
        nondigits.generate("digit", 1)


def test_typed_kinds_work_without_any_installed_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nondigits, "font_files", lambda: ())
    for kind in ("font_letter", "font_symbol"):
        for image in nondigits.generate(kind, 3, seed=2):
            assert np.count_nonzero(image < 128) > 10 and not prepare(image).blank


def test_picture_fonts_are_never_used_for_typed_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"/usr/share/fonts/a/DejaVuSans.ttf", "/usr/share/fonts/urw-base35/D050000L.otf",
             "/usr/share/fonts/b/NotoColorEmoji.ttf", "/usr/share/fonts/c/StandardSymbolsPS.otf",
             "/usr/share/fonts/d/Z003-MediumItalic.otf"}
    monkeypatch.setattr(nondigits.glob, "glob", lambda pattern, recursive=False: [
        f for f in found if pattern.startswith("/usr/share/fonts/") and f.endswith(pattern[-4:])])
    nondigits.font_files.cache_clear()
    try:
        assert nondigits.font_files() == ("/usr/share/fonts/a/DejaVuSans.ttf", "/usr/share/fonts/d/Z003-MediumItalic.otf")
    finally:
        nondigits.font_files.cache_clear()
