"""Import TensorFlow and Keras once, keeping their C++ start-up chatter off stderr.

TensorFlow 2.21 logs CUDA probes and oneDNN notes through absl before any
environment setting can silence them; users of a CPU app should not see them.
So, during the import only, file descriptor 2 goes to a temporary file. If the
import fails, that text is replayed to the real stderr (it explains the
failure) and one line is raised. If it works, TensorFlow's chatter is dropped,
but nothing else is: other threads' ``sys.stderr`` writes go straight to the
real stderr meanwhile, and lines that other code wrote to fd 2 directly (Qt's
warnings, say) are replayed afterwards.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from digitpad.errors import DigitpadError

_lock = threading.Lock()

# What TensorFlow prints while it starts: absl log lines ("I0000 00:00:1796.123 7995 port.cc:153] ..."),
# absl's note that it is not initialised yet, and cpu_feature_guard's second line.
_CHATTER = re.compile(
    r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
)


class BackendError(DigitpadError):
    """TensorFlow or Keras cannot be imported."""


class _Router(io.TextIOBase):
    """Stands in for ``sys.stderr`` during the import: the importing thread's
    writes are kept (TensorFlow's Python warnings), every other thread's go to
    the real stderr at once."""

    def __init__(self, original: Any, real: Any, kept: io.StringIO) -> None:
        super().__init__()
        self._original, self._real, self._kept = original, real, kept
        self._importer = threading.get_ident()

    def write(self, text: str) -> int:
        target = self._kept if threading.get_ident() == self._importer else self._real
        return target.write(text)

    def flush(self) -> None:
        self._real.flush()

    def writable(self) -> bool:
        return True

    # io.TextIOBase defines these itself, so __getattr__ would never be asked.
    @property
    def encoding(self) -> Any:  # type: ignore[override]
        return getattr(self._original, "encoding", None)

    @property
    def errors(self) -> Any:  # type: ignore[override]
        return getattr(self._original, "errors", None)

    def fileno(self) -> int:
        return self._original.fileno()

    def isatty(self) -> bool:
        return bool(self._original.isatty())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


@contextmanager
def _stderr_captured() -> Iterator[None]:
    """Send fd 2, and the importing thread's ``sys.stderr``, to buffers while the
    block runs. Afterwards replay all of it if the block raised, else only the
    lines on fd 2 that are not TensorFlow's start-up chatter."""
    original = sys.stderr
    try:
        if original is not None:
            original.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    sink = tempfile.TemporaryFile()
    real = open(saved, "w", closefd=False, encoding=getattr(original, "encoding", None) or "utf-8",
                errors="backslashreplace", buffering=1)
    kept = io.StringIO()
    router = _Router(original, real, kept)
    failed = True
    try:
        os.dup2(sink.fileno(), 2)
        sys.stderr = router
        yield
        failed = False
    finally:
        if sys.stderr is router:
            sys.stderr = original
        try:
            if original is not None:
                original.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        sink.seek(0)
        fd_text = sink.read().decode("utf-8", "backslashreplace")
        sink.close()
        if failed:
            replay = fd_text + kept.getvalue()
        else:
            replay = "".join(line for line in fd_text.splitlines(keepends=True) if not _CHATTER.match(line))
        if replay:
            real.write(replay if replay.endswith("\n") else replay + "\n")
        real.close()
        os.close(saved)


def load_keras(startup: Callable[[Any], Any] | None = None) -> Any:
    """Return the keras module, importing TensorFlow quietly on first use.

    ``startup(tf)``, if given, runs right after the import and before anything
    else can start TensorFlow's context (other callers wait on a lock): the place
    for settings TensorFlow accepts only at program start, such as collective
    ops. If TensorFlow was already imported, it runs at once. Its stderr is
    captured the same way; if it raises, that text is replayed and the
    exception propagates unchanged.
    """
    with _lock:
        if "keras" not in sys.modules or "tensorflow" not in sys.modules:
            try:
                with _stderr_captured():
                    import tensorflow as tf
                    import keras  # noqa: F401

                    tf.config.list_physical_devices()  # the CUDA probe logs here; the context stays unstarted
            except Exception as exc:
                raise BackendError(f"cannot import TensorFlow/Keras: {type(exc).__name__}: {_one_line(exc)}") \
                    from None
        if startup is not None:
            import tensorflow as tf

            with _stderr_captured():  # starting the context logs its own round of chatter
                startup(tf)
    import keras

    return keras


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"
