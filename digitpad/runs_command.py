"""``digitpad runs [--json]``: the recorded training runs, as a table or one JSON array.

TensorFlow-free: listing runs reads JSON files only, so it answers at once.
Importing this module costs nothing (the run store loads when the command
runs), so ``digitpad.cli`` can import it at start-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digitpad.ml.runs import RunRecord

COLUMNS = ("id", "date", "kind", "status", "epochs", "test acc", "model")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``runs`` command to ``digitpad``'s subparsers."""
    parser = subparsers.add_parser("runs", help="list the recorded training runs",
                                   description="List every recorded training and fine-tuning run, oldest first.")
    parser.add_argument("--json", action="store_true", help="print one JSON array of the full records")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the runs; 0 even when there are none."""
    from digitpad.ml.runs import RunStore

    store = RunStore()
    records = store.list()
    if getattr(args, "json", False):
        json.dump([r.to_json() for r in records], sys.stdout, indent=1, allow_nan=False)
        print()
        return 0
    if not records:
        print(f"no runs recorded yet ({store.root})")
        return 0
    print(format_table(records))
    return 0


def format_table(records: list["RunRecord"]) -> str:
    """Aligned columns: id, date, kind, status, epochs, test accuracy, model path."""
    rows = [COLUMNS] + [_row(r) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip()
                     for row in rows)


def _row(record: "RunRecord") -> tuple[str, ...]:
    date = record.date
    when = date.astimezone().strftime("%Y-%m-%d %H:%M") if date is not None else record.created
    planned = record.epochs_planned
    epochs = f"{record.epochs_run}/{planned}" if planned is not None else str(record.epochs_run)
    status = record.status
    stop = record.stop_point
    if stop and 0 < stop.get("batch", 0) < stop.get("batches", 0):
        status += f" at {stop['batch']}/{stop['batches']}"
    elif record.early_stopped:
        status += " early"
    accuracy = "-" if record.test_accuracy is None else f"{record.test_accuracy:.4f}"
    return record.id, when, record.kind, status, epochs, accuracy, record.model_path or "-"
