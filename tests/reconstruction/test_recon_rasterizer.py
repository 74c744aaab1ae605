"""The pure-PyTorch rasteriser against a per-pixel reference, gradients, conventions, gsplat."""

from __future__ import annotations

import math

import pytest
import torch

from genxd.cameras import denormalize_intrinsics, intrinsics_from_focal, look_at, project_points
from genxd.reconstruction.rasterizer import (
    ALPHA_THRESHOLD,
    MAX_ALPHA,
    TRANSMITTANCE_THRESHOLD,
    project_gaussians,
    rasterize,
    rasterize_with_info,
)

from .helpers import random_gaussians


def _camera(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    c2w = look_at(torch.tensor([[0.3, -0.6, -3.0]]), torch.zeros(3)).to(dtype)
    K = intrinsics_from_focal(1.1, 1.2, cx=0.48, cy=0.53)[None].to(dtype)
    return c2w, K


def _reference_render(g: dict, c2w, K, H, W, background):
    """Per-pixel, per-Gaussian loops with gsplat's rules (projection shared with the rasteriser)."""
    proj = project_gaussians(g["means"], g["quats"], g["scales"], g["opacities"], c2w, denormalize_intrinsics(K, W, H), H, W)
    order = torch.argsort(proj.depths[0]).tolist()
    rgb = torch.zeros(3, H, W, dtype=torch.float64)
    alpha_img = torch.zeros(H, W, dtype=torch.float64)
    depth_img = torch.zeros(H, W, dtype=torch.float64)
    for i in range(H):
        for j in range(W):
            T, color, depth = 1.0, torch.zeros(3, dtype=torch.float64), 0.0
            for k in order:
                if not bool(proj.valid[0, k]):
                    continue
                dx = float(proj.means2d[0, k, 0]) - (j + 0.5)
                dy = float(proj.means2d[0, k, 1]) - (i + 0.5)
                a, b, c = proj.conics[0, k].tolist()
                sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                alpha = min(MAX_ALPHA, float(g["opacities"][k]) * math.exp(-sigma))
                if sigma < 0 or alpha < ALPHA_THRESHOLD:
                    continue
                next_T = T * (1 - alpha)
                if next_T <= TRANSMITTANCE_THRESHOLD:
                    break
                color += g["colors"][k].double() * alpha * T
                depth += float(proj.depths[0, k]) * alpha * T
                T = next_T
            rgb[:, i, j] = color + T * background
            alpha_img[i, j] = 1 - T
            depth_img[i, j] = depth / max(1 - T, 1e-10)
    return rgb, alpha_img, depth_img


@pytest.mark.parametrize("max_pairs", [10_000_000, 40])
def test_matches_per_pixel_reference(max_pairs: int) -> None:
    g = random_gaussians(40, seed=3, dtype=torch.float64)
    # a stack of nearly opaque Gaussians in the middle makes pixels terminate early
    g["means"][:12] = torch.linspace(-0.3, 0.3, 12, dtype=torch.float64)[:, None] * torch.tensor([0.1, 0.1, 1.0], dtype=torch.float64)
    g["opacities"][:12] = 0.97
    g["scales"][:12] = 0.25
    c2w, K = _camera(torch.float64)
    H, W = 11, 14
    background = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    out = rasterize_with_info(
        g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w, K, H, W, background,
        backend="torch", max_pairs=max_pairs,
    )
    ref_rgb, ref_alpha, ref_depth = _reference_render(g, c2w, K, H, W, background)
    assert out.rgb.shape == (1, 3, H, W) and out.alpha.shape == (1, H, W) and out.depth.shape == (1, H, W)
    assert (out.rgb[0] - ref_rgb).abs().max() < 1e-9
    assert (out.alpha[0] - ref_alpha).abs().max() < 1e-9
    assert (out.depth[0] - ref_depth).abs().max() < 1e-7
    assert float(ref_alpha.max()) > 0.999  # the early-termination rule was exercised


def test_gradients_match_finite_differences() -> None:
    g = random_gaussians(20, seed=5, dtype=torch.float64)
    c2w, K = _camera(torch.float64)
    background = torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64)
    inputs = tuple(g[k].clone().requires_grad_() for k in ("means", "quats", "scales", "opacities", "colors"))

    def fn(means, quats, scales, opacities, colors):
        out = rasterize_with_info(means, quats, scales, opacities, colors, c2w, K, 9, 10, background, backend="torch", max_pairs=70)
        return out.rgb, out.alpha, out.depth

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-7, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("other", ["colors", "opacities"])
def test_inputs_in_another_dtype_than_the_means_render_and_backpropagate_in_the_means_dtype(other: str) -> None:
    """float64 colours (numpy's default) with float32 means rendered, then the backward failed ("index_copy_():
    self and source expected to have the same dtype"): every tensor is taken in the means' dtype, so the image and
    the gradients are those of the all-float32 render, and the float64 input gets its gradient in float64."""
    g = random_gaussians(30, seed=2)
    c2w, K = _camera()
    background = torch.tensor([0.3, 0.2, 0.1])

    def render_and_grads(values: dict, bg: torch.Tensor) -> tuple:
        inputs = {k: v.clone().requires_grad_() for k, v in values.items()}
        out = rasterize_with_info(**inputs, c2w=c2w, K=K, height=12, width=14, background=bg, backend="torch")
        (out.rgb.square().sum() + out.depth.sum()).backward()
        return out.rgb, {k: v.grad for k, v in inputs.items()}

    rgb32, grads32 = render_and_grads(g, background)
    mixed = {**g, other: g[other].double()}
    rgb, grads = render_and_grads(mixed, background)
    assert grads[other].dtype == torch.float64
    assert rgb.dtype == torch.float32
    # the same float32 operations on the same values (the cast of a float32 value to float64 and back is exact)
    assert torch.equal(rgb, rgb32)
    for key in g:
        assert torch.equal(grads[key].float(), grads32[key]), key


def test_gaussian_lands_on_projected_pixel() -> None:
    """Pixel-centre convention: a tiny Gaussian's alpha centroid is its projection (u W, v H)."""
    c2w, K = _camera()
    H, W = 24, 32
    point = torch.tensor([[0.11, -0.07, 0.2]])
    out = rasterize(
        point, torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), 0.02), torch.tensor([0.9]), torch.ones(1, 3),
        c2w, K, H, W, backend="torch",
    )
    alpha = out[1][0]
    jj, ii = torch.meshgrid(torch.arange(W) + 0.5, torch.arange(H) + 0.5, indexing="xy")
    centroid = torch.stack([(alpha * jj).sum(), (alpha * ii).sum()]) / alpha.sum()
    uv, depth = project_points(point, c2w[0], K[0])
    expected = uv[0] * torch.tensor([W, H])
    assert (centroid - expected).abs().max() < 0.05
    # the expected depth is the camera z of the point
    assert abs(float(out[2][0][alpha > 0.5].mean()) - float(depth[0])) < 1e-4


def test_empty_scene_shows_background() -> None:
    c2w, K = _camera()
    behind = torch.tensor([[0.0, 0.0, -10.0]])  # behind the camera: culled
    rgb, alpha, depth = rasterize(
        behind, torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), 0.1), torch.tensor([0.9]), torch.ones(1, 3),
        c2w, K, 8, 8, background=torch.tensor([0.1, 0.2, 0.3]), backend="torch",
    )
    assert torch.allclose(rgb[0], torch.tensor([0.1, 0.2, 0.3])[:, None, None].expand(3, 8, 8))
    assert alpha.abs().max() == 0 and depth.abs().max() == 0


def test_several_cameras_and_per_camera_colours() -> None:
    g = random_gaussians(30, seed=1)
    c2w = look_at(torch.tensor([[0.0, -0.5, -3.0], [1.0, -0.5, -2.8]]), torch.zeros(3))
    K = intrinsics_from_focal(1.0).expand(2, 3, 3)
    colors = torch.stack([g["colors"], 1 - g["colors"]])
    both = rasterize(g["means"], g["quats"], g["scales"], g["opacities"], colors, c2w, K, 12, 12, backend="torch")
    for i in range(2):
        single = rasterize(g["means"], g["quats"], g["scales"], g["opacities"], colors[i], c2w[i : i + 1], K[i : i + 1], 12, 12, backend="torch")
        assert torch.allclose(both[0][i], single[0][0], atol=1e-6)


def test_bad_inputs_raise_value_error() -> None:
    g = random_gaussians(5)
    c2w, K = _camera()
    with pytest.raises(ValueError, match="quats"):
        rasterize(g["means"], g["quats"][:, :3], g["scales"], g["opacities"], g["colors"], c2w, K, 8, 8)
    with pytest.raises(ValueError, match="K"):
        rasterize(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w, K[0], 8, 8)
    with pytest.raises(ValueError, match="gsplat"):
        rasterize(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w, K, 8, 8, backend="gsplat")


def _gsplat_cuda_emulation(g: dict, c2w, K, H: int, W: int, background, tile: int = 16):
    """gsplat 1.5.3's CUDA pipeline (``fully_fused_projection`` + ``isect_tiles`` +
    ``rasterize_to_pixels_3dgs_fwd``, classic, unpacked) re-enacted step by step in float32 on the
    CPU, written independently of the rasteriser: covariance ``R S S R^T`` as full matrices, 16x16
    tiles from the opacity-aware bounding boxes, per-tile depth sort, sequential compositing."""
    f32 = torch.float32
    means, quats, scales, opac, colors = (g[k].to(f32) for k in ("means", "quats", "scales", "opacities", "colors"))
    w, x, y, z = (quats / quats.norm(dim=-1, keepdim=True)).unbind(-1)
    R = torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).reshape(-1, 3, 3)
    M = R * scales[:, None, :]
    covar = M @ M.transpose(1, 2)
    w2c = torch.linalg.inv(c2w[0].double()).to(f32)
    Rw, tw = w2c[:3, :3], w2c[:3, 3]
    mean_c = means @ Rw.T + tw
    cov_c = Rw @ covar @ Rw.T
    Kp = denormalize_intrinsics(K[0].to(f32), W, H)
    fx, fy, cx, cy = Kp[0, 0], Kp[1, 1], Kp[0, 2], Kp[1, 2]
    xc, yc, zc = mean_c.unbind(-1)
    lim_x_pos, lim_x_neg = (W - cx) / fx + 0.3 * 0.5 * W / fx, cx / fx + 0.3 * 0.5 * W / fx
    lim_y_pos, lim_y_neg = (H - cy) / fy + 0.3 * 0.5 * H / fy, cy / fy + 0.3 * 0.5 * H / fy
    tx = zc * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, xc / zc))
    ty = zc * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, yc / zc))
    zeros = torch.zeros_like(zc)
    J = torch.stack([fx / zc, zeros, -fx * tx / zc**2, zeros, fy / zc, -fy * ty / zc**2], -1).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(1, 2) + 0.3 * torch.eye(2)
    mean2d = torch.stack([fx * xc / zc + cx, fy * yc / zc + cy], -1)
    det = cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]
    conic = torch.stack([cov2d[:, 1, 1] / det, -cov2d[:, 0, 1] / det, cov2d[:, 0, 0] / det], -1)
    extend = torch.clamp(torch.sqrt(2 * torch.log(opac / ALPHA_THRESHOLD)), max=3.33)
    rx = torch.ceil(extend * torch.sqrt(cov2d[:, 0, 0]))
    ry = torch.ceil(extend * torch.sqrt(cov2d[:, 1, 1]))
    mx, my = mean2d.unbind(-1)
    keep = (zc >= 0.01) & (zc <= 1e10) & (det > 0) & (opac >= ALPHA_THRESHOLD) & ~((rx <= 0) & (ry <= 0))
    keep &= ~((mx + rx <= 0) | (mx - rx >= W) | (my + ry <= 0) | (my - ry >= H))
    tiles_x, tiles_y = math.ceil(W / tile), math.ceil(H / tile)
    t_min_x = torch.clamp(torch.floor((mx - rx) / tile), 0, tiles_x)
    t_max_x = torch.clamp(torch.ceil((mx + rx) / tile), 0, tiles_x)
    t_min_y = torch.clamp(torch.floor((my - ry) / tile), 0, tiles_y)
    t_max_y = torch.clamp(torch.ceil((my + ry) / tile), 0, tiles_y)
    rgb = torch.zeros(3, H, W, dtype=f32)
    alpha_img = torch.zeros(H, W, dtype=f32)
    for ty_ in range(tiles_y):
        for tx_ in range(tiles_x):
            hit = keep & (t_min_x <= tx_) & (tx_ < t_max_x) & (t_min_y <= ty_) & (ty_ < t_max_y)
            ids = torch.nonzero(hit)[:, 0]
            ids = ids[torch.argsort(zc[ids], stable=True)].tolist()
            ii, jj = torch.meshgrid(
                torch.arange(ty_ * tile, min((ty_ + 1) * tile, H)), torch.arange(tx_ * tile, min((tx_ + 1) * tile, W)), indexing="ij"
            )
            ii, jj = ii.flatten(), jj.flatten()
            px, py = jj.to(f32) + 0.5, ii.to(f32) + 0.5
            T = torch.ones(len(px), dtype=f32)  # one thread per pixel, Gaussians front to back
            acc = torch.zeros(len(px), 3, dtype=f32)
            done = torch.zeros(len(px), dtype=torch.bool)
            for k in ids:
                dx, dy = mx[k] - px, my[k] - py
                a, b, c = conic[k]
                sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                alpha = torch.clamp(opac[k] * torch.exp(-sigma), max=0.999)
                skip = done | (sigma < 0) | (alpha < ALPHA_THRESHOLD)
                next_T = T * (1 - alpha)
                stop = ~skip & (next_T <= 1e-4)  # this pixel is done: exclusive
                done |= stop
                use = ~skip & ~stop
                acc = torch.where(use[:, None], acc + colors[k] * (alpha * T)[:, None], acc)
                T = torch.where(use, next_T, T)
            rgb[:, ii, jj] = (acc + T[:, None] * background).T
            alpha_img[ii, jj] = 1 - T
    return rgb, alpha_img


def test_matches_gsplat_cuda_kernels_emulated_in_float32() -> None:
    """The torch backend against an independent re-enactment of gsplat's CUDA kernels, with the
    cases where the conventions differ between implementations: Gaussians behind the near plane,
    outside the field of view (clamped Jacobian) or straddling the image border, opacities above
    the 0.999 clamp and below 1/255, and stacks that stop at transmittance 1e-4."""
    g = random_gaussians(120, seed=11)
    g["means"][:10] = torch.linspace(-0.2, 0.2, 10)[:, None] * torch.tensor([0.2, 0.1, 1.0])  # opaque stack
    g["opacities"][:10] = torch.tensor([0.9999, 0.9995, 0.999, 0.998, 0.99, 0.97, 0.95, 0.999, 0.9999, 0.96])
    g["scales"][:10] = 0.3
    g["opacities"][10:14] = torch.tensor([0.5 / 255, 0.99 / 255, 1.01 / 255, 1.5 / 255])  # around the cull threshold
    cam_pos = torch.tensor([0.3, -0.6, -3.0])
    g["means"][14:18] = cam_pos + torch.tensor([[0.0, 0.0, 0.005], [0.1, 0.0, -0.5], [0.0, 0.0, 0.3], [0.2, 0.1, 0.02]])  # near plane
    g["means"][18:26] = torch.tensor([[x, y, 0.0] for x in (-2.6, 2.4) for y in (-1.9, -1.2, 1.3, 2.0)])  # off-screen
    g["scales"][18:26] = 0.4
    c2w = look_at(cam_pos[None], torch.zeros(3))
    K = intrinsics_from_focal(1.1, 1.2, cx=0.48, cy=0.53)[None]
    H, W = 40, 56
    background = torch.tensor([0.1, 0.2, 0.3])
    ours = rasterize_with_info(
        g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w, K, H, W, background, backend="torch"
    )
    ref_rgb, ref_alpha = _gsplat_cuda_emulation(g, c2w, K, H, W, background)
    assert float(ref_alpha.max()) > 0.9998  # early termination and the alpha clamp were exercised
    assert (ours.rgb[0] - ref_rgb).abs().max() < 2e-5
    assert (ours.alpha[0] - ref_alpha).abs().max() < 2e-5


def _gsplat_torch_impl():
    return pytest.importorskip("gsplat.cuda._torch_impl", reason="gsplat not installed")


def test_projection_matches_gsplat_torch_impl() -> None:
    impl = _gsplat_torch_impl()
    g = random_gaussians(50, seed=2, dtype=torch.float64)
    c2w, K = _camera(torch.float64)
    H, W = 40, 50
    Kp = denormalize_intrinsics(K, W, H)
    ours = project_gaussians(g["means"], g["quats"], g["scales"], g["opacities"], c2w, Kp, H, W)
    covars, _ = impl._quat_scale_to_covar_preci(g["quats"], g["scales"], compute_preci=False)
    from genxd.cameras import c2w_to_w2c

    radii, means2d, depths, conics, _ = impl._fully_fused_projection(g["means"], covars, c2w_to_w2c(c2w), Kp, W, H)
    valid = ours.valid[0]
    assert valid.sum() > 30
    assert torch.allclose(ours.means2d[0][valid], means2d[0][valid], atol=1e-9)
    assert torch.allclose(ours.conics[0][valid], conics[0][valid], rtol=1e-9, atol=1e-12)
    assert torch.allclose(ours.depths[0][valid], depths[0][valid])


def test_spherical_harmonics_match_gsplat_torch_impl() -> None:
    impl = _gsplat_torch_impl()
    from genxd.reconstruction.sh import eval_sh

    gen = torch.Generator().manual_seed(0)
    coeffs = torch.randn(64, 16, 3, generator=gen, dtype=torch.float64)
    dirs = torch.randn(64, 3, generator=gen, dtype=torch.float64)
    for degree in range(4):
        expected = torch.clamp_min(impl._spherical_harmonics(degree, dirs, coeffs) + 0.5, 0.0)
        assert torch.allclose(eval_sh(degree, coeffs, dirs), expected, atol=1e-10)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gsplat_cuda_matches_torch_backend(record_property) -> None:
    from genxd.reconstruction.rasterizer import gsplat_cuda_problem

    if (problem := gsplat_cuda_problem()) is not None:  # not installed, or its CUDA kernels do not load here
        pytest.skip(problem)
    g = {k: v.cuda() for k, v in random_gaussians(2000, seed=7).items()}
    c2w, K = _camera()
    c2w, K = c2w.cuda(), K.cuda()
    background = torch.tensor([0.1, 0.2, 0.3], device="cuda")
    args = (g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w, K, 96, 128, background)
    theirs = rasterize_with_info(*args, backend="gsplat")
    # other genxd modules (fast sampling, training) enable TF32 GEMMs process-wide; the torch
    # backend must not be affected (a TF32 projection differed from gsplat by 2.25e-2 on an H100)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        ours_cuda = rasterize_with_info(*args, backend="torch")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    ours_cpu = rasterize_with_info(*(a.cpu() if torch.is_tensor(a) else a for a in args), backend="torch")
    for label, ours in (("torch backend on CUDA", ours_cuda), ("torch backend on CPU", ours_cpu)):
        rgb_diff = float((ours.rgb.cpu() - theirs.rgb.cpu()).abs().max())
        alpha_diff = float((ours.alpha.cpu() - theirs.alpha.cpu()).abs().max())
        record_property(f"max_abs_diff_rgb ({label})", rgb_diff)
        record_property(f"max_abs_diff_alpha ({label})", alpha_diff)
        print(f"gsplat vs {label}: max |rgb diff| = {rgb_diff:.2e}, max |alpha diff| = {alpha_diff:.2e}")
        assert rgb_diff < 2e-3 and alpha_diff < 2e-3


def _fake_gsplat_backend(monkeypatch, *, C=None, error: Exception | None = None) -> None:
    """Stand-ins for ``gsplat`` and ``gsplat.cuda._backend`` (whose import builds or loads the CUDA kernels)."""
    import importlib.abc
    import importlib.machinery
    import sys
    import types

    from genxd.reconstruction import rasterizer

    class Backend(importlib.abc.Loader):
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            if error is not None:
                raise error
            module._C = C

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            return importlib.machinery.ModuleSpec(name, Backend()) if name == "gsplat.cuda._backend" else None

    for name in ("gsplat", "gsplat.cuda"):
        package = types.ModuleType(name)
        package.__path__ = []
        monkeypatch.setitem(sys.modules, name, package)
    monkeypatch.delitem(sys.modules, "gsplat.cuda._backend", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    rasterizer.gsplat_cuda_problem.cache_clear()  # the callers clear it again when done


@pytest.mark.parametrize("C, error, expected", [
    (object(), None, None),
    (None, None, "gsplat's CUDA kernels are missing (installed without CUDA, and no CUDA toolkit to build them)"),
    (None, RuntimeError("Error building extension 'gsplat_cuda'\nnvcc fatal"),
     "gsplat's CUDA kernels failed to build or load (RuntimeError: Error building extension 'gsplat_cuda')"),
    # torch's message for a failed ninja build: the first compiler command, then the compiler's error line
    (None, RuntimeError("Error building extension 'gsplat_cuda': [1/30] /usr/local/cuda/bin/nvcc -MD -MF "
                        + "x.o.d " * 60 + "\nFAILED: RelocationCUDA.cuda.o\n/tmp/gsplat/cuda/csrc/Ops.h(12): error: "
                        "identifier \"at::Tensor\" is undefined\n1 error detected"),
     "gsplat's CUDA kernels failed to build or load (RuntimeError: /tmp/gsplat/cuda/csrc/Ops.h(12): error: "
     "identifier \"at::Tensor\" is undefined)"),
])
def test_gsplat_cuda_problem_says_why_its_kernels_do_not_load(monkeypatch, C, error, expected) -> None:
    """gsplat installed without CUDA (``BUILD_NO_CUDA=1``, the CPU install) builds its kernels on first use; where
    that fails, every gsplat call raised from inside gsplat in the middle of a reconstruction."""
    from genxd.reconstruction.rasterizer import gsplat_cuda_problem

    _fake_gsplat_backend(monkeypatch, C=C, error=error)
    try:
        assert gsplat_cuda_problem() == expected
    finally:
        gsplat_cuda_problem.cache_clear()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_auto_falls_back_to_torch_when_gsplats_kernels_do_not_load(monkeypatch) -> None:
    """On a GPU whose gsplat cannot build its kernels: ``auto`` renders with the torch backend after one warning
    naming why; ``backend="gsplat"`` refuses in one line."""
    import warnings

    from genxd.reconstruction import rasterizer
    from genxd.validation_warnings import GenXDWarning

    _fake_gsplat_backend(monkeypatch, error=RuntimeError("Error building extension 'gsplat_cuda'"))
    rasterizer._warn_gsplat_fallback.cache_clear()
    g = {k: v.cuda() for k, v in random_gaussians(50, seed=3).items()}
    c2w, K = _camera()
    args = (g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], c2w.cuda(), K.cuda(), 24, 32)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = rasterize_with_info(*args, backend="auto")
            rasterize_with_info(*args, backend="auto")
        assert out.info["backend"] == "torch"
        said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
        assert len(said) == 1 and "failed to build or load" in said[0] and "torch rasteriser" in said[0], said
        with pytest.raises(RuntimeError, match="backend 'gsplat': gsplat's CUDA kernels failed to build or load"):
            rasterize_with_info(*args, backend="gsplat")
    finally:
        rasterizer.gsplat_cuda_problem.cache_clear()
        rasterizer._warn_gsplat_fallback.cache_clear()


def test_processes_loading_gsplats_kernels_together_build_them_once(tmp_path) -> None:
    """gsplat installed without CUDA builds its kernels on first use, and processes that start that build together
    broke each other's (on the H200, four at once: three failed in 10 s). A stand-in gsplat whose build fails when
    another build runs in the same folder, loaded by three processes started together: each finds the kernels."""
    import subprocess
    import sys
    import textwrap

    from ..helpers import env_with_path

    site = tmp_path / "site"
    (site / "gsplat" / "cuda").mkdir(parents=True)
    (site / "gsplat" / "__init__.py").write_text("")
    (site / "gsplat" / "cuda" / "__init__.py").write_text("")
    (site / "gsplat" / "cuda" / "_backend.py").write_text(textwrap.dedent("""
        import os, pathlib, time
        folder = pathlib.Path(os.environ["FAKE_GSPLAT_BUILD"])
        if not (folder / "gsplat_cuda.so").exists():
            try:  # torch's build-folder lock, as it races
                os.close(os.open(folder / "building", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                raise RuntimeError("Error building extension 'gsplat_cuda': another build in this folder")
            time.sleep(1.5)
            (folder / "gsplat_cuda.so").write_text("kernels")
            os.unlink(folder / "building")
        _C = object()
    """))
    build = tmp_path / "build"
    build.mkdir()
    env = env_with_path(site, FAKE_GSPLAT_BUILD=str(build), TMPDIR=str(tmp_path))
    code = "from genxd.reconstruction.rasterizer import gsplat_cuda_problem\nprint(gsplat_cuda_problem())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    said = [p.communicate(timeout=120) for p in procs]
    assert [out.strip() for out, _ in said] == ["None"] * 3, said
    assert (build / "gsplat_cuda.so").exists()


def test_a_file_system_that_cannot_lock_loads_gsplat_without_the_lock(monkeypatch) -> None:
    """A failing ``flock`` (some network file systems) is not a gsplat problem: the kernels load as before."""
    import fcntl

    from genxd.reconstruction import rasterizer

    def no_locks(fd, operation):
        raise OSError(37, "No locks available")

    _fake_gsplat_backend(monkeypatch, C=object())
    monkeypatch.setattr(fcntl, "flock", no_locks)
    try:
        assert rasterizer.gsplat_cuda_problem() is None
    finally:
        rasterizer.gsplat_cuda_problem.cache_clear()
