"""The count of registered images a CamVid video's COLMAP model states in its ``images.bin`` header (8 bytes; no
model is read), for :class:`genxd.data.datasets.CamVidDataset` to check its unpacked videos when built: one that
registers fewer images than a clip has frames repeated frames in its clips taken frame by frame (a 4D clip whose
objects stop, then jump), in silence, and is skipped; one that registers more than its ``images/`` holds lost frame
files, which its clips jump over, and is named. The others (archived, text models) are refused naming their model
when a clip of them is read with too few poses."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Mapping

__all__ = ["registered_image_count", "registered_image_counts"]


def registered_image_count(model_dir: Path) -> int | None:
    """The number of registered images ``model_dir/images.bin`` states (its first 8 bytes, little-endian); None
    without a binary model or where the header cannot be read (the model is read, and refused, with its clips)."""
    try:
        with open(model_dir / "images.bin", "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return int(struct.unpack("<Q", head)[0]) if len(head) == 8 else None


def registered_image_counts(model_dirs: Mapping[int, Path]) -> dict[int, int]:
    """``{scene: count}`` of the ``model_dirs`` (``{scene: its COLMAP model folder}``, in that order) whose
    ``images.bin`` states its count of registered images (:func:`registered_image_count`; the others left out)."""
    counts = {s: registered_image_count(model_dir) for s, model_dir in model_dirs.items()}
    return {s: k for s, k in counts.items() if k is not None}
