"""Fuzz target: a saved Gaussian scene (``genxd.reconstruction.load_scene``: ``scene.ply`` + ``motion.npz`` of a
``genxd reconstruct`` output, what its evaluation and the PLY tools read back).

``gaussian-scene``: static (SH degree 0) and 4D (SH degree 1, with temporal opacity) scenes; the binary PLY
and the motion file are mutated as bytes, the PLY's text header as tokens. A scene that loads must have finite
parameters (a NaN mean or scale would be drawn as nothing, or poison a render).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from fuzz_mutations import mutate_copy, mutate_text
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]


def _scene_seeds(folder: Path) -> list[Path]:
    import torch

    from genxd.reconstruction import GaussianModel, MotionBasis, save_motion, save_ply

    g = torch.Generator().manual_seed(0)
    points, colors = torch.randn(12, 3, generator=g), torch.rand(12, 3, generator=g)
    static = folder / "static"
    save_ply(static / "scene.ply", GaussianModel.from_points(points, colors, sh_degree=0))
    dynamic = folder / "dynamic"
    model = GaussianModel.from_points(points, colors, sh_degree=1, motion_basis=MotionBasis(1, 1),
                                      temporal_opacity=True)
    save_ply(dynamic / "scene.ply", model)
    save_motion(dynamic / "motion.npz", model, times=[0.0, 0.5, 1.0])
    return [static, dynamic]


def _mutate_scene(rng: random.Random, seed: Path, dest: Path) -> str:
    if rng.random() < 0.3:  # the PLY's text header, token by token
        shutil.copytree(seed, dest)
        ply = dest / "scene.ply"
        data = ply.read_bytes()
        end = data.index(b"end_header\n") + len(b"end_header\n")
        header, what = mutate_text(rng, data[:end].decode("ascii"))
        ply.write_bytes(header.encode("ascii", "replace") + data[end:])
        return f"scene.ply header: {what}"
    return mutate_copy(rng, seed, dest, kind="bytes")


def load_and_check(path: Path) -> None:
    import torch

    from genxd.reconstruction import load_scene

    model = load_scene(path)
    bad = [k for k, v in model.params.items() if not bool(torch.isfinite(v).all())]
    if bad:
        raise AssertionError(f"{path}: loaded with non-finite {', '.join(bad)}")


TARGETS = [
    FuzzTarget("gaussian-scene", "saved Gaussian scenes (scene.ply + motion.npz of genxd reconstruct)", _scene_seeds,
               _mutate_scene, load_and_check),
]
