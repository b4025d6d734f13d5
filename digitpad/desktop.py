"""Install or remove the freedesktop launcher and icon for the current user (XDG paths)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from digitpad.fileio import write_atomic
from digitpad.resources import DESKTOP_FILE, ICON_FILE, resource


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher_path() -> Path:
    return _data_home() / "applications" / "digitpad.desktop"


def icon_path() -> Path:
    return _data_home() / "icons" / "hicolor" / "scalable" / "apps" / "digitpad.svg"


def _exec_line() -> str:
    """Point Exec at this installation's ``digitpad`` so the launcher works outside a venv's PATH."""
    found = shutil.which("digitpad")
    if found:
        return found
    return f"{sys.executable} -m digitpad"


def desktop_entry() -> str:
    """The bundled .desktop text with Exec/TryExec set for this installation."""
    lines = []
    exec_line = _exec_line()
    for line in resource(DESKTOP_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line}"
        elif line.startswith("TryExec="):
            line = f"TryExec={exec_line.split(' ')[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def install_desktop() -> str:
    """Install (or refresh) the launcher and icon; safe to run again."""
    _write(icon_path(), resource(ICON_FILE).read_bytes())
    _write(launcher_path(), desktop_entry().encode("utf-8"))
    return f"installed {launcher_path()} and {icon_path()}"


def uninstall_desktop() -> str:
    """Remove the launcher and icon; safe to run when they are already gone."""
    removed = [p for p in (launcher_path(), icon_path()) if p.exists()]
    for path in removed:
        path.unlink()
    if not removed:
        return "digitpad launcher was not installed; nothing to remove"
    return "removed " + " and ".join(str(p) for p in removed)
