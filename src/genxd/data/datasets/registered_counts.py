"""CamVid videos whose COLMAP model registers fewer images than a clip has frames: their clips taken frame by frame
repeated frames (a 4D clip whose objects stop, then jump), in silence. :func:`drop_few_registered` skips the unpacked
ones when :class:`genxd.data.datasets.CamVidDataset` is built, from each model's ``images.bin`` header alone (8
bytes); the others (archived, text models) are refused naming their model when a clip of them is read."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ...validation import warn

__all__ = ["registered_image_count", "drop_few_registered"]


def registered_image_count(model_dir: Path) -> int | None:
    """The number of registered images ``model_dir/images.bin`` states (its first 8 bytes, little-endian); None
    without a binary model or where the header cannot be read (the model is read, and refused, with its clips)."""
    try:
        with open(model_dir / "images.bin", "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return int(struct.unpack("<Q", head)[0]) if len(head) == 8 else None


def drop_few_registered(ds: Any) -> None:
    """Remove from ``ds`` (a CamVidDataset, its clips made and retimed) the clips of the unpacked videos taken frame
    by frame whose model registers fewer than ``ds.num_frames`` images, counted in ``ds.num_skipped_scenes`` and said
    in one warning naming the first (videos whose clips were picked in time by ``meta.json`` already lost those clips,
    named in their own note)."""
    with_clips = {s for s, _ in ds.clips} - set(ds._timed)
    counts = {s: registered_image_count(ds.videos[s].folder / "0") for s in sorted(with_clips)
              if ds.videos[s].folder is not None}
    few = {s: k for s, k in counts.items() if k is not None and k < ds.num_frames}
    if not few:
        return
    s, k = next(iter(few.items()))
    example = f"e.g. {ds.videos[s].folder / '0'}: {k} of {len(ds.videos[s].frames)}"
    keep = [i for i, (scene, _) in enumerate(ds.clips) if scene not in few]
    if not keep:
        raise ValueError(f"no CamVid video's COLMAP model registers a clip's {ds.num_frames} images ({example})")
    ds._clip_targets = {new: ds._clip_targets[old] for new, old in enumerate(keep) if old in ds._clip_targets}
    ds.clips = [ds.clips[i] for i in keep]
    ds.num_skipped_scenes += len(few)
    warn(f"{len(few)} of {len({scene for scene, _ in ds.clips}) + len(few)} videos are not trained: their COLMAP "
         f"model registers fewer images than a clip's {ds.num_frames} frames ({example}); curate them again or remove "
         f"them")
