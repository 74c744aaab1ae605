"""Training datasets read cameras with lens distortion as ``genxd reconstruct`` does: the views are undistorted
(COLMAP's undistorter, ``genxd.reconstruction.undistort``) and get the pinhole camera, so a point lands where the
sample's ``K`` projects it (before, the distortion was dropped and the model trained on wrong cameras)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import intrinsics_from_focal, look_at, project_points
from genxd.data.datasets import CamVidDataset, MultiViewDataset

from tests.reconstruction.helpers import write_views_folder

pycolmap = pytest.importorskip("pycolmap")

H, W, F = 60, 80, 70.0
#: a point off the image centre in front of each camera, where the lens moves it by about a pixel
_IN_CAMERA = torch.tensor([0.4, -0.25, 1.0], dtype=torch.float64) * 2.5


def _orbit(n: int = 3) -> torch.Tensor:
    az = torch.linspace(0, 1.0, n)
    eye = torch.stack([3.0 * torch.cos(az), torch.full_like(az, -1.0), 3.0 * torch.sin(az)], -1)
    return look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))


def _dot_images(camera, n: int) -> torch.Tensor:
    """``[n, 3, H, W]`` images of a bright dot where the COLMAP ``camera`` (with its lens) sees ``_IN_CAMERA``."""
    u, v = camera.img_from_cam(_IN_CAMERA.numpy()[None])[0]
    jj, ii = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    dot = np.exp(-((jj - u) ** 2 + (ii - v) ** 2) / (2 * 1.5**2))
    return torch.from_numpy(dot).float().expand(n, 3, H, W).clone()


def _write_images(folder: Path, names: list[str], images: torch.Tensor) -> None:
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, images):
        iio.imwrite(folder / name, (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def _colmap_scene(model_dir: Path, image_dir: Path, c2w: torch.Tensor) -> None:
    """A COLMAP model of ``SIMPLE_RADIAL`` cameras (what ``genxd curate`` writes) and its images of the dot."""
    from genxd.cameras import write_colmap_model

    names = [f"img_{i}.png" for i in range(len(c2w))]
    write_colmap_model(model_dir, c2w, intrinsics_from_focal(1.0).expand(len(c2w), 3, 3), H, W, names)
    recon = pycolmap.Reconstruction(str(model_dir))
    for camera in recon.cameras.values():
        camera.model, camera.params = pycolmap.CameraModelId.SIMPLE_RADIAL, [F, W / 2, H / 2, 0.15]
    recon.write(str(model_dir))
    _write_images(image_dir, names, _dot_images(next(iter(recon.cameras.values())), len(c2w)))


def _check_dot_where_projected(sample: dict, c2w: torch.Tensor) -> None:
    """The dot of each sample frame is where the sample's camera projects ``_IN_CAMERA`` (within 0.3 px)."""
    frames = sample["frames"]
    h, w = frames.shape[-2:]
    rows, cols = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    for i in range(len(frames)):
        point = c2w[i, :3, :3].double() @ _IN_CAMERA + c2w[i, :3, 3].double()
        uv = project_points(point[None].float(), sample["c2w"][i], sample["K"][i])[0][0]
        expected = torch.stack([uv[0] * w, uv[1] * h]).double()
        weight = frames[i, 0].double()
        weight = weight * (weight > 0.2)
        centroid = torch.stack([(weight * cols).sum(), (weight * rows).sum()]) / weight.sum()
        assert (centroid - expected).norm() < 0.3, (i, centroid, expected)


_SIZE = dict(num_frames=3, height=H, width=W, fit="pad", pad_value=0.0, camera_normalization="none")


def test_multiview_colmap_scene_with_lens_distortion_is_undistorted(tmp_path) -> None:
    c2w = _orbit()
    _colmap_scene(tmp_path / "scene" / "sparse" / "0", tmp_path / "scene" / "images", c2w)
    sample = MultiViewDataset(tmp_path / "scene", **_SIZE)[0]
    _check_dot_where_projected(sample, c2w)


def test_curated_clip_with_lens_distortion_is_undistorted(tmp_path) -> None:
    """A ``genxd curate`` sample (``VIDEO_ID/images`` + ``VIDEO_ID/0``, SIMPLE_RADIAL) read by the camvid dataset."""
    c2w = _orbit()
    _colmap_scene(tmp_path / "clip" / "0", tmp_path / "clip" / "images", c2w)
    sample = CamVidDataset(tmp_path, kind="3d", **_SIZE)[0]
    _check_dot_where_projected(sample, c2w)


def test_transforms_scene_with_opencv_lens_is_undistorted(tmp_path) -> None:
    """nerfstudio's ``ns-process-data`` keeps the images as shot and writes ``camera_model: OPENCV`` with
    ``k1 k2 p1 p2``."""
    c2w = _orbit()
    coefficients = {"k1": 0.12, "k2": -0.02, "p1": 0.004, "p2": -0.003}
    camera = pycolmap.Camera(model="OPENCV", width=W, height=H, params=[F, F, W / 2, H / 2, *coefficients.values()])
    K = torch.tensor([[F / W, 0, 0.5], [0, F / H, 0.5], [0, 0, 1]]).expand(3, 3, 3)
    folder = write_views_folder(tmp_path / "scene", _dot_images(camera, 3), c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    meta.update({"camera_model": "OPENCV", **coefficients})
    (folder / "transforms.json").write_text(json.dumps(meta))
    sample = MultiViewDataset(folder, **_SIZE)[0]
    _check_dot_where_projected(sample, c2w)


def test_undistort_false_keeps_the_stored_pixels_and_the_models_pinhole_part(tmp_path) -> None:
    c2w = _orbit()
    _colmap_scene(tmp_path / "scene" / "sparse" / "0", tmp_path / "scene" / "images", c2w)
    sample = MultiViewDataset(tmp_path / "scene", undistort=False, **_SIZE)[0]
    assert sample["frames"].shape[-2:] == (H, W)
    assert torch.allclose(sample["K"][0], torch.tensor([[F / W, 0, 0.5], [0, F / H, 0.5], [0, 0, 1]]), atol=1e-6)


def test_images_not_at_the_size_of_their_distorted_camera_are_named(tmp_path) -> None:
    """The lens coefficients are in the camera's pixels: a downscaled image cannot be undistorted with them. Named
    when the dataset is made (from the header), not when training reads the item in a DataLoader worker."""
    import imageio.v3 as iio

    c2w = _orbit()
    _colmap_scene(tmp_path / "scene" / "sparse" / "0", tmp_path / "scene" / "images", c2w)
    iio.imwrite(tmp_path / "scene" / "images" / "img_1.png", np.zeros((30, 40, 3), np.uint8))
    with pytest.raises(ValueError, match=r"img_1\.png: image is 40x30, its camera \(SIMPLE_RADIAL.*says 80x60"):
        MultiViewDataset(tmp_path / "scene", **_SIZE)
    assert len(MultiViewDataset(tmp_path / "scene", undistort=False, **_SIZE)) == 1  # the distortion ignored


def test_transforms_scene_of_a_panorama_is_refused_naming_the_file(tmp_path) -> None:
    """An ``EQUIRECTANGULAR`` transforms.json (nerfstudio's 360 video) is not a perspective camera: refused in one line
    naming the file, as ``genxd reconstruct`` refuses it (it was read as a pinhole camera)."""
    c2w = _orbit(2)
    folder = write_views_folder(tmp_path / "scene", torch.rand(2, 3, 8, 16), c2w, intrinsics_from_focal(1.0).expand(2, 3, 3))
    meta = json.loads((folder / "transforms.json").read_text())
    meta["camera_model"] = "EQUIRECTANGULAR"
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"transforms\.json: frames\[0\] has camera_model 'EQUIRECTANGULAR'"):
        MultiViewDataset(folder, num_frames=2, height=8, width=16)


def test_undistortion_grids_are_kept_across_items(tmp_path, monkeypatch) -> None:
    """Each item rebuilt its cameras' undistortion grids (about four times the cost of resampling an image with one:
    47 vs 12 ms at 1080p); the dataset now keeps the last ones (``GridCache``, bounded in bytes), and the pixels are
    the same."""
    from genxd.reconstruction import undistort

    c2w = _orbit(4)
    _colmap_scene(tmp_path / "scene" / "sparse" / "0", tmp_path / "scene" / "images", c2w)
    fresh = [MultiViewDataset(tmp_path / "scene", **_SIZE, clip_spacing=1)[i]["frames"] for i in range(2)]
    built = []
    real = undistort._sampling_grid
    monkeypatch.setattr(undistort, "_sampling_grid", lambda *a: built.append(a[0]) or real(*a))
    data = MultiViewDataset(tmp_path / "scene", **_SIZE, clip_spacing=1)
    again = [data[i]["frames"] for i in range(2)] + [data[0]["frames"]]
    assert len(built) == 1  # one shared SIMPLE_RADIAL camera: one grid for three items
    for a, b in zip(again, fresh + fresh[:1]):
        assert torch.equal(a, b)


def test_an_items_grids_are_kept_when_each_view_has_its_own_camera(tmp_path, monkeypatch) -> None:
    """With a camera per view (the COLMAP GUI's default) and a byte budget one grid short of an item's (128 MiB against
    8 views of 1080p cameras), the cache dropped each grid just before the item asked for it again: every item rebuilt
    all its grids (602 -> 604 ms an item). The dataset's cache now keeps at least an item's grids."""
    from genxd.reconstruction import undistort

    from genxd.cameras import write_colmap_model

    c2w, names = _orbit(3), [f"img_{i}.png" for i in range(3)]
    model_dir = tmp_path / "scene" / "sparse" / "0"
    K = torch.stack([intrinsics_from_focal(1.0 + 0.01 * i) for i in range(3)])  # a COLMAP camera each
    write_colmap_model(model_dir, c2w, K, H, W, names)
    recon = pycolmap.Reconstruction(str(model_dir))
    assert len(recon.cameras) == 3
    for i, camera in enumerate(recon.cameras.values()):
        camera.model, camera.params = pycolmap.CameraModelId.SIMPLE_RADIAL, [F + i, W / 2, H / 2, 0.15]
    recon.write(str(model_dir))
    _write_images(tmp_path / "scene" / "images", names, torch.rand(3, 3, H, W, generator=torch.Generator().manual_seed(0)))
    built = []
    real_grid, real_init = undistort._sampling_grid, undistort.GridCache.__init__
    monkeypatch.setattr(undistort, "_sampling_grid", lambda *a: built.append(a[1]) or real_grid(*a))
    two_grids = 2 * H * W * 2 * 4  # a byte budget one grid short of the item's three
    monkeypatch.setattr(undistort.GridCache, "__init__",
                        lambda self, *a, **k: real_init(self, *a, **{**k, "max_bytes": two_grids}))
    data = MultiViewDataset(tmp_path / "scene", **_SIZE)
    assert len(data) == 1
    first = data[0]["frames"]
    assert len(set(built)) == 3 and len(built) == 3
    assert torch.equal(data[0]["frames"], first) and torch.equal(data[0]["frames"], first)
    assert len(built) == 3  # the later items built none


def test_grid_cache_keeps_at_least_min_grids_and_refuses_zero() -> None:
    from genxd.reconstruction.undistort import GridCache

    cache = GridCache(max_bytes=1, min_grids=2)  # no byte room: the two last grids stay
    cameras = [("SIMPLE_RADIAL", (F + i, W / 2, H / 2, 0.1)) for i in range(3)]
    grids = [cache.get(model, params, H, W) for model, params in cameras]
    assert len(cache) == 2 and cache.get(*cameras[1], H, W) is grids[1] and cache.get(*cameras[2], H, W) is grids[2]
    with pytest.raises(ValueError, match="min_grids must be >= 1, got 0"):
        GridCache(min_grids=0)


def test_grid_cache_is_bounded_in_bytes() -> None:
    from genxd.reconstruction.undistort import GridCache

    cache = GridCache(max_bytes=H * W * 2 * 4 + 1)  # room for one grid of this size
    cameras = [("SIMPLE_RADIAL", (F + i, W / 2, H / 2, 0.1)) for i in range(3)]
    grids = [cache.get(model, params, H, W) for model, params in cameras]
    assert len(cache) == 1 and cache.get(*cameras[-1], H, W) is grids[-1]
    assert cache.get(*cameras[0], H, W) is not grids[0]  # dropped, built again: equal
    assert torch.equal(cache.get(*cameras[0], H, W)[0], grids[0][0])


def test_transforms_scene_is_parsed_once_within_the_json_size_limit(tmp_path, monkeypatch) -> None:
    """The lens settings were parsed a second time with ``json.loads(read_text())``: a transforms.json saved with a
    UTF-8 byte-order mark (Windows Notepad), which the camera reader accepts, failed there ('Unexpected UTF-8 BOM'),
    and that read had no size limit. Now one ``read_json`` gives both."""
    from genxd.utils import json_files  # where read_json reads the limit

    c2w = _orbit()
    K = intrinsics_from_focal(1.0).expand(3, 3, 3)
    folder = write_views_folder(tmp_path / "scene", torch.rand(3, 3, H, W, generator=torch.Generator().manual_seed(0)),
                                c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    meta.update({"camera_model": "OPENCV", "k1": 0.1})
    (folder / "transforms.json").write_text(json.dumps(meta), encoding="utf-8-sig")
    sample = MultiViewDataset(folder, **_SIZE)[0]
    plain = MultiViewDataset(folder, undistort=False, **_SIZE)[0]
    assert not torch.allclose(sample["K"], plain["K"])  # the lens was read: K is the undistorted camera's
    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", (folder / "transforms.json").stat().st_size - 1)
    with pytest.raises(ValueError, match=r"transforms\.json: a JSON file of .* MiB; at most 0 MiB are read"):
        MultiViewDataset(folder, **_SIZE)


def test_curated_clip_view_not_at_its_distorted_cameras_size_is_named_when_read(tmp_path) -> None:
    """camvid reads its cameras lazily: an image of a lens camera at another size (here a half-size copy, whose aspect
    ratio fits) is refused when the item is read, in one check of both rules (view_lenses.check_view_sizes)."""
    import imageio.v3 as iio

    c2w = _orbit()
    _colmap_scene(tmp_path / "clip" / "0", tmp_path / "clip" / "images", c2w)
    iio.imwrite(tmp_path / "clip" / "images" / "img_1.png", np.zeros((H // 2, W // 2, 3), np.uint8))
    data = CamVidDataset(tmp_path, kind="3d", **_SIZE)
    with pytest.raises(ValueError, match=rf"img_1\.png: image is {W // 2}x{H // 2}, its camera \(SIMPLE_RADIAL, with "
                                         rf"lens distortion\) says {W}x{H}; undistorting needs the images at that size"):
        data[0]
    assert CamVidDataset(tmp_path, kind="3d", undistort=False, **_SIZE)[0]["frames"].shape[0] == 3


def _fisheye_colmap_scene(model_dir: Path, image_dir: Path, c2w: torch.Tensor) -> None:
    """``_colmap_scene`` with ``OPENCV_FISHEYE`` cameras."""
    _colmap_scene(model_dir, image_dir, c2w)
    recon = pycolmap.Reconstruction(str(model_dir))
    for camera in recon.cameras.values():
        camera.model, camera.params = pycolmap.CameraModelId.OPENCV_FISHEYE, [F, F, W / 2, H / 2, 0.05, 0.0, 0.0, 0.0]
    recon.write(str(model_dir))


def test_undistort_false_refuses_a_fisheye_colmap_scene_naming_the_file_and_the_setting(tmp_path) -> None:
    """``undistort: false`` used a fisheye's focal length as the pinhole K (another field of view, not only the
    distortion ignored); now refused in one line. Radial lenses keep ``undistort: false``, the default undistorts."""
    c2w = _orbit()
    _fisheye_colmap_scene(tmp_path / "scene" / "sparse" / "0", tmp_path / "scene" / "images", c2w)
    with pytest.raises(ValueError, match=r"sparse[/\\]0: view 'img_0\.png' has camera model OPENCV_FISHEYE, a fisheye "
                                         r"camera; .*the dataset option undistort: false \(in its "
                                         r"data\.datasets entry; undistort=False\) takes radial lenses only") as info:
        MultiViewDataset(tmp_path / "scene", undistort=False, **_SIZE)
    assert "\n" not in str(info.value)
    assert "training.data" not in str(info.value)  # no such config key: it named one before (2026-12-07)
    assert MultiViewDataset(tmp_path / "scene", **_SIZE)[0]["frames"].shape[0] == 3  # undistorted: read


def test_undistort_false_refuses_a_fisheye_transforms_scene(tmp_path) -> None:
    c2w = _orbit()
    K = torch.tensor([[F / W, 0, 0.5], [0, F / H, 0.5], [0, 0, 1]]).expand(3, 3, 3)
    folder = write_views_folder(tmp_path / "scene", torch.rand(3, 3, H, W), c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    meta["is_fisheye"] = True  # instant-ngp's colmap2nerf
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"transforms\.json: view '.*' has camera model OPENCV_FISHEYE, a fisheye "
                                         r"camera; .*the dataset option undistort: false \(in its "
                                         r"data\.datasets entry; undistort=False\)"):
        MultiViewDataset(folder, undistort=False, **_SIZE)


def test_undistort_false_refuses_a_fisheye_curated_clip_when_read(tmp_path) -> None:
    c2w = _orbit()
    _fisheye_colmap_scene(tmp_path / "clip" / "0", tmp_path / "clip" / "images", c2w)
    data = CamVidDataset(tmp_path, kind="3d", undistort=False, **_SIZE)
    with pytest.raises(ValueError, match=r"clip[/\\]0: view 'img_0\.png' has camera model OPENCV_FISHEYE"):
        data[0]
