"""Real spherical harmonics for view-dependent colour (the 3DGS / gsplat basis, degrees 0 to 3).

A Gaussian's colour seen along the unit direction ``d`` (from the camera centre to the Gaussian,
world frame) is ``max(0, sum_k Y_k(d) c_k + 0.5)``, with coefficients ``c [K, 3]``,
``K = (degree + 1) ** 2``; ``c_0`` is stored as ``f_dc`` and the rest as ``f_rest`` in .ply files.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["SH_C0", "num_sh_bases", "sh_basis", "eval_sh", "rgb_to_sh", "sh_to_rgb"]

SH_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


def num_sh_bases(degree: int) -> int:
    """Number of coefficients per channel for an SH degree (0 to 3)."""
    if not 0 <= degree <= 3:
        raise ValueError(f"SH degree must be 0, 1, 2 or 3, got {degree}")
    return (degree + 1) ** 2


def sh_basis(degree: int, dirs: Tensor) -> Tensor:
    """SH basis values ``[..., (degree + 1)^2]`` at unit directions ``dirs [..., 3]``."""
    n = num_sh_bases(degree)
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [
            _C2[0] * xy,
            _C2[1] * yz,
            _C2[2] * (2.0 * zz - xx - yy),
            _C2[3] * xz,
            _C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            _C3[0] * y * (3 * xx - yy),
            _C3[1] * xy * z,
            _C3[2] * y * (4 * zz - xx - yy),
            _C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            _C3[4] * x * (4 * zz - xx - yy),
            _C3[5] * z * (xx - yy),
            _C3[6] * x * (xx - 3 * yy),
        ]
    basis = torch.stack(out, dim=-1)
    assert basis.shape[-1] == n
    return basis


def eval_sh(degree: int, coeffs: Tensor, dirs: Tensor) -> Tensor:
    """Colour ``[..., 3]`` (clamped at 0, offset 0.5 applied) from SH ``coeffs [..., K, 3]``.

    Uses the first ``(degree + 1)^2`` coefficients; ``dirs [..., 3]`` need not be normalised.
    """
    n = num_sh_bases(degree)
    if coeffs.shape[-2] < n or coeffs.shape[-1] != 3:
        raise ValueError(f"coeffs: expected [..., >={n}, 3] for degree {degree}, got {tuple(coeffs.shape)}")
    dirs = torch.nn.functional.normalize(dirs, dim=-1)
    basis = sh_basis(degree, dirs)  # ... n
    return torch.clamp_min((basis[..., :, None] * coeffs[..., :n, :]).sum(-2) + 0.5, 0.0)


def rgb_to_sh(rgb: Tensor) -> Tensor:
    """DC coefficient giving colour ``rgb`` (any shape)."""
    return (rgb - 0.5) / SH_C0


def sh_to_rgb(sh_dc: Tensor) -> Tensor:
    """Colour of a DC coefficient (inverse of :func:`rgb_to_sh`, no clamping)."""
    return sh_dc * SH_C0 + 0.5
