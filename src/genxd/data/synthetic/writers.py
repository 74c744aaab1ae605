"""Write rendered clips to disk: image folders, mp4 videos, CamVid-30K samples, ReconFusion scenes.

All writers take images ``[N, 3, H, W]`` float in [0, 1] and cameras in the project convention
(OpenCV c2w ``[N, 4, 4]``, normalised K ``[N, 3, 3]``), write atomically (a temporary name, renamed
when complete) and refuse to replace existing outputs unless ``overwrite=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from genxd.cameras import unproject_depth
from genxd.utils.json_text import json_text

__all__ = [
    "to_uint8_frames",
    "write_image_folder",
    "write_video",
    "write_camvid_sample",
    "write_reconfusion",
    "default_reconfusion_splits",
    "sample_surface_points",
]

#: JPEG quality of CamVid-style frames.
JPEG_QUALITY = 95


def to_uint8_frames(rgb: Tensor) -> np.ndarray:
    """``[N, 3, H, W]`` float in [0, 1] to ``uint8 [N, H, W, 3]`` (rounded)."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be [N, 3, H, W], got shape {tuple(rgb.shape)}")
    if rgb.dtype == torch.uint8:
        return rgb.permute(0, 2, 3, 1).cpu().numpy()
    from ...utils.images import tensor_to_uint8  # the one float -> 8-bit rounding (docs/conventions.md)

    return np.ascontiguousarray(tensor_to_uint8(rgb))


def _prepare_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True to replace it)")


class _AtomicDir:
    """Context manager yielding a temporary folder beside ``path``, renamed onto it on success
    (:func:`genxd.utils.io.atomic_dir`: umask permissions, old output moved aside until the new one is in,
    temporaries of killed runs cleaned)."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        _prepare_target(path, overwrite)
        self.path, self.replace = path, overwrite

    def __enter__(self) -> Path:
        from genxd.utils.io import atomic_dir

        self._context = atomic_dir(self.path, replace=self.replace)
        return self._context.__enter__()

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        return self._context.__exit__(exc_type, exc, tb)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json_text(obj, indent=1) + "\n")


def _save_image(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    image = Image.fromarray(array)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=JPEG_QUALITY)
    else:
        image.save(path)


def _check_cameras(rgb: Tensor, c2w: Tensor, K: Tensor) -> None:
    n = rgb.shape[0]
    if c2w.shape != (n, 4, 4):
        raise ValueError(f"c2w must be [{n}, 4, 4] (one per frame), got shape {tuple(c2w.shape)}")
    if K.shape not in ((n, 3, 3), (3, 3)):
        raise ValueError(f"K must be [{n}, 3, 3] or [3, 3], got shape {tuple(K.shape)}")


def write_image_folder(
    out_dir: str | os.PathLike,
    rgb: Tensor,
    c2w: Tensor,
    K: Tensor,
    *,
    depth: Tensor | None = None,
    object_id: Tensor | None = None,
    meta: Mapping[str, Any] | None = None,
    image_format: str = "png",
    overwrite: bool = False,
    times: Tensor | None = None,
) -> Path:
    """An image folder with nerfstudio cameras.

    Layout: ``out_dir/images/frame_00001.png ...``, ``out_dir/transforms.json``
    (``genxd.cameras.save_transforms_json``; ``times [N]``, if given, as each frame's ``time``), optionally ``out_dir/ground_truth.npz`` (``depth``
    float32 ``[N, H, W]`` z-depth, ``object_id`` uint8 ``[N, H, W]``) and ``out_dir/meta.json``.
    """
    from genxd.cameras import save_transforms_json

    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    frames = to_uint8_frames(rgb)
    _check_cameras(rgb, c2w, K)
    n, H, W, _ = frames.shape
    out_dir = Path(out_dir)
    names = [f"images/frame_{i + 1:05d}.{image_format}" for i in range(n)]
    with _AtomicDir(out_dir, overwrite) as tmp:
        (tmp / "images").mkdir()
        for name, frame in zip(names, frames):
            _save_image(frame, tmp / name)
        save_transforms_json(tmp / "transforms.json", c2w, K, H, W, file_paths=names, times=times)
        arrays = {}
        if depth is not None:
            arrays["depth"] = depth.detach().cpu().numpy().astype(np.float32)
        if object_id is not None:
            arrays["object_id"] = object_id.detach().cpu().numpy().astype(np.uint8)
        if arrays:
            np.savez_compressed(tmp / "ground_truth.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub: allow_pickle
        if meta is not None:
            _write_json(tmp / "meta.json", dict(meta))
    return out_dir


def write_video(
    path: str | os.PathLike, rgb: Tensor, fps: float = 8.0, *, quality: int = 8, overwrite: bool = False
) -> Path:
    """An H.264 mp4 (yuv420p) of frames ``[N, 3, H, W]`` via :func:`genxd.utils.video.write_mp4` (atomic, checked
    complete). H and W must be even."""
    from genxd.utils.video import write_mp4

    frames = to_uint8_frames(rgb)
    n, H, W, _ = frames.shape
    if H % 2 or W % 2:
        raise ValueError(f"H.264 yuv420p needs an even frame size, got {H}x{W}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    path = Path(path)
    _prepare_target(path, overwrite)
    return write_mp4(path, frames, fps=fps, quality=quality, replace=overwrite)


def sample_surface_points(
    rgb: Tensor,
    depth: Tensor,
    c2w: Tensor,
    K: Tensor,
    num_points: int,
    mask: Tensor | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random surface points from depth maps (unprojected pixel centres) with their colours.

    Args:
        rgb ``[N, 3, H, W]``, depth ``[N, H, W]``, c2w ``[N, 4, 4]``, K ``[N, 3, 3]``;
        mask: optional ``[N, H, W]`` bool of pixels to draw from (e.g. not sky).
    Returns:
        xyz float64 ``[P, 3]``, colours uint8 ``[P, 3]`` with ``P = min(num_points, #pixels)``.
    """
    points = unproject_depth(depth.float().cpu(), c2w.float().cpu(), K.float().cpu())  # N H W 3
    colours = rgb.detach().float().cpu().permute(0, 2, 3, 1)
    keep = torch.ones(depth.shape, dtype=torch.bool) if mask is None else mask.cpu().bool()
    xyz, col = points[keep], colours[keep]
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(xyz.shape[0], generator=gen)[:num_points]
    xyz, col = xyz[idx], col[idx]
    return xyz.double().numpy(), (col.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def write_camvid_sample(
    root: str | os.PathLike,
    video_id: str,
    rgb: Tensor,
    c2w: Tensor,
    K: Tensor,
    *,
    depth: Tensor | None = None,
    point_mask: Tensor | None = None,
    num_points: int = 20000,
    meta: Mapping[str, Any] | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """One CamVid-30K sample: ``root/VIDEO_ID/images/00000.jpg ...`` and the COLMAP model
    ``root/VIDEO_ID/0/{cameras.bin, images.bin, points3D.bin, project.ini}``
    (``genxd.cameras.write_colmap_model``), plus ``root/VIDEO_ID/meta.json`` (``meta``: the
    ground-truth motion strength etc.).

    ``points3D.bin`` holds ``num_points`` points sampled from the surfaces by unprojecting ``depth``
    (where ``point_mask`` is true, e.g. excluding the sky); without ``depth`` it is empty.
    """
    from genxd.cameras import write_colmap_model

    if not video_id or "/" in video_id or video_id in (".", ".."):
        raise ValueError(f"video_id must be a plain folder name, got {video_id!r}")
    frames = to_uint8_frames(rgb)
    _check_cameras(rgb, c2w, K)
    n, H, W, _ = frames.shape
    names = [f"{i:05d}.jpg" for i in range(n)]
    sample_dir = Path(root) / video_id
    xyz = colours = None
    if depth is not None:
        xyz, colours = sample_surface_points(rgb, depth, c2w, K.expand(n, 3, 3), num_points, point_mask, seed)
    with _AtomicDir(sample_dir, overwrite) as tmp:
        (tmp / "images").mkdir()
        for name, frame in zip(names, frames):
            _save_image(frame, tmp / "images" / name)
        write_colmap_model(tmp / "0", c2w, K, H, W, names, points_xyz=xyz, points_rgb=colours)
        if meta is not None:
            _write_json(tmp / "meta.json", dict(meta))
    return sample_dir


def default_reconfusion_splits(num_views: int, shots: Sequence[int] = (3, 6, 9)) -> dict[int, tuple[list[int], list[int]]]:
    """ReconFusion-style few-shot splits: ``n`` evenly spaced training views, the rest for testing.

    Settings with ``n >= num_views`` are skipped; at least one split is always returned
    (``n = max(1, num_views // 2)``).
    """
    if num_views < 2:
        raise ValueError(f"need at least 2 views for a train/test split, got {num_views}")
    splits: dict[int, tuple[list[int], list[int]]] = {}
    for n in shots:
        if n < num_views:
            train = sorted({int(round(x)) for x in np.linspace(0, num_views - 1, n)})
            splits[n] = (train, [i for i in range(num_views) if i not in train])
    if not splits:
        n = max(1, num_views // 2)
        train = sorted({int(round(x)) for x in np.linspace(0, num_views - 1, n)})
        splits[n] = (train, [i for i in range(num_views) if i not in train])
    return splits


def write_reconfusion(
    root: str | os.PathLike,
    key: str,
    rgb: Tensor,
    c2w: Tensor,
    K: Tensor,
    splits: Mapping[int, tuple[Sequence[int], Sequence[int]]] | None = None,
    *,
    extras: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """A ReconFusion torch scene (``genxd.data.reconfusion.write_reconfusion_scene``); default
    splits from :func:`default_reconfusion_splits`. Returns the scene's torch file."""
    from genxd.data.reconfusion import write_reconfusion_scene

    _check_cameras(rgb, c2w, K)
    if splits is None:
        splits = default_reconfusion_splits(rgb.shape[0])
    return write_reconfusion_scene(
        root, key, rgb.detach().cpu(), c2w.cpu(), K.cpu(), splits, extras=extras, overwrite=overwrite
    )
