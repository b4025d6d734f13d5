"""TensorBoard event files from a real run, read back with TensorFlow's own summary_iterator."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from digitpad.contracts import BatchEnd
from digitpad.ml.callbacks import build_callbacks, tensorboard_dir
from digitpad.ml.config import TrainConfig
from digitpad.ml.data import load_mnist, to_model_input
from digitpad.ml.evaluation import evaluate_probabilities
from digitpad.ml.tensorboard_log import (EventWriter, IMAGES_PER_PAIR, log_misclassified, run_logdir,
                                         tensorboard_command)
from digitpad.ml.training import train

TEST_IMAGES = 500


def _events(folder):
    """Every (step, tag, plugin, value) in the event files of ``folder``, and the graphs."""
    import tensorflow as tf

    values, graphs = collections.defaultdict(list), []
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            if event.graph_def:
                graph = tf.compat.v1.GraphDef()
                graph.ParseFromString(event.graph_def)
                graphs.append(graph)
            for value in event.summary.value:
                values[value.tag].append((event.step, value.metadata.plugin_data.plugin_name,
                                          tf.make_ndarray(value.tensor)))
    return values, graphs


def _scalars(values, tag):
    assert all(plugin == "scalars" for _, plugin, _ in values[tag]), tag
    return [step for step, _, _ in values[tag]], [float(v) for _, _, v in values[tag]]


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tensorboard")
    mnist = load_mnist()
    config = TrainConfig(epochs=2, batch_size=64, limit=512, validation=256, precision="float32",
                         tensorboard=str(root))
    batches: list[BatchEnd] = []
    run_dir = root.parent / "runs" / "20250101-120000-abcdef"
    result = train(config, data=mnist, on_batch=batches.append,
                   callbacks=build_callbacks(config, run_dir=run_dir, data=mnist))
    logits = np.asarray(result.model.predict_on_batch(to_model_input(mnist.x_test[:TEST_IMAGES])), np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    evaluation = evaluate_probabilities(probs / probs.sum(axis=1, keepdims=True), mnist.y_test[:TEST_IMAGES])
    logdir = tensorboard_dir(config, run_dir)
    written = log_misclassified(logdir, mnist.x_test[:TEST_IMAGES], evaluation, step=result.epochs_run)
    return {"root": root, "logdir": logdir, "result": result, "batches": batches, "model": result.model,
            "evaluation": evaluation, "written": written, "images": mnist.x_test[:TEST_IMAGES]}


@pytest.mark.slow
def test_scalars_per_batch_and_per_epoch_are_the_losses_training_reported(logged_run) -> None:
    logdir, result, batches = logged_run["logdir"], logged_run["result"], logged_run["batches"]
    assert logdir == logged_run["root"] / "20250101-120000-abcdef"  # one folder per run under --tensorboard
    train_values, _ = _events(logdir / "train")
    steps, losses = _scalars(train_values, "batch_loss")
    assert steps == list(range(1, 17))  # 8 batches x 2 epochs
    assert losses == pytest.approx([b.loss for b in batches], rel=1e-6)
    assert _scalars(train_values, "batch_accuracy")[1] == pytest.approx([b.accuracy for b in batches], rel=1e-6)
    assert _scalars(train_values, "batch_learning_rate")[1] == pytest.approx([1e-3] * 16, rel=1e-6)
    steps, losses = _scalars(train_values, "epoch_loss")
    assert steps == [1, 2] and losses == pytest.approx([e.loss for e in result.history], rel=1e-6)
    assert _scalars(train_values, "epoch_learning_rate")[1] == pytest.approx([1e-3, 1e-3], rel=1e-6)

    val_values, _ = _events(logdir / "validation")
    steps, losses = _scalars(val_values, "epoch_loss")
    assert steps == [1, 2] and losses == pytest.approx([e.val_loss for e in result.history], rel=1e-6)
    assert _scalars(val_values, "epoch_accuracy")[1] == pytest.approx([e.val_accuracy for e in result.history])


@pytest.mark.slow
def test_weight_and_gradient_histograms_per_epoch_and_the_model_graph(logged_run) -> None:
    values, graphs = _events(logged_run["logdir"] / "train")
    model = logged_run["model"]
    for layer in ("conv1", "conv2", "dense", "logits"):
        for weight in ("kernel", "bias"):
            size = int(np.prod(model.get_layer(layer).get_weights()[0 if weight == "kernel" else 1].shape))
            for kind in ("weights", "gradients"):
                entries = values[f"{kind}/{layer}/{weight}"]
                assert [step for step, _, _ in entries] == [1, 2], (kind, layer, weight)
                for _, plugin, table in entries:
                    assert plugin == "histograms" and table.shape[1] == 3
                    assert table[:, 2].sum() == size  # every value counted once
                    assert np.all(table[:, 1] >= table[:, 0])
    # The last weight histogram is of the final weights (no early stopping here).
    final = model.get_layer("dense").get_weights()[0]
    table = values["weights/dense/kernel"][-1][2]
    assert table[0, 0] == pytest.approx(final.min()) and table[-1, 1] == pytest.approx(final.max())
    # Gradients change between epochs: they are computed each time, not copied.
    first, second = (t for _, _, t in values["gradients/dense/kernel"])
    assert not np.array_equal(first, second)

    assert len(graphs) == 1
    ops = {node.op for node in graphs[0].node}
    for function in graphs[0].library.function:
        ops |= {node.op for node in function.node_def}
    assert {"Conv2D", "MaxPool", "MatMul"} <= ops


@pytest.mark.slow
def test_misclassified_test_digits_are_logged_as_images(logged_run) -> None:
    import tensorflow as tf

    evaluation, images = logged_run["evaluation"], logged_run["images"]
    values, _ = _events(logged_run["logdir"] / "test")
    assert _scalars(values, "test_accuracy") == ([2], [pytest.approx(evaluation.accuracy)])
    assert _scalars(values, "test_loss")[1] == [pytest.approx(evaluation.loss)]
    wrong = evaluation.misclassified()
    assert len(wrong) > 0
    pairs = collections.Counter(zip(evaluation.labels[wrong].tolist(), evaluation.predicted[wrong].tolist()))
    tags = {tag for tag in values if tag.startswith("misclassified/")}
    assert tags == {f"misclassified/true_{t}_read_{p}" for t, p in pairs}
    total = 0
    for (true, read), count in pairs.items():
        [(step, plugin, tensor)] = values[f"misclassified/true_{true}_read_{read}"]
        assert plugin == "images" and step == 2
        assert tensor[:2].tolist() == [b"28", b"28"]  # width, height, then PNGs
        decoded = [tf.io.decode_png(png).numpy()[..., 0] for png in tensor[2:]]
        expected = wrong[(evaluation.labels[wrong] == true) & (evaluation.predicted[wrong] == read)]
        assert len(decoded) == min(count, IMAGES_PER_PAIR)
        for image, index in zip(decoded, expected):
            assert np.array_equal(image, images[index])
        total += len(decoded)
    assert total == logged_run["written"]


def test_histograms_of_constant_and_non_finite_values(tmp_path) -> None:
    writer = EventWriter(tmp_path)
    writer.histogram("constant", np.full(7, 2.5), step=1)
    writer.histogram("with_nan", np.array([1.0, np.nan, 3.0, np.inf]), step=1)
    writer.histogram("empty", np.array([]), step=1)
    writer.close()
    values, _ = _events(tmp_path)
    [(_, _, constant)] = values["constant"]
    assert constant.tolist() == [[2.0, 3.0, 7.0]]
    [(_, _, finite)] = values["with_nan"]
    assert finite[:, 2].sum() == 2 and finite[0, 0] == 1.0 and finite[-1, 1] == 3.0
    assert "empty" not in values


def test_tensorboard_command_names_the_folder() -> None:
    assert tensorboard_command("/home/me/tb logs") == "tensorboard --logdir '/home/me/tb logs'"
    assert tensorboard_command("runs") == "tensorboard --logdir runs"
    assert run_logdir("/tb", "20250101-120000-abcdef").as_posix() == "/tb/20250101-120000-abcdef"
