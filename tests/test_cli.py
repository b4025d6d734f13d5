"""The ``digitpad`` command: exit codes and one-line messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitpad import __version__
from digitpad.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "digitpad", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"digitpad {__version__}"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "-3"], "epochs must be a whole number"),
        (["train", "--learning-rate", "nan"], "learning rate"),
        (["train", "--data", "missing.npz"], "missing.npz: no such file or folder"),
        (["evaluate", "--model", "pyproject.toml"], "not a Keras .keras model file"),
        (["evaluate", "--data", "missing.npz"], "missing.npz: no such file or folder"),
        (["train", "--out", "model.h5"], "must end in .keras"),
    ],
)
def test_expected_errors_are_one_clean_line(args: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(Path(__file__).resolve().parent.parent)
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("digitpad: error:") and message in err


@pytest.mark.slow
def test_train_then_evaluate_in_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "m.keras"
    trained = run_cli("train", "--epochs", "1", "--limit", "1500", "--validation", "500",
                      "--out", str(out))
    assert trained.returncode == 0, trained.stderr
    assert "epoch 1/1  loss " in trained.stdout and "img/s" in trained.stdout
    assert f"saved model to {out}" in trained.stdout and "trained 1 full epoch\n" in trained.stdout
    assert json.loads(out.with_suffix(".json").read_text())["epochs_run"] == 1
    evaluated = run_cli("evaluate", "--model", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    line = next(l for l in evaluated.stdout.splitlines() if l.startswith("test accuracy"))
    assert 0.5 < float(line.split()[-1]) <= 1.0
    assert "true\\pred" in evaluated.stdout
    assert evaluated.stderr.strip() == ""  # TensorFlow's start-up chatter stays hidden


@pytest.mark.slow
def test_ctrl_c_stops_and_still_saves(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "m.keras"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "digitpad", "train", "--epochs", "50",
                             "--limit", "3000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()  # the first epoch line: training is under way
        assert first.startswith("epoch 1/50"), first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopping after the current batch" in stderr
    assert out.exists()
    said = next(line for line in stdout.splitlines() if line.startswith("trained "))
    meta = json.loads(out.with_suffix(".json").read_text())
    stop = meta["stopped_at"]  # where the stop fell: inside epoch 2 or later (epoch 1 was printed)
    assert stop["epoch"] >= 2 and meta["epochs_run"] == stop["epoch"] - (stop["batch"] < stop["batches"])
    if stop["batch"] < stop["batches"]:
        assert said == (f"trained {meta['epochs_run']} full epoch{'s' * (meta['epochs_run'] != 1)} "
                        f"(stopped at batch {stop['batch']}/{stop['batches']})")
