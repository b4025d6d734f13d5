"""PySide6 user interface. Never imports TensorFlow at module level.

This is the one import site of the ``qtfix`` guard: importing any
``digitpad.ui`` module imports this package first, so the guard always runs
before any of them touches Qt. It protects CPython < 3.12 from a PySide6
release that drops references to None/True (see ``qtfix``); with a sound
PySide6 it measures no loss and does nothing.
"""

from digitpad.ui import qtfix  # noqa: F401
