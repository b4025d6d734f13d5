"""digitpad.ui.app: the display check before Qt starts, and a real start-up in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from digitpad.ui import app

REPO = Path(__file__).resolve().parents[2]


@dataclass
class FakeLinux:
    """What ``find_library`` finds (name -> file or None) and what it was asked for."""

    libraries: dict[str, str | None] = field(default_factory=lambda: {
        name: f"lib{name}.so" for name in app.XCB_LIBRARIES})
    asked: list[str] = field(default_factory=list)

    def find_library(self, name: str) -> str | None:
        self.asked.append(name)
        return self.libraries.get(name)


@pytest.fixture
def linux(monkeypatch: pytest.MonkeyPatch) -> FakeLinux:
    """A Linux box with no display variables and every xcb library installed."""
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeLinux()
    monkeypatch.setattr(app.ctypes.util, "find_library", fake.find_library)
    return fake


def test_no_display_at_all_is_reported_in_one_line(linux: FakeLinux) -> None:
    message = app.display_problem()
    assert message is not None and "\n" not in message
    assert "no display" in message and "QT_QPA_PLATFORM=offscreen" in message and "digitpad predict" in message


def test_x11_with_all_libraries_is_fine(linux, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    assert app.display_problem() is None
    assert sorted(linux.asked) == sorted(app.XCB_LIBRARIES)


def test_missing_xcb_libraries_name_the_fix(linux, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    linux.libraries.update({"xcb-icccm": None, "xcb-keysyms": None})
    message = app.display_problem()
    assert message is not None and "\n" not in message
    assert "libxcb-icccm4" in message and "libxcb-keysyms1" in message and "libxcb-cursor0, " not in message
    assert message.endswith("fix: sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    linux.libraries.update({"xcb-cursor": None})
    assert app.display_problem().endswith(f"fix: {app.XCB_FIX}")  # the README's line


def test_explicit_xcb_is_checked_even_under_wayland(linux, monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":1")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    linux.libraries["xcb-cursor"] = None
    assert "libxcb-cursor0" in app.display_problem()


def test_explicit_xcb_without_x_server_is_no_display(linux, monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert "no display" in app.display_problem()


@pytest.mark.parametrize("env", [{"WAYLAND_DISPLAY": "wayland-0"}, {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
                                 {"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "wayland;xcb"}, {"QT_QPA_PLATFORM": "xcb;offscreen"},
                                 {"QT_QPA_PLATFORM": "vnc:size=800x600"}])
def test_other_platforms_need_no_xcb_libraries(linux, monkeypatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    linux.libraries = dict.fromkeys(linux.libraries)
    assert app.display_problem() is None
    assert linux.asked == []


def test_other_systems_are_not_checked(linux, monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert app.display_problem() is None


def test_main_prints_the_problem_and_returns_1(monkeypatch, capsys) -> None:
    monkeypatch.setattr(app, "display_problem", lambda: "digitpad: no display found (test)")
    assert app.main(["digitpad"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == "digitpad: no display found (test)" and captured.out == ""


def test_main_shows_the_window_quickly_and_exits_cleanly(tmp_path: Path) -> None:
    """A real ``main()`` in a fresh process: painted within the budget, no TensorFlow on the way."""
    script = textwrap.dedent("""
        import sys, time
        import digitpad.ml.inference as inference
        from digitpad.contracts import ModelInfo, blank_prediction

        class Fake:
            info = ModelInfo(path="", name="fake", bundled=True)
            def predict(self, array):
                return blank_prediction()

        inference.load_predictor = lambda path=None: Fake()  # keep TensorFlow out of this test
        from PySide6.QtCore import QEvent, QObject, QTimer
        import digitpad.ui.main_window as main_window

        class Watch(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint and not hasattr(self, "done"):
                    self.done = True
                    print("painted", time.time(), flush=True)
                    QTimer.singleShot(200, obj.window().close)
                return False

        show = main_window.MainWindow.show
        def patched_show(self):
            self._watch = Watch(self)
            self.draw_tab.canvas.installEventFilter(self._watch)
            show(self)
        main_window.MainWindow.show = patched_show
        from digitpad.ui.app import main
        code = main(["digitpad"])
        print("modules", "tensorflow" in sys.modules, "keras" in sys.modules, flush=True)
        sys.exit(code)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.time()
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert float(lines["painted"]) > start  # the window was painted (how fast: benchmarks/bench_startup.py)
    assert lines["modules"] == "False False"
