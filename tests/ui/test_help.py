"""Help menu: the keyboard-shortcut list (collected at run time) and the About dialog."""

from __future__ import annotations

import builtins
import importlib
import sys
from importlib import metadata
from typing import Any

import pytest
from PySide6 import QtCore
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel

import digitpad
from digitpad.ui import help as help_module
from digitpad.ui.help import AboutDialog, ShortcutsDialog, collect_shortcuts
from digitpad.ui.main_window import MainWindow
from tests.ui.conftest import FakePredictor, LoadRecorder

MENU_KEYS = ["Ctrl+O", "Ctrl+V", "Ctrl+S", "Ctrl+Q", "Ctrl+Z", "Ctrl+Shift+Z", "Esc", "Del", "F1"]


@pytest.fixture
def window(show, fake_predictor: FakePredictor, settings: QSettings) -> MainWindow:
    return show(MainWindow(predictor=fake_predictor, settings=settings))


def _open(window: MainWindow, action: QAction, name: str) -> Any:
    action.trigger()
    dialog = window.findChild(QDialog, name)
    assert dialog is not None and dialog.isVisible()
    return dialog


def _every_key_in(window: MainWindow) -> set[str]:
    """All key sequences of the window's QActions and QShortcuts, read straight from Qt."""
    keys = {k.toString() for a in window.findChildren(QAction) for k in a.shortcuts()}
    keys |= {k.toString() for s in window.findChildren(QShortcut) for k in s.keys()}
    # Dedicated "Redo", "Copy" … keyboard keys are left out of the list on purpose (see help._ACTION_KEYS).
    return keys - {"", "Undo", "Redo", "Copy", "Paste", "Cut", "Open", "Save", "Close", "Find"}


def test_help_menu_offers_shortcuts_and_about(window: MainWindow) -> None:
    help_menu = [a for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"][0].menu()
    texts = [a.text().replace("&", "") for a in help_menu.actions()]
    assert texts == ["Keyboard shortcuts", "About digitpad"]
    assert window.menu_actions.shortcuts_help.shortcut().toString() == "F1"


def test_shortcuts_dialog_lists_every_key_of_the_window(window: MainWindow) -> None:
    dialog: ShortcutsDialog = _open(window, window.menu_actions.shortcuts_help, "shortcutsDialog")
    listed = set(dialog.keys())
    for key in MENU_KEYS:
        assert key in listed, key
    assert _every_key_in(window) <= listed  # also the Draw tab's digit keys, whoever added them
    assert {"Alt+F", "Alt+E", "Alt+M", "Alt+H", "Alt+B", "Tab", "Shift+Tab"} <= listed
    table = dialog.table
    assert table.rowCount() == len(dialog.entries) and table.columnCount() == 3
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows["Undo"] == QKeySequence("Ctrl+Z").toString(QKeySequence.SequenceFormat.NativeText)
    assert rows["Clear"].split(", ") == [QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText)
                                         for k in ("Esc", "Del")]
    where = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert where["Undo"] == "Edit menu" and where["Go to Brush"] == "Draw" and where["Go to Epochs"] == "Train"
    assert all(entry.action.strip() for entry in dialog.entries)
    dialog.close()


def test_shortcuts_are_collected_when_the_dialog_opens(window: MainWindow) -> None:
    """A key added after start-up appears: the list is read from Qt, not written down."""
    assert "Ctrl+K" not in {k for e in collect_shortcuts(window) for k in e.keys}
    action = QAction("&Kick the tyres…", window)
    action.setShortcut(QKeySequence("Ctrl+K"))
    window.draw_tab.addAction(action)
    jump = QShortcut(QKeySequence("Alt+J"), window.train_tab)
    jump.setWhatsThis("Jump to the charts")
    dialog: ShortcutsDialog = _open(window, window.menu_actions.shortcuts_help, "shortcutsDialog")
    entries = {entry.action: entry for entry in dialog.entries}
    assert entries["Kick the tyres"].keys == ("Ctrl+K",)
    assert entries["Jump to the charts"].keys == ("Alt+J",) and entries["Jump to the charts"].where == "Train"
    dialog.close()


def test_about_names_version_model_licence_and_libraries(window: MainWindow) -> None:
    dialog: AboutDialog = _open(window, window.menu_actions.about, "aboutDialog")
    text = dialog.text()
    assert f"digitpad {digitpad.__version__}" in text
    assert "fake model" in text and "99.12 %" in text and "2024-05-01" in text
    assert "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0" in text
    assert f"TensorFlow {metadata.version('tensorflow')}" in text and f"Keras {metadata.version('keras')}" in text
    assert f"Qt {QtCore.qVersion()}" in text and f"PySide6 {metadata.version('PySide6')}" in text
    label = dialog.findChild(QLabel, "aboutText")
    assert "LeCun" in label.text() and "creativecommons.org/licenses/by-sa/3.0" in label.text()
    dialog.close()


def test_about_never_imports_tensorflow_or_keras(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """About runs on the GUI thread: it reads package metadata instead of importing them."""
    real_import, real_import_module = builtins.__import__, importlib.import_module
    tried: list[str] = []
    loaded_before = {name for name in ("tensorflow", "keras") if name in sys.modules}

    def refuse(name: str) -> None:
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            tried.append(name)
            raise AssertionError(f"About imported {name}")

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        refuse(name)
        return real_import(name, *args, **kwargs)

    def guarded_module(name: str, *args: Any, **kwargs: Any) -> Any:
        refuse(name)
        return real_import_module(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)
    monkeypatch.setattr(importlib, "import_module", guarded_module)
    dialog = AboutDialog(window, window.predictor())
    monkeypatch.undo()
    assert tried == [] and "TensorFlow" in dialog.text()
    assert {name for name in ("tensorflow", "keras") if name in sys.modules} == loaded_before
    dialog.deleteLater()


def test_about_while_the_model_is_still_loading(qtbot, show, settings: QSettings,
                                               cheap_loader: LoadRecorder) -> None:
    window = show(MainWindow(settings=settings))
    dialog = AboutDialog(window, None)  # what show_about passes before the first load ends
    assert "Model: still loading" in dialog.text()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: window.predictor() is not None, timeout=3000)
    about = window.show_about()
    assert "bundled fake" in about.text() and "bundled with digitpad" in about.text()
    about.close()


def test_library_versions_fall_back_without_pyside_dunder_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(help_module, "_distribution_version", lambda name: f"{name}-meta")
    versions = help_module.versions()
    assert versions["TensorFlow"] == "tensorflow-meta" and versions["Keras"] == "keras-meta"
    assert versions["Qt"] == QtCore.qVersion() and versions["PySide6"]


def test_dialogs_close_with_escape(qtbot, window: MainWindow) -> None:
    dialog = _open(window, window.menu_actions.shortcuts_help, "shortcutsDialog")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_every_listed_key_is_described_and_reads_as_a_key(window) -> None:
    """Issue #17: keys 0-9 said "(undescribed)" and Redo read "Ctrl+Shift+Z, Redo"."""
    from digitpad.ui.help import collect_shortcuts

    shortcuts = collect_shortcuts(window)
    assert all(item.action and item.action != "(undescribed)" for item in shortcuts)
    digits = {item.keys[0]: item.action for item in shortcuts if item.keys[0] in "0123456789"}
    assert digits["7"] == "Save the drawing as a 7" and len(digits) == 10
    redo = next(item for item in shortcuts if item.action == "Redo")
    assert "Redo" not in redo.keys and "Ctrl+Shift+Z" in redo.keys
