"""Personal samples on disk: append-only, atomic, exportable; fine-tuning on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digitpad.errors import DataError
from digitpad.personal import SampleStore, held_out


def _digit(seed: int) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12 + seed % 3:15 + seed % 3] = 1.0
    return image


def test_add_list_count_delete(tmp_path: Path) -> None:
    store = SampleStore(tmp_path / "samples")
    a = store.add(_digit(0), 1, canvas=np.full((280, 280), 255, np.uint8))
    b = store.add(_digit(1), 7)
    assert [s.id for s in store.samples()] == [a.id, b.id]
    assert store.counts()[1] == 1 and store.counts()[7] == 1
    assert a.canvas_path.is_file() and not b.canvas_path.exists()
    assert a.image().dtype == np.uint8 and a.image().max() == 255
    store.delete(a.id)
    assert [s.id for s in store.samples()] == [b.id]
    assert not a.image_path.exists()


def test_half_written_and_foreign_files_are_ignored(tmp_path: Path) -> None:
    store = SampleStore(tmp_path)
    good = store.add(_digit(0), 3)
    (tmp_path / "20250101T000000000000-deadbeef.png").write_bytes(b"partial")  # no JSON: not committed
    (tmp_path / ".20250101T000000000000-cafebabe.json.tmp").write_text("{")
    (tmp_path / "notes.json").write_text(json.dumps({"label": 4}))
    (tmp_path / "20250101T000001000000-00000000.json").write_text("{broken")
    assert [s.id for s in store.samples()] == [good.id]


def test_deleted_folder_is_recreated(tmp_path: Path) -> None:
    import shutil

    store = SampleStore(tmp_path / "samples")
    store.add(_digit(0), 2)
    shutil.rmtree(tmp_path / "samples")
    assert store.samples() == []
    store.add(_digit(1), 5)
    assert store.counts()[5] == 1


def test_bad_samples_are_refused(tmp_path: Path) -> None:
    store = SampleStore(tmp_path)
    with pytest.raises(DataError, match="0-9"):
        store.add(_digit(0), 10)
    with pytest.raises(DataError, match="28x28"):
        store.add(np.zeros((10, 10)), 1)
    assert store.samples() == []


def test_unwritable_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="could not save the sample"):
        SampleStore(blocker / "samples").add(_digit(0), 1)


def test_export_in_mnist_format(tmp_path: Path) -> None:
    store = SampleStore(tmp_path / "s")
    for label in (0, 1, 1):
        store.add(_digit(label), label)
    count = store.export_npz(tmp_path / "mine.npz")
    with np.load(tmp_path / "mine.npz", allow_pickle=False) as data:
        assert data["x_train"].shape == (3, 28, 28) and data["x_train"].dtype == np.uint8
        assert list(data["y_train"]) == [0, 1, 1] and data["y_train"].dtype == np.uint8
    assert count == 3


def test_held_out_is_stable() -> None:
    ids = [f"20250101T0000{i:02d}000000-{i:08x}" for i in range(50)]
    mask = held_out(ids)
    assert np.array_equal(mask, held_out(ids))
    assert 0 < mask.sum() < 50


@pytest.mark.slow
def test_fine_tune_reports_before_and_after(tmp_path: Path) -> None:
    from digitpad.ml.inference import Predictor
    from digitpad.contracts import ModelInfo
    from digitpad.ml.config import TrainConfig, fine_tune_settings
    from digitpad.ml.session import KerasTrainer
    from digitpad.ml.training import train

    base_result = train(TrainConfig(epochs=1, limit=1000, validation=0))
    base = Predictor(base_result.model, ModelInfo(path="base.keras", name="base"))
    store = SampleStore(tmp_path / "s")
    for i in range(30):
        store.add(_digit(i), 4)  # a user whose vertical bars mean 4
    outcome = KerasTrainer().fine_tune(fine_tune_settings(TrainConfig(limit=1000, validation=0)), base, store)
    report = outcome.fine_tune
    assert report is not None and report.personal_train + report.personal_test == 30
    assert 0 <= report.mnist_before <= 1 and 0 <= report.mnist_after <= 1
    assert report.personal_after is not None and report.personal_after >= report.personal_before
    assert report.personal_after == 1.0
    assert outcome.metadata["fine_tune"]["personal_train"] == report.personal_train


def test_fine_tune_needs_samples(tmp_path: Path) -> None:
    from digitpad.ml.config import TrainConfig, fine_tune_settings
    from digitpad.ml.session import KerasTrainer

    with pytest.raises(DataError, match="no personal samples"):
        KerasTrainer().fine_tune(fine_tune_settings(TrainConfig()), base=None, store=SampleStore(tmp_path))
