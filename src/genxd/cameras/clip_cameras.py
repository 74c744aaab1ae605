"""A clip's cameras, in its own frame and units: step 1 of ``genxd trajectory from-video`` (step 2, the
generation path, is :mod:`genxd.cameras.from_video`).

From a video file or a folder of frames: frames (``genxd.curation.read_frames``) -> masks of possibly moving
objects (``EpipolarFlowMasker``) -> a camera that only turns (or stands still) is recognised from the tracked
points (:func:`rotation_only_cameras`) and given as rotations only; otherwise pycolmap SfM outside the masks
(:func:`genxd.cameras.clip_sfm.reconstruct_clip`). From a folder or file that already holds cameras (COLMAP model,
``genxd curate`` sample, ``transforms.json``, any :func:`genxd.cameras.read_camera_path` format): those cameras.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ..utils.cv2_files import imwrite
from ..utils.stages import StageCallback
# _read_clip, _spread, clip_times: imported from here too
from .clip_camera_files import (  # noqa: F401 - re-exported: imported from here
    _camera_file, _cameras_from_file, _frames_source, _has_images, _holds_cameras, _sidecar_cameras,
    clip_camera_files)
from .clip_frames import (  # noqa: F401
    _read_clip, _spread, blank_frames, blank_frames_note, clip_times, read_to_end, stride_cut, too_few_frames)
from .clip_sfm import focal_unobservable, reconstruct_clip
from .geometry import intrinsics_from_focal
from .resample import angular_length
from .rotation_only import FOCAL_SEARCH, STILL_DRIFT_PX, STILL_PX, rotation_only_cameras

__all__ = ["ASSUMED_FOCAL", "CLIP_KINDS", "ClipAdvice", "ClipCameras", "FromVideoError", "PLAUSIBLE_FOCAL",
           "SFM_MIN_SIZE", "clip_advice", "clip_camera_files", "not_a_clip", "recover_clip_cameras"]

#: Frames whose longer side is below this are upscaled (bicubic) for SfM: generated clips are 64 px.
SFM_MIN_SIZE = 256
#: An estimated focal length fx/W outside this range (19 to 102 degrees of horizontal view) is not
#: believed: SfM runs again with ASSUMED_FOCAL (53 degrees) and says so.
PLAUSIBLE_FOCAL = (0.4, 2.9)
ASSUMED_FOCAL = 1.0
#: The kinds of path :func:`recover_clip_cameras` reads, as its refusal of another lists them (:func:`not_a_clip`).
CLIP_KINDS = ("a video file", "a folder of frames", "a camera file")


class FromVideoError(ValueError):
    """No camera path can be had from the clip (too few frames, SfM failed and not a pure rotation ...)."""


@dataclass
class ClipCameras:
    """The cameras of a clip, in the clip's own world frame and units.

    Attributes:
        c2w ``[M, 4, 4]`` float64 / K ``[M, 3, 3]``: the frames that have a camera (``frame_indices``).
        height, width: the clip's frame size; num_clip_frames: frames read from the clip.
        times ``[M]``: frame times in [0, 1] over the clip (from the frames' timestamps when known:
            :func:`clip_times`).
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


@dataclass(frozen=True)
class ClipAdvice:
    """What the caller of :func:`recover_clip_cameras` can do, in its own terms: ``sfm_failure`` ends the error when
    SfM fails (``"; ... may work"``), ``focal`` the warning when a focal length was assumed (``" (...)"``, or ``""``),
    ``kinds`` are the kinds of path it takes, which the refusal of another lists (:func:`not_a_clip`).
    Each entry point words its own (``genxd generate``, ``eval-camera``, the demo); the default is
    :func:`clip_advice`."""

    sfm_failure: str
    focal: str
    #: ``sfm_failure`` when every frame of the clip was read, so that more frames cannot help (None: the same)
    sfm_failure_all_read: str | None = None
    #: what the caller takes, some of :data:`CLIP_KINDS` (the demo's video control: ``("a video file",)``)
    kinds: tuple[str, ...] = CLIP_KINDS

    def __post_init__(self) -> None:
        if not (isinstance(self.kinds, tuple) and self.kinds and all(isinstance(k, str) and k for k in self.kinds)):
            raise TypeError(f"kinds must be a tuple of one or more kinds of path (text), got {self.kinds!r}")


def not_a_clip(path: str | Path, kinds: tuple[str, ...] = CLIP_KINDS) -> str:
    """The refusal of ``path``, which is none of the ``kinds`` of path its caller takes (:attr:`ClipAdvice.kinds`),
    with the video suffixes known: ``notes.txt: not a video file, a folder of frames or a camera file (video suffixes:
    .avi, ...)``; ``kinds=("a video file",)``: ``notes.txt: not a video file (video suffixes: ...)``."""
    from ..curation.frames import VIDEO_EXTENSIONS

    listed = kinds[-1] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
    return f"{path}: not {listed} (video suffixes: {', '.join(sorted(VIDEO_EXTENSIONS))})"


def clip_advice(focal: str = "focal", how: Callable[[str], str] | None = None) -> ClipAdvice:
    """The advice in terms of :func:`recover_clip_cameras`' own settings, worded for the caller
    (:mod:`genxd.caller_style`): ``--max-frames`` on the command line, ``max_frames`` from Python; ``focal`` is the
    Python argument that takes the clip's focal length (``"clip_focal"``: ``--clip-focal`` of ``trajectory
    from-video``). ``how``: how to give a setting (``max_frames`` or ``focal``) where the caller does not take it
    directly (default: the setting as the caller names it, :func:`genxd.caller_style.arg`)."""
    from ..caller_style import arg

    how = how or arg
    return ClipAdvice(f"; a clip with more camera movement or texture, or more frames ({how('max_frames')}), may work",
                      f" (give the clip's focal length: {how(focal)})",
                      "; a clip with more camera movement or texture may work (every frame of this one was used)")


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
    advice: ClipAdvice | None = None,
    start: Any = None,
    end: Any = None,
) -> ClipCameras:
    """The clip's cameras from SfM on its frames, or from the camera file it comes with.

    Args:
        clip: a video file, a folder of frames, or a folder / file with cameras (COLMAP model,
            ``genxd curate`` sample, ``transforms.json``, ...).
        source: ``"auto"`` (cameras from a camera file when there is one, else SfM; a video file's own camera
            file is ``NAME.json`` or ``NAME_transforms.json`` beside ``NAME.mp4``, taken when it is a ``genxd
            synth`` clip's or holds one camera per frame of the video: a path made from the clip, as ``trajectory
            from-video NAME.mp4 -o NAME.json`` writes, is not, and a warning says so), ``"sfm"`` (always SfM on
            the frames) or ``"file"`` (the camera file, a video's ``NAME.json`` / ``NAME_transforms.json``
            whatever it holds).
        focal: the clip's normalised focal length fx/W if known (fixed pinhole SfM), else estimated.
        features, mapper, seed, num_threads: SfM settings (:func:`genxd.curation.run_sfm`; ``features="auto"``:
            KLT tracks first, then SIFT; the KLT window suited to the motion, see
            :func:`genxd.cameras.video_sfm.run_video_sfm`); the global
            mapper (GLOMAP) is the default: incremental mapping drifts into a wrong solution on forward
            motion (docs/camera_paths_from_video.md).
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
        advice: what the messages advise, and the kinds of path the refusal of another lists (:class:`ClipAdvice`);
            default :func:`clip_advice` (this function's ``max_frames`` / ``focal``, as the caller names them; every
            kind of path it reads).
        start, end: only the frames ``[start, end)`` of the clip (:mod:`genxd.cameras.clip_range`): seconds from its
            first frame (a number, or text such as ``"2.5"``; matched to the frames' timestamps, so a
            variable-frame-rate clip is cut by time) or a frame index as ``"30f"``; ``stride`` / ``max_frames``
            then pick frames inside the range. Frame folders take frame indices only; cameras from a camera file
            are refused (the file is not cut: ``source="sfm"``).
    Raises:
        FileNotFoundError: no such clip. FromVideoError (a ValueError): no cameras can be had.
    """
    _check_clip_settings(clip, source=source, focal=focal, features=features, mapper=mapper, stride=stride,
                         max_frames=max_frames, resize=resize, seed=seed, num_threads=num_threads)
    from .clip_range import check_bounds

    bounds = check_bounds(start, end)
    if advice is None:
        advice = clip_advice()
    elif not isinstance(advice, ClipAdvice):
        raise TypeError(f"advice must be a ClipAdvice or None, got {type(advice).__name__}")
    from .reader import camera_files

    path = Path(clip)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video, frame folder or camera file")
    files = camera_files(path) if source != "sfm" else []
    taken = _camera_file(path, source, files)
    if taken is not None and (source == "file" or taken == path):  # taken whatever it holds
        _refuse_range(path, files[0] if taken == path and files else taken, bounds)
        return _cameras_from_file(taken, files if taken == path else camera_files(taken))
    stage = on_stage or (lambda stage: None)
    if (sidecar := taken) is not None:  # the video's own cameras, when that file reads as cameras, one per frame
        from ..caller_style import text_setting
        from ..validation import warn

        try:
            cameras = _cameras_from_file(sidecar, camera_files(sidecar))  # its report's "source" names the file
        except ValueError as exc:
            warn(f"{exc} (it is beside the video; the cameras come from SfM instead)")  # the CLI prints one line
        else:
            why_not = _not_the_clips_own(cameras, path)
            if why_not is None:
                _refuse_range(path, sidecar, bounds)
                stage(f"cameras from {sidecar.name}, the camera file beside the video ({text_setting('source', 'sfm')}: SfM "
                      "instead)")
                return cameras
            warn(f"{sidecar.name} beside the video is not its own cameras ({why_not}); the cameras come from SfM "
                 f"({text_setting('source', 'file')} takes that file)")
    frames_at = _frames_source(path)
    if frames_at is None:
        from .reader import several_videos

        if source == "auto" and (which := several_videos(path)) is not None:  # as source='file' says it
            raise FromVideoError(which)
        raise FromVideoError(not_a_clip(path, advice.kinds))
    span = None
    if any(b is not None for b in bounds):  # one decode pass for the frames' times, before the frames are read
        from .clip_range import clip_span

        stage(f"finding the frames of the range in {frames_at.name}")
        span = clip_span(frames_at, path, *bounds)
    return _cameras_from_sfm(frames_at, path, focal, features, mapper, mask, refine_masks, stride, max_frames, resize,
                             seed, num_threads, work_dir, stage, advice, span)


def _refuse_range(clip: Path, camera_file: Path, bounds: tuple) -> None:
    """FromVideoError when a range (``start`` / ``end``) is asked of cameras that come from a camera file: the file's
    cameras are not cut (their times, where a file has them, are fractions of its path, not the clip's seconds)."""
    given = [b for b in bounds if b is not None]
    if given:
        from ..caller_style import is_cli, text_setting
        from .clip_range import ClipBound

        said = " and ".join(b.said() for b in given)
        how = text_setting("source", "sfm")
        if given[0].name.startswith("camera_"):  # genxd generate, which takes no source: write the path first,
            # in the caller's words (the range as trajectory from-video / write_video_path take it)
            rng = [ClipBound(b.value, b.frames, b.name[len("camera_"):]).said() for b in given]
            if is_cli():
                how = (f"genxd trajectory from-video {shlex.quote(clip.name)} -o path.json --source sfm "
                       f"{' '.join(rng)}, then --camera path.json")
            else:
                how = (f"genxd.cameras.from_video.write_video_path({clip.name!r}, 'path.json', NUM_FRAMES, "
                       f"source='sfm', {', '.join(rng)}), then camera='path.json'")
        raise FromVideoError(f"{clip}: {said} cut{'s' * (len(given) == 1)} the frames of a video or frame folder, and "
                             f"its cameras come from the camera file {camera_file.name}, which is not cut; take them "
                             f"from SfM on the range's frames instead ({how})")


def _not_the_clips_own(cameras: ClipCameras, video: Path) -> str | None:
    """Why a camera file beside ``video`` is not the clip's own cameras, or None when it is: a ``genxd synth`` clip
    meta, or one camera for each of the video's frames, not marked as a path made from a clip (``from-video clip.mp4
    -o clip.json`` writes ``clip.json`` and ``clip_transforms.json``: read as the clip's cameras it was resampled
    again, and scaled as a path, not as a scene)."""
    from ..curation.frames import count_frames
    from .reader import SYNTHETIC_META
    from .video_path_mark import made_from_video

    if cameras.report.get("format") == SYNTHETIC_META:
        return None
    if made_from_video(cameras.report["source"]):  # whatever its count (-n 16 on a 16-frame clip was taken)
        return "a camera path made from a clip by genxd trajectory from-video"
    try:
        frames = count_frames(video) or count_frames(video, exact=True)
    except ImportError:  # no PyAV: the frames cannot be counted (nor read for SfM); the file is taken
        return None
    if frames is None or frames == cameras.num_clip_frames:
        return None
    return f"{cameras.num_clip_frames} cameras for the video's {frames} frames: a path made from it?"


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


def _write_pngs(frames: np.ndarray, folder: Path) -> list[str]:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, frame in enumerate(frames):
        name = f"{i:06d}.png"
        imwrite(folder / name, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        names.append(name)
    return names


def still_frames_warning(repeats: np.ndarray) -> str:
    """The warning for frames that repeat an earlier one (:func:`genxd.cameras.rotation_only.repeated_frames`):
    ``"frames 12-21 repeat frame 11, ..."``."""
    runs: list[list[int]] = []
    for j, r in enumerate(repeats.tolist()):
        if r == j:
            continue
        if runs and runs[-1][0] == r and runs[-1][2] == j - 1:
            runs[-1][2] = j
        else:
            runs.append([r, j, j])
    said = ", ".join(f"frame{'s' if b > a else ''} {a}{f'-{b}' if b > a else ''} repeat{'' if b > a else 's'} "
                     f"frame {r}" for r, a, b in runs[:5]) + (", ..." if len(runs) > 5 else "")
    count = sum(b - a + 1 for _, a, b in runs)
    return (f"the camera stands still in {count} of {len(repeats)} frames ({said}: their points move less than "
            f"{STILL_PX:g} px): SfM placed the others, and each of these takes the camera of the frame it repeats")


def _sfm_failure_tip(advice: ClipAdvice, to_end: bool, stride: int | None) -> str:
    """The advice ending a failed SfM's error: more frames only where the read stopped before the clip's end
    (:func:`genxd.cameras.clip_frames.read_to_end`); a smaller stride where every ``stride``-th frame was read."""
    from ..caller_style import arg

    if not to_end or not advice.sfm_failure_all_read:
        return advice.sfm_failure
    if stride in (None, 1):
        return advice.sfm_failure_all_read
    return (f"; a clip with more camera movement or texture, or more of its frames (a smaller {arg('stride')} than "
            f"{stride}: one frame in {stride} of this one was used, to its end), may work")


def _cameras_from_sfm(frames_at: Path, clip: Path, focal: float | None, features: str, mapper: str, mask: bool,
                      refine_masks: bool, stride: int | None, max_frames: int | None, resize, seed: int, num_threads: int,
                      work_dir, stage: StageCallback, advice: ClipAdvice, span=None) -> ClipCameras:
    import cv2

    from ..curation.frames import MixedFrameSizesError, VideoReadError, count_frames
    from ..curation.masks import EpipolarFlowMasker
    from ..curation.sfm import SfmError
    from ..curation.video_streams import stored_pixel_aspect
    from ..data.datasets import median_point_depth

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    stage("reading frames")
    try:
        seconds: list = []
        frames, picked = _read_clip(frames_at, stride, max_frames, resize, seconds, span)
    except MixedFrameSizesError as exc:  # no resize to offer here: the clip itself is wrong
        raise FromVideoError(f"{clip}: frames have different sizes {exc.sizes}{f' ({exc.which})' * bool(exc.which)}; "
                             "the frames of a clip must all have one size") from None
    except VideoReadError as exc:  # its message starts with the clip's name: the path instead
        text = str(exc)
        name = f"{frames_at.name}: "
        raise FromVideoError(f"{clip}: {text[len(name):] if text.startswith(name) else text}") from None
    timings["read"] = time.perf_counter() - t0
    n, height, width = frames.shape[:3]
    if n < 3:
        raise FromVideoError(too_few_frames(clip, frames_at, picked, stride, span))
    blank = blank_frames(frames)  # named where SfM fails: one-colour frames give it nothing to match
    factor = int(np.ceil(SFM_MIN_SIZE / max(height, width))) if max(height, width) < SFM_MIN_SIZE else 1
    if factor > 1:  # normalised intrinsics are unchanged by the resize (pixel-centre convention)
        frames = np.stack([cv2.resize(f, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
                           for f in frames])
    t0 = time.perf_counter()
    if mask:
        stage(f"masking moving objects in {n} frames (optical flow)")
    # at the frames' own size, as measured (docs/benchmarks/camera_paths.md, "Camera paths from videos"): the curation's working
    # size would mask the upscaled frames of small clips at 256 px, and there broke a dolly clip (0.46 -> 5.4 degrees)
    labels = EpipolarFlowMasker(working_size=None)(frames) if mask else np.zeros(frames.shape[:3], np.int32)
    allowed = labels == 0
    timings["masks"] = time.perf_counter() - t0
    times = clip_times(picked, seconds)
    report: dict[str, Any] = {"source": str(clip), "clip_frames_read": n, "clip_frame_indices": picked.tolist(),
                              "stride": stride, "height": height, "width": width,
                              "source_pixel_aspect": stored_pixel_aspect(frames_at),
                              "sfm_upscale": factor, "mask_fraction": float((~allowed).mean()), "warnings": []}
    report["clip_frame_count"] = stated = count_frames(frames_at)  # the clip's length as stated (None: not stated)
    if span is not None:  # the range's frames: counted by decoding them
        total = span.stop
        report["clip_range"] = span.report()
        if span.note:
            report.setdefault("notes", []).append(span.note)
    else:
        total = stated if stride is not None else None  # stated: where a stride reached max_frames
    cut = stride_cut(total, stride, max_frames, picked, span)
    if cut:
        report["warnings"].append(cut)
    t0 = time.perf_counter()
    stage("checking for a camera that only turns or stands still")
    rot = rotation_only_cameras(frames, allowed, focal, seed)  # a turning or still camera: no SfM needed
    timings["rotation_only"] = time.perf_counter() - t0
    if not rot.get("error"):
        report.update({**rot["report"], "timings": {k: round(v, 3) for k, v in timings.items()}})
        if rot["method"] == "static":  # a tripod clip: a valid path (generate's 'static'), but say it is one
            report["warnings"].append(
                f"the camera stands still (its tracked points move {rot['report']['track_motion_px']:.2f} px at most "
                f"between frames, under {STILL_PX:g}, and stay within {rot['report']['track_drift_px']:.2f} px of the "
                f"first frame's, under {STILL_DRIFT_PX:g}; medians): the path is a still camera, every camera the "
                "first one")
        if rot["report"].get("focal_at_search_end"):
            lo, hi = FOCAL_SEARCH
            report["warnings"].append(
                f"the camera only turns, and its focal length could not be estimated: the best fit, fx/W = "
                f"{rot['focal']:.3g}, is at an end of the range searched ({lo:g}-{hi:g}; a flat scene such as a photo "
                f"or a poster, or a very long or wide lens), so the turn ({angular_length(rot['c2w']):.1f} degrees) may "
                f"be far off{advice.focal}")
        K = intrinsics_from_focal(rot["focal"], rot["focal"] * width / height).double().expand(n, 3, 3).clone()
        return ClipCameras(rot["c2w"], K, height, width, list(range(n)), n, times, None, rot["method"],
                           rot["focal_known"], report)
    repeats = np.asarray(rot.get("repeats", range(n)))
    sfm_frames = np.unique(repeats)  # a camera standing still gives SfM no baseline: those frames are left out
    if len(sfm_frames) < 3:
        sfm_frames, repeats = np.arange(n), np.arange(n)
    elif len(sfm_frames) < n:
        report["warnings"].append(still_frames_warning(repeats))
        report["still_frames"] = int(n - len(sfm_frames))
        frames, allowed = frames[sfm_frames], allowed[sfm_frames]
    scratch = Path(tempfile.mkdtemp(prefix="genxd_from_video_")) if work_dir is None else Path(work_dir)
    try:
        names = _write_pngs(frames, scratch / "images")
        t0 = time.perf_counter()
        stage(f"structure from motion on {len(frames)} frames")
        route: dict[str, Any] = dict(features=features, num_threads=num_threads, seed=seed, mapper=mapper,
                     refine_masks=mask and refine_masks, stage=stage, report=report, timings=timings)

        first_fit = len(report["warnings"])  # the warnings of the fit the path is made from start here

        def assumed_focal_route(stage_note: str, start_mask: np.ndarray, warning: str, then: str = ""):
            """The whole route again with ``ASSUMED_FOCAL``; on success ``warning`` + "fx/W = ..." + ``then`` is
            recorded (``then`` may name ``{turn}``: the new fit's turn over the clip, in degrees), and the warnings
            of the fit it replaces are dropped (a second pass that failed there: the path is not made from it)."""
            stage(f"structure from motion again with an assumed focal length (fx/W {ASSUMED_FOCAL}){stage_note}")
            before = len(report["warnings"])
            result = reconstruct_clip(frames, scratch / "images", names, scratch / "assumed_focal", start_mask,
                                      ASSUMED_FOCAL, **route)
            report["warnings"][first_fit:] = report["warnings"][before:]
            new = result[0]
            turn = angular_length(new.c2w[np.flatnonzero(new.registered)])
            report["warnings"].append(f"{warning}fx/W = {ASSUMED_FOCAL}{then.format(turn=turn)}{advice.focal}")
            report["focal_assumed"] = ASSUMED_FOCAL
            return result

        try:
            sfm, allowed = reconstruct_clip(frames, scratch / "images", names, scratch, allowed, focal, **route)
        except SfmError as exc:
            tip = _sfm_failure_tip(advice, read_to_end(total, stride, max_frames, picked), stride)
            if span is not None:  # every frame of the range, not of the clip
                tip = tip.replace("of this one was used", f"of the range {span.label} was used")
            failed = (f"{clip}: structure from motion failed ({exc}), and the camera does not just turn or stand "
                      f"still either ({rot['error']}){blank_frames_note(blank, picked, n)}{tip}")
            if focal is not None:
                raise FromVideoError(failed) from None
            # forward walks over a ground plane: most pairs fit a homography, self-calibration has nothing to go on
            try:
                sfm, allowed = assumed_focal_route("", allowed, f"SfM failed with the focal length left free ({exc}); "
                                                   "it worked with an assumed ")
            except SfmError:
                raise FromVideoError(f"{failed} (also with an assumed focal length fx/W = {ASSUMED_FOCAL})") from None
        why = focal_unobservable(sfm) if focal is None and "focal_assumed" not in report else None
        if why:  # forward and dolly clips: the estimate is arbitrary (and has bent the path)
            try:
                # the figures are the first fit's: the path written is the new fit's, whose turn is given too
                sfm, allowed = assumed_focal_route(
                    f": {why}", allowed, f"SfM's first fit, with the focal length left free (fx/W = "
                    f"{float(sfm.K[0, 0]):.3g}): {why}, where SfM cannot tell the focal length; the path is from a "
                    "fit with an assumed ", ", turning {turn:.1f} degrees in all")
            except SfmError:
                pass  # the estimate is kept
        estimated = float(sfm.K[0, 0])
        if focal is None and "focal_assumed" not in report and not PLAUSIBLE_FOCAL[0] <= estimated <= PLAUSIBLE_FOCAL[1]:
            try:  # self-calibration failed: assume a usual lens, the whole route again as above
                sfm, allowed = assumed_focal_route(f" (estimated fx/W {estimated:.3g})", allowed,
                                                   f"SfM estimated an implausible focal length fx/W = {estimated:.3g}; "
                                                   "assumed ")
            except SfmError as exc:
                report["warnings"].append(f"SfM estimated an implausible focal length fx/W = {estimated:.3g} and "
                                          f"failed with fx/W = {ASSUMED_FOCAL} ({exc}); the estimate is kept")
        timings["sfm"] = time.perf_counter() - t0
    finally:
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    at = np.searchsorted(sfm_frames, repeats)  # every frame read: its own camera or the one it repeats
    registered, sfm_c2w = sfm.registered[at], sfm.c2w[at]
    keep = np.flatnonzero(registered)
    c2w = torch.from_numpy(sfm_c2w[keep]).double()
    K = torch.from_numpy(sfm.K).double().expand(len(keep), 3, 3).clone()
    points = torch.from_numpy(np.array([p.xyz for p in sfm.reconstruction.points3D.values()], dtype=np.float64)
                              .reshape(-1, 3))
    depth = median_point_depth(points, c2w[0], K[0])
    if keep[0] != 0:
        report["warnings"].append(f"the first {keep[0]} frame(s) were not registered: the path starts at frame {keep[0]}")
    unregistered = int(len(sfm_frames) - sfm.registered.sum())  # SfM's own count: not the frames that copy a camera
    if unregistered and len(sfm_frames) < n:
        report["warnings"].append(f"{unregistered} of the {len(sfm_frames)} frames given to SfM were not registered "
                                  f"(left out with the frames that repeat them, {n - len(keep)} of the {n} read; the "
                                  "path is interpolated over them)")
    elif unregistered:
        report["warnings"].append(f"{unregistered} of {n} frames were not registered (left out; the path is "
                                  "interpolated over them)")
    report.update({"num_registered": int(sfm.registered.sum()), "sfm_frames": int(len(sfm_frames)),
                   "features": sfm.features,
                   "klt_window": sfm.klt_window, "mapper": mapper, "num_points3D": sfm.num_points3D,
                   "mean_reprojection_error_px": sfm.mean_reprojection_error,
                   "focal_estimated": focal is None and "focal_assumed" not in report,
                   "K_normalized": sfm.K.tolist(), "timings": {k: round(v, 3) for k, v in
                                                               {**timings, **sfm.timings}.items()}})
    return ClipCameras(c2w, K, height, width, keep.tolist(), n, times[keep], depth, "sfm", True, report)
