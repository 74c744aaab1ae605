"""3D and 4D (time-conditioned) Gaussian scenes.

Parameters live in a ``torch.nn.ParameterDict`` with gsplat's names and activations, so that
gsplat's densification strategies and our own (:mod:`genxd.reconstruction.densify`) can edit them:

====================  ==============  ====================================================
key                   shape           meaning
====================  ==============  ====================================================
``means``             ``[G, 3]``      canonical centres (world units; the scene at t = 0)
``scales``            ``[G, 3]``      log standard deviations (``exp`` gives the scales)
``quats``             ``[G, 4]``      rotation quaternion (w, x, y, z), not normalised
``opacities``         ``[G]``         logit opacity (``sigmoid`` gives the opacity)
``sh0``               ``[G, 1, 3]``   degree-0 SH coefficient (``f_dc`` in .ply)
``shN``               ``[G, K-1, 3]`` higher SH coefficients, K = (degree+1)^2 (``f_rest``)
``motion``            ``[G, B, 3]``   4D only: displacement coefficients of the motion basis
``anchor_times``      ``[G]``         4D only: the time at which ``means`` holds (not optimised)
``time_centers``      ``[G]``         4D with temporal opacity: time of full visibility
``time_log_scales``   ``[G]``         4D with temporal opacity: log temporal std
====================  ==============  ====================================================

4D motion: ``x(t) = means + sum_b (phi_b(t) - phi_b(anchor)) motion[:, b]`` with the basis of
:class:`MotionBasis` and times in [0, 1]: each Gaussian sits at ``means`` at its anchor time
(e.g. the time of the frame it was initialised from). All ``phi_b(0) = 0``, so on export
(``scene.ply`` + ``motion.npz``) this becomes ``x(t) = x(0) + sum_b phi_b(t) motion[:, b]``.
Temporal opacity (optional): ``opacity(t) = sigmoid(opacities) * exp(-0.5 ((t - c) / s)^2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .rasterizer import Backend, RasterOutput, rasterize_with_info
from .sh import eval_sh, num_sh_bases, rgb_to_sh

__all__ = ["MotionBasis", "GaussianModel", "knn_scales"]


@dataclass(frozen=True)
class MotionBasis:
    """Per-Gaussian motion basis over normalised time t in [0, 1].

    Functions, in this order: ``t^1 .. t^poly_degree``, then for k = 1 .. fourier_terms
    ``sin(pi k t)`` and ``1 - cos(pi k t)``. Every function is 0 at t = 0.
    """

    poly_degree: int = 2
    fourier_terms: int = 2

    def __post_init__(self) -> None:
        if self.poly_degree < 0 or self.fourier_terms < 0 or self.num_functions == 0:
            raise ValueError(
                f"motion basis needs poly_degree >= 0, fourier_terms >= 0 and at least one function, "
                f"got poly_degree={self.poly_degree}, fourier_terms={self.fourier_terms}"
            )

    @property
    def num_functions(self) -> int:
        return self.poly_degree + 2 * self.fourier_terms

    def __call__(self, t: Tensor) -> Tensor:
        """Basis values ``[..., B]`` at times ``t [...]``."""
        t = torch.as_tensor(t, dtype=torch.float32)
        cols = [t**k for k in range(1, self.poly_degree + 1)]
        for k in range(1, self.fourier_terms + 1):
            cols += [torch.sin(math.pi * k * t), 1.0 - torch.cos(math.pi * k * t)]
        return torch.stack(cols, dim=-1)


def knn_scales(points: Tensor, k: int = 3) -> Tensor:
    """Root mean squared distance ``[P]`` of each point to its k nearest neighbours (3DGS init)."""
    from scipy.spatial import cKDTree

    pts = points.detach().cpu().double().numpy()
    if len(pts) < 2:
        return torch.full((len(pts),), 0.01, dtype=points.dtype)
    k_eff = min(k, len(pts) - 1)
    dist, _ = cKDTree(pts).query(pts, k=k_eff + 1)
    d = np.sqrt((dist[:, 1:] ** 2).mean(axis=1))
    d = np.maximum(d, 1e-7)
    return torch.from_numpy(d).to(points.dtype)


class GaussianModel:
    """A set of 3D Gaussians, optionally time-conditioned (see the module docstring).

    Args:
        params: the parameter dict (gsplat layout).
        sh_degree: the SH degree stored (``shN`` holds ``(sh_degree+1)^2 - 1`` coefficients).
        motion_basis: None for a static (3D) scene.
    """

    def __init__(self, params: torch.nn.ParameterDict, sh_degree: int, motion_basis: MotionBasis | None = None):
        self.params = params
        self.sh_degree = int(sh_degree)
        self.motion_basis = motion_basis
        n = num_sh_bases(self.sh_degree)
        if params["shN"].shape[1] != n - 1:
            raise ValueError(f"shN holds {params['shN'].shape[1]} coefficients, SH degree {sh_degree} needs {n - 1}")
        if motion_basis is not None and ("motion" not in params or params["motion"].shape[1] != motion_basis.num_functions):
            raise ValueError("a 4D GaussianModel needs params['motion'] of shape [G, B, 3] matching the basis")

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_points(
        cls,
        points: Tensor,
        colors: Tensor,
        sh_degree: int = 0,
        opacity: float = 0.1,
        scale_multiplier: float = 1.0,
        motion_basis: MotionBasis | None = None,
        temporal_opacity: bool = False,
        device: torch.device | str = "cpu",
    ) -> "GaussianModel":
        """Isotropic Gaussians at ``points [P, 3]`` with colours ``colors [P, 3]`` in [0, 1].

        Scales: the RMS distance to the 3 nearest neighbours (times ``scale_multiplier``), as 3DGS.
        """
        if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
            raise ValueError(f"points: expected a non-empty [P, 3], got {tuple(points.shape)}")
        if colors.shape != points.shape:
            raise ValueError(f"colors: expected {tuple(points.shape)}, got {tuple(colors.shape)}")
        if not 0 < opacity < 1:
            raise ValueError(f"opacity must be in (0, 1), got {opacity}")
        P = len(points)
        points = points.float()
        dist = knn_scales(points) * scale_multiplier
        n_sh = num_sh_bases(sh_degree)
        params: dict[str, Tensor] = {
            "means": points.clone(),
            "scales": torch.log(dist)[:, None].repeat(1, 3),
            "quats": torch.cat([torch.ones(P, 1), torch.zeros(P, 3)], dim=1),
            "opacities": torch.full((P,), math.log(opacity / (1 - opacity))),
            "sh0": rgb_to_sh(colors.float().clamp(0, 1))[:, None, :],
            "shN": torch.zeros(P, n_sh - 1, 3),
        }
        if motion_basis is not None:
            params["motion"] = torch.zeros(P, motion_basis.num_functions, 3)
            params["anchor_times"] = torch.zeros(P)
            if temporal_opacity:
                params["time_centers"] = torch.full((P,), 0.5)
                params["time_log_scales"] = torch.full((P,), math.log(0.25))
        pdict = torch.nn.ParameterDict(
            {k: torch.nn.Parameter(v.to(device), requires_grad=k != "anchor_times") for k, v in params.items()}
        )
        return cls(pdict, sh_degree, motion_basis)

    # -- properties -----------------------------------------------------------------------------

    @property
    def num_gaussians(self) -> int:
        return int(self.params["means"].shape[0])

    @property
    def device(self) -> torch.device:
        return self.params["means"].device

    @property
    def is_dynamic(self) -> bool:
        return self.motion_basis is not None

    @property
    def has_temporal_opacity(self) -> bool:
        return "time_centers" in self.params

    def means_at(self, t: float | Tensor | None) -> Tensor:
        """Centres ``[G, 3]`` at time ``t`` (canonical centres for static scenes or ``t=None``)."""
        means = self.params["means"]
        if self.motion_basis is None or t is None:
            return means
        phi = self.motion_basis(torch.as_tensor(t, dtype=torch.float32)).to(means)  # B
        if "anchor_times" in self.params:
            phi = phi[None, :] - self.motion_basis(self.params["anchor_times"]).to(means)  # G B
        # element-wise, not einsum: a GEMM would run in TF32 on CUDA where genxd enables it
        return means + (phi[..., None] * self.params["motion"]).sum(-2)

    def opacities_at(self, t: float | Tensor | None) -> Tensor:
        """Opacities ``[G]`` in [0, 1] at time ``t``."""
        opacity = torch.sigmoid(self.params["opacities"])
        if self.has_temporal_opacity and t is not None:
            t = torch.as_tensor(t, dtype=opacity.dtype, device=opacity.device)
            s = torch.exp(self.params["time_log_scales"])
            opacity = opacity * torch.exp(-0.5 * ((t - self.params["time_centers"]) / s) ** 2)
        return opacity

    def colors(self, camera_centers: Tensor, means: Tensor, sh_degree: int | None = None) -> Tensor:
        """View-dependent RGB ``[C, G, 3]`` for camera centres ``[C, 3]`` (``[G, 3]`` at degree 0)."""
        degree = self.sh_degree if sh_degree is None else min(int(sh_degree), self.sh_degree)
        sh0 = self.params["sh0"]
        if degree == 0:
            return torch.clamp_min(sh0[:, 0, :] * 0.28209479177387814 + 0.5, 0.0)
        coeffs = torch.cat([sh0, self.params["shN"]], dim=1)  # G K 3
        dirs = means[None, :, :] - camera_centers[:, None, :]  # C G 3
        return eval_sh(degree, coeffs[None].expand(len(camera_centers), -1, -1, -1), dirs)

    # -- rendering -----------------------------------------------------------------------------

    def render(
        self,
        c2w: Tensor,
        K: Tensor,
        height: int,
        width: int,
        time: float | Tensor | None = None,
        background: Tensor | None = None,
        sh_degree: int | None = None,
        backend: Backend = "auto",
    ) -> RasterOutput:
        """Render cameras ``c2w [C, 4, 4]`` / normalised ``K [C, 3, 3]`` at one time ``t``.

        Returns a :class:`RasterOutput` (``rgb [C, 3, H, W]``, ``alpha``, ``depth [C, H, W]``).
        """
        c2w = c2w.to(self.device, torch.float32)
        K = K.to(self.device, torch.float32)
        if c2w.ndim == 2:
            c2w, K = c2w[None], K.reshape(-1, 3, 3)[:1]
        means = self.means_at(time)
        colors = self.colors(c2w[:, :3, 3], means, sh_degree)
        if background is not None:
            background = background.to(self.device, torch.float32)
        return rasterize_with_info(
            means,
            self.params["quats"],
            torch.exp(self.params["scales"]),
            self.opacities_at(time),
            colors,
            c2w,
            K,
            height,
            width,
            background=background,
            backend=backend,
        )

    def detached_copy(self) -> "GaussianModel":
        """A copy whose parameters do not share storage or graph with this one."""
        params = torch.nn.ParameterDict(
            {k: torch.nn.Parameter(v.detach().clone(), requires_grad=False) for k, v in self.params.items()}
        )
        return GaussianModel(params, self.sh_degree, self.motion_basis)
