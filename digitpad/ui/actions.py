"""The main window's menus and their actions, built in one place.

Only the wiring of text, shortcuts and object names lives here; what the
actions do is connected by :class:`digitpad.ui.main_window.MainWindow`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


@dataclass(frozen=True)
class Actions:
    """Every menu action of the main window."""

    open_image: QAction
    paste: QAction
    save_png: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    clear: QAction
    open_model: QAction
    model_info: QAction
    reset_model: QAction
    samples: QAction
    shortcuts_help: QAction
    about: QAction


def _action(window: QMainWindow, text: str, name: str, shortcuts: list[QKeySequence] | None = None,
            tip: str = "") -> QAction:
    action = QAction(text, window)
    action.setObjectName(name)
    if shortcuts:
        action.setShortcuts(shortcuts)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    return action


def _keys(*sequences: str | QKeySequence.StandardKey) -> list[QKeySequence]:
    """Shortcut list without duplicates (a standard key may already be one of the others)."""
    result: list[QKeySequence] = []
    for sequence in sequences:
        keys = QKeySequence.keyBindings(sequence) if isinstance(sequence, QKeySequence.StandardKey) else [
            QKeySequence(sequence)]
        result += [k for k in keys if k not in result]
    return result


def build_menus(window: QMainWindow) -> Actions:
    """Create File, Edit and Model menus on ``window``'s menu bar and return the actions."""
    actions = Actions(
        open_image=_action(window, "&Open image…", "openImageAction", _keys("Ctrl+O"),
                           "Put an image file on the canvas"),
        paste=_action(window, "&Paste", "pasteAction", _keys("Ctrl+V"), "Put the clipboard's image on the canvas"),
        save_png=_action(window, "&Save drawing as PNG…", "savePngAction", _keys("Ctrl+S"),
                         "Save the canvas as a PNG file"),
        quit=_action(window, "&Quit", "quitAction", _keys("Ctrl+Q")),
        undo=_action(window, "&Undo", "undoAction", _keys("Ctrl+Z"), "Take back the last stroke"),
        redo=_action(window, "&Redo", "redoAction", _keys("Ctrl+Shift+Z", QKeySequence.StandardKey.Redo),
                     "Put back the last undone stroke"),
        clear=_action(window, "&Clear", "clearAction", _keys("Esc", "Delete"), "Wipe the canvas (undoable)"),
        open_model=_action(window, "&Open model…", "openModelAction", tip="Load a trained .keras model"),
        model_info=_action(window, "Active model &info", "modelInfoAction",
                           tip="Show what is known about the model in use"),
        reset_model=_action(window, "&Reset to bundled model", "resetModelAction",
                            tip="Go back to the model shipped with digitpad"),
        samples=_action(window, "My &samples…", "samplesAction",
                        tip="See, delete and export the drawings you saved with \"Wrong? It's a …\""),
        shortcuts_help=_action(window, "&Keyboard shortcuts", "shortcutsAction", _keys("F1"),
                               "List every keyboard shortcut"),
        about=_action(window, "&About digitpad", "aboutAction", tip="Version, model, data licence and libraries"),
    )
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([actions.open_image, actions.paste, actions.save_png])
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([actions.undo, actions.redo])
    edit_menu.addSeparator()
    edit_menu.addAction(actions.clear)
    model_menu = bar.addMenu("&Model")
    model_menu.addActions([actions.open_model, actions.model_info, actions.samples])
    model_menu.addSeparator()
    model_menu.addAction(actions.reset_model)
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([actions.shortcuts_help, actions.about])
    return actions
