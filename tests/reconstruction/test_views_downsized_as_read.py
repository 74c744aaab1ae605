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


def _full_size_images_alive(monkeypatch, module=views_module, name: str = "load_image") -> list[int]:
    """After each image read (``module.name``): how many of the images read so far, at their full size, are still
    held. Clear the list to start counting afresh."""
    read, alive = [], []
    real = getattr(module, name)

    def tracked(source):
        if not alive:  # cleared by the caller: a new count
            read.clear()
        image = real(source)
        read.append(weakref.ref(image))
        alive.append(sum(ref() is not None for ref in read))
        return image

    monkeypatch.setattr(module, name, tracked)
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


def test_eval_recon_reads_the_input_downsized_as_reconstructed(tmp_path, monkeypatch) -> None:
    """eval-recon read every view of the input at its full size (all of them, to score the held-out ones) before
    downsizing the held-out views to the size reconstructed at; it still reports the stored size."""
    from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
    from genxd.reconstruction.ply import load_scene
    from genxd.reconstruction.trainer import ReconstructionConfig, evaluate_views

    images, _, c2w, K = _scene()
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    reconstruct_scene(folder, tmp_path / "recon", ReconstructionConfig(iterations=1, init_points=100, strategy="none"),
                      resolution=24, holdout_every=3, video_frames=0, progress=False, use_lpips=False)
    alive = _full_size_images_alive(monkeypatch)
    result = evaluate_scene(tmp_path / "recon", use_lpips=False, out_path=tmp_path / "metrics.json")
    assert len(alive) == 2 and max(alive) == 1, alive  # the held-out views 0 and 3 alone (before: all 6, 1, 2, ... 6)
    assert result["resolution"] == [17, 24] and result["input_resolution"] == [40, 56]
    assert result["test_views"] == [0, 3]
    held_out = load_views(folder).resized(24).subset([0, 3])  # read whole, then downsized: as before
    expected, _ = evaluate_views(load_scene(tmp_path / "recon"), held_out, torch.zeros(3))
    assert result["psnr"] == expected["psnr"] and result["ssim"] == expected["ssim"]


@pytest.mark.parametrize("layout", ["idr", "dtu"])
def test_a_dtu_scan_is_downsized_as_it_is_read(tmp_path, monkeypatch, layout) -> None:
    """A DTU scan (IDR's layout or DTU's own) was read whole, every view at its full size as floats (49 views of
    1600x1200: 1.1 GB), before being downsized."""
    from .dtu_scans import small_scan

    scan = small_scan(tmp_path, layout, 6)
    whole = load_views(scan).resized(8)
    alive = _full_size_images_alive(monkeypatch)
    read = load_views(scan, resolution=8)
    assert len(alive) == 6 and max(alive) == 1, alive  # before: 1, 2, ... 6
    assert (read.height, read.width) == (6, 8) and read.input_size == (30, 40)
    _same_views(read, whole)


def test_a_dtu_scans_aspect_is_checked_at_its_stored_size(tmp_path) -> None:
    """MVSNet's 640x512 crops (here 20x16) are refused whatever they are downsized to: at 4 px they would be 4x3."""
    from .dtu_scans import DTU_K, known_cameras, write_dtu_scan

    scan = write_dtu_scan(tmp_path / "DTU", "scan40_train", DTU_K, known_cameras(radius=600.0)[:3], height=16, width=20)
    with pytest.raises(ValueError, match=r"the images are 20x16, but DTU's calibration is for 1600x1200 images"):
        load_views(scan, resolution=4)


def test_a_reconfusion_scene_is_downsized_as_it_is_decoded(tmp_path, monkeypatch) -> None:
    """A ReconFusion scene's images were all decoded at full size (ReconFusionScene.decoded_images) before being
    downsized, by load_views and by load_reconfusion_views (reconstruct --n-views)."""
    import genxd.data.reconfusion as reconfusion
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.reconstruction.views import load_reconfusion_views

    images, _, c2w, K = _scene()
    write_reconfusion_scene(tmp_path, "scene_a", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])})
    whole = load_views(tmp_path).resized(24)
    alive = _full_size_images_alive(monkeypatch, reconfusion, "decode_image")
    for read in (lambda: load_views(tmp_path, resolution=24),
                 lambda: load_reconfusion_views(tmp_path, None, 3, resolution=24)[0]):
        alive.clear()
        views = read()
        assert len(alive) == 6 and max(alive) == 1, alive  # before: 1, 2, ... 6
        assert views.input_size == (40, 56)
        _same_views(views, whole)
