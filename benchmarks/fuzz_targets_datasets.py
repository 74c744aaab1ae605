"""Fuzz targets: training data (``genxd.data.datasets.CamVidDataset``, what ``genxd train`` reads from a curated
CamVid-30K folder or ``batch_N.zip`` archive).

- ``camvid-folder``: a curated sample folder (``images/*.jpg``, the COLMAP model ``0/``, ``meta.json``) with one of
  its files mutated (JPEG and COLMAP files as bytes, ``meta.json`` as a JSON tree);
- ``camvid-zip``: the same samples in a zip archive, mutated as bytes (the archive's directory, headers, data);
- ``multiview-folder``: ``genxd.data.datasets.MultiViewDataset`` on a scene folder with a COLMAP model (a curated
  sample read as a static scene) and one with a ``transforms.json``.

The call builds the dataset and reads its first clip; its frames must be finite and in [-1, 1], its cameras finite.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

from fuzz_mutations import mutate_copy
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]


def _write_samples(folder: Path) -> Path:
    from genxd.data.synthetic import make_clip, write_clip

    folder.mkdir(parents=True, exist_ok=True)
    write_clip(make_clip(3, "3d", 4, 24, 32, camera="orbit"), folder, "video0", "camvid")
    write_clip(make_clip(4, "4d", 4, 24, 32, camera="orbit", motion_strength=0.6), folder, "video1", "camvid")
    return folder


def _folder_seeds(folder: Path) -> list[Path]:
    return [_write_samples(folder / "camvid")]


def _zip_seeds(folder: Path) -> list[Path]:
    samples = _write_samples(folder / "samples")
    archive = folder / "batch_1.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(samples.rglob("*")):
            if p.is_file():  # a fixed date: the archive (and each case made from it) is the same in every run
                info = zipfile.ZipInfo(str(p.relative_to(samples)), date_time=(2026, 1, 1, 0, 0, 0))
                zf.writestr(info, p.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return [archive]


def _multiview_seeds(folder: Path) -> list[Path]:
    from genxd.data.synthetic import make_clip, write_clip

    clip = make_clip(3, "3d", 4, 24, 32, camera="orbit")
    write_clip(clip, folder / "colmap", "scene", "camvid")
    write_clip(clip, folder / "transforms", "scene", "folder")
    return [folder / "colmap" / "scene", folder / "transforms" / "scene"]


def _check_sample(path: Path, item: dict) -> None:
    """A sample read from ``path`` must have finite frames in [-1, 1] and finite cameras."""
    import torch

    if not bool(torch.isfinite(item["frames"]).all()) or float(item["frames"].abs().max()) > 1.0 + 1e-4:
        raise AssertionError(f"{path}: a sample with frames outside [-1, 1] or not finite")
    if not all(bool(torch.isfinite(item[k]).all()) for k in ("c2w", "K")):
        raise AssertionError(f"{path}: a sample with non-finite cameras")


def read_first_view_set(path: Path) -> None:
    """Build the multi-view dataset on the scene folder ``path`` and read its first sample."""
    from genxd.data.datasets import MultiViewDataset

    _check_sample(path, MultiViewDataset(path, num_frames=2, height=16)[0])


def _mutate_folder(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind=lambda p: "json" if p.suffix == ".json" else "bytes")


def _mutate_zip(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind="bytes")


def read_first_clip(path: Path) -> None:
    """Build the dataset on ``path`` and read its first clip, as a training data loader would."""
    from genxd.data.datasets import CamVidDataset

    _check_sample(path, CamVidDataset(path, num_frames=2, height=16, extract_dir=path.parent / "extract")[0])


TARGETS = [
    FuzzTarget("camvid-folder", "curated CamVid-30K sample folders (frames, COLMAP model, meta.json)",
               _folder_seeds, _mutate_folder, read_first_clip),
    FuzzTarget("camvid-zip", "CamVid-30K batch archives (zip), byte mutations", _zip_seeds, _mutate_zip,
               read_first_clip),
    FuzzTarget("multiview-folder", "static multi-view scene folders (COLMAP model or transforms.json, frames)",
               _multiview_seeds, _mutate_folder, read_first_view_set),
]
