"""Save and load models: ``.keras`` without optimizer state plus a metadata JSON beside it.

Both files are written atomically (temp file in the same folder + rename), and
models load with Keras' ``safe_mode`` on: a model file is untrusted input.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from digitpad import __version__
from digitpad.errors import ModelError, one_line
from digitpad.fileio import temp_beside, write_atomic
from digitpad.contracts import ModelInfo
from digitpad.resources import bundled_model


def metadata_path(model_path: str | Path) -> Path:
    """``model.keras`` -> ``model.json``."""
    return Path(model_path).with_suffix(".json")


def default_name(result: Any, evaluation: Any = None, now: datetime | None = None) -> str:
    """'CNN 2026-12-02 14:03 · 2 epochs · 96.5 %': tells the person's models apart at a glance."""
    when = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [f"CNN {when}", f"{result.epochs_run} epoch{'s' * (result.epochs_run != 1)}"]
    if evaluation is not None:
        parts.append(f"{evaluation.accuracy * 100:.1f} %")
    return " · ".join(parts)


def build_metadata(result: Any, evaluation: Any = None, name: str | None = None) -> dict[str, Any]:
    """Describe a training result (and its test evaluation) for the JSON file."""
    from digitpad.ml.model import ARCHITECTURE

    last = result.history[-1] if result.history else None
    return {
        "format": "digitpad-model",
        "name": name or default_name(result, evaluation),
        "architecture": ARCHITECTURE,
        "outputs": "logits",
        "hyperparameters": result.config.as_dict(),
        "precision": result.policy,
        "epochs_run": result.epochs_run,  # full epochs only
        "stopped_early": result.stopped,
        "stopped_at": None if result.stop_point is None or not result.stopped else result.stop_point.to_json(),
        "train_images": result.train_images,
        "validation_accuracy": None if last is None else last.val_accuracy,
        "test_accuracy": None if evaluation is None else evaluation.accuracy,
        "test_loss": None if evaluation is None else evaluation.loss,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "digitpad_version": __version__,
        "data_sha256": result.data_sha256,
    }


def save_model(model: Any, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Save a float32 copy of ``model`` (no optimizer) and its metadata, atomically.

    For the tutorial CNN the metadata also gets the model's answers to the
    fixed probe inputs (``digitpad.ml.probe``), computed on the CPU, so that a
    later load can run it on NumPy alone and check it.
    """
    from digitpad.ml.fastpath import matches_plan
    from digitpad.ml.model import inference_copy
    from digitpad.ml.probe import probe_record

    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path}: model files must end in .keras")
    if not path.parent.is_dir():
        raise ModelError(f"{path.parent}: folder does not exist")
    tmp = temp_beside(path, ".keras")
    try:
        copy = inference_copy(model)
        copy.save(tmp, overwrite=True)
        if metadata is not None and metadata.get("outputs", "logits") == "logits" and matches_plan(copy):
            from digitpad.ml.backend import load_keras

            load_keras()
            import tensorflow as tf

            def probabilities(images: Any) -> Any:
                with tf.device("/CPU:0"):
                    return tf.nn.softmax(copy(images.reshape(-1, 28, 28, 1), training=False)).numpy()

            metadata = {**metadata, "probe": probe_record(probabilities)}
        if metadata is not None:
            write_atomic(metadata_path(path), json.dumps(metadata, indent=2).encode() + b"\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"could not save {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_metadata(model_path: str | Path) -> dict[str, Any]:
    """The metadata JSON beside a model, or {} when it is missing or unreadable."""
    try:
        data = json.loads(metadata_path(model_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_model(path: str | Path | None = None) -> tuple[Any, ModelInfo]:
    """Load a model (default: the bundled one) and check it reads 28x28x1 into 10 classes."""
    path = Path(path) if path is not None else bundled_model()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras .keras model file")
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        reason = one_line(exc, 200)
        raise ModelError(f"{path}: could not load model ({reason})") from None
    _check_shapes(model, path)
    metadata = read_metadata(path)
    if not metadata.get("outputs"):
        metadata["outputs"] = "probabilities" if _ends_in_softmax(model) else "logits"
    info = ModelInfo(
        path=str(path),
        name=str(metadata.get("name") or path.stem),
        test_accuracy=_float_or_none(metadata.get("test_accuracy")),
        date=metadata.get("date"),
        bundled=path.resolve() == bundled_model().resolve(),
        metadata=metadata,
    )
    return model, info


def _check_shapes(model: Any, path: Path) -> None:
    try:
        inputs, outputs = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        raise ModelError(f"{path}: not a digitpad model (no single input and output)") from None
    if inputs[1:] != (28, 28, 1) or outputs[1:] != (10,):
        raise ModelError(
            f"{path}: not a digitpad model: it maps {inputs[1:]} to {outputs[1:]}, "
            "but digitpad needs 28x28x1 images in and 10 classes out"
        )


def _ends_in_softmax(model: Any) -> bool:
    activation = getattr(model.layers[-1], "activation", None) if getattr(model, "layers", None) else None
    return getattr(activation, "__name__", "") == "softmax"


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
