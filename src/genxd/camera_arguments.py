"""The camera arguments of ``genxd generate`` / :func:`genxd.generate`: a preset name, a camera file or folder, a
:class:`~genxd.cameras.CameraPath`, or the path of a video (``camera_from_video``), turned into the cameras of the
frames; the preset arguments given where they do nothing; how messages name a camera argument."""

from __future__ import annotations

import inspect
import math
import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple, TypeGuard

import torch
from torch import Tensor

from . import validation as v
from .camera_presets import missing_camera_error
from .cameras import CameraPath, read_camera_path, trajectories
from .cameras.reader import perspective_only
from .utils.json_text import json_text

if TYPE_CHECKING:
    from .api import GenerateSettings


def _call_with_known_kwargs(fn, **kwargs):
    params = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in kwargs.items() if k in params and v is not None})


class FrameCameras(NamedTuple):
    """The cameras of the frames: ``c2w [F, 4, 4]``, ``K [F, 3, 3]``, frame ``times [F]`` (None: not given) and the
    :class:`~genxd.cameras.CameraPath` they come from (None for a preset)."""

    c2w: Tensor
    K: Tensor
    times: Tensor | None
    from_file: CameraPath | None


def frame_cameras(camera: str | Path | CameraPath, num_frames: int, focal: float | None = None,
                  elevation: float | None = None, azimuth_range: tuple[float, float] | None = None,
                  radius: float | None = None, scale: float = 1.0, fit: str = "crop") -> FrameCameras:
    """The cameras of the frames from a preset name, a camera file / folder or a :class:`~genxd.cameras.CameraPath`.

    Files and folders are read with :func:`genxd.cameras.read_camera_path` (authors' camera JSON, w2c
    lists, ``transforms.json``, COLMAP models, ``genxd curate`` / ``generate`` outputs); their own frame
    count and times are used; files without intrinsics get ``focal`` (else the authors' 1.414); a camera of another
    shape gets the intrinsics of its pictures fitted to the square output as images are (``fit``: ``"crop"`` keeps the
    centre square, ``"pad"`` adds borders). ``scale`` multiplies a preset's camera positions (the model's
    :attr:`~genxd.checkpoints.ModelInfo.preset_scale`: 0.5 for the bundled model); files keep their own.
    """
    path = camera_path_of(camera, focal)
    if path is not None:
        return FrameCameras(path.c2w.float(), path.intrinsics_for(1, 1, fit).float(), path.times, path)
    name = str(camera)  # a preset name: camera_path_of refused every other name
    try:
        c2w, K = _call_with_known_kwargs(
            trajectories.PRESETS[name], num_frames=num_frames, focal=focal, elevation=elevation,
            azimuth_range=tuple(azimuth_range) if azimuth_range is not None else None, radius=radius,
        )
    except ValueError as exc:  # the presets name their arguments; the caller may know them as --frames, ...
        text = str(exc)
        for argument in ("num_frames", "azimuth_range", "elevation", "radius"):  # "elevation must be ...": --elevation
            text = re.sub(rf"\b{argument}\b", v.arg(argument), text)
        raise v.InvalidValue(text) from None
    return FrameCameras(trajectories.scale_translations(c2w, scale), K, None, None)


def camera_trajectory(camera: str | Path, num_frames: int, focal: float | None = None, elevation: float | None = None,
                      azimuth_range: tuple[float, float] | None = None, radius: float | None = None,
                      scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """Target cameras ``(c2w [F,4,4], K [F,3,3])`` from a preset name or a camera file / folder
    (:func:`frame_cameras`; a camera file's pictures cropped to their centre square).

    ``num_frames``: a preset's frame count (a file keeps its own); ``focal``, ``elevation``, ``azimuth_range``,
    ``radius``: as :func:`genxd.generate` (None: the preset's own). ``scale`` multiplies a preset's camera positions;
    the default 1 gives the presets' own units, while :func:`genxd.generate` scales them by the model's
    :attr:`~genxd.checkpoints.ModelInfo.preset_scale` (0.5 for the bundled model): pass
    ``scale=model_info(model).preset_scale`` for the cameras it follows."""
    c2w, K, _, _ = frame_cameras(camera, num_frames, focal, elevation, azimuth_range, radius, scale)
    return c2w, K


def unused_camera_settings(s: "GenerateSettings", from_file: bool) -> list[str]:
    """Warnings for the preset arguments (``elevation``, ``azimuth_range``, ``radius``) given where they do nothing:
    with a preset that does not take them (``camera="dolly", radius=3``), a camera file or a video's path (they
    were dropped without a word)."""
    given = {name: value for name, value in (("elevation", s.elevation), ("azimuth_range", s.azimuth_range),
                                             ("radius", s.radius)) if value is not None}
    if not given:
        return []
    if from_file:
        source = f"the camera path {camera_label(s.camera) if s.camera_from_video is None else s.camera_from_video}"
        return [f"{v.arg(name)} is not used: {source} sets the cameras" for name in given]
    takes = inspect.signature(trajectories.PRESETS[str(s.camera)]).parameters
    shown = [v.arg(p) for p in ("elevation", "azimuth_range", "radius", "focal") if p in takes]
    return [f"{v.arg(name)} is not used by the {s.camera} preset (it takes {', '.join(shown) or 'none of them'})"
            for name in given if name not in takes]


def unused_focal_warning(s: "GenerateSettings", from_file: CameraPath | None) -> str | None:
    """The warning for ``focal`` given with a camera file / folder (or a :class:`~genxd.cameras.CameraPath`) that
    carries its own intrinsics: only a file without intrinsics (a w2c list) takes it; it was dropped without a word.
    None otherwise (a preset, a file without intrinsics, no ``focal``)."""
    if s.focal is None or from_file is None or not from_file.intrinsics_known:
        return None
    return (f"{v.arg('focal')} {s.focal:g} is not used: the camera path {camera_label(s.camera)} sets the intrinsics "
            f"(it takes {v.arg('focal')} only for a file without intrinsics, such as a w2c list)")


def camera_label(camera: str | Path | CameraPath) -> str:
    """How messages and ``meta.json`` name a camera argument: the preset name or file path, or for a
    :class:`~genxd.cameras.CameraPath` object ``<CameraPath of N cameras>`` (its repr prints every matrix)."""
    return f"<CameraPath of {camera.c2w.shape[0]} cameras>" if isinstance(camera, CameraPath) else str(camera)


def camera_path_of(camera: str | Path | CameraPath, focal: float | None = None) -> CameraPath | None:
    """The :class:`~genxd.cameras.CameraPath` of a camera file / folder, or None for a preset name.

    Raises FileNotFoundError for a path that does not exist, ValueError for an unknown name or a bad file."""
    if isinstance(camera, CameraPath):
        return perspective_only(camera)
    name = str(camera)
    if name in trajectories.PRESETS and not isinstance(camera, Path):
        return None
    path = Path(name)
    if path.exists():
        return perspective_only(read_camera_path(path, default_focal=focal))  # its K is the frames'
    if isinstance(camera, Path):
        raise FileNotFoundError(f"{path}: camera file or folder not found")
    raise missing_camera_error(name, trajectories.PRESETS)  # 'cams.jsn': not found; 'orbi', 'Orbit': the preset meant


def preset_beside_a_path_warning(camera: str | Path | CameraPath) -> str | None:
    """The warning for a preset name given as a string (``--camera orbit``, ``camera="orbit"``: the preset, the
    documented rule) while a file or folder of that name is in the working folder, which the user may have meant:
    it names it and how to read it (``--camera ./orbit``). None for anything else (a path, ``./orbit``, a
    :class:`~genxd.cameras.CameraPath`, a name with nothing of that name here)."""
    from .caller_style import text_setting

    if isinstance(camera, (Path, CameraPath)) or str(camera) not in trajectories.PRESETS:
        return None
    if not os.path.lexists(camera):
        return None
    what = "folder" if os.path.isdir(camera) else "file"
    return (f"{text_setting('camera', camera)} is the {camera} preset; the {what} {camera} in the current folder is "
            f"not read ({text_setting('camera', os.path.join(os.curdir, camera))} reads it)")


def video_camera_path(clip_cameras, s: "GenerateSettings", num_frames: int, focal: float | None, res: int,
                       announce: Callable[[str], None] | None = None) -> tuple[Tensor, Tensor, Tensor | None, dict[str, bytes]]:
    """``--camera-from-video``: the generation path of the clip and its picture / report files; ``announce``
    gets the line on what the path is made of (as ``genxd trajectory from-video`` prints it)."""
    import io

    from .cameras.from_video import default_spacing, path_summary, video_path_report
    from .cameras.plot import draw_camera_path

    assert s.camera_from_video is not None  # called for a --camera-from-video generation only
    name = Path(s.camera_from_video).name
    vp, report, title = video_path_report(clip_cameras, num_frames, name, intrinsics=s.path_intrinsics,
                                          model_focal=focal, spacing=s.path_spacing or default_spacing(s.mode),
                                          smoothing=s.path_smoothing, path_scale=s.path_scale, size=(res, res))
    if announce is not None:
        announce(f"genxd: camera path from {name}: {path_summary(report)}")
    picture = io.BytesIO()
    draw_camera_path(vp.path.c2w, vp.path.K, title).save(picture, format="PNG")
    files = {"camera_path.png": picture.getvalue(),
             "camera_from_video.json": (json_text(report, indent=2, default=str) + "\n").encode()}
    return vp.path.c2w, vp.path.K, vp.path.times, files


__all__ = ["FrameCameras", "frame_cameras", "camera_trajectory", "unused_camera_settings", "unused_focal_warning", "camera_label", "camera_path_of", "video_camera_path",
           "preset_beside_a_path_warning"]



#: Cameras whose ``c2w`` differ by less than this (largest entry) share one pose.
STILL_POSE_TOL = 1e-6


def still_camera_warning(c2w: Tensor, s: "GenerateSettings") -> str | None:
    """The warning for a ``3d`` generation whose cameras all share one pose (the ``static`` or ``zoom`` preset, a
    camera file of one pose repeated, a still clip's path): the model is asked for views of a static scene from one
    point, which show nothing of it in 3D; worded for the caller (:mod:`genxd.caller_style`). None otherwise."""
    if s.mode != "3d" or len(c2w) < 2 or float((c2w - c2w[:1]).abs().max()) > STILL_POSE_TOL:
        return None
    if s.camera_from_video is not None:
        subject = f"the camera path from {s.camera_from_video}"
    elif isinstance(s.camera, str) and s.camera in trajectories.PRESETS:
        subject = v.text_setting("camera", s.camera)
    else:
        subject = f"the camera path of {camera_label(s.camera)}"
    return (f"{subject}: all {len(c2w)} cameras share one pose, so {v.text_setting('mode', '3d')} makes views of a static "
            f"scene from one point, which show nothing of it in 3D; give a camera that moves ({v.text_setting('camera', 'orbit')}"
            f", a path that moves) for a 3D scene, or {v.text_setting('mode', '4d')} for moving objects seen from a still "
            "camera")


#: Frame times further than this from evenly spaced ones are not evenly spaced.
EVEN_TIMES_TOL = 1e-3


def uneven_time_steps(times: Tensor | None) -> tuple[float, float] | None:
    """The smallest and largest step between frame ``times`` that are not evenly spaced; None for even ones (or
    none, or fewer than 3)."""
    if times is None or len(times) < 3:
        return None
    t = times.double()
    even = torch.linspace(float(t[0]), float(t[-1]), len(t), dtype=torch.float64)
    # the span's size: times running backwards (1 -> 0) are evenly spaced too (backward_times_warning says so)
    if float((t - even).abs().max()) <= EVEN_TIMES_TOL * max(1e-12, abs(float(t[-1] - t[0]))):
        return None
    steps = t.diff()
    return float(steps.min()), float(steps.max())


def _rewrite_path(camera: object, num_frames: int, **settings: str) -> str:
    """How to write the camera file ``camera`` again with ``trajectory from-video``'s ``settings`` (``spacing``,
    ``path_scale``) and generate along that, in the caller's words: `` and give that as --camera: genxd trajectory
    from-video FILE -o PATH.json -n N --spacing time`` on the command line; ``: genxd.cameras.from_video.write_video_path(
    'FILE', 'PATH.json', N, spacing='time'), then camera='PATH.json'`` from Python (the function the command runs)."""
    if v.is_cli():
        flags = "".join(f" --{k.replace('_', '-')} {val}" for k, val in settings.items())
        return (f" and give that as {v.arg('camera')}: genxd trajectory from-video {shlex.quote(str(camera))} "
                f"-o PATH.json -n {num_frames}{flags}")
    given = "".join(f", {k}={val!r}" if k == "spacing" else f", {k}={val}" for k, val in settings.items())
    return (f": genxd.cameras.from_video.write_video_path({str(camera)!r}, 'PATH.json', {num_frames}{given}), "
            "then camera='PATH.json'")


def single_time(times: Tensor | None) -> float | None:
    """The one time of frame ``times [F]`` that are all equal (a camera file's frozen instant), else None."""
    if times is None or len(times) < 2 or bool((times != times[0]).any()):
        return None
    return float(times[0])


def single_time_warning(times: Tensor | None, s: "GenerateSettings") -> str | None:
    """The warning for a ``4d`` generation along a camera file whose frames all have one time: the model moves the
    objects from frame to frame all the same, while ``transforms.json`` keeps that one time, so a 4D reconstruction
    makes a single instant of the moving frames. None otherwise."""
    if s.mode != "4d" or (still := single_time(times)) is None:
        return None
    return (f"{_path_subject(s)}: its {single_time_finding(still)}; transforms.json keeps that one time, so genxd "
            f"reconstruct --mode 4d makes a single instant of the moving frames; use {v.arg('mode')} 3d for a still "
            "scene along the path")


def single_time_finding(still: float) -> str:
    """What is wrong with frame times that are all ``still`` (:func:`single_time`) in 4D, worded once for
    :func:`single_time_warning` and the demo's note, which each add what it means for their reconstruction:
    ``frames all have the same time (0.5), but in 4D the model moves the objects from frame to frame``."""
    return f"frames all have the same time ({still:g}), but in 4D the model moves the objects from frame to frame"


def times_run_backwards(times: Tensor | None) -> TypeGuard[Tensor]:
    """Whether frame ``times`` run backwards: the last frame's time is before the first's (1 -> 0)."""
    return times is not None and len(times) >= 2 and float(times[-1]) < float(times[0])


def backward_times_warning(times: Tensor | None, s: "GenerateSettings") -> str | None:
    """The warning for a ``4d`` generation along a path whose frame times run backwards (the last frame's before the
    first's, 1 -> 0; evenly spaced ones pass :func:`uneven_time_steps`): the model moves the objects forward from
    frame to frame while ``transforms.json`` records the path's times, so a 4D reconstruction reverses the order of
    time. Warned, not refused (a path may be meant to run back in time). None otherwise."""
    if s.mode != "4d" or not times_run_backwards(times):
        return None
    return (f"{_path_subject(s)}: its {backward_times_finding(times)}; transforms.json records the path's times, so "
            "genxd reconstruct --mode 4d reverses the order of time; give the frames times that increase along the "
            "path for the objects to move forward in its time")


def backward_times_finding(times: Tensor) -> str:
    """What is wrong with frame ``times [F]`` that run backwards (:func:`times_run_backwards`) in 4D, worded once for
    :func:`backward_times_warning` and the demo's note, which each add what it means for their reconstruction:
    ``frame times run backwards (1 at the first frame to 0 at the last), but the model moves the objects forward
    from frame to frame``."""
    return (f"frame times run backwards ({float(times[0]):g} at the first frame to {float(times[-1]):g} at the last), "
            "but the model moves the objects forward from frame to frame")


def _path_subject(s: "GenerateSettings") -> str:
    """What a warning on a camera path's times names: the path from a clip, or a camera file's."""
    if s.camera_from_video is not None:
        return f"the camera path from {s.camera_from_video}"
    return f"the camera path of {camera_label(s.camera)}"


def uneven_times_warning(times: Tensor | None, s: "GenerateSettings") -> str | None:
    """The warning for a ``4d`` generation along a path whose frame times are not evenly spaced (a path written by
    ``genxd trajectory from-video`` with its default ``--spacing arc``, ``path_spacing='arc'``): the model makes its
    frames evenly spaced in time (it is given no times), so the objects move at an even pace while the camera keeps
    the clip's pace, and ``transforms.json`` records times the frames do not show. None otherwise (video mode
    follows no camera path, and says so)."""
    if s.mode != "4d" or times is None or (steps := uneven_time_steps(times)) is None:
        return None
    if s.camera_from_video is not None:
        subject, advice = (f"the camera path from {s.camera_from_video}",
                           f"leave {v.arg('path_spacing')} out (the clip's timing in {s.mode} mode)")
    elif isinstance(s.camera, CameraPath):
        subject, advice = (f"the camera path of {camera_label(s.camera)}",
                           "to follow it at an even pace, resample it evenly in time "
                           f"(genxd.cameras.resample.resample_path(c2w, K, times, {len(times)}, spacing='time'))")
    else:  # any camera file with times (a genxd curate sample, a from-video path of --spacing arc) is resampled so
        subject, advice = (f"the camera path of {camera_label(s.camera)}",
                           "to follow it at an even pace, resample it evenly in time"
                           + _rewrite_path(s.camera, len(times), spacing="time"))
    return f"{subject}: its {uneven_times_finding(steps)}, and transforms.json records the path's times; {advice}"


def uneven_times_finding(steps: tuple[float, float]) -> str:
    """What is wrong with frame times whose smallest and largest ``steps`` (:func:`uneven_time_steps`) differ, in 4D,
    worded once for :func:`uneven_times_warning` and the demo's note, which each add what it means for them: ``frame
    times are not evenly spaced (steps of 0.05 to 0.2), but the model makes its frames evenly spaced in time, so the
    objects move at an even pace while the camera keeps the path's``."""
    return (f"frame times are not evenly spaced (steps of {steps[0]:.3g} to {steps[1]:.3g}), but the model makes its "
            "frames evenly spaced in time, so the objects move at an even pace while the camera keeps the path's")


#: A camera file whose scene depth is further than this factor from the model's (either way) is warned about.
FILE_SCALE_FACTOR = 2.0


def file_scale_warning(path: CameraPath | None, s: "GenerateSettings", model_depth: float | None) -> str | None:
    """The warning for a camera file whose scene (``CameraPath.scene_depth``: a COLMAP model's points, as in a
    ``genxd curate`` sample, or a synthetic clip's record) lies more than :data:`FILE_SCALE_FACTOR` times nearer or
    further than the model's ``model_depth``: a file is used at its own scale, and SfM's is arbitrary (a curated
    sample's scene at depth 37 moved the cameras 37 times as far as the model learnt). None where the depth is
    unknown (a file without points: its scale is the file's) or close, for a ``CameraPath`` object, in video mode
    (the model is given no cameras) and where the model's depth is not known (``model_depth`` None: a config
    without ``scene_depth``, :attr:`~genxd.checkpoints.ModelInfo.scene_depth_unstated`)."""
    if path is None or isinstance(s.camera, CameraPath) or s.mode == "video" or model_depth is None:
        return None
    depth = path.scene_depth
    if not isinstance(depth, (int, float)) or not math.isfinite(depth) or depth <= 0 or model_depth <= 0:
        return None
    ratio = float(depth) / model_depth
    if 1 / FILE_SCALE_FACTOR <= ratio <= FILE_SCALE_FACTOR:
        return None
    return (f"the camera path of {camera_label(s.camera)}: its scene is at depth {depth:.3g} from the first camera, "
            f"the model's at {model_depth:g}, and a camera file is used at its own scale, so its cameras move "
            f"{ratio:.3g} times as far as in the model's training clips; write it at the model's scale"
            + _rewrite_path(s.camera, len(path), path_scale=f"{model_depth:g}",
                            **({"spacing": "time"} if s.mode == "4d" else {})))
