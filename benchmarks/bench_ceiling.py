"""How fast can a training step of this CNN be on this CPU? The kernel-only bound.

Times, alone and warmed up, every convolution and matrix product of one
training step (batch 128) in float32 and in bfloat16, plus a large square
matrix product for the CPU's peak. The bfloat16/float32 ratio of the kernel
sums bounds the speed-up any numeric mode can give: the rest of a step
(element-wise ops, optimizer, input) only adds time.
Run: ``python benchmarks/bench_ceiling.py``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

B = 128


def _best_ms(fn: Callable[[], Any], runs: int = 20, repeats: int = 5) -> float:
    import tensorflow as tf

    compiled = tf.function(fn)
    compiled()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(runs):
            out = compiled()
        _ = out.numpy()  # wait for the last result
        best = min(best, (time.perf_counter() - t0) / runs * 1000)
    return best


def step_kernels(dtype: Any) -> dict[str, float]:
    """Milliseconds of each conv/matmul kernel in one forward+backward pass."""
    import tensorflow as tf

    def t(*shape: int) -> Any:
        return tf.cast(tf.random.normal(shape), dtype)

    x1, g1, x2, g2 = t(B, 28, 28, 1), t(B, 28, 28, 32), t(B, 14, 14, 32), t(B, 14, 14, 64)
    w1, w2 = t(5, 5, 1, 32), t(5, 5, 32, 64)
    xd, wd, gd = t(B, 3136), t(3136, 1024), t(B, 1024)
    one = [1, 1, 1, 1]
    raw = tf.raw_ops
    return {
        "conv1 forward": _best_ms(lambda: tf.nn.conv2d(x1, w1, 1, "SAME")),
        "conv1 weight grad": _best_ms(lambda: raw.Conv2DBackpropFilter(
            input=x1, filter_sizes=[5, 5, 1, 32], out_backprop=g1, strides=one, padding="SAME")),
        "conv2 forward": _best_ms(lambda: tf.nn.conv2d(x2, w2, 1, "SAME")),
        "conv2 input grad": _best_ms(lambda: raw.Conv2DBackpropInput(
            input_sizes=[B, 14, 14, 32], filter=w2, out_backprop=g2, strides=one, padding="SAME")),
        "conv2 weight grad": _best_ms(lambda: raw.Conv2DBackpropFilter(
            input=x2, filter_sizes=[5, 5, 32, 64], out_backprop=g2, strides=one, padding="SAME")),
        "dense forward": _best_ms(lambda: tf.matmul(xd, wd)),
        "dense input grad": _best_ms(lambda: tf.matmul(gd, wd, transpose_b=True)),
        "dense weight grad": _best_ms(lambda: tf.matmul(xd, gd, transpose_a=True)),
    }


def peak_gflops(dtype: Any, n: int = 2048) -> float:
    import tensorflow as tf

    a = tf.cast(tf.random.normal([n, n]), dtype)
    return 2 * n**3 / _best_ms(lambda: tf.matmul(a, a), runs=5) / 1e6


def main() -> dict[str, float]:
    from digitpad.ml.backend import load_keras

    load_keras()
    import tensorflow as tf

    f32, bf16 = step_kernels(tf.float32), step_kernels(tf.bfloat16)
    print("one training step's conv/matmul kernels, batch 128, best of 5 (ms)")
    print(f"{'kernel':20} {'float32':>8} {'bfloat16':>9}")
    for name in f32:
        print(f"{name:20} {f32[name]:8.2f} {bf16[name]:9.2f}")
    sum32, sum16 = sum(f32.values()), sum(bf16.values())
    print(f"{'sum':20} {sum32:8.2f} {sum16:9.2f}   ratio {sum32 / sum16:.2f}x")
    print(f"kernel-only bound: {B / sum16 * 1000:,.0f} img/s in bfloat16, {B / sum32 * 1000:,.0f} in float32")
    p32, p16 = peak_gflops(tf.float32), peak_gflops(tf.bfloat16)
    print(f"2048x2048 matmul: {p32:.0f} GFLOP/s float32, {p16:.0f} GFLOP/s bfloat16 ({p16 / p32:.2f}x)")
    return {"kernels_ms_float32": sum32, "kernels_ms_bfloat16": sum16,
            "peak_gflops_float32": p32, "peak_gflops_bfloat16": p16}


if __name__ == "__main__":
    main()
