"""tf.distribute strategies by name, and which worker keeps the trained model.

``MultiWorkerMirroredStrategy`` configures collective ops, which TensorFlow
allows only before its context starts (the first tensor starts it). So the
multiworker strategy is made once, right after TensorFlow is imported, and
cached: call :func:`prepare` at program start, before anything else uses
TensorFlow; training's later ``make_strategy("multiworker")`` returns the same
object. The workers come from the ``TF_CONFIG`` environment variable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from digitpad.errors import ConfigError

_lock = threading.Lock()
_multiworker: Any = None


def prepare(name: str) -> None:
    """Make the strategy that has to exist before TensorFlow's context starts.

    Only ``multiworker`` needs this; the others are made when training asks.
    Blocks until every worker in ``TF_CONFIG`` has started.
    """
    if name == "multiworker":
        make_strategy(name)


def make_strategy(name: str) -> Any:
    """A tf.distribute strategy by name; None for the default (one device).

    ``mirrored``: every local GPU, or every logical CPU device when there is no
    GPU. ``multiworker``: the cluster in ``TF_CONFIG`` (made once per process).
    """
    if name == "default":
        return None
    if name == "multiworker":
        return _multiworker_strategy()
    if name != "mirrored":
        raise ConfigError(f"strategy must be default, mirrored or multiworker, got {name!r}")
    from digitpad.ml.backend import load_keras

    load_keras()
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    devices = [d.name for d in gpus] if gpus else [d.name for d in cpus]
    return tf.distribute.MirroredStrategy(devices=devices)


def _multiworker_strategy() -> Any:
    global _multiworker
    with _lock:
        if _multiworker is not None:
            return _multiworker
        cluster_config()  # a broken TF_CONFIG fails here with one line, not inside TensorFlow
        from digitpad.ml.backend import load_keras

        made: list[Any] = []

        def create(tf: Any) -> None:
            try:
                made.append(_strategy_class(tf)())
            except RuntimeError as exc:
                if "program startup" not in str(exc):
                    raise
                raise RuntimeError("the multiworker strategy must be made before TensorFlow starts: "
                                   "call digitpad.ml.distribute.prepare('multiworker') first") from None

        load_keras(startup=create)
        _multiworker = made[0]
        return _multiworker


def _strategy_class(tf: Any) -> type:
    """MultiWorkerMirroredStrategy with a ``reduce`` that takes what Keras 3 passes.

    Keras 3's ``fit`` with more than one worker (keras-team/keras#20585) reduces
    a whole ``(x, y)`` batch in one call, which MirroredStrategy maps over and
    this strategy does not; and it reduces scalar metrics with ``axis=0``. Here
    a nest is reduced leaf by leaf, and a scalar across replicas only.
    """

    class MultiWorker(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:
            if isinstance(value, (tuple, list, dict)):
                return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
            if axis is not None and _rank(self, value) == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorker


def _rank(strategy: Any, value: Any) -> int | None:
    local = strategy.experimental_local_results(value)[0] if hasattr(value, "values") else value
    shape = getattr(local, "shape", None)
    return None if shape is None else shape.rank


def cluster_config() -> dict[str, Any] | None:
    """``TF_CONFIG`` parsed and checked; None when it is unset or empty."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError:
        raise ConfigError("TF_CONFIG: not valid JSON") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(v, list) and v for v in cluster.values()):
        raise ConfigError('TF_CONFIG: needs "cluster", e.g. {"worker": ["host1:12345", "host2:12345"]}')
    if not isinstance(task, dict) or task.get("type") not in cluster \
            or not isinstance(task.get("index"), int) or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise ConfigError('TF_CONFIG: needs "task" naming one entry of "cluster", e.g. '
                          '{"type": "worker", "index": 0}')
    return config


def is_chief() -> bool:
    """True unless this process is a multiworker worker other than the chief.

    TensorFlow's rule: the task of type ``chief``, or worker 0 when the cluster
    has no chief. A process that made no multiworker strategy is its own chief.
    """
    if _multiworker is None:
        return True
    resolver = _multiworker.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    if not spec:  # multiworker without TF_CONFIG: one worker
        return True
    if "chief" in spec:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


@contextmanager
def save_target(path: str | Path) -> Iterator[Path]:
    """The path this process should save ``path`` to.

    The chief gets ``path`` itself. Any other worker gets a path in a fresh
    temporary folder that is removed afterwards, as TensorFlow's multi-worker
    guide advises: every worker saves, only the chief's copy is kept.
    """
    path = Path(path)
    if is_chief():
        yield path
        return
    scratch = Path(tempfile.mkdtemp(prefix="digitpad-worker-"))
    try:
        yield scratch / path.name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
