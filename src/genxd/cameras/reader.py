"""One reader for every camera file genxd writes or users bring: :func:`read_camera_path`.

The format is recognised from the path and the content (not the file name alone):

==========================================  ==================================================
what is given                                read as
==========================================  ==================================================
``*.json`` object with ``frames``            nerfstudio / NeRF ``transforms.json``
``*.json`` object with ``cameras``           the authors' camera JSON (+ genxd's extension)
``*.json`` list of 3x4 / 4x4 matrices        w2c list (``trajectory make --format w2c``,
                                             ``cameras_rel.json``, ``gen_poses_w2c.json``)
``*.json`` object with ``camera``            w2c list in the authors' ``[N][18]`` layout
``*.json`` object with ``c2w_opencv``        a genxd synthetic clip's ``meta.json`` / sidecar
``*.json`` list of objects with ``rotation``  the 3DGS viewer's ``cameras.json`` (3DGS's ``train.py``,
and ``position``                             ``genxd reconstruct``'s ``cameras_3dgs.json``, ``3dgs/``)
a COLMAP model folder or one of its files    COLMAP (binary or text, through pycolmap)
a folder with ``0/`` (a ``genxd curate``     that COLMAP model; frame times from ``meta.json``
or ``genxd synth --format camvid``           (a curate sample's ``source_index``, a synthetic
sample) or ``sparse/0/``                     sample's ``times``)
a folder with ``transforms.json``,           the first of them (a synthetic clip folder, a
``cameras.json`` or ``meta.json``            ``genxd generate`` output folder); a synthetic
                                             clip's ``meta.json`` beside it gives ``scene_depth``
a ``genxd curate`` output with one video     that video's sample
==========================================  ==================================================

Every problem is a ``ValueError`` (``FileNotFoundError`` for a missing path) whose message starts
with the file and names the format, never a ``TypeError`` or ``ZeroDivisionError``.

Files that carry no intrinsics (w2c lists) get the **default intrinsics**: ``fx/W = fy/H =
default_focal`` (the caller passes the model's focal length; else the authors' 1.414), principal point
at the image centre, image size ``height x width`` (default 256 x 256); ``CameraPath.intrinsics_known``
is then False.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ._io import (as_c2w, as_intrinsics, describe, json_matrices, json_number, json_numbers, json_size, read_json,
                  times_to_unit_range)
from .camera_path import CameraPath
from .colmap import PINHOLE_MODELS, ColmapModel, is_fisheye_model, read_colmap_model
from .formats import (
    AUTHORS_JSON,
    TRANSFORMS_JSON,
    W2C_JSON,
    camera_json_from_object,
    transforms_from_object,
    w2c_list_from_object,
)
from .geometry import intrinsics_from_focal
from .recon_json import RECON_JSON, is_recon_json, recon_json_from_object
from .viewer_json import VIEWER_JSON, is_viewer_json, viewer_json_from_object

__all__ = ["read_camera_path", "perspective_only", "colmap_model_dir", "camera_files", "several_videos", "COLMAP_FILES", "FOLDER_CAMERA_FILES", "COLMAP_FORMAT", "CURATE_SAMPLE", "SYNTHETIC_META", "DEFAULT_SIZE", "camera_formats_help"]

COLMAP_FORMAT = "COLMAP model"
SYNTHETIC_META = "genxd synthetic clip meta"
#: Image size given to camera files that carry none (w2c lists), when the caller gives none.
DEFAULT_SIZE = 256
_DEFAULT_FOCAL = 1.414  # the authors' evaluator.focal (genxd.cameras.trajectories.AUTHORS_FOCAL)

COLMAP_FILES = ("cameras.bin", "cameras.txt", "images.bin", "images.txt", "points3D.bin", "points3D.txt",
                 "frames.bin", "rigs.bin", "project.ini")


def camera_formats_help() -> str:
    """One line listing what :func:`read_camera_path` accepts (for error messages)."""
    return ("an authors' camera JSON, a w2c list JSON, a transforms.json, a 3DGS cameras.json, a COLMAP model "
            "folder, a genxd curate / generate / synth output folder")


def _is_colmap_dir(folder: Path) -> bool:
    return any((folder / f"cameras.{ext}").is_file() for ext in ("bin", "txt")) and any(
        (folder / f"images.{ext}").is_file() for ext in ("bin", "txt"))


def _synthetic_sample_times(meta: dict, names: list[str]) -> torch.Tensor | None:
    """Frame times of a ``genxd synth --format camvid`` sample: its ``meta.json``'s ``times``, one per frame
    ``00000.jpg, 00001.jpg, ...`` (``genxd.data.synthetic.writers``); None for a static clip or unusable data."""
    try:
        times = torch.tensor([float(t) for t in meta["times"]], dtype=torch.float64)
    except (ValueError, KeyError, TypeError):
        return None
    row = {f"{i:05d}.jpg": i for i in range(len(times))}
    if (not names or any(n not in row for n in names) or not bool(torch.isfinite(times).all())
            or meta.get("kind") == "3d" or not bool((times != times[0]).any())):
        return None
    return times[[row[n] for n in names]]


def _curate_source_times(frames: list) -> torch.Tensor:
    """A curate sample's frame times: each frame's ``time`` (its presentation time, seconds) when every frame has
    one and they increase (a variable-frame-rate clip's frames are not evenly spaced), else its ``source_index``
    (samples curated before the times were recorded, frame folders)."""
    times = [f.get("time") for f in frames]
    if frames and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
        try:
            seconds = torch.tensor([float(t) for t in times], dtype=torch.float64)
        except OverflowError:  # an integer past a float's range (10**400): not a time, the frame numbers are
            seconds = None
        if seconds is not None and bool(torch.isfinite(seconds).all()) and bool((seconds[1:] > seconds[:-1]).all()):
            return seconds
    return torch.tensor([float(f["source_index"]) for f in frames], dtype=torch.float64)


def _sample_meta(sample: Path) -> object:
    """A ``genxd curate`` sample's ``meta.json``, parsed; None when it is missing or not JSON."""
    meta_path = sample / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        return json.loads(meta_path.read_bytes())
    except (ValueError, RecursionError):  # not JSON or UTF-8; nested too deeply
        return None


def _curate_times(meta: Any, names: list[str]) -> torch.Tensor | None:
    """Frame times of a ``genxd curate`` sample (``meta``: its ``meta.json``): each frame's ``time`` (else its
    ``source_index``: :func:`_curate_source_times`), mapped to [0, 1] over the extracted frames; a ``genxd synth
    --format camvid`` sample's ``times`` (:func:`_synthetic_sample_times`). None when the meta data is missing or
    unusable."""
    if meta is None:
        return None
    try:
        if isinstance(meta, dict) and "frames" not in meta and "times" in meta:
            return _synthetic_sample_times(meta, names)
        row = {f["name"]: k for k, f in enumerate(meta["frames"])}
        source = _curate_source_times(meta["frames"])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError):  # a source_index
        # past a float's range
        return None
    if not names or any(n not in row for n in names) or not bool(torch.isfinite(source).all()):
        return None
    unit = times_to_unit_range(source)  # over all the extracted frames
    return None if unit is None else unit[[row[n] for n in names]]



def _read_colmap(folder: Path, dtype: torch.dtype, what: str = COLMAP_FORMAT, sample: Path | None = None) -> CameraPath:
    where = f"{folder} ({what})"
    try:
        model = read_colmap_model(folder, dtype=torch.float64, allow_distortion=True)
    except FileNotFoundError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(str(folder)) else f"{where}: {message}") from None
    if len(model) == 0:
        raise ValueError(f"{where}: no registered images")
    model = _in_frame_order(model)
    # radial distortion is left out of a path's K; a fisheye's focal length is another camera's (perspective_only)
    fisheye = next((f"{where}: image {name!r} has camera model {m}, a fisheye camera"
                    for name, m in zip(model.image_names, model.camera_models) if is_fisheye_model(m)), None)
    sizes = set(zip(model.heights, model.widths))
    if len(sizes) != 1:
        raise ValueError(f"{where}: images have different sizes {sorted(sizes)}; a camera path needs one size")
    (h, w), = sizes
    meta = _sample_meta(sample) if sample is not None else None
    times = _curate_times(meta, model.image_names)
    K = _square_still_camera(meta, model.K, h, w, sample)
    # a lens's points in view are those of its undistorted camera, as the training datasets measure the depth
    lens = (model.camera_models[0], tuple(model.camera_params[0]), h, w) \
        if model.camera_models[0] not in PINHOLE_MODELS else None
    depth = partial(_points_depth, model.points_xyz, model.c2w[0], K[0], lens) if len(model.points_xyz) else None
    return CameraPath(model.c2w.to(dtype), K.to(dtype), h, w, list(model.image_names),
                      times=times, source_format=what, scene_depth=depth,
                      fisheye=fisheye)


def _in_frame_order(model: ColmapModel) -> ColmapModel:
    """``model`` with its images in frame order: by name, numbers in names compared as numbers (``frame_2`` before
    ``frame_10``, as ``genxd curate`` orders a folder of frames); zero-padded names keep their order. Before, a path
    of ``frame_%d.jpg`` images went ``frame_1, frame_10, frame_11, ..., frame_2``: back and forth along the video."""
    from ..utils.natural_order import natural_key

    order = sorted(range(len(model)), key=lambda i: natural_key(model.image_names[i]))
    if order == list(range(len(model))):
        return model
    index = torch.tensor(order)
    return ColmapModel(model.c2w[index], model.K[index], [model.heights[i] for i in order],
                       [model.widths[i] for i in order], [model.image_names[i] for i in order], model.points_xyz,
                       model.points_rgb, [model.camera_models[i] for i in order],
                       [model.camera_params[i] for i in order])


def _square_still_camera(meta: object, K: torch.Tensor, height: int, width: int, sample: Path | None) -> torch.Tensor:
    """``K``, with fy = fx in pixels (and a warning naming ``sample``) when ``sample`` is an old still-camera
    curation (:func:`genxd.curation.static_camera.square_still_camera`)."""
    if meta is None:
        return K
    from ..curation.static_camera import OLD_STILL_CAMERA, square_still_camera
    from ..validation import warn

    square = square_still_camera(meta, K, [height] * len(K), [width] * len(K))
    if square is None:
        return K
    warn(f"{sample}: {OLD_STILL_CAMERA}; re-curating it rewrites it (remove its folder and run genxd curate again)")
    return square


def _points_depth(points_xyz: torch.Tensor, c2w: torch.Tensor, K: torch.Tensor,
                  lens: tuple[str, tuple[float, ...], int, int] | None = None) -> float | None:
    """The median depth of a COLMAP model's points seen from its first camera (``c2w``, ``K``; None: too few in
    view). ``lens``: that camera's ``(model, params, height, width)`` when it has distortion (a fisheye's ``K`` is
    no pinhole's: a narrower cone): the points in view are then those of its undistorted pinhole camera, as the
    training datasets see them (a ``data.datasets`` entry's ``undistort``, default on)."""
    from ..data.datasets import median_point_depth

    if lens is not None:
        from ..reconstruction.undistort import undistorted_camera

        K = undistorted_camera(*lens)[0]
    return median_point_depth(points_xyz, c2w, K)


def _synthetic_meta(obj: dict, path: Path, dtype: torch.dtype) -> CameraPath:
    where = f"{path} ({SYNTHETIC_META})"
    c2w = as_c2w(json_matrices(obj["c2w_opencv"], f"{where}: 'c2w_opencv'", (4,)), name=f"{where}: 'c2w_opencv'")
    n = len(c2w)
    Kraw = obj.get("K_normalized")
    if not isinstance(Kraw, list) or len(Kraw) != n:
        raise ValueError(f"{where}: 'K_normalized' must hold one 3x3 matrix per camera ({n}), got {describe(Kraw)}")
    rows = []
    for i, k in enumerate(Kraw):
        if not isinstance(k, list) or len(k) != 3:
            raise ValueError(f"{where}: 'K_normalized'[{i}]: expected a 3x3 matrix, got {describe(k)}")
        rows.append([json_numbers(r, f"{where}: 'K_normalized'[{i}][{j}]", 3) for j, r in enumerate(k)])
    K = as_intrinsics(torch.tensor(rows, dtype=torch.float64), n, name=f"{where}: 'K_normalized'")
    h = json_size(obj.get("height"), f"{where}: 'height'")
    w = json_size(obj.get("width"), f"{where}: 'width'")
    times = None
    if obj.get("times") is not None:
        times = torch.tensor(json_numbers(obj["times"], f"{where}: 'times'", n), dtype=torch.float64)
        if obj.get("kind") == "3d" or not bool((times != times[0]).any()):
            times = None  # a static clip: no timing
    return CameraPath(c2w.to(dtype), K.to(dtype), h, w, times=times,
                      source_format=SYNTHETIC_META, scene_depth=_scene_depth(obj.get("scene_depth")))


def _json_format(obj: object) -> str | None:
    """The format a parsed camera JSON is read as (the module docstring's table), None: not a camera file."""
    if is_viewer_json(obj):
        return VIEWER_JSON
    if isinstance(obj, list):
        return W2C_JSON
    if isinstance(obj, dict):
        for key, what in (("frames", TRANSFORMS_JSON), ("cameras", AUTHORS_JSON), ("camera", W2C_JSON),
                          ("c2w_opencv", SYNTHETIC_META)):
            if key in obj:
                return what
        if is_recon_json(obj):
            return RECON_JSON
    return None


def _from_json(path: Path, default_focal: float, height: int | None, width: int | None, dtype: torch.dtype) -> CameraPath:
    obj = read_json(path, f"a camera file ({camera_formats_help()})")
    what = _json_format(obj)
    if what == W2C_JSON:
        c2w, K = w2c_list_from_object(obj, path)
        return _with_default_intrinsics(c2w, K, default_focal, height, width, dtype)
    if what == TRANSFORMS_JSON:
        return transforms_from_object(obj, path, height, width, dtype)
    if what == AUTHORS_JSON:
        return camera_json_from_object(obj, path, dtype)
    if what == SYNTHETIC_META:
        return _synthetic_meta(obj, path, dtype)
    if what == VIEWER_JSON:
        return viewer_json_from_object(obj, path, dtype)
    if what == RECON_JSON:
        return recon_json_from_object(obj, path, dtype)
    found = describe(obj) if not isinstance(obj, dict) else "object without frames, cameras, camera or c2w and K"
    raise ValueError(
        f"{path}: not a camera file: a JSON {found} (expected an object with 'cameras' ({AUTHORS_JSON}), 'frames' "
        f"({TRANSFORMS_JSON}) or 'c2w' and 'K' ({RECON_JSON}), or a list of 3x4 world-to-camera matrices "
        f"({W2C_JSON}), or a list of views ({VIEWER_JSON}))")


def _with_default_intrinsics(c2w: torch.Tensor, K: torch.Tensor | None, default_focal: float, height: int | None,
                             width: int | None, dtype: torch.dtype) -> CameraPath:
    n = len(c2w)
    known = K is not None
    if K is None:
        K = intrinsics_from_focal(default_focal).double().expand(n, 3, 3)
    return CameraPath(c2w.to(dtype), K.to(dtype).contiguous(), height or DEFAULT_SIZE, width or DEFAULT_SIZE,
                      source_format=W2C_JSON, intrinsics_known=known)


def _curate_samples(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and _is_colmap_dir(p / "0"))


#: The camera files looked for in a folder that holds no COLMAP model, in this order (the first found is read).
FOLDER_CAMERA_FILES = ("transforms.json", "cameras.json", "meta.json")
CURATE_SAMPLE = "genxd curate sample"


@dataclass(frozen=True)
class _FolderSource:
    """What :func:`read_camera_path` reads for a folder: a COLMAP model (``model``, read as ``what``; ``sample``: the
    ``genxd curate`` sample whose ``meta.json`` gives the frame times) or a camera file (``file``; ``beside``: the
    ``meta.json`` beside it, whose ``scene_depth`` it carries where that is a synthetic clip's meta)."""

    model: Path | None = None
    what: str = COLMAP_FORMAT
    sample: Path | None = None
    file: Path | None = None
    beside: Path | None = None


class _SeveralSamples(ValueError):
    """A ``genxd curate`` output of several videos, one of which must be named (:func:`several_videos`)."""


def _folder_source(folder: Path) -> _FolderSource:
    """The one place that orders what a folder is read through: its COLMAP model, a curate sample's (``0/``),
    ``sparse/0``, ``sparse``, then :data:`FOLDER_CAMERA_FILES`, then the one sample of a ``genxd curate`` output
    folder. ValueError when there is none (or several samples)."""
    if _is_colmap_dir(folder):
        return _FolderSource(folder)
    if _is_colmap_dir(folder / "0"):  # a genxd curate sample (CamVid-30K layout)
        return _FolderSource(folder / "0", CURATE_SAMPLE, sample=folder)
    for model in (folder / "sparse" / "0", folder / "sparse"):
        if _is_colmap_dir(model):
            return _FolderSource(model)
    for name in FOLDER_CAMERA_FILES:
        if (folder / name).is_file():
            beside = folder / "meta.json"
            return _FolderSource(file=folder / name, beside=beside if name != "meta.json" and beside.is_file() else None)
    samples = _curate_samples(folder)
    if len(samples) == 1:  # a genxd curate output folder holding one video
        return _FolderSource(samples[0] / "0", CURATE_SAMPLE, sample=samples[0])
    if len(samples) > 1:
        raise _SeveralSamples(_several_samples(folder, samples))
    raise ValueError(f"{folder}: no camera file found in this folder (expected {camera_formats_help()})"
                     f"{_camera_folders_below(folder)}")


def _camera_folders_below(folder: Path, shown: int = 3) -> str:
    """``"; its sub-folders a, b hold camera paths: give one of them"`` for a folder whose sub-folders (not hidden)
    hold a camera file or a COLMAP model (a ``genxd generate`` output of several images, ``out/a/cameras.json``):
    the message said only that the folder holds none. ``""`` when none does."""
    try:
        below = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return ""
    found = [p for p in below if _is_colmap_dir(p) or any((p / n).is_file() for n in FOLDER_CAMERA_FILES)
             or any(_is_colmap_dir(m) for m in (p / "sparse" / "0", p / "sparse"))]
    if not found:
        return ""
    names = ", ".join(str(p) for p in found[:shown]) + (f" and {len(found) - shown} more" if len(found) > shown else "")
    return (f"; its sub-folder {names} holds a camera path: give it" if len(found) == 1 else
            f"; its sub-folders {names} hold camera paths: give one of them")


def _several_samples(folder: Path, samples: list[Path]) -> str:
    names = ", ".join(p.name for p in samples[:5]) + (" ..." if len(samples) > 5 else "")
    return f"{folder}: a genxd curate output with {len(samples)} videos ({names}); name one of them"


def several_videos(folder: str | os.PathLike) -> str | None:
    """The line that says ``folder`` is a ``genxd curate`` output of several videos, one of which must be named, when
    it is one (and holds no camera file of its own), else None: why :func:`read_camera_path` refuses it."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    try:
        _folder_source(folder)
    except _SeveralSamples as exc:
        return str(exc)
    except ValueError:
        return None
    return None


def colmap_model_dir(path: str | os.PathLike) -> Path | None:
    """The COLMAP model folder :func:`read_camera_path` reads for ``path``, or None (not a COLMAP source)."""
    path = Path(path)
    if path.is_file():
        return path.parent if path.name in COLMAP_FILES else None
    if not path.is_dir():
        return None
    try:
        return _folder_source(path).model
    except ValueError:
        return None


def camera_files(path: str | os.PathLike) -> list[Path]:
    """The files :func:`read_camera_path` reads for ``path``: a folder's camera file (its ``transforms.json`` ...,
    and the ``meta.json`` beside it) or COLMAP model files (and a curate sample's ``meta.json``), a COLMAP file's
    whole model, else ``path``; what an output written from them must not replace."""
    path = Path(path)
    if path.is_file() and path.name in COLMAP_FILES:
        source = _FolderSource(path.parent)
    elif path.is_dir():
        try:
            source = _folder_source(path)
        except ValueError:
            return []
    else:
        return [path]
    if source.model is None:
        return [f for f in (source.file, source.beside) if f is not None]
    files = [source.model / name for name in COLMAP_FILES if (source.model / name).is_file()]
    if source.sample is not None and (source.sample / "meta.json").is_file():
        files.append(source.sample / "meta.json")
    return files


def _scene_depth(value: object) -> float | None:
    """A meta's ``scene_depth`` when it is a positive number, else None (a meta written before it had one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        depth = float(value)
    except OverflowError:  # an integer past a float's range (10**400)
        return None
    return depth if math.isfinite(depth) and depth > 0 else None


def _depth_beside(meta: Path, n: int) -> float | None:
    """The ``scene_depth`` of ``meta`` when it is a synthetic clip's meta of ``n`` cameras (``genxd synth --format
    folder`` writes it beside the clip's ``transforms.json``), else None (a ``genxd generate`` output's, another
    clip's, unreadable)."""
    try:
        obj = read_json(meta)
    except (OSError, ValueError):
        return None
    if _json_format(obj) != SYNTHETIC_META or not isinstance(obj["c2w_opencv"], list) or len(obj["c2w_opencv"]) != n:
        return None
    return _scene_depth(obj.get("scene_depth"))


def _dtu_scan(path: Path) -> str | None:
    """Why a DTU scan (IDR's ``image/`` + ``cameras.npz``, DTU's ``Rectified/scanN``) or its ``cameras.npz`` is no
    camera path, and how to make one of its cameras; None for anything else. Its cameras are a capture's, in the
    scan's order, read with its images by :mod:`genxd.reconstruction` (``genxd reconstruct``, ``fewshot-data``)."""
    from ..reconstruction.dtu_idr import IDR_CAMERA_FILES, is_idr_scan
    from ..reconstruction.dtu_raw import is_dtu_scan

    scan = path.parent if path.name in IDR_CAMERA_FILES and is_idr_scan(path.parent) else path
    if not (scan.is_dir() and (is_idr_scan(scan) and any((scan / n).is_file() for n in IDR_CAMERA_FILES)
                               or is_dtu_scan(scan))):
        return None
    return (f"{path}: a DTU scan's cameras are not read as a camera path (expected {camera_formats_help()}); "
            f"as one: genxd fewshot-data {scan} -o data/dtu, then genxd trajectory fit data/dtu --out poses "
            f"--data-poses (the scan's cameras; without it a path fitted along them), then give "
            f"poses/dtu/{scan.name}/gen_poses_w2c.json")


def _from_folder(folder: Path, default_focal: float, height: int | None, width: int | None, dtype: torch.dtype) -> CameraPath:
    try:
        source = _folder_source(folder)
    except _SeveralSamples:
        raise
    except ValueError:  # no camera file: a DTU scan is said so (importing its readers only then)
        if (note := _dtu_scan(folder)) is not None:
            raise ValueError(note) from None
        raise
    if source.model is not None:
        return _read_colmap(source.model, dtype, source.what, sample=source.sample)
    assert source.file is not None  # _folder_source gives a model or a file
    cam = read_camera_path(source.file, default_focal=default_focal, height=height, width=width, dtype=dtype)
    # read when the depth is: a synthetic clip's meta read as the camera file carries its own (a number, no read)
    if source.beside is not None and (cam.source_format != SYNTHETIC_META or cam.scene_depth is None):
        cam.scene_depth = partial(_depth_beside, source.beside, len(cam))
    return cam


def perspective_only(cam: CameraPath) -> CameraPath:
    """``cam``, or a ValueError naming where its source has a fisheye lens: a path whose intrinsics are used
    (``genxd generate --camera``, ``genxd eval-camera``) takes perspective cameras. A fisheye's poses are still read
    (``--camera-from-video`` follows them with the model's intrinsics; ``genxd reconstruct`` and ``genxd train``
    undistort its images). Before 2026-12-05 such a path was used with the fisheye's focal length as a perspective
    camera's, another field of view than the file's."""
    if cam.fisheye is not None:
        raise ValueError(f"{cam.fisheye}; a camera path takes perspective cameras: a fisheye's focal length is not "
                         "theirs (genxd reconstruct and genxd train take it; --camera-from-video follows its poses)")
    return cam


def read_camera_path(
    path: str | os.PathLike,
    *,
    default_focal: float | None = None,
    height: int | None = None,
    width: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> CameraPath:
    """Read a camera path from any supported file or folder (see the module docstring).

    Args:
        path: a camera file, or a folder holding one (COLMAP model, curate sample, ...).
        default_focal: normalised focal length for files without intrinsics (default 1.414, the
            authors'); height, width: image size for files without one (default 256) or for a
            ``transforms.json`` without ``w``/``h``.
    Returns:
        a :class:`CameraPath`; ``source_format`` names the format, ``times`` holds frame times when
        the file has them, ``intrinsics_known`` is False when ``K`` is the default.
    Raises:
        FileNotFoundError: ``path`` does not exist. ValueError: anything wrong with the file. TypeError: ``path``
        is not a path.
    """
    from ..utils.paths import loop_note, path_argument, reachable, require_readable

    path = path_argument(path, "path", "a camera file or folder path")
    focal = _DEFAULT_FOCAL if default_focal is None else json_number(default_focal, "default_focal", positive=True)
    if height is not None:
        height = json_size(height, "height")
    if width is not None:
        width = json_size(width, "width")
    if not reachable(path, "camera file or folder"):
        raise FileNotFoundError(f"{path}: no such camera file or folder{loop_note(path)}")
    # a folder of mode 000 named its cameras.bin
    require_readable(path, "camera folder" if path.is_dir() else "camera file")
    if path.is_dir():
        return _from_folder(path, focal, height, width, dtype)
    if path.name in COLMAP_FILES:
        return _read_colmap(path.parent, dtype)
    if path.suffix.lower() == ".json":
        return _from_json(path, focal, height, width, dtype)
    if path.suffix.lower() == ".npz" and (note := _dtu_scan(path)) is not None:
        raise ValueError(note)
    raise ValueError(f"{path}: not a camera file (expected {camera_formats_help()})")
