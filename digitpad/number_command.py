"""``digitpad predict --number``: the whole number in each image, as text lines or JSON records.

A record is ``{"path", "number", "digits": [{"digit", "confidence", "box",
"not_a_digit"}]}``: ``number`` is the digit string with ``?`` for a mark that
is not a digit, or null when the image has no ink; ``box`` is [x0, y0, x1, y1]
in the image's pixels (x1, y1 exclusive). The text form is one ``PATH: NUMBER``
line per image (``-`` when there is no ink). A file that cannot be read is
handed to the caller's ``on_error`` and skipped, so the command reports it in
the same one line as a plain ``digitpad predict``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from digitpad.contracts import Predictor
from digitpad.errors import DigitpadError

OnError = Callable[[Path, DigitpadError], None]
Record = dict[str, Any]


def number_record(path: str | Path, predictor: Predictor) -> Record:
    """The record of one image file; raises ImageError when it cannot be read."""
    from digitpad.numbers import read_number

    return {"path": str(path), **read_number(Path(path), predictor).to_json()}


def iter_number_records(paths: Iterable[str | Path], predictor: Predictor,
                        on_error: OnError | None = None) -> Iterator[Record]:
    """Records one at a time; unreadable files go to ``on_error`` (raised when it is None)."""
    for path in paths:
        try:
            record = number_record(path, predictor)
        except DigitpadError as exc:
            if on_error is None:
                raise
            on_error(Path(path), exc)
            continue
        yield record


def number_records(paths: Iterable[str | Path], predictor: Predictor,
                   on_error: OnError | None = None) -> list[Record]:
    """The records of all readable images, in order."""
    return list(iter_number_records(paths, predictor, on_error))


def text_line(record: Record) -> str:
    """``PATH: 2026``, or ``PATH: -`` for an image without ink."""
    number = record["number"]
    return f"{record['path']}: {'-' if number is None else number}"


def print_numbers(paths: Iterable[str | Path], predictor: Predictor, as_json: bool,
                  on_error: OnError, out: TextIO | None = None) -> int:
    """Print text lines as images are read, or one JSON array at the end; return the failures."""
    out = sys.stdout if out is None else out
    failures = 0

    def failed(path: Path, exc: DigitpadError) -> None:
        nonlocal failures
        failures += 1
        on_error(path, exc)

    records = []
    for record in iter_number_records(paths, predictor, failed):
        if as_json:
            records.append(record)
        else:
            print(text_line(record), file=out, flush=True)
    if as_json:
        json.dump(records, out, indent=1)
        print(file=out)
    return failures
