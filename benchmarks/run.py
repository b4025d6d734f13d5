"""Run every benchmark and print one table: ``python benchmarks/run.py`` (or ``python -m benchmarks``)."""

from __future__ import annotations

import platform
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_ceiling, bench_predict, bench_startup, bench_train  # noqa: E402


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    print(f"machine: {machine()}\n")
    train_rows = bench_train.main(epochs=3)
    print()
    ceiling = bench_ceiling.main()
    print()
    predict = bench_predict.main()
    print()
    startup = bench_startup.main(runs=5)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this benchmark process: {peak_mib:.0f} MiB")
    print("\n| measure | value |\n| --- | --- |")
    for row in train_rows:
        step = ""
        if row["step_images_per_s"] == row["step_images_per_s"]:  # not NaN
            step = f"; median step {row['step_images_per_s']:.0f} img/s ({row['step_speedup']:.2f}x)"
        print(f"| train {row['mode']} | {row['images_per_s']:.0f} img/s ({row['speedup']:.2f}x){step}, "
              f"test acc {row['test_accuracy'] * 100:.2f} % |")
    print(f"| step kernels alone, float32 / bfloat16 | {ceiling['kernels_ms_float32']:.1f} / "
          f"{ceiling['kernels_ms_bfloat16']:.1f} ms "
          f"({ceiling['kernels_ms_float32'] / ceiling['kernels_ms_bfloat16']:.2f}x) |")
    print(f"| matmul peak, float32 / bfloat16 | {ceiling['peak_gflops_float32']:.0f} / "
          f"{ceiling['peak_gflops_bfloat16']:.0f} GFLOP/s |")
    for key, value in predict.items():
        print(f"| predict {key} | {value} |")
    for key, value in startup.items():
        print(f"| start-up {key} | {value:.2f} s |")
    print(f"| peak RSS | {peak_mib:.0f} MiB |")


if __name__ == "__main__":
    main()
