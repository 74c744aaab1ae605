"""A picture of a camera path: frusta seen from above and from the side (PNG, drawn with PIL).

Coordinates are those of the path (relative paths: the first camera at the origin looking along +z,
image right = +x, image down = +y). **From above**: x to the right, z (forward) up the picture.
**From the side**: z (forward) to the right, up (-y) up the picture. Each camera is drawn as its
viewing pyramid cut at a depth of 15 % of the path's size (at least 0.05 units): apex at the camera
centre, the four image corners; colour goes from blue (first frame) to orange (last); the first camera
is drawn thicker and the centres are joined in order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ..utils.plot import Axes, colour_ramp, font

__all__ = ["draw_camera_path", "save_camera_path_png"]


def _frusta(c2w: np.ndarray, K: np.ndarray, depth: float) -> np.ndarray:
    """``[N, 5, 3]`` world points: centre then the four image corners at z = ``depth``."""
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
    out = np.zeros((len(c2w), 5, 3))
    for i, (m, k) in enumerate(zip(c2w, K)):
        rays = np.stack([(corners[:, 0] - k[0, 2]) / k[0, 0], (corners[:, 1] - k[1, 2]) / k[1, 1], np.ones(4)], -1)
        out[i, 0] = m[:3, 3]
        out[i, 1:] = m[:3, 3] + (rays * depth) @ m[:3, :3].T
    return out


def _square_limits(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    lo_a, hi_a, lo_b, hi_b = a.min(), a.max(), b.min(), b.max()
    span = max(hi_a - lo_a, hi_b - lo_b, 1e-6) * 1.12
    ca, cb = (lo_a + hi_a) / 2, (lo_b + hi_b) / 2
    return (ca - span / 2, ca + span / 2), (cb - span / 2, cb + span / 2)


def draw_camera_path(
    c2w: Tensor | np.ndarray,
    K: Tensor | np.ndarray,
    title: str = "",
    panel: int = 360,
) -> Image.Image:
    """The two views of the path ``c2w [N, 4, 4]`` with normalised ``K [N, 3, 3]`` as an RGB image."""
    m = c2w.detach().cpu().double().numpy() if torch.is_tensor(c2w) else np.asarray(c2w, dtype=np.float64)
    k = K.detach().cpu().double().numpy() if torch.is_tensor(K) else np.asarray(K, dtype=np.float64)
    if m.ndim != 3 or m.shape[1:] != (4, 4) or k.shape != (len(m), 3, 3):
        raise ValueError(f"draw_camera_path: expected c2w [N, 4, 4] and K [N, 3, 3], got {m.shape} and {k.shape}")
    centres = m[:, :3, 3]
    size = float(np.ptp(centres, axis=0).max()) if len(m) > 1 else 0.0
    depth = max(0.15 * size, 0.05)
    pts = _frusta(m, k, depth)
    n = len(m)
    margin_l, margin_t, margin_b, gap = 56, 46, 62, 40
    width = 2 * panel + 2 * margin_l + gap + 16
    height = panel + margin_t + margin_b
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    if title:
        d.text((width / 2, 8), title, fill=(0, 0, 0), font=font(14), anchor="mt")
    views = [("from above", 0, 2, 1.0, "x (right)", "z (forward)"), ("from the side", 2, 1, -1.0, "z (forward)", "up (-y)")]
    for v, (name, ia, ib, sign_b, xlabel, ylabel) in enumerate(views):
        left = margin_l + v * (panel + margin_l + gap)
        a, b = pts[..., ia], sign_b * pts[..., ib]
        xlim, ylim = _square_limits(a, b)
        ax = Axes(d, (left, margin_t, left + panel, margin_t + panel), xlim, ylim)
        ax.frame(name, xlabel, ylabel)
        ax.line(a[:, 0].tolist(), b[:, 0].tolist(), (150, 150, 150), width=1)
        for i in range(n):
            colour = colour_ramp(i / max(1, n - 1))
            w = 3 if i == 0 else 1
            apex = ax.to_px(a[i, 0], b[i, 0])
            corners = [ax.to_px(a[i, j], b[i, j]) for j in range(1, 5)]
            for c in corners:
                d.line([apex, c], fill=colour, width=w)
            d.line(corners + corners[:1], fill=colour, width=w)
        d.text(ax.to_px(a[0, 0], b[0, 0]), " first", fill=colour_ramp(0), font=font(11), anchor="lb")
    d.text((8, height - 6), f"{n} cameras, blue = first, orange = last; frusta {depth:.3g} units deep",
           fill=(80, 80, 80), font=font(11), anchor="lb")
    return img


def save_camera_path_png(path: str | os.PathLike, c2w: Tensor | np.ndarray, K: Tensor | np.ndarray,
                         title: str = "", replace: bool = True) -> Path:
    """Write :func:`draw_camera_path` to ``path`` (PNG, atomically; an existing file is kept and a
    ``FileExistsError`` raised unless ``replace``)."""
    from ..utils.io import atomic_file

    path = Path(path)
    img = draw_camera_path(c2w, K, title)
    with atomic_file(path, replace=replace) as tmp:
        img.save(tmp, format="PNG")
    return path
