"""Initial points (and colours) for the Gaussians: COLMAP points, depth maps, or random in the frusta.

- ``colmap``: the sparse points of the input COLMAP model (or of a transforms.json's ``ply_file_path``);
- ``depth``: pixels of the input depth maps unprojected to 3D (colour from the image);
- ``random``: points sampled in the camera frusta: a random camera, a random pixel and a depth
  drawn uniformly in disparity between ``near`` and ``far`` (``near = 0.25 d``, ``far = 4 d``
  with ``d`` the distance to the cameras' common focus, the point nearest to all optical axes;
  without a focus, ``d = 2 x`` the cameras' spread). Points seen by fewer than ``min(2, N)``
  cameras are dropped. The colour is the sampled pixel's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genxd.cameras import project_points, unproject_depth

from .views import Views

__all__ = [
    "InitMethod",
    "InitialPoints",
    "camera_focus",
    "scene_scale",
    "random_points_in_frusta",
    "points_from_depth",
    "init_method_for",
    "initial_points",
    "footprint_layers",
]

InitMethod = Literal["auto", "colmap", "random", "depth"]


def scene_scale(c2w: Tensor) -> float:
    """3DGS's scene extent: 1.1 x the largest distance of a camera centre to their mean (>= 1e-3)."""
    centres = c2w[:, :3, 3].double()
    radius = (centres - centres.mean(0)).norm(dim=-1).max().item() * 1.1
    return float(max(radius, 1e-3))


def camera_focus(c2w: Tensor) -> tuple[Tensor | None, float]:
    """The point nearest (least squares) to all optical axes and its median depth in the cameras.

    Returns ``(point [3] or None, distance)``: None when the axes are (nearly) parallel or the point
    is not in front of most cameras; the distance then falls back to 2 x the cameras' spread (>= 1).
    """
    o = c2w[:, :3, 3].double()
    d = c2w[:, :3, 2].double()
    d = d / d.norm(dim=-1, keepdim=True)
    spread = float((o - o.mean(0)).norm(dim=-1).max())
    fallback = max(2.0 * spread, 1.0)
    if len(c2w) < 2:
        return None, fallback
    eye = torch.eye(3, dtype=torch.float64)
    A = eye[None] - d[:, :, None] * d[:, None, :]  # N 3 3
    lhs, rhs = A.sum(0), (A @ o[:, :, None]).sum(0)[:, 0]
    eig = torch.linalg.eigvalsh(lhs)
    if eig[0] < 1e-3 * eig[-1]:
        return None, fallback
    point = torch.linalg.solve(lhs, rhs)
    depth = ((point[None] - o) * d).sum(-1)
    if (depth > 0).float().mean() < 0.75:
        return None, fallback
    return point.float(), float(depth[depth > 0].median())


def random_points_in_frusta(
    views: Views, num_points: int, generator: torch.Generator | None = None, min_views: int = 2
) -> tuple[Tensor, Tensor, Tensor]:
    """``(points [P, 3], colours [P, 3], source view [P])`` sampled in the camera frusta (see the
    module docstring)."""
    if num_points <= 0:
        raise ValueError(f"num_points must be positive, got {num_points}")
    c2w, K = views.c2w.float(), views.K.float()
    N, H, W = len(views), views.height, views.width
    _, dist = camera_focus(c2w)
    near, far = 0.25 * dist, 4.0 * dist
    need = min(min_views, N)
    points, colours, sources = [], [], []
    total = 0
    for _ in range(20):  # oversample, keep points seen by enough cameras
        m = 2 * num_points
        cam = torch.randint(0, N, (m,), generator=generator)
        u = torch.rand(m, generator=generator)
        v = torch.rand(m, generator=generator)
        disparity = 1 / far + torch.rand(m, generator=generator) * (1 / near - 1 / far)
        z = 1 / disparity
        Kinv = torch.linalg.inv(K[cam])
        ray = (Kinv @ torch.stack([u, v, torch.ones_like(u)], -1)[:, :, None])[:, :, 0]  # z = 1
        p_cam = ray * z[:, None]
        p = (c2w[cam, :3, :3] @ p_cam[:, :, None])[:, :, 0] + c2w[cam, :3, 3]
        uv, depth = project_points(p[None].expand(N, -1, -1), c2w, K)  # N m 2, N m
        seen = ((uv >= 0) & (uv <= 1)).all(-1) & (depth > 0)
        keep = seen.sum(0) >= need
        rows = (v * H).long().clamp(max=H - 1)
        cols = (u * W).long().clamp(max=W - 1)
        col = views.images[cam, :, rows, cols]  # m 3
        points.append(p[keep])
        colours.append(col[keep])
        sources.append(cam[keep])
        total += int(keep.sum())
        if total >= num_points:
            break
    pts = torch.cat(points)[:num_points]
    cols = torch.cat(colours)[:num_points]
    if len(pts) == 0:
        raise ValueError("random initialisation: no sampled point is seen by two cameras; check the camera poses")
    return pts, cols, torch.cat(sources)[:num_points]


def points_from_depth(
    views: Views, num_points: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """``(points [P, 3], colours [P, 3], source view [P])``: random pixels with depth > 0, unprojected."""
    if views.depths is None:
        raise ValueError("depth initialisation needs depth maps (transforms.json 'depth_file_path')")
    pts = unproject_depth(views.depths.float(), views.c2w.float(), views.K.float())  # N H W 3
    valid = (views.depths > 0) & torch.isfinite(views.depths)
    idx = torch.nonzero(valid.flatten(), as_tuple=True)[0]
    if idx.numel() == 0:
        raise ValueError("depth initialisation: every depth map is empty (no value > 0)")
    pick = idx[torch.randperm(idx.numel(), generator=generator)[:num_points]]
    colours = views.images.permute(0, 2, 3, 1).reshape(-1, 3)[pick]
    source = torch.div(pick, views.height * views.width, rounding_mode="floor")
    return pts.reshape(-1, 3)[pick], colours, source


def footprint_layers(points: Tensor, sigmas: Tensor, c2w: Tensor, K: Tensor, height: int, width: int) -> float:
    """How many Gaussians deep the images are, on average over the views:
    ``sum_g min(pi r_g^2, H W) / (H W)`` with ``r_g = 3 sigma_g f / z_g`` the pixel radius of each
    isotropic Gaussian in front of the camera and overlapping the image (the rasteriser's ~3-sigma extent).

    The rasteriser's work grows with this number ((pixel, Gaussian) pairs ~ layers x pixels): the sparse
    random initialisation of a few views gives hundreds of layers of large splats (docs/reconstruction.md,
    "On a CPU").

    Args: ``points [P, 3]``, ``sigmas [P]`` standard deviations (world units), ``c2w [N, 4, 4]``,
    normalised ``K [N, 3, 3]``, the image size in pixels.
    """
    pixels = float(height * width)
    pts = points.detach().cpu().double()
    sig = sigmas.detach().cpu().double()
    total = 0.0
    for cam in range(len(c2w)):
        w2c = torch.linalg.inv(c2w[cam].detach().cpu().double())
        p = pts @ w2c[:3, :3].T + w2c[:3, 3]
        z = p[:, 2].clamp_min(1e-6)
        front = p[:, 2] > 1e-6
        fx, fy = float(K[cam, 0, 0]) * width, float(K[cam, 1, 1]) * height
        u = p[:, 0] / z * fx + float(K[cam, 0, 2]) * width
        v = p[:, 1] / z * fy + float(K[cam, 1, 2]) * height
        r = 3.0 * sig * max(fx, fy) / z
        seen = front & (u > -r) & (u < width + r) & (v > -r) & (v < height + r)
        total += float(torch.clamp(torch.pi * r[seen] ** 2, max=pixels).sum()) / pixels
    return total / max(len(c2w), 1)


@dataclass
class InitialPoints:
    """Initial Gaussian centres ``points [P, 3]``, colours ``[P, 3]`` in [0, 1], the method used,
    and for views with times, each point's source time ``times [P]`` (None otherwise)."""

    points: Tensor
    colors: Tensor
    method: str
    times: Tensor | None = None


def init_method_for(views: Views, method: InitMethod | str) -> str:
    """The method :func:`initial_points` uses for ``views``: ``auto`` is ``colmap`` when the views have sparse points,
    else ``depth`` with depth maps, else ``random``. A ValueError when the views lack what ``method`` needs, or for
    an unknown method."""
    has_points = views.points_xyz is not None and len(views.points_xyz) > 0
    if method == "auto":
        return "colmap" if has_points else ("depth" if views.depths is not None else "random")
    if method == "colmap" and not has_points:
        from ..validation import setting

        raise ValueError(f"{setting('init', 'colmap')} needs a COLMAP input with 3D points (or a "
                         "transforms.json with a ply_file_path)")
    if method == "depth" and views.depths is None:
        raise ValueError("depth initialisation needs depth maps (transforms.json 'depth_file_path')")
    if method not in ("colmap", "depth", "random"):
        raise ValueError(f"unknown init method {method!r}: expected auto, colmap, random or depth")
    return method


def initial_points(
    views: Views, method: InitMethod = "auto", num_points: int = 20_000, seed: int = 0
) -> InitialPoints:
    """Initial points (see the module docstring).

    ``auto``: COLMAP points when the input has them, else depth maps when present, else random.
    """
    generator = torch.Generator().manual_seed(seed)
    chosen = init_method_for(views, method)
    if chosen == "colmap":
        assert views.points_xyz is not None  # init_method_for checked it
        colours = views.points_rgb if views.points_rgb is not None else torch.full_like(views.points_xyz, 0.5)
        return InitialPoints(views.points_xyz.float(), colours.float(), chosen)
    if chosen == "depth":
        pts, cols, source = points_from_depth(views, num_points, generator)
    else:  # random
        pts, cols, source = random_points_in_frusta(views, num_points, generator)
    times = None if views.times is None else views.times.float()[source]
    return InitialPoints(pts, cols, chosen, times)
