"""Camera paths as the demo's form describes them: a preset with its parameters, a camera file, keyframes,
or (when :mod:`genxd.cameras` offers it) the camera motion of a video.

Everything returns ``(c2w [F, 4, 4], K [F, 3, 3])`` in the project convention (docs/conventions.md). The
preset parameters shown in the page are read from the preset functions' signatures
(:data:`genxd.cameras.trajectories.PRESETS`), so a new preset shows up with its parameters without any
change here.
"""

from __future__ import annotations

import inspect
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..cameras import trajectories

__all__ = [
    "PresetParam", "preset_params", "preset_path", "file_path", "keyframe_path", "video_path_provider",
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
DEFAULT_KEYFRAMES = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.3, 0.0, 0.1, -10.0, 0.0, 0.0], [0.6, -0.1, 0.3, -20.0, 5.0, 0.0]]


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


def preset_path(name: str, num_frames: int, focal: float | None, values: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """Build preset ``name`` with the page's ``values`` (parameter name -> value as the page holds it)."""
    if name not in trajectories.PRESETS:
        raise ValueError(f"camera preset must be one of {', '.join(sorted(trajectories.PRESETS))}, got {name!r}")
    kwargs: dict[str, Any] = {"num_frames": int(num_frames)}
    if focal is not None:
        kwargs["focal"] = float(focal)
    for p in preset_params(name):
        if p.name not in values or values[p.name] is None:
            continue
        v = values[p.name]
        if p.kind == "range":
            kwargs[p.name] = parse_range(v, p.label) if isinstance(v, str) else tuple(float(x) for x in v)
        elif p.kind == "choice":
            if v not in p.choices:
                raise ValueError(f"{p.label}: must be one of {', '.join(p.choices)}, got {v!r}")
            kwargs[p.name] = v
        else:
            kwargs[p.name] = float(v)
    c2w, K = trajectories.make_trajectory(name, **kwargs)
    return c2w.float(), K.float()


def file_path(path: str | Path, num_frames: int) -> tuple[Tensor, Tensor]:
    """A camera file (the formats ``genxd generate --camera FILE`` reads); its own frame count is kept."""
    from ..api import camera_trajectory

    path = Path(path)
    try:
        return camera_trajectory(path, num_frames)
    except (KeyError, TypeError, IndexError) as exc:  # a JSON file of another layout
        raise ValueError(f"{path.name}: not a camera path file ({exc.__class__.__name__}: {exc})") from None


def _rotation(yaw: float, pitch: float, roll: float) -> Tensor:
    """OpenCV camera rotation: yaw about +y (positive turns the view right), pitch about x (positive looks
    up, i.e. towards -y), roll about +z; applied roll, then pitch, then yaw. Float64 ``[3, 3]``."""
    from scipy.spatial.transform import Rotation

    r = Rotation.from_euler("YXZ", [yaw, pitch, roll], degrees=True)  # intrinsic: Ry @ Rx @ Rz
    return torch.from_numpy(r.as_matrix())


def keyframe_path(rows: Sequence[Sequence[Any]], num_frames: int, focal: float) -> tuple[Tensor, Tensor]:
    """A smooth path through keyframes (:func:`genxd.cameras.trajectories.interpolate`).

    ``rows``: one keyframe a row, :data:`KEYFRAME_COLUMNS`, in the first camera's frame; the first row is
    the input view. Blank rows are skipped.
    """
    keys = []
    for r, row in enumerate(rows):
        cells = ["" if v is None else str(v).strip() for v in row]
        if not any(cells):
            continue
        try:
            values = [float(v) for v in cells[:6]]
        except ValueError:
            raise ValueError(f"keyframe {r + 1}: expected 6 numbers ({', '.join(KEYFRAME_COLUMNS)}), got {list(row)}") from None
        if len(values) != 6 or not all(math.isfinite(v) for v in values):
            raise ValueError(f"keyframe {r + 1}: expected 6 finite numbers ({', '.join(KEYFRAME_COLUMNS)}), got {list(row)}")
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


def video_path_provider() -> Callable[..., Any] | None:
    """``genxd.cameras.trajectory_from_video`` when this installation has it (camera paths from videos), else None.

    Expected call: ``trajectory_from_video(video_path, num_frames=F)`` returning ``(c2w, K)`` or an object with
    ``.c2w`` and ``.K``. The page shows its "from a video" input only when this returns a function.
    """
    from .. import cameras

    fn = getattr(cameras, "trajectory_from_video", None)
    return fn if callable(fn) else None


def video_path(path: str | Path, num_frames: int) -> tuple[Tensor, Tensor]:
    fn = video_path_provider()
    if fn is None:
        raise ValueError("camera paths from videos are not available in this installation")
    out = fn(Path(path), num_frames=int(num_frames))
    c2w, K = (out.c2w, out.K) if hasattr(out, "c2w") else out
    return torch.as_tensor(c2w).float(), torch.as_tensor(K).float()


def context_frames(num_images: int, num_frames: int) -> list[int]:
    """Frames the input images condition: evenly spaced along the path, the first image at frame 0."""
    if num_images < 1:
        raise ValueError("no input image")
    if num_images >= num_frames:
        raise ValueError(f"{num_images} input images need a path of more than {num_images} frames, got {num_frames}")
    if num_images == 1:
        return [0]
    step = (num_frames - 1) / (num_images - 1)
    return [int(round(i * step)) for i in range(num_images)]
