"""Differentiable 3D Gaussian rasterisation in the project convention.

Two backends give the same images:

- ``"torch"``: a pure-PyTorch EWA splatting rasteriser (any device, CPU included). It follows
  gsplat 1.5.3's ``fully_fused_projection`` + ``rasterize_to_pixels`` ("classic" mode) step by
  step: Gaussians are projected with the perspective Jacobian (its x/z, y/z clamped to 1.3 x the
  field of view as gsplat does), a 0.3 px^2 low-pass filter is added to the 2D covariance,
  Gaussians behind the near plane or with opacity below 1/255 are culled, and each pixel
  composites its Gaussians front to back (sorted by camera z) with
  ``alpha = min(0.999, opacity * exp(-0.5 d^T Sigma^-1 d))``, skipping ``alpha < 1/255`` and
  stopping before the transmittance drops to 1e-4. Instead of tiles it enumerates the
  (pixel, Gaussian) pairs inside each Gaussian's alpha >= 1/255 ellipse (row spans solved in
  closed form; gsplat evaluates the same pixels), so the work is proportional to the covered
  area. Pairs are ordered per pixel by a stable radix sort and the transmittance comes from
  segmented cumulative sums of ``log(1 - alpha)`` in float64. Projection and compositing are
  ``torch.autograd.Function`` s with analytic backward passes (cameras get no gradients).
- ``"gsplat"``: ``gsplat.rasterization`` (CUDA only).

Conventions (``docs/conventions.md``): ``c2w`` OpenCV camera-to-world ``[C, 4, 4]``, normalised
intrinsics ``K [C, 3, 3]``, pixel centres at half-integers, outputs channels first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genxd.cameras import c2w_to_w2c, denormalize_intrinsics

__all__ = [
    "ALPHA_THRESHOLD",
    "MAX_ALPHA",
    "TRANSMITTANCE_THRESHOLD",
    "RasterOutput",
    "Projection",
    "quat_to_rotmat",
    "project_gaussians",
    "world_to_camera",
    "rasterize",
    "rasterize_with_info",
    "gsplat_available",
]

#: gsplat's ``ALPHA_THRESHOLD``: contributions with a smaller alpha are skipped.
ALPHA_THRESHOLD = 1.0 / 255.0
#: gsplat 1.5.3 clamps alpha to 0.999 (the original 3DGS code used 0.99).
MAX_ALPHA = 0.999
#: a pixel stops compositing before its transmittance would fall to this value.
TRANSMITTANCE_THRESHOLD = 1e-4
#: gsplat's cap on the opacity-aware bounding-box extent, in standard deviations.
MAX_EXTENT_SIGMAS = 3.33

Backend = Literal["auto", "torch", "gsplat"]


@dataclass
class RasterOutput:
    """Result of :func:`rasterize_with_info`.

    Attributes:
        rgb: ``[C, D, H, W]`` composited colours (background included), D = colour channels.
        alpha: ``[C, H, W]`` accumulated opacity ``1 - T``.
        depth: ``[C, H, W]`` expected z-depth ``sum(w z) / alpha`` (0 where nothing is drawn).
        info: gsplat-compatible metadata for densification: ``means2d [C, G, 2]`` (pixels, in
            the autograd graph), ``radii [C, G, 2]`` (int, 0 = culled), ``width``, ``height``,
            ``n_cameras``, ``gaussian_ids`` (None: unpacked), ``backend``.
    """

    rgb: Tensor
    alpha: Tensor
    depth: Tensor
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Projection:
    """Gaussians projected into C cameras (all ``[C, G, ...]``).

    ``means2d`` in pixels (pixel centres at +0.5), ``conics`` the inverse 2D covariance as
    ``(a, b, c)`` for ``[[a, b], [b, c]]``, ``depths`` camera z, ``radii`` the integer half-sizes
    of the opacity-aware bounding box (0 where culled), ``valid`` a boolean mask.
    """

    means2d: Tensor
    conics: Tensor
    depths: Tensor
    radii: Tensor
    valid: Tensor


def gsplat_available() -> bool:
    """Whether ``gsplat`` can be imported (its CUDA kernels are only usable on CUDA tensors)."""
    try:
        import gsplat  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]`` from quaternions ``[..., 4]`` (w, x, y, z; normalised here)."""
    q = F.normalize(quats, dim=-1)
    w, x, y, z = q.unbind(-1)
    R = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )
    return R.reshape(*q.shape[:-1], 3, 3)


def _check_inputs(
    means: Tensor, quats: Tensor, scales: Tensor, opacities: Tensor, colors: Tensor, c2w: Tensor, K: Tensor
) -> None:
    G = means.shape[0]
    if means.ndim != 2 or means.shape[-1] != 3:
        raise ValueError(f"means: expected [G, 3], got {tuple(means.shape)}")
    if quats.shape != (G, 4):
        raise ValueError(f"quats: expected [{G}, 4] (w, x, y, z), got {tuple(quats.shape)}")
    if scales.shape != (G, 3):
        raise ValueError(f"scales: expected [{G}, 3] (activated, not log), got {tuple(scales.shape)}")
    if opacities.shape != (G,):
        raise ValueError(f"opacities: expected [{G}] in [0, 1], got {tuple(opacities.shape)}")
    if c2w.ndim != 3 or c2w.shape[-2:] != (4, 4):
        raise ValueError(f"c2w: expected [C, 4, 4], got {tuple(c2w.shape)}")
    if K.shape != (c2w.shape[0], 3, 3):
        raise ValueError(f"K: expected [{c2w.shape[0]}, 3, 3] normalised intrinsics, got {tuple(K.shape)}")
    if colors.ndim not in (2, 3) or colors.shape[-2] != G:
        raise ValueError(f"colors: expected [G, D] or [C, G, D] with G={G}, got {tuple(colors.shape)}")
    if colors.ndim == 3 and colors.shape[0] != c2w.shape[0]:
        raise ValueError(f"colors: {colors.shape[0]} cameras given, c2w has {c2w.shape[0]}")


def _rotmat_soa(q: Tensor) -> Tensor:
    """Rotation matrices ``[3, 3, G]`` (structure of arrays) from unit quaternions ``q [4, G]`` (wxyz)."""
    w, x, y, z = q.unbind(0)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ]
    ).reshape(3, 3, -1)


def _rotmat_soa_vjp(q: Tensor, g: Tensor) -> Tensor:
    """Gradient ``[4, G]`` wrt unit quaternions ``q [4, G]`` of ``<g, R(q)>``, ``g [3, 3, G]``."""
    w, x, y, z = q.unbind(0)
    g00, g01, g02, g10, g11, g12, g20, g21, g22 = g.reshape(9, -1).unbind(0)
    gw = 2 * (-z * g01 + y * g02 + z * g10 - x * g12 - y * g20 + x * g21)
    gx = 2 * (y * g01 + z * g02 + y * g10 - 2 * x * g11 - w * g12 + z * g20 + w * g21 - 2 * x * g22)
    gy = 2 * (-2 * y * g00 + x * g01 + w * g02 + x * g10 + z * g12 - w * g20 + z * g21 - 2 * y * g22)
    gz = 2 * (-2 * z * g00 - w * g01 + x * g02 + w * g10 - 2 * z * g11 + y * g12 + x * g20 + y * g21)
    return torch.stack([gw, gx, gy, gz])


def _matvec_soa(R: Tensor, X: Tensor) -> Tensor:
    """``R @ X`` for ``R [3, 3]`` and ``X [3, ...]`` as element-wise products and sums.

    Deliberately not a GEMM: on CUDA a GEMM runs in TF32 (10-bit mantissa) whenever
    ``torch.backends.cuda.matmul.allow_tf32`` is set, which other parts of genxd (the fast sampling
    path, training) turn on process-wide; that shifts projected means by ~0.1 px and made renders
    differ from gsplat's (FP32) by 2e-2. Element-wise float32 maths matches gsplat's kernels.
    """
    Rb = R.reshape(3, 3, *([1] * (X.ndim - 1)))
    return (Rb * X.unsqueeze(0)).sum(1)


def _matmul_soa(R: Tensor, X: Tensor) -> Tensor:
    """``R @ X[..., g]`` for all g at once: ``R [3, 3]``, ``X [3, 3, G]`` -> ``[3, 3, G]`` (no GEMM, see
    :func:`_matvec_soa`)."""
    return _matvec_soa(R, X)


def world_to_camera(c2w: Tensor) -> Tensor:
    """World-to-camera ``[C, 4, 4]`` of OpenCV ``c2w [C, 4, 4]``, inverted in float64 (exact even where
    TF32 GEMMs are enabled) and returned in ``c2w``'s dtype; shared by both backends."""
    return c2w_to_w2c(c2w.detach().double()).to(c2w.dtype)


class _ProjectOneCamera(torch.autograd.Function):
    """EWA projection into one pinhole camera with an analytic backward pass (gsplat's
    ``persp_proj`` + ``add_blur`` + conic inversion). Cameras are constants (no pose gradients).

    Inputs (structure of arrays, contiguous): ``means [3, G]``, unit ``quats [4, G]`` (wxyz),
    ``scales [3, G]``, camera ``R [3, 3]``, ``t [3]`` (world-to-camera) and pixel intrinsics.
    Outputs: ``means2d [2, G]``, ``conics [3, G]``, ``depths [G]`` and (non-differentiable) the
    blurred 2D covariance diagonal ``[2, G]`` and a validity mask (inside the near/far planes,
    positive determinant).
    """

    @staticmethod
    def _camera_space(means, R, t, lims, near_plane, far_plane):
        p = _matvec_soa(R, means) + t[:, None]  # 3 G
        x, y, z_raw = p.unbind(0)
        valid = (z_raw >= near_plane) & (z_raw <= far_plane)
        z = torch.where(valid, z_raw, torch.ones_like(z_raw))  # culled entries stay finite
        rz = 1.0 / z
        lim_x_pos, lim_x_neg, lim_y_pos, lim_y_neg = lims
        ux, uy = x * rz, y * rz
        tx = z * ux.clamp(-lim_x_neg, lim_x_pos)
        ty = z * uy.clamp(-lim_y_neg, lim_y_pos)
        clamped_x = (ux < -lim_x_neg) | (ux > lim_x_pos)
        clamped_y = (uy < -lim_y_neg) | (uy > lim_y_pos)
        return x, y, z_raw, rz, tx, ty, clamped_x, clamped_y, valid

    @staticmethod
    def _jacobian_rows(Rq, scales, R, fx, fy, rz, tx, ty):
        Wm = _matmul_soa(R, Rq * scales[None, :, :])  # R_w2c R(q) S: [3 (row), 3 (col), G]
        j00, j02 = fx * rz, -fx * tx * rz * rz
        j11, j12 = fy * rz, -fy * ty * rz * rz
        row0 = j00 * Wm[0] + j02 * Wm[2]  # 3 G: rows of J W, cov2d = (J W)(J W)^T
        row1 = j11 * Wm[1] + j12 * Wm[2]
        return Wm, (j00, j02, j11, j12), row0, row1

    @staticmethod
    def forward(ctx, means, quats, scales, R, t, fx, fy, cx, cy, width, height, eps2d, near_plane, far_plane):
        tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
        lims = (
            (width - cx) / fx + 0.3 * tan_fovx,
            cx / fx + 0.3 * tan_fovx,
            (height - cy) / fy + 0.3 * tan_fovy,
            cy / fy + 0.3 * tan_fovy,
        )
        x, y, z_raw, rz, tx, ty, _, _, valid = _ProjectOneCamera._camera_space(means, R, t, lims, near_plane, far_plane)
        Rq = _rotmat_soa(quats)
        _, _, row0, row1 = _ProjectOneCamera._jacobian_rows(Rq, scales, R, fx, fy, rz, tx, ty)
        a = (row0 * row0).sum(0) + eps2d
        b = (row0 * row1).sum(0)
        c = (row1 * row1).sum(0) + eps2d
        det = a * c - b * b
        valid = valid & (det > 0)
        inv_det = 1.0 / torch.where(valid, det, torch.ones_like(det))
        conics = torch.stack([c * inv_det, -b * inv_det, a * inv_det])
        means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy])
        ctx.save_for_backward(means, quats, scales, R, t, Rq, conics, valid)
        ctx.camera = (fx, fy, lims, near_plane, far_plane)
        cov_diag = torch.stack([a, c])
        ctx.mark_non_differentiable(cov_diag, valid)
        return means2d, conics, z_raw.clone(), cov_diag, valid

    @staticmethod
    def backward(ctx, g_means2d, g_conics, g_depths, _g_cov, _g_valid):
        means, quats, scales, R, t, Rq, conics, valid = ctx.saved_tensors
        fx, fy, lims, near_plane, far_plane = ctx.camera
        x, y, _, rz, tx, ty, clamped_x, clamped_y, _ = _ProjectOneCamera._camera_space(
            means, R, t, lims, near_plane, far_plane
        )
        mask = valid.to(means.dtype)
        g_means2d = torch.zeros_like(means[:2]) if g_means2d is None else g_means2d * mask
        g_conics = torch.zeros_like(conics) if g_conics is None else g_conics * mask
        g_depths = torch.zeros_like(means[0]) if g_depths is None else g_depths * mask
        Wm, (j00, j02, j11, j12), row0, row1 = _ProjectOneCamera._jacobian_rows(Rq, scales, R, fx, fy, rz, tx, ty)

        # conics = inverse(cov2d): dL/dcov = -inv G inv, G the symmetric gradient of the inverse
        A, B, C = conics.unbind(0)
        gA, gB, gC = g_conics.unbind(0)
        gB = 0.5 * gB
        X00 = (A * gA + B * gB) * A + (A * gB + B * gC) * B
        X01 = (A * gA + B * gB) * B + (A * gB + B * gC) * C
        X11 = (B * gA + C * gB) * B + (B * gB + C * gC) * C
        ga, gb, gc = -X00, -2.0 * X01, -X11
        # a = |row0|^2, b = row0 . row1, c = |row1|^2
        g_row0 = 2.0 * ga * row0 + gb * row1
        g_row1 = 2.0 * gc * row1 + gb * row0
        g_W = torch.stack([j00 * g_row0, j11 * g_row1, j02 * g_row0 + j12 * g_row1])  # 3 3 G
        g_j00 = (g_row0 * Wm[0]).sum(0)
        g_j02 = (g_row0 * Wm[2]).sum(0)
        g_j11 = (g_row1 * Wm[1]).sum(0)
        g_j12 = (g_row1 * Wm[2]).sum(0)
        # W = R_w2c M, M = R(q) S; the quaternion arrives normalised: drop the radial component
        g_M = _matmul_soa(R.t(), g_W)
        g_scales = (g_M * Rq).sum(0)
        g_q = _rotmat_soa_vjp(quats, g_M * scales[None, :, :])
        g_quats = g_q - quats * (quats * g_q).sum(0, keepdim=True)
        # J and the projected mean depend on the camera-space point (x, y, z)
        gu, gv = g_means2d.unbind(0)
        g_rz = fx * (g_j00 + x * gu) + fy * (g_j11 + y * gv) - 2.0 * rz * (fx * tx * g_j02 + fy * ty * g_j12)
        g_tx = -fx * rz * rz * g_j02
        g_ty = -fy * rz * rz * g_j12
        zero = torch.zeros_like(g_tx)
        g_x = fx * rz * gu + torch.where(clamped_x, zero, g_tx)
        g_y = fy * rz * gv + torch.where(clamped_y, zero, g_ty)
        g_z = (
            g_depths
            - rz * rz * g_rz
            + torch.where(clamped_x, tx * rz * g_tx, zero)
            + torch.where(clamped_y, ty * rz * g_ty, zero)
        )
        g_means = _matvec_soa(R.t(), torch.stack([g_x, g_y, g_z]) * mask)
        return g_means, g_quats * mask, g_scales * mask, None, None, None, None, None, None, None, None, None, None, None


def project_gaussians(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    c2w: Tensor,
    K_pixels: Tensor,
    height: int,
    width: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
) -> Projection:
    """EWA projection of 3D Gaussians (gsplat's ``fully_fused_projection``, pinhole, classic).

    Differentiable wrt means, quats and scales (not the cameras).

    Args:
        means ``[G, 3]``, quats ``[G, 4]`` (wxyz, any norm), scales ``[G, 3]``, opacities ``[G]``;
        c2w ``[C, 4, 4]`` OpenCV; K_pixels ``[C, 3, 3]`` pixel intrinsics.
    """
    w2c = world_to_camera(c2w)
    # structure of arrays ([k, G], contiguous): element-wise maths on contiguous rows is fast
    means_t = means.t().contiguous()
    quats_t = F.normalize(quats, dim=-1).t().contiguous()
    scales_t = scales.t().contiguous()
    outs = []
    for cam in range(c2w.shape[0]):
        k = K_pixels[cam].detach()
        outs.append(
            _ProjectOneCamera.apply(
                means_t, quats_t, scales_t, w2c[cam, :3, :3].contiguous(), w2c[cam, :3, 3].contiguous(),
                float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]),
                width, height, eps2d, near_plane, far_plane,
            )
        )
    means2d = torch.stack([o[0].t() for o in outs])  # C G 2
    conics = torch.stack([o[1].t() for o in outs])  # C G 3
    depths = torch.stack([o[2] for o in outs])  # C G
    cov_diag = torch.stack([o[3].t() for o in outs])  # C G 2
    valid = torch.stack([o[4] for o in outs])

    with torch.no_grad():
        opac = opacities.detach().expand_as(depths)
        valid = valid & (opac >= ALPHA_THRESHOLD)
        extent = torch.sqrt(2.0 * torch.log(opac.clamp_min(ALPHA_THRESHOLD) / ALPHA_THRESHOLD))
        extent = extent.clamp(max=MAX_EXTENT_SIGMAS)
        rx = torch.ceil(extent * torch.sqrt(cov_diag[..., 0].clamp_min(0)))
        ry = torch.ceil(extent * torch.sqrt(cov_diag[..., 1].clamp_min(0)))
        valid = valid & ~((rx <= 0) & (ry <= 0))
        mx, my = means2d.detach().unbind(-1)
        inside = (mx + rx > 0) & (mx - rx < width) & (my + ry > 0) & (my - ry < height)
        valid = valid & inside & torch.isfinite(mx) & torch.isfinite(my)
        radii = torch.stack([rx, ry], dim=-1).to(torch.int32) * valid[..., None]
    return Projection(means2d=means2d, conics=conics, depths=depths, radii=radii, valid=valid)


def _stable_argsort_pixels(pid: Tensor, num_pixels: int) -> Tensor:
    """Stable argsort of pixel ids ``[M]`` (int64). On CPU: numpy's O(M) radix sort on 16-bit keys
    (two passes above 65,536 pixels), much faster than a comparison sort; elsewhere ``torch.sort``."""
    if pid.device.type != "cpu":
        return torch.sort(pid, stable=True)[1]
    keys = pid.numpy()
    if num_pixels <= 1 << 16:
        order = np.argsort(keys.astype(np.uint16), kind="stable")
    else:  # least-significant-digit radix sort in two stable passes
        order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
        high = (keys[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return torch.from_numpy(order.astype(np.int64))


def _segment_exclusive_cumsum(values: Tensor, pid: Tensor, num_pixels: int) -> tuple[Tensor, Tensor]:
    """For pairs sorted by pixel (``pid [M]`` non-decreasing): per pair, the sum of ``values`` over
    the earlier pairs of its pixel ``[M]``, and the per-pixel totals ``[P]``; in float64."""
    v = values.double()
    totals = torch.zeros(num_pixels, dtype=torch.float64, device=v.device).index_add_(0, pid, v)
    pixel_base = torch.cumsum(totals, 0) - totals  # sum over all earlier pixels
    exclusive = torch.cumsum(v, 0) - v
    return exclusive - pixel_base.index_select(0, pid), totals


def _candidate_pairs(
    attrs: Tensor, radii: Tensor, height: int, width: int, max_pairs: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(pixel, Gaussian) pairs that may have alpha >= 1/255, Gaussians given front to back.

    Each Gaussian is scanned row by row over its bounding box; in each row only the pixel span
    inside the ellipse ``sigma <= log(255 opacity)`` (where alpha >= 1/255) is enumerated (solved
    in closed form, with a small margin). Alphas below 1/255 (margin pixels) are set to 0.

    Args: ``attrs [6, n]`` (mean x, mean y, conic a, b, c, opacity), ``radii [n, 2]``.
    Returns ``(local [M], pid [M], alpha [M], dx [M], dy [M])`` ordered Gaussian by Gaussian
    (front to back); ``local``/``pid`` int64; ``dx, dy`` = mean - pixel centre.
    """
    device, dtype = attrs.device, attrs.dtype
    n = attrs.shape[1]
    my = attrs[1]
    ry = radii[:, 1].to(dtype)
    y0 = torch.ceil(my - ry - 0.5).clamp(min=0).to(torch.int32)
    y1 = torch.floor(my + ry - 0.5).clamp(max=height - 1).to(torch.int32)
    rows_per = (y1 - y0 + 1).clamp(min=0)
    n_rows = int(rows_per.sum())
    empty_i = torch.zeros(0, dtype=torch.long, device=device)
    empty_f = torch.zeros(0, dtype=dtype, device=device)
    if n_rows == 0:
        return empty_i, empty_i, empty_f, empty_f, empty_f
    # one entry per (Gaussian, image row)
    row_g = torch.repeat_interleave(torch.arange(n, device=device, dtype=torch.int32), rows_per)
    row_first = torch.cumsum(rows_per, 0, dtype=torch.int32) - rows_per
    row_y = y0.index_select(0, row_g) + torch.arange(n_rows, device=device, dtype=torch.int32) - row_first.index_select(0, row_g)
    r_mx, r_my, r_a, r_b, r_c, r_o = attrs.index_select(1, row_g).unbind(0)
    dy = r_my - (row_y.to(dtype) + 0.5)
    level = torch.log(r_o * 255.0)  # alpha >= 1/255  <=>  sigma <= level
    # 0.5 a dx^2 + (b dy) dx + (0.5 c dy^2 - level) <= 0
    disc = (r_b * dy) ** 2 - r_a * (r_c * dy * dy - 2.0 * level)
    half = torch.sqrt(disc.clamp_min(0.0))
    margin = 1e-3
    col_lo = torch.ceil(r_mx - 0.5 - (-r_b * dy + half) / r_a - margin).clamp(min=0)
    col_hi = torch.floor(r_mx - 0.5 - (-r_b * dy - half) / r_a + margin).clamp(max=width - 1)
    counts = torch.where(disc >= 0, (col_hi - col_lo + 1).clamp(min=0), torch.zeros_like(col_lo)).to(torch.int32)
    # per row: sigma(dx) = (A dx + B) dx + C with dx = base - k for the k-th pixel of the span
    row_coeffs = torch.stack([r_mx - 0.5 - col_lo, 0.5 * r_a, r_b * dy, 0.5 * r_c * dy * dy, r_o, dy])
    row_pixel = row_y * width + col_lo.to(torch.int32)  # first pixel of each span
    cum = torch.cumsum(counts, 0, dtype=torch.int64)
    first = (cum - counts).to(torch.int32)
    total = int(cum[-1])
    if total >= 2**31:
        raise ValueError(f"too many (pixel, Gaussian) pairs ({total}); lower the resolution or the Gaussian count")
    bounds = [0]
    if total > max_pairs:  # chunks of at most ~max_pairs candidates, whole rows each
        cut_points = torch.searchsorted(cum, torch.arange(max_pairs, total, max_pairs, device=device))
        bounds += sorted(set(int(c) for c in cut_points.tolist() if 0 < int(c) < n_rows))
    bounds.append(n_rows)
    outs: list[tuple[Tensor, ...]] = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        cnt = counts[start:stop]
        m = int(cnt.sum())
        if m == 0:
            continue
        r = torch.repeat_interleave(torch.arange(start, stop, device=device, dtype=torch.int32), cnt)
        offset = int(first[start])
        k = torch.arange(offset, offset + m, device=device, dtype=torch.int32) - first.index_select(0, r)
        base, A, B, Cq, o, pair_dy = row_coeffs.index_select(1, r).unbind(0)
        dx = base - k.to(dtype)
        alpha = torch.clamp(o * torch.exp(-((A * dx + B) * dx + Cq)), max=MAX_ALPHA)
        alpha = torch.where(alpha >= ALPHA_THRESHOLD, alpha, torch.zeros_like(alpha))
        # int64 indices: index_add_ along dim 1 is far slower with int32 indices on CPU
        local = row_g.index_select(0, r).long()
        pid = (row_pixel.index_select(0, r) + k).long()
        outs.append((local, pid, alpha, dx, pair_dy))
    if not outs:
        return empty_i, empty_i, empty_f, empty_f, empty_f
    if len(outs) == 1:
        return outs[0]  # type: ignore[return-value]
    return tuple(torch.cat(parts) for parts in zip(*outs))  # type: ignore[return-value]


class _Composite(torch.autograd.Function):
    """Front-to-back alpha compositing of depth-sorted Gaussians into one image, with an
    analytic backward pass (the same maths as gsplat's ``rasterize_to_pixels`` kernels).

    Inputs: ``attrs [6, G]`` (mean x, mean y, conic a, b, c, opacity), ``features [F, G]``
    (colour channels and depth), ``order [n]`` the visible Gaussians front to back, ``radii [G, 2]``.
    Outputs: ``features_sum [F, P]`` (``sum_i alpha_i T_i f_i``), the final transmittance ``T [P]``
    and the number of contributing pairs.

    Pairs stay in Gaussian-major order; only the transmittance (a per-pixel running product) is
    computed in pixel-sorted order (a stable radix sort keeps each pixel's pairs front to back)
    and scattered back.
    """

    @staticmethod
    def forward(
        ctx, attrs: Tensor, features: Tensor, order: Tensor, radii: Tensor, height: int, width: int, max_pairs: int
    ):
        P = height * width
        # work on the visible Gaussians in depth order (contiguous), pairs index into them
        attrs_sorted = attrs.index_select(1, order)
        features_sorted = features.index_select(1, order)
        local, pid, alpha, dx, dy = _candidate_pairs(attrs_sorted, radii.index_select(0, order), height, width, max_pairs)
        perm = _stable_argsort_pixels(pid, P)
        pid_sorted = pid.index_select(0, perm)
        log_1m_sorted = torch.log1p(-alpha).index_select(0, perm).double()
        log_T_sorted, _ = _segment_exclusive_cumsum(log_1m_sorted, pid_sorted, P)
        # a pixel stops before the Gaussian that would take its transmittance to <= 1e-4 (and all
        # later ones): those pairs get alpha 0
        used_sorted = (log_T_sorted + log_1m_sorted) > math.log(TRANSMITTANCE_THRESHOLD)
        log_T = torch.empty_like(log_T_sorted).index_copy_(0, perm, log_T_sorted)
        used = torch.empty_like(used_sorted).index_copy_(0, perm, used_sorted)
        alpha = alpha * used
        T = torch.exp(log_T).to(alpha.dtype)
        weight = alpha * T
        out = features.new_zeros(features.shape[0], P).index_add_(1, pid, features_sorted.index_select(1, local) * weight)
        log_T_final = torch.zeros(P, dtype=torch.float64, device=attrs.device).index_add_(
            0, pid_sorted, log_1m_sorted * used_sorted
        )
        T_final = torch.exp(log_T_final).to(alpha.dtype)
        ctx.save_for_backward(attrs_sorted, features_sorted, order, local, pid, perm, pid_sorted, alpha, T, dx, dy, T_final)
        ctx.num_gaussians = attrs.shape[1]
        ctx.num_pixels = P
        n_pairs = torch.tensor(int((alpha > 0).sum()))
        ctx.mark_non_differentiable(n_pairs)
        return out, T_final, n_pairs

    @staticmethod
    def backward(ctx, grad_out: Tensor, grad_T_final: Tensor, _grad_n_pairs: Tensor):
        attrs, features, order, local, pid, perm, pid_sorted, alpha, T, dx, dy, T_final = ctx.saved_tensors
        P = ctx.num_pixels
        n = attrs.shape[1]  # visible Gaussians (sorted); G in total
        if grad_out is None:
            grad_out = features.new_zeros(features.shape[0], P)
        if grad_T_final is None:
            grad_T_final = T_final.new_zeros(P)
        weight = alpha * T
        g = grad_out.index_select(1, pid)  # F M
        grad_features = torch.zeros_like(features).index_add_(1, local, g * weight)
        dot = (g * features.index_select(1, local)).sum(0)  # <f_i, dL/dC_pixel>
        # later_i = sum over the later pairs j of the same pixel of w_j <f_j, g>
        contribution = weight * dot
        contribution_sorted = contribution.index_select(0, perm)
        before_sorted, totals = _segment_exclusive_cumsum(contribution_sorted, pid_sorted, P)
        later_sorted = totals.index_select(0, pid_sorted) - before_sorted - contribution_sorted.double()
        later = torch.empty_like(later_sorted).index_copy_(0, perm, later_sorted).to(alpha.dtype)
        tail = later + (grad_T_final * T_final).index_select(0, pid)
        # dC/dalpha_i = T_i f_i - (sum_{j>i} w_j f_j + T_final bg) / (1 - alpha_i); 0 where clamped
        grad_alpha = torch.where(alpha < MAX_ALPHA, T * dot - tail / (1.0 - alpha), torch.zeros_like(alpha))
        _, _, conic_a, conic_b, conic_c, opacity = attrs.index_select(1, local).unbind(0)
        grad_sigma = -alpha * grad_alpha  # d alpha / d sigma = -alpha (0 for unused pairs)
        grad_pairs = torch.stack(
            [
                grad_sigma * (conic_a * dx + conic_b * dy),
                grad_sigma * (conic_b * dx + conic_c * dy),
                grad_sigma * 0.5 * dx * dx,
                grad_sigma * dx * dy,
                grad_sigma * 0.5 * dy * dy,
                grad_alpha * alpha / opacity.clamp_min(1e-12),  # d alpha / d opacity = exp(-sigma)
            ]
        )
        grad_attrs = attrs.new_zeros(6, n).index_add_(1, local, grad_pairs)
        G = ctx.num_gaussians
        grad_attrs = attrs.new_zeros(6, G).index_copy_(1, order, grad_attrs)
        grad_features = features.new_zeros(features.shape[0], G).index_copy_(1, order, grad_features)
        return grad_attrs, grad_features, None, None, None, None, None


def _composite_one_camera(
    means2d: Tensor,
    conics: Tensor,
    opacities: Tensor,
    depths: Tensor,
    colors: Tensor,
    radii: Tensor,
    height: int,
    width: int,
    max_pairs: int,
) -> tuple[Tensor, Tensor, Tensor, int]:
    """Composite one camera's Gaussians (those with ``radii > 0``) front to back.

    Args: per-Gaussian ``means2d [G, 2]``, ``conics [G, 3]``, ``opacities [G]``, ``depths [G]``,
    ``colors [G, D]``, ``radii [G, 2]`` (int).
    Returns: colour ``[D, P]`` (no background), depth sum ``[P]``, final transmittance ``[P]`` and
    the number of composited pairs, with P = H * W pixels.
    """
    P = height * width
    D = colors.shape[-1]
    visible = torch.nonzero((radii > 0).any(-1), as_tuple=True)[0]
    order = visible[torch.argsort(depths.detach()[visible], stable=True)]  # front to back
    if order.numel() == 0:
        return colors.new_zeros(D, P), colors.new_zeros(P), colors.new_ones(P), 0
    # channels first, so that the per-pair gathers and scatters run along the last dimension
    attrs = torch.cat([means2d.t(), conics.t(), opacities[None]], 0)  # 6 G
    features = torch.cat([colors.t(), depths[None]], 0)  # D+1 G
    out, T_final, n_pairs = _Composite.apply(attrs, features, order, radii, height, width, max_pairs)
    return out[:D], out[D], T_final, int(n_pairs)


def _rasterize_torch(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    c2w: Tensor,
    K_pixels: Tensor,
    height: int,
    width: int,
    background: Tensor | None,
    near_plane: float,
    far_plane: float,
    eps2d: float,
    max_pairs: int,
) -> RasterOutput:
    proj = project_gaussians(
        means, quats, scales, opacities, c2w, K_pixels, height, width, near_plane, far_plane, eps2d
    )
    C = c2w.shape[0]
    rgbs, alphas, depths = [], [], []
    pair_counts = []
    for cam in range(C):
        cam_colors = colors[cam] if colors.ndim == 3 else colors
        color, depth_sum, T, n_pairs = _composite_one_camera(
            proj.means2d[cam],
            proj.conics[cam],
            opacities,
            proj.depths[cam],
            cam_colors,
            proj.radii[cam],
            height,
            width,
            max_pairs,
        )
        alpha = 1.0 - T
        if background is not None:
            color = color + background.to(color)[:, None] * T[None, :]
        depth = depth_sum / alpha.clamp_min(1e-10)
        rgbs.append(color.reshape(-1, height, width))
        alphas.append(alpha.reshape(height, width))
        depths.append(depth.reshape(height, width))
        pair_counts.append(n_pairs)
    info = {
        "means2d": proj.means2d,
        "radii": proj.radii,
        "depths": proj.depths,
        "width": width,
        "height": height,
        "n_cameras": C,
        "gaussian_ids": None,
        "n_pairs": pair_counts,
        "backend": "torch",
    }
    return RasterOutput(torch.stack(rgbs), torch.stack(alphas), torch.stack(depths), info)


def _rasterize_gsplat(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    c2w: Tensor,
    K_pixels: Tensor,
    height: int,
    width: int,
    background: Tensor | None,
    near_plane: float,
    far_plane: float,
    eps2d: float,
) -> RasterOutput:
    from gsplat import rasterization

    C = c2w.shape[0]
    D = colors.shape[-1]
    backgrounds = None if background is None else background.to(means).expand(C, D).contiguous()
    render, alphas, info = rasterization(
        means=means,
        quats=quats,
        scales=scales,
        opacities=opacities,
        colors=colors,
        viewmats=world_to_camera(c2w).to(means),
        Ks=K_pixels.to(means),
        width=width,
        height=height,
        near_plane=near_plane,
        far_plane=far_plane,
        eps2d=eps2d,
        packed=False,
        backgrounds=backgrounds,
        render_mode="RGB+ED",
        rasterize_mode="classic",
    )
    info = dict(info)
    info["backend"] = "gsplat"
    rgb = render[..., :D].permute(0, 3, 1, 2)
    alpha = alphas[..., 0]
    depth = render[..., D] * (alpha > 0)
    return RasterOutput(rgb, alpha, depth, info)


def rasterize_with_info(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    c2w: Tensor,
    K: Tensor,
    height: int,
    width: int,
    background: Tensor | None = None,
    backend: Backend = "auto",
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    max_pairs: int = 4_000_000,
) -> RasterOutput:
    """Render 3D Gaussians into C cameras; returns images and densification metadata.

    Args:
        means: ``[G, 3]`` world positions.
        quats: ``[G, 4]`` rotations (w, x, y, z), any norm.
        scales: ``[G, 3]`` standard deviations (activated, i.e. ``exp`` of the log-scales).
        opacities: ``[G]`` in [0, 1] (activated).
        colors: ``[G, D]`` or per camera ``[C, G, D]`` (e.g. RGB from SH, D = 3).
        c2w: ``[C, 4, 4]`` OpenCV camera-to-world; K: ``[C, 3, 3]`` normalised intrinsics.
        height, width: image size in pixels.
        background: ``[D]`` colour behind the Gaussians (None: black / zeros).
        backend: ``"torch"``, ``"gsplat"`` (CUDA tensors only) or ``"auto"`` (gsplat on CUDA when
            importable, else torch).
        max_pairs: candidate (pixel, Gaussian) pairs per chunk of the torch backend (memory bound).
    """
    _check_inputs(means, quats, scales, opacities, colors, c2w, K)
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    K_pixels = denormalize_intrinsics(K.to(means), width, height)
    c2w = c2w.to(means)
    if backend == "auto":
        backend = "gsplat" if (means.is_cuda and gsplat_available()) else "torch"
    if backend == "gsplat":
        if not means.is_cuda:
            raise ValueError("backend 'gsplat' needs CUDA tensors; use backend='torch' on CPU")
        return _rasterize_gsplat(
            means, quats, scales, opacities, colors, c2w, K_pixels, height, width, background,
            near_plane, far_plane, eps2d,
        )
    if backend != "torch":
        raise ValueError(f"unknown backend {backend!r}: expected 'auto', 'torch' or 'gsplat'")
    return _rasterize_torch(
        means, quats, scales, opacities, colors, c2w, K_pixels, height, width, background,
        near_plane, far_plane, eps2d, max_pairs,
    )


def rasterize(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    c2w: Tensor,
    K: Tensor,
    H: int,
    W: int,
    background: Tensor | None = None,
    backend: Backend = "auto",
) -> tuple[Tensor, Tensor, Tensor]:
    """Render Gaussians: ``(rgb [C, D, H, W], alpha [C, H, W], depth [C, H, W])``.

    See :func:`rasterize_with_info` for the arguments; depth is the expected z-depth.
    """
    out = rasterize_with_info(means, quats, scales, opacities, colors, c2w, K, H, W, background, backend)
    return out.rgb, out.alpha, out.depth
