"""``digitpad explain``: its JSON is the Explainer's numbers, its PNGs are real pictures, its errors one line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitpad.explain_command import add_parser, load_network, main, run
from digitpad.imaging import to_mnist
from digitpad.ml.explain import Explainer

PICTURES = ["input", "conv1_maps", "conv1_filters", "conv2_maps", "dense", "saliency", "occlusion", "contrast"]


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A drawn 4 with an open top, black on white as the pad saves it."""
    img = Image.new("L", (280, 280), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(95, 40), (75, 165), (205, 165)], fill=0, width=18)
    draw.line([(170, 60), (170, 250)], fill=0, width=18)
    path = tmp_path_factory.mktemp("drawings") / "four.png"
    img.save(path)
    return path


@pytest.fixture(scope="module")
def explainer() -> Explainer:
    return Explainer(load_network(None))


def _grid(value: object) -> np.ndarray:
    grid = np.asarray(value, np.float64)
    assert grid.shape == (28, 28)
    return grid


def _six_digits(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values * 1e6 - np.round(values * 1e6)) < 1e-3))


def test_json_is_one_object_with_the_explainers_numbers(four: Path, explainer: Explainer,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(four), "--json"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out)
    assert set(record) == {"digit", "confidence", "probabilities", "saliency", "occlusion", "contrast", "layers"}
    why = explainer.why(to_mnist(four))
    assert record["digit"] == why.digit == 4
    probs = np.asarray(record["probabilities"])
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-5 and record["confidence"] == probs.max()
    np.testing.assert_allclose(probs, why.probabilities, rtol=0, atol=1e-6)
    np.testing.assert_allclose(_grid(record["saliency"]), why.saliency, rtol=0, atol=1e-6)
    np.testing.assert_allclose(_grid(record["occlusion"]), why.occlusion, rtol=0, atol=1e-6)
    contrast = record["contrast"]
    assert set(contrast) == {"classes", "map"}
    logits = explainer.net.logits(to_mnist(four))[0]
    assert contrast["classes"] == [int(i) for i in np.argsort(-logits)[:2]] and contrast["classes"][0] == 4
    np.testing.assert_allclose(_grid(contrast["map"]), why.contrast.map, rtol=0, atol=1e-6)
    for grid in (record["saliency"], record["occlusion"], contrast["map"]):
        assert _six_digits(_grid(grid))
    assert [row["name"] for row in record["layers"]][:2] == ["input", "conv1"]
    assert sum(row["params"] for row in record["layers"]) == 3_274_634
    assert all(set(row) == {"name", "shape", "params"} for row in record["layers"])


def test_out_writes_clean_pictures(four: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "slides"
    assert main([str(four), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("digit 4") and f"wrote 8 pictures to {out}" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in PICTURES)
    for name in PICTURES:
        with Image.open(out / f"{name}.png") as img:
            assert img.format == "PNG" and img.mode == "RGB"
            assert img.width >= 300 and img.height >= 250
            pixels = np.asarray(img)
        assert pixels.std() > 10  # not blank
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # a picture, a bar and text
        assert (pixels[0] == 255).all()  # white margin
    with Image.open(out / "input.png") as img:
        body = np.asarray(img.convert("L"))
    assert body.min() == 0 and body.max() == 255


def test_json_and_out_together_keep_stdout_pure_json(four: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(four), "--json", "--out", str(tmp_path / "p")]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "wrote 8 pictures" in captured.err
    assert len(list((tmp_path / "p").glob("*.png"))) == 8


@pytest.mark.parametrize("kind", ["missing", "not_an_image", "blank", "out_is_a_file"])
def test_bad_input_is_one_line_and_exit_1(kind: str, four: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "input.png"
    extra: list[str] = []
    if kind == "not_an_image":
        path.write_text("hello, not a picture")
    elif kind == "blank":
        Image.new("RGB", (200, 200), "white").save(path)
    elif kind == "out_is_a_file":
        path = four
        (tmp_path / "file").write_text("x")
        extra = ["--out", str(tmp_path / "file")]
    assert main([str(path), "--json", *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digitpad: error: ")
    named = str(tmp_path / "file") if kind == "out_is_a_file" else str(path)
    assert lines[0].count(named) == 1
    assert "Traceback" not in captured.err


def test_a_bad_model_is_one_line(four: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "broken.keras"
    model.write_bytes(b"not a zip")
    assert main([str(four), "--model", str(model)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(model) in lines[0]


def test_add_parser_and_run_plug_into_a_parent_parser(four: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="digitpad")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", str(four), "--json"])
    assert args.command == "explain" and args.model is None and args.out is None
    assert run(args) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == 4


def test_wired_into_the_digitpad_command(four: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from digitpad import cli

    assert cli.main(["explain", str(four), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == 4
    assert cli.main(["explain", str(four.parent / "missing.png")]) == 1
    assert capsys.readouterr().err.count("missing.png") == 1
