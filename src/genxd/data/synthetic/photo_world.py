"""Worlds textured with photographs, ray cast exactly (CPU or CUDA): training data that carries real pictures.

A :class:`PhotoWorld` holds

- **rectangles** ("photo cards", walls, backdrops): a centre, two orthonormal in-plane axes ``u``
  (texture right) and ``v`` (texture down), half-extents, one photo each; a card may move in 4D
  clips (``centre(t) = centre + ease(t) * displacement``, ``ease`` of :mod:`.scene`). Cards are
  *emissive* by default (unlit: they look exactly like their photo from every side), walls lit;
- **objects**: the primitives of a :class:`~genxd.data.synthetic.scene.Scene` (with its exact motion),
  each wrapped in a photo (sphere: latitude-longitude, box: one planar map per face, cylinder: angle
  and height on the side, planar on the caps; mirrored where a map meets itself);
- an optional **ground** plane ``y = ground_y`` (+y is up) tiled with a photo (mirrored repeat of
  ``ground_tile`` world units);
- a **sky** sphere of radius ``SKY_RADIUS`` about the origin: a photo panorama (azimuth mirrored
  every ``sky_span`` radians, elevation from ``-sky_low`` to ``+sky_high`` of the photo's height) or
  a flat colour.

Lit surfaces get the Lambertian sun of the procedural scenes (``ambient + (1 - ambient) max(n.l, 0)``,
hard shadows cast by the objects). Depth, surface ids and entity poses are exact, so
:func:`genxd.data.synthetic.ground_truth.image_motion_strength` works on a world as on a
:class:`Scene` (ids: objects ``1..M``, rectangles ``M+1..M+R``; 0 for ground and sky).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genxd.cameras import check_rigid, rays

from .render import _hit_box, _hit_cylinder, _hit_sphere, _local_normals
from .scene import BOX, CYLINDER, SKY_RADIUS, SPHERE, Scene, ease

__all__ = ["PhotoWorld", "PhotoRender", "render_photo_world"]

_INF = float("inf")
_EPS = 1e-4


@dataclass(frozen=True, eq=False)
class PhotoWorld:
    """A photo-textured world (see the module docstring). Tensors are float32 on the CPU.

    Attributes:
        textures: list of ``[3, S_h, S_w]`` photos in [0, 1] (any sizes).
        rect_centres ``[R, 3]``, rect_u ``[R, 3]``, rect_v ``[R, 3]`` (unit, orthogonal),
        rect_half ``[R, 2]`` (half-extents along u and v), rect_texture ``[R]`` int64,
        rect_lit ``[R]`` bool, rect_displacements ``[R, 3]`` (net motion over the clip).
        scene: the primitives (and their motion), or None; object_texture ``[M]`` int64.
        ground_texture: texture index or -1 (no ground); ground_y, ground_tile (world units).
        sky_texture: texture index or -1 (flat ``sky_color``); sky_span, sky_low, sky_high (radians).
        sun_direction ``[3]`` (unit, towards the sun); ambient in [0, 1].
        motion_strength: the largest net displacement of a moving entity (world units; 0: static).
    """

    textures: list[Tensor]
    rect_centres: Tensor
    rect_u: Tensor
    rect_v: Tensor
    rect_half: Tensor
    rect_texture: Tensor
    rect_lit: Tensor
    rect_displacements: Tensor
    scene: Scene | None = None
    object_texture: Tensor | None = None
    ground_texture: int = -1
    ground_y: float = 0.0
    ground_tile: float = 1.0
    sky_texture: int = -1
    sky_color: tuple[float, float, float] = (0.6, 0.7, 0.9)
    sky_span: float = 2.0
    sky_low: float = 0.3
    sky_high: float = 1.0
    sun_direction: Tensor | None = None
    ambient: float = 0.5
    motion_strength: float = 0.0
    sky_radius: float = SKY_RADIUS

    @property
    def num_objects(self) -> int:
        return 0 if self.scene is None else self.scene.num_objects

    @property
    def num_rects(self) -> int:
        return int(self.rect_centres.shape[0])

    def object_poses(self, times: Tensor) -> tuple[Tensor, Tensor]:
        """Poses of every entity at ``times [T]``: centres ``[T, M + R, 3]``, rotations ``[T, M + R, 3, 3]``
        (objects first, then rectangles, which translate only)."""
        times = torch.as_tensor(times, dtype=torch.float32).reshape(-1).cpu()
        s = ease(times.clamp(0.0, 1.0))[:, None, None]
        rc = self.rect_centres[None] + s * self.rect_displacements[None]  # T R 3
        rr = torch.eye(3).expand(len(times), self.num_rects, 3, 3)
        if self.scene is None:
            return rc, rr.clone()
        oc, orot = self.scene.object_poses(times)
        return torch.cat([oc, rc], 1), torch.cat([orot, rr], 1)


@dataclass
class PhotoRender:
    """Renders of ``N`` views: rgb ``[N, 3, H, W]`` in [0, 1], z-depth ``[N, H, W]``, object_id
    ``[N, H, W]`` int64 (0 ground/sky, 1..M objects, M+1..M+R rectangles), sky ``[N, H, W]`` bool,
    times ``[N]``."""

    rgb: Tensor
    depth: Tensor
    object_id: Tensor
    sky: Tensor
    times: Tensor


def _mirror(x: Tensor) -> Tensor:
    """Mirrored repeat of [0, 1]: 0 -> 0, 1 -> 1, 2 -> 0, ... (a triangle wave)."""
    f = torch.remainder(x, 2.0)
    return torch.where(f > 1.0, 2.0 - f, f)


def _sample(textures: list[Tensor], tex: Tensor, uv: Tensor) -> Tensor:
    """Colours ``[P, 3]`` of texture ``tex [P]`` at ``uv [P, 2]`` in [0, 1] (bilinear, edge-clamped)."""
    out = uv.new_zeros(uv.shape[0], 3)
    for t in tex.unique().tolist():
        m = tex == t
        grid = (uv[m] * 2 - 1).reshape(1, 1, -1, 2)
        out[m] = F.grid_sample(textures[t][None], grid, mode="bilinear", padding_mode="border",
                               align_corners=False)[0, :, 0].T
    return out


def _object_uv(p: Tensor, kind: Tensor, size: Tensor) -> Tensor:
    """Texture coordinates ``[P, 2]`` in [0, 1] of local surface points ``p [P, 3]`` of primitives."""
    x, y, z = p.unbind(-1)
    # sphere: longitude (mirrored twice round, so no seam) and latitude
    r = size[:, 0]
    lon = torch.atan2(x, z) / torch.pi  # [-1, 1]
    lat = torch.acos((y / r).clamp(-1, 1)) / torch.pi  # 0 top .. 1 bottom
    uv_sphere = torch.stack([_mirror(lon + 1.0), lat], -1)
    # box: planar map on each face
    q = p / size
    axis = q.abs().argmax(-1)
    a = torch.where(axis == 0, q[:, 2], q[:, 0])
    b = torch.where(axis == 1, q[:, 2], -q[:, 1])
    uv_box = torch.stack([(a + 1) / 2, (b + 1) / 2], -1)
    # cylinder: side (angle mirrored, height) or caps (planar)
    h = size[:, 1]
    on_cap = y.abs() >= h * (1.0 - 1e-4)
    ang = torch.atan2(x, z) / torch.pi
    side = torch.stack([_mirror(ang + 1.0), (1 - y / h) / 2], -1)
    cap = torch.stack([(x / r + 1) / 2, (z / r + 1) / 2], -1)
    uv_cyl = torch.where(on_cap[:, None], cap, side)
    k = kind[:, None]
    uv = torch.where(k == SPHERE, uv_sphere, torch.where(k == BOX, uv_box, uv_cyl))
    return uv.clamp(0, 1)


def _hit_objects(o: Tensor, d: Tensor, centres: Tensor, rotations: Tensor, kinds: Tensor, sizes: Tensor,
                 radii: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Nearest object hit of rays ``o, d [P, 3]`` (unit ``d``; one frame) with objects posed by ``centres
    [M, 3]``, ``rotations [M, 3, 3]``: t ``[P]`` (inf: none), object ``[P]``, the rays that may hit (inside
    a bounding sphere of ``radii [M]``: the others are not intersected) ``[Q]`` and their local hit
    points ``[Q, 3]`` on their nearest object."""
    P, M = o.shape[0], kinds.shape[0]
    t_min = o.new_full((P,), _INF)
    obj = torch.zeros(P, dtype=torch.int64, device=o.device)
    # bounding-sphere test first: most rays miss every object
    # (matrix products instead of [P, M, 3] temporaries) along = (c - o).d, |c - o|^2 - along^2
    along = d @ centres.T - (o * d).sum(-1, keepdim=True)
    dist2 = (centres * centres).sum(-1)[None] - 2 * (o @ centres.T) + (o * o).sum(-1, keepdim=True)
    miss2 = dist2 - along * along
    near = (miss2 <= radii[None] ** 2) & (along + radii[None] > 0)
    cand = near.any(-1).nonzero(as_tuple=True)[0]
    if cand.numel() == 0:
        return t_min, obj, cand, o.new_zeros(0, M, 3)
    oc, dc = o[cand], d[cand]
    o_local = torch.einsum("pmk,mkj->pmj", oc[:, None, :] - centres[None], rotations)
    d_local = torch.einsum("pk,mkj->pmj", dc, rotations)
    t = oc.new_full((cand.numel(), M), _INF)
    for kind, fn in ((SPHERE, _hit_sphere), (BOX, _hit_box), (CYLINDER, _hit_cylinder)):
        sel = (kinds == kind).nonzero(as_tuple=True)[0]
        if sel.numel():
            t[:, sel] = fn(o_local[:, sel], d_local[:, sel], sizes[sel])
    tc, oc_idx = t.min(-1)
    t_min[cand] = tc
    obj[cand] = oc_idx
    idx = oc_idx[:, None, None].expand(-1, 1, 3)
    p_local = o_local.gather(1, idx)[:, 0] + tc[:, None].clamp_max(1e6) * d_local.gather(1, idx)[:, 0]
    return t_min, obj, cand, p_local


def _hit_rects(o: Tensor, d: Tensor, centres: Tensor, u: Tensor, v: Tensor, half: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
    """Nearest rectangle hit of rays ``[P, 3]``: t ``[P]``, rectangle ``[P]``, texture uv ``[P, 2]``."""
    n = torch.cross(u, v, dim=-1)  # R 3
    denom = d @ n.T  # P R
    safe = torch.where(denom.abs() < 1e-12, torch.full_like(denom, 1e-12), denom)
    t = ((centres * n).sum(-1)[None] - o @ n.T) / safe
    # in-plane coordinates without [P, R, 3] temporaries: (o + t d - c) . u
    a = (o @ u.T + t * (d @ u.T) - (centres * u).sum(-1)[None]) / half[None, :, 0]
    b = (o @ v.T + t * (d @ v.T) - (centres * v).sum(-1)[None]) / half[None, :, 1]
    ok = (t > _EPS) & (a.abs() <= 1) & (b.abs() <= 1)
    t = torch.where(ok, t, _INF)
    t_min, r = t.min(-1)
    idx = r[:, None]
    uv = torch.stack([(a.gather(1, idx)[:, 0] + 1) / 2, (b.gather(1, idx)[:, 0] + 1) / 2], -1)
    return t_min, r, uv.clamp(0, 1)


def _shade(normals: Tensor, points: Tensor, world: PhotoWorld, sun: Tensor, centres: Tensor, rotations: Tensor
           ) -> Tensor:
    """Lambertian shading ``[P]`` with hard shadows from the objects."""
    n_dot_l = (normals * sun).sum(-1).clamp_min(0.0)
    facing = (n_dot_l > 0).nonzero(as_tuple=True)[0]
    if world.scene is not None and world.num_objects and facing.numel():
        origins = points[facing] + normals[facing] * 1e-3
        t, _, _, _ = _hit_objects(origins, sun.expand(origins.shape[0], 3), centres, rotations,
                                  world.scene.kinds.to(points.device), world.scene.sizes.to(points.device),
                                  world.scene.bounding_radii.to(points.device))
        n_dot_l[facing] = torch.where(torch.isfinite(t), 0.0, n_dot_l[facing])
    return world.ambient + (1.0 - world.ambient) * n_dot_l


def _cast_frame(o: Tensor, d: Tensor, forward: Tensor, world: PhotoWorld, tex: list[Tensor], time: float,
                device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """rgb ``[P, 3]``, z-depth ``[P]``, entity id ``[P]``, sky ``[P]`` of the rays of one frame at ``time``."""
    P = o.shape[0]
    M, R = world.num_objects, world.num_rects
    centres_all, rot_all = world.object_poses(torch.tensor([time]))
    centres_all, rot_all = centres_all[0].to(device), rot_all[0].to(device)
    best = o.new_full((P,), _INF)
    ident = torch.zeros(P, dtype=torch.int64, device=device)  # 0: ground/sky, 1..M objects, M+1.. rects
    rgb = o.new_zeros(P, 3)
    normals = o.new_zeros(P, 3)
    lit = torch.zeros(P, dtype=torch.bool, device=device)

    # ground
    ground = o.new_full((P,), _INF)
    if world.ground_texture >= 0:
        dy = torch.where(d[:, 1].abs() < 1e-12, torch.full_like(d[:, 1], 1e-12), d[:, 1])
        tg = (world.ground_y - o[:, 1]) / dy
        ground = torch.where(tg > _EPS, tg, _INF)
    obj_t = o.new_full((P,), _INF)
    scene = world.scene
    if M:
        assert scene is not None  # world.num_objects is 0 without a scene
        kinds, sizes = scene.kinds.to(device), scene.sizes.to(device)
        obj_t, obj, cand, p_cand = _hit_objects(o, d, centres_all[:M], rot_all[:M], kinds, sizes,
                                                scene.bounding_radii.to(device))
    rect_t = o.new_full((P,), _INF)
    if R:
        rect_t, rect, rect_uv = _hit_rects(o, d, centres_all[M:], world.rect_u.to(device), world.rect_v.to(device),
                                           world.rect_half.to(device))
    # sky sphere about the origin (the camera is inside it)
    b = (o * d).sum(-1)
    c = (o * o).sum(-1) - world.sky_radius**2
    sky_t = -b + torch.sqrt((b * b - c).clamp_min(0.0))
    best = sky_t.clone()
    what = torch.zeros(P, dtype=torch.int64, device=device)  # 0 sky, 1 ground, 2 object, 3 rect
    for code, t in ((1, ground), (2, obj_t), (3, rect_t)):
        closer = t < best
        best = torch.where(closer, t, best)
        what = torch.where(closer, code, what)
    points = o + best[:, None] * d

    sel = (what == 0).nonzero(as_tuple=True)[0]
    if sel.numel():
        dirs = points[sel] / world.sky_radius
        if world.sky_texture >= 0:
            az = torch.atan2(dirs[:, 0], dirs[:, 2])
            el = torch.asin(dirs[:, 1].clamp(-1, 1))
            u = _mirror(az / world.sky_span + 1000.0)
            v = ((world.sky_high - el) / (world.sky_high + world.sky_low)).clamp(0, 1)
            rgb[sel] = _sample(tex, torch.full_like(sel, world.sky_texture), torch.stack([u, v], -1))
        else:
            rgb[sel] = torch.tensor(world.sky_color, dtype=rgb.dtype, device=device)
    sel = (what == 1).nonzero(as_tuple=True)[0]
    if sel.numel():
        p = points[sel]
        uv = torch.stack([_mirror(p[:, 0] / world.ground_tile + 1000.0), _mirror(p[:, 2] / world.ground_tile + 1000.0)], -1)
        rgb[sel] = _sample(tex, torch.full_like(sel, world.ground_texture), uv)
        normals[sel] = torch.tensor([0.0, 1.0, 0.0], device=device)
        lit[sel] = True
    sel = (what == 2).nonzero(as_tuple=True)[0]
    if sel.numel():
        m = obj[sel]
        slot = torch.full((P,), -1, dtype=torch.int64, device=device)
        slot[cand] = torch.arange(cand.numel(), device=device)
        p_local = p_cand[slot[sel]]
        assert scene is not None and world.object_texture is not None  # objects are hit only with a scene
        kinds_m, sizes_m = scene.kinds.to(device)[m], scene.sizes.to(device)[m]
        n_local = _local_normals(p_local, kinds_m, sizes_m)
        normals[sel] = (rot_all[m] @ n_local[..., None]).squeeze(-1)
        uv = _object_uv(p_local, kinds_m, sizes_m)
        rgb[sel] = _sample(tex, world.object_texture.to(device)[m], uv)
        ident[sel] = m + 1
        lit[sel] = True
    sel = (what == 3).nonzero(as_tuple=True)[0]
    if sel.numel():
        r = rect[sel]
        rgb[sel] = _sample(tex, world.rect_texture.to(device)[r], rect_uv[sel])
        n = torch.cross(world.rect_u.to(device)[r], world.rect_v.to(device)[r], dim=-1)
        n = torch.where(((n * d[sel]).sum(-1) > 0)[:, None], -n, n)  # facing the camera
        normals[sel] = n
        ident[sel] = M + 1 + r
        lit[sel] = world.rect_lit.to(device)[r]
    sel = lit.nonzero(as_tuple=True)[0]
    if sel.numel():
        sun = world.sun_direction.to(device) if world.sun_direction is not None else torch.tensor([0.3, 0.8, 0.5], device=device)
        sun = sun / sun.norm()
        shade = _shade(normals[sel], points[sel], world, sun, centres_all[:M], rot_all[:M])
        rgb[sel] = rgb[sel] * shade[:, None]
    depth = best * (d * forward).sum(-1)
    return rgb.clamp(0, 1), depth, ident, what == 0


def render_photo_world(world: PhotoWorld, c2w: Tensor, K: Tensor, height: int, width: int,
                       times: Tensor | None = None, device: torch.device | str | None = None,
                       supersample: int = 3) -> PhotoRender:
    """Render ``N`` views of ``world``: ``c2w [N, 4, 4]`` OpenCV camera-to-world, ``K [N, 3, 3]`` normalised,
    ``times [N]`` in [0, 1] (default 0). ``supersample`` s: rgb is the mean of s x s samples per pixel;
    depth, ids and sky are those of the sample nearest the pixel centre (s odd: exactly the centre)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    c2w = torch.as_tensor(c2w)
    if c2w.ndim == 2:
        c2w = c2w[None]
    check_rigid(c2w, "c2w")
    n = c2w.shape[0]
    K = torch.as_tensor(K)
    if K.shape == (3, 3):
        K = K.expand(n, 3, 3)
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    times = torch.zeros(n) if times is None else torch.as_tensor(times, dtype=torch.float32).reshape(-1)
    if times.shape[0] != n:
        raise ValueError(f"times must have one value per view ({n}), got {times.shape[0]}")
    if (c2w[:, :3, 3].norm(dim=-1) >= world.sky_radius * 0.9).any():
        raise ValueError(f"cameras must be within {0.9 * world.sky_radius:.0f} world units of the origin")
    s = int(supersample)
    H, W = height * s, width * s
    c2w_d, K_d = c2w.to(device, torch.float32), K.to(device, torch.float32)
    tex = [t.to(device, torch.float32).contiguous() for t in world.textures]
    rgb, depth, ids, sky = [], [], [], []
    for i in range(n):
        o, d = rays(c2w_d[i], K_d[i], H, W)
        out = _cast_frame(o.reshape(-1, 3), d.reshape(-1, 3), c2w_d[i, :3, 2], world, tex, float(times[i]), device)
        rgb.append(out[0].reshape(H, W, 3).permute(2, 0, 1))
        depth.append(out[1].reshape(H, W))
        ids.append(out[2].reshape(H, W))
        sky.append(out[3].reshape(H, W))
    rgb_t = torch.stack(rgb)
    if s > 1:
        rgb_t = F.avg_pool2d(rgb_t, s)
    c = s // 2
    pick = lambda x: torch.stack(x)[:, c::s, c::s].contiguous()  # noqa: E731
    return PhotoRender(rgb=rgb_t.contiguous(), depth=pick(depth), object_id=pick(ids), sky=pick(sky), times=times.to(device))
