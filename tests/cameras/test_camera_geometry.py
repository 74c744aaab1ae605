"""genxd.cameras.geometry: the convention's core maths."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import (
    c2w_to_w2c,
    check_rigid,
    denormalize_intrinsics,
    image_grid,
    intrinsics_from_focal,
    look_at,
    normalize_intrinsics,
    opencv_to_opengl,
    plucker_rays,
    project_points,
    rays,
    relative_poses,
    unproject_depth,
)


def random_poses(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    eyes = torch.randn(n, 3, generator=g, dtype=torch.float64) * 2 + torch.tensor([0.0, 0.0, -4.0], dtype=torch.float64)
    targets = torch.randn(n, 3, generator=g, dtype=torch.float64) * 0.3
    return look_at(eyes, targets)


def test_look_at_looks_at_target_with_image_up_along_world_up():
    eye = torch.tensor([[1.0, 2.0, -3.0], [-2.0, 0.5, 4.0], [3.0, -1.0, 0.2]], dtype=torch.float64)
    target = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    c2w = look_at(eye, target.expand_as(eye))
    check_rigid(c2w)
    assert torch.allclose(c2w[:, :3, 3], eye)
    # The target projects to the principal point, in front of the camera.
    K = intrinsics_from_focal(1.2).double()
    uv, depth = project_points(target.expand(3, 1, 3), c2w, K)
    assert torch.allclose(uv, torch.full_like(uv, 0.5), atol=1e-12)
    assert torch.allclose(depth[:, 0], (target - eye).norm(dim=-1))
    # Image up (-y) leans towards world up (+y), and image right (x) is horizontal.
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    assert ((-c2w[:, :3, 1]) @ up > 0).all()
    assert torch.allclose(c2w[:, :3, 0] @ up, torch.zeros(3, dtype=torch.float64), atol=1e-12)


def test_look_at_canonical_case_and_parallel_up_error():
    # Camera behind the origin on -z looking at it, world up +y: the identity rotation would put image
    # down along world up; the right answer has x = -x_world and y = -y_world.
    c2w = look_at(torch.tensor([0.0, 0.0, -2.0]), torch.zeros(3))
    expected = torch.diag(torch.tensor([-1.0, -1.0, 1.0]))
    assert torch.allclose(c2w[:3, :3], expected)
    with pytest.raises(ValueError, match="parallel"):
        look_at(torch.tensor([0.0, 3.0, 0.0]), torch.zeros(3))


def test_project_unproject_round_trip():
    c2w = random_poses(2, seed=1)
    K = intrinsics_from_focal(torch.tensor([1.1, 0.9]), torch.tensor([1.3, 1.0]), 0.45, 0.55).double()
    H, W = 6, 8
    depth = torch.rand(2, H, W, dtype=torch.float64) * 3 + 0.5
    points = unproject_depth(depth, c2w, K)  # 2 H W 3
    uv, z = project_points(points.reshape(2, -1, 3), c2w, K)
    assert torch.allclose(z, depth.reshape(2, -1), atol=1e-10)
    grid = image_grid(H, W, dtype=torch.float64).reshape(-1, 2)
    assert torch.allclose(uv, grid.expand(2, -1, -1), atol=1e-10)


def test_rays_and_plucker_moment_perpendicular_to_direction():
    c2w = random_poses(3, seed=2)
    K = intrinsics_from_focal(1.0).double()
    o, d = rays(c2w, K, 4, 5)
    assert torch.allclose(d.norm(dim=-1), torch.ones(3, 4, 5, dtype=torch.float64))
    pl = plucker_rays(c2w, K, 4, 5)
    assert pl.shape == (3, 6, 4, 5)
    direction, moment = pl[:, :3], pl[:, 3:]
    assert torch.allclose((direction * moment).sum(1), torch.zeros(3, 4, 5, dtype=torch.float64), atol=1e-12)
    # The moment is the same for any point on the ray (o + s d) x d = o x d.
    assert torch.allclose(moment, torch.cross(o + 2.5 * d, d, dim=-1).movedim(-1, 1), atol=1e-12)
    assert moment.abs().max() > 0.1  # not trivially zero


def test_relative_poses_reference_becomes_identity():
    c2w = random_poses(4, seed=3)
    rel = relative_poses(c2w, c2w[2])
    assert torch.allclose(rel[2], torch.eye(4, dtype=torch.float64), atol=1e-12)
    # Relative poses are invariant to a global rigid transform of the world.
    G = look_at(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    rel2 = relative_poses(G @ c2w, (G @ c2w)[2])
    assert torch.allclose(rel, rel2, atol=1e-10)


def test_inverse_intrinsics_and_opengl_helpers():
    c2w = random_poses(3, seed=4)
    assert torch.allclose(c2w_to_w2c(c2w) @ c2w, torch.eye(4, dtype=torch.float64).expand(3, 4, 4), atol=1e-12)
    assert torch.allclose(opencv_to_opengl(opencv_to_opengl(c2w)), c2w)
    K = intrinsics_from_focal(1.2, 1.1, 0.4, 0.6)
    assert torch.allclose(normalize_intrinsics(denormalize_intrinsics(K, 64, 48), 64, 48), K)
    bad = c2w.clone()
    bad[0, :3, 0] *= -1  # a reflection
    with pytest.raises(ValueError, match="determinant"):
        check_rigid(bad)


@pytest.mark.parametrize("bad, name", [(-1.0, "fx"), (0, "fx"), (float("nan"), "fx"), (float("inf"), "fx")])
def test_intrinsics_from_focal_refuses_a_focal_that_is_no_lens(bad, name):
    """``intrinsics_from_focal(-1.0)`` (and 0, NaN, inf) made a K that mirrors or collapses the image, with no error
    (found by the API audit)."""
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number > 0, got "):
        intrinsics_from_focal(bad)
    with pytest.raises(ValueError, match=r"^fy must be a finite number > 0, got .*fy / H"):
        intrinsics_from_focal(1.0, bad)


def test_intrinsics_from_focal_checks_batches_and_types():
    import numpy as np

    assert intrinsics_from_focal(np.array([1.0, 2.0])).shape == (2, 3, 3)
    with pytest.raises(ValueError, match=r"^fx must be finite numbers > 0 .*got \[-2.0, 0.0\] \(2 of 3\)$"):
        intrinsics_from_focal(torch.tensor([1.0, -2.0, 0.0]))
    with pytest.raises(TypeError, match=r"^fx must be a number, got '1' \(str\)$"):
        intrinsics_from_focal("1")
    with pytest.raises(ValueError, match=r"^cx must be finite, got nan$"):
        intrinsics_from_focal(1.0, cx=float("nan"))


def test_pose_functions_take_numpy_as_look_at_does():
    """``c2w_to_w2c(np.eye(4))`` failed with torch's "zeros_like(): argument 'input' must be Tensor", while look_at
    and the camera writers take numpy: the geometry functions now take arrays and return tensors."""
    import numpy as np

    c2w = look_at(torch.tensor([0.5, -1.0, 3.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    K = intrinsics_from_focal(1.1).double()
    w2c = c2w_to_w2c(c2w.numpy())
    assert torch.is_tensor(w2c) and w2c.dtype == torch.float64
    torch.testing.assert_close(w2c, torch.linalg.inv(c2w))
    torch.testing.assert_close(relative_poses(c2w[None].numpy(), c2w.numpy())[0], torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(opencv_to_opengl(c2w.numpy()), opencv_to_opengl(c2w))
    check_rigid(c2w.numpy())
    points = np.array([[0.1, 0.2, 0.0]])
    torch.testing.assert_close(project_points(points, c2w.numpy(), K.numpy())[0],
                               project_points(torch.from_numpy(points), c2w, K)[0])
    torch.testing.assert_close(rays(c2w.numpy(), K.numpy(), 3, 4)[1], rays(c2w, K, 3, 4)[1])
    torch.testing.assert_close(normalize_intrinsics(denormalize_intrinsics(K, 8, 6).numpy(), 8, 6), K)
    torch.testing.assert_close(denormalize_intrinsics(K.numpy(), 8, 6), denormalize_intrinsics(K, 8, 6))


@pytest.mark.parametrize("bad, error, says", [
    ("eye3", ValueError, r"^c2w must be \[\.\.\., 4, 4\] matrices, got shape \(3, 3\)$"),
    ("text", TypeError, r"^c2w must be a tensor or an array of numbers, got str 'text'$"),
    (None, TypeError, r"^c2w must be a tensor or an array of numbers, got NoneType None$"),
])
def test_c2w_to_w2c_names_what_it_cannot_take(bad, error, says):
    import numpy as np

    with pytest.raises(error, match=says):
        c2w_to_w2c(np.eye(3) if bad == "eye3" else bad)


def test_plucker_rays_name_a_camera_count_mismatch_and_an_empty_size():
    """A researcher's K of another batch failed in einsum ('dimension 0 covered by ellipsis ...'); a size of 0
    gave empty ray maps."""
    c2w = torch.eye(4).repeat(3, 1, 1)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    assert plucker_rays(c2w, K, 4, 4).shape == (3, 6, 4, 4)  # one K for all cameras broadcasts
    with pytest.raises(ValueError, match=r"^c2w \(3, 4, 4\) and K \(2, 3, 3\) have different camera counts"):
        plucker_rays(c2w, K.repeat(2, 1, 1), 4, 4)
    with pytest.raises(ValueError, match=r"^height and width must be positive, got 0x4$"):
        plucker_rays(c2w, K, 0, 4)


def test_rays_accept_exactly_the_camera_shapes_torch_broadcasts():
    """rays() checks the leading shapes itself (torch.broadcast_shapes' first call imports sympy, 0.3 s of CPU in
    every process that renders): the same shapes pass and fail as torch.broadcast_shapes says."""
    from itertools import product

    from genxd.cameras.geometry import _broadcastable

    shapes = [(), (1,), (2,), (3,), (2, 1), (1, 3), (2, 3), (3, 2), (4, 1, 3)]
    outcomes = set()
    for a, b in product(shapes, shapes):
        try:
            torch.broadcast_shapes(a, b)
            expected = True
        except RuntimeError:
            expected = False
        assert _broadcastable(a, b) is expected, (a, b)
        outcomes.add(expected)
    assert outcomes == {True, False}
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    assert plucker_rays(torch.eye(4).repeat(2, 1, 1, 1), K.repeat(1, 3, 1, 1), 2, 2).shape == (2, 3, 6, 2, 2)


@pytest.mark.parametrize("name, source, target", [
    ("c2w_to_w2c", "Camera-to-world", "world-to-camera"),
    ("w2c_to_c2w", "World-to-camera", "camera-to-world"),
    ("opencv_to_opengl", "OpenCV", "OpenGL"),
    ("opengl_to_opencv", "OpenGL", "OpenCV"),
])
def test_converters_help_says_their_own_direction(name, source, target):
    # help(genxd.cameras.opengl_to_opencv) read "OpenCV c2w to OpenGL/nerfstudio c2w" (an alias of the other)
    import inspect

    import genxd.cameras as cams

    doc = inspect.getdoc(getattr(cams, name))
    assert doc.startswith(source) and target in doc and doc.index(source) < doc.index(target), doc


def test_w2c_to_c2w_names_its_own_argument():
    from genxd.cameras import w2c_to_c2w

    with pytest.raises(TypeError, match=r"^w2c must be a tensor or an array of numbers, got str 'text'$"):
        w2c_to_c2w("text")
    w2c = c2w_to_w2c(random_poses(3))
    torch.testing.assert_close(w2c_to_c2w(w2c), random_poses(3))


def test_pinhole_maths_by_hand_with_unequal_focals_and_an_off_centre_principal_point():
    """The convention written out by hand (docs/conventions.md): a camera-space point (x, y, z) lands at
    (cx + fx x / z, cy + fy y / z), and the ray through the centre of pixel (row i, column j) of an H x W image
    points along ((u - cx) / fx, (v - cy) / fy, 1) with u = (j + 0.5) / W, v = (i + 0.5) / H. fx != fy, cx != cy and
    H != W, so that a swap of any two of them shows (the other tests use one focal or a round trip, which a swap
    passes)."""
    fx, fy, cx, cy = 1.25, 0.8, 0.4, 0.65
    H, W = 3, 5
    K = intrinsics_from_focal(fx, fy, cx, cy).double()
    torch.testing.assert_close(K, torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=torch.float64))
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, 3] = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)  # camera moved, not turned
    x, y, z = 0.6, -0.9, 2.0  # in the camera's frame
    world = torch.tensor([[x + 0.3, y - 0.2, z + 1.0]], dtype=torch.float64)
    uv, depth = project_points(world, c2w, K)
    torch.testing.assert_close(uv[0], torch.tensor([cx + fx * x / z, cy + fy * y / z], dtype=torch.float64))
    torch.testing.assert_close(depth[0], torch.tensor(z, dtype=torch.float64))
    o, d = rays(c2w, K, H, W)
    for i, j in [(0, 0), (2, 4), (1, 3)]:
        u, v = (j + 0.5) / W, (i + 0.5) / H
        expected = torch.tensor([(u - cx) / fx, (v - cy) / fy, 1.0], dtype=torch.float64)
        torch.testing.assert_close(d[i, j], expected / expected.norm())
        torch.testing.assert_close(o[i, j], c2w[:3, 3])
    pixels = denormalize_intrinsics(K, W, H)  # pixel units: row 0 times W, row 1 times H
    torch.testing.assert_close(pixels, torch.tensor([[fx * W, 0.0, cx * W], [0.0, fy * H, cy * H], [0.0, 0.0, 1.0]],
                                                    dtype=torch.float64))


def test_opengl_axes_are_the_opencv_axes_with_y_and_z_flipped():
    """OpenGL / nerfstudio cameras look along their -z with +y up (image up); OpenCV ones along +z with +y down. So
    an OpenGL c2w keeps the OpenCV x column and negates the y and z columns, and the position. (The round trip
    ``opencv_to_opengl(opencv_to_opengl(c2w)) == c2w`` holds for any diagonal of +-1s.)"""
    eye, target = torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    c2w = look_at(eye, target)
    gl = opencv_to_opengl(c2w)
    view = (target - eye) / (target - eye).norm()
    torch.testing.assert_close(-gl[:3, 2], view)  # OpenGL looks along -z
    world_up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    assert float(gl[:3, 1] @ world_up) > 0  # OpenGL +y is image up, which look_at leans towards world up
    torch.testing.assert_close(gl[:3, 0], c2w[:3, 0])
    torch.testing.assert_close(gl[:3, 3], eye)


@pytest.mark.parametrize("eye, target", [
    (torch.zeros(3), torch.zeros(3)),  # was a NaN matrix, silently
    (torch.tensor([[0.0, 0.0, -2.0], [1.0, 1.0, 1.0]]), torch.tensor([1.0, 1.0, 1.0])),  # one camera of two
    (torch.tensor([float("nan"), 0.0, -2.0]), torch.zeros(3)),
])
def test_look_at_refuses_an_eye_on_the_target(eye, target):
    with pytest.raises(ValueError, match="look_at: eye and target must be finite and apart"):
        look_at(eye, target)
