"""Camera paths from any video: ``genxd trajectory from-video`` and ``genxd generate --camera-from-video``.

Two steps (``docs/cameras.md``, "Camera paths from a video"):

1. :func:`recover_clip_cameras`: the clip's cameras, in its own frame and units. From a video file or
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

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .camera_path import CameraPath
from .geometry import intrinsics_from_focal
from .rotation_only import rotation_only_cameras
from .clip_sfm import reconstruct_clip
from .video_sfm import run_video_sfm
from .resample import SPACINGS, angular_length, path_length, relative_to_first, resample_path, smooth_path
from ..utils.stages import StageCallback

__all__ = [
    "FromVideoError",
    "ClipCameras",
    "VideoPath",
    "INTRINSICS",
    "NORMALIZATIONS",
    "SPACINGS",
    "default_spacing",
    "recover_clip_cameras",
    "make_video_path",
    "check_path_settings",
    "path_from_video",
    "write_video_path",
    "rotation_only_cameras",
]

INTRINSICS = ("model", "clip")
NORMALIZATIONS = ("scene", "path", "none")
#: Frames whose longer side is below this are upscaled (bicubic) for SfM: generated clips are 64 px.
SFM_MIN_SIZE = 256
#: An estimated focal length fx/W outside this range (19 to 102 degrees of horizontal view) is not
#: believed: SfM runs again with ASSUMED_FOCAL (53 degrees) and says so.
PLAUSIBLE_FOCAL = (0.4, 2.9)
ASSUMED_FOCAL = 1.0


class FromVideoError(ValueError):
    """No camera path can be had from the clip (too few frames, SfM failed and not a pure rotation ...)."""


@dataclass
class ClipCameras:
    """The cameras of a clip, in the clip's own world frame and units.

    Attributes:
        c2w ``[M, 4, 4]`` float64 / K ``[M, 3, 3]``: the frames that have a camera (``frame_indices``).
        height, width: the clip's frame size; num_clip_frames: frames read from the clip.
        times ``[M]``: frame times in [0, 1] over the clip.
        scene_depth: median z-depth of the scene's SfM points seen from the first camera (None: unknown).
        method: ``"sfm"``, ``"rotation-only"``, ``"static"`` or ``"file: <format>"``.
        intrinsics_known: False when ``K`` is a guess (a rotation-only clip without a known focal length).
        report: what was done (counts, reprojection error, timings, warnings).
    """

    c2w: Tensor
    K: Tensor
    height: int
    width: int
    frame_indices: list[int]
    num_clip_frames: int
    times: Tensor
    scene_depth: float | None
    method: str
    intrinsics_known: bool = True
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class VideoPath:
    """A generation path made from a clip: ``path`` (what generate uses) and how it was made."""

    path: CameraPath
    clip: ClipCameras
    clip_relative: Tensor  # [M, 4, 4] the clip's cameras relative to its first one, after scaling
    scale: float
    report: dict[str, Any]


# ----------------------------------------------------------------------------------------------
# Step 1: the clip's cameras
# ----------------------------------------------------------------------------------------------


def _has_images(folder: Path) -> bool:
    from ..curation.frames import IMAGE_EXTENSIONS

    return any(p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() for p in folder.iterdir())


def _holds_cameras(path: Path) -> bool:
    """Whether ``path`` is (or holds) a camera file that :func:`read_camera_path` reads."""
    from .reader import COLMAP_FILES

    if path.is_file():
        return path.suffix.lower() == ".json" or path.name in COLMAP_FILES
    for rel in ("cameras.bin", "cameras.txt", "0/cameras.bin", "0/cameras.txt", "sparse/0/cameras.bin",
                "sparse/0/cameras.txt", "transforms.json", "cameras.json"):
        if (path / rel).is_file():
            return True
    return False


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
    videos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    return videos[0] if len(videos) == 1 else None


def recover_clip_cameras(
    clip: str | Path,
    *,
    source: str = "auto",
    focal: float | None = None,
    features: str = "auto",
    mapper: str = "global",
    mask: bool = True,
    refine_masks: bool = True,
    stride: int | None = None,
    max_frames: int | None = 48,
    resize: int | tuple[int, int] | None = 512,
    seed: int = 0,
    num_threads: int = -1,
    work_dir: str | Path | None = None,
    on_stage: StageCallback | None = None,
) -> ClipCameras:
    """The clip's cameras from SfM on its frames, or from the camera file it comes with.

    Args:
        clip: a video file, a folder of frames, or a folder / file with cameras (COLMAP model,
            ``genxd curate`` sample, ``transforms.json``, ...).
        source: ``"auto"`` (cameras from a camera file when there is one, else SfM; a video file's own camera
            file is ``NAME.json`` or ``NAME_transforms.json`` beside ``NAME.mp4``), ``"sfm"`` (always SfM on the
            frames) or ``"file"``.
        focal: the clip's normalised focal length fx/W if known (fixed pinhole SfM), else estimated.
        features, mapper, seed, num_threads: SfM settings (:func:`genxd.curation.run_sfm`; ``features="auto"``:
            KLT tracks first, then SIFT; the KLT window suited to the motion, see
            :func:`genxd.cameras.video_sfm.run_video_sfm`); the global
            mapper (GLOMAP) is the default: incremental mapping drifts into a wrong solution on forward
            motion (docs/cameras.md).
        mask: mask possibly moving objects before SfM (``EpipolarFlowMasker``).
        refine_masks: with ``mask``, run SfM a second time with the regions of tracked points that the first
            pass's cameras cannot explain (:func:`inconsistent_track_mask`) masked too: objects that move
            along the epipolar lines escape the flow masks, not this.
        stride, max_frames, resize: which frames are used. ``stride=None`` (default): ``max_frames`` frames
            evenly spread over the whole clip (all of them when it has fewer); an int: every ``stride``-th
            frame from the start, at most ``max_frames`` (:func:`genxd.curation.read_frames`). ``resize``:
            frames whose longer side exceeds this many pixels are scaled down to it (None: never).
        work_dir: scratch folder (default: a temporary folder, removed afterwards).
        on_stage: called with a short description as each stage of the SfM route starts (reading frames,
            masks, SfM passes: a minute or more on a CPU), e.g. :class:`genxd.utils.stages.StageLines`.
    Raises:
        FileNotFoundError: no such clip. FromVideoError (a ValueError): no cameras can be had.
    """
    _check_clip_settings(clip, source=source, focal=focal, features=features, mapper=mapper, stride=stride,
                         max_frames=max_frames, resize=resize, seed=seed, num_threads=num_threads)
    path = Path(clip)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video, frame folder or camera file")
    if source == "file" or (source == "auto" and _holds_cameras(path)):
        return _cameras_from_file(path)
    sidecar = _sidecar_cameras(path) if source == "auto" else None
    if sidecar is not None:  # the video's own cameras, when that file reads as cameras
        try:
            return _cameras_from_file(sidecar)  # its report's "source" names the file
        except ValueError as exc:
            from ..validation import warn

            warn(f"{exc} (it is beside the video; the cameras come from SfM instead)")  # the CLI prints one line
    frames_at = _frames_source(path)
    if frames_at is None:
        raise FromVideoError(f"{path}: not a video file, a folder of frames or a camera file")
    return _cameras_from_sfm(frames_at, path, focal, features, mapper, mask, refine_masks, stride, max_frames, resize,
                             seed, num_threads, work_dir, on_stage or (lambda stage: None))


def _check_clip_settings(clip: Any, *, source: str, focal: Any, features: str, mapper: str, stride: Any,
                         max_frames: Any, resize: Any, seed: Any, num_threads: Any) -> None:
    """ValueError / TypeError naming the setting, before a frame is read (SfM takes a minute)."""
    from .. import validation as v

    if isinstance(clip, bool) or not isinstance(clip, (str, os.PathLike)):
        raise TypeError(f"clip must be a path (str or os.PathLike), got {clip!r} ({type(clip).__name__})")
    v.check(source, v.Choice(("auto", "sfm", "file")), "source")
    v.check(features, v.Choice(("auto", "klt", "sift")), "features")
    v.check(mapper, v.Choice(("global", "incremental")), "mapper")
    v.check(focal, v.FOCAL, "focal")
    v.check(stride, v.Int(1, 10_000, optional=True), "stride")
    v.check(max_frames, v.Int(3, 100_000, optional=True, why="SfM needs 3 frames"), "max_frames")
    v.check(seed, v.SEED, "seed")
    v.check(num_threads, v.Int(-1, 4096, nonzero=True, why="-1: every core"), "num_threads")
    if resize is not None:
        sizes = resize if isinstance(resize, (tuple, list)) else (resize,)
        if len(sizes) not in (1, 2):
            raise ValueError(f"resize must be None, a side in pixels or (width, height), got {resize!r}")
        for side in sizes:
            v.check(side, v.Int(16, 8192, why="pixels"), "resize")


def _cameras_from_file(path: Path) -> ClipCameras:
    from ..data.datasets import median_point_depth
    from .colmap import read_colmap_model
    from .reader import colmap_model_dir, read_camera_path

    cam = read_camera_path(path, dtype=torch.float64)
    n = len(cam)
    times = cam.times.double() if cam.times is not None else (
        torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64))
    depth = None
    model_dir = colmap_model_dir(path)
    if model_dir is not None:
        model = read_colmap_model(model_dir, dtype=torch.float64, allow_distortion=True)
        if len(model.points_xyz):
            depth = median_point_depth(model.points_xyz, cam.c2w[0], cam.K[0])
    report = {"source": str(path), "format": cam.source_format, "clip_frames_read": n,
              "scene_depth_source": "COLMAP points" if depth is not None else None}
    return ClipCameras(cam.c2w.double(), cam.K.double(), cam.height, cam.width, list(range(n)), n, times, depth,
                       f"file: {cam.source_format}", cam.intrinsics_known, report)


def _write_pngs(frames: np.ndarray, folder: Path) -> list[str]:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, frame in enumerate(frames):
        name = f"{i:06d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        names.append(name)
    return names


def _read_clip(frames_at: Path, stride: int | None, max_frames: int | None,
               resize: int | tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """``(frames uint8 [n, H, W, 3], their indices in the clip [n])`` (see :func:`recover_clip_cameras`)."""
    from ..curation.frames import count_frames, read_frames

    if isinstance(resize, int):  # only scale down: the longer side at most ``resize``
        first = read_frames(frames_at, 1, 1, None)[0]
        resize = resize if max(first.shape[:2]) > resize else None
    if stride is not None:
        frames = read_frames(frames_at, stride, max_frames, resize)
        return frames, np.arange(len(frames)) * stride
    if max_frames is None:
        frames = read_frames(frames_at, 1, None, resize)
        return frames, np.arange(len(frames))
    # only the frames picked are held (long clips: minutes of video)
    total = count_frames(frames_at)
    if total is not None and total > max_frames:
        picked = _spread(total, max_frames)
        # one frame past the stated end too: a container can state fewer frames than it holds (or more)
        frames = read_frames(frames_at, 1, None, resize, indices=[*picked.tolist(), total])
        if len(frames) == len(picked):
            return frames, picked
    elif total is not None:  # a short clip (or a count stated short): read what is there
        frames = read_frames(frames_at, 1, max_frames + 1, resize)
        if len(frames) <= max_frames:
            return frames, np.arange(len(frames))
    total = count_frames(frames_at, exact=True)  # no count, or a wrong one: count by decoding, then pick
    if total is None or total <= max_frames:
        frames = read_frames(frames_at, 1, None, resize)
        return frames, np.arange(len(frames))
    picked = _spread(total, max_frames)
    return read_frames(frames_at, 1, None, resize, indices=picked), picked


def _spread(total: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``0 .. total - 1``, first and last included."""
    return np.unique(np.round(np.linspace(0, total - 1, count)).astype(int))


def _cameras_from_sfm(frames_at: Path, clip: Path, focal: float | None, features: str, mapper: str, mask: bool,
                      refine_masks: bool, stride: int | None, max_frames: int | None, resize, seed: int, num_threads: int,
                      work_dir, stage: StageCallback) -> ClipCameras:
    import cv2

    from ..curation.frames import MixedFrameSizesError, VideoReadError
    from ..curation.masks import EpipolarFlowMasker
    from ..curation.sfm import SfmError
    from ..data.datasets import median_point_depth

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    stage("reading frames")
    try:
        frames, picked = _read_clip(frames_at, stride, max_frames, resize)
    except MixedFrameSizesError as exc:  # no resize to offer here: the clip itself is wrong
        raise FromVideoError(f"{clip}: frames have different sizes {exc.sizes}; the frames of a clip must all "
                             "have one size") from None
    except VideoReadError as exc:  # its message starts with the clip's name: the path instead
        text = str(exc)
        name = f"{frames_at.name}: "
        raise FromVideoError(f"{clip}: {text[len(name):] if text.startswith(name) else text}") from None
    timings["read"] = time.perf_counter() - t0
    n, height, width = frames.shape[:3]
    if n < 3:
        raise FromVideoError(f"{clip}: too few frames ({n}); a camera path needs at least 3")
    factor = int(np.ceil(SFM_MIN_SIZE / max(height, width))) if max(height, width) < SFM_MIN_SIZE else 1
    if factor > 1:  # normalised intrinsics are unchanged by the resize (pixel-centre convention)
        frames = np.stack([cv2.resize(f, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
                           for f in frames])
    t0 = time.perf_counter()
    if mask:
        stage(f"masking moving objects in {n} frames (optical flow)")
    # at the frames' own size, as measured (docs/benchmarks.md, "Camera paths from videos"): the curation's working
    # size would mask the upscaled frames of small clips at 256 px, and there broke a dolly clip (0.46 -> 5.4 degrees)
    labels = EpipolarFlowMasker(working_size=None)(frames) if mask else np.zeros(frames.shape[:3], np.int32)
    allowed = labels == 0
    timings["masks"] = time.perf_counter() - t0
    times = torch.from_numpy(picked / max(1, picked[-1])).double() if n > 1 else torch.zeros(1, dtype=torch.float64)
    report: dict[str, Any] = {"source": str(clip), "clip_frames_read": n, "clip_frame_indices": picked.tolist(),
                              "stride": stride, "height": height, "width": width,
                              "sfm_upscale": factor, "mask_fraction": float((~allowed).mean()), "warnings": []}
    t0 = time.perf_counter()
    stage("checking for a camera that only turns or stands still")
    rot = rotation_only_cameras(frames, allowed, focal, seed)  # a turning or still camera: no SfM needed
    timings["rotation_only"] = time.perf_counter() - t0
    if not rot.get("error"):
        report.update({**rot["report"], "timings": {k: round(v, 3) for k, v in timings.items()}})
        K = intrinsics_from_focal(rot["focal"]).double().expand(n, 3, 3).clone()
        return ClipCameras(rot["c2w"], K, height, width, list(range(n)), n, times, None, rot["method"],
                           rot["focal_known"], report)
    scratch = Path(tempfile.mkdtemp(prefix="genxd_from_video_")) if work_dir is None else Path(work_dir)
    try:
        names = _write_pngs(frames, scratch / "images")
        t0 = time.perf_counter()
        stage(f"structure from motion on {n} frames")
        route = dict(features=features, num_threads=num_threads, seed=seed, mapper=mapper,
                     refine_masks=mask and refine_masks, stage=stage, report=report, timings=timings)
        try:
            sfm, allowed = reconstruct_clip(frames, scratch / "images", names, scratch, allowed, focal, **route)
        except SfmError as exc:
            failed = (f"{clip}: structure from motion failed ({exc}), and the camera does not just turn or stand "
                      f"still either ({rot['error']}); a clip with more camera movement or texture, or more frames "
                      "(--max-frames), may work")
            if focal is not None:
                raise FromVideoError(failed) from None
            # forward walks over a ground plane: most pairs fit a homography, self-calibration has nothing to go on
            stage(f"structure from motion again with an assumed focal length (fx/W {ASSUMED_FOCAL})")
            try:
                sfm, allowed = reconstruct_clip(frames, scratch / "images", names, scratch / "assumed_focal", allowed,
                                                ASSUMED_FOCAL, **route)
            except SfmError:
                raise FromVideoError(f"{failed} (also with an assumed focal length fx/W = {ASSUMED_FOCAL})") from None
            report["warnings"].append(f"SfM failed with the focal length left free ({exc}); it worked with an "
                                      f"assumed fx/W = {ASSUMED_FOCAL} (give the clip's focal length: --clip-focal)")
            report["focal_assumed"] = ASSUMED_FOCAL
        timings["sfm"] = time.perf_counter() - t0
        estimated = float(sfm.K[0, 0])
        if focal is None and not PLAUSIBLE_FOCAL[0] <= estimated <= PLAUSIBLE_FOCAL[1]:
            stage(f"structure from motion again with an assumed focal length (estimated fx/W {estimated:.3g})")
            try:  # self-calibration failed (forward motion is degenerate for it): assume a usual lens
                sfm = run_video_sfm(scratch / "images", names, scratch / "sfm_fixed", allowed, ASSUMED_FOCAL,
                                    features, num_threads, seed, mapper)
                report["warnings"].append(
                    f"SfM estimated an implausible focal length fx/W = {estimated:.3g}; assumed {ASSUMED_FOCAL} "
                    "instead (give the clip's focal length: --clip-focal)")
                report["focal_assumed"] = ASSUMED_FOCAL
            except SfmError as exc:
                report["warnings"].append(f"SfM estimated an implausible focal length fx/W = {estimated:.3g} and "
                                          f"failed with fx/W = {ASSUMED_FOCAL} ({exc}); the estimate is kept")
    finally:
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    keep = np.flatnonzero(sfm.registered)
    c2w = torch.from_numpy(sfm.c2w[keep]).double()
    K = torch.from_numpy(sfm.K).double().expand(len(keep), 3, 3).clone()
    points = torch.from_numpy(np.array([p.xyz for p in sfm.reconstruction.points3D.values()], dtype=np.float64)
                              .reshape(-1, 3))
    depth = median_point_depth(points, c2w[0], K[0])
    if keep[0] != 0:
        report["warnings"].append(f"the first {keep[0]} frame(s) were not registered: the path starts at frame {keep[0]}")
    if len(keep) < n:
        report["warnings"].append(f"{n - len(keep)} of {n} frames were not registered (left out; the path is "
                                  "interpolated over them)")
    report.update({"num_registered": int(len(keep)), "features": sfm.features,
                   "klt_window": sfm.klt_window, "mapper": mapper, "num_points3D": sfm.num_points3D,
                   "mean_reprojection_error_px": sfm.mean_reprojection_error,
                   "focal_estimated": focal is None and "focal_assumed" not in report,
                   "K_normalized": sfm.K.tolist(), "timings": {k: round(v, 3) for k, v in
                                                               {**timings, **sfm.timings}.items()}})
    return ClipCameras(c2w, K, height, width, keep.tolist(), n, times[keep], depth, "sfm", True, report)


# ----------------------------------------------------------------------------------------------
# Step 2: the generation path
# ----------------------------------------------------------------------------------------------


def _crop_to_aspect(K: Tensor, height: int, width: int, out_h: int, out_w: int) -> Tensor:
    """Normalised intrinsics after a centre crop of ``height x width`` to the aspect of ``out_h x out_w``."""
    if height * out_w == width * out_h:
        return K
    K = K.clone()
    if width * out_h > height * out_w:  # wider: crop the width
        new_w = height * out_w / out_h
        K[:, 0, 0] *= width / new_w
        K[:, 0, 2] = (K[:, 0, 2] * width - (width - new_w) / 2) / new_w
    else:
        new_h = width * out_h / out_w
        K[:, 1, 1] *= height / new_h
        K[:, 1, 2] = (K[:, 1, 2] * height - (height - new_h) / 2) / new_h
    return K


def check_path_settings(num_frames: int | None = None, *, intrinsics: str = "model", spacing: str | None = "arc",
                        smoothing: float = 0.0, path_scale: float = 1.0, normalization: str = "scene") -> None:
    """ValueError naming the setting when one of :func:`make_video_path`'s settings is out of range."""
    def number(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)

    if intrinsics not in INTRINSICS:
        raise ValueError(f"intrinsics must be one of {INTRINSICS}, got {intrinsics!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if spacing is not None and spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    scale = number(path_scale, "path_scale (--path-scale)")
    if not (np.isfinite(scale) and 0 < scale < 1e6):
        raise ValueError(f"path_scale (--path-scale) must be a positive number below 1e6, got {path_scale!r}")
    sigma = number(smoothing, "smoothing (--smoothing)")
    if not (np.isfinite(sigma) and 0 <= sigma <= 1e4):
        raise ValueError(f"smoothing (--smoothing) must be in [0, 1e4] frames, got {smoothing!r}")
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
    if intrinsics == "model":
        focal = 1.414 if model_focal is None else float(model_focal)
        K = intrinsics_from_focal(focal).double().expand(len(c2w), 3, 3).clone()
    else:
        K = _crop_to_aspect(K, cams.height, cams.width, out_h, out_w)
    report = {
        "method": cams.method, "num_frames": int(num_frames), "spacing": spacing, "smoothing": smoothing,
        "normalization": used, "path_scale": path_scale, "scale": scale, "scene_depth": cams.scene_depth,
        "intrinsics": intrinsics, "path_length": path_length(c2w), "turn_deg": angular_length(c2w),
        "clip_frames_used": len(cams.frame_indices), "clip_frames": cams.num_clip_frames,
    }
    path = CameraPath(c2w.float(), K.float(), out_h, out_w, times=times.float(),
                      source_format=f"from video ({cams.method})")
    return VideoPath(path, cams, rel, scale, report)


def path_from_video(clip: str | Path, num_frames: int, **kwargs: Any) -> VideoPath:
    """:func:`recover_clip_cameras` then :func:`make_video_path` (keywords go to the one that takes them)."""
    import inspect

    recover_keys = set(inspect.signature(recover_clip_cameras).parameters) - {"clip"}
    make_keys = set(inspect.signature(make_video_path).parameters) - {"cams", "num_frames"}
    unknown = set(kwargs) - recover_keys - make_keys
    if unknown:
        raise TypeError(f"path_from_video: unknown arguments {sorted(unknown)}")
    check_path_settings(num_frames, **{k: v for k, v in kwargs.items()  # before the minute of SfM
                                       if k in ("intrinsics", "spacing", "smoothing", "path_scale", "normalization")})
    cams = recover_clip_cameras(clip, **{k: v for k, v in kwargs.items() if k in recover_keys})
    return make_video_path(cams, num_frames, **{k: v for k, v in kwargs.items() if k in make_keys})


# ----------------------------------------------------------------------------------------------
# Files: genxd trajectory from-video
# ----------------------------------------------------------------------------------------------


def default_model_focal() -> float:
    """The bundled model's focal length (``generation_config.json``), else the authors' 1.414."""
    import json

    config = Path(__file__).resolve().parents[1] / "assets" / "genxd-small" / "generation_config.json"
    try:
        return float(json.loads(config.read_text())["focal"])
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


def path_picture_title(report: dict[str, Any], name: str) -> str:
    return (f"{name}: {report['num_frames']} cameras ({report['method']}, {report['spacing']} spacing), "
            f"length {report['path_length']:.3g}, turn {report['turn_deg']:.0f} deg")


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
    import inspect

    from .formats import save_camera_json, save_transforms_json
    from .plot import save_camera_path_png

    files = output_files(out)
    existing = [f for f in files if f.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} already exists (use --overwrite to replace it)")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    recover_keys = set(inspect.signature(recover_clip_cameras).parameters)
    make_keys = set(inspect.signature(make_video_path).parameters)
    unknown = set(kwargs) - recover_keys - make_keys
    if unknown:
        raise TypeError(f"write_video_path: unknown arguments {sorted(unknown)}")
    cams = recover_clip_cameras(clip, focal=clip_focal, **{k: v for k, v in kwargs.items() if k in recover_keys})
    side = size or min(cams.height, cams.width)
    vp = make_video_path(cams, num_frames, model_focal=default_model_focal() if model_focal is None else model_focal,
                         size=(side, side), **{k: v for k, v in kwargs.items() if k in make_keys})
    p = vp.path
    save_camera_json(files[0], p.c2w, p.K, side, side, times=p.times)
    names = [f"frames/{i:03d}.png" for i in range(len(p))]
    save_transforms_json(files[1], p.c2w, p.K, side, side, file_paths=names, times=p.times)
    report = {**cams.report, **vp.report, "warnings": list(cams.report.get("warnings", []))}
    save_camera_path_png(files[2], p.c2w, p.K, path_picture_title(report, Path(clip).name))
    return {"files": [str(f) for f in files], "report": report, "path": vp}
