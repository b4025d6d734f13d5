"""``digitpad --install-desktop`` / ``--uninstall-desktop`` against a temporary XDG_DATA_HOME."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from digitpad.cli import main


def test_install_and_uninstall_are_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    launcher = tmp_path / "applications" / "digitpad.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "digitpad.svg"
    for _ in range(2):
        assert main(["--install-desktop"]) == 0
        assert launcher.is_file() and icon.is_file()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(launcher)
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Icon"] == "digitpad"
    assert "digitpad" in section["Exec"]
    assert icon.read_text().lstrip().startswith("<?xml")
    assert not list(launcher.parent.glob(".*tmp"))
    for _ in range(2):
        assert main(["--uninstall-desktop"]) == 0
        assert not launcher.exists() and not icon.exists()
    assert "nothing to remove" in capsys.readouterr().out


def test_bundled_desktop_file_is_valid() -> None:
    from digitpad.resources import resource

    entry = configparser.ConfigParser(interpolation=None)
    entry.read(resource("digitpad.desktop"))
    assert entry["Desktop Entry"]["Name"] == "digitpad"
    assert "Education" in entry["Desktop Entry"]["Categories"]
