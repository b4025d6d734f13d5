"""``digitpad explain IMAGE [--model PATH] [--out DIR] [--json]``: what each layer sees and why.

``add_parser`` and ``run`` plug into cli.py like the other commands; ``main``
runs the command alone (``python -m digitpad.explain_command``) with the same
one-line errors and exit codes. Nothing heavy is imported at module level
(cli.py imports this to build its parser).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from digitpad.errors import DigitpadError, ImageError, ModelError

DECIMALS = 6


def add_parser(subparsers: Any) -> None:
    """Add the ``explain`` sub-command to an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        "explain", help="show what every layer computes for an image and why the network answered",
        description="Feature maps, Integrated Gradients saliency, occlusion sensitivity and a "
        "'why a and not b' map for the digit in IMAGE, with the model's own numbers.")
    parser.add_argument("image", type=Path, help="image file (PNG, JPEG, ...)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: bundled)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write the pictures into (PNG, with colour bars; created if missing)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the maps")


def load_network(path: Path | None) -> Any:
    """The model's NumPy network (a NumpyCNN); the one place that loads a model here.

    Tutorial-CNN files with a probe load without TensorFlow; other files go
    through Keras (safe mode) and must have the tutorial architecture.
    """
    import numpy as np

    from digitpad.ml.numpy_predictor import load_numpy_predictor

    predictor = load_numpy_predictor(path)
    if predictor is not None:
        return predictor.numpy_cnn
    from digitpad.ml.fastpath import NumpyCNN, matches_plan
    from digitpad.ml.storage import load_model

    model, info = load_model(path)
    if not matches_plan(model):
        raise ModelError(f"{info.path}: explain works only for the tutorial CNN (conv-pool-conv-pool-dense-dense)")
    return NumpyCNN([np.asarray(w) for w in model.get_weights()])


def run(args: argparse.Namespace) -> int:
    """Explain one image: a summary, ``--json`` output and/or the ``--out`` pictures."""
    from digitpad.imaging import prepare
    from digitpad.ml.explain import Explainer

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise DigitpadError(f"{args.out}: not a folder")
    normalized = prepare(args.image)
    if normalized.blank:
        raise ImageError(f"{args.image}: blank image, nothing to explain")
    explainer = Explainer(load_network(args.model))
    why = explainer.why(normalized.image)
    written: list[Path] = []
    if args.out is not None:
        from digitpad.explain_pictures import write_pictures

        try:
            written = write_pictures(explainer, normalized.image, args.out, why)
        except OSError as exc:
            raise DigitpadError(f"{args.out}: could not write pictures ({exc.strerror or exc})") from None
    if args.json:
        json.dump(to_json(why, explainer.layers()), sys.stdout)
        print()
    else:
        print(summary(why))
    if written:
        print(f"wrote {len(written)} pictures to {args.out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def to_json(why: Any, layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``--json`` object: answer, the three maps as 28x28 lists, and the layers."""
    return {
        "digit": why.digit,
        "confidence": _round(why.probabilities[why.digit]),
        "probabilities": _round(why.probabilities),
        "saliency": _round(why.saliency),
        "occlusion": _round(why.occlusion),
        "contrast": {"classes": list(why.contrast.classes), "map": _round(why.contrast.map)},
        "layers": layers,
    }


def summary(why: Any) -> str:
    a, b = why.contrast.classes
    p = why.probabilities
    return (f"digit {why.digit}  confidence {p[a]:.4f}  runner-up {b} ({p[b]:.4f})\n"
            f"saliency: Integrated Gradients of logit {a}, sum {float(why.saliency.sum()):.3f}\n"
            f"occlusion: largest drop in P({a}) {float(why.occlusion.max()):.4f}\n"
            f"contrast {a} vs {b}: sum {float(why.contrast.map.sum()):.3f}")


def _round(values: Any) -> Any:
    import numpy as np

    return np.round(np.asarray(values, np.float64), DECIMALS).tolist()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``explain`` alone, with cli.py's error handling: one line, exit 1."""
    parser = argparse.ArgumentParser(prog="digitpad")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["explain", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except DigitpadError as exc:
        print(f"digitpad: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
