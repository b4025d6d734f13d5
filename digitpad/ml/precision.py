"""Pick the fastest correct numeric mode for training on this machine."""

from __future__ import annotations

import platform
from pathlib import Path

PRECISIONS = ("auto", "float32", "bfloat16")
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU computes bfloat16 natively (AVX512_BF16 or AMX)."""
    if cpuinfo is None:
        if platform.system() != "Linux":
            return False
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return any(flag in flags for flag in _BF16_CPU_FLAGS)
    return False


def gpu_has_bf16() -> bool:
    """True when a visible GPU has compute capability 8.0 or newer (Ampere+)."""
    from digitpad.ml.backend import load_keras

    load_keras()
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        if details.get("compute_capability", (0, 0)) >= (8, 0):
            return True
    return False


def resolve(precision: str = "auto") -> str:
    """Map "auto"/"float32"/"bfloat16" to a Keras dtype policy name."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "float32":
        return "float32"
    if precision == "bfloat16":
        return "mixed_bfloat16"
    return "mixed_bfloat16" if (cpu_has_bf16() or gpu_has_bf16()) else "float32"
