"""Small private helpers shared by the camera/data file writers: atomic writes, input coercion.

The atomic writers come from :mod:`genxd.utils.io` (re-exported here for the camera/data writers).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..utils.io import atomic_dir, atomic_file  # noqa: F401
from ..utils.json_files import read_json, write_json_atomic  # noqa: F401
from .geometry import check_rigid

#: Limits of what a camera file may hold, far beyond any real scene, so that every accepted camera still gives
#: finite float32 rays (a position of 1e308 reads fine in float64 and is infinite in float32).
MAX_CAMERA_DISTANCE = 1e12
#: Largest image side read from a camera file (pixels): a corrupt or hostile size would otherwise pass as a camera.
MAX_IMAGE_SIDE = 1 << 20
MIN_FOCAL, MAX_FOCAL = 1e-6, 1e6  # normalised (fx / W, fy / H)


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
    far = float(t[:, :3, 3].abs().max())
    if far > MAX_CAMERA_DISTANCE:
        raise ValueError(f"{name}: a camera position of {far:g}; positions must lie within "
                         f"{MAX_CAMERA_DISTANCE:g} of the origin (the model's rays are float32)")
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
    if (t[:, 1, 0].abs() > 1e-6).any() or (t[:, 2, :2].abs() > 1e-6).any() or ((t[:, 2, 2] - 1).abs() > 1e-6).any():
        raise ValueError(f"{name}: not a pinhole intrinsic matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]]")
    if t[:, 0, 1].abs().max() > MAX_FOCAL:
        raise ValueError(f"{name}: skew {float(t[:, 0, 1].abs().max()):g} beyond {MAX_FOCAL:g}")
    focal = t[:, [0, 1], [0, 1]]
    if (focal < MIN_FOCAL).any() or (focal > MAX_FOCAL).any() or (t[:, :2, 2].abs() > MAX_FOCAL).any():
        raise ValueError(f"{name}: normalised focal lengths must lie in {MIN_FOCAL:g}..{MAX_FOCAL:g} and the "
                         f"principal point within {MAX_FOCAL:g} image sizes, got fx/W, fy/H up to "
                         f"{float(focal.max()):g}, down to {float(focal.min()):g}")
    return t.contiguous()


def warn_dropped_skew(K: Tensor, widths: Sequence[int], written: str) -> None:
    """A warning when intrinsics ``K [N, 3, 3]`` (normalised, checked by :func:`as_intrinsics`) hold a skew
    (``K[0, 1]``) of more than 1e-6 pixel at ``widths``, which ``written`` (a format with no skew) loses."""
    skew = max(abs(float(k[0, 1])) * w for k, w in zip(K, widths))
    if skew > 1e-6:
        from ..validation import warn

        warn(f"{written}: the format has no skew; the intrinsics' skew K[0, 1] (up to {skew:.3g} pixels) is not "
             "written")


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


# ----------------------------------------------------------------------------------------------
# Reading camera files: every problem is a ValueError naming the file (and the format)
# ----------------------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """A short description of a JSON value for error messages (``null``, ``the number 5``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {text!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def times_to_unit_range(times: Tensor) -> Tensor | None:
    """Finite frame times ``[N]`` mapped to [0, 1] in float64 (the earliest to 0, the latest to 1), or ``None``
    when they are all equal. Divided by the largest magnitude first, so that the span of times far apart (-1e308
    .. 1e308: each finite, their difference not) stays finite."""
    t = torch.as_tensor(times, dtype=torch.float64).reshape(-1)
    largest = float(t.abs().max()) if t.numel() else 0.0
    if largest > 0:
        t = t / largest
    span = float(t.max() - t.min()) if t.numel() else 0.0
    return (t - t.min()) / span if span > 0 else None


def json_number(value: Any, where: str, *, positive: bool = False, integer: bool = False) -> float:
    """A finite JSON number (not a string or boolean); ``where`` names it in errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {describe(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer past a float's range (10**400), which JSON reads whole
        raise ValueError(f"{where}: must be finite, got an integer too large for a float") from None
    if not math.isfinite(v):
        raise ValueError(f"{where}: must be finite, got {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{where}: must be positive, got {value!r}")
    if integer and v != math.floor(v):
        raise ValueError(f"{where}: must be a whole number, got {value!r}")
    return v


def json_size(value: Any, where: str) -> int:
    """An image size in pixels: a positive whole number, at most :data:`MAX_IMAGE_SIDE` (as a COLMAP model's)."""
    size = int(json_number(value, where, positive=True, integer=True))
    if size > MAX_IMAGE_SIDE:
        raise ValueError(f"{where}: an image side of {size} pixels; at most {MAX_IMAGE_SIDE}")
    return size


def json_numbers(value: Any, where: str, length: int | None = None) -> list[float]:
    """A list of finite numbers (of ``length`` items if given)."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of numbers, got {describe(value)}")
    if length is not None and len(value) != length:
        raise ValueError(f"{where}: expected {length} numbers, got {len(value)}")
    return [json_number(v, f"{where}[{i}]") for i, v in enumerate(value)]


def json_matrix(value: Any, where: str, rows: tuple[int, ...] = (3, 4), cols: int = 4) -> np.ndarray:
    """One matrix given as a list of rows of ``cols`` numbers (a pose: 4; ``rows``: accepted row counts)."""
    if not isinstance(value, list) or len(value) not in rows:
        shape = " or ".join(f"{r}x{cols}" for r in rows)
        raise ValueError(f"{where}: expected a {shape} matrix (list of rows), got {describe(value)}")
    return np.array([json_numbers(row, f"{where}[{r}]", cols) for r, row in enumerate(value)], dtype=np.float64)


def json_matrices(value: Any, where: str, rows: tuple[int, ...] = (3, 4), cols: int = 4) -> Tensor:
    """A non-empty list of matrices (poses by default) -> float64 ``[N, R, cols]`` (all with the same row count)."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: expected a non-empty list of matrices, got {describe(value)}")
    mats = [json_matrix(m, f"{where}[{i}]", rows, cols) for i, m in enumerate(value)]
    counts = {len(m) for m in mats}
    if len(counts) > 1:
        raise ValueError(f"{where}: matrices have different numbers of rows {sorted(counts)}")
    return torch.from_numpy(np.stack(mats))
