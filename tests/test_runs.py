"""Run history: records of real runs, the store on disk, config diffs, per-class metrics and `digitpad runs`."""

from __future__ import annotations

import argparse
import hashlib
import json
import threading

import numpy as np
import pytest

from digitpad import __version__
from digitpad import runs_command
from digitpad.contracts import BatchEnd, EpochEnd, StopPoint
from digitpad.errors import DataError
from digitpad.ml.class_metrics import per_class_metrics
from digitpad.ml.config import TrainConfig
from digitpad.ml.data import load_mnist, to_model_input
from digitpad.ml.evaluation import confusion_matrix, evaluate_probabilities
from digitpad.ml.runs import MAX_CURVE_POINTS, RunRecord, RunRecorder, RunStore, config_diff, runs_dir
from digitpad.ml.training import TrainResult, train
from digitpad.resources import bundled_model

TEST_IMAGES = 1000


def _strict_json(text: str):
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _evaluate(model, mnist):
    logits = np.asarray(model.predict_on_batch(to_model_input(mnist.x_test[:TEST_IMAGES])), np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return evaluate_probabilities(probs / probs.sum(axis=1, keepdims=True), mnist.y_test[:TEST_IMAGES])


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(scope="module")
def real_runs(mnist):
    """Two real runs: one finished (2 epochs), one stopped by the user after 3 batches."""
    config = TrainConfig(epochs=2, batch_size=64, limit=512, validation=256, precision="float32", seed=1)
    finished = RunRecorder(kind="train", source="cli")
    batches: list[BatchEnd] = []
    on_batch, on_epoch = finished.hooks(batches.append, None)
    result = train(config, on_batch=on_batch, on_epoch=on_epoch, data=mnist)
    evaluation = _evaluate(result.model, mnist)

    stop = threading.Event()
    stopped = RunRecorder(kind="fine-tune", source="gui")

    def stop_after_three(end: BatchEnd) -> None:
        stopped.on_batch(end)
        if end.step == 3:
            stop.set()

    stopped_result = train(TrainConfig(**{**config.as_dict(), "learning_rate": 5e-4}), on_batch=stop_after_three,
                           on_epoch=stopped.on_epoch, stop=stop, data=mnist)
    return {"finished": (finished, result, evaluation, batches), "stopped": (stopped, stopped_result)}


@pytest.mark.slow
def test_a_real_run_is_recorded_and_read_back_unchanged(tmp_path, mnist, real_runs) -> None:
    recorder, result, evaluation, batches = real_runs["finished"]
    model_path = tmp_path / "elsewhere.keras"
    record = recorder.build(result, evaluation, model_path, duration=12.5)

    assert record.kind == "train" and record.source == "cli" and record.status == "finished"
    assert record.stop_point is None and record.epochs_run == 2 == record.epochs_planned
    assert record.config == result.config.as_dict() and record.seed == 1
    assert record.precision == "float32" and record.strategy == "default"
    assert [e["loss"] for e in record.epoch_metrics] == [e.loss for e in result.history]
    assert record.batch_loss == [b.loss for b in batches] and len(record.batch_loss) == 16
    assert record.batch_loss_epoch[0] == pytest.approx(1 / 8) and record.batch_loss_epoch[-1] == pytest.approx(2.0)
    assert record.test_accuracy == evaluation.accuracy and record.test_loss == evaluation.loss
    assert np.array_equal(record.confusion, evaluation.confusion)
    assert sum(record.per_class["support"]) == TEST_IMAGES
    assert record.duration_s == 12.5 and record.images_per_second > 0
    assert record.train_images == 512 and record.model_path == str(model_path)
    assert record.digitpad_version == __version__ and record.data_sha256 == mnist.sha256 != ""

    store = RunStore(tmp_path / "runs")
    path = store.record(record)
    assert path == tmp_path / "runs" / record.id / "run.json"
    on_disk = _strict_json(path.read_text(encoding="utf-8"))
    assert on_disk["format"] == "digitpad-run"
    assert RunRecord.from_json(on_disk) == record
    assert store.get(record.id) == record
    assert store.list() == [record]


@pytest.mark.slow
def test_a_stopped_run_is_recorded_as_stopped_with_where(tmp_path, real_runs) -> None:
    recorder, result = real_runs["stopped"]
    record = recorder.build(result, None)
    assert record.status == "stopped" and record.kind == "fine-tune" and record.source == "gui"
    assert record.stop_point == StopPoint(1, 3, 8).to_json() == {"epoch": 1, "batch": 3, "batches": 8}
    assert record.epoch_metrics == [] and len(record.batch_loss) == 3
    assert record.test_accuracy is None and record.confusion == [] and record.per_class == {}
    assert record.images_per_second > 0  # no full epoch: from the batch clock
    store = RunStore(tmp_path)
    store.record(record)
    assert store.get(record.id).stop_point == {"epoch": 1, "batch": 3, "batches": 8}
    assert not store.get(record.id).early_stopped


def _record(learning_rate: float = 1e-3, epochs: int = 2, stopped: bool = False,
            early: bool = False, model_path=None) -> RunRecord:
    """A record built by RunRecorder from real result and evaluation types (no training)."""
    config = TrainConfig(epochs=epochs, learning_rate=learning_rate, precision="float32")
    done = 1 if early or stopped else epochs
    history = [EpochEnd(e, epochs, 1.0 / e, 0.5 + 0.1 * e, 0.9 / e, 0.6, 2.0, 1000.0) for e in range(1, done + 1)]
    result = TrainResult(model=None, config=config, history=history, stopped=stopped, policy="float32",
                         data_sha256="ab" * 32, train_images=512,
                         stop_point=StopPoint(2, 5, 8) if stopped else None)
    labels = np.arange(100) % 10
    predicted = labels.copy()
    predicted[:7] = (predicted[:7] + 1) % 10
    evaluation = evaluate_probabilities(np.eye(10)[predicted] * 0.9 + 0.01, labels)
    recorder = RunRecorder()
    for e in range(1, done + 1):
        recorder.on_batch(BatchEnd(e, epochs, 8, 8, 1.0 / e, 0.5))
    return recorder.build(result, evaluation, model_path)


def test_recorder_keeps_at_most_2000_evenly_spaced_points_of_a_long_run() -> None:
    recorder = RunRecorder()
    epochs, steps = 20, 430
    for epoch in range(1, epochs + 1):
        for step in range(1, steps + 1):
            recorder.on_batch(BatchEnd(epoch, epochs, step, steps, 1.0 / (epoch * step), 0.5))
    record = recorder.build(TrainResult(model=None, config=TrainConfig(epochs=epochs)))
    xs = np.array(record.batch_loss_epoch)
    assert MAX_CURVE_POINTS // 2 < len(xs) <= MAX_CURVE_POINTS == 2000
    assert len(record.batch_loss) == len(xs)
    gaps = np.diff(xs)
    assert np.all(gaps > 0) and np.allclose(gaps, gaps[0], rtol=0, atol=2e-6)  # every 8th of 8,600 batches
    assert xs[-1] == pytest.approx(epochs, abs=gaps[0])
    step = round(gaps[0] * steps)
    assert record.batch_loss[0] == pytest.approx(1.0 / step)


def test_record_is_written_once_and_never_rewritten(tmp_path) -> None:
    store = RunStore(tmp_path)
    record = _record()
    path = store.record(record)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        store.record(record)
    with pytest.raises(FileExistsError):
        store.record(RunRecord.from_json({**record.to_json(), "test_accuracy": 1.0}))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temp file left behind


def test_a_record_that_cannot_be_written_leaves_nothing(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    record = _record()
    record.extra["not json"] = object()
    with pytest.raises(TypeError):
        store.record(record)
    assert not (tmp_path / "runs").exists()


def test_not_a_number_is_stored_as_null_and_read_back_as_nan(tmp_path) -> None:
    record = _record()
    record.batch_loss = [float("nan"), 0.5]
    record.batch_loss_epoch = [0.5, 1.0]
    record.epoch_metrics[0]["val_loss"] = float("inf")
    store = RunStore(tmp_path)
    text = store.record(record).read_text(encoding="utf-8")
    assert _strict_json(text)["batch_loss"] == [None, 0.5]
    back = store.get(record.id)
    assert np.isnan(back.batch_loss[0]) and back.batch_loss[1] == 0.5
    assert back.epoch_metrics[0]["val_loss"] is None


def test_corrupt_run_folders_are_skipped_and_named_when_asked_for(tmp_path) -> None:
    store = RunStore(tmp_path)
    good = _record()
    store.record(good)
    other = good.to_json()
    bad = {
        "20250101-000000-aaaaaa": b"{not json",
        "20250101-000000-bbbbbb": json.dumps({**other, "id": "20250101-000000-bbbbbb"})[:-40].encode(),
        "20250101-000000-cccccc": json.dumps({"format": "something else"}).encode(),
        "20250101-000000-dddddd": json.dumps({**other, "id": "20250101-000000-dddddd", "kind": "magic"}).encode(),
        "20250101-000000-eeeeee": json.dumps(other).encode(),  # a copy: its id names another folder
        "20250101-000000-ffffff": json.dumps({**other, "id": "20250101-000000-ffffff", "batch_loss": 3}).encode(),
        "20250101-000000-gggggg": b"\xff\xfe\x00garbage",
        "20250101-000000-hhhhhh": json.dumps([1, 2, 3]).encode(),
    }
    for name, data in bad.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_bytes(data)
    (tmp_path / "20250101-000000-empty0").mkdir()
    (tmp_path / "stray.txt").write_text("not a run")
    (tmp_path / ".deleting-x").mkdir()

    assert store.list() == [good]
    with pytest.raises(DataError, match="20250101-000000-aaaaaa.*not a readable digitpad run record"):
        store.get("20250101-000000-aaaaaa")
    with pytest.raises(DataError, match="not found"):
        store.get("20250101-000000-empty0")


def test_delete_removes_the_run_folder_and_its_own_model_only(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    outside = tmp_path / "kept.keras"
    outside.write_bytes(b"a model saved with --out")
    bundled_digest = hashlib.sha256(bundled_model().read_bytes()).hexdigest()

    inside_run = _record(model_path=None)
    own_model = store.model_file(inside_run.id)
    own_model.write_bytes(b"this run's own model")
    inside_run.model_path = str(own_model)
    store.record(inside_run)
    outside_run = _record(model_path=outside)
    store.record(outside_run)
    bundled_run = _record(model_path=bundled_model())
    store.record(bundled_run)

    for run in (inside_run, outside_run, bundled_run):
        store.delete(run.id)
        assert not store.folder(run.id).exists()
    assert store.list() == [] and list((tmp_path / "runs").iterdir()) == []
    assert not own_model.exists()
    assert outside.read_bytes() == b"a model saved with --out"
    assert hashlib.sha256(bundled_model().read_bytes()).hexdigest() == bundled_digest
    with pytest.raises(DataError, match="not found"):
        store.delete(inside_run.id)
    with pytest.raises(DataError, match="not found"):
        store.get(inside_run.id)
    for sneaky in ("..", "../runs", "/tmp", "", ".hidden"):
        with pytest.raises(DataError, match="not a run id"):
            store.delete(sneaky)
    assert outside.exists() and tmp_path.exists()


def test_config_diff_names_each_setting_that_differs(tmp_path) -> None:
    a, b = _record(learning_rate=1e-3, epochs=2), _record(learning_rate=5e-4, epochs=4)
    assert config_diff(a, b) == [("epochs", 2, 4), ("learning_rate", 1e-3, 5e-4)]
    assert RunStore.config_diff(b, a) == [("epochs", 4, 2), ("learning_rate", 5e-4, 1e-3)]
    assert config_diff(a, _record()) == []
    assert config_diff({"augment": False, "seed": 0}, {"augment": True, "elastic": 34.0}) == [
        ("augment", False, True), ("seed", 0, None), ("elastic", None, 34.0)]
    c = RunRecord.from_json({**a.to_json(), "kind": "fine-tune", "precision": "mixed_bfloat16"})
    assert config_diff(a, c) == [("kind", "train", "fine-tune"), ("policy", "float32", "mixed_bfloat16")]


def test_per_class_metrics_from_a_known_confusion_matrix() -> None:
    confusion = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    metrics = per_class_metrics(confusion)
    assert metrics["support"] == [10, 10, 0]
    assert metrics["recall"][:2] == pytest.approx([0.8, 0.9]) and metrics["recall"][2] is None
    assert metrics["precision"][:2] == pytest.approx([8 / 9, 9 / 11]) and metrics["precision"][2] is None
    assert metrics["accuracy"] == pytest.approx([17 / 20, 17 / 20, 1.0])  # one-vs-rest
    assert metrics["f1"][0] == pytest.approx(2 * (8 / 9) * 0.8 / (8 / 9 + 0.8)) and metrics["f1"][2] is None
    labels = np.repeat(np.arange(10), 5)
    assert per_class_metrics(confusion_matrix(labels, labels))["recall"] == [1.0] * 10
    with pytest.raises(ValueError, match="square"):
        per_class_metrics(np.zeros((2, 3)))


def _runs_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="digitpad")
    runs_command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["runs", *argv])


def test_runs_command_lists_runs_as_a_table_and_as_json(capsys) -> None:
    assert runs_command.run(_runs_args()) == 0
    assert "no runs recorded yet" in capsys.readouterr().out
    assert runs_command.run(_runs_args("--json")) == 0
    assert json.loads(capsys.readouterr().out) == []

    store = RunStore()
    assert store.root == runs_dir()
    finished, stopped, early = _record(), _record(stopped=True, epochs=3), _record(early=True, epochs=5)
    finished.model_path = "/models/a.keras"
    for record in (finished, stopped, early):
        store.record(record)

    assert runs_command.run(_runs_args()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "date", "kind", "status", "epochs", "test", "acc", "model"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {finished.id, stopped.id, early.id}
    assert rows[finished.id].split()[-4:] == ["finished", "2/2", "0.9300", "/models/a.keras"]
    assert "stopped at 5/8" in rows[stopped.id] and " 1/3 " in rows[stopped.id]
    assert "finished early" in rows[early.id] and " 1/5 " in rows[early.id]

    assert runs_command.run(_runs_args("--json")) == 0
    listed = _strict_json(capsys.readouterr().out)
    assert sorted(r["id"] for r in listed) == sorted(rows)
    assert [RunRecord.from_json(r) for r in listed] == store.list()
