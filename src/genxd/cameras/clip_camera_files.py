"""Where a clip's cameras come from when they are not recovered by SfM: the clip's frames (a video file or frame
folder) and the camera file that may come with it (a video's ``NAME.json`` / ``NAME_transforms.json``, a folder's
``transforms.json``, a COLMAP model), and the cameras read from such a file (:func:`genxd.cameras.clip_cameras.
recover_clip_cameras`' file route)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .clip_cameras import ClipCameras


def _has_images(folder: Path) -> bool:
    from ..utils.frame_files import is_frame_image  # not the curation package's (cv2, PyAV) for a listing

    return any(is_frame_image(p) for p in folder.iterdir())  # hidden: macOS's ._NAME beside each file on exFAT


def _holds_cameras(path: Path, files: list[Path]) -> bool:
    """Whether ``path`` is (or holds) a camera file that :func:`read_camera_path` reads, given the files it reads for
    ``path`` (``files``: :func:`genxd.cameras.reader.camera_files`): a folder as the reader looks into it, but not
    for a ``meta.json`` alone (a folder of frames may hold one of another kind)."""
    from .reader import COLMAP_FILES

    if path.is_file():
        return path.suffix.lower() == ".json" or path.name in COLMAP_FILES
    return path.is_dir() and bool(files) and files[0].name != "meta.json"


def _sidecar_cameras(path: Path) -> Path | None:
    """The camera file that comes with a video file: ``NAME.json`` (``genxd synth --format video`` writes
    one) or ``NAME_transforms.json`` beside ``NAME.mp4``; None for anything else."""
    from ..curation.frames import VIDEO_EXTENSIONS

    if not (path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS):
        return None
    for candidate in (path.with_suffix(".json"), path.with_name(f"{path.stem}_transforms.json")):
        if candidate.is_file():
            return candidate
    return None


def _frames_source(path: Path) -> Path | None:
    """The video file or frame folder of ``path`` (a folder with ``images/`` counts), else None."""
    from ..curation.frames import VIDEO_EXTENSIONS

    if path.is_file():
        return path if path.suffix.lower() in VIDEO_EXTENSIONS else None
    if _has_images(path):
        return path
    if (path / "images").is_dir() and _has_images(path / "images"):
        return path / "images"
    videos = sorted(p for p in path.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."))
    return videos[0] if len(videos) == 1 else None


def _camera_file(path: Path, source: str, files: list[Path]) -> Path | None:
    """The camera file :func:`recover_clip_cameras` (``path``, ``source``) takes cameras from, or None (SfM): with
    ``source="file"`` a video's ``NAME.json`` / ``NAME_transforms.json`` when it has one, else ``path``; with
    ``"auto"`` ``path`` when it holds cameras, else a video's camera file (taken when it is the clip's own);
    ``files``: what the reader reads for ``path`` (:func:`genxd.cameras.reader.camera_files`)."""
    if source == "sfm":
        return None
    if source == "auto" and _holds_cameras(path, files):
        return path
    sidecar = _sidecar_cameras(path)
    return sidecar or path if source == "file" else sidecar


def clip_camera_files(clip: Path, source: str = "auto") -> list[Path]:
    """The files :func:`recover_clip_cameras` (``clip``, ``source``) may read: the clip and the camera files it may
    take cameras from (a video's ``NAME.json`` beside it, a folder's ``transforms.json`` ..., a COLMAP model's files:
    :func:`genxd.cameras.reader.camera_files`), known before anything is read; what an output written from them must
    not replace."""
    from .reader import camera_files

    if source == "sfm":
        return [clip]
    files = camera_files(clip)
    taken = _camera_file(clip, source, files)
    return [clip, *(() if taken is None else files if taken == clip else camera_files(taken))]


def _cameras_from_file(path: Path, files: list[Path]) -> ClipCameras:
    """The cameras of camera file (or folder) ``path``; ``files``: what the reader reads for it (the report's)."""
    from .clip_cameras import ClipCameras
    from .reader import COLMAP_FORMAT, CURATE_SAMPLE, read_camera_path

    cam = read_camera_path(path, dtype=torch.float64)
    n = len(cam)
    times = cam.times.double() if cam.times is not None and bool((cam.times != cam.times[0]).any()) else (
        torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64))
    if (back := torch.nonzero(times[1:] <= times[:-1])).numel():  # was resample_path's 'keyframe times must ...'
        i = int(back[0]) + 1
        raise ValueError(f"{path}: frame {i}'s time {float(times[i]):g} comes after frame {i - 1}'s "
                         f"{float(times[i - 1]):g}; a clip's cameras follow their times, which must increase from "
                         "frame to frame (or be one time for all: no timing)")
    depth = cam.scene_depth  # a COLMAP model's points seen from the first camera, or a synthetic clip's meta
    depth_source = None if depth is None else "COLMAP points" if cam.source_format in (COLMAP_FORMAT, CURATE_SAMPLE) \
        else "the synthetic clip's rendered depth ('scene_depth')"
    report = {"source": str(path), "camera_files": [str(f) for f in files],
              "format": cam.source_format, "clip_frames_read": n, "scene_depth_source": depth_source}
    if cam.fisheye is not None:  # its poses are followed; its K is no perspective camera's (intrinsics="clip")
        report["fisheye"] = cam.fisheye
    return ClipCameras(cam.c2w.double(), cam.K.double(), cam.height, cam.width, list(range(n)), n, times, depth,
                       f"file: {cam.source_format}", cam.intrinsics_known and cam.fisheye is None, report)
