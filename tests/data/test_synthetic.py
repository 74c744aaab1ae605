"""Synthetic scenes: exact geometry, determinism, motion, cameras."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genxd.cameras import check_rigid, project_points, rays, unproject_depth
from genxd.data.synthetic import (
    BOX,
    SKY_RADIUS,
    SPHERE,
    SURFACE_GROUND,
    SURFACE_OBJECT,
    SURFACE_SKY,
    CAMERA_PATHS,
    camera_path,
    forward_cameras,
    make_scene,
    orbit_cameras,
    render,
)

H = W = 64


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


def _single_object_scene(kind: int, dynamic: bool = False, motion_strength: float = 0.0):
    """First seed whose one-object scene is of primitive ``kind``."""
    for seed in range(100):
        scene = make_scene(seed, dynamic=dynamic, motion_strength=motion_strength, num_objects=1)
        if int(scene.kinds[0]) == kind:
            return scene
    raise AssertionError("no seed gives the requested primitive")


@pytest.fixture(scope="module")
def sphere_scene():
    return _single_object_scene(SPHERE)


@pytest.fixture(scope="module")
def two_views():
    scene = make_scene(3)
    c2w, K = orbit_cameras(2, radius=4.0, elevation_deg=30.0, azimuth_range_deg=(10.0, 40.0), focal=1.1)
    return scene, c2w, K, render(scene, c2w, K, H, W)


def test_output_shapes_and_ranges(two_views):
    scene, _, _, out = two_views
    m = scene.num_objects
    assert out.rgb.shape == (2, 3, H, W) and out.rgb.dtype == torch.float32
    assert out.depth.shape == (2, H, W) and out.object_id.shape == (2, H, W)
    assert out.object_id.dtype == torch.int64 and out.object_positions.shape == (2, m, 3)
    assert out.rgb.min() >= 0 and out.rgb.max() <= 1
    assert torch.isfinite(out.depth).all() and (out.depth > 0).all()
    ids = set(out.object_id.unique().tolist())
    assert 0 in ids and ids - {0}, "both background and objects are visible"
    assert ids <= set(range(m + 1))
    assert ((out.object_id > 0) == (out.surface == SURFACE_OBJECT)).all()
    # Textures give real contrast (features for SIFT / optical flow).
    assert out.rgb.std() > 0.05


def test_surface_point_projects_onto_matching_pixel(sphere_scene):
    c2w, K = orbit_cameras(3, radius=3.5, elevation_deg=25.0, azimuth_range_deg=(0.0, 120.0), focal=1.2)
    out = render(sphere_scene, c2w, K, H, W)
    centre = sphere_scene.start_positions[0]
    radius = float(sphere_scene.sizes[0, 0])
    for i in range(3):
        eye = c2w[i, :3, 3]
        # The sphere point facing camera i (surface perpendicular to the ray: depth varies slowly).
        point = centre + radius * (eye - centre) / (eye - centre).norm()
        uv, z = project_points(point[None], c2w[i], K[i])
        col, row = int(uv[0, 0] * W), int(uv[0, 1] * H)
        assert out.object_id[i, row, col] == 1
        assert out.depth[i, row, col] == pytest.approx(float(z[0]), abs=0.02)
        # Exact value: intersect that pixel's centre ray with the sphere independently.
        origins, dirs = rays(c2w[i], K[i], H, W)
        o, d = origins[row, col].double(), dirs[row, col].double()
        oc = o - centre.double()
        b = (oc * d).sum()
        t_hit = -b - torch.sqrt(b * b - (oc * oc).sum() + radius**2)
        z_exact = t_hit * (d * c2w[i, :3, 2].double()).sum()
        assert out.depth[i, row, col] == pytest.approx(float(z_exact), abs=2e-4)


def test_depth_unprojects_onto_exact_surfaces(sphere_scene):
    c2w, K = orbit_cameras(2, radius=3.5, elevation_deg=15.0, azimuth_range_deg=90.0, focal=0.8)
    out = render(sphere_scene, c2w, K, H, W)
    points = unproject_depth(out.depth, c2w, K)  # N H W 3
    on_sphere = out.object_id == 1
    dist = (points[on_sphere] - sphere_scene.start_positions[0]).norm(dim=-1)
    assert on_sphere.sum() > 50
    assert torch.allclose(dist, sphere_scene.sizes[0, 0].expand_as(dist), atol=2e-4)
    ground = out.surface == SURFACE_GROUND
    assert ground.sum() > 500 and points[ground][:, 1].abs().max() < 1e-3 * 40
    sky = out.surface == SURFACE_SKY
    assert sky.sum() > 0
    assert torch.allclose(points[sky].norm(dim=-1), torch.full((int(sky.sum()),), SKY_RADIUS), rtol=1e-4)


def test_depth_agrees_between_views(two_views):
    _, c2w, K, out = two_views
    # Object points only: the ground's depth is invariant to a wrong orbit azimuth.
    near = out.object_id[0] > 0
    points = unproject_depth(out.depth[0], c2w[0], K[0])[near]  # P 3
    ids0 = out.object_id[0][near]
    uv, z = project_points(points, c2w[1], K[1])
    inside = (uv > 0.5 / W).all(-1) & (uv < 1 - 0.5 / W).all(-1) & (z > 0)
    uv, z, ids0 = uv[inside], z[inside], ids0[inside]
    # Visible in view 1: the four pixel centres around the projection show the same surface.
    x0 = (uv[:, 0] * W - 0.5).floor().long()
    y0 = (uv[:, 1] * H - 0.5).floor().long()
    ids1 = out.object_id[1]
    visible = (ids1[y0, x0] == ids0) & (ids1[y0 + 1, x0] == ids0) & (ids1[y0, x0 + 1] == ids0)
    visible &= (ids1[y0 + 1, x0 + 1] == ids0) & (out.surface[1][y0, x0] != SURFACE_SKY)
    assert visible.sum() > 200 and visible.float().mean() > 0.6
    # Inverse z-depth is affine in image coordinates on planes, so bilinear sampling between pixel
    # centres is exact on the ground and box faces (and close on curved surfaces).
    grid = (uv[visible] * 2 - 1).view(1, 1, -1, 2)
    inv_depth1 = F.grid_sample((1 / out.depth[1])[None, None], grid, align_corners=False).flatten()
    rel_err = (inv_depth1 * z[visible] - 1).abs()
    assert (rel_err < 0.01).float().mean() > 0.98
    assert rel_err.median() < 1e-4


def test_same_seed_bit_identical_different_seed_differs():
    c2w, K = orbit_cameras(2, azimuth_range_deg=60.0)
    times = torch.tensor([0.0, 0.7])
    a = render(make_scene(5, dynamic=True, motion_strength=0.4), c2w, K, 48, 48, times=times)
    b = render(make_scene(5, dynamic=True, motion_strength=0.4), c2w, K, 48, 48, times=times)
    c = render(make_scene(6, dynamic=True, motion_strength=0.4), c2w, K, 48, 48, times=times)
    assert torch.equal(a.rgb, b.rgb) and torch.equal(a.depth, b.depth) and torch.equal(a.object_id, b.object_id)
    assert (a.rgb - c.rgb).abs().mean() > 0.01


def test_chunking_does_not_change_the_result():
    scene = make_scene(2)
    c2w, K = orbit_cameras(3, azimuth_range_deg=90.0)
    a = render(scene, c2w, K, 32, 32)
    b = render(scene, c2w, K, 32, 32, chunk_rays=700)  # default: 3 frames at once
    assert torch.allclose(a.rgb, b.rgb, atol=1e-6) and torch.equal(a.object_id, b.object_id)


def test_supersampling_keeps_pixel_centre_geometry():
    scene = make_scene(4)
    c2w, K = orbit_cameras(1, elevation_deg=20.0)
    a = render(scene, c2w, K, 32, 32)
    b = render(scene, c2w, K, 32, 32, supersample=3)
    same = a.object_id == b.object_id
    assert same.float().mean() > 0.99
    assert torch.allclose(a.depth[same], b.depth[same], rtol=1e-4)
    assert not torch.equal(a.rgb, b.rgb) and (a.rgb - b.rgb).abs().mean() < 0.05


def test_zero_motion_is_still():
    scene = make_scene(8, dynamic=True, motion_strength=0.0)
    times = torch.linspace(0, 1, 3)
    pos = scene.object_positions(times)
    assert torch.equal(pos[0], pos[1]) and torch.equal(pos[0], pos[2])
    c2w, K = orbit_cameras(1)
    out = render(scene, c2w.expand(3, 4, 4), K.expand(3, 3, 3), 32, 32, times=times)
    assert torch.equal(out.rgb[0], out.rgb[1]) and torch.equal(out.rgb[0], out.rgb[2])


@pytest.mark.parametrize("strength", [0.3, 0.8])
def test_motion_strength_is_net_displacement_in_world_units(strength):
    scene = make_scene(11, dynamic=True, motion_strength=strength, num_objects=4)
    pos = scene.object_positions(torch.tensor([0.0, 0.5, 1.0]))
    displacement = (pos[2] - pos[0]).norm(dim=-1)
    assert torch.allclose(displacement, torch.full_like(displacement, strength), atol=1e-5)
    assert (pos[1] - pos[0]).norm(dim=-1).min() > 0.1 * strength  # moves along the way too
    assert torch.allclose(pos[..., 1], pos[0:1, :, 1].expand(3, -1))  # stays on the ground


def test_rendered_object_moves_by_documented_amount():
    strength = 0.6
    scene = _single_object_scene(SPHERE, dynamic=True, motion_strength=strength)
    c2w, K = orbit_cameras(1, radius=4.0, elevation_deg=60.0, focal=0.9)
    times = torch.tensor([0.0, 1.0])
    out = render(scene, c2w.expand(2, 4, 4), K.expand(2, 3, 3), 96, 96, times=times)
    assert (out.object_positions[1] - out.object_positions[0]).norm() == pytest.approx(strength, abs=1e-5)
    uv, _ = project_points(out.object_positions[:, 0], c2w[0], K[0])  # 2 2
    centroids = []
    for i in range(2):
        rows, cols = torch.nonzero(out.object_id[i] == 1, as_tuple=True)
        assert rows.numel() > 30
        centroid = torch.stack([cols.float().mean() + 0.5, rows.float().mean() + 0.5])
        assert torch.allclose(centroid, uv[i] * 96, atol=1.5)  # the silhouette follows the centre
        centroids.append(centroid)
    moved_px = (centroids[1] - centroids[0]).norm()
    assert moved_px == pytest.approx(float(((uv[1] - uv[0]) * 96).norm()), abs=2.0)
    assert moved_px > 5.0


def test_rotation_spin_moves_texture_of_a_box():
    scene = _single_object_scene(BOX, dynamic=True, motion_strength=0.5)
    _, rot = scene.object_poses(torch.tensor([0.0, 1.0]))
    angle = torch.atan2(rot[1, 0, 0, 2], rot[1, 0, 0, 0]) - torch.atan2(rot[0, 0, 0, 2], rot[0, 0, 0, 0])
    assert math.remainder(float(angle) - float(scene.spins[0]), 2 * math.pi) == pytest.approx(0.0, abs=1e-5)


def test_orbit_cameras_look_at_target():
    target = (0.2, 0.1, -0.3)
    c2w, K = orbit_cameras(8, radius=3.0, elevation_deg=20.0, azimuth_range_deg=360.0, focal=1.0, target=target)
    check_rigid(c2w)
    t = torch.tensor(target)
    assert torch.allclose((c2w[:, :3, 3] - t).norm(dim=-1), torch.full((8,), 3.0), atol=1e-5)
    heights = c2w[:, 1, 3] - t[1]
    assert torch.allclose(heights, torch.full((8,), 3.0 * math.sin(math.radians(20.0))), atol=1e-5)
    uv, z = project_points(t.expand(8, 1, 3), c2w, K)
    assert torch.allclose(uv, torch.full_like(uv, 0.5), atol=1e-5) and (z > 0).all()
    # Full circle: no duplicated end view.
    assert (c2w[0, :3, 3] - c2w[-1, :3, 3]).norm() > 0.5
    assert K.shape == (8, 3, 3) and K[0, 0, 0] == 1.0


@pytest.mark.parametrize("path", CAMERA_PATHS)
def test_camera_paths_see_the_objects(path):
    for seed in range(2):
        scene = make_scene(seed)
        c2w, K = camera_path(path, 3, seed=seed)
        check_rigid(c2w)
        out = render(scene, c2w, K, 32, 32, shadows=False)
        visible = (out.object_id > 0).flatten(1).float().mean(-1)
        assert (visible > 0.01).all(), f"{path} seed {seed}: objects cover {visible.tolist()}"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="dynamic=True"):
        make_scene(0, dynamic=False, motion_strength=0.5)
    with pytest.raises(ValueError, match="motion_strength"):
        make_scene(0, dynamic=True, motion_strength=-1.0)
    with pytest.raises(ValueError, match="num_objects"):
        make_scene(0, num_objects=0)
    scene = make_scene(0)
    c2w, K = orbit_cameras(2)
    with pytest.raises(ValueError, match="times"):
        render(scene, c2w, K, 8, 8, times=torch.tensor([0.0, 2.0]))
    with pytest.raises(ValueError, match="K must be"):
        render(scene, c2w, K[:, :2], 8, 8)
    with pytest.raises(ValueError, match="supersample"):
        render(scene, c2w, K, 8, 8, supersample=2)
    bad = c2w.clone()
    bad[0, :3, :3] *= 2
    with pytest.raises(ValueError, match="rigid"):
        render(scene, bad, K, 8, 8)


@pytest.mark.parametrize("make, error, message", [
    (lambda: make_scene(seed="1"), TypeError, "seed must be an integer, got '1' (str)"),
    (lambda: make_scene(seed=None), TypeError, "seed must be an integer, got None"),
    (lambda: make_scene(0, num_objects=1.5), ValueError, "num_objects must be an integer, got 1.5"),
    (lambda: make_scene(0, dynamic="yes"), TypeError, "dynamic must be True or False"),
    (lambda: orbit_cameras("4"), TypeError, "num_views must be an integer, got '4' (str)"),
    (lambda: orbit_cameras(2, target=(0, 0)), ValueError, "target must be three finite numbers"),
    (lambda: orbit_cameras(2, target=(0, 0, float("nan"))), ValueError, "target must be three finite numbers"),
    (lambda: orbit_cameras(2, azimuth_range_deg=(1, 2, 3)), ValueError, "azimuth_range_deg must be two numbers"),
    (lambda: orbit_cameras(2, azimuth_range_deg="a"), ValueError, "azimuth_range_deg must be two numbers"),
    (lambda: orbit_cameras(2, radius=float("nan")), ValueError, "radius must be a finite number > 0"),
    (lambda: orbit_cameras(2, elevation_deg=float("nan")), ValueError, "elevation_deg must be a finite number"),
    (lambda: forward_cameras("4"), TypeError, "num_views must be an integer, got '4' (str)"),
])
def test_scene_and_camera_arguments_are_named(make, error, message):
    """Found by fuzzing the Python API: seed='1' and num_views='4' were "'<' not supported between instances of
    'str' and 'int'", target=(0, 0) numpy's broadcast error, azimuth_range_deg=(1, 2, 3) "too many values to
    unpack", and num_objects=1.5, dynamic='yes', a NaN radius, elevation or target were taken as they were."""
    with pytest.raises(error, match="^" + re.escape(message)):
        make()


def test_scene_and_camera_arguments_still_take_numpy_and_big_seeds():
    """The checks keep what worked: numpy integers, seeds past 2**63 (numpy's generator takes them), a span."""
    assert make_scene(np.int64(3), num_objects=np.int64(2)).kinds.shape == (2,)
    make_scene(10**30)
    c2w, K = orbit_cameras(np.int64(3), azimuth_range_deg=90, target=np.zeros(3))
    assert c2w.shape == (3, 4, 4) and K.shape == (3, 3, 3) and torch.isfinite(c2w).all()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    scene = make_scene(1, dynamic=True, motion_strength=0.5)
    c2w, K = orbit_cameras(4, azimuth_range_deg=90.0)
    times = torch.linspace(0, 1, 4)
    cpu = render(scene, c2w, K, 64, 64, times=times)
    gpu = render(scene, c2w, K, 64, 64, times=times, device="cuda")
    assert gpu.rgb.is_cuda
    same = (cpu.object_id == gpu.object_id.cpu()).float().mean()
    assert same > 0.999
    assert (cpu.rgb - gpu.rgb.cpu()).abs().mean() < 1e-3
    assert torch.allclose(cpu.depth, gpu.depth.cpu(), rtol=1e-3)


def test_make_clip_checks_its_arguments_in_one_line():
    """num_frames=2.5 was a TypeError of torch.linspace and seed=-1 numpy's words (found by the Python API audit);
    kind="4D" is taken as genxd.generate takes "3D", and seeds past 2**63 (datasets derive them) still work."""
    import pytest

    from genxd.data.synthetic import make_clip

    for kwargs, message in ((dict(seed=-1), r"^seed must be an integer >= 0, got -1$"),
                            (dict(seed="a"), r"^seed must be an integer, got 'a' \(str\)$"),
                            (dict(seed=0, num_frames=2.5), r"^num_frames must be an integer, got 2\.5$"),
                            (dict(seed=0, height=0), r"^height must be an integer in 1\.\.65536, got 0$")):
        with pytest.raises(ValueError, match=message):
            make_clip(**kwargs)
    clip = make_clip(2**70, "4D", num_frames=2, height=8, width=8)
    assert clip.render.rgb.shape[0] == 2 and clip.kind == "4d"


@pytest.mark.parametrize("height, width", [(8, 16), (16, 8), (12, 12)])
def test_clips_of_any_shape_have_square_pixels(height, width):
    """``focal`` is fx / W and fy = fx in pixels, as a real camera's (fy / H = fx / W made pixels W / H tall)."""
    from genxd.data.synthetic import make_clip

    clip = make_clip(3, "3d", num_frames=2, height=height, width=width, focal=1.2)
    assert torch.allclose(clip.K[:, 0, 0] * width, clip.K[:, 1, 1] * height)
    assert torch.allclose(clip.K[:, 0, 0], torch.tensor(1.2))


@pytest.mark.parametrize("device, message", [("nope", "device must be one of"), (3, "device must be one of")])
def test_render_names_a_bad_device(device, message):
    """render(device="nope") was torch's RuntimeError listing its device types ('Expected one of cpu, cuda, ipu ...')."""
    c2w, K = orbit_cameras(1, focal=1.0)
    with pytest.raises(ValueError, match="^" + message):
        render(make_scene(0), c2w, K, 8, 8, device=device)


def test_render_refuses_what_is_not_a_scene_and_singular_intrinsics():
    """render(None, ...) was an AttributeError ('NoneType' object has no attribute 'sky_radius'); K of zeros was
    torch's LinAlgError ('linalg.inv: (Batch element 0): The diagonal element 1 is zero ...')."""
    c2w, K = orbit_cameras(2, focal=1.0)
    with pytest.raises(TypeError, match=r"^scene must be a Scene .*got NoneType"):
        render(None, c2w, K, 8, 8)
    with pytest.raises(ValueError, match=r"^K: singular intrinsics"):
        render(make_scene(0), c2w, K * 0, 8, 8)
    with pytest.raises(ValueError, match=r"^K: singular intrinsics"):
        unproject_depth(torch.ones(2, 4, 4), c2w, K * 0)
