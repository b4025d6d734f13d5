"""Per-user folders for trained models and personal samples (no Qt needed)."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

APP = "digitpad"


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/digitpad`` on Linux, the platform's equivalent elsewhere."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP


def models_dir() -> Path:
    return user_data_dir() / "models"


def new_model_path() -> Path:
    """A fresh, timestamped file name for a newly trained model."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return models_dir() / f"digitpad-{stamp}.keras"
