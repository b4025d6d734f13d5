"""Import TensorFlow and Keras once, keeping their C++ start-up chatter off stderr.

TensorFlow 2.21 logs CUDA probes and oneDNN notes through absl before any
environment setting can silence them; users of a CPU app should not see them.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

_lock = threading.Lock()


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_keras() -> Any:
    """Return the keras module, importing TensorFlow quietly on first use."""
    with _lock:
        if "keras" not in sys.modules or "tensorflow" not in sys.modules:
            with _stderr_silenced():
                import tensorflow as tf
                import keras  # noqa: F401

                tf.config.list_physical_devices()
    import keras

    return keras
