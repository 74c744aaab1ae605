"""EWA projection of 3D Gaussians into pinhole cameras, the first step of the pure-PyTorch rasteriser
(:mod:`genxd.reconstruction.rasterizer`): gsplat 1.5.3's ``fully_fused_projection`` ("classic" mode) with
an analytic backward pass, and the rotation / world-to-camera maths it shares with the gsplat backend.

Conventions (``docs/conventions.md``): ``c2w`` OpenCV camera-to-world ``[C, 4, 4]``, pixel intrinsics,
pixel centres at half-integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genxd.cameras import c2w_to_w2c

__all__ = ["ALPHA_THRESHOLD", "MAX_EXTENT_SIGMAS", "Projection", "quat_to_rotmat", "world_to_camera", "project_gaussians"]

#: gsplat's ``ALPHA_THRESHOLD``: contributions with a smaller alpha are skipped.
ALPHA_THRESHOLD = 1.0 / 255.0
#: gsplat's cap on the opacity-aware bounding-box extent, in standard deviations.
MAX_EXTENT_SIGMAS = 3.33


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
