"""Camera paths from any video: ``genxd trajectory from-video`` and ``genxd generate --camera-from-video``.

Two steps (``docs/camera_paths_from_video.md``, "Camera paths from a video"):

1. :func:`recover_clip_cameras` (:mod:`genxd.cameras.clip_cameras`): the clip's cameras, in its own frame and
   units. From a video file or
   a folder of frames: frames (``genxd.curation.read_frames``) -> masks of possibly moving objects
   (``EpipolarFlowMasker``) -> a camera that only turns (or stands still) is recognised from the tracked
   points (:func:`rotation_only_cameras`) and given as rotations only; otherwise pycolmap SfM outside the
   masks (``genxd.curation.run_sfm``). From a folder or file that already holds
   cameras (COLMAP model, ``genxd curate`` sample, ``transforms.json``, any
   :func:`genxd.cameras.read_camera_path` format): those cameras.
2. :func:`make_video_path`: relative to the first camera (the input view), scale normalised (the
   median depth of the scene seen from the first camera becomes ``path_scale``; the project's
   training convention, ``genxd.data.datasets.camera_scale``), smoothed if asked, resampled to the
   frames asked for (``genxd.cameras.resample``), with the model's or the clip's intrinsics and the
   clip's frame times.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from ..caller_style import text_setting
from ..checkpoint_folders import BUNDLED_MODEL_DIR
from .camera_path import CameraPath, intrinsics_for_aspect
from .geometry import intrinsics_from_focal
from .clip_cameras import (  # noqa: F401 - step 1, re-exported: genxd.cameras.from_video is the public module
    ASSUMED_FOCAL,
    PLAUSIBLE_FOCAL,
    SFM_MIN_SIZE,
    ClipAdvice,
    ClipCameras,
    FromVideoError,
    clip_advice,
    recover_clip_cameras,
)
from .rotation_only import rotation_only_cameras  # noqa: F401 - re-exported
from .resample import SPACINGS, angular_length, path_length, relative_to_first, resample_path, smooth_path

__all__ = [
    "FromVideoError",
    "ClipAdvice",
    "ClipCameras",
    "VideoPath",
    "INTRINSICS",
    "NORMALIZATIONS",
    "SPACINGS",
    "default_spacing",
    "clip_advice",
    "generate_clip_advice",
    "recover_clip_cameras",
    "make_video_path",
    "check_path_settings",
    "path_from_video",
    "write_video_path",
    "video_path_report",
    "rotation_only_cameras",
    "path_summary",
]

INTRINSICS = ("model", "clip")
NORMALIZATIONS = ("scene", "path", "none")
@dataclass
class VideoPath:
    """A generation path made from a clip: ``path`` (what generate uses) and how it was made."""

    path: CameraPath
    clip: ClipCameras
    clip_relative: Tensor  # [M, 4, 4] the clip's cameras relative to its first one, after scaling
    scale: float
    report: dict[str, Any]


# ----------------------------------------------------------------------------------------------
# Step 2: the generation path
# ----------------------------------------------------------------------------------------------


def check_path_settings(num_frames: int | None = None, *, intrinsics: str = "model", spacing: str | None = "arc",
                        smoothing: float = 0.0, path_scale: float = 1.0, normalization: str = "scene") -> None:
    """ValueError naming the setting when one of :func:`make_video_path`'s settings is out of range (a TypeError too,
    :class:`genxd.validation.InvalidType`, for a path_scale / smoothing that is no number)."""
    from .. import validation as v

    if intrinsics not in INTRINSICS:
        raise ValueError(f"intrinsics must be one of {INTRINSICS}, got {intrinsics!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if spacing is not None and spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    v.check(path_scale, v.PATH_SCALE, "path_scale")  # the command line's own checks: --path-scale / path_scale
    v.check(smoothing, v.PATH_SMOOTHING, "smoothing")
    if num_frames is not None and (isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer))
                                   or not 1 <= num_frames <= 10000):
        raise ValueError(f"num_frames must be an integer in 1 ... 10000, got {num_frames!r}")


def default_spacing(mode: str) -> str:
    """The path spacing a generation mode takes by default: ``"arc"`` for a static scene (``3d`` / ``mv``), the
    clip's timing (``"time"``) for ``video`` / ``4d``, where the objects move with the clip."""
    return "arc" if mode.lower() in ("3d", "mv") else "time"


def make_video_path(
    cams: ClipCameras,
    num_frames: int,
    *,
    intrinsics: str = "model",
    model_focal: float | None = None,
    spacing: str = "arc",
    smoothing: float = 0.0,
    path_scale: float = 1.0,
    normalization: str = "scene",
    size: tuple[int, int] | None = None,
) -> VideoPath:
    """The generation path of a clip (see the module docstring).

    Args:
        num_frames: cameras in the path; intrinsics: ``"model"`` (``fx/W = fy/H = model_focal``, centred)
            or ``"clip"`` (the clip's, centre-cropped to the aspect of ``size``).
        spacing: ``"arc"`` (even steps along the path) or ``"time"`` (the clip's timing, for 4D).
        smoothing: Gaussian sigma in clip frames (0: off).
        path_scale / normalization: ``"scene"``: the median scene depth seen from the first camera
            becomes ``path_scale`` (falls back to ``"path"`` when the depth is unknown); ``"path"``: the
            largest distance of a camera from the first becomes ``path_scale``; ``"none"``: the clip's
            units times ``path_scale``.
        size: ``(height, width)`` of the path (default: the clip's frame size).
    """
    check_path_settings(num_frames, intrinsics=intrinsics, spacing=spacing, smoothing=smoothing, path_scale=path_scale,
                        normalization=normalization)
    rel = relative_to_first(smooth_path(cams.c2w.double(), smoothing))
    rel = relative_to_first(rel)  # smoothing moved the first camera: it is the identity again
    extent = float((rel[:, :3, 3]).norm(dim=-1).max())
    used = normalization
    if normalization == "scene" and cams.scene_depth is not None and cams.scene_depth > 0:
        scale = path_scale / cams.scene_depth
    elif normalization in ("scene", "path"):
        used = "path"
        scale = path_scale / extent if extent > 1e-12 else 1.0
        if extent <= 1e-12:
            used = "none (the camera does not move)"
    else:
        scale = path_scale
    rel = rel.clone()
    rel[:, :3, 3] *= scale
    c2w, K, times = resample_path(rel, cams.K.double(), cams.times.double(), int(num_frames), spacing)
    out_h, out_w = size if size is not None else (cams.height, cams.width)
    if intrinsics == "clip" and cams.report.get("fisheye"):
        raise ValueError(f"{cams.report['fisheye']}: its focal length is no perspective camera's, so the path cannot "
                         f"take the clip's intrinsics ({text_setting('intrinsics', 'model')} follows its poses with "
                         "the model's)")
    if intrinsics == "model":
        focal = 1.414 if model_focal is None else float(model_focal)
        K = intrinsics_from_focal(focal).double().expand(len(c2w), 3, 3).clone()
    else:
        K = intrinsics_for_aspect(K, cams.height, cams.width, out_h, out_w, "crop")
    report = {
        "method": cams.method, "num_frames": int(num_frames), "spacing": spacing, "smoothing": smoothing,
        "normalization": used, "normalization_asked": normalization, "path_scale": path_scale, "scale": scale, "scene_depth": cams.scene_depth,
        "scene_depth_source": cams.report.get("scene_depth_source") if used == "scene" else None,
        "intrinsics": intrinsics, "path_length": path_length(c2w), "turn_deg": angular_length(c2w),
        "clip_frames_used": len(cams.frame_indices), "clip_frames": cams.num_clip_frames,
        "clip_frame_count": cams.report.get("clip_frame_count"),
    }
    path = CameraPath(c2w.float(), K.float(), out_h, out_w, times=times,
                      source_format=f"from video ({cams.method})")
    return VideoPath(path, cams, rel, scale, report)


def path_from_video(clip: str | Path, num_frames: int, **kwargs: Any) -> VideoPath:
    """:func:`recover_clip_cameras` then :func:`make_video_path` (keywords go to the one that takes them)."""
    recover, make = _split_settings("path_from_video", num_frames, kwargs)
    return make_video_path(recover_clip_cameras(clip, **recover), num_frames, **make)


def _split_settings(caller: str, num_frames: int, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``kwargs`` as :func:`recover_clip_cameras`' and :func:`make_video_path`'s, the latter's checked (before the
    minute of SfM); TypeError naming ``caller`` for one that neither takes."""
    import inspect

    recover_keys = set(inspect.signature(recover_clip_cameras).parameters) - {"clip"}
    make_keys = set(inspect.signature(make_video_path).parameters) - {"cams", "num_frames"}
    unknown = set(kwargs) - recover_keys - make_keys
    if unknown:
        raise TypeError(f"{caller}: unknown arguments {sorted(unknown)}")
    check_path_settings(num_frames, **{k: v for k, v in kwargs.items()
                                       if k in ("intrinsics", "spacing", "smoothing", "path_scale", "normalization")})
    return ({k: v for k, v in kwargs.items() if k in recover_keys}, {k: v for k, v in kwargs.items() if k in make_keys})


# ----------------------------------------------------------------------------------------------
# Files: genxd trajectory from-video
# ----------------------------------------------------------------------------------------------


def default_model_focal() -> float:
    """The bundled model's focal length (``generation_config.json``), else the authors' 1.414."""
    import json

    config = BUNDLED_MODEL_DIR / "generation_config.json"
    try:
        return float(json.loads(config.read_bytes())["focal"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1.414


def output_files(out: str | Path) -> tuple[Path, Path, Path]:
    """``(authors' JSON, transforms.json, picture)`` written for ``-o OUT.json``: ``OUT.json``,
    ``OUT_transforms.json`` and ``OUT.png``."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise ValueError(f"{out}: the output must be a .json file (the authors' camera JSON)")
    stem = out.with_suffix("")
    return out, stem.with_name(f"{stem.name}_transforms.json"), stem.with_name(f"{stem.name}.png")


def path_summary(report: dict[str, Any]) -> str:
    """One line on what a clip's path is made of: cameras, the clip's frames used of those read (and the clip's
    length, where stated), method, scale (and why, when the scene's depth was asked for and is not known), length
    and turn."""
    why = ""
    if report["normalization"] == "path" and report.get("normalization_asked") == "scene":  # a file without points
        why = (f" (no scene depth known for these cameras: scaled so that the farthest is {report['path_scale']:g} "
               "from the first)")
    elif report["normalization"] == "scene" and report.get("scene_depth_source"):  # a camera file's depth, not SfM's
        why = f" (scene depth {report['scene_depth']:.3g}: {report['scene_depth_source']})"
    part = f" in {report['clip_range']['range']}" if report.get("clip_range") else ""
    length = report.get("clip_frame_count")  # the clip's own length, not the frames read (None: not stated)
    part += f" of the clip's {length}" if length is not None else ""
    return (f"{report['num_frames']} cameras from {report['clip_frames_used']} of {report['clip_frames']} frames read"
            f"{part} ({report['method']}); scale {report['normalization']} x {report['scale']:.4g}{why}; "
            f"path length {report['path_length']:.3g}, turn {report['turn_deg']:.1f} deg")


def path_picture_title(report: dict[str, Any], name: str) -> str:
    return (f"{name}: {report['num_frames']} cameras ({report['method']}, {report['spacing']} spacing), "
            f"length {report['path_length']:.3g}, turn {report['turn_deg']:.0f} deg")


def generate_clip_advice(clip: str | Path) -> ClipAdvice:
    """:func:`recover_clip_cameras`' advice for ``genxd generate --camera-from-video`` /
    ``genxd.generate(camera_from_video=...)``, which take neither the clip's focal length nor how many of its frames
    SfM reads: the way to give them is to write the path first (``trajectory from-video --clip-focal F`` /
    ``--max-frames N``) and generate along that file; worded for the caller (:mod:`genxd.caller_style`)."""
    from ..caller_style import is_cli, setting

    name = Path(clip).name

    def write_first(name_: str) -> str:  # max_frames or clip_focal, given to trajectory from-video
        given = setting(name_, "N" if name_ == "max_frames" else "F")
        if is_cli():
            return f"genxd trajectory from-video {name} -o path.json {given}, then --camera path.json"
        return (f"genxd.cameras.from_video.write_video_path({name!r}, 'path.json', NUM_FRAMES, {given}), "
                "then camera='path.json'")

    return clip_advice("clip_focal", write_first)


def video_path_report(cams: ClipCameras, num_frames: int, clip_name: str,
                      **settings: Any) -> tuple[VideoPath, dict[str, Any], str]:
    """:func:`make_video_path` (``settings``) with what ``genxd trajectory from-video`` and ``genxd generate
    --camera-from-video`` record of it: the report of the clip's cameras and of the path (:func:`path_summary`
    words it) and the title of its picture (``clip_name``: the clip's file name)."""
    vp = make_video_path(cams, num_frames, **settings)
    report = {**cams.report, **vp.report}
    return vp, report, path_picture_title(report, clip_name)


def _check_not_among_frames(clip: Any, picture: Path) -> None:
    """ValueError when the path's picture (``OUT.png``) would be written into the folder of frames ``clip`` is read
    from: it was, and the next read of the folder took it for a frame (``frames have different sizes``, or, at the
    frames' size, a frame that is no part of the clip)."""
    from .clip_cameras import _has_images

    if not isinstance(clip, (str, PathLike)) or not str(clip):
        return
    folder = Path(clip)
    try:
        among = folder.is_dir() and _has_images(folder) and picture.parent.resolve() == folder.resolve()
    except OSError:  # a folder that cannot be listed: the read says why
        return
    if among:
        raise ValueError(f"output file {picture} would be written among the frames of {clip} and read as one of them "
                         "next time; give an output outside the frame folder")


def _check_no_folder(files: tuple[Path, Path, Path]) -> None:
    """IsADirectoryError when one of the path's files (:func:`output_files`) is an existing folder, which no
    ``overwrite`` replaces (it said 'already exists (use --overwrite to replace it)', then 'is a folder')."""
    for f, what in zip(files, ("", "the path's transforms.json", "the path's picture")):
        if f.is_dir():
            beside = f" ({what}, written beside {files[0].name})" if what else ""
            example = "" if what else f" (e.g. {f / 'path.json'})"
            raise IsADirectoryError(f"{f} is a folder{beside}; the path is written as files: give another output "
                                    f"name{example}")


def write_video_path(
    clip: str | Path,
    out: str | Path,
    num_frames: int,
    *,
    clip_focal: float | None = None,
    model_focal: float | None = None,
    size: int | None = None,
    overwrite: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """``genxd trajectory from-video``: the path of ``clip`` written as the authors' camera JSON (``out``),
    a ``transforms.json`` and a picture beside it (:func:`output_files`).

    ``clip_focal``: the clip's focal length if known; ``model_focal``: the path's focal length with
    ``intrinsics="model"`` (default: :func:`default_model_focal`); ``size``: side of the square output
    (default: the clip's shorter side); other keywords go to :func:`recover_clip_cameras` /
    :func:`make_video_path`. Returns ``{"files": [...], "report": {...}, "path": VideoPath}``.
    """
    from .formats import save_camera_json, save_transforms_json
    from .plot import save_camera_path_png
    from .video_path_mark import mark_path_file
    from ..utils.file_groups import atomic_group
    from ..utils.io import check_writable_dir

    from ..output_folders import check_inputs_kept
    from .clip_cameras import clip_camera_files

    files = output_files(out)
    source = kwargs.get("source", "auto")  # a bad clip or source is refused below
    read = clip_camera_files(Path(clip), source) if isinstance(clip, (str, PathLike)) and str(clip) else []
    for f in files:  # the path's files replace what is there: never the clip or a camera file it may be made from
        check_inputs_kept(f, read, "output file")
    _check_not_among_frames(clip, files[2])
    _check_no_folder(files)
    check_writable_dir(files[0].parent, f"output file {files[0]}: its folder")  # before the minute of SfM
    existing = [f for f in files if f.exists()]
    if existing and not overwrite:
        from ..validation import overwrite_hint

        raise FileExistsError(f"{existing[0]} already exists ({overwrite_hint()})")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if "focal" in kwargs:  # recover_clip_cameras' name for it: Python's "got multiple values for ... 'focal'"
        raise TypeError("write_video_path: the clip's focal length is clip_focal, not focal")
    recover, make = _split_settings("write_video_path", num_frames, kwargs)
    recover.setdefault("advice", clip_advice("clip_focal"))  # its focal argument is clip_focal (--clip-focal)
    cams = recover_clip_cameras(clip, focal=clip_focal, **recover)
    side = size or min(cams.height, cams.width)
    vp, report, title = video_path_report(
        cams, num_frames, Path(clip).name, model_focal=default_model_focal() if model_focal is None else model_focal,
        size=(side, side), **make)
    p = vp.path
    names = [f"frames/{i:03d}.png" for i in range(len(p))]
    # the three files are one output: replaced together or not at all (a stop between two renames left the new
    # OUT.json beside the old OUT_transforms.json)
    with atomic_group(files, replace=overwrite) as tmp:
        save_camera_json(tmp[0], p.c2w, p.K, side, side, overwrite=True, times=p.times)
        save_transforms_json(tmp[1], p.c2w, p.K, side, side, overwrite=True, file_paths=names, times=p.times)
        for made in tmp[:2]:  # not the clip's own cameras, though beside it under their names (-o walk.json)
            mark_path_file(made, Path(clip).name)
        save_camera_path_png(tmp[2], p.c2w, p.K, title, replace=True)
    return {"files": [str(f) for f in files], "report": report, "path": vp}
