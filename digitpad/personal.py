"""The user's own labelled drawings, kept on disk so that nothing saved is ever lost.

Each sample is three files named by its id: the normalised 28x28 PNG, the raw
canvas PNG, and a small JSON (label, date) written last as the commit marker.
Every file is written atomically and never rewritten, so a crash loses at most
the sample being written. Nothing here runs without a user's action.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from digitpad.errors import DataError
from digitpad.fileio import write_atomic
from digitpad.paths import user_data_dir

_ID = re.compile(r"^[0-9]{8}T[0-9]{12}-[0-9a-f]{8}$")


def samples_dir() -> Path:
    return user_data_dir() / "samples"


@dataclass(frozen=True)
class Sample:
    id: str
    label: int
    date: str
    folder: Path

    @property
    def image_path(self) -> Path:
        return self.folder / f"{self.id}.png"

    @property
    def canvas_path(self) -> Path:
        return self.folder / f"{self.id}-canvas.png"

    def image(self) -> np.ndarray:
        """The normalised image, uint8 (28, 28), white ink on black."""
        with Image.open(self.image_path) as img:
            return np.asarray(img.convert("L"), dtype=np.uint8)


def _discard(root: Path, sample_id: str) -> None:
    """Best-effort removal of the pictures of a sample whose save failed."""
    for suffix in (".png", "-canvas.png"):
        try:
            (root / f"{sample_id}{suffix}").unlink(missing_ok=True)
        except OSError:
            pass


def _png_bytes(image: Image.Image) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class SampleStore:
    """Append-only folder of personal samples (default: the user data folder)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else samples_dir()

    def add(self, image: np.ndarray, label: int, canvas: np.ndarray | Image.Image | None = None) -> Sample:
        """Save one labelled sample; ``image`` is the normalised 28x28 float [0, 1] or uint8."""
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
            raise DataError(f"a sample's label must be a digit 0-9, got {label!r}")
        pixels = np.asarray(image)
        if pixels.shape != (28, 28):
            raise DataError(f"a sample's image must be 28x28, got {pixels.shape}")
        if pixels.dtype != np.uint8:
            pixels = np.clip(np.nan_to_num(pixels.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        now = datetime.now(timezone.utc)
        sample_id = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)  # also after the folder was deleted
            write_atomic(self.root / f"{sample_id}.png", _png_bytes(Image.fromarray(pixels, "L")))
            if canvas is not None:
                raw = canvas if isinstance(canvas, Image.Image) else Image.fromarray(np.asarray(canvas))
                write_atomic(self.root / f"{sample_id}-canvas.png", _png_bytes(raw))
            meta = {"label": int(label), "date": now.isoformat(timespec="seconds")}
            write_atomic(self.root / f"{sample_id}.json", json.dumps(meta).encode())
        except OSError as exc:
            _discard(self.root, sample_id)  # the JSON was never committed: leave no orphaned pictures
            raise DataError(f"could not save the sample in {self.root}: {exc.strerror or exc}") from None
        return Sample(sample_id, int(label), meta["date"], self.root)

    def samples(self) -> list[Sample]:
        """Every complete sample, oldest first; half-written or foreign files are skipped."""
        if not self.root.is_dir():
            return []
        found = []
        for meta_path in sorted(self.root.glob("*.json")):
            sample_id = meta_path.stem
            if not _ID.match(sample_id) or not (self.root / f"{sample_id}.png").is_file():
                continue
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                label = int(meta["label"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if 0 <= label <= 9:
                found.append(Sample(sample_id, label, str(meta.get("date", "")), self.root))
        return found

    def counts(self) -> dict[int, int]:
        counts = dict.fromkeys(range(10), 0)
        for sample in self.samples():
            counts[sample.label] += 1
        return counts

    def delete(self, sample_id: str) -> None:
        """Remove one sample (its JSON first, so it is never seen half-deleted)."""
        if not _ID.match(sample_id):
            raise DataError(f"not a sample id: {sample_id!r}")
        for suffix in (".json", ".png", "-canvas.png"):
            (self.root / f"{sample_id}{suffix}").unlink(missing_ok=True)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """All samples as MNIST-style uint8 arrays ``(N, 28, 28)``, labels ``(N,)`` and ids."""
        images, labels, ids = [], [], []
        for sample in self.samples():
            try:
                images.append(sample.image())
            except OSError:
                continue  # an unreadable image is skipped, not fatal
            labels.append(sample.label)
            ids.append(sample.id)
        if not images:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), []
        return np.stack(images), np.asarray(labels, np.uint8), ids

    def export_npz(self, path: Path) -> int:
        """Write every sample as ``x_train``/``y_train`` (uint8, MNIST's format); returns the count."""
        from io import BytesIO

        x, y, _ = self.arrays()
        buffer = BytesIO()
        np.savez_compressed(buffer, x_train=x, y_train=y)
        try:
            write_atomic(Path(path), buffer.getvalue())
        except OSError as exc:
            raise DataError(f"could not write {path}: {exc.strerror or exc}") from None
        return len(y)


def held_out(ids: list[str], fraction: float = 0.2) -> np.ndarray:
    """A stable boolean mask choosing about ``fraction`` of samples for testing, by id."""
    import zlib

    return np.array([zlib.crc32(i.encode()) % 1000 < fraction * 1000 for i in ids], dtype=bool)
