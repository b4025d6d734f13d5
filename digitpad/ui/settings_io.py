"""Read QSettings values defensively: a damaged or hand-edited settings file means defaults.

``QSettings.value(key, default, type=float)`` turns "banana" into ``0.0`` and a
broken ``@Variant(`` into whatever it can, silently. :func:`read_setting`
instead converts the raw value itself and returns the default for anything
missing, of the wrong kind, or outside what the caller accepts.
"""

from __future__ import annotations

import math
from typing import Any, Callable, TypeVar

from PySide6.QtCore import QSettings

T = TypeVar("T", str, float, int, bool)

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert(raw: Any, kind: type) -> Any:
    """``raw`` as ``kind``; ValueError/TypeError when it is not one."""
    if kind is str:
        if not isinstance(raw, str):
            raise TypeError(f"expected text, got {type(raw).__name__}")
        return raw
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, (str, int)) else ""
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"not a yes/no value: {raw!r}")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise TypeError(f"expected a number, got {type(raw).__name__}")
    if kind is float:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {raw!r}")
        return value
    if kind is int:
        number = float(raw)
        if not number.is_integer():
            raise ValueError(f"not a whole number: {raw!r}")
        return int(number)
    raise TypeError(f"unsupported setting type {kind.__name__}")


def read_setting(settings: QSettings, key: str, default: T, kind: type[T],
                 valid: Callable[[T], bool] | None = None) -> T:
    """The value under ``key`` as ``kind``, or ``default`` if missing, malformed or not ``valid``."""
    try:
        raw = settings.value(key)
    except Exception:  # noqa: BLE001 - a value QSettings itself cannot decode
        return default
    if raw is None:
        return default
    try:
        value = _convert(raw, kind)
    except (TypeError, ValueError, OverflowError):
        return default
    if valid is not None and not valid(value):
        return default
    return value
