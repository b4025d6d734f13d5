"""Run history: one JSON record per training or fine-tuning run, one folder per run.

Runs live in ``<user data>/runs/<run id>/run.json`` (a run's model may sit
beside it as ``model.keras``). A record is written once, atomically, and never
rewritten. Plain dataclasses and the standard library only: no TensorFlow, no
Qt, so ``digitpad runs`` starts fast and the GUI can use it from any thread.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from digitpad import __version__
from digitpad.contracts import BatchEnd, BatchHook, EpochEnd, EpochHook
from digitpad.errors import DataError
from digitpad.fileio import write_atomic
from digitpad.ml.class_metrics import per_class_metrics
from digitpad.paths import user_data_dir

FORMAT = "digitpad-run"
FORMAT_VERSION = 1
RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
MAX_CURVE_POINTS = 2000
KINDS = ("train", "fine-tune")
SOURCES = ("gui", "cli")
STATUSES = ("finished", "stopped")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def runs_dir() -> Path:
    """``<user data>/runs``: where :class:`RunStore` keeps runs by default."""
    return user_data_dir() / "runs"


def new_run_id(now: datetime | None = None) -> str:
    """``20250131-142501-3fa9c2``: UTC time (sorts by date) plus 6 random hex digits."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class RunRecord:
    """Everything remembered about one run; ``to_json``/``from_json`` round-trip it."""

    id: str
    kind: str  # "train" or "fine-tune"
    source: str  # "gui" or "cli"
    created: str  # ISO 8601, UTC, when the run started
    config: dict[str, Any]  # TrainConfig.as_dict()
    seed: int
    precision: str  # the dtype policy that ran: "float32" or "mixed_bfloat16"
    strategy: str
    status: str  # "finished" (all epochs, or early stopping) or "stopped" (by the user)
    stop_point: dict[str, int] | None = None  # StopPoint.to_json() of a stopped run
    epoch_metrics: list[dict[str, Any]] = field(default_factory=list)  # EpochEnd fields per full epoch
    batch_loss: list[float] = field(default_factory=list)  # running mean over the epoch so far, per batch
    batch_loss_epoch: list[float] = field(default_factory=list)  # x of each point: epoch - 1 + step / steps
    test_accuracy: float | None = None
    test_loss: float | None = None
    per_class: dict[str, list[Any]] = field(default_factory=dict)  # per_class_metrics(confusion)
    confusion: list[list[int]] = field(default_factory=list)  # rows true digit, columns predicted
    duration_s: float = 0.0  # wall time of the whole run, evaluation included
    images_per_second: float | None = None  # training throughput (validation excluded)
    train_images: int = 0
    model_path: str | None = None
    digitpad_version: str = __version__
    data_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the fine-tuning report and base model

    @property
    def epochs_run(self) -> int:
        return len(self.epoch_metrics)

    @property
    def epochs_planned(self) -> int | None:
        epochs = self.config.get("epochs")
        return epochs if isinstance(epochs, int) else None

    @property
    def early_stopped(self) -> bool:
        """Finished before its planned epochs: early stopping ended it, not the user."""
        planned = self.epochs_planned
        return self.status == "finished" and planned is not None and self.epochs_run < planned

    @property
    def date(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.created)
        except ValueError:
            return None

    @property
    def best_epoch(self) -> int | None:
        """The 1-based epoch with the lowest validation loss (the one early stopping keeps)."""
        scored = [(e["val_loss"], e["epoch"]) for e in self.epoch_metrics if _finite(e.get("val_loss"))]
        return min(scored)[1] if scored else None

    def series(self, metric: str) -> tuple[builtins.list[int], builtins.list[float]]:
        """(epochs, values) of one per-epoch metric, e.g. "val_loss", for overlaying runs."""
        points = [(e["epoch"], float(e[metric])) for e in self.epoch_metrics if _finite(e.get(metric))]
        return [p[0] for p in points], [p[1] for p in points]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; NaN and infinities become null."""
        return {"format": FORMAT, "version": FORMAT_VERSION, **_clean(dataclasses.asdict(self))}

    @classmethod
    def from_json(cls, data: Any) -> "RunRecord":
        """Rebuild a record; ValueError when ``data`` is not a digitpad run record."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a digitpad run record")
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        try:
            record = cls(**values)
        except TypeError as exc:
            raise ValueError(f"incomplete run record: {exc}") from None
        try:
            record.batch_loss = [math.nan if v is None else float(v) for v in record.batch_loss]
            record.batch_loss_epoch = [float(v) for v in record.batch_loss_epoch]
        except (TypeError, ValueError):
            raise ValueError("bad run record: batch_loss must be a list of numbers") from None
        _check(record)
        return record


def _check(record: RunRecord) -> None:
    text = (record.id, record.kind, record.source, record.created, record.precision, record.strategy)
    if not all(isinstance(v, str) for v in text) or not _ID.fullmatch(record.id):
        raise ValueError("bad run record: id, kind, source, date, precision and strategy must be text")
    if record.kind not in KINDS or record.source not in SOURCES or record.status not in STATUSES:
        raise ValueError(f"bad run record: kind {record.kind!r}, source {record.source!r}, "
                         f"status {record.status!r}")
    if not isinstance(record.config, dict) or not isinstance(record.per_class, dict) \
            or not isinstance(record.extra, dict):
        raise ValueError("bad run record: config, per_class and extra must be objects")
    if not isinstance(record.epoch_metrics, list) or not all(
            isinstance(e, dict) and isinstance(e.get("epoch"), int) for e in record.epoch_metrics):
        raise ValueError("bad run record: epoch_metrics must be a list of epochs")
    if len(record.batch_loss) != len(record.batch_loss_epoch):
        raise ValueError("bad run record: batch_loss and batch_loss_epoch differ in length")
    if record.stop_point is not None and not isinstance(record.stop_point, dict):
        raise ValueError("bad run record: stop_point must be an object or null")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _clean(value: Any) -> Any:
    """Make ``value`` strict JSON: NaN/inf -> None, tuples -> lists, NumPy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # NumPy scalars and arrays
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def config_diff(a: RunRecord | dict[str, Any], b: RunRecord | dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``[(key, a_value, b_value)]`` for every setting that differs, in config order.

    For records, the run kind, the precision that actually ran, the data's
    sha256 and the digitpad version are compared too, since any of them can
    explain why two runs differ.
    """
    ca, cb = _comparable(a), _comparable(b)
    keys = list(ca) + [k for k in cb if k not in ca]
    return [(k, ca.get(k), cb.get(k)) for k in keys if not _same(ca.get(k), cb.get(k))]


def _comparable(run: RunRecord | dict[str, Any]) -> dict[str, Any]:
    if isinstance(run, RunRecord):
        return {**run.config, "kind": run.kind, "policy": run.precision, "data_sha256": run.data_sha256,
                "digitpad_version": run.digitpad_version}
    return dict(run)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return bool(a == b) and type(a) is type(b)


class RunStore:
    """The run folders under ``root`` (default :func:`runs_dir`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else runs_dir()

    def folder(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (not created); refuses ids that are not plain names."""
        if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
            raise DataError(f"not a run id: {run_id!r}")
        return self.root / run_id

    def model_file(self, run_id: str) -> Path:
        """Where a run's own model goes (``<run>/model.keras``); creates the run folder.

        A model saved here is deleted with the run; models saved elsewhere never are.
        """
        folder = self.folder(run_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"{folder}: could not create run folder ({exc.strerror or exc})") from None
        return folder / MODEL_FILE

    def record(self, run: RunRecord) -> Path:
        """Write ``run`` to ``<root>/<id>/run.json`` atomically; returns that path.

        A record that already exists is never rewritten (FileExistsError). The
        record is serialised before anything touches the disk, so a record that
        cannot be written leaves nothing behind.
        """
        data = (json.dumps(run.to_json(), indent=1, allow_nan=False) + "\n").encode("utf-8")
        target = self.folder(run.id) / RUN_FILE
        if target.exists():
            raise FileExistsError(f"{target}: run already recorded")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
        except OSError as exc:
            raise DataError(f"{target}: could not record run ({exc.strerror or exc})") from None
        return target

    def get(self, run_id: str) -> RunRecord:
        """The record of ``run_id``; DataError when it is missing or unreadable."""
        path = self.folder(run_id) / RUN_FILE
        if not path.is_file():
            raise DataError(f"run {run_id} not found in {self.root}")
        record = _read(path)
        if record is None:
            raise DataError(f"{path}: not a readable digitpad run record")
        return record

    def delete(self, run_id: str) -> None:
        """Remove the run's folder, with anything in it (its own model included).

        Files outside the folder, such as a model saved with ``--out`` or the
        bundled model, are never touched; the folder is renamed away first so
        that a half-deleted run is never listed.
        """
        folder = self.folder(run_id)
        if folder.is_symlink() or not folder.is_dir():
            raise DataError(f"run {run_id} not found in {self.root}")
        if _holds_bundled_model(folder):
            raise DataError(f"{folder}: holds the bundled model, not deleting it")
        doomed = folder.with_name(f".deleting-{run_id}-{secrets.token_hex(3)}")
        try:
            folder.rename(doomed)
            shutil.rmtree(doomed)
        except OSError as exc:
            raise DataError(f"{folder}: could not delete run ({exc.strerror or exc})") from None

    config_diff = staticmethod(config_diff)

    def list(self) -> builtins.list[RunRecord]:
        """All readable runs, oldest first; folders that are not valid runs are skipped."""
        if not self.root.is_dir():
            return []
        try:
            folders = builtins.list(self.root.iterdir())
        except OSError as exc:
            raise DataError(f"{self.root}: could not list runs ({exc.strerror or exc})") from None
        records = []
        for folder in folders:
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            record = _read(folder / RUN_FILE)
            if record is not None and record.id == folder.name:
                records.append(record)
        return sorted(records, key=lambda r: (r.created, r.id))


def _read(path: Path) -> RunRecord | None:
    try:
        return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _holds_bundled_model(folder: Path) -> bool:
    try:
        from digitpad.resources import bundled_model

        return bundled_model().resolve().is_relative_to(folder.resolve())
    except (OSError, FileNotFoundError):
        return False


class RunRecorder:
    """Collects one run's per-batch and per-epoch reports and builds its :class:`RunRecord`.

    Pass :meth:`on_batch`/:meth:`on_epoch` (or the pair from :meth:`hooks`) as
    the training hooks, then call :meth:`build` with the outcome. The batch
    loss curve keeps every ``stride``-th batch and doubles the stride whenever
    it would exceed ``max_points``, so a long run stays at most that many
    evenly spaced points.
    """

    def __init__(self, kind: str = "train", source: str = "cli", run_id: str | None = None,
                 max_points: int = MAX_CURVE_POINTS, clock: Callable[[], float] = time.perf_counter) -> None:
        if kind not in KINDS or source not in SOURCES:
            raise ValueError(f"kind must be one of {KINDS} and source one of {SOURCES}")
        self.kind, self.source = kind, source
        self.run_id = run_id or new_run_id()
        self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.max_points = max(2, max_points)
        self.epochs: builtins.list[EpochEnd] = []
        self._clock = clock
        self._start = clock()
        self._stride = 1
        self._points: builtins.list[tuple[int, float, float]] = []  # (global batch, x in epochs, loss)
        self._batches = 0
        self._first_batch: tuple[float, int] | None = None  # (time, batches so far) at the first report
        self._last_batch_time = 0.0

    def on_batch(self, end: BatchEnd) -> None:
        """A BatchHook: remember the loss (downsampled) and the batch clock."""
        now = self._clock()
        self._batches += 1
        if self._first_batch is None:
            self._first_batch = (now, self._batches)
        self._last_batch_time = now
        step = (end.epoch - 1) * end.steps + end.step
        if step % self._stride:
            return
        self._points.append((step, end.epoch - 1 + end.step / end.steps, float(end.loss)))
        if len(self._points) > self.max_points:
            self._stride *= 2
            self._points = [p for p in self._points if p[0] % self._stride == 0]

    def on_epoch(self, end: EpochEnd) -> None:
        """An EpochHook: remember the epoch's metrics."""
        self.epochs.append(end)

    def hooks(self, on_batch: BatchHook | None = None,
              on_epoch: EpochHook | None = None) -> tuple[BatchHook, EpochHook]:
        """Hooks that record and then call ``on_batch``/``on_epoch`` (e.g. the GUI's or the CLI's)."""
        def batch(end: BatchEnd) -> None:
            self.on_batch(end)
            if on_batch is not None:
                on_batch(end)

        def epoch(end: EpochEnd) -> None:
            self.on_epoch(end)
            if on_epoch is not None:
                on_epoch(end)

        return batch, epoch

    def build(self, result: Any, evaluation: Any = None, model_path: str | Path | None = None,
              duration: float | None = None, extra: dict[str, Any] | None = None) -> RunRecord:
        """The record of a run from its TrainResult and test Evaluation (either may lack parts).

        ``duration`` defaults to the time since this recorder was made.
        """
        config = result.config
        settings = config.as_dict() if hasattr(config, "as_dict") else dataclasses.asdict(config)
        history = list(getattr(result, "history", None) or self.epochs)
        stop = getattr(result, "stop_point", None)
        confusion = None if evaluation is None else evaluation.confusion
        return RunRecord(
            id=self.run_id, kind=self.kind, source=self.source, created=self.created,
            config=_clean(settings), seed=int(settings.get("seed", 0)),
            precision=str(getattr(result, "policy", "") or settings.get("precision", "")),
            strategy=str(settings.get("strategy", "default")),
            status="stopped" if getattr(result, "stopped", False) else "finished",
            stop_point=None if stop is None else stop.to_json(),
            epoch_metrics=[_clean(dataclasses.asdict(e)) for e in history],
            batch_loss=[p[2] for p in self._points],
            batch_loss_epoch=[round(p[1], 6) for p in self._points],
            test_accuracy=None if evaluation is None else float(evaluation.accuracy),
            test_loss=None if evaluation is None else float(evaluation.loss),
            per_class={} if confusion is None else per_class_metrics(confusion),
            confusion=[] if confusion is None else _clean(confusion),
            duration_s=float(self._clock() - self._start if duration is None else duration),
            images_per_second=self._throughput(history, int(settings.get("batch_size", 0) or 0)),
            train_images=int(getattr(result, "train_images", 0)),
            model_path=None if model_path is None else str(model_path),
            data_sha256=str(getattr(result, "data_sha256", "")),
            extra=_clean(dict(extra or {})),
        )

    def _throughput(self, history: builtins.list[EpochEnd], batch_size: int) -> float | None:
        """Images per second over the full epochs; for a run stopped in its first epoch, from the batch clock."""
        rates = [e.samples_per_second for e in history if e.samples_per_second > 0]
        if rates:
            return len(rates) / sum(1.0 / r for r in rates)  # equal images per epoch: the harmonic mean
        if self._first_batch is None or batch_size <= 0:
            return None
        seconds = self._last_batch_time - self._first_batch[0]
        batches = self._batches - self._first_batch[1]
        return batches * batch_size / seconds if seconds > 0 and batches > 0 else None
