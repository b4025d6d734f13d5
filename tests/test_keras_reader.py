"""Reading the tutorial CNN from a .keras file without TensorFlow: same weights as Keras, hostile files refused."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import pytest

from digitpad.errors import ModelError
from digitpad.ml.data import load_mnist
from digitpad.ml.fastpath import NumpyCNN
from digitpad.ml.keras_reader import MAX_MEMBERS, NotTutorialCNN, read_tutorial_weights, weight_paths
from digitpad.ml.numpy_predictor import NumpyPredictor, load_numpy_predictor
from digitpad.ml.probe import probe_images, probe_matches
from digitpad.resources import bundled_model

BUNDLED = bundled_model()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tutorial CNN saved the way digitpad saves every model."""
    from digitpad.ml.model import build_model
    from digitpad.ml.storage import save_model

    path = tmp_path_factory.mktemp("fresh") / "fresh.keras"
    return save_model(build_model(), path, {"name": "fresh", "outputs": "logits", "test_accuracy": 0.1})


@pytest.fixture(scope="module")
def mnist_images() -> np.ndarray:
    return load_mnist().x_test[:100].astype(np.float32) / 255.0


def _keras_probabilities(model: Any, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    return tf.nn.softmax(model(images.reshape(-1, 28, 28, 1), training=False)).numpy()


def _same_as_keras(path: Path, images: np.ndarray) -> None:
    from digitpad.ml.storage import load_model

    model, info = load_model(path)
    weights = read_tutorial_weights(path)
    assert len(weights) == 8
    for ours, theirs in zip(weights, model.get_weights()):  # the loader itself: identical, not just 1e-6
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    predictor = load_numpy_predictor(path)
    assert isinstance(predictor, NumpyPredictor)
    ours, theirs = predictor.probabilities(images), _keras_probabilities(model, images)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # float32 sums in another order
    assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    assert predictor.info == info


@pytest.mark.slow  # imports TensorFlow and loads with Keras
def test_bundled_model_reads_as_keras_does(mnist_images: np.ndarray) -> None:
    _same_as_keras(BUNDLED, mnist_images)


@pytest.mark.slow  # imports TensorFlow and loads with Keras
def test_freshly_saved_model_reads_as_keras_does(fresh: Path, mnist_images: np.ndarray) -> None:
    meta = json.loads(fresh.with_suffix(".json").read_text())
    assert meta["probe"]["version"] == 1 and len(meta["probe"]["probabilities"]) == len(probe_images())
    _same_as_keras(fresh, mnist_images)


def test_weights_are_where_keras_3_puts_them() -> None:
    with zipfile.ZipFile(BUNDLED) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        handle = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    with handle:
        shapes = [handle[name].shape for name in weight_paths()]
    assert shapes == [w.shape for w in read_tutorial_weights(BUNDLED)]
    assert shapes[0] == (5, 5, 1, 32) and shapes[4] == (3136, 1024)


def test_probe_images_are_fixed_and_read_as_digits() -> None:
    images = probe_images()
    np.testing.assert_array_equal(images, probe_images())
    assert images.dtype == np.float32 and images.shape == (7, 28, 28)
    assert images.min() == 0.0 and images.max() == 1.0 and not images[0].any()
    cnn = NumpyCNN(read_tutorial_weights(BUNDLED))
    assert list(cnn.probabilities(images[4:]).argmax(axis=1)) == [1, 0, 7]
    record = json.loads(BUNDLED.with_suffix(".json").read_text())["probe"]
    assert probe_matches(cnn, record)


# --- hostile and malformed files, built by rewriting the real archive ----------------------------
def _rewrite(dst: Path, change: dict[str, bytes | None] | None = None,
             add: list[tuple[str, bytes]] | None = None, probe: dict[str, Any] | None | str = "keep") -> Path:
    """Copy the bundled model to ``dst`` with members replaced (bytes), dropped (None) or added,
    and write its metadata beside it with the bundled probe, another one, or none (None)."""
    change = change or {}
    if change or add:
        with zipfile.ZipFile(BUNDLED) as src, zipfile.ZipFile(dst, "w") as out:  # stored, as Keras writes
            for info in src.infolist():
                data = change.get(info.filename, src.read(info.filename))
                if data is not None:
                    out.writestr(info.filename, data)
            for name, data in add or []:
                out.writestr(name, data)
    elif not dst.exists():
        shutil.copy(BUNDLED, dst)
    meta = json.loads(BUNDLED.with_suffix(".json").read_text())
    if probe is None:
        del meta["probe"]
    elif probe != "keep":
        meta["probe"] = probe
    dst.with_suffix(".json").write_text(json.dumps(meta))
    return dst


def _config(edit: Callable[[list[dict[str, Any]]], None]) -> bytes:
    with zipfile.ZipFile(BUNDLED) as archive:
        config = json.loads(archive.read("config.json"))
    edit(config["config"]["layers"])
    return json.dumps(config).encode()


def _weights(tmp_path: Path, edit: Callable[[h5py.File], None]) -> bytes:
    scratch = tmp_path / "scratch.h5"
    with zipfile.ZipFile(BUNDLED) as archive:
        scratch.write_bytes(archive.read("model.weights.h5"))
    with h5py.File(scratch, "r+") as handle:
        edit(handle)
    return scratch.read_bytes()


def _refused(path: Path, match: str, kind: type[ModelError] = ModelError) -> str:
    with pytest.raises(kind, match=match) as info:
        read_tutorial_weights(path)
    message = str(info.value)
    assert "\n" not in message and message.count(str(path)) == 1, message
    return message


def _extra_dense(layers: list[dict[str, Any]]) -> None:
    layers.insert(-1, json.loads(json.dumps(layers[-1])))


def _tanh(layers: list[dict[str, Any]]) -> None:
    layers[1]["config"]["activation"] = "tanh"


def _custom(layers: list[dict[str, Any]]) -> None:
    layers[6]["module"] = "evil.layers"


def _lora(layers: list[dict[str, Any]]) -> None:
    layers[6]["config"]["lora_rank"] = 4


def _average_pool(layers: list[dict[str, Any]]) -> None:
    layers[2]["class_name"] = "AveragePooling2D"


@pytest.mark.parametrize(("edit", "match"), [
    (_extra_dense, "9 layers, the tutorial CNN has 8"),
    (_tanh, "layer 1: Conv2D activation 'tanh'"),
    (_custom, "a custom Dense"),
    (_lora, "setting 'lora_rank'"),
    (_average_pool, "'AveragePooling2D' where the tutorial CNN has MaxPooling2D"),
])
def test_another_architecture_is_refused_and_left_to_tensorflow(tmp_path: Path, edit: Callable, match: str) -> None:
    path = _rewrite(tmp_path / "other.keras", {"config.json": _config(edit)})
    _refused(path, match, NotTutorialCNN)
    assert load_numpy_predictor(path) is None


@pytest.mark.parametrize(("edit", "match"), [
    (lambda f: f.__delitem__("layers/dense/vars/1"), "has no layers/dense/vars/1"),
    (lambda f: (f.__delitem__("layers/dense/vars/0"), f.create_dataset("layers/dense/vars/0", (3136, 1000), "f4")),
     r"layers/dense/vars/0 has shape \(3136, 1000\), expected \(3136, 1024\)"),
    (lambda f: (f.__delitem__("layers/conv2d/vars/1"), f.create_dataset("layers/conv2d/vars/1", (32,), "f8")),
     "is float64, expected float32"),
    (lambda f: (f.__delitem__("layers/conv2d/vars/1"),
                f.create_dataset("layers/conv2d/vars/1", data=np.zeros(32, "f4"), compression="gzip")),
     "not stored plainly"),
    (lambda f: f.__setitem__("layers/conv2d/vars/2", np.zeros(3, "f4")), "unexpected layers/conv2d/vars/2"),
    (lambda f: f.create_group("layers/extra"), "unexpected layers/extra"),
    (lambda f: (f.__delitem__("layers/dense_1/vars/1"),
                f.__setitem__("layers/dense_1/vars/1", h5py.ExternalLink("/etc/passwd", "/x"))), "is a link"),
    (lambda f: (f.__delitem__("layers/dense_1/vars/1"),
                f.__setitem__("layers/dense_1/vars/1", h5py.SoftLink("/layers/dense/vars/1"))), "is a link"),
])
def test_malformed_weights_are_refused(tmp_path: Path, edit: Callable, match: str) -> None:
    path = _rewrite(tmp_path / "bad.keras", {"model.weights.h5": _weights(tmp_path, edit)})
    _refused(path, match)
    with pytest.raises(ModelError, match=match):
        load_numpy_predictor(path)


def test_weights_that_are_not_hdf5_are_refused(tmp_path: Path) -> None:
    path = _rewrite(tmp_path / "bad.keras", {"model.weights.h5": b"\x89HDF\r\n" + b"\0" * 5000})
    _refused(path, "model.weights.h5 is not a readable HDF5 file")


def test_a_missing_member_is_refused(tmp_path: Path) -> None:
    _refused(_rewrite(tmp_path / "bad.keras", {"model.weights.h5": None}), r"no model\.weights\.h5")
    _refused(_rewrite(tmp_path / "bad2.keras", {"config.json": b"{not json"}), "config.json is not valid JSON")


def test_a_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.keras"
    shutil.copy(BUNDLED, path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("assets/pad.bin", "w") as member:
        block = bytes(2**20)
        for _ in range(80):  # 80 MiB of zeros, about 80 KB compressed
            member.write(block)
    assert path.stat().st_size < BUNDLED.stat().st_size + 200_000
    _refused(path, "archive unpacks to 93 MiB, more than the 64 MiB")


def test_a_member_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    """The central directory says config.json is 100 bytes; reading stops there and the CRC fails."""
    path = shutil.copy(BUNDLED, tmp_path / "liar.keras")
    data = bytearray(Path(path).read_bytes())
    entry = data.index(b"PK\x01\x02")  # central directory entries; 24: uncompressed size, 28: name length
    while True:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if bytes(data[entry + 46:entry + 46 + name_length]) == b"config.json":
            break
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 100)
    Path(path).write_bytes(bytes(data))
    _refused(Path(path), "not a Keras .keras model file|not the size")


@pytest.mark.parametrize("name", ["../evil.txt", "assets/../../evil.txt", "/etc/evil", "C:/evil", "a\\..\\b"])
def test_a_member_path_outside_the_archive_is_refused(tmp_path: Path, name: str) -> None:
    path = _rewrite(tmp_path / "escape.keras", add=[(name, b"x")])
    message = _refused(path, "points outside the archive")
    with pytest.raises(ModelError):
        load_numpy_predictor(path)
    assert not (tmp_path.parent / "evil.txt").exists() and message


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    path = _rewrite(tmp_path / "many.keras", add=[(f"assets/{i}", b"") for i in range(MAX_MEMBERS)])
    _refused(path, f"holds {MAX_MEMBERS + 3} files")


def test_not_a_zip_and_missing_files_are_one_line_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.keras"
    text.write_text("hello")
    for path, match in ((text, "not a Keras .keras model file"), (tmp_path / "gone.keras", "not found")):
        with pytest.raises(ModelError, match=match) as info:
            load_numpy_predictor(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    cut = tmp_path / "cut.keras"
    cut.write_bytes(BUNDLED.read_bytes()[: BUNDLED.stat().st_size // 2])
    with pytest.raises(ModelError, match="not a Keras"):
        load_numpy_predictor(cut)


# --- the probe ---------------------------------------------------------------------------------
def test_no_probe_means_tensorflow(tmp_path: Path) -> None:
    assert load_numpy_predictor(_rewrite(tmp_path / "old.keras", probe=None)) is None
    shutil.copy(BUNDLED, tmp_path / "bare.keras")  # no metadata JSON at all
    assert load_numpy_predictor(tmp_path / "bare.keras") is None


def test_a_probe_mismatch_means_tensorflow(tmp_path: Path) -> None:
    record = json.loads(BUNDLED.with_suffix(".json").read_text())["probe"]
    off = json.loads(json.dumps(record))
    off["probabilities"][2][3] += 2e-5  # just over the tolerance
    assert load_numpy_predictor(_rewrite(tmp_path / "off.keras", probe=off)) is None
    close = json.loads(json.dumps(record))
    close["probabilities"][2][3] += 5e-6
    assert isinstance(load_numpy_predictor(_rewrite(tmp_path / "close.keras", probe=close)), NumpyPredictor)
    for broken in ({**record, "version": 99}, {**record, "sha256": "0" * 64}, {**record, "seed": 1},
                   {**record, "probabilities": record["probabilities"][:-1]}, "probe", None):
        assert load_numpy_predictor(_rewrite(tmp_path / "broken.keras", probe=broken or {})) is None


@pytest.mark.slow  # imports TensorFlow and loads with Keras
def test_the_real_weights_with_another_models_probe_are_refused(tmp_path: Path, fresh: Path) -> None:
    """Weights swapped under a metadata file (or the other way round) fail the probe."""
    other = json.loads(fresh.with_suffix(".json").read_text())["probe"]
    assert load_numpy_predictor(_rewrite(tmp_path / "swapped.keras", probe=other)) is None


@pytest.mark.slow
def test_a_probe_mismatch_still_loads_through_tensorflow(tmp_path: Path) -> None:
    from digitpad.ml.inference import Predictor, load_predictor

    record = json.loads(BUNDLED.with_suffix(".json").read_text())["probe"]
    off = {**record, "probabilities": [[0.1] * 10 for _ in record["probabilities"]]}
    predictor = load_predictor(_rewrite(tmp_path / "off.keras", probe=off))
    assert isinstance(predictor, Predictor)
    assert predictor.predict_prepared(probe_images()[6]).digit == 7
