"""``--extra-views`` keeps what the input gives the initial Gaussians: a COLMAP model's sparse points and the depth
maps of a transforms.json folder (before, the joined training views dropped both: ``--init auto`` silently started
from random points, and ``--init colmap`` on a COLMAP input was refused as "needs a COLMAP input with 3D points")."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from genxd.reconstruction.pipeline import reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import write_views_folder


@pytest.fixture(scope="module")
def scene():
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    out = render(make_scene(2), c2w, K, 16, 16)
    return out.rgb, out.depth, c2w, K


def _colmap_input(folder, images, c2w, K, points):
    from genxd.cameras import write_colmap_model

    (folder / "images").mkdir(parents=True)
    names = [f"img_{i}.png" for i in range(len(images))]
    for name, image in zip(names, images):
        iio.imwrite(folder / "images" / name, (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    colours = (torch.rand(len(points), 3, generator=torch.Generator().manual_seed(1)) * 255).byte()
    write_colmap_model(folder / "sparse" / "0", c2w, K, images.shape[-2], images.shape[-1], names, points, colours)
    return folder


def _reconstruct(input_path, out, extra, init="auto"):
    config = ReconstructionConfig(iterations=1, init=init, init_points=300, strategy="none")
    return reconstruct_scene(input_path, out, config, resolution=None, extra_views=extra, video_frames=0,
                             progress=False, use_lpips=False, inria_model=False)


@pytest.mark.parametrize("init", ["auto", "colmap"])
def test_a_colmap_inputs_points_start_the_gaussians_with_extra_views(scene, tmp_path, init):
    pytest.importorskip("pycolmap")
    images, _, c2w, K = scene
    points = torch.rand(120, 3, generator=torch.Generator().manual_seed(0)) - 0.5
    colmap = _colmap_input(tmp_path / "colmap", images[:6], c2w[:6], K[:6], points)
    extra = write_views_folder(tmp_path / "extra", images[6:], c2w[6:], K[6:])
    record = _reconstruct(colmap, tmp_path / "out", extra, init)
    assert record["num_extra_views"] == 2
    assert record["init"] == "colmap"
    assert record["num_gaussians"] == 120  # one per sparse point (no densification)


def test_the_inputs_depth_maps_start_the_gaussians_with_extra_views(scene, tmp_path):
    """The extra views have no depth: theirs count as unknown (0), and the points come from the input's maps."""
    images, depths, c2w, K = scene
    folder = write_views_folder(tmp_path / "in", images[:6], c2w[:6], K[:6], depths=depths[:6])
    extra = write_views_folder(tmp_path / "extra", images[6:], c2w[6:], K[6:])
    record = _reconstruct(folder, tmp_path / "out", extra)
    assert record["init"] == "depth"
    with_depth = _reconstruct(folder, tmp_path / "out_depth", extra, init="depth")
    assert with_depth["init"] == "depth" and with_depth["num_gaussians"] == 300
    assert json.loads((tmp_path / "out_depth" / "reconstruction.json").read_text())["num_train_views"] == 8
