"""The ``digitpad`` command: the GUI by default, and train/evaluate/predict for scripts.

Nothing heavy is imported here at module level: the GUI must start fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from digitpad import __version__, explain_command, runs_command
from digitpad.errors import DigitpadError
from digitpad.ml.config import SETTINGS, fine_tune_text


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per training setting, from the spec in ``digitpad.ml.config``."""
    for setting in SETTINGS:
        shown = ("on" if setting.default else "off") if setting.kind is bool else setting.default
        help_text = setting.help if setting.default is None else f"{setting.help} (default {shown})"
        if setting.kind is bool:
            parser.add_argument(setting.flag, action=argparse.BooleanOptionalAction, default=setting.default,
                                help=help_text)
        elif setting.choices:
            parser.add_argument(setting.flag, choices=setting.choices, default=setting.default, help=help_text)
        else:
            parser.add_argument(setting.flag, type=setting.kind, default=setting.default, help=help_text,
                                metavar={int: "N", float: "X"}.get(setting.kind, "PATH"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitpad",
        description="Draw a digit and see what a CNN trained on MNIST reads. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"digitpad {__version__}")
    parser.add_argument("--install-desktop", action="store_true",
                        help="install the desktop launcher and icon for this user, then exit")
    parser.add_argument("--uninstall-desktop", action="store_true",
                        help="remove the desktop launcher and icon, then exit")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,predict,explain,runs}")

    train = sub.add_parser("train", help="train the CNN on MNIST with Adam")
    add_setting_arguments(train)
    train.add_argument("--personal", action="store_true",
                       help="fine-tune --model on MNIST plus your saved samples, reporting accuracy "
                       f"before and after; {fine_tune_text()}")
    train.add_argument("--model", type=Path, default=None,
                       help="with --personal: the model to start from (default: bundled)")
    train.add_argument("--out", type=Path, default=None,
                       help="where to save the model (.keras; default: a new file in the user data folder)")
    train.add_argument("--name", default=None, help="a name for the model, shown in the app")

    evaluate = sub.add_parser("evaluate", help="test accuracy, loss and confusion matrix on MNIST test")
    evaluate.add_argument("--model", type=Path, default=None, help="model file (default: bundled)")
    evaluate.add_argument("--data", type=Path, default=None, help="MNIST .npz or IDX folder (default: bundled)")

    predict = sub.add_parser("predict", help="read the digit in image files")
    predict.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    predict.add_argument("--model", type=Path, default=None, help="model file (default: bundled)")
    predict.add_argument("--json", action="store_true", help="print one JSON array")
    predict.add_argument("--number", action="store_true",
                         help="read a whole number (several digits side by side) in each image")
    explain_command.add_parser(sub)
    runs_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``digitpad`` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.install_desktop or args.uninstall_desktop:
            from digitpad.desktop import install_desktop, uninstall_desktop

            message = install_desktop() if args.install_desktop else uninstall_desktop()
            print(message)
            return 0
        if args.command is None:
            from digitpad.ui.app import main as gui_main

            return gui_main()
        from digitpad import commands

        return {"train": commands.train, "evaluate": commands.evaluate, "predict": commands.predict,
                "explain": explain_command.run, "runs": runs_command.run}[args.command](args)
    except DigitpadError as exc:
        print(f"digitpad: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitpad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `digitpad evaluate | head`: the reader left, that's fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
