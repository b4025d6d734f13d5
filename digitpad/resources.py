"""Where the bundled files live, for a source checkout and for an installed wheel.

The wheel carries ``resources/`` as ``digitpad/resources``; an editable install
or a plain checkout finds it beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

MNIST_FILE = "mnist.npz"
MODEL_FILE = "digitpad-cnn.keras"
ICON_FILE = "digitpad.svg"
DESKTOP_FILE = "digitpad.desktop"


def resources_dir() -> Path:
    """Return the folder that holds the bundled data, model and icon."""
    for candidate in (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"):
        if (candidate / MNIST_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        "digitpad's resources folder is missing (looked in "
        f"{_PACKAGE_DIR / 'resources'} and {_PACKAGE_DIR.parent / 'resources'})"
    )


def resource(name: str) -> Path:
    """Return the path of one bundled file."""
    return resources_dir() / name


def bundled_mnist() -> Path:
    return resource(MNIST_FILE)


def bundled_model() -> Path:
    return resource(MODEL_FILE)
