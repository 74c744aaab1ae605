"""Input folders (transforms.json, COLMAP, ReconFusion), splits and initial points."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genxd.cameras import intrinsics_from_focal, look_at, project_points
from genxd.reconstruction.init import camera_focus, initial_points, random_points_in_frusta, scene_scale
from genxd.reconstruction.pipeline import flythrough_path, holdout_split
from genxd.reconstruction.views import Views, detect_input_kind, load_views, reconfusion_split

from .helpers import write_views_folder


def _orbit(n: int = 6, radius: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    az = torch.linspace(0, 1.5, n)
    eye = torch.stack([radius * torch.cos(az), torch.full_like(az, -1.0), radius * torch.sin(az)], -1)
    c2w = look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))
    return c2w, intrinsics_from_focal(1.0).expand(n, 3, 3).clone()


def test_transforms_folder_with_depth_and_time(tmp_path) -> None:
    c2w, K = _orbit()
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 16, 20, generator=gen)
    depths = torch.rand(6, 16, 20, generator=gen) + 2
    times = torch.tensor([10.0, 11, 12, 13, 14, 15])
    folder = write_views_folder(tmp_path / "in", images, c2w, K, depths=depths, times=times)
    assert detect_input_kind(folder) == "transforms"
    views = load_views(folder)
    assert (views.images - images).abs().max() <= 0.5 / 255 + 1e-6
    assert torch.allclose(views.c2w, c2w, atol=1e-5) and torch.allclose(views.K, K, atol=1e-6)
    assert torch.allclose(views.times, torch.linspace(0, 1, 6))  # normalised to [0, 1]
    assert torch.allclose(views.depths, depths)
    assert views.names[0] == "frames/frame_0000.png"
    small = views.resized(10)
    assert (small.height, small.width) == (8, 10) and torch.equal(small.K, views.K)
    assert small.depths.shape == (6, 8, 10)
    sub = views.subset([4, 1])
    assert sub.names == [views.names[4], views.names[1]] and torch.equal(sub.times, views.times[[4, 1]])


def test_colmap_input_and_point_initialisation(tmp_path) -> None:
    pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host
    from genxd.cameras import write_colmap_model

    c2w, K = _orbit(4)
    images = torch.rand(4, 3, 12, 16)
    names = [f"img_{i}.png" for i in range(4)]
    (tmp_path / "images").mkdir()
    import imageio.v3 as iio

    for name, img in zip(names, images):
        iio.imwrite(tmp_path / "images" / name, (img.permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    points = torch.rand(50, 3) - 0.5
    write_colmap_model(tmp_path / "sparse" / "0", c2w, K, 12, 16, names, points, (torch.rand(50, 3) * 255).byte())
    assert detect_input_kind(tmp_path) == "colmap"
    views = load_views(tmp_path)
    assert len(views) == 4 and views.points_xyz.shape == (50, 3)
    assert torch.allclose(views.c2w, c2w, atol=1e-4)
    init = initial_points(views, "auto")
    assert init.method == "colmap" and torch.allclose(init.points, points, atol=1e-5)
    with pytest.raises(ValueError, match="depth"):
        initial_points(views, "depth")


def test_reconfusion_input_and_split(tmp_path) -> None:
    from genxd.data.reconfusion import write_reconfusion_scene

    c2w, K = _orbit(8)
    images = torch.rand(8, 3, 12, 12)
    splits = {3: ([0, 3, 6], [1, 2, 4, 5, 7])}
    write_reconfusion_scene(tmp_path, "scene_a", images, c2w, K, splits)
    assert detect_input_kind(tmp_path) == "reconfusion"
    views = load_views(tmp_path, scene_key="scene_a")
    assert len(views) == 8 and torch.allclose(views.c2w, c2w, atol=1e-5)
    key, train, test = reconfusion_split(tmp_path, None, 3)
    assert key == "scene_a" and train == [0, 3, 6] and test == [1, 2, 4, 5, 7]
    with pytest.raises(ValueError, match=r"n_views=6: scene 'scene_a' has no train_test_split_6 \(has: 3\)"):
        reconfusion_split(tmp_path, "scene_a", 6)


def test_unsupported_inputs(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        detect_input_kind(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a supported input"):
        detect_input_kind(tmp_path)
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": [{"file_path": "a.png", "transform_matrix": np.eye(4).tolist()}], "w": 4, "h": 4, "fl_x": 4}))
    with pytest.raises(FileNotFoundError, match="a.png"):
        load_views(tmp_path)


def test_holdout_split() -> None:
    assert holdout_split(24, 6) == ([i for i in range(24) if i % 6], [0, 6, 12, 18])
    assert holdout_split(5, 0) == ([0, 1, 2, 3, 4], [])
    with pytest.raises(ValueError):
        holdout_split(5, 1)


def test_random_points_lie_in_several_frusta() -> None:
    c2w, K = _orbit(6)
    focus, dist = camera_focus(c2w)
    assert focus is not None and focus.abs().max() < 1e-4 and abs(dist - 3.1623) < 1e-3
    assert scene_scale(c2w) > 0
    views = Views(torch.rand(6, 3, 8, 8), c2w, K, [str(i) for i in range(6)])
    pts, cols, src = random_points_in_frusta(views, 500, torch.Generator().manual_seed(0))
    assert pts.shape == (500, 3) and cols.shape == (500, 3) and src.shape == (500,)
    uv, z = project_points(pts[None].expand(6, -1, -1), c2w, K)
    seen = (((uv >= 0) & (uv <= 1)).all(-1) & (z > 0)).sum(0)
    assert bool((seen >= 2).all())


def test_flythrough_passes_through_the_cameras() -> None:
    c2w, K = _orbit(4)
    times = torch.tensor([0.0, 0.2, 0.6, 1.0])
    path_c2w, path_K, path_t = flythrough_path(c2w, K, 31, times)
    assert path_c2w.shape == (31, 4, 4) and path_K.shape == (31, 3, 3) and path_t.shape == (31,)
    assert torch.allclose(path_c2w[0], c2w[0], atol=1e-5) and torch.allclose(path_c2w[-1], c2w[-1], atol=1e-5)
    assert float(path_t[0]) == 0.0 and float(path_t[-1]) == 1.0 and bool((path_t.diff() >= 0).all())


@pytest.mark.parametrize("reader", ["image", "depth"])
def test_images_over_the_decompression_limit_are_refused_as_generate_refuses_them(tmp_path, monkeypatch, reader):
    """Between PIL's warning and error limits (89 - 179 Mpx by default) PIL only warns: the frame (or an
    image depth map) was decoded in full with a raw PIL warning, where ``genxd generate`` refuses the same
    file. Limit lowered so that a 40x40 image (1,600 pixels) lies in that band."""
    from PIL import Image

    from genxd.reconstruction.depth_maps import load_depth_map
    from genxd.reconstruction.views import load_image

    path = tmp_path / "big.png"
    Image.new("L" if reader == "depth" else "RGB", (40, 40)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # warning above 1,000 pixels, error above 2,000
    with pytest.raises(ValueError, match=r"big\.png: image too large: over PIL's decompression-bomb limit of 1,000"):
        load_image(path) if reader == "image" else load_depth_map(path, 1.0, (40, 40))


@pytest.mark.parametrize("moves", [False, True])
def test_views_taken_from_one_point_are_warned_about(tmp_path, moves) -> None:
    """Views whose cameras share one centre (a path from a video of a pan, or a still camera, generated and then
    reconstructed: the creator audit's flow) gave a scene.ply right only from that point, without a word; the
    cameras of an orbit move and are not warned about."""
    from genxd.reconstruction.trainer import ReconstructionConfig
    from genxd.reconstruction.pipeline import reconstruct_scene
    from genxd.validation import GenXDWarning

    c2w, K = _orbit(4)
    if not moves:  # the orbit's turns about one centre (a pure pan)
        c2w[:, :3, 3] = c2w[0, :3, 3]
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    folder = write_views_folder(tmp_path / "views", images, c2w, K)
    config = ReconstructionConfig(iterations=1, init_points=50, strategy="none")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reconstruct_scene(folder, tmp_path / "out", config, video_frames=0, progress=False)
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning) and "one point" in str(w.message)]
    if moves:
        assert said == []
    else:
        assert said == ["the 4 training views were all taken from one point (the camera only turns or stands still): "
                        "nothing in them gives the depth of the scene, so the Gaussians look right only from there "
                        "(views along a camera path that travels give it: the orbit or forward presets, a video whose "
                        "camera moves)"]


#: a point off the image centre (x/z = 0.4, y/z = -0.25) in front of each camera, where a lens's distortion moves
#: it by pixels
_IN_CAMERA = torch.tensor([0.4, -0.25, 1.0], dtype=torch.float64) * 2.5


def _blob_images(camera, h: int, w: int, n: int) -> torch.Tensor:
    """``n`` images ``[n, 3, h, w]`` of a bright dot where the COLMAP ``camera`` (with its lens) sees
    ``_IN_CAMERA``."""
    u, v = camera.img_from_cam(_IN_CAMERA.numpy()[None])[0]
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    blob = np.exp(-((jj - u) ** 2 + (ii - v) ** 2) / (2 * 1.5**2))
    return torch.from_numpy(blob).float().expand(n, 3, h, w).clone()


def _check_blobs_where_projected(views: Views, c2w: torch.Tensor) -> None:
    """The dot of each (undistorted) view is where its pinhole camera projects ``_IN_CAMERA`` (within 0.3 px)."""
    rows, cols = torch.meshgrid(torch.arange(views.height) + 0.5, torch.arange(views.width) + 0.5, indexing="ij")
    for i in range(len(views)):
        point = c2w[i, :3, :3].double() @ _IN_CAMERA + c2w[i, :3, 3].double()
        uv = project_points(point[None].float(), views.c2w[i], views.K[i])[0][0]  # normalised coordinates
        expected = torch.stack([uv[0] * views.width, uv[1] * views.height]).double()
        weight = views.images[i, 0].double()
        weight = weight * (weight > 0.2)
        centroid = torch.stack([(weight * cols).sum(), (weight * rows).sum()]) / weight.sum()
        assert (centroid - expected).norm() < 0.3, (i, centroid, expected)


def test_colmap_input_with_lens_distortion_is_undistorted(tmp_path) -> None:
    """A COLMAP model with SIMPLE_RADIAL cameras (what ``genxd curate`` writes) is read, its images undistorted:
    a 3D point drawn where the distorted camera sees it lands where the returned pinhole camera projects it (the
    distortion moves it by about 1 pixel; before, such a model was refused)."""
    pycolmap = pytest.importorskip("pycolmap")
    import imageio.v3 as iio

    from genxd.cameras import write_colmap_model

    c2w, K = _orbit(3)
    h, w = 60, 80
    names = [f"img_{i}.png" for i in range(3)]
    model_dir = tmp_path / "sparse" / "0"
    write_colmap_model(model_dir, c2w, K, h, w, names)
    recon = pycolmap.Reconstruction(str(model_dir))
    for camera in recon.cameras.values():  # the same poses, seen through a lens with barrel distortion
        camera.model, camera.params = pycolmap.CameraModelId.SIMPLE_RADIAL, [70.0, w / 2, h / 2, 0.15]
    recon.write(str(model_dir))
    images = _blob_images(next(iter(recon.cameras.values())), h, w, 3)
    (tmp_path / "images").mkdir()
    for name, image in zip(names, images):
        iio.imwrite(tmp_path / "images" / name, (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    views = load_views(tmp_path)
    assert len(views) == 3
    assert views.height < h and views.width < w  # cropped to what the distorted camera sees, as COLMAP does
    _check_blobs_where_projected(views, c2w)


@pytest.mark.parametrize("lens", ["OPENCV", "OPENCV_FISHEYE", "is_fisheye"])
def test_transforms_input_with_lens_distortion_is_undistorted(tmp_path, lens: str) -> None:
    """A nerfstudio transforms.json of a lens with distortion (``ns-process-data`` keeps the images as shot and
    writes ``k1 k2 p1 p2``, or ``OPENCV_FISHEYE`` and ``k1 .. k4``; instant-ngp's colmap2nerf.py marks a fisheye
    with ``is_fisheye``): the images are undistorted, depth maps too.
    Before, the coefficients and the fisheye model were ignored (the dot 0.6 and 1.8 px from where the camera
    put it)."""
    pycolmap = pytest.importorskip("pycolmap")

    c2w, _ = _orbit(3)
    h, w, f = 60, 80, 70.0
    coefficients = {"OPENCV": {"k1": 0.12, "k2": -0.02, "p1": 0.004, "p2": -0.003},
                    "OPENCV_FISHEYE": {"k1": 0.05, "k2": 0.01, "k3": 0.0, "k4": 0.0},
                    "is_fisheye": {"k1": 0.05, "k2": 0.01, "k3": 0.0, "k4": 0.0}}[lens]
    params = [f, f, w / 2, h / 2, *coefficients.values()]
    camera = pycolmap.Camera(model="OPENCV" if lens == "OPENCV" else "OPENCV_FISHEYE", width=w, height=h,
                             params=params)
    K = torch.tensor([[f / w, 0, 0.5], [0, f / h, 0.5], [0, 0, 1]]).expand(3, 3, 3)
    depths = torch.full((3, h, w), 2.5)
    folder = write_views_folder(tmp_path / "in", _blob_images(camera, h, w, 3), c2w, K, depths=depths)
    meta = json.loads((folder / "transforms.json").read_text())
    meta.update({"k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0, **coefficients})
    if lens == "is_fisheye":  # instant-ngp's colmap2nerf.py: no camera_model, a flag
        meta.pop("camera_model", None)
        meta["is_fisheye"] = True
    else:
        meta["camera_model"] = lens
    (folder / "transforms.json").write_text(json.dumps(meta))
    views = load_views(folder)
    assert views.depths.shape == (3, views.height, views.width) and bool((views.depths == 2.5).all())
    _check_blobs_where_projected(views, c2w)


def test_transforms_input_of_a_panorama_is_refused(tmp_path) -> None:
    c2w, K = _orbit(2)
    folder = write_views_folder(tmp_path / "in", torch.rand(2, 3, 8, 16), c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    meta["camera_model"] = "EQUIRECTANGULAR"
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="camera_model 'EQUIRECTANGULAR'"):
        load_views(folder)


@pytest.mark.parametrize("model, params", [("SIMPLE_RADIAL", [70.0, 41.0, 29.0, 0.1]),
                                           ("OPENCV_FISHEYE", [70.0, 72.0, 40.0, 30.0, 0.05, 0.01, 0.0, 0.0])])
def test_undistortion_matches_colmaps_own(model: str, params: list[float]) -> None:
    """``undistort_images`` gives COLMAP's undistorted camera and, on an 8-bit image, COLMAP's own pixels
    (``pycolmap.undistort_image``) within rounding."""
    pycolmap = pytest.importorskip("pycolmap")
    from genxd.reconstruction.undistort import undistort_images

    gen = np.random.default_rng(0)
    image = (gen.random((60, 80, 3)) * 255).round().astype(np.uint8)
    camera = pycolmap.Camera(model=model, width=80, height=60, params=params)
    expected, pinhole = pycolmap.undistort_image(pycolmap.UndistortCameraOptions(), pycolmap.Bitmap.from_array(image),
                                                 camera)
    ours, K, _ = undistort_images([torch.from_numpy(image).permute(2, 0, 1).float() / 255], [model], [params])
    assert ours[0].shape == (3, pinhole.height, pinhole.width)
    scale = torch.tensor([[pinhole.width], [pinhole.height], [1.0]], dtype=torch.float64)
    assert torch.allclose(K[0] * scale, torch.from_numpy(np.asarray(pinhole.calibration_matrix())), atol=1e-9)
    difference = np.abs(ours[0].permute(1, 2, 0).numpy() * 255 - expected.to_array()[..., :3])
    assert difference.max() <= 0.5 + 1e-3


def test_transforms_input_with_nerfstudios_sparse_points_initialises_from_them(tmp_path) -> None:
    """``ns-process-data`` records the SfM points it made as ``"ply_file_path": "sparse_pc.ply"`` (x y z, red green
    blue as uchar, in the cameras' frame); they start the Gaussians as a COLMAP model's points do. Before, they were
    not read and the Gaussians started from random points."""
    from plyfile import PlyData, PlyElement

    c2w, K = _orbit(4)
    folder = write_views_folder(tmp_path / "in", torch.rand(4, 3, 12, 16), c2w, K)
    gen = np.random.default_rng(0)
    xyz = gen.random((40, 3)).astype(np.float32) - 0.5
    rgb = gen.integers(0, 256, (40, 3)).astype(np.uint8)
    vertex = np.empty(40, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    for i, k in enumerate("xyz"):
        vertex[k] = xyz[:, i]
    for i, k in enumerate(("red", "green", "blue")):
        vertex[k] = rgb[:, i]
    PlyData([PlyElement.describe(vertex, "vertex")]).write(str(folder / "sparse_pc.ply"))
    meta = json.loads((folder / "transforms.json").read_text())
    meta["ply_file_path"] = "sparse_pc.ply"
    (folder / "transforms.json").write_text(json.dumps(meta))
    views = load_views(folder)
    init = initial_points(views, "auto")
    assert init.method == "colmap"
    assert torch.allclose(init.points, torch.from_numpy(xyz))
    assert torch.allclose(init.colors * 255, torch.from_numpy(rgb).float())
    (folder / "sparse_pc.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\n")  # damaged
    with pytest.raises(ValueError, match="sparse_pc.ply: not a readable point cloud"):
        load_views(folder)
    meta["ply_file_path"] = "../outside.ply"  # read from inside the folder only, as every file it lists
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="outside.ply"):
        load_views(folder)


def test_transforms_json_is_parsed_once_within_the_json_size_limit(tmp_path, monkeypatch) -> None:
    """load_views parsed transforms.json a second time with ``json.load``: a file saved with a UTF-8 byte-order mark
    (Windows Notepad), which the camera reader accepts, failed there with json's own error, and that read had no size
    limit. Now one ``read_json`` gives both."""
    from genxd.utils import json_files  # where read_json reads the limit

    c2w, K = _orbit()
    images = torch.rand(6, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    folder = write_views_folder(tmp_path / "in", images, c2w, K)
    text = (folder / "transforms.json").read_text()
    (folder / "transforms.json").write_text(text, encoding="utf-8-sig")
    views = load_views(folder)
    assert torch.allclose(views.c2w, c2w, atol=1e-5) and views.names[0] == "frames/frame_0000.png"
    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", (folder / "transforms.json").stat().st_size - 1)
    with pytest.raises(ValueError, match=r"transforms\.json: a JSON file of .* MiB; at most 0 MiB are read"):
        load_views(folder)


def test_a_disk_error_reading_the_sparse_points_is_not_called_a_damaged_file(tmp_path, monkeypatch) -> None:
    """The ``ply_file_path`` reader had its own except clause: a disk or permission error read as 'not a readable
    point cloud .ply'; it now shares load_ply's rule (reconstruction.ply._unreadable): only a damaged file is."""
    import errno

    import plyfile

    c2w, K = _orbit(4)
    folder = write_views_folder(tmp_path / "in", torch.rand(4, 3, 12, 16), c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    meta["ply_file_path"] = "sparse_pc.ply"
    (folder / "transforms.json").write_text(json.dumps(meta))
    (folder / "sparse_pc.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\n")

    def disk_error(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(plyfile.PlyData, "read", staticmethod(disk_error))
    with pytest.raises(OSError, match="Input/output error"):
        load_views(folder)


def test_a_reconfusion_input_is_read_once_before_training(tmp_path, monkeypatch) -> None:
    """reconstruct_scene on a ReconFusion folder read its index.json four times and its scene's torch file twice
    (load_views, then reconfusion_split, each through load_reconfusion); now once each (load_reconfusion_views)."""
    from genxd.data import reconfusion
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.reconstruction.pipeline import reconstruct_scene

    c2w, K = _orbit(6)
    write_reconfusion_scene(tmp_path / "rf", "scene_a", torch.rand(6, 3, 12, 12), c2w, K, {2: ([0, 3], [1, 2, 4, 5])})
    reads = {"index": 0, "torch": 0}

    def counted(name, original):
        def wrapper(*args, **kwargs):
            reads[name] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(reconfusion, "read_json", counted("index", reconfusion.read_json))
    monkeypatch.setattr(reconfusion, "_torch_load_safe", counted("torch", reconfusion._torch_load_safe))

    class Trained(Exception):
        pass

    def trained(train_views, *args, **kwargs):
        assert len(train_views) == 2
        raise Trained

    monkeypatch.setattr("genxd.reconstruction.pipeline.train_gaussians", trained)
    with pytest.raises(Trained):
        reconstruct_scene(tmp_path / "rf", tmp_path / "out", n_views=2, video_frames=0, progress=False)
    assert reads == {"index": 1, "torch": 1}
