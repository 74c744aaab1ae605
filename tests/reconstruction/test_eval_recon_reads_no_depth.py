"""``genxd eval-recon`` scores the held-out views' images and reads no depth map: before, a ``genxd synth`` folder's
``ground_truth.npz`` depth of every view (``[N, H, W]`` float32, the held-out ones or not) was read and checked, and
the held-out views' ``depth_file_path`` maps too, none of them used. A damaged depth no longer stops the scoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig
from genxd.reconstruction.views import load_views

from .helpers import write_views_folder


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory) -> tuple[Path, Path, torch.Tensor]:
    """``(input, reconstruction, depths)``: 6 views of a transforms.json with their depth maps
    (``depth_file_path``), views 0 and 3 held out (``--holdout-every 3``)."""
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("no_depth_read")
    c2w, K = orbit_cameras(6, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    rendered = render(make_scene(2), c2w, K, 20, 28)
    folder = write_views_folder(root / "scene", rendered.rgb, c2w, K, depths=rendered.depth)
    reconstruct_scene(folder, root / "recon", ReconstructionConfig(iterations=2, init_points=100, strategy="none"),
                      resolution=16, holdout_every=3, video_frames=0, progress=False, use_lpips=False)
    return folder, root / "recon", rendered.depth


def _score(out: Path, given: Path | None, where: Path) -> float:
    return evaluate_scene(out, input_path=given, use_lpips=False, out_path=where)["psnr"]


def test_a_bad_ground_truth_depth_of_a_synth_folder_no_longer_stops_the_scoring(reconstructed, tmp_path) -> None:
    folder, out, depths = reconstructed
    given = tmp_path / "scene"
    shutil.copytree(folder, given)
    meta = json.loads((given / "transforms.json").read_text())
    for frame in meta["frames"]:
        del frame["depth_file_path"]  # a genxd synth folder: the depths in ground_truth.npz
    (given / "transforms.json").write_text(json.dumps(meta))
    bad = depths.numpy().astype(np.float32).copy()
    bad[1, 0, 0] = np.nan  # a training view's
    np.savez(given / "ground_truth.npz", depth=bad)
    with pytest.raises(ValueError, match="ground_truth.npz"):
        load_views(given, images_of=[0, 3])  # the depth of every view was read and checked
    assert _score(out, given, tmp_path / "m.json") == _score(out, None, tmp_path / "m0.json")


def test_a_held_out_views_damaged_depth_file_no_longer_stops_the_scoring(reconstructed, tmp_path) -> None:
    folder, out, _ = reconstructed
    given = tmp_path / "scene"
    shutil.copytree(folder, given)
    (given / "depth" / "frame_0003.npy").write_bytes(b"not a depth map")  # a held-out view's
    with pytest.raises(ValueError, match="frame_0003.npy"):
        load_views(given, images_of=[0, 3])
    assert _score(out, given, tmp_path / "m.json") == _score(out, None, tmp_path / "m0.json")


def test_views_read_without_depths_are_those_read_with_them_less_the_depths(reconstructed) -> None:
    folder, _, _ = reconstructed
    with_depths = load_views(folder, resolution=16, images_of=[3, 0])
    without = load_views(folder, resolution=16, images_of=[3, 0], read_depths=False)
    assert with_depths.depths is not None and without.depths is None
    assert torch.equal(without.images, with_depths.images) and without.names == with_depths.names
    assert torch.equal(without.input_cameras.c2w, with_depths.input_cameras.c2w)
