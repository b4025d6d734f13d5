"""The Runs view over real run records on disk: table and numeric sorting, overlaid curves, diff, use, delete."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QTableWidget

from digitpad.ml.config import TrainConfig
from digitpad.ml.runs import RunRecord, RunStore, config_diff
from digitpad.resources import bundled_model
from digitpad.ui.runs_view import COLUMNS, DELETE_TITLE, EMPTY_TEXT, RunsView, run_label
from digitpad.ui.theme import use_scheme

ACC = COLUMNS.index("test acc")
DATE = COLUMNS.index("date")


def _epochs(count: int, planned: int, start_acc: float, rate: float) -> list[dict]:
    """Per-epoch metrics shaped like EpochEnd: loss falls and accuracy rises, validation a little behind."""
    out = []
    for epoch in range(1, count + 1):
        acc = 1 - (1 - start_acc) * rate ** (epoch - 1)
        out.append({"epoch": epoch, "epochs": planned, "loss": -math.log(acc) * 1.1, "accuracy": acc,
                    "val_loss": -math.log(acc * 0.998), "val_accuracy": acc * 0.998, "seconds": 41.5 + epoch,
                    "samples_per_second": 1300.0 + 10 * epoch})
    return out


def _batches(count: int, start: float, fall: float, steps: int = 20) -> tuple[list[float], list[float]]:
    """A running-mean batch loss going from 2.3 to ``start`` (the first epoch's loss), then by ``fall`` per epoch."""
    x = [round(e + s / steps, 6) for e in range(count) for s in range(1, steps + 1)]
    return [(2.3 - start) * math.exp(-4 * v) + start * fall ** v for v in x], x


def _record(run_id: str, created: str, config: TrainConfig, *, accuracy: float | None, epochs: int,
            status: str = "finished", stop: dict | None = None, model: Path | None = None,
            kind: str = "train", start: float = 0.93, rate: float = 0.4) -> RunRecord:
    loss, loss_x = _batches(epochs + (1 if stop else 0), -math.log(start), 0.7 if rate < 1 else 1.05)
    return RunRecord(id=run_id, kind=kind, source="gui", created=created, config=config.as_dict(), seed=config.seed,
                     precision="float32", strategy="default", status=status, stop_point=stop,
                     epoch_metrics=_epochs(epochs, config.epochs, start, rate), batch_loss=loss,
                     batch_loss_epoch=loss_x, test_accuracy=accuracy, test_loss=None if accuracy is None else 0.05,
                     duration_s=130.0, images_per_second=1310.0, train_images=55000,
                     model_path=None if model is None else str(model), data_sha256="ab" * 32)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return three_runs(tmp_path)


def three_runs(tmp_path: Path) -> RunStore:
    """Three recorded runs: an accurate one with its model, a diverged one (9.80 %), one stopped in epoch 2."""
    store = RunStore(tmp_path / "runs")
    good = TrainConfig(epochs=3, batch_size=64, learning_rate=1e-3, precision="float32")
    model = store.model_file("20250131-142501-3fa9c2")
    model.write_bytes(b"PK\x03\x04 not opened by the view")
    store.record(_record("20250131-142501-3fa9c2", "2025-01-31T14:25:01+00:00", good, accuracy=0.9912, epochs=3,
                         model=model))
    hot = TrainConfig(epochs=3, batch_size=128, learning_rate=0.5, precision="float32", augment=True)
    store.record(_record("20250201-090000-aaaaaa", "2025-02-01T09:00:00+00:00", hot, accuracy=0.098, epochs=3,
                         start=0.11, rate=1.02))
    stopped = TrainConfig(epochs=5, batch_size=64, learning_rate=1e-3, precision="float32")
    store.record(_record("20250115-120000-bbbbbb", "2025-01-15T12:00:00+00:00", stopped, accuracy=0.114,
                         epochs=1, status="stopped", stop={"epoch": 2, "batch": 40, "batches": 157},
                         model=tmp_path / "gone.keras", start=0.85, rate=0.6))
    return store


@pytest.fixture
def view(show, store: RunStore) -> RunsView:
    widget = RunsView(store)
    widget.resize(900, 720)
    return show(widget)


def _column(table: QTableWidget, col: int) -> list[str]:
    return [table.item(row, col).text() for row in range(table.rowCount())]


def _ids(view: RunsView) -> list[str]:
    return [view.table.item(row, DATE).data(Qt.ItemDataRole.UserRole + 1) for row in range(view.table.rowCount())]


def test_table_lists_every_run_newest_first(view: RunsView) -> None:
    table = view.findChild(QTableWidget, "runsTable")
    assert table is view.table and table.rowCount() == 3
    assert _ids(view) == ["20250201-090000-aaaaaa", "20250131-142501-3fa9c2", "20250115-120000-bbbbbb"]
    row = view.row_of("20250115-120000-bbbbbb")
    cells = [table.item(row, col).text() for col in range(len(COLUMNS))]
    assert cells[1:] == ["11.40 %", "train", "1/5", "stopped at epoch 2 batch 40/157", "0.001", "64"]
    assert table.item(view.row_of("20250131-142501-3fa9c2"), ACC).text() == "99.12 %"


def test_sorting_by_accuracy_is_numeric_not_textual(view: RunsView) -> None:
    view.table.sortItems(ACC, Qt.SortOrder.AscendingOrder)
    assert _column(view.table, ACC) == ["9.80 %", "11.40 %", "99.12 %"]  # as text "11.40 %" would come first
    view.table.sortItems(ACC, Qt.SortOrder.DescendingOrder)
    assert _column(view.table, ACC) == ["99.12 %", "11.40 %", "9.80 %"]
    view.table.sortItems(DATE, Qt.SortOrder.AscendingOrder)
    assert _ids(view)[0] == "20250115-120000-bbbbbb"


def test_two_selected_runs_overlay_their_curves_and_diff_their_settings(view: RunsView, store: RunStore) -> None:
    a, b = store.get("20250131-142501-3fa9c2"), store.get("20250201-090000-aaaaaa")
    view.select_runs([a.id, b.id])
    assert set(view.selected_ids()) == {a.id, b.id}
    for record in (a, b):
        items = view.curves(record.id)
        x, y = items["val_accuracy"].getData()
        assert list(x) == record.series("val_accuracy")[0]
        np.testing.assert_allclose(y, record.series("val_accuracy")[1])
        np.testing.assert_allclose(items["val_loss"].getData()[1], record.series("val_loss")[1])
        bx, by = items["batch_loss"].getData()
        np.testing.assert_allclose(bx, record.batch_loss_epoch)
        np.testing.assert_allclose(by, record.batch_loss)
    accuracy_items = view.accuracy_plot.getPlotItem().listDataItems()
    assert len(accuracy_items) == 2
    pens = {item.opts["pen"].color().name() for item in accuracy_items}
    assert len(pens) == 2, "one colour per run"
    legend = dict(view.legend_entries())
    assert sorted(legend) == sorted([run_label(a), run_label(b)])
    assert legend[run_label(a)] == view.curves(a.id)["val_accuracy"].opts["pen"].color().name()
    assert legend[run_label(b)] == view.curves(b.id)["batch_loss"].opts["pen"].color().name()
    assert all(name in view.legend.text() for name in legend)

    diff = view.findChild(QTableWidget, "configDiff")
    assert diff.isVisibleTo(view)
    expected = [key for key, _x, _y in config_diff(b, a)]  # b sorts first: newest first
    assert sorted(view.diff_keys()) == sorted(expected) == ["augment", "batch_size", "learning_rate"]

    view.select_runs([a.id])
    assert not diff.isVisibleTo(view)
    assert len(view.accuracy_plot.getPlotItem().listDataItems()) == 1


def test_use_emits_the_run_model_path_and_is_off_without_a_model_file(qtbot, view: RunsView, store: RunStore) -> None:
    button = view.findChild(QPushButton, "useRunModelButton")
    view.select_runs(["20250115-120000-bbbbbb"])  # its model file was never written
    assert not button.isEnabled()
    view.select_runs(["20250131-142501-3fa9c2"])
    assert button.isEnabled()
    with qtbot.waitSignal(view.useModelRequested, timeout=1000) as signal:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert signal.args == [str(store.model_file("20250131-142501-3fa9c2"))]


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])
def test_delete_asks_and_removes_the_run_folder_only_on_yes(qtbot, monkeypatch, view: RunsView, store: RunStore,
                                                            answer) -> None:
    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(title)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    run_id = "20250131-142501-3fa9c2"
    folder = store.folder(run_id)
    view.select_runs([run_id])
    qtbot.mouseClick(view.findChild(QPushButton, "deleteRunButton"), Qt.MouseButton.LeftButton)
    assert asked == [DELETE_TITLE]
    if answer == QMessageBox.StandardButton.Yes:
        assert not folder.exists() and view.table.rowCount() == 2 and view.row_of(run_id) == -1
    else:
        assert (folder / "run.json").is_file() and (folder / "model.keras").is_file()
        assert view.table.rowCount() == 3


def test_delete_never_touches_the_bundled_model(qtbot, monkeypatch, tmp_path: Path, show) -> None:
    """A run that names the bundled model is deleted without it; a folder holding it is refused."""
    bundled = bundled_model()
    size = bundled.stat().st_size
    store = RunStore(tmp_path / "runs")
    config = TrainConfig(epochs=1)
    store.record(_record("20250301-000000-cccccc", "2025-03-01T00:00:00+00:00", config, accuracy=0.99, epochs=1,
                         model=bundled))
    view = show(RunsView(store))
    view.select_runs(["20250301-000000-cccccc"])
    assert view.use_button.isEnabled()
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)  # the session answers Yes
    assert not store.folder("20250301-000000-cccccc").exists()
    assert bundled.is_file() and bundled.stat().st_size == size

    guarded = RunStore(tmp_path / "guarded")  # a run folder the bundled model lives in: the store refuses
    store_file = guarded.model_file("20250302-000000-dddddd")
    store_file.write_bytes(b"weights")
    guarded.record(_record("20250302-000000-dddddd", "2025-03-02T00:00:00+00:00", config, accuracy=0.99,
                           epochs=1, model=store_file))
    monkeypatch.setattr("digitpad.resources.bundled_model", lambda: store_file)
    view.store = guarded
    view.refresh()
    view.select_runs(["20250302-000000-dddddd"])
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert store_file.is_file()
    assert view.error_label.isVisibleTo(view) and "bundled model" in view.error_label.text()
    assert view.table.rowCount() == 1


def test_runs_recorded_while_hidden_appear_when_shown_again(qtbot, view: RunsView, store: RunStore) -> None:
    view.select_runs(["20250131-142501-3fa9c2"])
    view.hide()
    store.record(_record("20250401-000000-eeeeee", "2025-04-01T00:00:00+00:00", TrainConfig(epochs=2),
                         accuracy=0.985, epochs=2))
    view.show()
    qtbot.waitExposed(view)
    assert view.table.rowCount() == 4 and _ids(view)[0] == "20250401-000000-eeeeee"
    assert view.selected_ids() == ["20250131-142501-3fa9c2"]  # the selection survives the re-read


def test_empty_store_says_so(show, tmp_path: Path) -> None:
    view = show(RunsView(RunStore(tmp_path / "none")))
    labels = [label for label in view.findChildren(QLabel) if label.text() == EMPTY_TEXT]
    assert len(labels) == 1 and labels[0].isVisible()
    assert not view.table.isVisible()


@pytest.mark.parametrize("scheme, size", [("light", (900, 720)), ("dark", (900, 720)), ("light", (560, 480))])
def test_screenshot_fits_without_clipping(qapp, qtbot, view: RunsView, scheme: str, size: tuple[int, int]) -> None:
    """Grabs /tmp/runs_view_<scheme>_<width>.png (looked at by eye); every column's text fits its cell."""
    use_scheme(qapp, scheme)
    try:
        hint = view.minimumSizeHint()
        assert hint.width() <= 560 and hint.height() <= 480, hint
        view.resize(*size)
        view.select_runs(["20250131-142501-3fa9c2", "20250201-090000-aaaaaa"])
        qtbot.wait(50)
        path = Path(f"/tmp/runs_view_{scheme}_{size[0]}.png")
        assert view.grab().save(str(path))
        table, metrics = view.table, view.table.fontMetrics()
        header = table.horizontalHeader()
        widths = [header.sectionSize(col) for col in range(len(COLUMNS))]
        needed = [max(metrics.horizontalAdvance(table.item(row, col).text()) for row in range(table.rowCount()))
                  for col in range(len(COLUMNS))]
        assert all(w > n for w, n in zip(widths, needed)), (widths, needed)  # scrolls sideways rather than elides
    finally:
        use_scheme(qapp, "light")
