"""CamVid videos whose COLMAP model registers fewer images than a clip has frames: their clips taken frame by frame
repeated frames (a 4D clip whose objects stop, then jump), in silence. :class:`genxd.data.datasets.CamVidDataset`
skips the unpacked ones when built (:func:`few_registered`), from each model's ``images.bin`` header alone (8
bytes); the others (archived, text models) are refused naming their model when a clip of them is read."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Mapping

__all__ = ["registered_image_count", "few_registered"]


def registered_image_count(model_dir: Path) -> int | None:
    """The number of registered images ``model_dir/images.bin`` states (its first 8 bytes, little-endian); None
    without a binary model or where the header cannot be read (the model is read, and refused, with its clips)."""
    try:
        with open(model_dir / "images.bin", "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return int(struct.unpack("<Q", head)[0]) if len(head) == 8 else None


def few_registered(model_dirs: Mapping[int, Path], num_frames: int) -> dict[int, int]:
    """``{scene: count}`` of the ``model_dirs`` (``{scene: its COLMAP model folder}``, in that order) whose
    ``images.bin`` states fewer than ``num_frames`` registered images (:func:`registered_image_count`; a model
    without a readable header is not among them)."""
    counts = {s: registered_image_count(model_dir) for s, model_dir in model_dirs.items()}
    return {s: k for s, k in counts.items() if k is not None and k < num_frames}
