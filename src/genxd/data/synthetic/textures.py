"""Procedural solid textures (functions of 3D surface coordinates), deterministic on any device.

All functions take points ``[..., 3]`` (float32) and return a pattern value ``[...]`` in [0, 1].
Noise uses an integer lattice hash whose intermediate products stay below 2**62, so results are
bit-identical across runs and the same (to float rounding of the interpolation) on CPU and CUDA.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["hash3", "value_noise", "fractal_noise", "checker", "stripes", "dots", "PATTERN_NAMES"]

#: Object surface patterns, indexed by ``Scene.patterns``.
PATTERN_NAMES = ("checker", "stripes", "dots", "noise")

_MASK31 = 0x7FFFFFFF


_HASH_X, _HASH_Y, _HASH_Z = 73856093, 19349663, 83492791


def _mix(h: Tensor) -> Tensor:
    """The hash's mixing rounds on ``h`` (int64, changed in place) and its [0, 1] float."""
    for mult in (0x5BD1E995, 0x27D4EB2D):
        h &= _MASK31
        h *= mult  # < 2**62 before the mask: no overflow
        h &= _MASK31
        h ^= h >> 15
    h &= 0xFFFF
    return h.to(torch.float32) / 65535.0


def _seed_term(seed: int) -> int:
    return seed * 2654435 + 12345


def hash3(ix: Tensor, iy: Tensor, iz: Tensor, seed: int) -> Tensor:
    """Hash integer lattice coordinates (int64, any shape) to floats in [0, 1]."""
    h = ix * _HASH_X
    h ^= iy * _HASH_Y
    h ^= iz * _HASH_Z
    h ^= _seed_term(seed)
    return _mix(h)


def value_noise(points: Tensor, seed: int = 0) -> Tensor:
    """Smooth 3D value noise with unit lattice spacing: ``[..., 3] -> [...]`` in [0, 1].

    (A loop over the 8 lattice corners: on the CPU this beats one batched pass over all corners,
    which moves 8x more int64 data. Each corner's hash is :func:`hash3` of the corner, put together from the
    coordinates' products computed once (``(i + 1) * a == i * a + a`` in int64, and XOR in any order) and mixed in
    place: the same integers, half the CPU of calling :func:`hash3` per corner.)
    """
    cell = torch.floor(points)
    frac = points - cell
    w = frac * frac * (3.0 - 2.0 * frac)  # smoothstep weights
    ix, iy, iz = cell.to(torch.int64).unbind(-1)
    wx, wy, wz = w.unbind(-1)
    hx0 = ix * _HASH_X
    hx1 = hx0 + _HASH_X
    hy0 = iy * _HASH_Y
    hy1 = hy0 + _HASH_Y
    hz0 = iz * _HASH_Z
    hz1 = hz0 + _HASH_Z
    hz0 ^= _seed_term(seed)
    hz1 ^= _seed_term(seed)
    out = torch.zeros_like(wx)
    for dx in (0, 1):
        fx = wx if dx else 1.0 - wx
        for dy in (0, 1):
            fxy = fx * (wy if dy else 1.0 - wy)
            hxy = (hx1 if dx else hx0) ^ (hy1 if dy else hy0)
            for dz in (0, 1):
                weight = fxy * (wz if dz else 1.0 - wz)
                out = out + weight * _mix(hxy ^ (hz1 if dz else hz0))
    return out


def fractal_noise(points: Tensor, seed: int = 0, octaves: int = 3) -> Tensor:
    """Sum of ``octaves`` value-noise octaves (frequency x2, amplitude /2), normalised to [0, 1]."""
    total = torch.zeros(points.shape[:-1], dtype=points.dtype, device=points.device)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total = total + amplitude * value_noise(points * (2.0**octave), seed + 1013 * octave)
        norm += amplitude
        amplitude *= 0.5
    return total / norm


def checker(points: Tensor, frequency: Tensor | float) -> Tensor:
    """3D checkerboard: 1 where floor(f x) + floor(f y) + floor(f z) is even, else 0."""
    cells = torch.floor(points * (frequency[..., None] if torch.is_tensor(frequency) else frequency))
    parity = cells.sum(-1).remainder(2.0)
    return 1.0 - parity


def stripes(points: Tensor, frequency: Tensor | float, direction: Tensor) -> Tensor:
    """Soft stripes across ``direction [..., 3]``: 0.5 + 0.5 sin(2 pi f <p, dir>), sharpened."""
    f = frequency if torch.is_tensor(frequency) else torch.tensor(frequency)
    phase = (points * direction).sum(-1) * f * (2.0 * torch.pi)
    return torch.clamp(0.5 + 1.5 * torch.sin(phase), 0.0, 1.0)


def dots(points: Tensor, frequency: Tensor | float) -> Tensor:
    """Polka dots on a 3D lattice: 1 inside balls of radius 0.3 cell around lattice centres."""
    f = frequency[..., None] if torch.is_tensor(frequency) else frequency
    q = points * f
    offset = q - torch.floor(q) - 0.5
    dist = offset.norm(dim=-1)
    return torch.clamp((0.36 - dist) * 12.0, 0.0, 1.0)
