"""Exact ground truth derived from renders: point tracks, optical flow, image-space motion strength.

A pixel's surface point is rigidly attached to what it hit: object points follow their object's pose
(``Scene.object_poses``), ground and sky points are fixed in the world.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genxd.cameras import project_points, unproject_depth

from .render import RenderOutput
from .scene import Scene

__all__ = ["track_points", "optical_flow", "image_motion_strength"]


def track_points(
    scene: Scene, depth: Tensor, object_id: Tensor, c2w: Tensor, K: Tensor, time: float, target_times: Tensor
) -> Tensor:
    """Where the surface points seen by one view are at other times.

    Args:
        depth, object_id: ``[H, W]`` z-depth and object ids of the source view (from :func:`render`).
        c2w, K: ``[4, 4]``, ``[3, 3]`` the source camera; time: the source view's time.
        target_times: ``[T]`` times in [0, 1].
    Returns:
        ``[T, H, W, 3]`` world positions of each pixel's surface point at each target time.
    """
    device = depth.device
    c2w, K = c2w.to(device, torch.float32), K.to(device, torch.float32)
    points = unproject_depth(depth, c2w, K)  # H W 3
    target_times = torch.as_tensor(target_times, dtype=torch.float32).reshape(-1)
    src_c, src_R = scene.object_poses(torch.tensor([float(time)]))
    dst_c, dst_R = scene.object_poses(target_times)
    src_c, src_R, dst_c, dst_R = (x.to(device) for x in (src_c[0], src_R[0], dst_c, dst_R))
    out = points.expand(len(target_times), *points.shape).clone()
    mask = object_id > 0
    if mask.any():
        m = object_id[mask] - 1  # P
        local = ((points[mask] - src_c[m])[:, None, :] @ src_R[m]).squeeze(1)  # R^T (p - c)
        moved = (dst_R[:, m] @ local[None, :, :, None]).squeeze(-1) + dst_c[:, m]  # T P 3
        out[:, mask] = moved
    return out


def optical_flow(
    scene: Scene, out: RenderOutput, c2w: Tensor, K: Tensor, rel_tolerance: float = 0.01
) -> tuple[Tensor, Tensor]:
    """Exact forward optical flow between consecutive views ``i -> i + 1``.

    Args:
        out: the render of ``N`` views; c2w ``[N, 4, 4]``, K ``[N, 3, 3]`` the cameras used.
        rel_tolerance: a pixel counts as visible in the next view when its projected z-depth agrees
            with the next view's depth there (bilinear in inverse depth) within this relative
            tolerance; pixels next to occlusion edges may be marked invalid (conservative).
    Returns:
        flow ``[N - 1, 2, H, W]`` in pixels (dx, dy), valid ``[N - 1, H, W]`` (in frame and not occluded).
    """
    n, H, W = out.depth.shape
    device = out.depth.device
    c2w, K = c2w.to(device, torch.float32), K.to(device, torch.float32)
    flows, valids = [], []
    for i in range(n - 1):
        moved = track_points(
            scene, out.depth[i], out.object_id[i], c2w[i], K[i], float(out.times[i]), out.times[i + 1 : i + 2]
        )[0]
        uv, z = project_points(moved.reshape(-1, 3), c2w[i + 1], K[i + 1])
        px = uv * uv.new_tensor([W, H])
        grid = _pixel_centres(H, W, device)
        flow = px.reshape(H, W, 2) - grid
        inside = (uv >= 0).all(-1) & (uv <= 1).all(-1) & (z > 0)
        # Inverse z-depth is affine in the image on planes: bilinear sampling of it is exact there.
        grid = (uv * 2 - 1).reshape(1, 1, -1, 2)
        inv_depth = F.grid_sample(
            (1.0 / out.depth[i + 1])[None, None], grid, mode="bilinear", padding_mode="border", align_corners=False
        ).flatten()
        visible = inside & ((inv_depth * z - 1.0).abs() <= rel_tolerance)
        flows.append(flow.permute(2, 0, 1))
        valids.append(visible.reshape(H, W))
    if not flows:
        return torch.zeros(0, 2, H, W, device=device), torch.zeros(0, H, W, dtype=torch.bool, device=device)
    return torch.stack(flows), torch.stack(valids)


def _pixel_centres(H: int, W: int, device: torch.device) -> Tensor:
    v = torch.arange(H, device=device, dtype=torch.float32) + 0.5
    u = torch.arange(W, device=device, dtype=torch.float32) + 0.5
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    return torch.stack([uu, vv], -1)


def image_motion_strength(
    scene: Scene, out: RenderOutput, c2w: Tensor, K: Tensor, frame_gap: int = 3
) -> float:
    """Exact image-space object motion of a clip, with camera motion factored out: the quantity the
    GenXD curation estimates (``genxd.curation.motion``) computed from ground truth.

    For each frame ``i`` and ``j = i + frame_gap``, every object pixel of view ``i`` is moved with its
    object to time ``t_j`` and projected into camera ``j`` (where it really is), and also projected
    without moving (where it would be, were it static). ``M_ij`` is the difference in image units
    (pixels over the shorter side, ``min(W, H)``; ``x / W``, ``y / H`` for square frames) divided by
    ``frame_gap`` (a per-frame speed). Per object: the median of ``|M_ij|`` over its pixels and frame pairs; the clip's value
    is the largest per-object value (0 when nothing moves or no object is seen). ``frame_gap`` is
    reduced to ``N - 1`` for short clips.
    """
    n, H, W = out.depth.shape
    if n < 2:
        return 0.0
    gap = max(1, min(int(frame_gap), n - 1))
    device = out.depth.device
    c2w, K = c2w.to(device, torch.float32), K.to(device, torch.float32)
    per_object: dict[int, list[Tensor]] = {}
    for i in range(n - gap):
        j = i + gap
        ids = out.object_id[i]
        mask = ids > 0
        if not mask.any():
            continue
        moved = track_points(scene, out.depth[i], ids, c2w[i], K[i], float(out.times[i]), out.times[j : j + 1])[0]
        still = unproject_depth(out.depth[i], c2w[i], K[i])
        uv_moved, z_moved = project_points(moved[mask], c2w[j], K[j])
        uv_still, z_still = project_points(still[mask], c2w[j], K[j])
        ok = (z_moved > 1e-6) & (z_still > 1e-6)
        # uv: normalised by (W, H); motion strength by the shorter side (docs/conventions.md)
        speed = ((uv_moved - uv_still) * uv_moved.new_tensor([W, H])).norm(dim=-1) / (min(W, H) * gap)
        for m in ids[mask][ok].unique().tolist():
            per_object.setdefault(m, []).append(speed[ok][ids[mask][ok] == m])
    if not per_object:
        return 0.0
    return max(float(torch.cat(v).median()) for v in per_object.values())
