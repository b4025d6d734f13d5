"""Read the tutorial CNN's weights from a ``.keras`` file without TensorFlow or Keras.

A ``.keras`` file is a zip of ``config.json`` (the architecture),
``metadata.json`` and ``model.weights.h5``. The config is read as plain JSON and
compared with ``fastpath.PLAN``; nothing in it is deserialised, imported or
run. The weights are read with h5py from the archive's bytes in memory. The
file is untrusted: the archive's size and member count are capped, member
names may not leave it, and every HDF5 object is checked (a plain dataset,
expected shape and dtype, no links, filters or external storage) before any
array is read. Anything malformed raises a one-line ``ModelError``; a sound
Keras model of another architecture raises ``NotTutorialCNN`` (a
``ModelError`` too), for which callers use TensorFlow instead.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from digitpad.errors import ModelError
from digitpad.ml.fastpath import PLAN, WEIGHT_SHAPES, plan_mismatch

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
MAX_TOTAL_BYTES = 64 * 2**20  # all members, uncompressed; the tutorial CNN's weights are 13.1 MB
MAX_CONFIG_BYTES = 2**20
MAX_MEMBERS = 32  # Keras writes three
INPUT_SHAPE = [None, 28, 28, 1]
# The groups Keras 3 writes under ``layers/`` for PLAN: its snake-cased class names, numbered
# per class in order (not the layers' own names, which vary from model to model).
LAYER_GROUPS = ("conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dropout",
                "dense_1")

# Keys a layer config may hold whatever their value: they change nothing at inference.
_INERT = {"name", "trainable", "dtype", "kernel_initializer", "bias_initializer", "kernel_regularizer",
          "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint",
          "rate", "seed", "noise_shape"}


class NotTutorialCNN(ModelError):
    """A well-formed Keras model that is not exactly the tutorial CNN."""


def read_tutorial_weights(path: str | Path) -> list[np.ndarray]:
    """The 8 float32 weight arrays of a tutorial-CNN ``.keras`` file, in ``NumpyCNN`` order.

    Raises ``NotTutorialCNN`` when the config describes another model and
    ``ModelError`` when the file is missing, malformed or over the limits.
    """
    path = Path(path)
    members = read_members(path, (CONFIG, WEIGHTS))
    check_config(path, parse_config(path, members[CONFIG]))
    return read_weights(path, members[WEIGHTS])


def read_members(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of the named members, after checking the whole archive's listing."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_listing(path, infos)
            found = {info.filename: info for info in infos}
            for name in names:
                if name not in found:
                    raise ModelError(f"{path}: not a Keras .keras model file (no {name})")
            return {name: _read_member(path, archive, found[name]) for name in names}
    except ModelError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise ModelError(f"{path}: not a Keras .keras model file ({_reason(exc)})") from None
    except OSError as exc:
        raise ModelError(f"{path}: could not read model ({exc.strerror or _reason(exc)})") from None


def _check_listing(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise ModelError(f"{path}: archive holds {len(infos)} files, more than a model's {MAX_MEMBERS}")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if not _safe_name(name):
            raise ModelError(f"{path}: archive member {name!r} points outside the archive")
        if name in seen:
            raise ModelError(f"{path}: archive member {name!r} appears twice")
        seen.add(name)
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ModelError(f"{path}: archive unpacks to {total / 2**20:.0f} MiB, "
                         f"more than the {MAX_TOTAL_BYTES // 2**20} MiB a model may have")


def _safe_name(name: str) -> bool:
    """A relative POSIX member name that stays inside the archive."""
    if not name or "\\" in name or "\0" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    return ".." not in PurePosixPath(name).parts


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One member's bytes; never more than its declared size (zipfile stops there and checks the CRC)."""
    limit = MAX_CONFIG_BYTES if info.filename == CONFIG else MAX_TOTAL_BYTES
    if info.file_size > limit:
        raise ModelError(f"{path}: {info.filename} is {info.file_size / 2**20:.1f} MiB, over the "
                         f"{limit / 2**20:.0f} MiB limit")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) != info.file_size:
        raise ModelError(f"{path}: {info.filename} is not the size the archive says")
    return data


def parse_config(path: Path, raw: bytes) -> dict[str, Any]:
    """``config.json`` as plain JSON data."""
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelError(f"{path}: config.json is not valid JSON") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path}: config.json does not describe a model")
    return config


def check_config(path: Path, config: dict[str, Any]) -> None:
    """Raise ``NotTutorialCNN`` unless ``config`` is the tutorial CNN, layer for layer."""
    reason = plan_difference(config)
    if reason is not None:
        raise NotTutorialCNN(f"{path}: not the tutorial CNN ({reason})")


def plan_difference(config: dict[str, Any]) -> str | None:
    """How a Keras ``config.json`` differs from the tutorial CNN, or None when it does not."""
    if config.get("class_name") != "Sequential" or config.get("module", "keras") != "keras":
        return f"a {_text(config.get('class_name'))} model, not Sequential"
    body = config.get("config")
    layers = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        return "no layer list"
    if not layers or layers[0].get("class_name") != "InputLayer":
        return "no input layer"
    reason = _input_difference(layers[0])
    if reason is not None:
        return reason
    layers = layers[1:]
    if len(layers) != len(PLAN):
        return f"{len(layers)} layers, the tutorial CNN has {len(PLAN)}"
    for index, (layer, (kind, wanted)) in enumerate(zip(layers, PLAN), start=1):
        reason = _layer_difference(layer, kind, wanted)
        if reason is not None:
            return f"layer {index}: {reason}"
    return None


def _input_difference(layer: dict[str, Any]) -> str | None:
    config = layer.get("config")
    if not isinstance(config, dict):
        return "input layer without a config"
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if shape != INPUT_SHAPE:
        return f"input shape {_text(shape)}"
    if not _is_float32(config.get("dtype", "float32")) or config.get("sparse") or config.get("ragged"):
        return "input is not dense float32"
    return None


def _layer_difference(layer: dict[str, Any], kind: str, wanted: dict[str, Any]) -> str | None:
    if layer.get("class_name") != kind:
        return f"{_text(layer.get('class_name'))} where the tutorial CNN has {kind}"
    if layer.get("module") != "keras.layers" or layer.get("registered_name") is not None:
        return f"a custom {kind}"
    config = layer.get("config")
    if not isinstance(config, dict):
        return f"{kind} without a config"
    if not _is_float32(config.get("dtype")):
        return f"{kind} does not compute in float32"
    reason = plan_mismatch(config, wanted)
    if reason is not None:
        return f"{kind} {reason}"
    for key, value in config.items():
        if key not in wanted and key not in _INERT and value is not None:
            return f"{kind} setting {_text(key)}"
    return None


def _is_float32(dtype: Any) -> bool:
    """A float32 dtype, as Keras 3 writes it (a policy object or, before 3.4, a string)."""
    if dtype == "float32":
        return True
    return (isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy"
            and dtype.get("module", "keras") == "keras" and isinstance(dtype.get("config"), dict)
            and dtype["config"].get("name") == "float32")


def _text(value: Any) -> str:
    return repr(value)[:60]


def weight_paths() -> list[str]:
    """Where ``model.weights.h5`` keeps the 8 weights (kernel ``vars/0``, bias ``vars/1``), in order."""
    return [f"layers/{group}/vars/{i}" for group, (kind, _) in zip(LAYER_GROUPS, PLAN)
            if kind in ("Conv2D", "Dense") for i in (0, 1)]


def read_weights(path: Path, raw: bytes) -> list[np.ndarray]:
    """The 8 weight arrays from the bytes of ``model.weights.h5``, each checked before it is read."""
    import h5py

    try:
        handle = h5py.File(io.BytesIO(raw), "r")
    except Exception as exc:  # h5py raises OSError, ValueError and more for a damaged file
        raise ModelError(f"{path}: {WEIGHTS} is not a readable HDF5 file ({_reason(exc)})") from None
    try:
        with handle:
            _check_layer_groups(path, handle, h5py)
            return [_read_dataset(path, handle, name, shape, h5py)
                    for name, shape in zip(weight_paths(), WEIGHT_SHAPES)]
    except ModelError:
        raise
    except Exception as exc:  # a damaged object deep in the file
        raise ModelError(f"{path}: {WEIGHTS} is damaged ({_reason(exc)})") from None


def _check_layer_groups(path: Path, handle: Any, h5py: Any) -> None:
    layers = _hard_link(path, handle, "layers", h5py.Group, h5py)
    expected = set(LAYER_GROUPS)
    found = set(layers.keys())
    if found != expected:
        extra, missing = sorted(found - expected), sorted(expected - found)
        what = f"unexpected layers/{extra[0]}" if extra else f"no layers/{missing[0]}"
        raise ModelError(f"{path}: {WEIGHTS} does not match its config ({what})")


def _read_dataset(path: Path, handle: Any, name: str, shape: tuple[int, ...], h5py: Any) -> np.ndarray:
    """One weight: a hard-linked, unfiltered float32 dataset of exactly ``shape``, read only then."""
    parent_name, _, leaf = name.rpartition("/")
    parent = handle
    for part in parent_name.split("/"):
        parent = _hard_link(path, parent, part, h5py.Group, h5py, name)
    extra = sorted(set(parent.keys()) - {"0", "1"})
    if extra:
        raise ModelError(f"{path}: {WEIGHTS} does not match its config (unexpected {parent_name}/{extra[0]})")
    dataset = _hard_link(path, parent, leaf, h5py.Dataset, h5py, name)
    if tuple(dataset.shape or ()) != shape:
        raise ModelError(f"{path}: weight {name} has shape {tuple(dataset.shape or ())}, expected {shape}")
    dtype = dataset.dtype
    if dtype.kind != "f" or dtype.itemsize != 4:
        raise ModelError(f"{path}: weight {name} is {dtype}, expected float32")
    if dataset.is_virtual or dataset.external or dataset.id.get_create_plist().get_nfilters():
        raise ModelError(f"{path}: weight {name} is not stored plainly in the file")
    out = np.empty(shape, np.float32)
    dataset.read_direct(out)
    return out


def _hard_link(path: Path, group: Any, key: str, kind: type, h5py: Any, name: str | None = None) -> Any:
    """``group[key]`` if it is a hard link to a ``kind``; soft and external links are refused."""
    where = name or key
    link = group.get(key, getlink=True)
    if link is None:
        raise ModelError(f"{path}: {WEIGHTS} has no {where}")
    if not isinstance(link, h5py.HardLink):
        raise ModelError(f"{path}: {where} in {WEIGHTS} is a link, not stored in the file")
    item = group[key]
    if not isinstance(item, kind):
        raise ModelError(f"{path}: {where} in {WEIGHTS} is not a {'group' if kind is h5py.Group else 'dataset'}")
    return item


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__
