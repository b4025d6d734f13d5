"""The ``digitpad`` command: the GUI by default, and train/evaluate/predict for scripts.

Nothing heavy is imported here at module level: the GUI must start fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from digitpad import __version__
from digitpad.errors import DigitpadError


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
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,predict}")

    train = sub.add_parser("train", help="train the CNN on MNIST with Adam")
    train.add_argument("--epochs", type=int, default=None,
                       help="passes over the training set (default 10; 1 with --personal)")
    train.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    train.add_argument("--learning-rate", type=float, default=None,
                       help="Adam learning rate (default 1e-3; 1e-4 with --personal)")
    train.add_argument("--validation", type=int, default=5000,
                       help="hold out the last N training images for validation (default 5000; 0 for none)")
    train.add_argument("--limit", type=int, default=None, help="train on at most N images (quick runs)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="random small rotation, zoom and shift of training images "
                       "(default off; on with --personal)")
    train.add_argument("--personal", action="store_true",
                       help="fine-tune --model on MNIST plus your saved samples, reporting accuracy "
                       "before and after")
    train.add_argument("--model", type=Path, default=None,
                       help="with --personal: the model to start from (default: bundled)")
    train.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                       help="numeric mode; auto picks mixed bfloat16 where the hardware has it")
    train.add_argument("--lr-decay", type=float, default=1.0,
                       help="multiply the learning rate by this after every epoch (default 1.0: constant)")
    train.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                       help="tf.distribute strategy: mirrored = all local GPUs (or CPUs); "
                       "multiworker = machines listed in TF_CONFIG")
    train.add_argument("--data", type=Path, default=None,
                       help="MNIST .npz (Keras format) or folder of IDX files (default: bundled)")
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

        return {"train": commands.train, "evaluate": commands.evaluate,
                "predict": commands.predict}[args.command](args)
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
