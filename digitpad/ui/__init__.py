"""PySide6 user interface. Never imports TensorFlow at module level."""
