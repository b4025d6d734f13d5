"""Keep PySide6 6.12 from crashing CPython 3.11: make None/True/False effectively immortal.

PySide6 6.12.0 (abi3 wheels) returns ``None`` from every void method and
``True`` from ``Signal.emit()`` without taking a reference, as if the objects
were immortal — which they are only from CPython 3.12 on. On 3.11 each such
call lowers the reference count by one; ``None`` starts near 5,000, so a few
seconds of drawing (every pointer sample calls several void methods) end in
"Fatal Python error: none_dealloc" and an abort.

Importing this module measures the loss once. Only on CPython < 3.12 and only
when there is a loss, it adds 2**40 references to ``None``, ``True`` and
``False`` — exactly what 3.12's immortality does — so the count can never
reach zero (at a thousand lost references a second, that takes 35 years).
Extra references to these static singletons have no other effect.

``digitpad.ui``'s ``__init__`` imports this module, before any other UI module.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

RESERVE = 1 << 40
_PROBES = 32


class _Probe(QObject):
    ping = Signal()


def measure_loss() -> dict[str, int]:
    """References lost per call: ``None`` by a void method, ``True`` by ``emit()``."""
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.setObjectName("probe")  # a void method
    none_lost = none_before - sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.ping.emit()
    true_lost = true_before - sys.getrefcount(True)
    return {"None": max(0, round(none_lost / _PROBES)), "True": max(0, round(true_lost / _PROBES))}


def _add_references(obj: object, count: int) -> None:
    """Raise ``obj``'s reference count in place (``ob_refcnt`` is PyObject's first field)."""
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def apply() -> bool:
    """Protect None/True/False if this PySide6 loses references to them. Idempotent."""
    global APPLIED
    if APPLIED:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or hasattr(sys, "getobjects"):
        return False  # immortal singletons (3.12+), or a layout we must not write to (trace-refs build)
    loss = measure_loss()
    if not any(loss.values()):
        return False
    for obj in (None, True, False):
        _add_references(obj, RESERVE)
    APPLIED = True
    return True


APPLIED = False
apply()
