"""Fuzz targets: camera files (``genxd.cameras.read_camera_path``, what ``genxd generate --camera`` and
``genxd trajectory from-video`` read).

- ``colmap-bin`` / ``colmap-txt``: COLMAP models (binary / text), as ``genxd trajectory make --format colmap``
  and pycolmap write them, with and without ``rigs`` / ``frames`` files and with 3D points and tracks;
- ``camera-json``: the JSON formats (authors' camera JSON, w2c list, the authors' ``{"camera": ...}``,
  ``transforms.json``, a synthetic clip's meta), mutated as JSON trees or as bytes.

A file that is read must also give cameras the model can use: float32 camera-to-world and intrinsics whose
Plücker rays (``genxd.pipelines.conditioning.camera_rays``) are finite; anything else is a finding.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from fuzz_mutations import mutate_copy
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]


def _path_arrays():
    from genxd.cameras import trajectories

    c2w, K = trajectories.orbit(num_frames=6)
    return c2w, K


def read_and_use(path: Path):
    """Read ``path`` as ``generate --camera`` does and build the model's camera condition from it: the Plücker rays
    of ``genxd.pipelines.conditioning.camera_rays``, computed here from the same two functions it calls (importing
    ``genxd.pipelines`` brings diffusers: 5 of a worker's 6 s of start-up CPU, three starts per test run;
    tests/cameras/test_colmap_binary.py checks that the two agree). Returns the rays."""
    import torch

    from genxd.cameras.geometry import plucker_rays, relative_poses
    from genxd.cameras.reader import read_camera_path

    camera_path = read_camera_path(path)
    c2w, K = camera_path.c2w.float(), camera_path.K.float()
    rays = plucker_rays(relative_poses(c2w, c2w[:1]), K, 8, 8)  # = camera_rays(c2w, K, c2w[:1], 8, 8)
    if not bool(torch.isfinite(rays).all()):
        raise AssertionError(f"{path}: accepted, but its cameras give non-finite rays")
    if camera_path.height < 1 or camera_path.width < 1:
        raise AssertionError(f"{path}: accepted with image size {camera_path.height}x{camera_path.width}")
    return rays


def _colmap_with_points(folder: Path, text: bool) -> Path:
    """A small COLMAP model with 2D points, 3D points and tracks (as SfM writes), binary or text."""
    import numpy as np
    import pycolmap

    from genxd.cameras.geometry import c2w_to_w2c

    c2w, K = _path_arrays()
    w2c = c2w_to_w2c(c2w.double()).numpy()
    recon = pycolmap.Reconstruction()
    cam = pycolmap.Camera(camera_id=1, model="SIMPLE_RADIAL", width=64, height=48, params=[50.0, 32.0, 24.0, 0.01])
    recon.add_camera_with_trivial_rig(cam)
    rng = np.random.default_rng(0)
    for i in range(3):
        points2d = [pycolmap.Point2D(rng.uniform(0, 64, 2)) for _ in range(5)]
        image = pycolmap.Image(name=f"frame_{i:03d}.jpg", camera_id=1, image_id=i + 1, points2D=points2d)
        recon.add_image_with_trivial_frame(image, pycolmap.Rigid3d(np.ascontiguousarray(w2c[i, :3, :])))
    for p in range(5):
        track = pycolmap.Track()
        for i in range(3):
            track.add_element(i + 1, p)
        recon.add_point3D(rng.normal(size=3), track, np.array([10, 200, 30], dtype=np.uint8))
    folder.mkdir(parents=True)
    if text:
        recon.write_text(str(folder))
    else:
        recon.write_binary(str(folder))
    return folder


def _colmap_seeds(folder: Path, text: bool) -> list[Path]:
    import pycolmap

    from genxd.cameras.formats import write_colmap_model

    c2w, K = _path_arrays()
    names = [f"{i:05d}.png" for i in range(len(c2w))]
    plain = write_colmap_model(folder / "model", c2w, K, 48, 64, names)
    rigs = write_colmap_model(folder / "model_rigs", c2w, K, 48, 64, names, keep_rigs_and_frames=True)
    seeds = [plain, rigs, _colmap_with_points(folder / "model_points", text)]
    if text:
        for seed in seeds[:2]:
            recon = pycolmap.Reconstruction(str(seed))
            for f in list(seed.iterdir()):
                f.unlink()
            recon.write_text(str(seed))
    # A genxd curate sample: the model in 0/ beside meta.json (frame times from source_index).
    sample = folder / "sample"
    shutil.copytree(plain, sample / "0")
    (sample / "meta.json").write_text(json.dumps(
        {"frames": [{"name": n, "source_index": 3 * i} for i, n in enumerate(names)]}))
    return seeds + [sample]


def _mutate_colmap(rng: random.Random, seed: Path, dest: Path) -> str:
    def kind(p: Path) -> str:
        return {"bin": "bytes", "txt": "text", "json": "json"}.get(p.suffix[1:], "bytes")

    return mutate_copy(rng, seed, dest, kind=kind, pick=lambda p: p.suffix in (".bin", ".txt", ".json"))


def _json_seeds(folder: Path) -> list[Path]:
    from genxd.cameras import formats

    c2w, K = _path_arrays()
    folder.mkdir(parents=True, exist_ok=True)
    formats.save_camera_json(folder / "authors.json", c2w, K, 48, 64, times=[i / 5 for i in range(6)])
    formats.save_transforms_json(folder / "transforms.json", c2w, K, 48, 64)
    formats.save_w2c_list_json(folder / "w2c.json", c2w)
    w2c = formats.c2w_to_w2c(c2w.double())
    (folder / "authors_w2c.json").write_text(json.dumps(
        {"camera": [[0.0] * 6 + [float(x) for x in m[:3].flatten()] for m in w2c]}))
    (folder / "meta.json").write_text(json.dumps({
        "kind": "4d", "height": 48, "width": 64, "times": [i / 5 for i in range(6)],
        "c2w_opencv": c2w.double().tolist(), "K_normalized": K.double().tolist()}))
    return sorted(folder.glob("*.json"))


def _mutate_json(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind="json" if rng.random() < 0.85 else "bytes")


TARGETS = [
    FuzzTarget("colmap-bin", "COLMAP binary models (cameras/images/points3D/rigs/frames .bin), byte mutations",
               lambda d: _colmap_seeds(d, text=False), _mutate_colmap, read_and_use),
    FuzzTarget("colmap-txt", "COLMAP text models, token and line mutations", lambda d: _colmap_seeds(d, text=True),
               _mutate_colmap, read_and_use),
    FuzzTarget("camera-json", "camera JSON files (authors', w2c, {camera}, transforms.json, synthetic meta)",
               _json_seeds, _mutate_json, read_and_use),
]
