"""Posed images to reconstruct from, and the readers of the supported input folders.

Supported inputs (:func:`load_views`):

- a ``genxd generate`` output folder, or any folder with a nerfstudio ``transforms.json``
  (``frames[i].file_path`` relative to the folder). Optional per-frame keys: ``time`` (4D: the
  frame's time, any range, normalised to [0, 1]) and ``depth_file_path`` (z-depth map: ``.npy``
  float, or a 16-bit PNG scaled by the top-level ``depth_unit_scale_factor``, default 1e-3; or a
  ``ground_truth.npz`` with ``depth [N, H, W]`` beside it, as ``genxd.data.synthetic`` writes); frames of a lens
  with distortion (``camera_model`` ``OPENCV`` with ``k1 k2 k3 k4 p1 p2``, ``OPENCV_FISHEYE``) are undistorted;
  a top-level ``ply_file_path`` (nerfstudio's ``sparse_pc.ply``) gives the points for initialisation;
- a COLMAP model with images: ``DIR/images/*`` and ``DIR/0/`` or ``DIR/sparse/0/`` (or ``DIR/sparse/``);
  the sparse points are kept for initialisation; images of a camera with distortion terms (``genxd curate``'s
  ``SIMPLE_RADIAL``) are undistorted as COLMAP's undistorter does (``genxd.reconstruction.undistort``);
- a ReconFusion torch folder (``index.json``), one scene chosen by key;
- a DTU scan in IDR's / NeuS's layout (``image/`` + ``cameras.npz``: :mod:`genxd.reconstruction.dtu_idr`) or
  as DTU publishes it (``Rectified/scanN`` + ``Calibration/cal18``: :mod:`genxd.reconstruction.dtu_raw`), its
  views in DTU's order.

Every file an input lists (``file_path``, ``depth_file_path``, COLMAP image names) is read from inside
its folder only: absolute paths and paths that climb out with ``..`` are refused with a ValueError
naming the listing file (symbolic links inside the folder are followed: they are the folder owner's
doing). A frame that cannot be decoded, or frames of different sizes, are named in a one-line
ValueError before anything is trained.

``load_views(..., images_of=[...])`` reads the images (and depth maps) of those views only, with the cameras and
names of all (:attr:`Views.input_cameras`): what ``genxd eval-recon`` scores. The other views' image files are
neither decoded nor checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from genxd.utils.paths import listed_image, path_inside, require_file
from genxd.validation import arg, setting

from ..cameras.colmap import PINHOLE_MODELS
from ..cameras.geometry import normalize_intrinsics
from .depth_maps import ground_truth_depth, load_depth_map
from .input_kinds import colmap_dataset_above, detect_input_kind, find_colmap_model
from .undistort import transforms_lens, undistort_images
from .view_pixels import downsize_pixels, load_image, same_size

if TYPE_CHECKING:
    from genxd.data.reconfusion import ReconFusionScene

__all__ = ["Views", "InputCameras", "ViewOutOfRange", "load_views", "one_time_axis", "load_image", "detect_input_kind",
           "find_colmap_model", "load_reconfusion_views"]


@dataclass(frozen=True)
class InputCameras:
    """The cameras of all N views of an input, read beside the images of some of them (:attr:`Views.input_cameras`).

    Attributes: ``c2w [N, 4, 4]`` OpenCV camera-to-world, ``K [N, 3, 3]`` normalised intrinsics (of the undistorted
    pinhole camera, for a lens with distortion), float32 as :class:`Views` holds them; ``names``: the N view names.
    """

    c2w: Tensor
    K: Tensor
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)


class ViewOutOfRange(ValueError):
    """A view asked for (``load_views(images_of=...)``) that the input does not have: ``view`` (the largest such),
    ``count`` (the input's views)."""

    def __init__(self, where: str | os.PathLike, view: int, count: int) -> None:
        super().__init__(f"{where}: view {view} is out of range: the input has {count} views")
        self.view, self.count = view, count


@dataclass
class Views:
    """N posed images in the project convention.

    Attributes (tensors; numpy arrays are converted):
        images: ``[N, 3, H, W]`` float in [0, 1].
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world; K: ``[N, 3, 3]`` normalised intrinsics.
        names: N frame names (file names relative to the input).
        times: ``[N]`` in [0, 1] for 4D inputs, else None.
        source_times: ``[N]`` float64: the input's own times, which ``times`` maps to [0, 1] (a
            ``transforms.json``'s ``time`` values), or None (no times, or times not read from a file):
            :func:`one_time_axis` puts several inputs' times on one axis with them.
        depths: ``[N, H, W]`` z-depth (0 = unknown), or None.
        points_xyz / points_rgb: ``[P, 3]`` world points and colours in [0, 1] (COLMAP, or a transforms.json's
            ``ply_file_path``), or None.
        stored_size: ``(H, W)`` of the images as the input stores them (undistorted, for a lens with distortion)
            when they were downsized (:meth:`resized`, ``load_views(resolution=...)``), else None: see
            :attr:`input_size`.
        input_cameras: the cameras and names of all the input's views when these are some of them, read alone
            (``load_views(images_of=...)``; kept by :meth:`subset`), else None.

    Integer images are kept in their dtype (not made float), for :meth:`check_values` to refuse them.
    """

    images: Tensor
    c2w: Tensor
    K: Tensor
    names: list[str]
    times: Tensor | None = None
    depths: Tensor | None = None
    points_xyz: Tensor | None = None
    points_rgb: Tensor | None = None
    source_times: Tensor | None = None
    stored_size: tuple[int, int] | None = None
    input_cameras: InputCameras | None = None

    def __post_init__(self) -> None:
        from ..cameras.geometry import _tensor

        # numpy arrays (a caller's own frames) failed in train_gaussians with "expected Tensor as element 0"
        self.images = _tensor(self.images, "Views.images", keep_integers=True)
        self.c2w = _tensor(self.c2w, "Views.c2w")
        self.K = _tensor(self.K, "Views.K")
        n = self.images.shape[0]
        if self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"Views.images: expected [N, 3, H, W], got {tuple(self.images.shape)}")
        if self.c2w.shape != (n, 4, 4) or self.K.shape != (n, 3, 3):
            raise ValueError(
                f"Views: {n} images but c2w {tuple(self.c2w.shape)} and K {tuple(self.K.shape)}"
            )
        if len(self.names) != n:
            raise ValueError(f"Views: {n} images but {len(self.names)} names")
        if self.times is not None and self.times.shape != (n,):
            raise ValueError(f"Views.times: expected [{n}], got {tuple(self.times.shape)}")
        if self.source_times is not None and self.source_times.shape != (n,):
            raise ValueError(f"Views.source_times: expected [{n}], got {tuple(self.source_times.shape)}")
        if self.depths is not None and self.depths.shape != (n, *self.images.shape[-2:]):
            raise ValueError(f"Views.depths: expected [{n}, H, W], got {tuple(self.depths.shape)}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def check_values(self) -> None:
        """Raise ValueError naming the attribute unless the images are floats in [0, 1] and the cameras finite, rigid
        and pinhole (:func:`train_gaussians` calls it: ``uint8`` or 0-255 images and scaled rotations were fitted
        silently, a NaN pose failed as "no sampled point is seen by two cameras")."""
        from ..cameras._io import as_intrinsics
        from ..cameras.geometry import check_rigid

        images = self.images
        if not images.is_floating_point():
            hint = " (divide 8-bit images by 255)" if images.dtype == torch.uint8 else ""
            raise ValueError(f"Views.images must be float in [0, 1], got {images.dtype}{hint}")
        if not torch.isfinite(images).all():
            raise ValueError("Views.images contain NaN or infinite values")
        low, high = float(images.min()), float(images.max())
        if low < -1e-3 or high > 1 + 1e-3:
            hint = " (8-bit levels: divide by 255)" if high > 1.5 else ""
            raise ValueError(f"Views.images must be in [0, 1], got values in [{low:.4g}, {high:.4g}]{hint}")
        check_rigid(self.c2w, "Views.c2w")
        as_intrinsics(self.K, len(self), "Views.K")

    @property
    def input_size(self) -> tuple[int, int]:
        """``(H, W)`` of the images as the input stores them, before any downsizing."""
        return self.stored_size if self.stored_size is not None else (self.height, self.width)

    @property
    def height(self) -> int:
        return int(self.images.shape[-2])

    @property
    def width(self) -> int:
        return int(self.images.shape[-1])

    def subset(self, indices: Sequence[int] | Tensor) -> "Views":
        """The views at ``indices`` (points are kept)."""
        idx = torch.as_tensor(list(indices) if not torch.is_tensor(indices) else indices, dtype=torch.long)
        return replace(
            self,
            images=self.images[idx],
            c2w=self.c2w[idx],
            K=self.K[idx],
            names=[self.names[i] for i in idx.tolist()],
            times=None if self.times is None else self.times[idx],
            source_times=None if self.source_times is None else self.source_times[idx],
            depths=None if self.depths is None else self.depths[idx],
        )

    def resized(self, resolution: int | None) -> "Views":
        """Downsize so the longer side is at most ``resolution`` pixels (aspect kept; normalised K
        unchanged; smaller images are left as they are).

        Images use antialiased bilinear filtering, depths nearest-neighbour (the input pixel under each output
        pixel's centre).
        """
        images, depths = downsize_pixels(self.images, self.depths, resolution)
        return self if images is self.images else replace(self, images=images, depths=depths,
                                                             stored_size=self.input_size)


def pixel_camera_views(paths: Sequence[Path], Ks: Sequence[np.ndarray], c2ws: Sequence[np.ndarray], names: list[str],
                       where: str | os.PathLike, size: tuple[int, int] | None = None,
                       resolution: int | None = None, images_of: Sequence[int] | None = None) -> Views:
    """The views of the image files ``paths`` (one size, else a ValueError naming ``where``): pixel intrinsics ``Ks``
    (float64 ``[3, 3]``) normalised by ``size`` (width, height; default the images' stored size), OpenCV ``c2ws``;
    each image downsized to ``resolution`` (:func:`downsize_pixels`) as soon as it is read (a DTU scan's 49 views of
    1600x1200 held 1.1 GB as floats at once). ``images_of``: only those views, their images alone read
    (:func:`load_views`)."""
    read, subset = _views_read(images_of, len(paths), where)
    images, sizes = [], []
    for i in read:
        image = load_image(paths[i])
        sizes.append(_size_of(image))  # the stored size: one for all, checked below
        image = downsize_pixels(image[None], None, resolution)[0][0]  # the full-size pixels let go before the next
        images.append(image)
    same_size(sizes, [paths[i] for i in read], where)
    stored = (int(sizes[0].shape[-2]), int(sizes[0].shape[-1]))
    width, height = size or (stored[1], stored[0])
    K = normalize_intrinsics(torch.from_numpy(np.stack(Ks)), width, height)
    return _views_of(subset, torch.stack(images), torch.from_numpy(np.stack(c2ws)).float(),
                     K.float(), names, stored_size=stored if stored != tuple(images[0].shape[-2:]) else None)


def _size_of(image: Tensor) -> Tensor:
    """An empty tensor of ``image``'s height and width: what :func:`same_size` compares, without the pixels."""
    return torch.empty(0, *image.shape[-2:])


def _views_read(images_of: Sequence[int] | None, count: int,
                where: str | os.PathLike) -> tuple[list[int], list[int] | None]:
    """``(read, subset)``: the views whose images a reader decodes, in order: all ``count`` (``images_of`` None),
    else ``images_of`` (a :class:`ViewOutOfRange` naming ``where`` for one the input does not have); and the
    ``subset`` :func:`_views_of` takes: None when every view is read, else ``read``."""
    if images_of is None:
        return list(range(count)), None
    read = [int(i) for i in images_of]
    if outside := [i for i in read if not 0 <= i < count]:
        raise ViewOutOfRange(where, max(outside), count)
    return read, read


def _views_of(subset: list[int] | None, images: Tensor, c2w: Tensor, K: Tensor, names: list[str],
              times: Tensor | None = None, source_times: Tensor | None = None, **read_fields: object) -> Views:
    """The :class:`Views` of the views read (``images [len, 3, H, W]``, and ``read_fields`` such as depths, of them)
    from the cameras ``c2w [N, 4, 4]``, ``K [N, 3, 3]``, ``names`` and ``times [N]`` of all the input's views: all
    of them (``subset`` None: every view was read), else the views ``subset`` (the views read when some were asked
    for, ``load_views(images_of=...)``), with :attr:`Views.input_cameras`."""
    if subset is None:
        return Views(images=images, c2w=c2w, K=K, names=names, times=times, source_times=source_times,
                     **read_fields)  # type: ignore[arg-type]
    idx = torch.tensor(subset, dtype=torch.long)
    return Views(images=images, c2w=c2w[idx], K=K[idx], names=[names[i] for i in subset],
                 times=None if times is None else times[idx],
                 source_times=None if source_times is None else source_times[idx],
                 input_cameras=InputCameras(c2w, K, list(names)), **read_fields)  # type: ignore[arg-type]


def _fill_unread_pinhole_K(K: Tensor, read: Sequence[int], models: Sequence[str],
                           params: Sequence[Sequence[float]], heights: Sequence[int], widths: Sequence[int]) -> None:
    """Set in ``K [N, 3, 3]`` (normalised) the K :func:`undistort_images` gives the images of each view not ``read``
    whose camera has distortion (COLMAP ``models`` / ``params``, images ``heights x widths``, N each), without
    reading them; the views read, and pinhole cameras, are left as they are."""
    from .undistort import undistorted_camera

    known: dict[tuple, Tensor] = {}  # the K (float64) computed so far, by camera
    for i in sorted(set(range(len(models))) - set(read)):
        if models[i] not in PINHOLE_MODELS:
            key = (models[i], tuple(float(x) for x in params[i]), int(heights[i]), int(widths[i]))
            if key not in known:
                known[key] = undistorted_camera(*key)[0]
            K[i] = known[key].to(K.dtype)


def _load_transforms(path: Path, resolution: int | None = None, images_of: Sequence[int] | None = None,
                     read_depths: bool = True) -> Views:
    """The views of a transforms.json (``path``, or the folder holding it), each image downsized to ``resolution``
    (:func:`downsize_pixels`) as soon as it is read (and undistorted): the views of 300 frames of 1080p held
    about 15 GB at once as floats before they were downsized to 128 px. ``images_of``: only those views, their
    images and depth maps alone read; ``read_depths`` False: no depth map read (:func:`load_views`)."""
    from genxd.cameras._io import json_number
    from genxd.cameras.formats import TRANSFORMS_JSON, transforms_from_object
    from genxd.utils.json_files import read_json

    from .undistort import GridCache

    json_path = path if path.is_file() else path / "transforms.json"
    folder = json_path.parent
    meta = read_json(json_path, f"a {TRANSFORMS_JSON}")  # read once: its size limit holds for what is parsed
    if path.is_file() and isinstance(meta, dict) and "frames" not in meta:  # another .json: a scene's cameras.json
        beside = folder / "transforms.json"
        hint = f"; give the folder {folder} (its transforms.json)" if beside.is_file() and not beside.samefile(
            json_path) else ""
        raise ValueError(f"{json_path}: not a {TRANSFORMS_JSON} (it has no 'frames' list){hint}")
    cameras = transforms_from_object(meta, json_path)
    frames = meta["frames"]  # a list of objects with transform_matrix: transforms_from_object checked it
    for i, fr in enumerate(frames):
        if not isinstance(fr.get("file_path"), str) or not fr["file_path"]:
            raise ValueError(f"{json_path}: frames[{i}] has no file_path (the image's path in its folder)")
    paths = [listed_image(folder, fr["file_path"], json_path) for fr in frames]
    depth_paths = None
    if all("depth_file_path" in fr for fr in frames):
        depth_paths = [path_inside(folder, str(fr["depth_file_path"]), json_path) for fr in frames]
    size = (cameras.height, cameras.width)
    K = cameras.K.double()
    # a lens with distortion (ns-process-data keeps the images as shot): each view undistorted, then downsized
    lens = transforms_lens(meta, K, cameras.height, cameras.width, str(json_path))
    depth_unit = 1e-3
    if depth_paths is not None:
        depth_unit = json_number(meta.get("depth_unit_scale_factor", 1e-3), f"{json_path}: depth_unit_scale_factor",
                                 positive=True)
    if not read_depths:  # listed and checked as a listing, not read
        depth_paths = None
    grids = GridCache()
    images: list[Tensor] = []
    depths: list[Tensor | None] = []
    first_read = first_undistorted = None  # the sizes (empty tensors) of the first view, read and undistorted
    stored: tuple[int, int] | None = None  # the views' size before downsizing, when they were
    ground_truth: Tensor | None = None
    read, subset = _views_read(images_of, len(paths), json_path)
    first = paths[read[0]] if read else paths[0]  # the view the others' sizes are compared with
    for i in read:
        file = paths[i]
        image = load_image(file)
        if first_read is None:
            first_read = _size_of(image)
            if tuple(image.shape[-2:]) != size:
                raise ValueError(f"{json_path}: images are {image.shape[-1]}x{image.shape[-2]} but the file says "
                                 f"{cameras.width}x{cameras.height}")
            if read_depths and depth_paths is None and (folder / "ground_truth.npz").is_file():  # synth folders
                ground_truth = ground_truth_depth(folder / "ground_truth.npz", (len(frames), *size))
        same_size([first_read, image], [first, file], json_path)
        depth = load_depth_map(depth_paths[i], depth_unit, size) if depth_paths is not None else (
            None if ground_truth is None else ground_truth[i])
        if lens is not None:
            [image], [pinhole_K], undistorted_depth = undistort_images(
                [image], [lens[0][i]], [lens[1][i]], depths=None if depth is None else [depth], grids=grids)
            if pinhole_K is not None:
                K[i] = pinhole_K
            depth = undistorted_depth[0] if depth is not None else None
            first_undistorted = _size_of(image) if first_undistorted is None else first_undistorted
            same_size([first_undistorted, image], [first, file], json_path)
        stored = (int(image.shape[-2]), int(image.shape[-1]))
        image, depth = downsize_pixels(image[None], None if depth is None else depth[None], resolution)
        images.append(image[0])
        depths.append(None if depth is None else depth[0])
    if lens is not None:  # the pinhole cameras of the views not read
        models, params = lens
        _fill_unread_pinhole_K(K, read, models, params, [cameras.height] * len(paths),
                               [cameras.width] * len(paths))
    times, source_times = None, None
    if all("time" in fr for fr in frames):
        from genxd.cameras._io import times_to_unit_range

        # finite (checked above), normalised in float64: a time of 1e300 is finite there, not in float32
        source_times = torch.tensor([float(fr["time"]) for fr in frames], dtype=torch.float64)
        unit = times_to_unit_range(source_times)
        times = (torch.zeros_like(source_times) if unit is None else unit).float()
    points_xyz = points_rgb = None
    if meta.get("ply_file_path") is not None:  # nerfstudio's sparse points (ns-process-data), in the cameras' frame
        from .ply import load_point_cloud

        points_xyz, points_rgb = load_point_cloud(path_inside(folder, str(meta["ply_file_path"]), json_path))
    return _views_of(
        subset,
        images=torch.stack(images),
        c2w=cameras.c2w.float(),
        K=K.float(),
        names=[fr["file_path"] for fr in frames],
        times=times,
        depths=None if any(d is None for d in depths) else torch.stack(depths),  # type: ignore[arg-type]
        points_xyz=points_xyz,
        points_rgb=points_rgb,
        source_times=source_times,
        stored_size=stored if stored != tuple(images[0].shape[-2:]) else None,
    )


def one_time_axis(parts: Sequence[Views]) -> list[Tensor | None]:
    """The ``times`` of ``parts`` (views of several inputs, e.g. ``genxd reconstruct``'s input and its
    ``--extra-views``) on one time axis: the input's own times of every part with :attr:`Views.source_times` are
    mapped to [0, 1] together (the earliest of all to 0, the latest to 1), so an input
    of times 0-0.5 and one of 0.5-1 stay in order instead of both spanning [0, 1]; other parts' times (None, or
    made up from the frames' order) are returned as they are."""
    from genxd.cameras._io import times_to_unit_range

    placed: list[int] = []
    own: list[Tensor] = []
    for i, p in enumerate(parts):
        if p.times is not None and p.source_times is not None:
            placed.append(i)
            own.append(p.source_times)
    out: list[Tensor | None] = [p.times for p in parts]
    if not placed:
        return out
    unit = times_to_unit_range(torch.cat(own))
    joined = torch.zeros(sum(len(t) for t in own), dtype=torch.float64) if unit is None else unit
    for i, t in zip(placed, joined.split([len(t) for t in own])):
        out[i] = t.float()
    return out


def _load_colmap(path: Path, resolution: int | None = None, images_of: Sequence[int] | None = None) -> Views:
    """The views of a COLMAP model with images, each image downsized to ``resolution`` as soon as it is read (and
    undistorted), as :func:`_load_transforms` (``images_of`` too)."""
    from genxd.cameras.formats import read_colmap_model

    from .undistort import GridCache

    model_dir = find_colmap_model(path)
    if model_dir is None:
        raise ValueError(f"{path}: no COLMAP model (0/, sparse/0/ or sparse/)")
    model = read_colmap_model(model_dir, allow_distortion=True)  # distorted views are undistorted below
    if len(model) == 0:
        raise ValueError(f"{model_dir}: the COLMAP model has no registered images")
    image_dir = path / "images"
    if not image_dir.is_dir():
        raise ValueError(f"{path}: no images/ folder beside the COLMAP model{colmap_dataset_above(path)}")
    images, sizes, paths = [], [], []
    stored: tuple[int, int] | None = None  # the views' size before downsizing
    K = model.K.clone()
    grids = GridCache()
    read, subset = _views_read(images_of, len(model), model_dir)
    for i in read:
        name, h, w = model.image_names[i], model.heights[i], model.widths[i]
        file = path_inside(image_dir, name, model_dir)
        require_file(file, f"image registered in {model_dir} not found")
        img = load_image(file)
        if img.shape[-2:] != (h, w):
            raise ValueError(f"{file}: image is {img.shape[-1]}x{img.shape[-2]}, COLMAP says {w}x{h}")
        if model.camera_models[i] not in PINHOLE_MODELS:  # e.g. genxd curate's SIMPLE_RADIAL
            [img], [pinhole_K], _ = undistort_images([img], [model.camera_models[i]], [model.camera_params[i]],
                                                     grids=grids)
            if pinhole_K is not None:
                K[i] = pinhole_K.to(K.dtype)
        sizes.append(_size_of(img))  # as undistorted, before downsizing: one size for all, checked below
        stored = (int(img.shape[-2]), int(img.shape[-1]))
        img = downsize_pixels(img[None], None, resolution)[0][0]  # the full-size pixels let go before the next
        images.append(img)
        paths.append(file)
    same_size(sizes, paths, path)
    _fill_unread_pinhole_K(K, read, model.camera_models, model.camera_params, model.heights, model.widths)
    points = model.points_xyz.float() if len(model.points_xyz) else None
    colors = model.points_rgb.float() / 255.0 if len(model.points_xyz) else None
    return _views_of(
        subset,
        images=torch.stack(images),
        c2w=model.c2w.float(),
        K=K.float(),
        names=list(model.image_names),
        points_xyz=points,
        points_rgb=colors,
        stored_size=stored if stored != tuple(images[0].shape[-2:]) else None,
    )


def _reconfusion_scene(path: Path, key: str | None) -> tuple[ReconFusionScene, Path]:
    """The :class:`~genxd.data.reconfusion.ReconFusionScene` ``key`` of the ReconFusion folder ``path`` (None: its
    only scene), its ``index.json`` read once, and its torch file; its images not decoded (:func:`_reconfusion_views`
    decodes them)."""
    from genxd.data.reconfusion import load_reconfusion_scene, read_reconfusion_index

    index = read_reconfusion_index(path, keys=None if key is None else [key])
    if key is None:
        if len(index) != 1:
            raise ValueError(f"{path}: a ReconFusion folder with {len(index)} scenes; choose one with {arg('scene_key')}")
        key = next(iter(index))
    file = path / index[key]
    return load_reconfusion_scene(file, key=key, decode_images=False), file


def _reconfusion_views(scene: ReconFusionScene, file: Path, resolution: int | None = None,
                       images_of: Sequence[int] | None = None) -> Views:
    """The views of a ReconFusion ``scene`` (read from ``file``), each image downsized to ``resolution``
    (:func:`downsize_pixels`) as soon as it is decoded; ``images_of``: only those views, their images alone decoded
    (none: no view, ``images [0, 3, 0, 0]``)."""
    from genxd.data.reconfusion import decode_scene_images

    read, subset = _views_read(images_of, len(scene), file)
    images, stored = torch.empty(0, 3, 0, 0), None
    if read:
        images, stored = decode_scene_images(scene.image_bytes, str(file),
                                             lambda image: downsize_pixels(image[None], None, resolution)[0][0],
                                             indices=subset)
    return _views_of(
        subset,
        images=images.float(),
        c2w=scene.c2w.float(),
        K=scene.K.float(),
        names=[f"{scene.key}/{i:04d}" for i in range(len(scene))],
        stored_size=stored if stored != tuple(images.shape[-2:]) else None,
    )


def _reconfusion_split_ids(path: Path, scene: ReconFusionScene, n_views: int) -> tuple[list[int], list[int]]:
    if n_views not in scene.splits:
        have = ", ".join(str(k) for k in sorted(scene.splits)) or "none"
        raise ValueError(f"{path}: {setting('n_views', n_views)}: scene {scene.key!r} has no "
                         f"train_test_split_{n_views} (has: {have})")
    train_ids, test_ids = scene.splits[n_views]
    return [int(i) for i in train_ids], [int(i) for i in test_ids]


def load_views(
    path: str | os.PathLike, resolution: int | None = None, scene_key: str | None = None,
    images_of: Sequence[int] | None = None, read_depths: bool = True,
) -> Views:
    """Read posed images from a supported input folder (see the module docstring).

    Args:
        path: the input folder (or a ``transforms.json`` file).
        resolution: longer image side after resizing (None or 0: keep).
        scene_key: the scene of a ReconFusion folder (needed when it holds several).
        images_of: read only these views (indices into the input's views; at least one), in this order: the views
            ``load_views(path, resolution).subset(images_of)`` gives, with the cameras and names of all the input's
            views in :attr:`Views.input_cameras`. Only their images (and depth map files) are read and checked: an
            image of another view that is missing, cannot be decoded or has another size is not found (a synthetic
            folder's ``ground_truth.npz`` holds every view's depth in one array, which is read whole). A view the
            input does not have is a :class:`ViewOutOfRange`. None: all views (``input_cameras`` None).
        read_depths: False: no depth map is read (``Views.depths`` None), for a caller that uses the images alone
            (``genxd eval-recon``: a synthetic folder's ``ground_truth.npz`` held the depth of every view).
    """
    path = Path(path)
    if images_of is not None and not len(images_of):
        raise ValueError("images_of: no views given (None reads all)")
    kind = detect_input_kind(path)
    if kind == "transforms":
        views = _load_transforms(path, resolution, images_of, read_depths)
    elif kind == "colmap":
        views = _load_colmap(path, resolution, images_of)
    elif kind == "idr":
        from .dtu_idr import load_idr_scan

        views = load_idr_scan(path, resolution, images_of)
    elif kind == "dtu":
        from .dtu_raw import load_dtu_scan

        views = load_dtu_scan(path, resolution, images_of)
    else:
        views = _reconfusion_views(*_reconfusion_scene(path, scene_key), resolution, images_of)
    return views  # each image downsized to resolution as it was read


def reconfusion_split(path: str | os.PathLike, scene_key: str | None, n_views: int) -> tuple[str, list[int], list[int]]:
    """``(scene key, train_ids, test_ids)`` of the few-shot split ``train_test_split_{n_views}``."""
    path = Path(path)
    scene, _ = _reconfusion_scene(path, scene_key)
    return (scene.key, *_reconfusion_split_ids(path, scene, n_views))


def load_reconfusion_views(path: str | os.PathLike, scene_key: str | None, n_views: int,
                           resolution: int | None = None,
                           held_out_only: bool = False) -> tuple[Views, str, list[int], list[int]]:
    """``(views, scene key, train_ids, test_ids)`` of a ReconFusion folder's scene: :func:`load_views` and
    :func:`reconfusion_split` from one read of its ``index.json`` and torch file. ``held_out_only``: the views are
    the test views alone (``load_views(images_of=test_ids)``: the other images not decoded nor checked)."""
    path = Path(path)
    scene, file = _reconfusion_scene(path, scene_key)
    if held_out_only:
        train_ids, test_ids = _reconfusion_split_ids(path, scene, n_views)
        return _reconfusion_views(scene, file, resolution, test_ids), scene.key, train_ids, test_ids
    views = _reconfusion_views(scene, file, resolution)  # an image that cannot be decoded is named first, as before
    train_ids, test_ids = _reconfusion_split_ids(path, scene, n_views)
    return views, scene.key, train_ids, test_ids
