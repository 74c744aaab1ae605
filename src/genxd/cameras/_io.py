"""Small private helpers shared by the camera/data file writers: atomic writes, input coercion.

The atomic writers come from :mod:`genxd.utils.io` (re-exported here for the camera/data writers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..utils.io import atomic_dir, atomic_file, read_json, write_json_atomic  # noqa: F401
from .geometry import check_rigid


def as_tensor64(x: Tensor | np.ndarray | Any, name: str) -> Tensor:
    """Any array-like to a float64 CPU tensor (for exact file I/O)."""
    if torch.is_tensor(x):
        return x.detach().to("cpu", torch.float64)
    try:
        t = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert to a float tensor ({exc})") from None
    return t


def as_c2w(c2w: Tensor | np.ndarray, name: str = "c2w") -> Tensor:
    """Validate camera-to-world poses ``[N, 4, 4]`` (a single ``[4, 4]`` becomes ``[1, 4, 4]``), float64."""
    t = as_tensor64(c2w, name)
    if t.shape[-2:] == (3, 4):
        bottom = torch.zeros(*t.shape[:-2], 1, 4, dtype=t.dtype)
        bottom[..., 0, 3] = 1
        t = torch.cat([t, bottom], dim=-2)
    if t.ndim == 2:
        t = t[None]
    if t.ndim != 3 or t.shape[-2:] != (4, 4):
        raise ValueError(f"{name}: expected [N, 4, 4] camera-to-world matrices, got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name}: no cameras")
    check_rigid(t, name=name)
    return t


def as_intrinsics(K: Tensor | np.ndarray, n: int, name: str = "K") -> Tensor:
    """Validate normalised intrinsics ``[N, 3, 3]`` or ``[3, 3]`` (broadcast to ``N``), float64."""
    t = as_tensor64(K, name)
    if t.ndim == 2:
        t = t[None].expand(n, 3, 3)
    if t.ndim != 3 or t.shape[-2:] != (3, 3):
        raise ValueError(f"{name}: expected [N, 3, 3] or [3, 3] intrinsics, got shape {tuple(t.shape)}")
    if t.shape[0] != n:
        raise ValueError(f"{name}: {t.shape[0]} intrinsics for {n} cameras")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    if (t[:, 0, 0] <= 0).any() or (t[:, 1, 1] <= 0).any():
        raise ValueError(f"{name}: focal lengths must be positive")
    return t.contiguous()


def as_sizes(value: int | Any, n: int, name: str) -> list[int]:
    """An image height/width given once or per frame, as a list of ``n`` positive ints."""
    if isinstance(value, (int, np.integer)):
        values = [int(value)] * n
    else:
        values = [int(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
        if len(values) != n:
            raise ValueError(f"{name}: {len(values)} values for {n} cameras")
    if any(v <= 0 for v in values):
        raise ValueError(f"{name}: image sizes must be positive, got {values}")
    return values
