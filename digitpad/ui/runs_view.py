"""The Runs view: the recorded training runs as a sortable table, their curves overlaid, two runs' settings diffed.

Reads :class:`~digitpad.ml.runs.RunStore` (JSON files only, no TensorFlow).
Selecting runs draws each one's per-epoch validation accuracy and loss, and
its per-batch loss, in one colour per run on shared axes; exactly two
selected also list the settings that differ. "Use this run's model" emits the
run's model path; "Delete run" asks first and leaves the store to refuse
anything that holds the bundled model. pyqtgraph is imported when the charts
are first needed, not at start-up.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QPen, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QSizePolicy, QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from digitpad.errors import DataError
from digitpad.ml.runs import RunRecord, RunStore, config_diff
from digitpad.ui.theme import chart_colors, current_palette, error_color, is_palette_change, scheme_of, style_chart
from digitpad.ui.training_charts import epoch_tick_step

if TYPE_CHECKING:  # pragma: no cover
    import pyqtgraph as pg

COLUMNS = ("date", "test acc", "kind", "full epochs", "status", "learning rate", "batch size")  # accuracy first: it is what runs are compared by
SORT_ROLE = Qt.ItemDataRole.UserRole  # the number a column sorts by
ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the run id, on the date cell
EMPTY_TEXT = "No runs yet: train a model and it appears here"
DELETE_TITLE = "Delete run — digitpad"
MARKER = 6  # px, the per-epoch points
SELECT_ROW = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows  # keeps the rest

# One hue per selected run, in a variant for light and one for dark backgrounds (cycled past eight).
_RUN_COLORS = {
    "light": ("#1f6fb4", "#c75a00", "#2e7d32", "#8e24aa", "#c2185b", "#00838f", "#6d4c41", "#546e7a"),
    "dark": ("#6cb4f0", "#ffa24d", "#81c784", "#ce93d8", "#f48fb1", "#4dd0e1", "#bcaaa4", "#b0bec5"),
}


def run_color(index: int, palette: QPalette | None = None) -> QColor:
    """The colour of the ``index``-th selected run in ``palette`` (default: the application's)."""
    colors = _RUN_COLORS[scheme_of(palette)]
    return QColor(colors[index % len(colors)])


def run_label(record: RunRecord) -> str:
    """'2025-01-31 14:25 train 3fa9c2': the run's local start time, kind and id suffix (legend and diff)."""
    return f"{_when(record)} {record.kind} {record.id.rsplit('-', 1)[-1]}"


def _short_label(record: RunRecord) -> str:
    """'01-31 14:25 3fa9c2': the run label without year and kind, for narrow column headers."""
    return f"{_when(record)[5:]} {record.id.rsplit('-', 1)[-1]}"


def status_text(record: RunRecord) -> str:
    """'finished', 'finished early' or 'stopped at epoch 2 batch 40/157'."""
    stop = record.stop_point
    if record.status == "stopped":
        if stop and 0 < stop.get("batch", 0) < stop.get("batches", 0):
            return f"stopped at epoch {stop.get('epoch', '?')} batch {stop['batch']}/{stop['batches']}"
        return f"stopped after epoch {record.epochs_run}"
    return "finished early" if record.early_stopped else "finished"


def _when(record: RunRecord) -> str:
    date = record.date
    return date.astimezone().strftime("%Y-%m-%d %H:%M") if date is not None else record.created


def _number(value: Any) -> float:
    """A sort key: the value as a float, missing values first (-inf)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return -math.inf


class _SortItem(QTableWidgetItem):
    """A cell that sorts by its SORT_ROLE number, not by its text ("9.80 %" before "11.40 %")."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
            return float(mine) < float(theirs)
        return super().__lt__(other)


def _cell(text: str, key: Any) -> _SortItem:
    item = _SortItem(text)
    item.setData(SORT_ROLE, key)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    return item


class RunsView(QWidget):
    """Recorded runs: table ``runsTable``, overlaid curves, ``configDiff``; emits ``useModelRequested(path)``."""

    useModelRequested = Signal(str)  # the chosen run's model file

    def __init__(self, store: RunStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsView")
        self.store = store if store is not None else RunStore()
        self._records: dict[str, RunRecord] = {}
        self._selected: list[str] = []
        self._curves: dict[str, dict[str, Any]] = {}  # run id -> {"val_accuracy"|"val_loss"|"batch_loss": item}
        self._accuracy_plot: pg.PlotWidget | None = None
        self._loss_plot: pg.PlotWidget | None = None
        self._shown_once = False
        self._build()
        self.refresh()

    # --- construction -------------------------------------------------------------
    def _build(self) -> None:
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("runsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("runsError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runsTable")
        self.table.setAccessibleName("Recorded runs")
        self.table.setToolTip("Every recorded run; select several to overlay their curves, two to compare settings")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # never elided: scrolls sideways
        header.setStretchLastSection(True)
        header.setSortIndicator(COLUMNS.index("date"), Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setSortingEnabled(True)
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(header.sizeHint().height() + 3 * rows + 4)
        self.table.itemSelectionChanged.connect(self._on_selection)

        self.use_button = QPushButton("Use this run's model")
        self.use_button.setObjectName("useRunModelButton")
        self.use_button.setToolTip("Make the Draw tab read with the model this run saved")
        self.use_button.clicked.connect(self._use_model)
        self.delete_button = QPushButton("Delete run")
        self.delete_button.setObjectName("deleteRunButton")
        self.delete_button.setToolTip("Delete this run's record and its own model file (asks first)")
        self.delete_button.clicked.connect(self._delete_run)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("runsHint")
        self.hint_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.hint_label, 1)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(buttons)

        self.legend = QLabel()
        self.legend.setObjectName("runsLegend")
        self.legend.setAccessibleName("Which colour is which run")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.charts = QWidget()
        self.charts.setObjectName("runsCharts")
        self.charts.setMinimumHeight(200)
        charts_layout = QVBoxLayout(self.charts)
        charts_layout.setContentsMargins(0, 0, 0, 0)
        charts_layout.addWidget(self.legend)  # above the plots, so it never hides a curve
        self._charts_layout = QHBoxLayout()
        charts_layout.addLayout(self._charts_layout, 1)

        self.diff_title = QLabel("Settings that differ")
        self.diff_title.setObjectName("configDiffTitle")
        self.diff = QTableWidget(0, 3)
        self.diff.setObjectName("configDiff")
        self.diff.setAccessibleName("Settings that differ between the two selected runs")
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.setTabKeyNavigation(False)
        self.diff.verticalHeader().setVisible(False)
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.diff.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.diff_box = QWidget()
        diff_layout = QVBoxLayout(self.diff_box)
        diff_layout.setContentsMargins(0, 0, 0, 0)
        diff_layout.addWidget(self.diff_title)
        diff_layout.addWidget(self.diff, 1)
        self.diff_box.setVisible(False)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        for index, (widget, stretch) in enumerate(((top, 1), (self.charts, 3), (self.diff_box, 1))):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(index, stretch)
        self.splitter.setSizes([220, 420, 160])  # the curves get most of the height; kept in proportion
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_label)
        self.pages.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error_label)
        layout.addWidget(self.pages, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._apply_palette()

    # --- the runs -------------------------------------------------------------------
    def records(self) -> list[RunRecord]:
        """The runs last read from the store, oldest first."""
        return list(self._records.values())

    def selected_ids(self) -> list[str]:
        """The selected runs' ids, in table order (which decides their colours)."""
        return list(self._selected)

    def refresh(self) -> None:
        """Re-read the store and rebuild the table, keeping the selection of runs that still exist."""
        keep = set(self._selected)
        try:
            records = self.store.list()
            self._show_error("")
        except DataError as exc:
            records = []
            self._show_error(str(exc))
        self._records = {r.id: r for r in records}
        header = self.table.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()  # the person's last choice
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            for col, item in enumerate(self._row(record)):
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self.table.sortItems(column, order)
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            if self._row_id(row) in keep:
                self.table.selectionModel().select(self.table.model().index(row, 0), SELECT_ROW)
        self.table.blockSignals(False)
        self.pages.setCurrentIndex(1 if records else 0)
        self._on_selection()

    def _row(self, record: RunRecord) -> list[_SortItem]:
        date = record.date
        when = _cell(_when(record), date.timestamp() if date is not None else -math.inf)
        when.setData(ID_ROLE, record.id)
        when.setToolTip(f"run {record.id}")
        planned = record.epochs_planned
        epochs = f"{record.epochs_run}/{planned}" if planned is not None else str(record.epochs_run)
        accuracy = record.test_accuracy
        lr, batch = record.config.get("learning_rate"), record.config.get("batch_size")
        kinds = {"train": 0, "fine-tune": 1}
        return [
            when,
            _cell("—" if accuracy is None else f"{accuracy * 100:.2f} %", _number(accuracy)),
            _cell(record.kind, kinds.get(record.kind, 2)),
            _cell(epochs, record.epochs_run),
            _cell(status_text(record), 0 if record.status == "finished" else 1),
            _cell("—" if _number(lr) == -math.inf else f"{lr:g}", _number(lr)),
            _cell("—" if _number(batch) == -math.inf else str(batch), _number(batch)),
        ]

    def _row_id(self, row: int) -> str:
        item = self.table.item(row, 0)
        return str(item.data(ID_ROLE)) if item is not None else ""

    def row_of(self, run_id: str) -> int:
        """The table row showing run ``run_id`` (-1 if none)."""
        return next((row for row in range(self.table.rowCount()) if self._row_id(row) == run_id), -1)

    def select_runs(self, run_ids: list[str]) -> None:
        """Select exactly these runs (as a person would by Ctrl-clicking their rows)."""
        self.table.blockSignals(True)
        self.table.clearSelection()
        for run_id in run_ids:
            row = self.row_of(run_id)
            if row >= 0:
                self.table.selectionModel().select(self.table.model().index(row, 0), SELECT_ROW)
        self.table.blockSignals(False)
        self._on_selection()

    # --- selection: curves, diff, buttons -----------------------------------------
    def _on_selection(self) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        self._selected = [self._row_id(row) for row in rows if self._row_id(row) in self._records]
        self._draw_curves()
        self._fill_diff()
        self._update_buttons()

    def _update_buttons(self) -> None:
        one = self._records.get(self._selected[0]) if len(self._selected) == 1 else None
        model = self.model_path(one) if one is not None else None
        self.use_button.setEnabled(model is not None)
        self.delete_button.setEnabled(one is not None)
        if one is None and self._selected:
            hint = "Select one run to use or delete it"
        elif one is None:
            hint = "Select a run to see its curves; select two to compare their settings" if self._records else ""
        elif model is None:
            hint = "This run's model file is not on disk" if one.model_path else "This run saved no model"
        else:
            hint = f"Model: {model}"
        self.hint_label.setText(hint)

    @staticmethod
    def model_path(record: RunRecord) -> Path | None:
        """The run's model file if it is on disk, else None."""
        if not record.model_path:
            return None
        path = Path(record.model_path)
        try:
            return path if path.is_file() else None
        except OSError:
            return None

    def _fill_diff(self) -> None:
        two = [self._records[i] for i in self._selected] if len(self._selected) == 2 else []
        self.diff_box.setVisible(bool(two))
        self.diff.setRowCount(0)
        if not two:
            return
        first, second = two
        self.diff.setHorizontalHeaderLabels(["setting", _short_label(first), _short_label(second)])
        for col, record in ((1, first), (2, second)):
            self.diff.horizontalHeaderItem(col).setToolTip(run_label(record))
        rows = config_diff(first, second)
        self.diff_title.setText("Settings that differ" if rows else "The two runs have the same settings")
        self.diff.setRowCount(len(rows))
        for row, (key, a, b) in enumerate(rows):
            for col, value in enumerate((key, _value_text(a), _value_text(b))):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.diff.setItem(row, col, item)

    def diff_keys(self) -> list[str]:
        """The settings the diff panel lists, top to bottom."""
        return [self.diff.item(row, 0).text() for row in range(self.diff.rowCount())]

    # --- charts ---------------------------------------------------------------------
    @property
    def accuracy_plot(self) -> pg.PlotWidget:
        """The validation-accuracy plot (built now if it was not yet)."""
        self._build_charts()
        return self._accuracy_plot

    @property
    def loss_plot(self) -> pg.PlotWidget:
        """The loss plot: validation loss per epoch, and the per-batch loss in the same colour, fainter."""
        self._build_charts()
        return self._loss_plot

    def curves(self, run_id: str) -> dict[str, Any]:
        """Run ``run_id``'s plot items: ``val_accuracy``, ``val_loss``, ``batch_loss`` (those it has data for)."""
        return dict(self._curves.get(run_id, {}))

    def showEvent(self, event: QShowEvent) -> None:
        """Re-read the store each time the view is shown (cheap JSON), so runs recorded meanwhile appear."""
        if self._shown_once:
            self.refresh()
        self._shown_once = True
        super().showEvent(event)

    def _build_charts(self) -> None:
        if self._accuracy_plot is not None:
            return
        import pyqtgraph as pg  # here, not at module level: see the module docstring

        plots = []
        for title, y_title in (("Validation accuracy", "accuracy"), ("Loss (dots: validation, line: batch)",
                                                                     "loss")):
            widget = pg.PlotWidget()
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            widget.setMinimumSize(180, 150)
            item = widget.getPlotItem()
            item.setTitle(title)
            item.setLabel("bottom", "epoch")
            item.setLabel("left", y_title)
            item.showGrid(x=True, y=True)
            item.setMenuEnabled(False)
            item.hideButtons()
            item.getAxis("left").enableAutoSIPrefix(False)  # 0.99, not 990 (x0.001)
            self._charts_layout.addWidget(widget)
            plots.append(widget)
        self._accuracy_plot, self._loss_plot = plots
        self._apply_palette()

    def _draw_curves(self) -> None:
        if not self._selected and self._accuracy_plot is None:
            return  # nothing to draw: pyqtgraph can wait
        self._build_charts()
        import pyqtgraph as pg

        for plot in (self._accuracy_plot, self._loss_plot):
            item = plot.getPlotItem()
            item.clear()  # also empties the legend
        self._curves = {}
        for run_id in self._selected:
            record = self._records[run_id]
            name = run_label(record)
            items: dict[str, Any] = {}
            epochs, accuracy = record.series("val_accuracy")
            if epochs:
                items["val_accuracy"] = pg.PlotDataItem(epochs, accuracy, name=name, antialias=True)
                self._accuracy_plot.addItem(items["val_accuracy"])
            batch_x = [x for x, y in zip(record.batch_loss_epoch, record.batch_loss) if math.isfinite(y)]
            batch_y = [y for y in record.batch_loss if math.isfinite(y)]
            epochs, loss = record.series("val_loss")
            if batch_x:  # first, so the epoch points sit on top; named only when it is the run's one loss curve
                items["batch_loss"] = pg.PlotDataItem(batch_x, batch_y, name=None if epochs else name,
                                                      antialias=True)
                self._loss_plot.addItem(items["batch_loss"])
            if epochs:
                items["val_loss"] = pg.PlotDataItem(epochs, loss, name=name, antialias=True)
                self._loss_plot.addItem(items["val_loss"])
            self._curves[run_id] = items
        last = max([1.0] + [max(item.getData()[0]) for items in self._curves.values() for item in items.values()
                            if len(item.getData()[0])])
        epochs = math.ceil(last)
        for plot in (self._accuracy_plot, self._loss_plot):
            item = plot.getPlotItem()
            item.enableAutoRange(axis="y")
            item.setXRange(0, epochs, padding=0.04)  # whole epochs from 0, as on the Live charts
            item.getAxis("bottom").setTickSpacing(levels=[(float(epoch_tick_step(epochs)), 0.0)])
        self._style_curves(current_palette())

    def legend_entries(self) -> list[tuple[str, str]]:
        """``(run label, colour name)`` of each drawn run, as the legend shows them."""
        palette = current_palette()
        return [(run_label(self._records[i]), run_color(n, palette).name()) for n, i in enumerate(self._selected)]

    def _style_curves(self, palette: QPalette) -> None:
        entries = [f'<span style="color:{run_color(n, palette).name()}">&#9644;&#9679;</span>&nbsp;'
                   f'{html.escape(run_label(self._records[i]))}' for n, i in enumerate(self._selected)]
        self.legend.setText("&nbsp;&nbsp;&nbsp; ".join(entries))
        self.legend.setVisible(bool(entries))
        base = QColor(chart_colors(palette).base)
        for index, run_id in enumerate(self._selected):
            color = run_color(index, palette)
            for kind, item in self._curves.get(run_id, {}).items():
                if kind == "batch_loss":
                    faint = QColor(color)
                    faint.setAlpha(130)
                    pen = QPen(faint, 1.2)
                    pen.setCosmetic(True)
                    item.setPen(pen)
                    continue
                pen = QPen(color, 2.0)
                pen.setCosmetic(True)
                item.setPen(pen)
                item.setSymbol("o")
                item.setSymbolSize(MARKER)
                item.setSymbolBrush(color)
                item.setSymbolPen(base)

    # --- colours --------------------------------------------------------------------
    def _apply_palette(self) -> None:
        palette = current_palette()
        label_palette = self.error_label.palette()
        label_palette.setColor(QPalette.ColorRole.WindowText, error_color(palette))
        self.error_label.setPalette(label_palette)
        for plot in (self._accuracy_plot, self._loss_plot):
            if plot is not None:
                style_chart(plot, palette)
        self._style_curves(palette)

    def changeEvent(self, event: QEvent) -> None:
        if is_palette_change(event) and hasattr(self, "error_label"):
            self._apply_palette()
        super().changeEvent(event)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    # --- actions --------------------------------------------------------------------
    def _use_model(self) -> None:
        if len(self._selected) != 1:
            return
        path = self.model_path(self._records[self._selected[0]])
        if path is None:
            self._show_error(f"{self._records[self._selected[0]].model_path}: model file not found")
            self._update_buttons()
            return
        self.useModelRequested.emit(str(path))

    def _delete_run(self) -> None:
        """Ask, then delete the selected run's folder (its own model with it; files elsewhere are kept)."""
        if len(self._selected) != 1:
            return
        record = self._records[self._selected[0]]
        text = (f"Delete the run of {_when(record)} ({record.kind}, {status_text(record)})?\n"
                f"Its record and any model saved inside its folder are removed; models saved elsewhere are kept.")
        Button = QMessageBox.StandardButton
        answer = QMessageBox.question(self, DELETE_TITLE, text, Button.Yes | Button.No, Button.No)
        if answer != Button.Yes:
            return
        try:
            self.store.delete(record.id)
        except DataError as exc:
            self.refresh()
            self._show_error(str(exc))
            return
        self.refresh()


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

