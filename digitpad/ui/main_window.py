"""The main window: Draw and Train tabs, menus, model switching and settings.

The window shows at once; the model loads in a :class:`ModelLoader` thread and
the status bar says "Loading model…" until it is ready. A model that fails to
load never replaces the active one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from digitpad.errors import DigitpadError, one_line
from digitpad.ui.actions import Actions, build_menus
from digitpad.ui.canvas import DEFAULT_BRUSH_WIDTH, MAX_BRUSH_WIDTH, MIN_BRUSH_WIDTH
from digitpad.ui.draw_tab import DrawTab
from digitpad.ui.images import IMAGE_FILTER, image_from_mime, load_source
from digitpad.ui.help import AboutDialog, ShortcutsDialog, open_dialog
from digitpad.ui.inside_tab import InsideTab
from digitpad.ui.model_loader import LoadPurpose, ModelLoader
from digitpad.ui.settings_io import read_setting
from digitpad.ui.theme import app_icon
from digitpad.ui.train_tab import TrainTab

MODEL_KEY = "model/path"
BRUSH_KEY = "canvas/brushWidth"
GEOMETRY_KEY = "window/geometry"
LAST_TAB_KEY = "window/lastTab"
DEFAULT_SIZE = QSize(900, 560)  # logical pixels; grown to the window's minimum size when that is larger
HINT_KEY = "hints/drawShown"  # set once the user has drawn: the "Draw a digit here" hint is not shown again
DIR_KEY = "files/lastDir"
TRAIN_KEY = "train/settings"  # the Train tab's settings as JSON
MODEL_FILTER = "Keras models (*.keras);;All files (*)"


class MainWindow(QMainWindow):
    """digitpad's window. ``predictor`` given: use it; None: load the remembered/bundled model."""

    def __init__(self, predictor: Any = None, settings: QSettings | None = None, trainer: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("digitpad")
        self.setWindowIcon(app_icon())
        self.settings = settings if settings is not None else QSettings("digitpad", "digitpad")
        self.draw_tab = DrawTab()
        self.train_tab = TrainTab(trainer=trainer)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(self.draw_tab, "Draw")
        self.tabs.addTab(self.train_tab, "Train")
        self.inside_tab = InsideTab()
        self.tabs.addTab(self.inside_tab, "Inside")
        self.setCentralWidget(self.tabs)
        self.model_status = QLabel()
        self.model_status.setObjectName("modelStatus")
        self.statusBar().addWidget(self.model_status, 1)
        self.menu_actions: Actions = build_menus(self)
        self.loader = ModelLoader(self)
        self._closed = False
        self.samples_dialog: Any = None  # the "My samples" dialog, made when first opened
        self._connect()
        self._restore_settings()
        self._sync_edit_actions()
        if predictor is not None:
            self.use_predictor(predictor)
        else:
            self._load_at_start()

    def _connect(self) -> None:
        a, canvas = self.menu_actions, self.draw_tab.canvas
        a.open_image.triggered.connect(self._choose_image)
        a.paste.triggered.connect(self.paste_image)
        a.save_png.triggered.connect(self._choose_save_path)
        a.quit.triggered.connect(self.close)
        a.undo.triggered.connect(lambda: self.draw_tab.active_canvas().undo())
        a.redo.triggered.connect(lambda: self.draw_tab.active_canvas().redo())
        a.clear.triggered.connect(lambda: self.draw_tab.active_canvas().clear())
        a.open_model.triggered.connect(self._choose_model)
        a.model_info.triggered.connect(self.show_model_info)
        a.reset_model.triggered.connect(self.reset_model)
        a.samples.triggered.connect(self.show_samples)
        a.shortcuts_help.triggered.connect(self.show_shortcuts)
        a.about.triggered.connect(self.show_about)
        canvas.hintDismissed.connect(lambda: self.settings.setValue(HINT_KEY, True))
        self.draw_tab.corrections.sampleSaved.connect(self._on_sample_saved)
        canvas.changed.connect(self._sync_edit_actions)
        self.draw_tab.numberPad.canvas.changed.connect(self._sync_edit_actions)
        self.draw_tab.numberToggle.toggled.connect(self._sync_edit_actions)
        canvas.imageDropped.connect(self.show_image)
        self.tabs.currentChanged.connect(self._sync_edit_actions)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.draw_tab.predictionFailed.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        self.train_tab.useModelRequested.connect(lambda p: self.use_predictor(p, " — from training"))
        self.train_tab.showImageRequested.connect(self.show_image)
        self.draw_tab.predictionShown.connect(lambda p: self.inside_tab.show_drawing(None if p.blank else p.image))
        self.draw_tab.numberPad.sampleSaved.connect(lambda sample: self._on_sample_saved(sample, None))
        self.train_tab.modelSaved.connect(self._on_model_saved)
        self.train_tab.useModelPathRequested.connect(self.open_model)

    # --- model ----------------------------------------------------------------------
    def predictor(self) -> Any:
        """The active predictor (None while the first model is still loading)."""
        return self.draw_tab.predictor()

    def status_text(self) -> str:
        """The model line of the status bar."""
        return self.model_status.text()

    def use_predictor(self, predictor: Any, note: str = "") -> None:
        """Make ``predictor`` active, remember its file and say so in the status bar."""
        self.draw_tab.set_predictor(predictor)
        self.inside_tab.set_network(predictor)
        self._remember_model(predictor)
        self.model_status.setText(predictor.info.describe() + note)
        self.train_tab.set_active_predictor(predictor)  # fine-tuning starts from the model in use
        show_info = getattr(self.train_tab, "set_active_model_info", None)  # optional in the Train tab's API
        if callable(show_info):
            show_info(predictor.info)

    def open_model(self, path: str | Path) -> None:
        """Load a model file in the background; on failure warn and keep the active one."""
        self.model_status.setText(f"Loading {Path(path).name}…")
        self.loader.load(str(path), LoadPurpose.OPEN)

    def reset_model(self) -> None:
        """Go back to the bundled model (and forget the remembered path once it loads)."""
        self.model_status.setText("Loading the bundled model…")
        self.loader.load(None, LoadPurpose.RESET)

    def show_samples(self) -> Any:
        """Open (or raise) the non-modal "My samples" dialog and return it."""
        if self.samples_dialog is None:
            from digitpad.ui.samples_view import SamplesDialog

            self.samples_dialog = SamplesDialog(self)
        self.samples_dialog.show()
        self.samples_dialog.raise_()
        self.samples_dialog.activateWindow()
        return self.samples_dialog

    def _on_sample_saved(self, sample: Any, count: Any) -> None:
        if self.samples_dialog is not None and self.samples_dialog.isVisible():
            self.samples_dialog.refresh()

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Keyboard shortcuts: every key the window has right now."""
        return open_dialog(ShortcutsDialog(self))  # type: ignore[return-value]

    def show_about(self) -> AboutDialog:
        """Help → About: version, active model, MNIST credit, library versions."""
        return open_dialog(AboutDialog(self, self.predictor()))  # type: ignore[return-value]

    def show_model_info(self) -> None:
        predictor = self.predictor()
        if predictor is None:
            QMessageBox.information(self, "Active model — digitpad", "No model is loaded yet.")
            return
        info = predictor.info
        lines = [info.describe(), f"File: {info.path or '(in memory)'}"]
        if info.date:
            lines.append(f"Trained: {info.date}")
        lines.append("Bundled with digitpad" if info.bundled else "Trained by you")
        lines += [f"{key}: {value}" for key, value in list(info.metadata.items())[:8]
                  if isinstance(value, (str, int, float, bool))]
        QMessageBox.information(self, "Active model — digitpad", "\n".join(lines))

    def _load_at_start(self) -> None:
        self.model_status.setText("Loading model…")
        remembered = self._setting(MODEL_KEY, "", str)
        if remembered and not Path(remembered).is_file():
            self.settings.remove(MODEL_KEY)
            self.statusBar().showMessage(f"The model you used last time is gone ({remembered}); "
                                         "using the bundled one", 10_000)
            remembered = ""
        self.loader.load(remembered or None, LoadPurpose.REMEMBERED if remembered else LoadPurpose.START)

    def _on_loaded(self, predictor: Any, purpose: LoadPurpose) -> None:
        note = (" — the remembered model failed to load; using the bundled one"
                if purpose is LoadPurpose.FALLBACK else "")
        self.use_predictor(predictor, note)
        if purpose is LoadPurpose.RESET:
            self.settings.remove(MODEL_KEY)
        elif purpose is LoadPurpose.OPEN and self.loader.requested_path:
            self.settings.setValue(MODEL_KEY, str(Path(self.loader.requested_path).resolve()))

    def _on_load_failed(self, message: str, purpose: LoadPurpose) -> None:
        if purpose is LoadPurpose.REMEMBERED:
            self.settings.remove(MODEL_KEY)
            self.model_status.setText(f"Remembered model failed ({message}); loading the bundled one…")
            self.loader.load(None, LoadPurpose.FALLBACK)
        elif purpose in (LoadPurpose.START, LoadPurpose.FALLBACK):
            self.model_status.setText(f"No model loaded: {message} — use Model → Open model…")
        else:
            QMessageBox.warning(self, "Open model — digitpad", message)
            active = self.predictor()
            self.model_status.setText(active.info.describe() if active is not None else "No model loaded")

    def _on_model_saved(self, path: Path, predictor: Any) -> None:
        """A saved model that the Draw tab uses is the one to come back to after a restart."""
        if predictor is self.predictor():
            self.settings.setValue(MODEL_KEY, str(Path(path).resolve()))
            self.model_status.setText(predictor.info.describe())

    def _remember_model(self, predictor: Any) -> None:
        """Remember file-backed models; the bundled one is the default, so it clears the key."""
        info = getattr(predictor, "info", None)
        path = getattr(info, "path", "") or ""
        if getattr(info, "bundled", False):
            self.settings.remove(MODEL_KEY)
        elif path and Path(path).is_file():
            self.settings.setValue(MODEL_KEY, str(Path(path).resolve()))

    # --- images -----------------------------------------------------------------------
    def show_image(self, source: Any) -> bool:
        """Put an image (path, QImage, array, MNIST float image) on the canvas; warn if unreadable."""
        try:
            paper = load_source(source)
        except Exception as exc:  # any unreadable image: Pillow raises many kinds
            QMessageBox.warning(self, "Open image — digitpad", f"Could not open the image: {one_line(exc)}")
            return False
        self.draw_tab.canvas.set_image(paper)
        self.tabs.setCurrentWidget(self.draw_tab)
        return True

    def open_image(self, path: str | Path) -> bool:
        return self.show_image(str(path))

    def paste_image(self) -> bool:
        """Put the clipboard's image (or image file) on the canvas."""
        source = image_from_mime(QGuiApplication.clipboard().mimeData())
        if source is None:
            self.statusBar().showMessage("The clipboard holds no image", 4000)
            return False
        return self.show_image(source)

    def save_drawing(self, path: str | Path) -> bool:
        try:
            self.draw_tab.canvas.save_png(path)
        except (OSError, DigitpadError) as exc:
            QMessageBox.warning(self, "Save drawing — digitpad", f"Could not save the drawing: {one_line(exc)}")
            return False
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    # --- dialogs ----------------------------------------------------------------------
    def _last_dir(self) -> str:
        return self._setting(DIR_KEY, str(Path.home()), str)

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_dir(), MODEL_FILTER)
        if path:
            self.settings.setValue(DIR_KEY, str(Path(path).parent))
            self.open_model(path)

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_dir(), IMAGE_FILTER)
        if path:
            self.settings.setValue(DIR_KEY, str(Path(path).parent))
            self.open_image(path)

    def _choose_save_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save drawing as PNG", str(Path(self._last_dir()) / "digit.png"),
                                              "PNG images (*.png)")
        if path:
            path = path if path.lower().endswith(".png") else path + ".png"
            self.settings.setValue(DIR_KEY, str(Path(path).parent))
            self.save_drawing(path)

    # --- state ------------------------------------------------------------------------
    def _sync_edit_actions(self) -> None:
        on_draw = self.tabs.currentWidget() is self.draw_tab
        canvas = self.draw_tab.active_canvas()
        self.menu_actions.undo.setEnabled(on_draw and canvas.can_undo())
        self.menu_actions.redo.setEnabled(on_draw and canvas.can_redo())
        self.menu_actions.clear.setEnabled(on_draw and not canvas.is_empty())

    def _setting(self, key: str, default: Any, kind: type, valid: Any = None) -> Any:
        """A setting, or ``default`` when it is missing or damaged (see settings_io)."""
        return read_setting(self.settings, key, default, kind, valid)

    def _restore_settings(self) -> None:
        """Apply the saved settings; anything missing or damaged falls back to its default."""
        self.draw_tab.set_brush_width(self._setting(BRUSH_KEY, DEFAULT_BRUSH_WIDTH, float,
                                                    lambda w: MIN_BRUSH_WIDTH <= w <= MAX_BRUSH_WIDTH))
        try:
            geometry = self.settings.value(GEOMETRY_KEY)
        except Exception:  # noqa: BLE001 - undecodable value: use the default size
            geometry = None
        if not (isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry)):
            self.resize(DEFAULT_SIZE.expandedTo(self.minimumSizeHint()))
        self.tabs.setCurrentIndex(self._setting(LAST_TAB_KEY, 0, int, lambda i: 0 <= i < self.tabs.count()))
        self.draw_tab.canvas.set_hint_enabled(not self._setting(HINT_KEY, False, bool))
        try:
            remembered = json.loads(self._setting(TRAIN_KEY, "{}", str))
        except ValueError:  # damaged: the defaults stay
            remembered = {}
        if isinstance(remembered, dict):
            self.train_tab.settings_box.set_values(remembered)

    def save_settings(self) -> None:
        self.settings.setValue(BRUSH_KEY, self.draw_tab.brush_width())
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(LAST_TAB_KEY, self.tabs.currentIndex())
        self.settings.setValue(TRAIN_KEY, json.dumps(self.train_tab.settings_box.values()))
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop training, prediction and loading threads and save settings (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.train_tab.shutdown()
        self.draw_tab.shutdown()
        self.inside_tab.shutdown()
        self.loader.shutdown()
        self.save_settings()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and self.train_tab.is_training():
            answer = QMessageBox.question(self, "Quit — digitpad", "Training is still running. Stop it and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.shutdown()
        super().closeEvent(event)
