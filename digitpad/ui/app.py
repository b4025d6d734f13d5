"""Start the GUI: check the display first, then show the window and run Qt's loop.

Qt aborts the whole process (SIGABRT, a wall of text) when the xcb platform
plugin cannot load its libraries or there is no display; :func:`display_problem`
predicts those cases and :func:`main` turns them into one line and exit code 1.
"""

from __future__ import annotations

import ctypes.util
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from PySide6.QtWidgets import QApplication

# What Qt's xcb plugin (libqxcb + libQt6XcbQpa) links beyond libxcb itself, with the Debian/Ubuntu
# package of each. Minimal systems usually lack the first three.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0", "xcb-randr": "libxcb-randr0", "xcb-render-util": "libxcb-render-util0",
    "xcb-shape": "libxcb-shape0", "xcb-xkb": "libxcb-xkb1", "xkbcommon-x11": "libxkbcommon-x11-0",
    "xcb-xfixes": "libxcb-xfixes0", "xcb-sync": "libxcb-sync1", "xcb-util": "libxcb-util1",
    "X11-xcb": "libx11-xcb1",
}
XCB_FIX = "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"  # the usual case, as in README


def _platforms() -> list[str]:
    """The platform plugins QT_QPA_PLATFORM names, in order ([] when unset); options dropped."""
    value = os.environ.get("QT_QPA_PLATFORM", "")
    return [p.split(":")[0].strip().lower() for p in value.split(";") if p.strip()]


def display_problem() -> str | None:
    """Say why Qt could not open a window here, or None when it should work.

    Checks (Linux only) that there is a display at all, and, when Qt will use
    the X11 ``xcb`` plugin, that the X libraries it needs beyond libxcb exist.
    """
    if not sys.platform.startswith("linux"):
        return None
    platforms = _platforms()
    has_x11 = bool(os.environ.get("DISPLAY"))
    has_wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    if platforms and platforms != ["xcb"]:
        return None  # offscreen, wayland, eglfs, vnc, or a fallback list: the user chose it
    platform = platforms[0] if platforms else ""
    if (platform == "xcb" and not has_x11) or (not platform and not (has_x11 or has_wayland)):
        return ("digitpad: no display found (DISPLAY and WAYLAND_DISPLAY are unset); use `digitpad predict` "
                "or `digitpad train` on the command line, or set QT_QPA_PLATFORM=offscreen")
    if not platform and has_wayland:
        return None  # Qt picks its Wayland plugin
    missing = [package for name, package in XCB_LIBRARIES.items() if not ctypes.util.find_library(name)]
    if missing:
        names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        return (f"digitpad: Qt's X11 (xcb) platform needs {names}, which "
                f"{'is' if len(missing) == 1 else 'are'} not installed; fix: sudo apt-get install "
                + " ".join(missing))
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; returns the process exit code."""
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from digitpad.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName("digitpad")
    app.setOrganizationName("digitpad")
    app.setApplicationDisplayName("digitpad")
    app.setDesktopFileName("digitpad")  # Wayland/X11 desktops match the window to digitpad.desktop
    _set_icon(app)
    window = MainWindow()
    if os.environ.get("DIGITPAD_STARTUP_PROBE") == "1":
        from digitpad.ui.startup_probe import StartupProbe

        StartupProbe(window, quit_when_ready=os.environ.get("DIGITPAD_QUIT_WHEN_READY") == "1")
    window.show()
    # Ctrl+C in the terminal closes the window cleanly; the timer lets Python see the signal.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    # SIGTERM (logout, kill): no questions; stop training and threads, then leave.
    signal.signal(signal.SIGTERM, lambda *_: (window.shutdown(), app.quit()))
    wakeup = QTimer()
    wakeup.start(250)
    wakeup.timeout.connect(lambda: None)
    code = int(app.exec())
    window.shutdown()  # idempotent; covers app.quit() without a close
    return code


def _set_icon(app: QApplication) -> None:
    """Use the bundled SVG icon when it is there (a source checkout may lack it)."""
    from digitpad.ui.theme import app_icon

    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)


if __name__ == "__main__":
    sys.exit(main())
