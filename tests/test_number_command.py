"""``digitpad predict --number``: records, their JSON schema, text lines and bad files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from benchmarks.bench_numbers import make_number, mnist_digits
from digitpad.errors import DigitpadError, ImageError
from digitpad.number_command import number_records, print_numbers, text_line


@pytest.fixture(scope="module")
def predictor() -> Any:
    from digitpad.ml.inference import load_predictor

    return load_predictor()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Any]:
    """A written number (RGB PNG), a blank page, a missing file and a text file."""
    case = make_number(np.random.default_rng(11), *mnist_digits("test"), count=4, kind="mixed")
    number = tmp_path / "number.png"
    Image.fromarray(case.image).convert("RGB").save(number)
    blank = tmp_path / "blank.png"
    Image.new("L", (600, 200), 255).save(blank)
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    return {"number": number, "blank": blank, "missing": tmp_path / "missing.png", "notes": notes,
            "text": case.text, "size": case.image.shape[::-1]}


def check_schema(record: dict[str, Any], size: tuple[int, int]) -> None:
    """A record as documented: path, number (digit string with ? or null), digits with boxes."""
    assert set(record) == {"path", "number", "digits"}
    assert isinstance(record["path"], str)
    number, digits = record["number"], record["digits"]
    assert number is None or re.fullmatch(r"[0-9?]+", number)
    assert (number is None) == (digits == [])
    assert number is None or len(number) == len(digits)
    for n, digit in enumerate(digits):
        assert set(digit) == {"digit", "confidence", "box", "not_a_digit"}
        assert isinstance(digit["not_a_digit"], bool)
        if digit["not_a_digit"]:
            assert digit["digit"] is None and number[n] == "?"
        else:
            assert isinstance(digit["digit"], int) and 0 <= digit["digit"] <= 9 and number[n] == str(digit["digit"])
        assert isinstance(digit["confidence"], float) and 0.0 <= digit["confidence"] <= 1.0
        x0, y0, x1, y1 = digit["box"]
        assert all(isinstance(v, int) for v in digit["box"])
        assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
    lefts = [d["box"][0] for d in digits]
    assert lefts == sorted(lefts)


def test_records_follow_the_schema(files: dict[str, Any], predictor: Any) -> None:
    records = number_records([files["number"], files["blank"]], predictor)
    assert [r["path"] for r in records] == [str(files["number"]), str(files["blank"])]
    assert records[0]["number"] == files["text"]
    assert records[1] == {"path": str(files["blank"]), "number": None, "digits": []}
    for record in records:
        check_schema(record, files["size"])
    assert json.loads(json.dumps(records)) == records  # plain JSON types only


def test_bad_files_are_reported_once_and_skipped(files: dict[str, Any], predictor: Any) -> None:
    errors: list[tuple[Path, DigitpadError]] = []
    paths = [files["missing"], files["number"], files["notes"]]
    records = number_records(paths, predictor, on_error=lambda path, exc: errors.append((path, exc)))
    assert [r["path"] for r in records] == [str(files["number"])]
    assert [path for path, _ in errors] == [files["missing"], files["notes"]]
    for path, exc in errors:
        assert isinstance(exc, ImageError)
        message = str(exc)
        assert len(message.splitlines()) == 1 and message.count(path.name) == 1
    with pytest.raises(ImageError, match="missing.png"):
        number_records([files["missing"]], predictor)


def test_text_lines_and_json_output(files: dict[str, Any], predictor: Any) -> None:
    errors: list[Path] = []
    paths = [files["number"], files["missing"], files["blank"]]
    text = io.StringIO()
    failures = print_numbers(paths, predictor, False, lambda path, exc: errors.append(path), out=text)
    assert failures == 1 and errors == [files["missing"]]
    assert text.getvalue().splitlines() == [f"{files['number']}: {files['text']}", f"{files['blank']}: -"]
    as_json = io.StringIO()
    assert print_numbers(paths, predictor, True, lambda path, exc: None, out=as_json) == 1
    records = json.loads(as_json.getvalue())
    assert [text_line(r) for r in records] == text.getvalue().splitlines()
    for record in records:
        check_schema(record, files["size"])


def _number_flag_wired() -> bool:
    from digitpad.cli import build_parser

    try:
        return bool(build_parser().parse_args(["predict", "--number", "x.png"]).number)
    except (SystemExit, AttributeError):
        return False


@pytest.mark.skipif(not _number_flag_wired(), reason="cli.py has no `predict --number` yet")
def test_predict_number_command(files: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from digitpad.cli import main

    paths = [str(files["number"]), str(files["missing"]), str(files["blank"])]
    assert main(["predict", "--number", "--json", *paths]) == 1
    out, err = capsys.readouterr()
    records = json.loads(out)
    assert [r["number"] for r in records] == [files["text"], None]
    for record in records:
        check_schema(record, files["size"])
    assert len(err.strip().splitlines()) == 1 and err.startswith("digitpad: error:") and "missing.png" in err
    assert main(["predict", "--number", str(files["number"])]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{files['number']}: {files['text']}"]
