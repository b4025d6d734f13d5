"""Train the CNN with Adam, calling plain-Python hooks per batch and per epoch.

No Qt here: the GUI wraps these hooks into signals, the CLI prints them.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import threading

from digitpad.contracts import BatchEnd, BatchHook, EpochEnd, EpochHook, StopPoint
from digitpad.errors import TrainingAborted
from digitpad.ml.config import TrainConfig
from digitpad.ml.data import Mnist, load_mnist, split, to_model_input


PREFETCH = 2  # batches the input thread prepares ahead of the training step


@dataclass
class TrainResult:
    """The trained model (float32 for inference and saving) and what happened.

    ``history`` holds full epochs only; a stop inside an epoch is ``stop_point``.
    """

    model: Any
    config: TrainConfig
    history: list[EpochEnd] = field(default_factory=list)
    stopped: bool = False
    policy: str = "float32"
    data_sha256: str = ""
    train_images: int = 0
    stop_point: StopPoint | None = None

    @property
    def epochs_run(self) -> int:
        """Full epochs trained."""
        return len(self.history)


class StopFlag:
    """A stop request: ``set()`` ends training after the current batch (then the
    run is evaluated as usual); ``abort()`` also skips everything after it, for
    an app that is closing. Quacks like ``threading.Event``."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.aborted = False

    def set(self) -> None:
        self._event.set()

    def abort(self) -> None:
        self.aborted = True
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


StopRequest = Callable[[], bool]


def make_datasets(config: TrainConfig, data: Mnist, augment_layer: Any = None,
                  extra: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Any, Any, int]:
    """Build the tf.data pipelines: scale once, shuffle, batch (+augment), prefetch.

    ``extra`` (uint8 images, labels) is added to the training images, e.g. the
    user's own samples, already oversampled by the caller.
    """
    from digitpad.ml.backend import load_keras

    load_keras()
    import tensorflow as tf

    parts = split(data, config.validation, config.limit)
    x_train, y_train = parts.x_train, parts.y_train
    if extra is not None and len(extra[0]):
        x_train = np.concatenate([x_train, extra[0]])
        y_train = np.concatenate([y_train, extra[1].astype(y_train.dtype)])
    n = len(x_train)
    # Scaled to float32 once, up front: a per-batch cast/scale map costs about
    # a quarter of the step time on a 2-core CPU (measured: 2,600 vs 3,400 img/s).
    train = (
        tf.data.Dataset.from_tensor_slices((to_model_input(x_train), y_train.astype(np.int32)))
        .shuffle(n, seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
    )
    if augment_layer is not None:
        # One map call at a time: the random layers draw from one stream, so the
        # order of calls (and with it the run) stays reproducible for a seed.
        train = train.map(lambda x, y: (augment_layer(x, training=True), y))
    # One private input thread: on a 2-core CPU tf.data's default pool competes with
    # the training kernels for the cores (measured: 2,500-3,270 img/s without, 3,200-3,330 with).
    # No autotuning: ending an epoch's iterator waits for the autotuner's thread,
    # which stalled the next epoch by 1-10 s here; a fixed two-batch prefetch is enough.
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    train = train.prefetch(PREFETCH).with_options(options)
    val = None
    if len(parts.x_val):
        val = (
            tf.data.Dataset.from_tensor_slices((to_model_input(parts.x_val), parts.y_val.astype(np.int32)))
            .batch(1024)
            .prefetch(PREFETCH)
            .with_options(options)
        )
    return train, val, n


def train(
    config: TrainConfig,
    *,
    on_batch: BatchHook | None = None,
    on_epoch: EpochHook | None = None,
    stop: StopRequest | Any | None = None,
    data: Mnist | None = None,
    initial_model: Any = None,
    strategy: Any = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Train and return the history; ``stop`` (a callable or threading.Event) ends it within one batch."""
    config.check()
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    from digitpad.ml import model as cnn
    from digitpad.ml.precision import resolve

    should_stop = _stop_callable(stop)
    data = data if data is not None else load_mnist(config.data)
    keras.utils.set_random_seed(config.seed)
    policy = resolve(config.precision)
    augment_layer = cnn.augmentation(seed=config.seed, elastic=config.elastic) if config.augment else None
    train_ds, val_ds, n = make_datasets(config, data, augment_layer, extra)
    steps = math.ceil(n / config.batch_size)

    strategy = strategy if strategy is not None else make_strategy(config.strategy)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        net = cnn.build_model(policy)
        if initial_model is not None:
            net.set_weights(initial_model.get_weights())
        rate: Any = config.learning_rate
        if config.lr_decay < 1.0:
            rate = keras.optimizers.schedules.ExponentialDecay(
                config.learning_rate, decay_steps=steps, decay_rate=config.lr_decay, staircase=True)
        cnn.compile_model(net, rate)

    result = TrainResult(model=None, config=config, policy=policy,
                         data_sha256=data.sha256, train_images=n)
    callback = _hook_callback(config.epochs, steps, n, on_batch, on_epoch, should_stop, result,
                              lambda: bool(getattr(stop, "aborted", False)))
    net.fit(train_ds, epochs=config.epochs, validation_data=val_ds, verbose=0, callbacks=[callback, *(callbacks or [])],
            shuffle=False)
    result.model = cnn.inference_copy(net)
    return result


def make_strategy(name: str) -> Any:
    """A tf.distribute strategy by name; None for the default (see digitpad.ml.distribute)."""
    from digitpad.ml.distribute import make_strategy as make

    return make(name)


def _stop_callable(stop: Any) -> StopRequest:
    if stop is None:
        return lambda: False
    if hasattr(stop, "is_set"):
        return stop.is_set
    if callable(stop):
        return stop
    raise TypeError("stop must be a callable or a threading.Event")


def _hook_callback(*args: Any) -> Any:
    """Build the keras Callback that forwards progress to the plain hooks."""
    from digitpad.ml.backend import load_keras

    keras = load_keras()

    class DigitpadHooks(_HookMixin, keras.callbacks.Callback):
        pass

    return DigitpadHooks(*args)


class _HookMixin:
    def __init__(self, epochs: int, steps: int, n: int, on_batch: BatchHook | None,
                 on_epoch: EpochHook | None, should_stop: StopRequest, result: TrainResult,
                 aborted: StopRequest) -> None:
        super().__init__()
        self.aborted = aborted
        self.epochs, self.steps, self.n = epochs, steps, n
        self.on_batch, self.on_epoch, self.should_stop = on_batch, on_epoch, should_stop
        self.result = result
        self._epoch = 0
        self._step = 0
        self._seen = 0
        self._t0 = self._t_last = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.should_stop():
            self.model.stop_training = True
            self.result.stopped = True
            self.result.stop_point = StopPoint(1, 0, self.steps)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1
        self._step = 0
        self._seen = 0
        self._t0 = self._t_last = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        step = self._step = batch + 1
        self._seen = min(step * self.result.config.batch_size, self.n)
        self._t_last = time.perf_counter()
        if self.on_batch is not None:
            self.on_batch(BatchEnd(self._epoch, self.epochs, step, self.steps,
                                   float(logs.get("loss", float("nan"))),
                                   float(logs.get("accuracy", float("nan")))))
        if self.should_stop():
            if self.aborted():
                raise TrainingAborted("training aborted")  # leaves fit at once: no validation pass
            self.model.stop_training = True
            self.result.stopped = True
            self.result.stop_point = StopPoint(self._epoch, step, self.steps)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._step < self.steps:  # Keras ends a stopped epoch early: not a full epoch
            return
        logs = logs or {}
        seconds = time.perf_counter() - self._t0
        val_loss, val_acc = logs.get("val_loss"), logs.get("val_accuracy")
        end = EpochEnd(
            epoch + 1, self.epochs,
            float(logs.get("loss", float("nan"))), float(logs.get("accuracy", float("nan"))),
            None if val_loss is None else float(val_loss),
            None if val_acc is None else float(val_acc),
            seconds, self._seen / busy if (busy := self._t_last - self._t0) > 0 else 0.0,
        )
        self.result.history.append(end)
        if self.on_epoch is not None:
            self.on_epoch(end)
