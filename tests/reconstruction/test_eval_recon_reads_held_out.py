"""``genxd eval-recon`` decodes the images of the held-out views only: before, it read every view of the input (all
decoded, downsized and held) to score the held-out ones (1 in 8 with ``--holdout-every 8``). The views it reads
(``load_views(images_of=...)``) are those a whole read gives, with the cameras and names of all the input's views,
so the metrics are the same; a broken training image no longer stops the scoring, a broken held-out one is named as
a whole read names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import genxd.reconstruction.views as views_module
from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig
from genxd.reconstruction.views import ViewOutOfRange, load_views

from .helpers import write_views_folder


def _images(n: int, h: int = 20, w: int = 28) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(n, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    return render(make_scene(2), c2w, K, h, w).rgb, c2w, K


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory) -> tuple[Path, Path]:
    """``(input, reconstruction)``: 6 views of a transforms.json, views 0 and 3 held out (``--holdout-every 3``)."""
    root = tmp_path_factory.mktemp("held_out_read")
    images, c2w, K = _images(6)
    folder = write_views_folder(root / "scene", images, c2w, K)
    reconstruct_scene(folder, root / "recon", ReconstructionConfig(iterations=2, init_points=100, strategy="none"),
                      resolution=16, holdout_every=3, video_frames=0, progress=False, use_lpips=False)
    return folder, root / "recon"


def _reads(monkeypatch) -> list[str]:
    """The image files read through ``views.load_image`` from now on."""
    read: list[str] = []
    real = views_module.load_image

    def counted(path):
        read.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(views_module, "load_image", counted)
    return read


def test_only_the_held_out_images_are_decoded_and_the_metrics_are_the_same(reconstructed, tmp_path,
                                                                          monkeypatch) -> None:
    folder, out = reconstructed
    read = _reads(monkeypatch)
    result = evaluate_scene(out, use_lpips=False, out_path=tmp_path / "metrics.json", save_renders=True)
    assert result["test_views"] == [0, 3]
    assert read == ["frame_0000.png", "frame_0003.png"]  # before: all 6 frames
    # the metrics of the views read whole, then held out (as eval-recon read them before)
    from genxd.reconstruction.ply import load_scene
    from genxd.reconstruction.trainer import evaluate_views

    whole = load_views(folder, resolution=16)
    expected, _ = evaluate_views(load_scene(out), whole.subset([0, 3]), torch.zeros(3))
    assert result["psnr"] == expected["psnr"] and result["ssim"] == expected["ssim"]
    assert result["resolution"] == [whole.height, whole.width] and result["input_resolution"] == [20, 28]
    # the renders are named over all views, as before
    renders = sorted(p.name for p in (out / "eval_renders").iterdir())
    assert renders == ["frames_frame_0000.png", "frames_frame_0003.png"]


def test_a_broken_training_image_no_longer_stops_the_scoring(reconstructed, tmp_path) -> None:
    folder, out = reconstructed
    given = tmp_path / "scene"
    shutil.copytree(folder, given)
    (given / "frames" / "frame_0001.png").write_bytes(b"not a png")  # a training view
    with pytest.raises(ValueError, match="frame_0001"):
        load_views(given)  # what a whole read (before) stopped at
    scored = evaluate_scene(out, input_path=given, use_lpips=False, out_path=tmp_path / "m.json")
    assert scored["psnr"] == evaluate_scene(out, use_lpips=False, out_path=tmp_path / "m0.json")["psnr"]


def test_a_broken_held_out_image_is_named_as_a_whole_read_names_it(reconstructed, tmp_path) -> None:
    folder, out = reconstructed
    given = tmp_path / "scene"
    shutil.copytree(folder, given)
    (given / "frames" / "frame_0003.png").write_bytes(b"not a png")  # a held-out view
    with pytest.raises(ValueError) as whole:
        load_views(given)
    with pytest.raises(ValueError) as scored:
        evaluate_scene(out, input_path=given, use_lpips=False, out_path=tmp_path / "m.json")
    assert "frame_0003.png" in str(whole.value) and str(scored.value) == str(whole.value)
    assert not (tmp_path / "m.json").exists()


def test_a_held_out_view_the_input_lacks_is_said_as_before(reconstructed, tmp_path) -> None:
    """The input with fewer views than the reconstruction's held-out ones: the message eval-recon gave after reading
    all views, now before reading any image."""
    folder, out = reconstructed
    given = tmp_path / "scene"
    shutil.copytree(folder, given)
    meta = json.loads((given / "transforms.json").read_text())
    meta["frames"] = meta["frames"][:3]
    (given / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError) as info:
        evaluate_scene(out, input_path=given, use_lpips=False, out_path=tmp_path / "m.json")
    assert not isinstance(info.value, ViewOutOfRange)
    assert str(info.value) == f"{out / 'cameras.json'}: held-out view 3 is out of range: the input has 3 views"
    with pytest.raises(ViewOutOfRange, match=r"view 5 is out of range: the input has 3 views") as asked:
        load_views(given, images_of=[1, 5, 4])
    assert (asked.value.view, asked.value.count) == (5, 3)
    with pytest.raises(ValueError, match="images_of: no views given"):
        load_views(given, images_of=[])


def _same_as_whole(path: Path, images_of: list[int], monkeypatch, **kwargs) -> None:
    """``load_views(path, images_of=...)`` is the whole read's ``subset(images_of)``, with all the cameras, reading
    those images only."""
    whole = load_views(path, **kwargs)
    read = _reads(monkeypatch)
    some = load_views(path, images_of=images_of, **kwargs)
    assert len(read) == len(images_of)
    expected = whole.subset(images_of)
    assert some.names == expected.names and torch.equal(some.images, expected.images)
    assert torch.equal(some.c2w, expected.c2w) and torch.equal(some.K, expected.K)
    assert some.input_size == whole.input_size and some.stored_size == expected.stored_size
    for name in ("times", "source_times", "depths", "points_xyz"):
        a, b = getattr(some, name), getattr(expected, name)
        assert (a is None) == (b is None) and (a is None or torch.equal(a, b)), name
    cameras = some.input_cameras
    assert cameras is not None and whole.input_cameras is None
    assert cameras.names == whole.names and torch.equal(cameras.c2w, whole.c2w) and torch.equal(cameras.K, whole.K)
    assert some.subset([1]).input_cameras is cameras


@pytest.mark.parametrize("lens", [False, True])
def test_a_transforms_input_read_for_some_views(tmp_path, monkeypatch, lens) -> None:
    """With depths and times; with a lens, the pinhole cameras of the views not read are those undistorting them
    gives."""
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(5, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    out = render(make_scene(2), c2w, K, 20, 28)
    folder = write_views_folder(tmp_path / "scene", out.rgb, c2w, K, depths=out.depth,
                                times=torch.tensor([0.0, 2.0, 1.0, 3.0, 4.0]))
    if lens:
        meta = json.loads((folder / "transforms.json").read_text())
        meta.update(camera_model="OPENCV", k1=0.08, k2=-0.01, p1=0.001, p2=0.0)
        (folder / "transforms.json").write_text(json.dumps(meta))
    _same_as_whole(folder, [3, 0], monkeypatch, resolution=16)
    if lens:  # the pinhole cameras of the views not read are not the distorted ones as listed
        assert not torch.equal(load_views(folder, images_of=[3]).input_cameras.K[1], K[1].float())


@pytest.mark.parametrize("lens", [False, True])
def test_a_colmap_input_read_for_some_views(tmp_path, monkeypatch, lens) -> None:
    """With a lens (genxd curate's SIMPLE_RADIAL), the pinhole cameras of the views not read are those undistorting
    them gives."""
    pycolmap = pytest.importorskip("pycolmap")
    import imageio.v3 as iio

    from genxd.cameras import write_colmap_model

    images, c2w, K = _images(5)
    (tmp_path / "images").mkdir()
    names = [f"img_{i}.png" for i in range(len(images))]
    for name, image in zip(names, images):
        iio.imwrite(tmp_path / "images" / name, (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    model = tmp_path / "sparse" / "0"
    write_colmap_model(model, c2w, K, 20, 28, names, torch.rand(30, 3) - 0.5, (torch.rand(30, 3) * 255).byte())
    if lens:
        recon = pycolmap.Reconstruction(str(model))
        for camera in recon.cameras.values():
            camera.model, camera.params = pycolmap.CameraModelId.SIMPLE_RADIAL, [26.0, 14.0, 10.0, 0.1]
        recon.write(str(model))
    _same_as_whole(tmp_path, [4, 1], monkeypatch, resolution=16)
    if lens:  # not the distorted camera as listed
        listed = torch.tensor([[26.0 / 28, 0.0, 14.0 / 28], [0.0, 26.0 / 20, 10.0 / 20], [0.0, 0.0, 1.0]])
        assert (load_views(tmp_path, images_of=[4]).input_cameras.K[0] - listed).abs().max() > 1e-3


@pytest.mark.parametrize("layout", ["idr", "dtu"])
def test_a_dtu_scan_read_for_some_views(tmp_path, monkeypatch, layout) -> None:
    from .dtu_scans import small_scan

    _same_as_whole(small_scan(tmp_path, layout, 5), [2, 4], monkeypatch, resolution=8)


def test_a_reconfusion_scene_is_scored_on_its_test_images_alone(tmp_path, monkeypatch) -> None:
    """The split's test views alone are decoded; a training image that cannot be decoded is not read, a test one is
    named by its view number as a whole read names it."""
    from genxd.cameras import trajectories
    from genxd.data import reconfusion
    from genxd.data.reconfusion import load_reconfusion_scene, write_reconfusion_scene

    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=8)
    write_reconfusion_scene(tmp_path / "rf", "scene_a", images, c2w, K, {3: ([1, 4, 6], [0, 5])})
    reconstruct_scene(tmp_path / "rf", tmp_path / "recon", ReconstructionConfig(iterations=2, init_points=100),
                      resolution=None, n_views=3, video_frames=0, progress=False, use_lpips=False)
    whole = evaluate_scene(tmp_path / "recon", use_lpips=False, out_path=tmp_path / "whole.json")
    decoded: list[int] = []
    real = reconfusion.decode_image

    def counted(data):
        decoded.append(1)
        return real(data)

    monkeypatch.setattr(reconfusion, "decode_image", counted)
    result = evaluate_scene(tmp_path / "recon", use_lpips=False, out_path=tmp_path / "m.json")
    assert len(decoded) == 2  # before: 8
    assert {k: result[k] for k in ("psnr", "ssim", "test_views")} == {k: whole[k] for k in ("psnr", "ssim",
                                                                                           "test_views")}

    def broken(view: int) -> Path:
        """The scene with image ``view`` replaced by bytes that are no image."""
        folder = tmp_path / f"broken_{view}"
        shutil.copytree(tmp_path / "rf", folder)
        file = next(folder.glob("*.torch"))
        data = torch.load(file, weights_only=False)
        assert len(data[0]["images"]) == 8  # one encoded image per view (write_reconfusion_scene's layout)
        data[0]["images"][view] = torch.frombuffer(bytearray(b"not an image"), dtype=torch.uint8)
        torch.save(data, file)
        assert len(load_reconfusion_scene(file, decode_images=False)) == 8
        return folder

    scored = evaluate_scene(tmp_path / "recon", input_path=broken(4), use_lpips=False, out_path=tmp_path / "4.json")
    assert scored["psnr"] == whole["psnr"]
    test_broken = broken(5)
    with pytest.raises(ValueError) as read_whole:
        load_views(test_broken)
    with pytest.raises(ValueError) as info:
        evaluate_scene(tmp_path / "recon", input_path=test_broken, use_lpips=False, out_path=tmp_path / "5.json")
    assert "image 5 cannot be decoded" in str(info.value) and str(info.value) == str(read_whole.value)
