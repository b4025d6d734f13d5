"""How digitpad.ml.backend handles TensorFlow's start-up stderr.

Each test runs a fresh interpreter. In most, ``tensorflow`` and ``keras`` are
small stand-in packages on sys.path, so the import can be made to fail or to
take its time; one imports the real TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHATTER = "E0000 00:00:1796189261.009443    7995 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)"

BROKEN_TF = f"""
import os, sys
os.write(2, b"{CHATTER}\\n")
print("python-level note from the import", file=sys.stderr)
raise ImportError("libtensorflow_framework.so.2: cannot open shared object file")
"""

# Logs like TensorFlow, then lets the test's other thread write while the import is under way.
SLOW_TF = f"""
import os, sys, types
import __main__
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
os.write(2, b"{CHATTER}\\n")
print("python-level note from the import", file=sys.stderr)
__main__.importing.set()
assert __main__.written.wait(20)
os.write(2, b"I0000 00:00:1796189257.974179    7995 cpu_feature_guard.cc:227] optimized\\n")
os.write(2, b"To enable the following instructions: AVX2 FMA, in other operations, "
            b"rebuild TensorFlow with the appropriate compiler flags.\\n")
config = types.SimpleNamespace(list_physical_devices=lambda: [])
"""

SUCCESS_DRIVER = textwrap.dedent(
    """
    import os, sys, threading
    importing, written = threading.Event(), threading.Event()

    def other_thread():
        importing.wait(20)
        os.write(2, b"other thread, straight to fd 2\\n")
        print("other thread, through sys.stderr", file=sys.stderr, flush=True)
        written.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    from digitpad.ml.backend import load_keras
    keras = load_keras()
    thread.join()
    print("after the import", file=sys.stderr, flush=True)
    print("keras", keras.__name__)
    """
)


def _run(tmp_path: Path, tensorflow: str, code: list[str]) -> subprocess.CompletedProcess:
    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text(tensorflow)
    (fake / "keras").mkdir()
    (fake / "keras" / "__init__.py").write_text("")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(root)])}
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)


def test_failed_import_replays_its_stderr_and_says_one_line(tmp_path: Path) -> None:
    done = _run(tmp_path, BROKEN_TF, ["-m", "digitpad", "train", "--epochs", "1", "--limit", "64",
                                      "--validation", "0", "--out", str(tmp_path / "never.keras")])
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert CHATTER in lines  # what TensorFlow said before it failed explains the failure
    assert "python-level note from the import" in lines
    assert lines[-1] == ("digitpad: error: cannot import TensorFlow/Keras: ImportError: "
                         "libtensorflow_framework.so.2: cannot open shared object file")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "never.keras").exists()


def test_successful_import_drops_the_chatter_but_not_other_threads_stderr(tmp_path: Path) -> None:
    done = _run(tmp_path, SLOW_TF, ["-c", SUCCESS_DRIVER])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "keras keras"
    lines = done.stderr.splitlines()
    # The other thread wrote to fd 2 first, then through sys.stderr. Its sys.stderr
    # line reaches the real stderr at once; its fd-2 line is held with the import's
    # output and replayed when the import ends, TensorFlow's own lines left out.
    assert lines == ["other thread, through sys.stderr", "other thread, straight to fd 2", "after the import"]


@pytest.mark.slow
def test_the_real_tensorflow_starts_without_a_word_on_stderr() -> None:
    code = ("import os, sys\n"
            "from digitpad.ml.backend import load_keras\n"
            "load_keras()\n"
            "import tensorflow as tf\n"
            "print(float(tf.reduce_sum(tf.ones(3))))\n"  # starts the context, which logs too
            "os.write(2, b'fd 2 is back\\n')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3.0"
    assert done.stderr == "fd 2 is back\n"
