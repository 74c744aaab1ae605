"""Fuzz target: the scene folders ``genxd reconstruct`` reads (:func:`genxd.reconstruction.views.load_views`).

``recon-folder``: the inputs a user lifts into Gaussians, from valid seeds:

- a ``genxd generate`` output (``transforms.json`` with frame times, as a 4D scene has; ``frames/*.png``;
  ``cameras.json``, ``meta.json`` beside it);
- the same with per-frame depth maps (``depth_file_path``: ``.npy`` float and 16-bit PNG scaled by
  ``depth_unit_scale_factor``);
- a synthetic image folder (``genxd synth``: ``images/``, ``transforms.json``, ``ground_truth.npz`` depth);
- a COLMAP scene (``images/*.jpg`` beside the binary model ``0/``, with sparse points).

JSON files are mutated as JSON trees (and sometimes as bytes), everything else as bytes. Read views must be
usable for training: float32 images in [0, 1], finite cameras, times in [0, 1], finite non-negative depths
and finite points (a NaN there becomes NaN Gaussians or losses). The ReconFusion folders have their own target
(``reconfusion-scene``).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from fuzz_mutations import mutate_copy
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]


def _recon_seeds(folder: Path) -> list[Path]:
    import numpy as np
    import torch
    from PIL import Image

    from genxd.cameras import trajectories
    from genxd.data.synthetic import make_clip, write_clip
    from genxd.scene_outputs import write_scene

    g = torch.Generator().manual_seed(0)
    frames = torch.rand(4, 3, 24, 32, generator=g)
    c2w, K = trajectories.orbit(num_frames=4)
    generated = write_scene(folder / "generated", frames, c2w, K, [0], frames, {"mode": "4d"}, fps=4.0,
                            times=torch.linspace(0.0, 1.5, 4))
    depth = folder / "with_depth"
    shutil.copytree(generated, depth)
    meta = json.loads((depth / "transforms.json").read_text())
    meta["depth_unit_scale_factor"] = 0.001
    (depth / "depth").mkdir()
    for i, frame in enumerate(meta["frames"]):
        z = np.full((24, 32), 1.5 + 0.1 * i, np.float32)
        if i % 2:
            np.save(depth / "depth" / f"{i:03d}.npy", z)
            frame["depth_file_path"] = f"depth/{i:03d}.npy"
        else:
            Image.fromarray((z * 1000).astype(np.uint16)).save(depth / "depth" / f"{i:03d}.png")
            frame["depth_file_path"] = f"depth/{i:03d}.png"
    (depth / "transforms.json").write_text(json.dumps(meta))
    clip = make_clip(3, "3d", 4, 32, 32)
    synthetic = write_clip(clip, folder, "synthetic", fmt="folder", num_points=200)
    colmap = write_clip(clip, folder, "colmap", fmt="camvid", num_points=200)
    return [generated, depth, synthetic, colmap]


def _mutate_recon(rng: random.Random, seed: Path, dest: Path) -> str:
    def kind(path: Path) -> str:
        if path.suffix == ".json":
            return "json" if rng.random() < 0.85 else "bytes"
        return "bytes"

    # the files load_views reads (videos and the generate meta are beside them, unread)
    return mutate_copy(rng, seed, dest, kind=kind, pick=lambda p: p.suffix not in (".mp4",))


def load_and_check(path: Path) -> None:
    import torch

    from genxd.reconstruction.views import load_views

    views = load_views(path)
    problems = []
    if views.images.dtype != torch.float32 or not bool(torch.isfinite(views.images).all()):
        problems.append("images not finite float32")
    elif float(views.images.min()) < 0 or float(views.images.max()) > 1:
        problems.append("images outside [0, 1]")
    for name in ("c2w", "K", "times", "points_xyz", "points_rgb"):
        value = getattr(views, name)
        if value is not None and not bool(torch.isfinite(value).all()):
            problems.append(f"{name} not finite")
    if views.times is not None and bool(((views.times < 0) | (views.times > 1)).any()):
        problems.append("times outside [0, 1]")
    if views.depths is not None and not bool((torch.isfinite(views.depths) & (views.depths >= 0)).all()):
        problems.append("depths not finite and >= 0")
    if problems:
        raise AssertionError(f"{path}: read, but {', '.join(problems)}")




# ---------------------------------------------------------------------------------------------------------------
# recon-output: genxd reconstruct --eval reading back a reconstruct output's records
# ---------------------------------------------------------------------------------------------------------------


def _output_seeds(folder: Path) -> list[Path]:
    import torch

    from genxd.cameras import trajectories
    from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
    from genxd.scene_outputs import write_scene

    g = torch.Generator().manual_seed(0)
    frames = torch.rand(6, 3, 16, 16, generator=g)
    c2w, K = trajectories.orbit(num_frames=6)
    seeds = []
    for mode in ("3d", "4d"):
        scene = write_scene(folder / f"input_{mode}", frames, c2w, K, [0], frames, {"mode": mode}, fps=3.0,
                            times=torch.linspace(0.0, 1.0, 6) if mode == "4d" else None)
        out = folder / f"output_{mode}"
        reconstruct_scene(scene, out, ReconstructionConfig(iterations=3, mode=mode, init_points=200),
                          resolution=None, holdout_every=3, video_frames=2, progress=False)
        seeds.append(out)
    return seeds


def _mutate_output(rng: random.Random, seed: Path, dest: Path) -> str:
    # the records evaluate_scene reads (scene.ply has its own target, gaussian-scene)
    return mutate_copy(rng, seed, dest, kind=lambda p: "json" if rng.random() < 0.9 else "bytes",
                       pick=lambda p: p.name in ("reconstruction.json", "cameras.json"))


def evaluate_and_check(path: Path) -> None:
    import math

    from genxd.reconstruction.pipeline import evaluate_scene

    result = evaluate_scene(path, use_lpips=False, out_path=path / "metrics_fuzz.json", overwrite=True)
    bad = [k for k in ("psnr", "ssim") if not isinstance(result.get(k), float) or not math.isfinite(result[k])]
    if bad:
        raise AssertionError(f"{path}: evaluated, but {', '.join(bad)} not finite: {result}")


TARGETS = [
    FuzzTarget("recon-folder", "scene folders genxd reconstruct reads (generate outputs with times / depth maps, "
               "synthetic folders, COLMAP scenes): load_views", _recon_seeds, _mutate_recon, load_and_check,
               allowed=(ValueError, FileNotFoundError)),
    FuzzTarget("recon-output", "genxd reconstruct outputs read back for evaluation (reconstruction.json, "
               "cameras.json): evaluate_scene", _output_seeds, _mutate_output, evaluate_and_check,
               allowed=(ValueError, FileNotFoundError, FileExistsError)),
]
