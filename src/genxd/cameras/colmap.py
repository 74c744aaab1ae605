"""COLMAP models through pycolmap, in the project convention (docs/conventions.md).

COLMAP stores world-to-camera ``(qvec = [w, x, y, z], tvec)`` in the OpenCV axes; in memory everything is
OpenCV camera-to-world ``c2w [N, 4, 4]`` with normalised intrinsics ``K [N, 3, 3]``. Binary models are
written in the CamVid-30K layout (``cameras.bin, images.bin, points3D.bin, project.ini``); binary and
text models are read.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from ..utils.io import atomic_dir, check_not_working_folder, clean_stale, moved_aside, output_target
from ..utils.links import link_file, no_symlink_note
from ..utils.paths import parts_below
from ..utils.pycolmap_import import load_pycolmap
from ._io import MAX_CAMERA_DISTANCE, MAX_IMAGE_SIDE, as_c2w, as_intrinsics, as_sizes, warn_dropped_skew
from .camera_path import CameraPath
from .colmap_binary import check_colmap_binary
from .colmap_text import check_colmap_images_text, warn_poses_frames_txt_overrides
from .geometry import c2w_to_w2c

__all__ = ["ColmapModel", "write_colmap_model", "read_colmap_model", "COLMAP_MODEL_FILES", "PINHOLE_MODELS", "is_fisheye_model"]

#: Files a COLMAP model folder written by :func:`write_colmap_model` contains (CamVid-30K layout).
COLMAP_MODEL_FILES = ("cameras.bin", "images.bin", "points3D.bin", "project.ini")

PINHOLE_MODELS = frozenset({"SIMPLE_PINHOLE", "PINHOLE"})
_FISHEYE_MODEL = re.compile(r"FISHEYE|^FOV$|^EUCM$")


def is_fisheye_model(model: str) -> bool:
    """Whether COLMAP camera model ``model`` is a fisheye lens (SIMPLE_RADIAL_FISHEYE, RADIAL_FISHEYE, OPENCV_FISHEYE,
    THIN_PRISM_FISHEYE, ..., FOV, EUCM: the extended unified camera model of fisheye and wide-angle lenses): its
    focal length is not a perspective camera's."""
    return bool(_FISHEYE_MODEL.search(model))
#: a quaternion shorter than this has no direction (a zero one reads as the identity rotation)
_MIN_QUATERNION_NORM = 1e-6


def _out_dtype(dtype: torch.dtype) -> torch.dtype:
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    return dtype



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
        camera_params: per-image COLMAP camera parameters in the model's order (pixels; distortion terms
            included), e.g. ``[f, cx, cy, k]`` for ``SIMPLE_RADIAL``.
    """

    c2w: Tensor
    K: Tensor
    heights: list[int]
    widths: list[int]
    image_names: list[str]
    points_xyz: Tensor
    points_rgb: Tensor
    camera_models: list[str] = field(default_factory=list)
    camera_params: list[list[float]] = field(default_factory=list)

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
        ``model_dir``. The model is written whole to a temporary sibling folder, with the other files an existing
        ``model_dir`` holds (hard links, else copies), and renamed onto ``model_dir`` in one step
        (:func:`genxd.utils.io.atomic_dir`): an interrupted write leaves the old model or the new one.
    """
    pycolmap = load_pycolmap()

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
    warn_dropped_skew(K64, widths, f"the COLMAP model {model_dir} (PINHOLE cameras)")  # as given: "." has no name

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

    dropped = set() if keep_rigs_and_frames else {"rigs.bin", "frames.bin"}  # old ones would describe another model

    def fill(folder: Path) -> None:
        recon.write_binary(str(folder))
        (folder / "project.ini").write_text(ini)
        for extra in dropped:
            (folder / extra).unlink(missing_ok=True)

    _put_model(model_dir, bool(existing), fill, dropped)
    return model_dir


def _put_model(model_dir: Path, existing: bool, fill: Callable[[Path], None], dropped: set[str]) -> None:
    """Write a model into ``model_dir`` with ``fill`` (which writes its files into the folder it is given), replacing
    the model there (``existing``) whole; ``dropped``: files of the old folder not carried over."""
    target = output_target(model_dir)  # a link to a folder elsewhere: kept, what it points to replaced
    if os.path.lexists(target) and not target.is_dir():
        raise NotADirectoryError(f"{model_dir} exists and is not a folder")
    if parts_below(os.getcwd(), target) is not None:  # the current folder (or above): it cannot be renamed
        if existing:
            check_not_working_folder(model_dir, "COLMAP model folder", "it holds a model, replaced whole: write it "
                                     "from the folder above")
        fill(target)  # no model there to mix with: its files are written in
        return
    if (why := _not_renamable(target)) is not None:  # a read-only parent, a mount point: as the working folder
        if existing:
            kind = PermissionError if why.startswith("its folder") else OSError
            raise kind(f"COLMAP model folder {model_dir} holds a model and cannot be replaced whole ({why}: the new "
                       "model is built beside it and renamed onto it); remove its cameras.bin, images.bin and "
                       "points3D.bin to write the new one in, or write to another folder")
        fill(target)
        return
    # The new model is built whole in a sibling folder with what else the old folder holds, and renamed onto
    # model_dir in one step (the old folder set aside, then deleted): a stop or a kill at any point leaves the old
    # model whole or the new one, never a mix of their files (wrong poses, read without an error). Before, the files
    # were renamed in one by one over the old ones, rigs.bin / frames.bin deleted first.
    with atomic_dir(target) as tmp:
        fill(tmp)
        if target.is_dir():
            _carry_over(target, tmp, dropped)  # atomic_dir gives tmp the old folder's mode bits and group


def _not_renamable(folder: Path) -> str | None:
    """Why the existing folder ``folder`` cannot be replaced by a new one renamed onto it, or None: a parent this
    process may not write in (a shared dataset's ``VIDEO/0`` the user owns under a folder they do not), or a mount
    point (a Docker volume, a disk: renaming it fails, EBUSY)."""
    from ..utils.mount_points import is_mount_point

    if not folder.is_dir():
        return None
    if is_mount_point(folder):  # a bind mount of the same disk too, which os.path.ismount does not tell
        return "it is a mount point"
    if not os.access(folder.parent, os.W_OK | os.X_OK):
        return "its folder is read-only"
    return None


def _carry_over(old: Path, new: Path, dropped: set[str]) -> None:
    """Give the new model folder ``new`` what the old folder ``old`` holds besides a model's files (a user's notes, a
    text model, a database): hard links where the file system allows, else copies; symbolic links as links. Not the
    files ``new`` has (its model replaces the old one) nor the ``dropped`` ones."""
    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:  # a file system without hard links
            shutil.copy2(source, target)

    for entry in sorted(os.scandir(old), key=lambda e: e.name):
        target = new / entry.name
        if entry.name in dropped or os.path.lexists(target):
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            shutil.copytree(entry.path, target, symlinks=True, copy_function=link_or_copy)
        else:
            link_or_copy(entry.path, str(target))


_BOM = b"\xef\xbb\xbf"
_TEXT_MODEL_FILES = ("cameras.txt", "images.txt", "points3D.txt", "rigs.txt", "frames.txt")  # what pycolmap reads


@contextlib.contextmanager
def _text_without_bom(model_dir: Path) -> Iterator[Path]:
    """``model_dir``, or for the block a temporary folder of its ``.txt`` files without the UTF-8 byte order mark a
    Windows editor puts in front: pycolmap took the mark for a part of the first line ('Check failed: line_stream
    >> camera.camera_id ...', or a comment line read as a camera). Only the files with a mark are copied; the
    others are linked (a points3D.txt of a large scene can be gigabytes): symbolic links, else hard links, else copies
    (:func:`genxd.utils.links.link_file`: Windows without the privilege; before, a copy there, and a NotImplementedError
    not caught)."""
    texts = [f for f in (model_dir / name for name in _TEXT_MODEL_FILES) if f.is_file()]
    marked = {f for f in texts if _starts_with_bom(f)}
    if not marked:
        yield model_dir
        return
    with tempfile.TemporaryDirectory(prefix="genxd-colmap-text-") as folder:
        made: set[str] = set()
        for f in texts:
            target = Path(folder) / f.name
            if f in marked:
                target.write_bytes(f.read_bytes()[len(_BOM):])
                continue
            made.add(link_file(f.resolve(), target, None))
        made.discard("symlink")
        if made:
            no_symlink_note(f"the COLMAP text files of {model_dir} that have no byte order mark",
                            "copy" if "copy" in made else "hardlink", stacklevel=5)
        yield Path(folder)


@contextlib.contextmanager
def _with_points_file(model_dir: Path) -> Iterator[Path]:
    """``model_dir``, or for the block a temporary folder of links to its model files and an empty points3D file of
    their kind, when it holds cameras and images but no ``points3D.bin`` or ``points3D.txt`` (the points deleted to
    save space, a model written by hand): pycolmap refused it ('rigs, cameras, frames, images, points3D files do
    not exist'), though its cameras are whole; it is read with no points."""
    if any((model_dir / f"points3D.{ext}").is_file() for ext in ("bin", "txt")):
        yield model_dir
        return
    ext = "bin" if all((model_dir / f"{name}.bin").is_file() for name in ("cameras", "images")) else "txt"
    with tempfile.TemporaryDirectory(prefix="genxd-colmap-points-") as folder:
        made: set[str] = set()
        for name in ("cameras", "images", "rigs", "frames"):
            if (model_dir / f"{name}.{ext}").is_file():
                made.add(link_file((model_dir / f"{name}.{ext}").resolve(), Path(folder) / f"{name}.{ext}", None))
        made.discard("symlink")
        if made:
            no_symlink_note(f"the COLMAP model files of {model_dir}", "copy" if "copy" in made else "hardlink",
                            stacklevel=5)
        (Path(folder) / f"points3D.{ext}").write_bytes(bytes(8) if ext == "bin" else b"")  # u64 count 0: no points
        yield Path(folder)


def _check_binary(model_dir: Path, readable: Path) -> bool:
    """:func:`check_colmap_binary` of ``readable`` (``model_dir`` or the folder of links to its files that
    :func:`_with_points_file` made), its errors naming the files of ``model_dir``."""
    try:
        return check_colmap_binary(readable)
    except ValueError as exc:
        raise ValueError(str(exc).replace(str(readable), str(model_dir), 1)) from None


def _starts_with_bom(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(_BOM)) == _BOM


def read_colmap_model(
    model_dir: str | os.PathLike,
    dtype: torch.dtype = torch.float32,
    allow_distortion: bool = False,
) -> ColmapModel:
    """Read a COLMAP model (binary or text) with pycolmap into the project convention.

    Only registered images are returned, sorted by name. Pinhole models (``PINHOLE``,
    ``SIMPLE_PINHOLE``) are read exactly; other models raise ValueError unless
    ``allow_distortion`` is set, in which case their distortion is ignored (``K`` from
    pycolmap's ``calibration_matrix()``). A model without its points3D file is read with no points.
    """
    pycolmap = load_pycolmap()

    model_dir = Path(model_dir)
    if not model_dir.is_dir() and not os.path.lexists(model_dir):
        clean_stale(model_dir.parent, model_dir.name)  # a model whose replacement was killed between its renames: back
    if not model_dir.is_dir():
        aside = [] if os.path.lexists(model_dir) else [p for p in moved_aside(model_dir) if p.is_dir()]
        if aside:  # its replacement was killed between the renames, and the model could not be put back here
            raise FileNotFoundError(f"{model_dir}: no such COLMAP model folder; the model is in {aside[0]}, set "
                                    "aside by a replacement that was stopped (on another machine, or in a read-only "
                                    f"folder): rename it back to restore it (mv {shlex.quote(str(aside[0]))} "
                                    f"{shlex.quote(str(model_dir))})")
        raise FileNotFoundError(f"{model_dir}: no such COLMAP model folder")
    if not any((model_dir / f"cameras.{ext}").is_file() for ext in ("bin", "txt")):
        raise FileNotFoundError(f"{model_dir}: no cameras.bin or cameras.txt (not a COLMAP model)")
    held = [f"{name}.{ext}" for name in ("cameras", "images") for ext in ("bin", "txt")
            if (model_dir / f"{name}.{ext}").is_file()]
    if not any(name.startswith("images.") for name in held):  # pycolmap: "rigs, cameras, frames, images, points3D
        # files do not exist"
        raise ValueError(f"{model_dir}: no images.bin or images.txt beside its {held[0]} (not a whole COLMAP model)")
    if not any({f"cameras.{ext}", f"images.{ext}"} <= set(held) for ext in ("bin", "txt")):
        raise ValueError(f"{model_dir}: holds {' and '.join(held)}; a COLMAP model's cameras and images are both "
                         "binary (.bin) or both text (.txt)")
    with _with_points_file(model_dir) as whole:
        binary = _check_binary(model_dir, whole)  # pycolmap believes a corrupt file's counts and never returns
        text_poses = None
        if not binary and (model_dir / "images.txt").is_file():  # one line per image: every other image dropped
            text_poses = check_colmap_images_text(model_dir / "images.txt")
        try:
            with _text_without_bom(whole) if not binary else contextlib.nullcontext(whole) as readable:
                recon = pycolmap.Reconstruction(str(readable))
        except Exception as exc:  # pycolmap raises its own error types
            raise ValueError(f"{model_dir}: cannot read COLMAP model ({exc})") from None
    if text_poses and (model_dir / "frames.txt").is_file():  # COLMAP >= 3.12: the poses are frames.txt's
        warn_poses_frames_txt_overrides(model_dir, text_poses, recon)

    images = [im for im in recon.images.values() if im.has_pose]
    images.sort(key=lambda im: im.name)
    c2w_list, K_list, heights, widths, names, models, params = [], [], [], [], [], [], []
    for im in images:
        cam = recon.cameras[im.camera_id]
        model_name = cam.model.name
        if model_name not in PINHOLE_MODELS and not allow_distortion:
            raise ValueError(
                f"{model_dir}: image {im.name} uses camera model {model_name}; only pinhole models are "
                "supported (pass allow_distortion=True to ignore the distortion)"
            )
        where = f"{model_dir}: image {im.name!r}"
        if not (1 <= cam.width <= MAX_IMAGE_SIDE and 1 <= cam.height <= MAX_IMAGE_SIDE):
            raise ValueError(f"{where}: camera {im.camera_id} has image size {cam.width}x{cam.height}")
        try:
            Kpix = torch.as_tensor(np.asarray(cam.calibration_matrix()), dtype=torch.float64)
        except Exception:  # pycolmap's 'Check failed: IsPerspective()' (EQUIRECTANGULAR), naming neither
            raise ValueError(f"{where}: camera {im.camera_id} has camera model {model_name}, which no pinhole K "
                             "describes (a panorama); genxd takes perspective and fisheye cameras") from None
        K = Kpix.clone()
        K[0] /= cam.width
        K[1] /= cam.height
        pose = im.cam_from_world()
        quat = np.asarray(pose.rotation.quat, dtype=np.float64)  # x, y, z, w
        if not np.isfinite(quat).all() or not np.linalg.norm(quat) > _MIN_QUATERNION_NORM:
            # Eigen turns a zero quaternion into the identity rotation: a pose nobody wrote
            raise ValueError(f"{where}: its rotation quaternion (w, x, y, z) {quat[[3, 0, 1, 2]].tolist()} is "
                             f"{'not finite' if not np.isfinite(quat).all() else 'zero'}: no camera orientation")
        w2c = torch.eye(4, dtype=torch.float64)
        w2c[:3, :] = torch.as_tensor(np.asarray(pose.matrix()), dtype=torch.float64)
        c2w_list.append(as_c2w(c2w_to_w2c(w2c), name=f"{where}: pose")[0])
        K_list.append(as_intrinsics(K, 1, name=f"{where}: camera {im.camera_id}'s intrinsics")[0])
        heights.append(int(cam.height))
        widths.append(int(cam.width))
        names.append(im.name)
        models.append(model_name)
        params.append([float(x) for x in np.asarray(cam.params, dtype=np.float64)])

    point_ids = sorted(recon.points3D.keys())
    xyz = np.array([recon.points3D[p].xyz for p in point_ids], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([recon.points3D[p].color for p in point_ids], dtype=np.uint8).reshape(-1, 3)
    bad = ~(np.abs(xyz) <= MAX_CAMERA_DISTANCE).all(axis=1)  # NaN, inf, or beyond float32's use (points seed Gaussians)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{model_dir}: {int(bad.sum())} of {len(point_ids)} 3D points are not finite or farther than "
                         f"{MAX_CAMERA_DISTANCE:g} from the origin (point {point_ids[first]}: {xyz[first].tolist()})")
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
        camera_params=params,
    )
