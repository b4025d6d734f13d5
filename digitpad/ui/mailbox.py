"""A latest-wins mailbox: at most one pending job for a worker thread, the newest replacing older ones.

Shared by the prediction service, the number pad and the Inside tab. The GUI
thread ``put``s jobs; the worker ``take``s them in a drain loop. One lock
guards the job, the worker's "scheduled" flag and a ``context`` (the model the
jobs need), so a model arriving while the worker is going idle is never missed.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar

Job = TypeVar("Job")


class Mailbox(Generic[Job]):
    """One pending job; ``put`` and ``set_context`` say when the worker must be woken."""

    def __init__(self, context: Any = None) -> None:
        self._lock = threading.Lock()
        self._pending: Job | None = None
        self._context = context
        self._scheduled = False  # a drain is queued or running

    @property
    def context(self) -> Any:
        with self._lock:
            return self._context

    def put(self, job: Job | None) -> bool:
        """Replace the pending job (None: drop it). True when the worker must be woken."""
        with self._lock:
            self._pending = job
            wake = job is not None and not self._scheduled
            self._scheduled = self._scheduled or wake
            return wake

    def set_context(self, context: Any) -> bool:
        """Swap the context (e.g. the model). True when a waiting job now needs a wake-up."""
        with self._lock:
            self._context = context
            wake = self._pending is not None and not self._scheduled
            self._scheduled = self._scheduled or wake
            return wake

    def busy(self) -> bool:
        """True while a job is pending or being handled."""
        with self._lock:
            return self._scheduled

    def take(self, ready: Callable[[Job, Any], bool] = lambda job, context: True) -> tuple[Job, Any] | None:
        """The pending job and the context, or None (the worker goes idle) when there is none
        or ``ready(job, context)`` says it must wait (for a model, say)."""
        with self._lock:
            job, context = self._pending, self._context
            if job is None or not ready(job, context):
                self._scheduled = False
                return None
            self._pending = None
            return job, context
