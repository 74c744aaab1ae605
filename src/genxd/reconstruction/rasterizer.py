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

This module is the entry point (argument checks, backend choice, both backends' outputs); the torch
backend's projection is in :mod:`.projection` and its compositing in :mod:`.compositing`, whose public
names are importable from here too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

import torch
from torch import Tensor

from genxd.cameras import denormalize_intrinsics
from genxd.utils.extras import install_extra
from genxd.validation_warnings import GenXDWarning

# the pure-PyTorch backend (its private parts are re-exported for code that imported them from here)
from .compositing import (  # noqa: F401
    MAX_ALPHA,
    TRANSMITTANCE_THRESHOLD,
    _candidate_pairs,
    _Composite,
    _composite_one_camera,
    _segment_exclusive_cumsum,
    _stable_argsort_pixels,
)
from .projection import (  # noqa: F401
    ALPHA_THRESHOLD,
    MAX_EXTENT_SIGMAS,
    Projection,
    _matmul_soa,
    _matvec_soa,
    _ProjectOneCamera,
    _rotmat_soa,
    _rotmat_soa_vjp,
    project_gaussians,
    quat_to_rotmat,
    world_to_camera,
)

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
    "gsplat_cuda_problem",
]

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


def gsplat_available() -> bool:
    """Whether ``gsplat`` can be imported (its CUDA kernels are only usable on CUDA tensors; whether they load:
    :func:`gsplat_cuda_problem`)."""
    try:
        import gsplat  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


@contextlib.contextmanager
def _one_gsplat_build_at_a_time() -> Iterator[None]:
    """Hold a machine-wide lock (``fcntl.flock`` on ``<tempdir>/genxd-gsplat-build-<uid>.lock``) while this process
    first loads gsplat's CUDA kernels. gsplat installed without CUDA builds them on first use, and processes that
    start that build together break each other's (torch's build-folder lock races; measured on the H200 with four
    processes at once: three failed within 10 s, "Error building extension 'gsplat_cuda'", a missing ``lock`` file,
    a missing ``gsplat_cuda.so``; the fourth built in 94 s): `pytest -n 4`, an `accelerate launch` reconstruction, a
    demo on several GPUs. With the lock the first builds and the others wait, then load what it built. No lock where
    ``fcntl`` is missing (Windows), the file cannot be opened or the file system cannot lock it."""
    from ..utils.file_locks import exclusive_lock

    uid = os.getuid() if hasattr(os, "getuid") else 0
    with exclusive_lock(Path(tempfile.gettempdir()) / f"genxd-gsplat-build-{uid}.lock"):
        yield


def _build_error_line(message: str, limit: int = 300) -> str:
    """The line of a failed build's message that says what failed: torch's "Error building extension 'X': [1/30]
    nvcc ..." starts with the first compiler command (hundreds of characters of flags), and the compiler's own
    ``error`` line comes later; without one, the first line. At most ``limit`` characters."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    errors = [line for line in lines[1:] if "error" in line.lower()]
    return (errors[0] if errors else lines[0])[:limit]


@functools.lru_cache(maxsize=None)
def gsplat_cuda_problem() -> str | None:
    """``None`` when gsplat's CUDA kernels load, else why they do not. gsplat builds its kernels when it is installed
    with CUDA, or the first time they are used (a few minutes, with its own spinner) when installed without
    (``BUILD_NO_CUDA=1``, the CPU install); where that build fails or no CUDA toolkit is found, its kernels are
    missing and every call raised from inside gsplat. Asked only for CUDA tensors (on a CPU-only machine gsplat's
    import of its kernels prints a warning of its own)."""
    if not gsplat_available():
        return f"gsplat is not installed ({install_extra('gsplat')})"
    try:
        with _one_gsplat_build_at_a_time():
            from gsplat.cuda._backend import _C
    except Exception as exc:  # noqa: BLE001 - a JIT build fails in many ways (compiler, headers, ninja)
        reason = _build_error_line(str(exc))
        return f"gsplat's CUDA kernels failed to build or load ({type(exc).__name__}{': ' + reason if reason else ''})"
    if _C is None:
        return "gsplat's CUDA kernels are missing (installed without CUDA, and no CUDA toolkit to build them)"
    return None


@functools.lru_cache(maxsize=None)
def _warn_gsplat_fallback(problem: str) -> None:
    """Say once per process why the CUDA rasteriser is the torch one although gsplat is installed."""
    warnings.warn(f"{problem}; rendering with genxd's torch rasteriser instead (the same images, slower)",
                  GenXDWarning, stacklevel=3)


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
        Every tensor is taken in ``means``' dtype (cast where it differs: float64 colours from numpy with
        float32 means render in float32, and their gradients come back in float64).
        backend: ``"torch"``, ``"gsplat"`` (CUDA tensors only) or ``"auto"`` (gsplat on CUDA when its
            kernels load, else torch, with one warning when gsplat is installed but its kernels do not load).
        max_pairs: candidate (pixel, Gaussian) pairs per chunk of the torch backend (memory bound).
    """
    _check_inputs(means, quats, scales, opacities, colors, c2w, K)
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    K_pixels = denormalize_intrinsics(K.to(means), width, height)
    c2w = c2w.to(means)
    # one dtype for the compositing: float64 colours with float32 means rendered, then failed in the backward
    # ("index_copy_(): self and source expected to have the same dtype")
    quats, scales, opacities, colors = (t.to(means.dtype) for t in (quats, scales, opacities, colors))
    if background is not None:
        background = background.to(means.dtype)
    if backend == "auto":
        backend = "gsplat" if (means.is_cuda and gsplat_available()) else "torch"
        if backend == "gsplat" and (problem := gsplat_cuda_problem()) is not None:
            _warn_gsplat_fallback(problem)
            backend = "torch"
    if backend == "gsplat":
        if not means.is_cuda:
            raise ValueError("backend 'gsplat' needs CUDA tensors; use backend='torch' on CPU")
        if (problem := gsplat_cuda_problem()) is not None:
            raise RuntimeError(f"backend 'gsplat': {problem}; backend='torch' renders the same without it")
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
