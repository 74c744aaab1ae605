"""Shared helpers for the reconstruction tests: synthetic input folders and random Gaussians."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


def write_views_folder(
    folder: Path,
    images: Tensor,
    c2w: Tensor,
    K: Tensor,
    depths: Tensor | None = None,
    times: Tensor | None = None,
) -> Path:
    """A ``genxd generate``-style folder: ``frames/*.png``, optional ``depth/*.npy``, and a
    nerfstudio ``transforms.json`` (with ``depth_file_path`` / ``time`` per frame when given)."""
    import imageio.v3 as iio

    from genxd.cameras import save_transforms_json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frames").mkdir(exist_ok=True)
    n, _, H, W = images.shape
    names = [f"frames/frame_{i:04d}.png" for i in range(n)]
    arr = (images.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)
    for name, frame in zip(names, arr):
        iio.imwrite(folder / name, frame)
    save_transforms_json(folder / "transforms.json", c2w, K, H, W, file_paths=names)
    meta = json.loads((folder / "transforms.json").read_text())
    if depths is not None:
        (folder / "depth").mkdir(exist_ok=True)
        for i, frame in enumerate(meta["frames"]):
            np.save(folder / "depth" / f"frame_{i:04d}.npy", depths[i].numpy().astype(np.float32))
            frame["depth_file_path"] = f"depth/frame_{i:04d}.npy"
    if times is not None:
        for frame, t in zip(meta["frames"], times.tolist()):
            frame["time"] = float(t)
    (folder / "transforms.json").write_text(json.dumps(meta))
    return folder


def random_gaussians(num: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
    """Random activated Gaussians around the origin: means, quats, scales, opacities, colors."""
    g = torch.Generator().manual_seed(seed)
    return {
        "means": (torch.rand(num, 3, generator=g) * 1.6 - 0.8).to(dtype),
        "quats": torch.randn(num, 4, generator=g).to(dtype),
        "scales": (torch.rand(num, 3, generator=g) * 0.15 + 0.03).to(dtype),
        "opacities": (torch.rand(num, generator=g) * 0.9 + 0.05).to(dtype),
        "colors": torch.rand(num, 3, generator=g).to(dtype),
    }


def line_of_views(folder: Path, n: int = 4, seed: int = 0, times: Tensor | None = None) -> Path:
    """A views folder (:func:`write_views_folder`, with ``times`` if given) of ``n`` random 16x16 views (``seed``) whose
    cameras stand on a line across x in [-0.2, 0.2] at z = -2, looking along +z: the small input of the
    reconstruction-output tests."""
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(-0.2, 0.2, n)
    c2w[:, 2, 3] = -2.0
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    images = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    return write_views_folder(folder, images, c2w, K, times=times)
