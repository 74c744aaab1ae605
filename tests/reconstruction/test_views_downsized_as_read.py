"""A transforms.json or COLMAP input is downsized one image at a time, as it is read (and undistorted): before, every
view was held at its full size as floats (and stacked: twice) before ``--resolution`` downsized them, so 60 frames of
1080p read for a 128 px reconstruction peaked at 3.2 GB (300 frames: about 15 GB), for 6.6 MB of views. The views
are the same as before: read whole, then downsized (:meth:`Views.resized`)."""

from __future__ import annotations

import json
import weakref

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import genxd.reconstruction.views as views_module
from genxd.reconstruction.views import load_views

from .helpers import write_views_folder


def _scene(n: int = 6, h: int = 40, w: int = 56):
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(n, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    out = render(make_scene(2), c2w, K, h, w)
    return out.rgb, out.depth, c2w, K


def _full_size_images_alive(monkeypatch) -> list[int]:
    """After each image read: how many of the images read so far, at their full size, are still held."""
    read, alive = [], []
    real = views_module.load_image

    def tracked(path):
        image = real(path)
        read.append(weakref.ref(image))
        alive.append(sum(ref() is not None for ref in read))
        return image

    monkeypatch.setattr(views_module, "load_image", tracked)
    return alive


def _same_views(a, b) -> None:
    assert a.names == b.names
    assert a.images.shape == b.images.shape and torch.equal(a.images, b.images)
    assert torch.equal(a.K, b.K) and torch.equal(a.c2w, b.c2w)
    assert (a.depths is None) == (b.depths is None)
    if a.depths is not None:
        assert torch.equal(a.depths, b.depths)


@pytest.mark.parametrize("lens", [False, True])
def test_a_transforms_input_is_downsized_as_it_is_read(tmp_path, monkeypatch, lens) -> None:
    images, depths, c2w, K = _scene()
    folder = write_views_folder(tmp_path / "scene", images, c2w, K, depths=depths)
    if lens:  # nerfstudio's OPENCV lens: undistorted first, then downsized
        meta = json.loads((folder / "transforms.json").read_text())
        meta.update(camera_model="OPENCV", k1=0.08, k2=-0.01, p1=0.001, p2=0.0)
        (folder / "transforms.json").write_text(json.dumps(meta))
    whole = load_views(folder).resized(24)
    alive = _full_size_images_alive(monkeypatch)
    read = load_views(folder, resolution=24)
    assert len(alive) == 6 and max(alive) == 1, alive  # before: 1, 2, ... 6
    assert max(read.height, read.width) == 24
    _same_views(read, whole)


def test_a_colmap_input_is_downsized_as_it_is_read(tmp_path, monkeypatch) -> None:
    pytest.importorskip("pycolmap")
    from genxd.cameras import write_colmap_model

    images, _, c2w, K = _scene()
    (tmp_path / "images").mkdir()
    names = [f"img_{i}.png" for i in range(len(images))]
    for name, image in zip(names, images):
        iio.imwrite(tmp_path / "images" / name, (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    write_colmap_model(tmp_path / "sparse" / "0", c2w, K, 40, 56, names, torch.rand(30, 3) - 0.5,
                       (torch.rand(30, 3) * 255).byte())
    whole = load_views(tmp_path).resized(24)
    alive = _full_size_images_alive(monkeypatch)
    read = load_views(tmp_path, resolution=24)
    assert len(alive) == 6 and max(alive) == 1, alive
    _same_views(read, whole)
    assert torch.equal(read.points_xyz, whole.points_xyz)


def test_frames_of_different_sizes_are_still_refused_when_downsized_to_one_size(tmp_path) -> None:
    """Two frames that downsizing would make alike (56x40 and 57x41 both become 24 px wide) are refused as before."""
    images, _, c2w, K = _scene()
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    iio.imwrite(folder / "frames" / "frame_0003.png", np.zeros((41, 57, 3), np.uint8))
    with pytest.raises(ValueError, match=r"frames have different sizes: .*frame_0003\.png is 57x41, .*frame_0000\.png "
                                         r"is 56x40"):
        load_views(folder, resolution=24)
