"""Separable Gaussian filtering of image-like tensors ``[N, C, H, W]`` (SSIM's window, blurring latents)."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_kernel_1d", "separable_filter"]


@functools.lru_cache(maxsize=8)
def gaussian_kernel_1d(size: int, sigma: float) -> Tensor:
    """Normalised 1-D Gaussian ``[size]`` (float32, computed in float64), centred on the middle tap."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return (g / g.sum()).float()


def separable_filter(x: Tensor, g: Tensor) -> Tensor:
    """``x [N, C, H, W]`` filtered by the 1-D kernel ``g`` along W, then along H ('valid': no padding)."""
    C = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)
