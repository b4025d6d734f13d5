"""Help menu dialogs: every keyboard shortcut, collected at run time, and About.

The shortcut list is never written down: :func:`collect_shortcuts` walks the
window's QActions and QShortcuts (and the Alt+letter mnemonics of menus,
labels, buttons and tabs) each time the dialog opens, so a key added anywhere
in the window shows up without touching this module.

About reads the TensorFlow and Keras versions from the installed package
metadata, never by importing them: opening it must not load TensorFlow on the
GUI thread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QMenu, QMenuBar, QStackedWidget, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

import digitpad

MNIST_CREDIT = "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0"
MNIST_LICENCE_URL = "https://creativecommons.org/licenses/by-sa/3.0/"
# Keys Qt's own widgets handle: no QAction or QShortcut exists for them to be found by.
QT_KEYS = (("Tab", "Next control", "Everywhere"), ("Shift+Tab", "Previous control", "Everywhere"),
           ("Space", "Press the focused button, tick the focused box", "Everywhere"),
           ("Ctrl+Tab", "Next tab (focus in a tab page)", "Tabs"),
           ("Ctrl+Shift+Tab", "Previous tab (focus in a tab page)", "Tabs"))


@dataclass(frozen=True)
class Shortcut:
    """One key binding: ``keys`` in portable text ("Ctrl+Shift+Z"), what it does, and where it works."""

    keys: tuple[str, ...]
    action: str
    where: str

    def native_keys(self) -> str:
        """The keys as this platform writes them (⌘Z on macOS), comma-separated."""
        return ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in self.keys)


def _plain(text: str) -> str:
    """Menu text without mnemonic ampersands and trailing dots: "&Open image…" -> "Open image"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("….: ")


def _tab_of(widget: QWidget | None) -> str:
    """The text of the innermost tab holding ``widget``, or "" when it sits in no tab."""
    while widget is not None:
        parent = widget.parentWidget()
        if isinstance(parent, QStackedWidget) and isinstance(parent.parentWidget(), QTabWidget):
            tabs: QTabWidget = parent.parentWidget()  # type: ignore[assignment]
            outer = _tab_of(tabs)
            inner = _plain(tabs.tabText(tabs.indexOf(widget)))
            return f"{outer} › {inner}" if outer else inner
        widget = parent
    return ""


def _action_place(action: QAction) -> str:
    for owner in action.associatedObjects():
        if isinstance(owner, QMenu) and owner.title():
            return f"{_plain(owner.title())} menu"
    parent = action.parent()
    return _tab_of(parent if isinstance(parent, QWidget) else None) or "Window"


# Keyboards' dedicated "Redo", "Copy" … keys that Qt adds to standard shortcuts: listed, they read like
# a key combination named after the action ("Ctrl+Shift+Z, Redo"), so they are left out of the list.
_ACTION_KEYS = {Qt.Key.Key_Undo, Qt.Key.Key_Redo, Qt.Key.Key_Copy, Qt.Key.Key_Paste, Qt.Key.Key_Cut,
                Qt.Key.Key_Open, Qt.Key.Key_Save, Qt.Key.Key_Close, Qt.Key.Key_Find}


def _portable(sequences: list[QKeySequence]) -> tuple[str, ...]:
    return tuple(k.toString(QKeySequence.SequenceFormat.PortableText) for k in sequences
                 if not k.isEmpty() and not (k.count() == 1 and k[0].key() in _ACTION_KEYS))


def _mnemonic(text: str) -> str:
    return QKeySequence.mnemonic(text).toString(QKeySequence.SequenceFormat.PortableText)


def _mnemonics(window: QWidget) -> list[Shortcut]:
    """Alt+letter keys from "&" in menu titles, label buddies, buttons and tab titles."""
    found: list[Shortcut] = []
    for bar in window.findChildren(QMenuBar):
        for action in bar.actions():
            if key := _mnemonic(action.text()):
                found.append(Shortcut((key,), f"Open the {_plain(action.text())} menu", "Window"))
    for label in window.findChildren(QLabel):
        if label.buddy() is not None and (key := _mnemonic(label.text())):
            found.append(Shortcut((key,), f"Go to {_plain(label.text())}", _tab_of(label) or "Window"))
    for button in window.findChildren(QAbstractButton):
        if key := _mnemonic(button.text()):
            found.append(Shortcut((key,), f"Press {_plain(button.text())}", _tab_of(button) or "Window"))
    for tabs in window.findChildren(QTabWidget):
        for index in range(tabs.count()):
            if key := _mnemonic(tabs.tabText(index)):
                found.append(Shortcut((key,), f"Show the {_plain(tabs.tabText(index))} tab", _tab_of(tabs) or "Window"))
    return found


def collect_shortcuts(window: QWidget) -> list[Shortcut]:
    """Every key binding of ``window`` now: actions, QShortcuts, mnemonics, then Qt's own keys."""
    found: list[Shortcut] = []
    for action in window.findChildren(QAction):
        keys = _portable(action.shortcuts())
        if keys:
            name = _plain(action.text()) or action.toolTip() or action.objectName()
            found.append(Shortcut(keys, name, _action_place(action)))
    for shortcut in window.findChildren(QShortcut):
        keys = _portable(shortcut.keys())
        if keys:
            parent = shortcut.parent()
            name = shortcut.whatsThis() or str(shortcut.property("description") or "") or shortcut.objectName()
            found.append(Shortcut(keys, name or "(undescribed)",
                                  _tab_of(parent if isinstance(parent, QWidget) else None) or "Window"))
    found += _mnemonics(window)
    found += [Shortcut((keys,), action, where) for keys, action, where in QT_KEYS]
    unique: list[Shortcut] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    groups: dict[str, int] = {}  # keep each place's keys together, places in order of first appearance
    return sorted(unique, key=lambda item: groups.setdefault(item.where, len(groups)))


class ShortcutsDialog(QDialog):
    """A read-only table of :func:`collect_shortcuts` (keys, action, where)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.entries = collect_shortcuts(window)
        self.table = QTableWidget(len(self.entries), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setToolTip("Every key digitpad understands; Alt+letter keys come from underlined letters")
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, entry in enumerate(self.entries):
            for column, text in enumerate((entry.native_keys(), entry.action, entry.where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # a narrow screen squeezes this one only
        _lay_out_with_close(self, self.table, "Close this list")
        columns = sum(max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(3))
        width = columns + self.table.verticalScrollBar().sizeHint().width() + 40  # every row on one line
        self.resize(max(width, self.fontMetrics().horizontalAdvance("M") * 40), self.fontMetrics().height() * 30)

    def keys(self) -> list[str]:
        """Every key sequence listed, in portable text (for tests and scripts)."""
        return [key for entry in self.entries for key in entry.keys]


def _distribution_version(name: str) -> str:
    """An installed package's version from its metadata (the package itself is not imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def pyside_version() -> str:
    """PySide6's version; some installs lack ``PySide6.__version__`` (a namespace package)."""
    import PySide6

    return (getattr(PySide6, "__version__", None) or getattr(QtCore, "__version__", None)
            or _distribution_version("PySide6"))


def versions() -> dict[str, str]:
    """Versions of the libraries digitpad runs on, without importing TensorFlow or Keras."""
    return {"TensorFlow": _distribution_version("tensorflow"), "Keras": _distribution_version("keras"),
            "Qt": QtCore.qVersion(), "PySide6": pyside_version()}


def model_lines(predictor: Any) -> list[str]:
    """What About says of the active model: name, test accuracy, date, origin."""
    info = getattr(predictor, "info", None)
    if info is None:
        return ["Model: still loading"]
    accuracy = (f"{info.test_accuracy * 100:.2f} % on the MNIST test set" if info.test_accuracy is not None
                else "test accuracy unknown")
    origin = "bundled with digitpad" if info.bundled else "trained by you"
    return [f"Model: {info.name}", f"Test accuracy: {accuracy}", f"Trained: {info.date or 'date unknown'} ({origin})"]


def about_lines(predictor: Any) -> list[str]:
    """The About text, one paragraph per line."""
    v = versions()
    return [f"digitpad {digitpad.__version__}",
            "Draw a digit and see what a convolutional network trained on MNIST reads.",
            *model_lines(predictor),
            f"Training data: {MNIST_CREDIT}",
            f"TensorFlow {v['TensorFlow']} · Keras {v['Keras']} · Qt {v['Qt']} · PySide6 {v['PySide6']}"]


class AboutDialog(QDialog):
    """digitpad's version, the active model, the MNIST credit and the library versions."""

    def __init__(self, window: QWidget, predictor: Any) -> None:
        super().__init__(window)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About digitpad")
        self.lines = about_lines(predictor)
        paragraphs = [f"<h2>{html.escape(self.lines[0])}</h2>"]
        for line in self.lines[1:]:
            text = html.escape(line)
            if line.startswith("Training data:"):
                text = text.replace("CC BY-SA 3.0", f'<a href="{MNIST_LICENCE_URL}">CC BY-SA 3.0</a>')
            paragraphs.append(f"<p>{text}</p>")
        self.label = QLabel("".join(paragraphs), self)
        self.label.setObjectName("aboutText")
        self.label.setAccessibleName("About digitpad")
        self.label.setAccessibleDescription(self.text())
        self.label.setToolTip("digitpad, the model in use, the training data's licence and library versions")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setOpenExternalLinks(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        _lay_out_with_close(self, self.label, "Close About")
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 36)

    def text(self) -> str:
        """The About text as plain lines."""
        return "\n".join(self.lines)


def open_dialog(dialog: QDialog) -> QDialog:
    """Show ``dialog`` window-modal without blocking (it deletes itself when closed)."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def _lay_out_with_close(dialog: QDialog, body: QWidget, close_tip: str) -> None:
    """Put ``body`` above an accessible Close button that dismisses ``dialog``."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    close = buttons.button(QDialogButtonBox.StandardButton.Close)
    close.setAccessibleName("Close")
    close.setToolTip(close_tip)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body)
    layout.addWidget(buttons)
