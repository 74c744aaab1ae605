"""Held-out synthetic scenes along long camera paths, and the measures of ``eval_long_paths.py``: PSNR, the
frame-to-frame change (over object pixels), seams between windows and the change per window.

Scenes are items of ``genxd.data.datasets.SyntheticDataset`` at ``genxd eval``'s held-out seeds (3D: 7, 4D: 8), each
rendered along a longer path than the dataset's clips with the same scene, camera height and focal length.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import torch

SEED_3D, SEED_4D = 7, 8  # genxd.evaluation's held-out seeds (3D; 4D = 3D + 1)
TARGET = (0.0, 0.25, 0.0)  # genxd.data.synthetic.cameras.camera_path's look-at point


# ------------------------------------------------------------------------------------------------ scenes


def _orbit_params(clip_seed: int) -> tuple[float, float, float]:
    """(az0, radius, elevation) exactly as ``camera_path('orbit', seed=clip_seed)`` draws them."""
    rng = np.random.default_rng([clip_seed, 0xCA3])
    return float(rng.uniform(0.0, 360.0)), float(rng.uniform(3.2, 4.2)), float(rng.uniform(15.0, 35.0))


def object_times(num_frames: int, time_cycle: int | None = None) -> torch.Tensor:
    """Object times of a long 4D scene's frames: ``0..1`` once over the whole path (``time_cycle`` None: the
    objects cross their path once, slower the longer the scene), or back and forth, ``0 -> 1`` in
    ``time_cycle`` frames then back (the objects keep the speed of a ``time_cycle + 1``-frame training clip)."""
    if time_cycle is None:
        return torch.linspace(0, 1, num_frames)
    phase = torch.remainder(torch.arange(num_frames, dtype=torch.float32) / time_cycle, 2.0)
    return torch.where(phase <= 1.0, phase, 2.0 - phase)


def long_scene(kind: str, index: int, num_frames: int, res: int, camera: str = "orbit360",
               time_cycle: int | None = None) -> dict:
    """A held-out scene rendered along a long path: the sample dict (frames quantised to 8 bits, cameras
    normalised as the training data) plus ``object_id [N, H, W]`` and, in 4D, ``truth_motion_strength``: the
    path's own object motion on the model's scale (the training data's image motion strength)."""
    from genxd.data.datasets import SyntheticDataset
    from genxd.data.synthetic import SyntheticClip, image_motion_strength, orbit_cameras, render

    seed = SEED_3D if kind == "3d" else SEED_4D
    ds = SyntheticDataset(length=index + 1, num_frames=8, height=res, kinds=[kind], seed=seed,
                          cameras_3d=["orbit"], cameras_4d=["orbit"], motion_source="world")
    clip = ds.render_clip(index)
    az0, radius, elevation = _orbit_params(clip.seed)
    focal = float(clip.K[0, 0, 0])
    if camera == "orbit360":
        c2w, K = orbit_cameras(num_frames, radius, elevation, (az0, az0 + 360.0), focal, TARGET)
    elif camera == "moving":
        c2w, K = orbit_cameras(num_frames, radius, elevation, (az0, az0 + 120.0), focal, TARGET)
    elif camera == "static":
        c2w, K = orbit_cameras(num_frames, radius, elevation, (az0, az0), focal, TARGET)
    else:
        raise ValueError(camera)
    assert torch.allclose(c2w[0], clip.c2w[0], atol=1e-5), "the long path must start at the clip's first camera"
    times = object_times(num_frames, time_cycle) if kind == "4d" else torch.zeros(num_frames)
    out = render(clip.scene, c2w, K, res, res, times=times)
    long_clip = SyntheticClip(clip.seed, kind, camera, clip.scene, c2w, K, times, out)
    sample = ds.sample_from_clip(long_clip)
    sample["object_id"] = out.object_id.cpu()
    if kind == "4d":
        strength = image_motion_strength(clip.scene, out, c2w, K)  # as the training data's "image" source
        sample["truth_motion_strength"] = float(strength * ds.motion_scale)
    return sample


# ------------------------------------------------------------------------------------------------ measures


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = (a - b).square().mean().clamp_min(1e-12)
    return float(10 * torch.log10(1.0 / mse))


def pair_changes(frames: torch.Tensor, mask: torch.Tensor | None = None) -> list[float]:
    """Mean |RGB| change between frames i and i + 1 (``mask [N, H, W]``: over pixels where frame i or i + 1
    has it, when given; NaN where empty)."""
    diff = (frames[1:] - frames[:-1]).abs().mean(dim=1)  # N-1 H W
    if mask is None:
        return [float(d.mean()) for d in diff]
    both = mask[1:] | mask[:-1]
    return [float(d[m].mean()) if bool(m.any()) else math.nan for d, m in zip(diff, both)]


def seams(changes: list[float], made_by: list[int], inputs: set[int]) -> dict:
    """Mean change across window boundaries / inside windows (pairs touching an input left out)."""
    inside, boundary = [], []
    for i, c in enumerate(changes):
        if i in inputs or i + 1 in inputs or math.isnan(c):
            continue
        (inside if made_by[i] == made_by[i + 1] else boundary).append(c)
    mi = statistics.mean(inside) if inside else math.nan
    mb = statistics.mean(boundary) if boundary else math.nan
    return {"inside": mi, "boundary": mb, "ratio": mb / mi if inside and boundary else math.nan,
            "pairs_inside": len(inside), "pairs_boundary": len(boundary)}


def per_window(changes: list[float], made_by: list[int], num_windows: int) -> list[float]:
    """Mean change of the consecutive pairs made by one window, for each window."""
    out = []
    for w in range(num_windows):
        vals = [c for i, c in enumerate(changes) if made_by[i] == w and made_by[i + 1] == w and not math.isnan(c)]
        out.append(statistics.mean(vals) if vals else math.nan)
    return out
