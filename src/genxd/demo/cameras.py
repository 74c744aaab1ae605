"""Camera paths as the demo's form describes them: a preset with its parameters, a camera file, keyframes,
or the camera motion of a video (:mod:`genxd.cameras.from_video`).

Everything returns ``(c2w [F, 4, 4], K [F, 3, 3])`` in the project convention (docs/conventions.md); a camera
file and a video also give their frame times (``times [F]`` in [0, 1], or None), which ``genxd generate`` writes
into ``cameras.json`` / ``transforms.json``. The
preset parameters shown in the page are read from the preset functions' signatures
(:data:`genxd.cameras.trajectories.PRESETS`), so a new preset shows up with its parameters without any
change here.
"""

from __future__ import annotations

import inspect
import math
import re
import threading
import typing
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from .. import validation as v
from ..cameras import trajectories

__all__ = [
    "PresetParam", "preset_params", "preset_path", "file_path", "keyframe_path", "video_cameras", "video_notes", "video_path",
    "video_generation_path", "video_range", "range_text", "clip_bounds", "range_words",
    "context_frames", "KEYFRAME_COLUMNS", "DEFAULT_KEYFRAMES",
]

#: Parameters every path shares (one control each in the page), or that only make sense in code.
_SHARED = {"num_frames", "focal", "n"}
_EXPERT = {"target", "frame", "consistent4d"}

_LABELS = {
    "elevation": "elevation (degrees)",
    "azimuth_range": "azimuth range (degrees, from,to)",
    "radius": "radius",
    "num_rotations": "rotations",
    "focus_distance": "focus distance",
    "distance": "distance",
    "factor": "zoom factor",
    "angle": "angle (degrees)",
    "mode": "pan mode",
}

#: Keyframe table columns: position in the first camera's frame (OpenCV: x right, y down, z forward) and
#: the rotation from the first camera as yaw (about y, + turns right), pitch (about x, + looks up), roll
#: (about z), degrees.
KEYFRAME_COLUMNS = ["x", "y", "z", "yaw", "pitch", "roll"]
#: Keyframe positions (the model's units: the scene seen from the input at depth 1) and angles (degrees).
KEYFRAME_POSITION = v.Float(-1e4, 1e4)
KEYFRAME_ANGLE = v.AZIMUTH
DEFAULT_KEYFRAMES = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.3, 0.0, 0.1, -10.0, 0.0, 0.0], [0.6, -0.1, 0.3, -20.0, 5.0, 0.0]]


#: Preset parameters checked as ``genxd generate`` checks its options of the same name; other numbers: finite
#: and at most the largest radius ``genxd generate`` takes (the presets then check their own sense, e.g. > 0).
_PARAM_SPECS: dict[str, v.Spec] = {"elevation": v.ELEVATION, "azimuth_range": v.AZIMUTH_RANGE, "radius": v.RADIUS,
                                   "angle": v.AZIMUTH}
_PRESET_PARAM_SPECS: dict[tuple[str, str], v.Spec] = {("spiral", "radius"): v.Float(0.0, v.MAX_RADIUS),
                                                      ("spiral", "focus_distance"): v.Float(0.0, v.MAX_RADIUS,
                                                                                            lo_open=True)}
_ANY_NUMBER = v.Float(-v.MAX_RADIUS, v.MAX_RADIUS)


@dataclass(frozen=True)
class PresetParam:
    """One parameter of a preset path, as the page shows it."""

    preset: str
    name: str
    default: Any
    kind: str  # "number", "range" (two numbers) or "choice"
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return _LABELS.get(self.name, self.name.replace("_", " "))

    @property
    def spec(self) -> v.Spec:
        """The check of this parameter's value (:mod:`genxd.validation`)."""
        if self.kind == "choice":
            return v.Choice(self.choices)
        spec = _PRESET_PARAM_SPECS.get((self.preset, self.name)) or _PARAM_SPECS.get(self.name)
        if spec is None:
            spec = v.Pair(_ANY_NUMBER) if self.kind == "range" else _ANY_NUMBER
        return spec


def preset_params(name: str) -> list[PresetParam]:
    """The tunable parameters of preset ``name`` (shared ones like frames and focal excluded)."""
    fn = trajectories.PRESETS[name]
    hints = typing.get_type_hints(fn)
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in _SHARED or p.name in _EXPERT or p.default is inspect.Parameter.empty:
            continue
        hint = hints.get(p.name)
        if typing.get_origin(hint) is typing.Literal:
            out.append(PresetParam(name, p.name, p.default, "choice", tuple(typing.get_args(hint))))
        elif isinstance(p.default, tuple) and len(p.default) == 2:
            out.append(PresetParam(name, p.name, p.default, "range"))
        elif isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
            out.append(PresetParam(name, p.name, p.default, "number"))
    return out


def parse_range(text: str, label: str) -> tuple[float, float]:
    """``"a,b"`` -> ``(a, b)``; a one-line error naming ``label`` otherwise."""
    parts = str(text).replace(":", ",").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"{label}: expected two numbers like '-30,30', got {text!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"{label}: expected finite numbers, got {text!r}")
    return a, b


def preset_path(name: str, num_frames: int, focal: float | None, values: dict[str, Any],
                scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """Build preset ``name`` with the page's ``values`` (parameter name -> value as the page holds it), camera
    positions times ``scale`` (the model's :attr:`~genxd.checkpoints.ModelInfo.preset_scale`)."""
    name = v.Choice(tuple(sorted(trajectories.PRESETS))).check(name, "Preset")  # any JSON value from the API
    kwargs: dict[str, Any] = {"num_frames": int(num_frames)}
    if focal is not None:
        kwargs["focal"] = float(focal)
    for p in preset_params(name):
        if p.name not in values or values[p.name] is None:
            continue
        value = values[p.name]
        if p.kind == "range" and isinstance(value, str):
            value = parse_range(value, p.label)
        kwargs[p.name] = p.spec.check(value, p.label)  # finite and in the range genxd generate takes
    try:
        c2w, K = trajectories.make_trajectory(name, **kwargs)
    except ValueError as exc:  # the presets name their arguments ("num_frames must be ..."); the page its controls
        raise ValueError(page_words(str(exc), name)) from None
    return trajectories.scale_translations(c2w, scale).float(), K.float()


def page_words(text: str, preset: str) -> str:
    """A preset's refusal with its argument names (``num_frames``, ``azimuth_range``, ...) as the page's controls
    name them: "num_frames must be ..." -> "Frames must be ..."."""
    labels = {"num_frames": "Frames"}
    labels |= {p.name: p.label for p in preset_params(preset) if "_" in p.name}  # plain words stay as they are
    for argument, label in labels.items():
        text = re.sub(rf"\b{argument}\b", label, text)
    return text


def public_message(text: str, path: str | Path) -> str:
    """``text`` with ``path`` (a file in the server's folders) named by its file name only."""
    path = Path(path)
    for full in {str(path.resolve()), str(path)}:
        text = text.replace(full, path.name)
    return text


#: advice of the camera readers' Python wording that the page has no control for (its image size boxes)
PYTHON_ONLY_ADVICE = (" or pass height and width",)
#: the camera files the page's Camera file control takes (one .json file: no COLMAP or output folder)
PAGE_CAMERA_FORMATS = "an authors' camera JSON, a w2c list JSON, a transforms.json or a 3DGS cameras.json"


def file_words(text: str) -> str:
    """A camera file reader's refusal as the page can act on it: without advice only a Python caller can follow
    (the page has no height / width boxes, so a transforms.json without its image size is told to add it to the
    file, as the CLI says), and the formats it expects are the .json files the control takes, not the folders
    ``genxd generate --camera`` also reads."""
    from ..cameras.reader import camera_formats_help

    for advice in PYTHON_ONLY_ADVICE:
        text = text.replace(advice, "")
    return text.replace(camera_formats_help(), PAGE_CAMERA_FORMATS)


def file_path(path: str | Path, num_frames: int, max_frames: int | None = None, focal: float | None = None,
              fit: str = "crop") -> tuple[Tensor, Tensor, Tensor | None]:
    """A camera file (the formats ``genxd generate --camera FILE`` reads) and its frame times (None when it has
    none), as ``genxd generate --camera FILE --focal F --fit FIT`` takes it: ``focal`` for a file without
    intrinsics, cameras of another shape fitted to the square output as the images are (``fit``). Its own frame
    count is kept, at most ``max_frames``. Errors name the file by its name only."""
    from ..camera_arguments import frame_cameras

    path = Path(path)
    try:
        c2w, K, times, _ = frame_cameras(path, num_frames, focal, fit=fit)  # a Path: never a preset
    except (KeyError, TypeError, IndexError) as exc:  # a JSON file of another layout
        raise ValueError(f"{path.name}: not a camera path file ({exc.__class__.__name__}: {exc})") from None
    except (ValueError, OSError) as exc:  # not JSON, unreadable, bad values: the reader's one line
        raise ValueError(file_words(public_message(str(exc), path))) from None
    n = c2w.shape[0]
    if n < 2:
        raise ValueError(f"{path.name} has {n} camera{'s' if n != 1 else ''}; a path needs at least 2")
    if max_frames is not None and n > max_frames:
        raise ValueError(f"{path.name} has {n} cameras; this page makes at most {max_frames} frames")
    return c2w, K, times


def _rotation(yaw: float, pitch: float, roll: float) -> Tensor:
    """OpenCV camera rotation: yaw about +y (positive turns the view right), pitch about x (positive looks
    up, i.e. towards -y), roll about +z; applied roll, then pitch, then yaw. Float64 ``[3, 3]``."""
    from scipy.spatial.transform import Rotation

    r = Rotation.from_euler("YXZ", [yaw, pitch, roll], degrees=True)  # intrinsic: Ry @ Rx @ Rz
    return torch.from_numpy(r.as_matrix())


def _cell(value: Any) -> str:
    """A keyframe table cell as text; ``""`` when empty (None, blank, or the NaN the page sends for an empty cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def keyframe_path(rows: Sequence[Sequence[Any]], num_frames: int, focal: float) -> tuple[Tensor, Tensor]:
    """A smooth path through keyframes (:func:`genxd.cameras.trajectories.interpolate`).

    ``rows``: one keyframe a row, :data:`KEYFRAME_COLUMNS`, in the first camera's frame; the first row is
    the input view. Blank rows (every cell empty or NaN) are skipped.
    """
    keys = []
    for r, row in enumerate(rows):
        cells = [_cell(x) for x in row]
        if not any(cells):
            continue
        shown = [x if c else "" for c, x in zip(cells, row)]
        not_six = f"keyframe {r + 1}: expected 6 numbers ({', '.join(KEYFRAME_COLUMNS)}), got {shown}"
        if any(cells[6:]):  # a 7th number (an API client's table) is not dropped unseen; blank extra cells are
            raise ValueError(not_six)
        try:
            values = [float(x) for x in cells[:6]]
        except ValueError:
            raise ValueError(not_six) from None
        if len(values) != 6 or not all(math.isfinite(x) for x in values):
            raise ValueError(f"keyframe {r + 1}: expected 6 finite numbers ({', '.join(KEYFRAME_COLUMNS)}), got {shown}")
        for col, x in zip(KEYFRAME_COLUMNS, values):
            (KEYFRAME_POSITION if col in ("x", "y", "z") else KEYFRAME_ANGLE).check(x, f"keyframe {r + 1}: {col}")
        c2w = torch.eye(4, dtype=torch.float64)
        c2w[:3, :3] = _rotation(*values[3:])
        c2w[:3, 3] = torch.tensor(values[:3], dtype=torch.float64)
        keys.append(c2w)
    if len(keys) < 2:
        raise ValueError("keyframes: give at least 2 rows")
    if int(num_frames) < len(keys):
        raise ValueError(f"keyframes: {len(keys)} keyframes need at least as many frames, got {num_frames}")
    keys_t = torch.stack(keys)
    keys_t = torch.linalg.inv(keys_t[0]) @ keys_t  # the first keyframe is the input view
    c2w, K = trajectories.interpolate(keys_t, int(num_frames), focal=float(focal))
    return c2w.float(), K.float()


#: Clips whose cameras were recovered, newest last: (resolved path, mtime, size, range) -> ClipCameras.
_VIDEO_CAMERAS: "OrderedDict[tuple, Any]" = OrderedDict()
_VIDEO_LOCK = threading.Lock()
VIDEO_CACHE_SIZE = 8
#: what may work when SfM fails on a clip, for the page (no frame count to raise); it takes no clip focal length
VIDEO_ADVICE = "; a clip with more camera movement or texture may work"
#: the kinds of path the page's video control takes, as the camera recovery's refusal of another lists them
#: (genxd.cameras.clip_cameras.not_a_clip): one file, a video (no folder of frames, no camera file: the Camera file
#: control takes those; :func:`not_a_video`)
VIDEO_KINDS = ("a video file",)
#: The range boxes' names (``genxd.generate``'s ``camera_start`` / ``camera_end``, the API's names) -> the page's words
RANGE_WORDS = {"camera_start": "Start", "camera_end": "End"}


def range_words(text: str) -> str:
    """A range's refusal or note worded for the page: ``camera_start='30f'`` / ``camera_start=2.5`` (how
    :mod:`genxd.cameras.clip_range` names a bound given from Python) -> ``Start 30f`` / ``Start 2.5``."""
    for name, word in RANGE_WORDS.items():
        text = re.sub(rf"\b{name}=(?:'([^']*)'|(\S+?))(?=[\s,;:)]|$)", lambda m: f"{word} {m.group(1) or m.group(2)}",
                      text)
        text = re.sub(rf"\b{name}\b", word, text)
    return text


def clip_bounds(start: Any = None, end: Any = None) -> tuple[Any, Any]:
    """The Start / End boxes of "From a video" as :class:`genxd.cameras.clip_range.ClipBound` (None: blank, the
    clip's start / end), checked as ``genxd generate --camera-start / --camera-end`` checks them; a ValueError in
    the page's words otherwise (``Start must be 0 or more ...``)."""
    from ..cameras.clip_range import check_bounds

    def given(x: Any) -> Any:
        return None if x is None or (isinstance(x, str) and not x.strip()) else x

    try:
        return check_bounds(given(start), given(end), ("camera_start", "camera_end"))
    except ValueError as exc:  # InvalidValue / InvalidType
        raise ValueError(range_words(str(exc))) from None


def _bound_key(bound: Any) -> Any:
    return None if bound is None else (bound.value, bound.frames)


def not_a_video(path: Path) -> str | None:
    """The video control's refusal of file ``path`` when it is no video (its suffix none of the recovery's video
    suffixes), None for a video. The recovery would take a camera file's cameras as the clip's, and the page's
    ``gr.Video`` passes on any file an API client uploads: a ``.json`` is sent to the Camera file control, which
    takes camera files; any other file is refused as the recovery refuses it (:data:`VIDEO_KINDS`)."""
    from ..cameras.clip_cameras import not_a_clip
    from ..curation.frames import VIDEO_EXTENSIONS
    from .camera_form import SOURCES

    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return None
    if suffix == ".json":
        return f"{path.name}: not a video file; a camera file (.json) goes in {SOURCES['file']}, not {SOURCES['video']}"
    return not_a_clip(path.name, VIDEO_KINDS)


def video_cameras(path: str | Path, start: Any = None, end: Any = None) -> Any:
    """The cameras of an uploaded clip (:func:`genxd.cameras.from_video.recover_clip_cameras`: SfM on its
    frames, or the camera file beside it), of its frames ``[start, end)`` (:func:`clip_bounds`; None: all),
    recovered once per file and range: the preview and the generation of the same upload reuse them. One recovery
    at a time (SfM uses every core). A file that is no video is refused first (:func:`not_a_video`). Errors name the
    file by its name only, and the bounds as the page does."""
    from ..cameras.from_video import ClipAdvice, recover_clip_cameras

    bounds = clip_bounds(start, end)
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"video not found: {p.name}")
    if (refusal := not_a_video(p)) is not None:  # the recovery has no source of videos only ("sfm": frame folders)
        raise ValueError(refusal)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime, st.st_size, *map(_bound_key, bounds))
    with _VIDEO_LOCK:
        if key in _VIDEO_CAMERAS:
            _VIDEO_CAMERAS.move_to_end(key)
            return _VIDEO_CAMERAS[key]
        try:
            cams = recover_clip_cameras(p, advice=ClipAdvice(VIDEO_ADVICE, "", kinds=VIDEO_KINDS), start=bounds[0],
                                        end=bounds[1])
        except (ValueError, OSError) as exc:  # the file by its name, the bounds as the page's boxes
            text = range_words(public_message(str(exc), p))
            raise (FileNotFoundError if isinstance(exc, FileNotFoundError) else ValueError)(text) from None
        _VIDEO_CAMERAS[key] = cams
        while len(_VIDEO_CAMERAS) > VIDEO_CACHE_SIZE:
            _VIDEO_CAMERAS.popitem(last=False)
        return cams


def video_notes(path: str | Path, start: Any = None, end: Any = None) -> list[str]:
    """What recovering the cameras of the clip at ``path`` (its range ``[start, end)``) said: a note (an end past
    the clip) and the warnings (a camera that stands still, frames left out, a focal length assumed), as ``genxd
    generate --camera-from-video`` prints them, as sentences for the page (the recovery is :func:`video_cameras`',
    done once per file and range)."""
    report = video_cameras(path, start, end).report
    notes = []
    for text in [*report.get("notes", []), *report.get("warnings", [])]:
        text = range_words(public_message(str(text), path))
        notes.append(f"The video's cameras: {text}{'' if text.endswith('.') else '.'}")
    return notes


def video_range(path: str | Path, start: Any = None, end: Any = None) -> dict[str, Any] | None:
    """The range of the clip the path follows, as ``genxd generate --camera-start / --camera-end`` records it
    (``{"range": "1 s - 3 s", "frames": [first, stop], "seconds": [t_first, t_last] or None}``); None for the whole
    clip."""
    return video_cameras(path, start, end).report.get("clip_range") or None


def range_text(span: dict[str, Any]) -> str:
    """A :func:`video_range` as the page says it: ``frames 30-89 of the clip, 1-2.97 s``."""
    first, stop = span["frames"]
    seconds = span.get("seconds")
    return f"frames {first}-{stop - 1} of the clip" + (f", {seconds[0]:.3g}-{seconds[1]:.3g} s" if seconds else "")


def video_path(path: str | Path, num_frames: int, focal: float, mode: str = "3d", start: Any = None,
               end: Any = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """The camera motion of a video (its frames ``[start, end)``) as a path of ``num_frames`` cameras and their
    times, as ``genxd generate --camera-from-video`` makes it with its defaults (relative to the first camera,
    scaled so that the scene's median depth is 1, the model's intrinsics at ``focal``; evenly spaced along the path
    in 3D, following the clip's timing in video / 4D)."""
    from ..cameras.from_video import default_spacing, make_video_path

    cams = video_cameras(path, start, end)
    try:
        vp = make_video_path(cams, int(num_frames), intrinsics="model", model_focal=float(focal),
                             spacing=default_spacing(mode))
    except (ValueError, OSError) as exc:  # the file by its name
        text = public_message(str(exc), path)
        raise (FileNotFoundError if isinstance(exc, FileNotFoundError) else ValueError)(text) from None
    return vp.path.c2w.float(), vp.path.K.float(), vp.path.times


def video_generation_path(path: str | Path, num_frames: int, focal: float, mode: str, resolution: int,
                          start: Any = None, end: Any = None) -> tuple[Tensor, Tensor, Tensor | None, dict[str, bytes]]:
    """:func:`video_path` as ``genxd generate --camera-from-video CLIP [--camera-start S --camera-end E]`` makes it
    (:func:`genxd.camera_arguments.video_camera_path`), with the files it writes beside the scene
    (``camera_from_video.json``: the report, its ``clip_range`` included; ``camera_path.png``), the clip named by
    its file name only."""
    from ..camera_arguments import video_camera_path
    from ..generate_settings import GenerateSettings

    cams = video_cameras(path, start, end)
    settings = GenerateSettings(camera_from_video=Path(path).name, mode=mode)
    try:
        c2w, K, times, files = video_camera_path(cams, settings, int(num_frames), float(focal), int(resolution))
    except (ValueError, OSError) as exc:
        raise ValueError(public_message(str(exc), path)) from None
    import json

    from ..utils.json_text import json_text

    def named(x: Any) -> Any:  # no server folder in the download: the clip by its name ("source", the warnings)
        if isinstance(x, str):
            return public_message(x, path)
        if isinstance(x, list):
            return [named(y) for y in x]
        return {k: named(y) for k, y in x.items()} if isinstance(x, dict) else x

    report = named(json.loads(files["camera_from_video.json"]))
    files["camera_from_video.json"] = (json_text(report, indent=2, default=str) + "\n").encode()
    return c2w.float(), K.float(), times, files


def context_frames(num_images: int, num_frames: int) -> list[int]:
    """Frames the input images condition: evenly spaced along the path, the first image at frame 0."""
    if num_images < 1:
        raise ValueError("no input image")
    if num_images >= num_frames:
        images = "1 input image needs" if num_images == 1 else f"{num_images} input images need"
        raise ValueError(f"{images} a path of at least {num_images + 1} frames; this one has {num_frames}")
    if num_images == 1:
        return [0]
    step = (num_frames - 1) / (num_images - 1)
    return [int(round(i * step)) for i in range(num_images)]
