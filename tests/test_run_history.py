"""Every real training run is remembered: KerasTrainer records it with its model, stopped or not."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from digitpad.contracts import BatchEnd
from digitpad.ml.config import TrainConfig
from digitpad.ml.runs import RunStore
from digitpad.ml.session import KerasTrainer
from digitpad.ml.storage import load_model


@pytest.mark.slow
def test_a_stopped_run_is_recorded_with_where_it_stopped_and_its_model(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    stop = threading.Event()

    def on_batch(end: BatchEnd) -> None:
        if end.epoch == 2 and end.step == 2:
            stop.set()

    config = TrainConfig(epochs=3, limit=512, validation=256, batch_size=128, precision="float32",
                         tensorboard=str(tmp_path / "tb"))
    outcome = KerasTrainer(source="gui", runs=store).run(config, on_batch=on_batch, stop=stop)
    (record,) = store.list()
    assert record.kind == "train" and record.source == "gui" and record.status == "stopped"
    assert record.stop_point == {"epoch": 2, "batch": 2, "batches": 4}
    assert record.epochs_run == 1 and len(record.epoch_metrics) == 1
    assert record.test_accuracy == pytest.approx(outcome.evaluation.accuracy)
    assert len(record.confusion) == 10 and record.config["limit"] == 512
    assert record.batch_loss and record.data_sha256 == outcome.result.data_sha256
    model, info = load_model(record.model_path)  # the run's own model, in its folder
    assert Path(record.model_path).parent == store.folder(record.id)
    assert outcome.predictor.info.path == record.model_path  # so "Use this model" can be remembered
    assert info.metadata["stopped_at"] == {"epoch": 2, "batch": 2, "batches": 4}
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))  # TensorBoard logs from the same run
