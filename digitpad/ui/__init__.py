"""PySide6 user interface. Never imports TensorFlow at module level.

The ``qtfix`` guard runs first: it protects CPython < 3.12 from a PySide6
release that drops references to None/True (see ``qtfix``); with a sound
PySide6 it measures no loss and does nothing.
"""

from digitpad.ui import qtfix  # noqa: F401
