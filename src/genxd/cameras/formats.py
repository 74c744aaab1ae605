"""Camera file formats: the authors' camera JSON, w2c lists, nerfstudio ``transforms.json``, COLMAP.

Everything in memory follows ``docs/conventions.md`` (OpenCV camera-to-world ``c2w [N, 4, 4]``,
normalised intrinsics ``K [N, 3, 3]``); conversions happen only here, at the file boundary. All
writers are atomic (a crash never leaves a half-written file under the final name) and every
format round-trips exactly (up to float64 -> text -> float64 and quaternion rounding, ~1e-12).
Every reader raises ``ValueError`` naming the file and the format for a malformed file (empty,
not JSON, wrong types, ragged lists, zero sizes ...). To read a file of any of these formats, use
:func:`genxd.cameras.read_camera_path`, which recognises the format.

Formats:

- **authors' camera JSON** (written by GenXD's ``inference.py`` beside each video): ``fx, fy, cx,
  cy`` in *pixels* (one camera for the whole clip), ``height``, ``width``, and ``cameras``: one
  world-to-camera 3x4 matrix (OpenCV axes) per frame. genxd's extension (``docs/cameras.md``):
  ``frame_intrinsics`` (per-frame pixel ``[fx, fy, cx, cy]``, written only when they differ between
  frames; the top-level values are then the first frame's, so the authors' tools still read it) and
  ``times`` (per-frame times in [0, 1], written only when given).
- **w2c list JSON** (the authors' ``*_rel.json`` and ``gen_poses_w2c.json``): a bare list of 3x4
  world-to-camera matrices, or ``{"camera": [[0]*6 + w2c (12)] * N}`` (their ``--save_format 18``).
- **nerfstudio transforms.json**: OpenGL camera-to-world ``frames[i].transform_matrix``, pixel
  intrinsics ``fl_x, fl_y, cx, cy, w, h`` at the top level or per frame; NeRF-synthetic files with
  ``camera_angle_x`` (and optionally ``camera_angle_y``) are read too; ``frames[i].time`` (as in
  D-NeRF) holds a frame time.
- **COLMAP** binary / text models through pycolmap (:mod:`genxd.cameras.colmap`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ._io import (
    as_c2w,
    as_intrinsics,
    as_sizes,
    as_tensor64,
    describe,
    json_matrices,
    json_matrix,
    json_number,
    json_numbers,
    json_size,
    read_json,
    warn_dropped_skew,
    write_json_atomic,
)
from .camera_path import CameraPath
from .colmap import COLMAP_MODEL_FILES, ColmapModel, read_colmap_model, write_colmap_model
from .geometry import OPENCV_TO_OPENGL, c2w_to_w2c

__all__ = [
    "CameraPath",
    "ColmapModel",
    "save_camera_json",
    "load_camera_json",
    "save_w2c_list_json",
    "load_w2c_list_json",
    "save_transforms_json",
    "load_transforms_json",
    "write_colmap_model",
    "read_colmap_model",
    "COLMAP_MODEL_FILES",
    "AUTHORS_JSON",
    "W2C_JSON",
    "TRANSFORMS_JSON",
    "is_fisheye",
]

#: Format names used in messages and in ``CameraPath.source_format``.
AUTHORS_JSON = "authors' camera JSON"
W2C_JSON = "w2c list JSON"
TRANSFORMS_JSON = "transforms.json"


def _out_dtype(dtype: torch.dtype) -> torch.dtype:
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    return dtype


def _as_times(times: Tensor | np.ndarray | Sequence[float] | None, n: int) -> list[float] | None:
    if times is None:
        return None
    t = as_tensor64(times, "times").reshape(-1)
    if t.numel() != n:
        raise ValueError(f"times: {t.numel()} values for {n} cameras")
    if not torch.isfinite(t).all():
        raise ValueError("times: contains NaN or infinite values")
    return t.tolist()


def _pixel_intrinsics(k: Tensor, height: int, width: int) -> list[float]:
    return [float(k[0, 0]) * width, float(k[1, 1]) * height, float(k[0, 2]) * width, float(k[1, 2]) * height]


def _K_from_pixels(fx: float, fy: float, cx: float, cy: float, height: int, width: int) -> Tensor:
    K = torch.eye(3, dtype=torch.float64)
    K[0, 0], K[1, 1], K[0, 2], K[1, 2] = fx / width, fy / height, cx / width, cy / height
    return K


# ----------------------------------------------------------------------------------------------
# The authors' camera JSON (+ genxd's per-frame intrinsics / times extension)
# ----------------------------------------------------------------------------------------------


def save_camera_json(
    path: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    K: Tensor | np.ndarray,
    height: int,
    width: int,
    overwrite: bool = True,
    times: Tensor | np.ndarray | Sequence[float] | None = None,
) -> Path:
    """Write the authors' camera JSON (what GenXD's ``inference.py`` writes beside each video).

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world.
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics. When they differ between frames (a zoom),
            the top-level ``fx, fy, cx, cy`` are the first frame's and ``frame_intrinsics`` holds every
            frame's pixel ``[fx, fy, cx, cy]`` (genxd's extension, ``docs/cameras.md``).
        height, width: image size in pixels.
        times: optional ``[N]`` frame times (genxd's extension ``times``).
        overwrite: replace an existing file at ``path`` (the default, atomically); False: a FileExistsError.
    Layout: ``{"fx", "fy", "cx", "cy"`` (pixels), ``"height", "width",
    "cameras": [N][3][4]`` (world-to-camera, OpenCV axes)``}``.
    """
    c2w64 = as_c2w(c2w)
    n = c2w64.shape[0]
    K64 = as_intrinsics(K, n)
    (height,) = as_sizes(height, 1, "height")
    (width,) = as_sizes(width, 1, "width")
    frame_times = _as_times(times, n)
    warn_dropped_skew(K64, [width] * n, f"{Path(path).name} ({AUTHORS_JSON})")
    w2c = c2w_to_w2c(c2w64)[:, :3, :]
    fx, fy, cx, cy = _pixel_intrinsics(K64[0], height, width)
    obj: dict[str, Any] = {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "height": height, "width": width,
                           "cameras": w2c.tolist()}
    if (K64 - K64[:1]).abs().max() > 1e-12:
        obj["frame_intrinsics"] = [_pixel_intrinsics(k, height, width) for k in K64]
    if frame_times is not None:
        obj["times"] = frame_times
    return write_json_atomic(path, obj, overwrite=overwrite)


def _times_field(value: Any, n: int, where: str) -> Tensor:
    return torch.tensor(json_numbers(value, where, n), dtype=torch.float64)


def camera_json_from_object(obj: Any, path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> CameraPath:
    """A parsed authors' camera JSON (see :func:`save_camera_json`) as a :class:`CameraPath`."""
    where = f"{path} ({AUTHORS_JSON})"
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object with fx, fy, cx, cy, height, width, cameras; "
                         f"got {describe(obj)}")
    missing = [k for k in ("fx", "fy", "cx", "cy", "height", "width", "cameras") if k not in obj]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    height = json_size(obj["height"], f"{where}: 'height'")
    width = json_size(obj["width"], f"{where}: 'width'")
    w2c = json_matrices(obj["cameras"], f"{where}: 'cameras'")
    n = len(w2c)
    c2w = c2w_to_w2c(as_c2w(w2c, name=f"{where}: 'cameras'"))
    first = [json_number(obj["fx"], f"{where}: 'fx'", positive=True), json_number(obj["fy"], f"{where}: 'fy'", positive=True),
             json_number(obj["cx"], f"{where}: 'cx'"), json_number(obj["cy"], f"{where}: 'cy'")]
    if obj.get("frame_intrinsics") is not None:
        rows = obj["frame_intrinsics"]
        if not isinstance(rows, list) or len(rows) != n:
            raise ValueError(f"{where}: 'frame_intrinsics' must list [fx, fy, cx, cy] for each of the {n} cameras, "
                             f"got {describe(rows)}")
        Ks = []
        for i, row in enumerate(rows):
            fx, fy, cx, cy = json_numbers(row, f"{where}: 'frame_intrinsics'[{i}]", 4)
            for name, v in (("fx", fx), ("fy", fy)):
                if v <= 0:
                    raise ValueError(f"{where}: 'frame_intrinsics'[{i}]: {name} must be positive, got {v!r}")
            Ks.append(_K_from_pixels(fx, fy, cx, cy, height, width))
        K = torch.stack(Ks)
    else:
        fx, fy, cx, cy = first
        K = _K_from_pixels(fx, fy, cx, cy, height, width).expand(n, 3, 3)
    K = as_intrinsics(K, n, name=f"{where}: intrinsics")  # finite in float32, as the model needs them
    times = _times_field(obj["times"], n, f"{where}: 'times'") if obj.get("times") is not None else None
    dtype = _out_dtype(dtype)
    return CameraPath(c2w.to(dtype), K.to(dtype).contiguous(), height, width,
                      times=times, source_format=AUTHORS_JSON)


def load_camera_json(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> CameraPath:
    """Read the authors' camera JSON (see :func:`save_camera_json`) into a :class:`CameraPath`."""
    return camera_json_from_object(read_json(path, f"an {AUTHORS_JSON}"), path, dtype)


# ----------------------------------------------------------------------------------------------
# Bare world-to-camera lists (the authors' *_rel.json, gen_poses_w2c.json)
# ----------------------------------------------------------------------------------------------


def save_w2c_list_json(
    path: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    save_format: str = "3x4",
    overwrite: bool = True,
) -> Path:
    """Write poses as the authors' bare w2c list (``gen_poses_w2c.json``, ``*_rel.json``).

    ``save_format="3x4"``: ``[N][3][4]`` world-to-camera; ``"18"``: ``{"camera": [N][18]}`` with six
    zeros (no intrinsics) then the flattened 3x4 world-to-camera, as their ``--save_format 18``.
    ``c2w``: ``[N, 4, 4]`` OpenCV camera-to-world. ``overwrite``: replace an existing file at ``path`` (the
    default, atomically); False: a FileExistsError.
    """
    return write_json_atomic(path, w2c_list_object(c2w, save_format), overwrite=overwrite)


def w2c_list_object(c2w: Tensor | np.ndarray, save_format: str = "3x4") -> object:
    """What :func:`save_w2c_list_json` writes as JSON: ``[N][3][4]`` w2c lists (``"3x4"``) or
    ``{"camera": [N][18]}`` (``"18"``); ``c2w``: ``[N, 4, 4]`` OpenCV camera-to-world."""
    w2c = c2w_to_w2c(as_c2w(c2w))[:, :3, :]
    if save_format == "3x4":
        return w2c.tolist()
    if save_format == "18":
        rows = torch.cat([torch.zeros(len(w2c), 6, dtype=w2c.dtype), w2c.reshape(-1, 12)], dim=1)
        return {"camera": rows.tolist()}
    raise ValueError(f"save_format must be '3x4' or '18', got {save_format!r}")


def w2c_list_from_object(obj: Any, path: str | os.PathLike) -> tuple[Tensor, Tensor | None]:
    """A parsed w2c list JSON -> (c2w float64 ``[N, 4, 4]``, normalised K ``[N, 3, 3]`` or None).

    In the ``{"camera": [N][18]}`` layout, the first four values of a row are normalised ``fx, fy, cx,
    cy`` (the RealEstate10K / ReconFusion layout); all zeros (as the authors write) means none.
    """
    where = f"{path} ({W2C_JSON})"
    K = None
    if isinstance(obj, dict):
        if "camera" not in obj:
            raise ValueError(f"{where}: expected a list of 3x4 matrices or {{'camera': [N][18]}}")
        rows = obj["camera"]
        if not isinstance(rows, list) or not rows:
            raise ValueError(f"{where}: 'camera' must be a non-empty [N][18] list, got {describe(rows)}")
        values = np.array([json_numbers(r, f"{where}: 'camera'[{i}]", 18) for i, r in enumerate(rows)])
        w2c = torch.from_numpy(values[:, 6:].reshape(-1, 3, 4).copy())
        intr = values[:, :4]
        if np.any(intr != 0):
            if np.any(intr[:, :2] <= 0):
                raise ValueError(f"{where}: 'camera' rows start with fx, fy, cx, cy; fx and fy must be positive")
            K = torch.eye(3, dtype=torch.float64).repeat(len(values), 1, 1)
            K[:, 0, 0], K[:, 1, 1] = torch.from_numpy(intr[:, 0]), torch.from_numpy(intr[:, 1])
            K[:, 0, 2], K[:, 1, 2] = torch.from_numpy(intr[:, 2]), torch.from_numpy(intr[:, 3])
            K = as_intrinsics(K, len(values), name=f"{where}: 'camera' intrinsics")
    elif isinstance(obj, list):
        w2c = json_matrices(obj, f"{where}: matrices")
    else:
        raise ValueError(f"{where}: expected a list of 3x4 matrices, got {describe(obj)}")
    return c2w_to_w2c(as_c2w(w2c, name=where)), K


def load_w2c_list_json(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Tensor:
    """Read a bare w2c list JSON (either layout of :func:`save_w2c_list_json`); returns c2w ``[N, 4, 4]``."""
    c2w, _ = w2c_list_from_object(read_json(path, f"a {W2C_JSON}"), path)
    return c2w.to(_out_dtype(dtype))


# ----------------------------------------------------------------------------------------------
# nerfstudio transforms.json
# ----------------------------------------------------------------------------------------------


def save_transforms_json(
    path: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    K: Tensor | np.ndarray,
    height: int,
    width: int,
    file_paths: Sequence[str] | None = None,
    overwrite: bool = True,
    times: Tensor | np.ndarray | Sequence[float] | None = None,
) -> Path:
    """Write a nerfstudio ``transforms.json``.

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (stored as OpenGL: y and z axes flipped).
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics (stored in pixels); when they differ between
            frames, ``fl_x, fl_y, cx, cy`` are written per frame.
        height, width: image size in pixels.
        file_paths: per-frame image paths (relative to the JSON's folder); default
            ``images/frame_00001.png, ...`` (nerfstudio's naming).
        times: optional ``[N]`` frame times, written as ``frames[i].time`` (D-NeRF's key).
        overwrite: replace an existing file at ``path`` (the default, atomically); False: a FileExistsError.
    """
    c2w64 = as_c2w(c2w)
    n = c2w64.shape[0]
    K64 = as_intrinsics(K, n)
    (height,) = as_sizes(height, 1, "height")
    (width,) = as_sizes(width, 1, "width")
    frame_times = _as_times(times, n)
    warn_dropped_skew(K64, [width] * n, f"{Path(path).name} ({TRANSFORMS_JSON}, no standard key)")
    if file_paths is None:
        file_paths = [f"images/frame_{i + 1:05d}.png" for i in range(n)]
    file_paths = [str(p) for p in file_paths]
    if len(file_paths) != n:
        raise ValueError(f"file_paths: {len(file_paths)} paths for {n} cameras")
    c2w_gl = c2w64 @ OPENCV_TO_OPENGL

    def pixel_intrinsics(k: Tensor) -> dict[str, float]:
        return dict(zip(("fl_x", "fl_y", "cx", "cy"), _pixel_intrinsics(k, height, width)))

    shared = bool((K64 - K64[:1]).abs().max() <= 1e-12)
    obj: dict = {"camera_model": "OPENCV"}
    if shared:
        obj.update(pixel_intrinsics(K64[0]))
    obj.update({"w": width, "h": height, "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0})
    frames = []
    for i in range(n):
        frame: dict = {"file_path": file_paths[i], "transform_matrix": c2w_gl[i].tolist()}
        if not shared:
            frame.update(pixel_intrinsics(K64[i]))
        if frame_times is not None:
            frame["time"] = frame_times[i]
        frames.append(frame)
    obj["frames"] = frames
    return write_json_atomic(path, obj, overwrite=overwrite)


#: the ``camera_model`` values of a transforms.json genxd reads (nerfstudio's; a missing one is OPENCV)
TRANSFORMS_CAMERA_MODELS = frozenset({"OPENCV", "OPENCV_FISHEYE", "PINHOLE", "SIMPLE_PINHOLE"})


def is_fisheye(frame: dict, top: dict) -> bool:
    """Whether a ``transforms.json`` frame (``top``: the file's object, whose keys a frame inherits) has a fisheye
    lens: ``camera_model`` ``OPENCV_FISHEYE`` (nerfstudio), or ``"is_fisheye": true`` (instant-ngp's colmap2nerf)."""
    fields = {**top, **frame}  # a frame's own value, else the top level's
    return str(fields.get("camera_model") or "OPENCV").upper() == "OPENCV_FISHEYE" or fields.get("is_fisheye") is True


def _size_hint() -> str:
    """How the caller gives a transforms.json's image size: in the file on the command line (no option takes it),
    or also ``height`` / ``width`` from Python."""
    from ..caller_style import is_cli

    hint = 'add the image size in pixels to the file ("w" and "h", top level or per frame)'
    return hint if is_cli() else hint + " or pass height and width"


def _image_size_from_file(json_dir: Path, file_path: str) -> tuple[int, int] | None:
    """(height, width) of a frame's image file, trying NeRF-synthetic's extension-less paths with the suffixes the
    readers of its images try (:data:`genxd.utils.paths.LISTED_IMAGE_SUFFIXES`).

    Only files inside ``json_dir`` are looked at (a ``file_path`` pointing elsewhere gives None)."""
    from PIL import Image

    from ..utils.paths import find_listed_image

    try:
        root = json_dir.resolve()
        base = (json_dir / file_path).resolve()
        if root != base and root not in base.parents:
            return None
        found = find_listed_image(base)
    except (OSError, ValueError):  # no file can have that name: a NUL byte, past the file system's limit
        return None
    if found is None:
        return None
    try:
        with Image.open(found) as im:
            return im.height, im.width
    except Image.DecompressionBombError as exc:  # the header states billions of pixels
        raise ValueError(f"{found}: {str(exc).rstrip('.')}; give the image size (w, h) in the camera file") from None
    except (OSError, ValueError):
        return None


def transforms_from_object(
    obj: Any,
    path: str | os.PathLike,
    height: int | None = None,
    width: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> CameraPath:
    """A parsed ``transforms.json`` as a :class:`CameraPath` (see :func:`load_transforms_json`)."""
    path = Path(path)
    where = f"{path} ({TRANSFORMS_JSON})"
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'frames' list, got {describe(obj)}")
    frames = obj.get("frames")
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"{where}: needs a non-empty 'frames' list, got {describe(frames)}")
    c2w_list, K_list, sizes, names, times = [], [], set(), [], []
    for i, frame in enumerate(frames):
        at = f"{where}: frames[{i}]"
        if not isinstance(frame, dict):
            raise ValueError(f"{at}: expected an object with a transform_matrix, got {describe(frame)}")
        if "transform_matrix" not in frame:
            raise ValueError(f"{at}: no transform_matrix")

        def get(key: str, default: object = None) -> object:
            value = frame.get(key, obj.get(key, default))
            return default if value is None else value

        camera_model = str(get("camera_model", "OPENCV")).upper()
        if camera_model not in TRANSFORMS_CAMERA_MODELS:  # nerfstudio's EQUIRECTANGULAR: no K describes it
            raise ValueError(f"{path}: frames[{i}] has camera_model {camera_model!r}; genxd takes perspective (OPENCV, "
                             "PINHOLE) and fisheye (OPENCV_FISHEYE) cameras")
        w, h = get("w"), get("h")
        if w is None or h is None:
            w, h = width, height
        if w is None or h is None:
            size = _image_size_from_file(path.parent, str(frame.get("file_path", "")))
            if size is None:
                raise ValueError(f"{at}: no image size (w, h) in the file and the frame's image was not found; "
                                 f"{_size_hint()}")
            h, w = size
        w, h = json_size(w, f"{at}: 'w'"), json_size(h, f"{at}: 'h'")
        fl_x, fl_y = get("fl_x"), get("fl_y")
        if fl_x is None:
            angle_x = get("camera_angle_x")
            if angle_x is None:
                raise ValueError(f"{at}: neither fl_x nor camera_angle_x given")
            ax = json_number(angle_x, f"{at}: 'camera_angle_x'", positive=True)
            if ax >= math.pi:
                raise ValueError(f"{at}: 'camera_angle_x' must be below pi (radians), got {angle_x!r}")
            fl_x = 0.5 * w / math.tan(0.5 * ax)
            angle_y = get("camera_angle_y")
            if angle_y is not None:
                ay = json_number(angle_y, f"{at}: 'camera_angle_y'", positive=True)
                if ay >= math.pi:
                    raise ValueError(f"{at}: 'camera_angle_y' must be below pi (radians), got {angle_y!r}")
                fl_y = 0.5 * h / math.tan(0.5 * ay)
            else:
                fl_y = fl_x
        fx = json_number(fl_x, f"{at}: 'fl_x'", positive=True)
        fy = json_number(fl_y if fl_y is not None else fl_x, f"{at}: 'fl_y'", positive=True)
        cx = json_number(get("cx", w / 2.0), f"{at}: 'cx'")
        cy = json_number(get("cy", h / 2.0), f"{at}: 'cy'")
        K_list.append(_K_from_pixels(fx, fy, cx, cy, h, w))
        c2w_list.append(torch.from_numpy(json_matrix(frame["transform_matrix"], f"{at}: 'transform_matrix'", (3, 4))))
        if c2w_list[-1].shape[0] == 3:
            c2w_list[-1] = torch.cat([c2w_list[-1], torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)])
        sizes.add((h, w))
        names.append(str(frame.get("file_path", f"frame_{i:05d}")))
        if frame.get("time") is not None:
            times.append(json_number(frame["time"], f"{at}: 'time'"))
    if len(sizes) != 1:
        raise ValueError(f"{where}: frames have different image sizes {sorted(sizes)}; a camera path needs one size")
    if times and len(times) != len(frames):
        raise ValueError(f"{where}: 'time' is given for {len(times)} of {len(frames)} frames (all or none)")
    (h, w), = sizes
    c2w_gl = as_c2w(torch.stack(c2w_list), name=f"{where}: transform_matrix")
    c2w = c2w_gl @ OPENCV_TO_OPENGL  # the flip is its own inverse
    dtype = _out_dtype(dtype)
    K = as_intrinsics(torch.stack(K_list), len(K_list), name=f"{where}: intrinsics")
    fisheye = next((f"{path}: frames[{i}] is a fisheye camera" for i, f in enumerate(frames) if is_fisheye(f, obj)),
                   None)  # its K is no perspective camera's (CameraPath.fisheye)
    return CameraPath(c2w.to(dtype), K.to(dtype), h, w, names, times=torch.tensor(times, dtype=torch.float64) if times else None,
                      source_format=TRANSFORMS_JSON,
                      fisheye=fisheye)


def load_transforms_json(
    path: str | os.PathLike,
    height: int | None = None,
    width: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> CameraPath:
    """Read a nerfstudio / NeRF ``transforms.json`` into a :class:`CameraPath`.

    Intrinsics are taken per frame when a frame has them, else from the top level. Files without
    ``fl_x`` use ``camera_angle_x`` (``fl_x = w / 2 / tan(camera_angle_x / 2)``, ``fl_y`` from
    ``camera_angle_y`` or ``= fl_x``); the principal point defaults to the image centre. Image size:
    ``w``/``h`` in the file, else the ``height``/``width`` arguments, else read from the first image
    file (inside the JSON's folder). Distortion coefficients are ignored. All frames must share one
    image size. ``frames[i].time`` (all frames or none) gives ``CameraPath.times``.
    """
    obj = read_json(path, f"a {TRANSFORMS_JSON}")
    return transforms_from_object(obj, path, height, width, dtype)

