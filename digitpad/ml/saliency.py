"""Why the network answered: Integrated Gradients, occlusion sensitivity and "why a and not b".

Saliency is Integrated Gradients (Sundararajan et al. 2017) from the blank
image: pixel i gets ``x_i * mean over the path of d logit / d x_i``. It was
chosen over SmoothGrad because (1) its completeness axiom (the map sums to
logit(x) - logit(blank)) makes every map checkable, and the tests check it;
(2) a black MNIST background is a true "no ink" baseline, so a pixel without
ink gets exactly 0 and the map is in the drawing's own terms; (3) it is linear
in the output, so the contrastive map for ``logit_a - logit_b`` is exactly
IG(a) - IG(b) on one shared scale, from the same backward pass. SmoothGrad
costs the same number of passes per sample and has none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from digitpad.ml.fastpath import NumpyCNN
from digitpad.ml.gradients import forward, input_gradients, softmax

STEPS = 32  # path points for Integrated Gradients (midpoint rule)
PATCH = 4  # occlusion patch side, px
STRIDE = 2  # occlusion stride, px
CHUNK = 64  # images per forward pass when occluding


@dataclass(frozen=True)
class Contrast:
    """Why ``classes[0]`` and not ``classes[1]``: IG of ``logit_a - logit_b``."""

    classes: tuple[int, int]
    map: np.ndarray  # (28, 28) float32: > 0 pushes towards a, < 0 towards b
    maps: np.ndarray  # (2, 28, 28) float32: IG of logit_a and of logit_b; map == maps[0] - maps[1]
    limit: float  # one symmetric colour scale [-limit, limit] for all three maps


def integrated_gradients(net: NumpyCNN, image: np.ndarray, targets: Sequence[int | np.ndarray],
                         steps: int = STEPS) -> np.ndarray:
    """IG from the blank image for each output direction in ``targets``: ``(s, 28, 28)``.

    A target is a class index or a length-10 weight vector over the logits
    (``e_a - e_b`` gives the contrast). The maps sum to
    ``target . (logits(image) - logits(blank))`` up to the midpoint rule's error.
    """
    x = np.asarray(image, np.float32).reshape(28, 28)
    seeds = np.stack([_seed(t) for t in targets])
    alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
    trace = forward(net, alphas[:, None, None] * x)
    grads = input_gradients(net, trace, np.broadcast_to(seeds, (steps, *seeds.shape)))
    return (x * grads.mean(axis=0)).astype(np.float32)


def saliency(net: NumpyCNN, image: np.ndarray, target: int | None = None, steps: int = STEPS) -> np.ndarray:
    """Integrated Gradients of ``logit_target`` (default: the predicted class), ``(28, 28)``."""
    if target is None:
        target = int(np.argmax(net.logits(image)[0]))
    return integrated_gradients(net, image, [target], steps)[0]


def contrast(net: NumpyCNN, image: np.ndarray, classes: tuple[int, int] | None = None,
             steps: int = STEPS) -> Contrast:
    """Why ``a`` and not ``b`` (default: the top two classes), on one symmetric scale."""
    if classes is None:
        classes = top_two(net.logits(image)[0])
    maps = integrated_gradients(net, image, list(classes), steps)
    return make_contrast(classes, maps)


def occlusion(net: NumpyCNN, image: np.ndarray, target: int | None = None, patch: int = PATCH,
              stride: int = STRIDE) -> np.ndarray:
    """Drop in ``target``'s probability when a ``patch`` x ``patch`` square is blanked, ``(28, 28)``.

    The square slides with ``stride``; each pixel gets the mean drop of the
    squares that cover it (negative: hiding it makes the class more likely).
    Squares over no ink change nothing, so they are not run (their drop is 0).
    """
    x = np.asarray(image, np.float32).reshape(28, 28)
    base = softmax(net.logits(x)[0])
    if target is None:
        target = int(np.argmax(base))
    corners = [(r, c) for r in _starts(patch, stride) for c in _starts(patch, stride)]
    inked = [(r, c) for r, c in corners if x[r:r + patch, c:c + patch].any()]
    drops = dict.fromkeys(corners, 0.0)
    for start in range(0, len(inked), CHUNK):
        part = inked[start:start + CHUNK]
        batch = np.repeat(x[None], len(part), axis=0)
        for k, (r, c) in enumerate(part):
            batch[k, r:r + patch, c:c + patch] = 0.0
        probs = softmax(net.logits(batch))[:, target]
        drops.update({corner: float(base[target] - p) for corner, p in zip(part, probs)})
    return _spread(drops, patch)


def top_two(logits: np.ndarray) -> tuple[int, int]:
    order = np.argsort(-np.asarray(logits), kind="stable")
    return int(order[0]), int(order[1])


def symmetric_limit(*maps: np.ndarray) -> float:
    """The largest absolute value over ``maps`` (a colour scale [-limit, limit]); 1.0 if all zero."""
    limit = max(float(np.abs(m).max()) for m in maps)
    return limit if limit > 0 else 1.0


def make_contrast(classes: tuple[int, int], maps: np.ndarray) -> Contrast:
    """The contrast from the IG maps of ``classes[0]`` and ``classes[1]`` (IG is linear in the output)."""
    diff = (maps[0] - maps[1]).astype(np.float32)
    return Contrast((int(classes[0]), int(classes[1])), diff, maps, symmetric_limit(diff, maps))


def _seed(target: int | np.ndarray) -> np.ndarray:
    if np.ndim(target) == 0:
        seed = np.zeros(10, np.float32)
        seed[int(target)] = 1.0
        return seed
    seed = np.asarray(target, np.float32)
    if seed.shape != (10,):
        raise ValueError(f"a target is a class or 10 logit weights, not shape {seed.shape}")
    return seed


def _starts(patch: int, stride: int) -> list[int]:
    starts = list(range(0, 28 - patch + 1, stride))
    return starts if starts[-1] == 28 - patch else starts + [28 - patch]


def _spread(drops: dict[tuple[int, int], float], patch: int) -> np.ndarray:
    total = np.zeros((28, 28), np.float64)
    count = np.zeros((28, 28), np.float64)
    for (r, c), drop in drops.items():
        total[r:r + patch, c:c + patch] += drop
        count[r:r + patch, c:c + patch] += 1
    return (total / count).astype(np.float32)
