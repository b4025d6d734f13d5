"""The Inside tab's background work: feature maps (and, on request, "why" maps) of the latest drawing.

Same mailbox as :mod:`digitpad.ui.prediction_service`: the worker holds at most
ONE pending job in a lock-protected slot, a newer drawing replaces an older
one, and every result carries the generation of its job so the tab can drop
stale ones. Everything here is NumPy (digitpad.ml.explain), run with BLAS on
one thread (digitpad.ml.blas); colours are turned into ``QImage`` s here too,
so the GUI thread only wraps them in pixmaps. The look-alike index comes with
the job, ready-made (digitpad.ui.lookalike_indexer reads or builds it on a
thread of its own), so this thread never waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from digitpad.errors import one_line
from digitpad.ui.mailbox import Mailbox


@dataclass(frozen=True)
class InsideJob:
    generation: int
    image: np.ndarray  # (28, 28) float32 model input
    explainer: Any  # digitpad.ml.explain.Explainer
    why: bool
    neighbours: Any = None  # digitpad.ui.lookalike_indexer.Neighbours when look-alikes are wanted and ready


@dataclass
class InsideResult:
    """What the tab shows for one drawing; ``pictures`` maps a name to a ready ``QImage``."""

    generation: int
    image: np.ndarray
    maps: dict[str, np.ndarray]
    pictures: dict[str, Any] = field(default_factory=dict)
    why: Any = None  # digitpad.ml.explain.Why
    lookalikes: Any = None  # digitpad.ml.lookalikes.Lookalikes, or None
    lookalike_pictures: list[Any] = field(default_factory=list)  # QImages of the look-alike training digits
    explainer: Any = None  # the Explainer these maps came from (hover arithmetic uses the same one)


def to_qimage(rgb: np.ndarray, scale: int = 1) -> QImage:
    """``(h, w, 3)`` uint8 colours to a QImage that owns its pixels, blown up ``scale`` times (nearest)."""
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    rgb = np.ascontiguousarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


SCALES = {"input": 4, "conv1": 2, "pool1": 2, "conv2": 2, "pool2": 2, "dense": 4, "why": 4, "filters": 6}
POOL_COLUMNS = 4  # pooled maps are tiled 4 to a row: the strip stays about 1,400 px wide


def tiled_size(side: int, count: int, columns: int, scale: int) -> tuple[int, int]:
    """(width, height) in px of ``count`` maps ``side`` px square tiled by :func:`digitpad.ml.explain.tile` (gap 1)."""
    rows = -(-count // columns)
    return (columns * (side + 1) - 1) * scale, (rows * (side + 1) - 1) * scale


def symmetric(values: np.ndarray) -> float:
    """The half-width of a colour scale symmetric around 0 that holds ``values``."""
    return float(np.nanmax(np.abs(values))) or 1.0


def compute(job: InsideJob, lookalike_index: Any = None, training_images: np.ndarray | None = None) -> InsideResult:
    """Maps, their pictures and (when asked) the "why" maps for one job; NumPy only.

    ``lookalike_index`` (a :class:`digitpad.ml.lookalikes.LookalikeIndex`) adds the nearest
    training digits, drawn from ``training_images`` (MNIST ``x_train``) when given.
    """
    from digitpad.explain_pictures import colorize
    from digitpad.ml.explain import dense_mosaic, tile

    s = SCALES
    maps = job.explainer.feature_maps(job.image)
    pictures: dict[str, Any] = {"input": to_qimage(colorize(maps["input"][:, :, 0], "gray", 0.0, 1.0), s["input"])}
    for name in ("conv1", "conv2"):
        stack = maps[name]
        rgb = colorize(stack.transpose(2, 0, 1).reshape(-1, stack.shape[1]), "viridis", 0.0,
                       float(stack.max()) or 1.0).reshape(stack.shape[2], stack.shape[0], stack.shape[1], 3)
        pictures[name] = [to_qimage(rgb[k], s[name]) for k in range(stack.shape[2])]
    for name in ("pool1", "pool2"):
        pictures[name] = to_qimage(colorize(tile(maps[name], POOL_COLUMNS), "viridis", 0.0, float(maps[name].max()) or 1.0),
                                   s[name])
    dense = dense_mosaic(maps["dense"])
    pictures["dense"] = to_qimage(colorize(dense, "viridis", 0.0, float(dense.max()) or 1.0), s["dense"])
    result = InsideResult(job.generation, job.image, maps, pictures, explainer=job.explainer)
    if job.why:
        why = job.explainer.why(job.image)
        result.why = why
        limit = why.contrast.limit
        a, b = why.contrast.classes
        pictures["why"] = {
            f"saliency {a}": to_qimage(colorize(why.contrast.maps[0], "diverging", -limit, limit), s["why"]),
            f"saliency {b}": to_qimage(colorize(why.contrast.maps[1], "diverging", -limit, limit), s["why"]),
            f"{a} not {b}": to_qimage(colorize(why.contrast.map, "diverging", -limit, limit), s["why"]),
        }
        occ = symmetric(why.occlusion)
        pictures["occlusion"] = to_qimage(colorize(why.occlusion, "diverging", -occ, occ), s["why"])
        if lookalike_index is not None:
            result.lookalikes = lookalike_index.nearest(maps["dense"])
            if training_images is not None:
                result.lookalike_pictures = [
                    to_qimage(colorize(np.asarray(training_images[int(r)], np.float32).reshape(28, 28), "gray",
                                       0.0, float(np.max(training_images[int(r)])) or 1.0), 2)
                    for r in result.lookalikes.rows]
    return result


class InsideWorker(QObject):
    """Runs :func:`compute` in the tab's thread on the newest job only; touches no widget."""

    done = Signal(object)  # InsideResult
    error = Signal(str, int)  # one-line message, generation

    def __init__(self) -> None:
        super().__init__()
        self.mailbox: Mailbox[InsideJob] = Mailbox()
        self.calls = 0

    @Slot()
    def drain(self) -> None:
        """Handle pending jobs until none is left."""
        from digitpad.ml.blas import one_blas_thread

        while (taken := self.mailbox.take()):
            job, _ = taken
            try:
                self.calls += 1
                near = job.neighbours if job.why else None
                index, images = (None, None) if near is None else (near.index, near.images)
                with one_blas_thread():
                    result = compute(job, index, images)
            except Exception as exc:  # noqa: BLE001 - a bad drawing or model must not kill the worker
                self.error.emit(one_line(exc), job.generation)
                continue
            self.done.emit(result)
