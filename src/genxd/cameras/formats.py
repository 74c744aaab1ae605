"""Camera file formats: the authors' camera JSON, nerfstudio ``transforms.json``, COLMAP models.

Everything in memory follows ``docs/conventions.md`` (OpenCV camera-to-world ``c2w [N, 4, 4]``,
normalised intrinsics ``K [N, 3, 3]``); conversions happen only here, at the file boundary. All
writers are atomic (a crash never leaves a half-written file under the final name) and every
format round-trips exactly (up to float64 -> text -> float64 and quaternion rounding, ~1e-12).

Formats:

- **authors' camera JSON** (written by GenXD's ``inference.py`` beside each video): ``fx, fy, cx,
  cy`` in *pixels* (one camera for the whole clip), ``height``, ``width``, and ``cameras``: one
  world-to-camera 3x4 matrix (OpenCV axes) per frame.
- **w2c list JSON** (the authors' ``*_rel.json`` and ``gen_poses_w2c.json``): a bare list of 3x4
  world-to-camera matrices, or ``{"camera": [[0]*6 + w2c (12)] * N}`` (their ``--save_format 18``).
- **nerfstudio transforms.json**: OpenGL camera-to-world ``frames[i].transform_matrix``, pixel
  intrinsics ``fl_x, fl_y, cx, cy, w, h`` at the top level or per frame; NeRF-synthetic files with
  ``camera_angle_x`` (and optionally ``camera_angle_y``) are read too.
- **COLMAP** binary models through pycolmap (pinhole cameras), laid out like CamVid-30K
  (``cameras.bin, images.bin, points3D.bin, project.ini``).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ._io import as_c2w, as_intrinsics, as_sizes, read_json, write_json_atomic
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
]

#: Files a COLMAP model folder written by :func:`write_colmap_model` contains (CamVid-30K layout).
COLMAP_MODEL_FILES = ("cameras.bin", "images.bin", "points3D.bin", "project.ini")

_PINHOLE_MODELS = {"SIMPLE_PINHOLE", "PINHOLE"}


@dataclass
class CameraPath:
    """A camera path: the common return type of the camera readers and trajectory generators.

    Attributes:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (+x right, +y down, +z forward).
        K: ``[N, 3, 3]`` normalised intrinsics (fx/W, fy/H, cx/W, cy/H).
        height, width: image size in pixels (shared by all frames).
        names: optional per-frame names (image file names / paths), ``N`` of them.
    """

    c2w: Tensor
    K: Tensor
    height: int
    width: int
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.c2w.ndim != 3 or self.c2w.shape[-2:] != (4, 4):
            raise ValueError(f"CameraPath.c2w: expected [N, 4, 4], got {tuple(self.c2w.shape)}")
        n = self.c2w.shape[0]
        if self.K.ndim == 2:
            self.K = self.K.expand(n, 3, 3).clone()
        if self.K.shape != (n, 3, 3):
            raise ValueError(f"CameraPath.K: expected [{n}, 3, 3], got {tuple(self.K.shape)}")
        if self.names is not None and len(self.names) != n:
            raise ValueError(f"CameraPath.names: {len(self.names)} names for {n} cameras")
        self.height, self.width = int(self.height), int(self.width)

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    @property
    def w2c(self) -> Tensor:
        """``[N, 4, 4]`` world-to-camera."""
        return c2w_to_w2c(self.c2w)


def _out_dtype(dtype: torch.dtype) -> torch.dtype:
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    return dtype


# ----------------------------------------------------------------------------------------------
# The authors' camera JSON
# ----------------------------------------------------------------------------------------------


def save_camera_json(
    path: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    K: Tensor | np.ndarray,
    height: int,
    width: int,
    overwrite: bool = True,
) -> Path:
    """Write the authors' camera JSON (what GenXD's ``inference.py`` writes beside each video).

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world.
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics; must be the same for all frames (the
            format stores one camera).
        height, width: image size in pixels.
    Layout: ``{"fx", "fy", "cx", "cy"`` (pixels), ``"height", "width",
    "cameras": [N][3][4]`` (world-to-camera, OpenCV axes)``}``.
    """
    c2w64 = as_c2w(c2w)
    K64 = as_intrinsics(K, c2w64.shape[0])
    (height,) = as_sizes(height, 1, "height")
    (width,) = as_sizes(width, 1, "width")
    if (K64 - K64[:1]).abs().max() > 1e-9:
        raise ValueError("save_camera_json: the authors' camera JSON holds one camera; K differs between frames")
    k = K64[0]
    w2c = c2w_to_w2c(c2w64)[:, :3, :]
    obj = {
        "fx": float(k[0, 0]) * width,
        "fy": float(k[1, 1]) * height,
        "cx": float(k[0, 2]) * width,
        "cy": float(k[1, 2]) * height,
        "height": height,
        "width": width,
        "cameras": w2c.tolist(),
    }
    return write_json_atomic(path, obj, overwrite=overwrite)


def load_camera_json(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> CameraPath:
    """Read the authors' camera JSON (see :func:`save_camera_json`) into a :class:`CameraPath`."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object with fx, fy, cx, cy, height, width, cameras")
    missing = [k for k in ("fx", "fy", "cx", "cy", "height", "width", "cameras") if k not in obj]
    if missing:
        raise ValueError(f"{path}: not an authors' camera JSON, missing {', '.join(missing)}")
    height, width = int(obj["height"]), int(obj["width"])
    w2c = torch.tensor(obj["cameras"], dtype=torch.float64)
    if w2c.ndim != 3 or w2c.shape[-2:] not in ((3, 4), (4, 4)):
        raise ValueError(f"{path}: 'cameras' must be a list of 3x4 matrices, got shape {tuple(w2c.shape)}")
    c2w = c2w_to_w2c(as_c2w(w2c, name=f"{path}: cameras"))
    K = torch.eye(3, dtype=torch.float64)
    K[0, 0] = float(obj["fx"]) / width
    K[1, 1] = float(obj["fy"]) / height
    K[0, 2] = float(obj["cx"]) / width
    K[1, 2] = float(obj["cy"]) / height
    dtype = _out_dtype(dtype)
    return CameraPath(c2w.to(dtype), K.expand(len(c2w), 3, 3).to(dtype), height, width)


def save_w2c_list_json(
    path: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    save_format: str = "3x4",
    overwrite: bool = True,
) -> Path:
    """Write poses as the authors' bare w2c list (``gen_poses_w2c.json``, ``*_rel.json``).

    ``save_format="3x4"``: ``[N][3][4]`` world-to-camera; ``"18"``: ``{"camera": [N][18]}`` with six
    zeros (no intrinsics) then the flattened 3x4 world-to-camera, as their ``--save_format 18``.
    """
    w2c = c2w_to_w2c(as_c2w(c2w))[:, :3, :]
    if save_format == "3x4":
        obj: object = w2c.tolist()
    elif save_format == "18":
        rows = torch.cat([torch.zeros(len(w2c), 6, dtype=w2c.dtype), w2c.reshape(-1, 12)], dim=1)
        obj = {"camera": rows.tolist()}
    else:
        raise ValueError(f"save_format must be '3x4' or '18', got {save_format!r}")
    return write_json_atomic(path, obj, overwrite=overwrite)


def load_w2c_list_json(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Tensor:
    """Read a bare w2c list JSON (either layout of :func:`save_w2c_list_json`); returns c2w ``[N, 4, 4]``."""
    obj = read_json(path)
    if isinstance(obj, dict):
        if "camera" not in obj:
            raise ValueError(f"{path}: expected a list of 3x4 matrices or {{'camera': [N][18]}}")
        rows = torch.tensor(obj["camera"], dtype=torch.float64)
        if rows.ndim != 2 or rows.shape[1] != 18:
            raise ValueError(f"{path}: 'camera' must be [N][18], got shape {tuple(rows.shape)}")
        w2c = rows[:, 6:].reshape(-1, 3, 4)
    else:
        w2c = torch.tensor(obj, dtype=torch.float64)
        if w2c.ndim != 3 or w2c.shape[-2:] not in ((3, 4), (4, 4)):
            raise ValueError(f"{path}: expected a list of 3x4 matrices, got shape {tuple(w2c.shape)}")
    return c2w_to_w2c(as_c2w(w2c, name=str(path))).to(_out_dtype(dtype))


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
) -> Path:
    """Write a nerfstudio ``transforms.json``.

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (stored as OpenGL: y and z axes flipped).
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics (stored in pixels); when they differ between
            frames, ``fl_x, fl_y, cx, cy`` are written per frame.
        height, width: image size in pixels.
        file_paths: per-frame image paths (relative to the JSON's folder); default
            ``images/frame_00001.png, ...`` (nerfstudio's naming).
    """
    c2w64 = as_c2w(c2w)
    n = c2w64.shape[0]
    K64 = as_intrinsics(K, n)
    (height,) = as_sizes(height, 1, "height")
    (width,) = as_sizes(width, 1, "width")
    if file_paths is None:
        file_paths = [f"images/frame_{i + 1:05d}.png" for i in range(n)]
    file_paths = [str(p) for p in file_paths]
    if len(file_paths) != n:
        raise ValueError(f"file_paths: {len(file_paths)} paths for {n} cameras")
    c2w_gl = c2w64 @ OPENCV_TO_OPENGL

    def pixel_intrinsics(k: Tensor) -> dict[str, float]:
        return {
            "fl_x": float(k[0, 0]) * width,
            "fl_y": float(k[1, 1]) * height,
            "cx": float(k[0, 2]) * width,
            "cy": float(k[1, 2]) * height,
        }

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
        frames.append(frame)
    obj["frames"] = frames
    return write_json_atomic(path, obj, overwrite=overwrite)


def _image_size_from_file(json_dir: Path, file_path: str) -> tuple[int, int] | None:
    """(height, width) of a frame's image file, trying NeRF-synthetic's extension-less paths."""
    from PIL import Image

    base = json_dir / file_path
    for candidate in (base, base.with_name(base.name + ".png"), base.with_name(base.name + ".jpg")):
        if candidate.is_file():
            with Image.open(candidate) as im:
                return im.height, im.width
    return None


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
    file. Distortion coefficients are ignored. All frames must share one image size.
    """
    path = Path(path)
    obj = read_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("frames"), list) or not obj["frames"]:
        raise ValueError(f"{path}: not a transforms.json (needs a non-empty 'frames' list)")
    frames = obj["frames"]
    c2w_list, K_list, sizes, names = [], [], set(), []
    for i, frame in enumerate(frames):
        if "transform_matrix" not in frame:
            raise ValueError(f"{path}: frame {i} has no transform_matrix")

        def get(key: str, default: object = None) -> object:
            return frame.get(key, obj.get(key, default))

        w, h = get("w"), get("h")
        if w is None or h is None:
            w, h = width, height
        if w is None or h is None:
            size = _image_size_from_file(path.parent, str(frame.get("file_path", "")))
            if size is None:
                raise ValueError(
                    f"{path}: no image size (w, h) in the file and frame {i}'s image was not found; "
                    "pass height and width"
                )
            h, w = size
        w, h = int(w), int(h)
        fl_x, fl_y = get("fl_x"), get("fl_y")
        if fl_x is None:
            angle_x = get("camera_angle_x")
            if angle_x is None:
                raise ValueError(f"{path}: frame {i} has neither fl_x nor camera_angle_x")
            fl_x = 0.5 * w / math.tan(0.5 * float(angle_x))
            angle_y = get("camera_angle_y")
            fl_y = 0.5 * h / math.tan(0.5 * float(angle_y)) if angle_y is not None else fl_x
        if fl_y is None:
            fl_y = fl_x
        cx, cy = get("cx", w / 2.0), get("cy", h / 2.0)
        K = torch.eye(3, dtype=torch.float64)
        K[0, 0], K[1, 1], K[0, 2], K[1, 2] = float(fl_x) / w, float(fl_y) / h, float(cx) / w, float(cy) / h
        m = torch.tensor(frame["transform_matrix"], dtype=torch.float64)
        c2w_list.append(m)
        K_list.append(K)
        sizes.add((h, w))
        names.append(str(frame.get("file_path", f"frame_{i:05d}")))
    if len(sizes) != 1:
        raise ValueError(f"{path}: frames have different image sizes {sorted(sizes)}; CameraPath needs one size")
    (h, w), = sizes
    c2w_gl = as_c2w(torch.stack(c2w_list), name=f"{path}: transform_matrix")
    c2w = c2w_gl @ OPENCV_TO_OPENGL  # the flip is its own inverse
    dtype = _out_dtype(dtype)
    return CameraPath(c2w.to(dtype), torch.stack(K_list).to(dtype), h, w, names)


# ----------------------------------------------------------------------------------------------
# COLMAP (pycolmap)
# ----------------------------------------------------------------------------------------------


@dataclass
class ColmapModel:
    """A COLMAP model in the project convention (images sorted by name).

    Attributes:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world of the registered images.
        K: ``[N, 3, 3]`` normalised intrinsics.
        heights, widths: per-image size in pixels.
        image_names: ``N`` names, sorted.
        points_xyz: ``[P, 3]`` float world points (sorted by point id); ``[0, 3]`` when none.
        points_rgb: ``[P, 3]`` uint8 colours.
        camera_models: per-image COLMAP camera model name (e.g. ``"PINHOLE"``).
    """

    c2w: Tensor
    K: Tensor
    heights: list[int]
    widths: list[int]
    image_names: list[str]
    points_xyz: Tensor
    points_rgb: Tensor
    camera_models: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.image_names)

    def to_camera_path(self) -> CameraPath:
        """As a :class:`CameraPath` (all images must share one size)."""
        sizes = set(zip(self.heights, self.widths))
        if len(sizes) != 1:
            raise ValueError(f"COLMAP images have different sizes {sorted(sizes)}; CameraPath needs one size")
        (h, w), = sizes
        return CameraPath(self.c2w, self.K, h, w, list(self.image_names))


def _project_ini(image_path: str, camera_model: str, single_camera: bool, params: list[float]) -> str:
    """A minimal COLMAP ``project.ini`` (as saved by COLMAP beside each CamVid-30K model)."""
    return (
        "log_to_stderr=false\n"
        "random_seed=0\n"
        "log_level=2\n"
        "database_path=database.db\n"
        f"image_path={image_path}\n"
        "[ImageReader]\n"
        f"single_camera={'true' if single_camera else 'false'}\n"
        f"camera_model={camera_model}\n"
        f"camera_params={','.join(repr(float(p)) for p in params)}\n"
    )


def write_colmap_model(
    model_dir: str | os.PathLike,
    c2w: Tensor | np.ndarray,
    K: Tensor | np.ndarray,
    height: int | Sequence[int],
    width: int | Sequence[int],
    image_names: Sequence[str],
    points_xyz: Tensor | np.ndarray | None = None,
    points_rgb: Tensor | np.ndarray | None = None,
    *,
    image_path: str = "../images",
    overwrite: bool = True,
    keep_rigs_and_frames: bool = False,
) -> Path:
    """Write a binary COLMAP model (PINHOLE cameras) with pycolmap, CamVid-30K layout.

    Args:
        model_dir: output folder (e.g. ``VIDEO_ID/0``); gets ``cameras.bin, images.bin,
            points3D.bin, project.ini``.
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (COLMAP stores world-to-camera in the same axes).
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics; frames with identical pixel intrinsics
            and size share one COLMAP camera.
        height, width: image size in pixels, once or per frame.
        image_names: ``N`` unique image names (paths relative to the image folder).
        points_xyz: optional ``[P, 3]`` world points; points_rgb: optional ``[P, 3]`` uint8 colours
            (default grey). Points are written without tracks.
        image_path: the ``image_path`` recorded in ``project.ini`` (relative to ``model_dir``).
        overwrite: replace the model files if ``model_dir`` already holds a model.
        keep_rigs_and_frames: also keep COLMAP >= 3.12's ``rigs.bin`` / ``frames.bin`` (by default
            they are dropped so the folder matches CamVid-30K; pycolmap rebuilds trivial rigs on read).
    Returns:
        ``model_dir``. Files are written to a temporary folder first and moved in one by one.
    """
    import pycolmap

    model_dir = Path(model_dir)
    c2w64 = as_c2w(c2w)
    n = c2w64.shape[0]
    K64 = as_intrinsics(K, n)
    heights = as_sizes(height, n, "height")
    widths = as_sizes(width, n, "width")
    names = [str(s) for s in image_names]
    if len(names) != n:
        raise ValueError(f"image_names: {len(names)} names for {n} cameras")
    if len(set(names)) != n:
        raise ValueError("image_names: names must be unique")
    if any(not s for s in names):
        raise ValueError("image_names: names must be non-empty")

    xyz = np.zeros((0, 3), dtype=np.float64)
    rgb = np.zeros((0, 3), dtype=np.uint8)
    if points_xyz is not None:
        xyz = np.asarray(points_xyz.detach().cpu() if torch.is_tensor(points_xyz) else points_xyz, dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError(f"points_xyz: expected [P, 3], got shape {xyz.shape}")
        if not np.isfinite(xyz).all():
            raise ValueError("points_xyz: contains NaN or infinite values")
        if points_rgb is None:
            rgb = np.full((len(xyz), 3), 128, dtype=np.uint8)
        else:
            rgb_in = np.asarray(points_rgb.detach().cpu() if torch.is_tensor(points_rgb) else points_rgb)
            if rgb_in.shape != xyz.shape:
                raise ValueError(f"points_rgb: expected shape {xyz.shape}, got {rgb_in.shape}")
            if rgb_in.dtype != np.uint8:
                if rgb_in.min() < 0 or rgb_in.max() > 255:
                    raise ValueError("points_rgb: colours must be uint8 (0..255)")
            rgb = rgb_in.astype(np.uint8)
    elif points_rgb is not None:
        raise ValueError("points_rgb given without points_xyz")

    existing = [f for f in ("cameras.bin", "images.bin", "points3D.bin") if (model_dir / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{model_dir} already holds a COLMAP model (pass overwrite=True to replace it)")

    recon = pycolmap.Reconstruction()
    camera_ids: dict[tuple, int] = {}
    image_camera: list[int] = []
    for i in range(n):
        k = K64[i]
        params = (
            float(k[0, 0]) * widths[i],
            float(k[1, 1]) * heights[i],
            float(k[0, 2]) * widths[i],
            float(k[1, 2]) * heights[i],
        )
        key = (widths[i], heights[i], *params)
        if key not in camera_ids:
            cam_id = len(camera_ids) + 1
            camera_ids[key] = cam_id
            cam = pycolmap.Camera(
                camera_id=cam_id, model="PINHOLE", width=widths[i], height=heights[i], params=list(params)
            )
            recon.add_camera_with_trivial_rig(cam)
        image_camera.append(camera_ids[key])

    w2c = c2w_to_w2c(c2w64).numpy()
    for i in range(n):
        image = pycolmap.Image(name=names[i], camera_id=image_camera[i], image_id=i + 1)
        recon.add_image_with_trivial_frame(image, pycolmap.Rigid3d(np.ascontiguousarray(w2c[i, :3, :])))
    for p, c in zip(xyz, rgb):
        recon.add_point3D(p, pycolmap.Track(), c)

    first_key = next(iter(camera_ids))
    ini = _project_ini(image_path, "PINHOLE", len(camera_ids) == 1, list(first_key[2:]))

    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.", suffix=".part", dir=model_dir.parent))
    try:
        recon.write_binary(str(tmp))
        (tmp / "project.ini").write_text(ini)
        if not keep_rigs_and_frames:
            for extra in ("rigs.bin", "frames.bin"):
                (tmp / extra).unlink(missing_ok=True)
        if not model_dir.exists():
            os.replace(tmp, model_dir)
        else:
            if not model_dir.is_dir():
                raise NotADirectoryError(f"{model_dir} exists and is not a folder")
            # Old rigs/frames files would describe another model: remove them with the rest.
            if not keep_rigs_and_frames:
                for extra in ("rigs.bin", "frames.bin"):
                    (model_dir / extra).unlink(missing_ok=True)
            for f in sorted(tmp.iterdir()):
                os.replace(f, model_dir / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model_dir


def read_colmap_model(
    model_dir: str | os.PathLike,
    dtype: torch.dtype = torch.float32,
    allow_distortion: bool = False,
) -> ColmapModel:
    """Read a COLMAP model (binary or text) with pycolmap into the project convention.

    Only registered images are returned, sorted by name. Pinhole models (``PINHOLE``,
    ``SIMPLE_PINHOLE``) are read exactly; other models raise ValueError unless
    ``allow_distortion`` is set, in which case their distortion is ignored (``K`` from
    pycolmap's ``calibration_matrix()``).
    """
    import pycolmap

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such COLMAP model folder")
    if not any((model_dir / f"cameras.{ext}").is_file() for ext in ("bin", "txt")):
        raise FileNotFoundError(f"{model_dir}: no cameras.bin or cameras.txt (not a COLMAP model)")
    try:
        recon = pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises its own error types
        raise ValueError(f"{model_dir}: cannot read COLMAP model ({exc})") from None

    images = [im for im in recon.images.values() if im.has_pose]
    images.sort(key=lambda im: im.name)
    c2w_list, K_list, heights, widths, names, models = [], [], [], [], [], []
    for im in images:
        cam = recon.cameras[im.camera_id]
        model_name = cam.model.name
        if model_name not in _PINHOLE_MODELS and not allow_distortion:
            raise ValueError(
                f"{model_dir}: image {im.name} uses camera model {model_name}; only pinhole models are "
                "supported (pass allow_distortion=True to ignore the distortion)"
            )
        Kpix = torch.as_tensor(np.asarray(cam.calibration_matrix()), dtype=torch.float64)
        K = Kpix.clone()
        K[0] /= cam.width
        K[1] /= cam.height
        w2c = torch.eye(4, dtype=torch.float64)
        w2c[:3, :] = torch.as_tensor(np.asarray(im.cam_from_world().matrix()), dtype=torch.float64)
        c2w_list.append(c2w_to_w2c(w2c))
        K_list.append(K)
        heights.append(int(cam.height))
        widths.append(int(cam.width))
        names.append(im.name)
        models.append(model_name)

    point_ids = sorted(recon.points3D.keys())
    xyz = np.array([recon.points3D[p].xyz for p in point_ids], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([recon.points3D[p].color for p in point_ids], dtype=np.uint8).reshape(-1, 3)
    dtype = _out_dtype(dtype)
    c2w = torch.stack(c2w_list).to(dtype) if c2w_list else torch.zeros(0, 4, 4, dtype=dtype)
    Ks = torch.stack(K_list).to(dtype) if K_list else torch.zeros(0, 3, 3, dtype=dtype)
    return ColmapModel(
        c2w=c2w,
        K=Ks,
        heights=heights,
        widths=widths,
        image_names=names,
        points_xyz=torch.from_numpy(xyz).to(dtype),
        points_rgb=torch.from_numpy(rgb),
        camera_models=models,
    )
