"""QImage <-> numpy helpers and image extraction from drops, the clipboard and files.

The canvas shows black ink on white paper, so every image that lands on it goes
through :func:`to_paper`, which also turns MNIST-style white-on-black images
around. Nothing here imports TensorFlow; ``digitpad.imaging`` (Pillow) is only
imported when a file is actually read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
MAX_SIDE = 1024  # larger images are shrunk before they become an undo item


def qimage_to_gray(image: QImage) -> np.ndarray:
    """Return an ``(H, W)`` uint8 copy of ``image``; transparency is flattened onto white."""
    if image.isNull():
        raise ValueError("empty image")
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(QColor(Qt.GlobalColor.white))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    height, width, stride = gray.height(), gray.width(), gray.bytesPerLine()
    buffer = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, :width].copy()


def gray_to_qimage(array: np.ndarray) -> QImage:
    """Return a Grayscale8 QImage that owns a copy of the uint8 ``(H, W)`` array."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {data.shape}")
    height, width = data.shape
    return QImage(data.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


def _pil_to_gray(image: Any) -> np.ndarray:
    """Flatten a PIL image (any mode, alpha onto white) into a uint8 grey array."""
    if image.mode in ("I", "F") or image.mode.startswith("I;"):  # 16/32-bit integer or float grey
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max()) if values.size else 0.0
        scale = 255.0 / top if top > 255.0 else 1.0
        return np.clip(values * scale + 0.5, 0, 255).astype(np.uint8)
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3] / 255.0
    return np.clip(luminance * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)


def _array_to_gray(array: np.ndarray) -> np.ndarray:
    """Grey uint8 from a grey or RGB(A) uint8 array (alpha flattened onto white)."""
    a = np.asarray(array)
    if a.ndim == 2:
        return a.astype(np.uint8, copy=False)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if a.shape[2] == 4:
            alpha = a[..., 3].astype(np.float32) / 255.0
            rgb = rgb * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported image shape {a.shape}")


def _background_is_dark(gray: np.ndarray) -> bool:
    """True when the border (where the paper is) is darker than mid-grey."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) < 128


def to_paper(source: Any) -> np.ndarray:
    """Return ``source`` as black ink on white paper, uint8 ``(H, W)``.

    * float arrays are MNIST-style intensities in [0, 1] (white ink on black),
      so they are always inverted;
    * uint8 arrays, QImages and PIL images are read as grey and inverted only
      when their background (the border) is dark.
    """
    if isinstance(source, QPixmap):
        source = source.toImage()
    if isinstance(source, QImage):
        gray = qimage_to_gray(source)
    elif isinstance(source, np.ndarray) and np.issubdtype(source.dtype, np.floating):
        if source.ndim != 2:
            raise ValueError(f"expected a 2-D float image, got shape {source.shape}")
        return np.clip(255.0 * (1.0 - source) + 0.5, 0, 255).astype(np.uint8)
    elif isinstance(source, np.ndarray):
        gray = _array_to_gray(source)
    elif hasattr(source, "convert") and hasattr(source, "getbands"):
        gray = _pil_to_gray(source)
    else:
        raise TypeError(f"cannot show a {type(source).__name__} on the canvas")
    if gray.size == 0:
        raise ValueError("empty image")
    return 255 - gray if _background_is_dark(gray) else gray


def shrink(gray: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Shrink a big grey image (smoothly) so its longer side is at most ``max_side``."""
    height, width = gray.shape
    if max(height, width) <= max_side:
        return gray
    image = gray_to_qimage(gray).scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
    return qimage_to_gray(image)


def load_image_file(path: str | Path) -> np.ndarray:
    """Read an image file (via ``digitpad.imaging``) as black ink on white paper.

    Raises ``digitpad.errors.ImageError`` (or ``OSError``) with a one-line message.
    """
    from digitpad.imaging import load_image  # Pillow; imported only when a file is opened

    return to_paper(load_image(Path(path)))


def image_from_mime(mime: QMimeData | None) -> str | QImage | None:
    """Return the first local file path or the image carried by ``mime``, else None."""
    if mime is None:
        return None
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile():
                return url.toLocalFile()
    if mime.hasImage():
        data = mime.imageData()
        if isinstance(data, QPixmap):
            data = data.toImage()
        if isinstance(data, QImage) and not data.isNull():
            return data
    return None


def load_source(source: str | Path | QImage | np.ndarray | Any) -> np.ndarray:
    """Turn a path, QImage, array or PIL image into a paper-style grey array."""
    if isinstance(source, (str, Path)):
        return load_image_file(source)
    return to_paper(source)
