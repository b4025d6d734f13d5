"""One BLAS thread while the explain maps and the look-alike index are computed.

NumPy's OpenBLAS splits each product over every core and its threads wait for
one another by spinning. The explain maps are many small products; on a
two-core machine that is busy with something else (a training run, the GUI)
the threads keep waiting for a core and one drawing's maps take ten times as
long as on one thread. The limit is process-wide in OpenBLAS, so overlapping
users (the Inside tab's worker and the index builder) share one limit: the
first to enter sets it, the last to leave restores what was there before.
threadpoolctl lets only one "controlling" thread change OpenBLAS's limit;
since entering and leaving may happen on different threads, each change here
first hands that control to the calling thread (under this module's lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_depth = 0  # how many callers are inside one_blas_thread()
_limiter: Any = None  # threadpoolctl's limiter while _depth > 0
_controller: Any = None  # threadpoolctl.ThreadpoolController, made once (it scans the loaded libraries)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS on one thread; safe to nest and to enter from several threads."""
    global _depth, _limiter, _controller
    with _lock:
        if _depth == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _take_control()
            _limiter = _controller.limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _take_control()
                _limiter.restore_original_limits()
                _limiter = None


def _take_control() -> None:
    """Let the calling thread set OpenBLAS's process-wide limit (threadpoolctl ignores other threads)."""
    from threadpoolctl import OpenBLASController

    OpenBLASController.clear_controlling_thread(force=True)


def blas_threads() -> int:
    """The number of threads NumPy's BLAS uses now (the largest over the BLAS libraries loaded)."""
    from threadpoolctl import threadpool_info

    return max((int(info["num_threads"]) for info in threadpool_info() if info.get("user_api") == "blas"),
               default=1)
