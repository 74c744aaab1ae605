"""Vectorised analytic ray casting of :class:`~genxd.data.synthetic.scene.Scene` (CPU or CUDA).

Every pixel-centre ray (``genxd.cameras.rays``) is intersected exactly with the objects (spheres,
boxes, cylinders in their local frames), the ground plane ``y = 0`` and the sky sphere, and shaded
with procedural solid textures, a Lambertian sun with hard shadows and an ambient term. No mesh or
rasteriser is involved, so depth, object ids and object poses are exact ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genxd.cameras import check_rigid, rays

from . import textures
from .scene import BOX, CYLINDER, SPHERE, Scene

__all__ = ["RenderOutput", "render", "SURFACE_SKY", "SURFACE_GROUND", "SURFACE_OBJECT"]

SURFACE_SKY, SURFACE_GROUND, SURFACE_OBJECT = 0, 1, 2
_EPS = 1e-4
_INF = float("inf")


@dataclass
class RenderOutput:
    """Renders of ``N`` views (on the device the render ran on).

    Attributes:
        rgb: ``[N, 3, H, W]`` float32 in [0, 1].
        depth: ``[N, H, W]`` float32 z-depth (along the camera's +z axis). Every pixel hits a
            surface: background pixels hold the depth of the sky sphere (radius
            ``scene.sky_radius`` = 40 world units), a large finite value; test
            ``object_id``/``surface`` rather than thresholding depth.
        object_id: ``[N, H, W]`` int64: 0 for background (sky and ground), ``m + 1`` for object ``m``.
        surface: ``[N, H, W]`` int64: 0 sky, 1 ground, 2 object.
        normals: ``[N, 3, H, W]`` float32 unit world-space surface normals (sky: pointing inwards).
        object_positions: ``[N, M, 3]`` world centres of the objects at each view's time.
        object_rotations: ``[N, M, 3, 3]`` object-to-world rotations at each view's time.
        times: ``[N]`` the times the views were rendered at (in [0, 1]).
    """

    rgb: Tensor
    depth: Tensor
    object_id: Tensor
    surface: Tensor
    normals: Tensor
    object_positions: Tensor
    object_rotations: Tensor
    times: Tensor


@dataclass
class _SceneTensors:
    """Scene parameters on the render device, objects sorted by primitive kind.

    ``order[k]`` is the scene index of sorted object ``k``; ``kind_slices`` maps each kind to its
    contiguous range of sorted objects (so intersections use views, not gathers).
    """

    order: Tensor
    kind_slices: list[tuple[int, slice]]
    kinds: Tensor
    sizes: Tensor
    colors_a: Tensor
    colors_b: Tensor
    patterns: Tensor
    pattern_freqs: Tensor
    pattern_dirs: Tensor
    ground_a: Tensor
    ground_b: Tensor
    sky_horizon: Tensor
    sky_zenith: Tensor
    cloud: Tensor
    sun: Tensor

    @classmethod
    def from_scene(cls, scene: Scene, device: torch.device, dtype: torch.dtype = torch.float32) -> "_SceneTensors":
        to = lambda x: x.to(device, dtype) if x.is_floating_point() else x.to(device)  # noqa: E731
        order = torch.sort(scene.kinds, stable=True).indices
        kinds_sorted = scene.kinds[order].tolist()
        kind_slices = []
        for kind in (SPHERE, BOX, CYLINDER):
            if kind in kinds_sorted:
                first = kinds_sorted.index(kind)
                kind_slices.append((kind, slice(first, first + kinds_sorted.count(kind))))
        by_kind = lambda x: to(x[order])  # noqa: E731
        return cls(
            order=to(order),
            kind_slices=kind_slices,
            kinds=by_kind(scene.kinds),
            sizes=by_kind(scene.sizes),
            colors_a=by_kind(scene.colors_a),
            colors_b=by_kind(scene.colors_b),
            patterns=by_kind(scene.patterns),
            pattern_freqs=by_kind(scene.pattern_freqs),
            pattern_dirs=by_kind(scene.pattern_dirs),
            ground_a=to(scene.ground_color_a),
            ground_b=to(scene.ground_color_b),
            sky_horizon=to(scene.sky_horizon),
            sky_zenith=to(scene.sky_zenith),
            cloud=to(scene.cloud_color),
            sun=to(scene.sun_direction),
        )


def _to_local(origins: Tensor, dirs: Tensor, centres: Tensor, rotations: Tensor) -> tuple[Tensor, Tensor]:
    """Rays ``[G, P, 3]`` into every object's frame: ``[G, P, M, 3]`` (poses ``[G, M, 3(, 3)]``)."""
    rel = origins[:, :, None, :] - centres[:, None, :, :]
    o_local = torch.einsum("gpmk,gmkj->gpmj", rel, rotations)  # v_local = R^T v
    d_local = torch.einsum("gpk,gmkj->gpmj", dirs, rotations)
    return o_local, d_local


def _hit_sphere(o: Tensor, d: Tensor, size: Tensor) -> Tensor:
    """Entry distance of unit-direction rays ``[..., K, 3]`` into centred spheres, inf if missed.

    (The hit functions work in place on their own temporaries, the arithmetic of each element as written out in
    the comments: the same bits, less memory traffic on the ``[G, P, M, 3]`` rays.)"""
    r = size[..., 0]
    b = (o * d).sum(-1)
    c = (o * o).sum(-1)
    c -= r * r  # c = |o|^2 - r^2
    disc = b * b
    disc -= c  # disc = b^2 - c
    t = disc.clamp_min(0.0).sqrt_()
    t.neg_()
    t -= b  # t = -b - sqrt(max(disc, 0))
    return torch.where((disc >= 0) & (t > _EPS), t, _INF)


def _hit_box(o: Tensor, d: Tensor, size: Tensor) -> Tensor:
    """Entry distance into centred axis-aligned boxes with half-extents ``size`` (slab method)."""
    inv = torch.where(d.abs() < 1e-12, 1e-12, d).reciprocal_()  # 1 / d, d kept off 0
    t1 = -size - o
    t1 *= inv  # (-size - o) * (1 / d)
    t2 = size - o
    t2 *= inv  # (size - o) * (1 / d)
    t_near = torch.minimum(t1, t2).amax(-1)
    t_far = torch.maximum(t1, t2, out=t1).amin(-1)
    return torch.where((t_near <= t_far) & (t_near > _EPS), t_near, _INF)


def _hit_cylinder(o: Tensor, d: Tensor, size: Tensor) -> Tensor:
    """Entry distance into capped cylinders (axis y, radius size[0], half-height size[1])."""
    r, h = size[..., 0], size[..., 1]
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = d.unbind(-1)
    a = dx * dx + dz * dz
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - r * r
    disc = b * b - a * c
    a_safe = a.clamp_min(1e-12)
    t_side = (-b - torch.sqrt(disc.clamp_min(0.0))) / a_safe
    y_side = oy + t_side * dy
    side_ok = (disc >= 0) & (a > 1e-12) & (t_side > _EPS) & (y_side.abs() <= h)
    dy_safe = torch.where(dy.abs() < 1e-12, 1e-12, dy)
    cap_y = -torch.sign(dy_safe) * h  # the cap facing the ray
    t_cap = (cap_y - oy) / dy_safe
    cx, cz = ox + t_cap * dx, oz + t_cap * dz
    cap_ok = (t_cap > _EPS) & (cx * cx + cz * cz <= r * r)
    t = torch.where(side_ok, t_side, _INF)
    return torch.minimum(t, torch.where(cap_ok, t_cap, _INF))


def _intersect_objects(
    o_local: Tensor, d_local: Tensor, kind_slices: list[tuple[int, slice]], sizes: Tensor
) -> Tensor:
    """Hit distances ``[G, P, M]`` of local rays ``[G, P, M, 3]`` with every (kind-sorted) object."""
    hits = {SPHERE: _hit_sphere, BOX: _hit_box, CYLINDER: _hit_cylinder}
    parts = [hits[kind](o_local[..., sl, :], d_local[..., sl, :], sizes[sl]) for kind, sl in kind_slices]
    if not parts:
        return o_local.new_full(o_local.shape[:-1], _INF)
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _local_normals(p: Tensor, kind: Tensor, size: Tensor) -> Tensor:
    """Outward normals ``[..., 3]`` at local surface points ``p`` of primitives ``kind``/``size``."""
    n_sphere = p / size[..., :1]
    q = p / size
    axis = q.abs().argmax(-1, keepdim=True)
    n_box = torch.zeros_like(p).scatter(-1, axis, torch.sign(torch.gather(q, -1, axis)))
    radial = p * p.new_tensor([1.0, 0.0, 1.0])
    n_side = radial / radial.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    n_cap = p.new_tensor([0.0, 1.0, 0.0]) * torch.sign(p[..., 1:2])
    on_cap = p[..., 1:2].abs() >= size[..., 1:2] * (1.0 - 1e-4)
    n_cyl = torch.where(on_cap, n_cap, n_side)
    k = kind[..., None]
    n = torch.where(k == SPHERE, n_sphere, torch.where(k == BOX, n_box, n_cyl))
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _object_albedo(p_local: Tensor, obj: Tensor, scene_index: Tensor, st: _SceneTensors, noise_seed: int) -> Tensor:
    """Albedo ``[R, 3]`` of (kind-sorted) objects ``obj [R]`` at local points ``p_local [R, 3]``."""
    freq = st.pattern_freqs[obj]
    pattern = st.patterns[obj]
    offset = scene_index.to(p_local.dtype)[:, None] * 17.31
    p = p_local + offset
    detail = textures.fractal_noise(p * 6.0, noise_seed + 7, octaves=2)
    pat_checker = textures.checker(p_local, freq)
    pat_stripes = textures.stripes(p_local, freq, st.pattern_dirs[obj])
    pat_dots = textures.dots(p_local, freq)
    pat_noise = torch.zeros_like(freq)
    marbled = pattern == 3
    if marbled.any():  # the costliest pattern: only where used
        noise = textures.fractal_noise(p[marbled] * freq[marbled, None] * 0.5, noise_seed + 3)
        pat_noise[marbled] = torch.clamp((noise - 0.5) * 5 + 0.5, 0, 1)
    value = torch.where(
        pattern == 0,
        pat_checker,
        torch.where(pattern == 1, pat_stripes, torch.where(pattern == 2, pat_dots, pat_noise)),
    )
    color = st.colors_b[obj] + (st.colors_a[obj] - st.colors_b[obj]) * value[:, None]
    return color * (0.7 + 0.6 * detail[:, None])


def _ground_albedo(p: Tensor, footprint: Tensor, st: _SceneTensors, tile: float, noise_seed: int) -> Tensor:
    """Ground albedo ``[R, 3]`` at world points ``p [R, 3]``; ``footprint [R]``: pixel size there.

    Checker and fine noise fade out where a pixel covers more than about a tile (a crude
    mip-map that avoids aliasing far away).
    """
    xz = torch.stack([p[:, 0], torch.zeros_like(p[:, 0]), p[:, 2]], -1)
    check = textures.checker(xz, 1.0 / tile)
    contrast = torch.clamp(1.0 - (footprint / tile - 0.25) / 0.75, 0.0, 1.0)
    value = 0.5 + (check - 0.5) * contrast
    fine = textures.fractal_noise(xz * 4.0, noise_seed + 11, octaves=2)
    fine_contrast = torch.clamp(1.0 - (footprint / 0.25 - 0.25) / 0.75, 0.0, 1.0)
    coarse = textures.value_noise(xz * 0.35, noise_seed + 13)
    # Per-tile random brightness, so tiles (and their SIFT descriptors) are not all alike.
    cells = torch.floor(xz / tile).to(torch.int64)
    tile_random = textures.hash3(cells[:, 0], cells[:, 2], torch.zeros_like(cells[:, 0]), noise_seed + 19)
    color = st.ground_b + (st.ground_a - st.ground_b) * value[:, None]
    shade = 1.0 + 0.5 * (fine - 0.5) * fine_contrast + 0.4 * (coarse - 0.5) + 0.5 * (tile_random - 0.5) * contrast
    return color * shade[:, None]


def _sky_color(direction: Tensor, st: _SceneTensors, noise_seed: int) -> Tensor:
    """Sky colour ``[R, 3]`` for unit directions from the origin to the sky sphere ``[R, 3]``."""
    elevation = direction[:, 1].clamp(0.0, 1.0)
    base = st.sky_horizon + (st.sky_zenith - st.sky_horizon) * elevation.pow(0.6)[:, None]
    clouds = textures.fractal_noise(direction * 5.0, noise_seed + 17, octaves=4)
    amount = torch.clamp((clouds - 0.45) * 3.0, 0.0, 1.0) * torch.clamp(elevation * 6.0, 0.0, 1.0)
    return base + (st.cloud - base) * (0.85 * amount)[:, None]


def _cast(
    origins: Tensor,
    dirs: Tensor,
    centres: Tensor,
    rotations: Tensor,
    forward: Tensor,
    pixel_angle: Tensor,
    scene: Scene,
    st: _SceneTensors,
    shadows: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Trace rays ``[G, P, 3]`` of G frames (poses ``centres [G, M, 3]``, ``rotations [G, M, 3, 3]``).

    Returns rgb ``[G, P, 3]``, z-depth ``[G, P]``, object id ``[G, P]``, surface ``[G, P]``,
    normals ``[G, P, 3]``.
    """
    G, P, _ = origins.shape
    dtype, device = origins.dtype, origins.device
    o_local, d_local = _to_local(origins, dirs, centres, rotations)
    t_obj_all = _intersect_objects(o_local, d_local, st.kind_slices, st.sizes)  # G P M
    if t_obj_all.shape[-1] > 0:
        t_obj, obj = t_obj_all.min(-1)
    else:
        t_obj = torch.full((G, P), _INF, dtype=dtype, device=device)
        obj = torch.zeros((G, P), dtype=torch.int64, device=device)

    oy, dy = origins[..., 1], dirs[..., 1]
    dy_safe = torch.where(dy.abs() < 1e-12, torch.full_like(dy, 1e-12), dy)
    t_ground = -oy / dy_safe
    t_ground = torch.where(t_ground > _EPS, t_ground, _INF)

    b = (origins * dirs).sum(-1)
    c = (origins * origins).sum(-1) - scene.sky_radius**2
    t_sky = -b + torch.sqrt((b * b - c).clamp_min(0.0))

    surface = torch.full((G, P), SURFACE_SKY, dtype=torch.int64, device=device)
    t = t_sky
    ground_hit = t_ground < t
    surface = torch.where(ground_hit, SURFACE_GROUND, surface)
    t = torch.where(ground_hit, t_ground, t)
    object_hit = t_obj < t
    surface = torch.where(object_hit, SURFACE_OBJECT, surface)
    t = torch.where(object_hit, t_obj, t)

    points = origins + t[..., None] * dirs  # G P 3
    rgb = torch.zeros((G, P, 3), dtype=dtype, device=device)
    normals = torch.zeros((G, P, 3), dtype=dtype, device=device)
    object_id = torch.where(object_hit, st.order[obj] + 1, 0)  # scene index + 1

    # Objects: local hit point, normal, albedo.
    gi, pi = torch.nonzero(object_hit, as_tuple=True)
    if gi.numel():
        m = obj[gi, pi]
        p_local = o_local[gi, pi, m] + t[gi, pi, None] * d_local[gi, pi, m]
        n_local = _local_normals(p_local, st.kinds[m], st.sizes[m])
        R = rotations[gi, m]
        normals[gi, pi] = (R @ n_local[..., None]).squeeze(-1)
        rgb[gi, pi] = _object_albedo(p_local, m, st.order[m], st, scene.noise_seed)

    gi, pi = torch.nonzero(surface == SURFACE_GROUND, as_tuple=True)
    if gi.numel():
        normals[gi, pi] = normals.new_tensor([0.0, 1.0, 0.0])
        cos_in = dirs[gi, pi, 1].abs().clamp_min(1e-3)
        footprint = t[gi, pi] * pixel_angle[gi] / cos_in
        rgb[gi, pi] = _ground_albedo(points[gi, pi], footprint, st, scene.ground_tile, scene.noise_seed)

    # Lambertian sun + sky ambient, with hard shadows cast by the objects.
    lit = surface != SURFACE_SKY
    n_dot_l = (normals * st.sun).sum(-1).clamp_min(0.0)
    if shadows and st.kinds.numel():
        shadow_origins = points + normals * 1e-3
        sun_dirs = st.sun.expand_as(shadow_origins)
        so_local, sd_local = _to_local(shadow_origins, sun_dirs, centres, rotations)
        blocked = torch.isfinite(_intersect_objects(so_local, sd_local, st.kind_slices, st.sizes)).any(-1)
        n_dot_l = torch.where(blocked, 0.0, n_dot_l)
    ambient = scene.ambient * (0.8 + 0.2 * normals[..., 1])
    shade = ambient + (1.0 - scene.ambient) * n_dot_l
    rgb = torch.where(lit[..., None], rgb * shade[..., None], rgb)

    gi, pi = torch.nonzero(surface == SURFACE_SKY, as_tuple=True)
    if gi.numel():
        sky_dir = points[gi, pi] / scene.sky_radius
        normals[gi, pi] = -sky_dir
        rgb[gi, pi] = _sky_color(sky_dir, st, scene.noise_seed)

    depth = t * (dirs * forward[:, None, :]).sum(-1)
    return rgb.clamp(0.0, 1.0), depth, object_id, surface, normals


def _check_memory(n: int, height: int, width: int, supersample: int, dtype: torch.dtype) -> None:
    """A ValueError when the buffers :func:`render` fills on the CPU (rgb, depth, object ids, surfaces, normals of
    every sample) would not fit in this machine's memory: torch's allocator failed with a traceback, or a render that
    fit in the address space was killed mid-way without a word. Nothing is checked where the size is unknown."""
    from ...utils.machine import bytes_text, physical_memory

    memory = physical_memory()
    if memory is None:
        return
    item = torch.finfo(dtype).bits // 8
    samples = n * (height * supersample) * (width * supersample)
    need = samples * (7 * item + 2 * 8)  # rgb, depth, normals in dtype; object ids and surfaces in int64
    if need > memory:
        detail = "" if supersample == 1 else (f" at supersample {supersample} ({height * supersample}x"
                                              f"{width * supersample} samples each)")
        raise ValueError(f"rendering {n} views of {height}x{width}{detail} needs {bytes_text(need)} of memory, more "
                         f"than this machine's {bytes_text(memory)}: render fewer or smaller views")


def render(
    scene: Scene,
    c2w: Tensor,
    K: Tensor,
    height: int,
    width: int,
    times: Tensor | None = None,
    device: torch.device | str | None = None,
    *,
    supersample: int = 1,
    shadows: bool = True,
    chunk_rays: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> RenderOutput:
    """Render ``N`` views of ``scene``.

    Args:
        scene: from :func:`make_scene`.
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (``[4, 4]`` is treated as N = 1).
        K: ``[N, 3, 3]`` or ``[3, 3]`` normalised intrinsics.
        height, width: image size in pixels.
        times: ``[N]`` times in [0, 1] at which each view sees the (moving) objects; None: all 0.
        device: where to render (default: CPU); outputs stay there.
        supersample: odd factor s (1, 3, 5): rgb is averaged over s x s samples per pixel (anti-
            aliasing); depth, ids and normals are those of the exact pixel-centre sample.
        shadows: cast hard sun shadows from the objects.
        chunk_rays: rays traced at once (bounds memory; the result does not depend on it);
            default 2**16 on the CPU, 2**20 on CUDA (several frames per pass).
        dtype: what the rays are traced in (outputs are float32 either way). ``torch.float64`` gives the same
            8-bit frames on every CPU tried, whatever kernels it picks (AMD EPYC and Intel Xeon, torch 2.11 and
            2.13: the same float32 frames bit for bit under AVX-512 kernels, within 4e-6 without SIMD); float32
            renders differ there by up to 0.16 at edge pixels and in 9-40 8-bit values of a 16-frame 128-px clip
            (``benchmarks/render_spread.py``). The recorded benchmark figures are of float32 renders; the tests of
            from-video's single-clip choices trace in float64.
    Returns:
        :class:`RenderOutput`.
    Raises:
        ValueError: bad arguments, or (on the CPU) buffers larger than the machine's memory (:func:`_check_memory`).
    """
    from genxd.checkpoints import pick_device

    if not isinstance(scene, Scene):  # None or a path: an AttributeError from deep inside before
        raise TypeError(f"scene must be a Scene (genxd.data.synthetic.make_scene), got {type(scene).__name__}")
    # device="nope" / "cuda" without CUDA: torch's RuntimeError / AssertionError before
    device = pick_device(device) if device is not None else torch.device("cpu")
    if height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    if supersample < 1 or supersample % 2 == 0:
        raise ValueError(f"supersample must be an odd integer >= 1, got {supersample}")
    c2w = torch.as_tensor(c2w)
    if c2w.ndim == 2:
        c2w = c2w[None]
    if c2w.ndim != 3:
        raise ValueError(f"c2w must be [N, 4, 4], got shape {tuple(c2w.shape)}")
    check_rigid(c2w, "c2w")
    n = c2w.shape[0]
    K = torch.as_tensor(K)
    if K.shape == (3, 3):
        K = K.expand(n, 3, 3)
    if K.shape != (n, 3, 3):
        raise ValueError(f"K must be [N, 3, 3] or [3, 3] with N = {n}, got shape {tuple(K.shape)}")
    if times is None:
        times = torch.zeros(n)
    times = torch.as_tensor(times, dtype=torch.float32).reshape(-1)
    if times.shape[0] != n:
        raise ValueError(f"times must have one value per view ({n}), got {times.shape[0]}")
    if not torch.isfinite(times).all() or times.min() < 0 or times.max() > 1:
        raise ValueError("times must be finite and in [0, 1]")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, not {dtype}")
    c2w = c2w.to(device=device, dtype=dtype)
    K = K.to(device=device, dtype=dtype)
    if (c2w[:, :3, 3].norm(dim=-1) >= scene.sky_radius * 0.9).any():
        raise ValueError(f"cameras must be within {0.9 * scene.sky_radius:.0f} world units of the origin")

    centres, rotations = scene.object_poses(times, dtype)
    centres_d, rotations_d = centres.to(device), rotations.to(device)
    st = _SceneTensors.from_scene(scene, device, dtype)
    centres_sorted, rotations_sorted = centres_d[:, st.order], rotations_d[:, st.order]
    s = supersample
    H, W = height * s, width * s
    if chunk_rays is None:
        chunk_rays = 1 << 20 if device.type == "cuda" else 1 << 16
    if chunk_rays < 1:
        raise ValueError(f"chunk_rays must be >= 1, got {chunk_rays}")
    if device.type == "cpu":
        _check_memory(n, height, width, s, dtype)
    pixel_angle = 1.0 / (K[:, 0, 0] * W)  # radians per (sub)pixel at the image centre
    forward = c2w[:, :3, 2]

    rgb = torch.empty((n, H * W, 3), device=device, dtype=dtype)
    depth = torch.empty((n, H * W), device=device, dtype=dtype)
    object_id = torch.empty((n, H * W), dtype=torch.int64, device=device)
    surface = torch.empty((n, H * W), dtype=torch.int64, device=device)
    normals = torch.empty((n, H * W, 3), device=device, dtype=dtype)
    frames_per_chunk = max(1, chunk_rays // (H * W))
    pixels_per_chunk = min(H * W, chunk_rays)
    for f0 in range(0, n, frames_per_chunk):
        f1 = min(n, f0 + frames_per_chunk)
        origins, dirs = rays(c2w[f0:f1], K[f0:f1], H, W)
        origins, dirs = origins.reshape(f1 - f0, H * W, 3), dirs.reshape(f1 - f0, H * W, 3)
        for p0 in range(0, H * W, pixels_per_chunk):
            p1 = min(H * W, p0 + pixels_per_chunk)
            out = _cast(
                origins[:, p0:p1],
                dirs[:, p0:p1],
                centres_sorted[f0:f1],
                rotations_sorted[f0:f1],
                forward[f0:f1],
                pixel_angle[f0:f1],
                scene,
                st,
                shadows,
            )
            rgb[f0:f1, p0:p1], depth[f0:f1, p0:p1], object_id[f0:f1, p0:p1] = out[0], out[1], out[2]
            surface[f0:f1, p0:p1], normals[f0:f1, p0:p1] = out[3], out[4]

    rgb = rgb.reshape(n, H, W, 3).permute(0, 3, 1, 2)
    normals = normals.reshape(n, H, W, 3).permute(0, 3, 1, 2)
    depth, object_id, surface = (x.reshape(n, H, W) for x in (depth, object_id, surface))
    if s > 1:
        rgb = F.avg_pool2d(rgb, kernel_size=s)
        c = s // 2
        depth, object_id, surface = (x[:, c::s, c::s] for x in (depth, object_id, surface))
        normals = normals[:, :, c::s, c::s]
    rgb, depth, normals = rgb.float(), depth.float(), normals.float()
    centres_d, rotations_d = centres_d.float(), rotations_d.float()
    return RenderOutput(
        rgb=rgb.contiguous(),
        depth=depth.contiguous(),
        object_id=object_id.contiguous(),
        surface=surface.contiguous(),
        normals=normals.contiguous(),
        object_positions=centres_d,
        object_rotations=rotations_d,
        times=times.to(device),
    )
