"""What a generated scene folder holds and how it is written (folder names: :mod:`genxd.output_folders`).

A scene folder (written atomically by :func:`write_scene`, see :mod:`genxd.utils.io`):

- ``video.mp4``: the generated frames; ``compare.mp4``: input (or ground truth) | generated;
- ``frames/000.png ...``: every frame;
- ``cameras.json``: the authors' format (pixel ``fx, fy, cx, cy``, ``height``, ``width``,
  ``cameras``: world-to-camera 3x4 per frame); ``cameras_rel.json``: world-to-camera 3x4 relative
  to the first context view (the authors' ``_rel.json``); ``transforms.json``: nerfstudio;
- ``meta.json``: the settings used (with ``input`` and ``output``); ``target_indices.json`` for few-shot
  scenes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from . import validation as v
from .cameras import formats, relative_poses
from .utils.images import save_png, tensor_to_uint8
from .summary_file import check_summary_file
from .utils.io import atomic_dir, check_writable_dir
from .utils.json_files import write_json_atomic
from .utils.paths import path_argument
from .utils.shards import summary_name
from .validation import check
from .utils.video import Mp4Stream


def write_scene(folder: Path, frames: Tensor | Iterable[Tensor], c2w: Tensor, K: Tensor, context_index: Sequence[int],
                left: Tensor, meta: dict, fps: float, target_indices: Sequence[int] | None = None,
                times: Tensor | None = None, extra_files: dict[str, bytes] | None = None, replace: bool = False) -> Path:
    """Write one scene's outputs into ``folder`` (created atomically; an existing one is replaced only with
    ``replace``, else kept and a ``FileExistsError`` raised: another run wrote it meanwhile).

    ``frames [F,3,H,W]`` in [0, 1], or runs of them in order (``[n,3,H,W]`` each, e.g.
    :func:`genxd.pipelines.long_paths.decoded_frames`): written as they come (the PNGs, both videos streamed:
    :class:`~genxd.utils.video.Mp4Stream`), so only one run is held at a time; ``left [F,3,H,W]`` (float in [0, 1]
    or ``uint8``, e.g. the input held in 8 bits expanded) is shown beside them in ``compare.mp4``; ``times [F]``
    (optional): frame times written into ``cameras.json`` / ``transforms.json``; ``extra_files``: more files
    (name -> bytes), e.g. ``camera_path.png``.
    """
    if torch.is_tensor(frames):  # 8-bit a few at a time: the float frames' uint8 copy and the comparison's took
        runs: Iterable[Tensor] = frames.split(_RUN)  # about 3 times the frames' own memory
    else:
        runs = frames
    # a generator of runs (a decoding stream) is closed here when writing stops early, not left to the collector
    with _closing(runs), atomic_dir(folder, replace=replace) as tmp:
        (tmp / "frames").mkdir()
        names: list[str] = []
        size = None
        # video.mp4 last in: finished (and checked) first, as when it was written first
        with Mp4Stream(tmp / "compare.mp4", fps, shown_as=folder / "compare.mp4") as compare, \
                Mp4Stream(tmp / "video.mp4", fps, shown_as=folder / "video.mp4") as video:
            for run in runs:
                pixels = tensor_to_uint8(run)
                start = len(names)
                for fr in pixels:
                    names.append(f"frames/{len(names):03d}.png")
                    save_png(tmp / names[-1], fr)
                video.append(pixels)
                beside = left[start:start + len(pixels)]
                if len(beside) != len(pixels):
                    raise ValueError(f"{len(left)} frames to show beside the generated ones, fewer than "
                                     f"{start + len(pixels)}")
                shown = beside.movedim(-3, -1).numpy() if beside.dtype == torch.uint8 else tensor_to_uint8(beside)
                compare.append(np.concatenate([shown, pixels], axis=2))
                size = pixels.shape[1:3]
            if size is None or len(names) != len(left):
                raise ValueError(f"{len(names)} frames generated for {len(left)} to show beside them")
            h, w = size
        formats.save_camera_json(tmp / "cameras.json", c2w, K, h, w, times=times)
        rel = relative_poses(c2w.double(), c2w[context_index[0]].double())
        formats.save_w2c_list_json(tmp / "cameras_rel.json", rel)
        formats.save_transforms_json(tmp / "transforms.json", c2w, K, h, w, file_paths=names, times=times)
        if target_indices is not None:
            write_json_atomic(tmp / "target_indices.json", [int(i) for i in target_indices])
        write_json_atomic(tmp / "meta.json", {**meta, "context_index": [int(i) for i in context_index]})
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
    return folder


#: frames made 8-bit and written at a time when they are given whole
_RUN = 16


def _closing(runs: Iterable[Tensor]) -> contextlib.AbstractContextManager:
    """Closes ``runs`` on exit where it can be closed (a generator), else does nothing."""
    return contextlib.closing(runs) if callable(getattr(runs, "close", None)) else contextlib.nullcontext()


__all__ = ["write_scene", "check_job"]


def check_job(out_dir: str | Path, summary: str | Path | None, flags: dict[str, object],
              shard: tuple[int, int] | None = None) -> tuple[Path, Path | None]:
    """Checks shared by the jobs: on/off arguments are booleans, the output folder and summary are writable (``~``
    expanded, empty paths refused). Returns ``(out_dir, summary)`` as paths; with ``shard`` (checked) the summary
    is this task's, ``FILE.shard-K-of-N.json`` beside ``FILE`` (:func:`genxd.utils.shards.summary_name`)."""
    for name, value in flags.items():
        check(value, v.Flag(), name)
    if flags.get("overwrite") and flags.get("skip_existing"):
        raise v.InvalidValue(f"{v.arg('overwrite')} and {v.arg('skip_existing')} contradict each other: choose one")
    out_dir = path_argument(out_dir, "out_dir", "a folder path")
    check_writable_dir(out_dir, f"output folder ({v.arg('out_dir')})")
    if summary is not None:
        summary = path_argument(summary, "summary", "a file path")
        summary = summary.with_name(summary_name(shard, summary.name))  # every task of an array wrote one file
        check_summary_file(summary, bool(flags.get("overwrite")))
    return out_dir, summary
