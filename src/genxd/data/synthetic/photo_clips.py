"""Random photo-textured clips (:mod:`.photo_world`): training data that teaches a model to carry its input.

``make_photo_clip(seed, kind, ...)`` draws a layout, its photos (random crops of the training
photographs, :class:`~genxd.data.synthetic.photos.PhotoPool`), a camera path and, for 4D, what moves,
all from ``seed``, and renders it. Two layouts:

- ``"cards"`` (*photo cards*): the first camera looks at 0-4 (4D: 1-4) planar photos at depths 1.2-6 (facing it,
  some turned by up to 25 degrees) in front of a large photo backdrop at depth 7-14 that fills every
  view of the path (a photo panorama behind it, a photo floor 40 % of the time). Exact parallax
  between the cards; with no card the clip is "a photograph seen by a moving camera". 4D: one or two
  cards slide in their plane.
- ``"world"``: the procedural scene's primitives (``make_scene``, with their exact motion in 4D)
  wrapped in photos, on a photo-tiled ground, 0-3 photo walls 6-9 units away, under a photo
  panorama (70 %) or a flat sky; lit by the sun with shadows.

Camera paths (relative to the first camera, then placed in the world):

- cards: ``rotate`` (pan or look-around in place: homography views), ``zoom`` (focal x0.65-1.6),
  ``dolly``, ``truck`` (sideways), ``spiral``, ``orbit`` (about the middle card, 10-35 degrees),
  ``orbit_wide`` (opt-in, by name; 40-180 degrees, or the whole circle, about a cluster of 1-3 cards; every texture of
  the clip, panorama and floor included, is cut from **one** photo with one colour jitter, so the views
  the orbit turns to show more of the input photo's content, as a model should fill them when it has
  nothing else to go on), ``handheld`` (small look-around with hand-held shake), ``static`` (4D);
- world: :func:`~genxd.data.synthetic.cameras.camera_path` kinds (orbit, forward, handheld, sway,
  spiral, dolly, pan, zoom, rotate, static).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence, TypedDict, cast

import numpy as np
import torch
from torch import Tensor

from genxd.cameras import look_at, trajectories

from ...cameras.camera_path import square_pixel_intrinsics
from .cameras import camera_path, look_around, place_path, rotation_path
from .photo_world import PhotoRender, PhotoWorld, render_photo_world
from .photos import PhotoPool, color_jitter
from .scene import make_scene

__all__ = [
    "PHOTO_LAYOUTS",
    "CARD_CAMERAS_3D",
    "CARD_CAMERAS_4D",
    "CARD_CAMERAS_OPT_IN",
    "WORLD_CAMERAS_3D",
    "WORLD_CAMERAS_4D",
    "PhotoClip",
    "make_photo_clip",
    "card_world",
    "textured_world",
]

PHOTO_LAYOUTS = ("cards", "world")
CARD_CAMERAS_3D = ("rotate", "zoom", "dolly", "truck", "spiral", "orbit", "handheld")
#: Card paths drawn only when asked for by name (``cameras_cards`` of the photo dataset).
CARD_CAMERAS_OPT_IN = ("orbit_wide",)
CARD_CAMERAS_4D = ("static", "rotate", "zoom", "dolly", "truck", "orbit")
WORLD_CAMERAS_3D = ("orbit", "forward", "handheld", "sway", "spiral", "rotate", "zoom")
WORLD_CAMERAS_4D = ("orbit", "forward", "handheld", "static", "sway", "pan", "dolly", "rotate", "zoom")
#: Scene seeds of the "world" layout are offset so they never repeat the procedural dataset's scenes.
WORLD_SEED_OFFSET = 10**12


class SkySettings(TypedDict):
    """A layout's sky band: its angular span and low / high edges (:class:`PhotoWorld` keywords)."""

    sky_span: float
    sky_low: float
    sky_high: float


@dataclass
class PhotoClip:
    """A rendered photo clip: ``world``, cameras ``c2w [N, 4, 4]``, ``K [N, 3, 3]``, ``times [N]``, the
    :class:`PhotoRender` (rgb, depth, ids, sky) and what was drawn (``layout``, ``camera``, ``kind``)."""

    seed: int
    kind: str
    layout: str
    camera: str
    world: PhotoWorld
    c2w: Tensor
    K: Tensor
    times: Tensor
    render: PhotoRender

    @property
    def images(self) -> Tensor:
        return self.render.rgb


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _card_cameras(rng: np.random.Generator, camera: str, n: int, focal: float, depths: np.ndarray
                  ) -> tuple[Tensor, Tensor]:
    """A path relative to the first camera (identity) for the cards layout."""
    mid = float(np.median(depths)) if len(depths) else 4.0
    near = float(depths.min()) if len(depths) else 4.0
    sign = lambda: float(rng.choice([-1.0, 1.0]))  # noqa: E731
    if camera == "rotate":
        return rotation_path(rng, n, focal)
    if camera == "zoom":
        factor = float(np.exp(rng.uniform(np.log(0.65), np.log(1.6))))
        return trajectories.zoom(n, factor=factor, focal=focal)
    if camera == "dolly":
        dist = near * rng.uniform(0.15, 0.5) * (1.0 if rng.random() < 0.7 else -1.0)
        return trajectories.dolly(n, distance=dist, focal=focal)
    if camera == "truck":
        return trajectories.pan(n, mode="translate", distance=sign() * mid * rng.uniform(0.08, 0.3), focal=focal)
    if camera == "spiral":
        return trajectories.spiral(n, radius=mid * rng.uniform(0.05, 0.2), num_rotations=float(rng.uniform(0.5, 1.0)),
                                   focus_distance=mid, focal=focal)
    if camera == "orbit":
        span = sign() * rng.uniform(10.0, 35.0)
        return trajectories.orbit(n, elevation=0.0, azimuth_range=(0.0, span), radius=mid, focal=focal)
    if camera == "orbit_wide":  # the whole circle as the `orbit` preset draws it (end excluded), or an arc
        span = sign() * (360.0 if rng.random() < 0.35 else rng.uniform(40.0, 180.0))
        return trajectories.orbit(n, elevation=0.0, azimuth_range=(0.0, span), radius=mid, focal=focal)
    if camera == "handheld":
        c2w, K = look_around(n, focal, sign() * rng.uniform(2.0, 8.0), sign() * rng.uniform(0.0, 4.0), cycles=0.5)
        shaken = trajectories.handheld_jitter(c2w, amplitude=0.01 * mid, seed=int(rng.integers(2**31)), rotation_deg=0.5,
                                             period=4.0)
        return shaken.float(), K
    if camera == "static":
        return trajectories.static(n, focal=focal)
    raise ValueError(f"unknown cards camera {camera!r}")


def _frusta_on_plane(c2w: Tensor, K: Tensor, centre: np.ndarray, u: np.ndarray, v: np.ndarray) -> float | None:
    """Largest |coordinate| along ``u``/``v`` at which the image corners of all cameras meet the plane
    through ``centre`` spanned by ``u, v``; None when a corner ray misses it (looks away)."""
    n = np.cross(u, v)
    corners = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.5, 0.5, 1.0]],
                           dtype=torch.float64)
    reach = 0.0
    for c, k in zip(c2w.double(), K.double()):
        d = (corners @ torch.linalg.inv(k).T) @ c[:3, :3].T  # 5 3 world directions
        o = c[:3, 3].numpy()
        for dd in d.numpy():
            denom = float(dd @ n)
            if abs(denom) < 1e-6:
                return None
            t = float((centre - o) @ n) / denom
            if t <= 0:
                return None
            p = o + t * dd - centre
            reach = max(reach, abs(float(p @ u)), abs(float(p @ v)))
    return reach


@dataclass(frozen=True)
class _CardLayout:
    """What the cards world does differently for wide orbits (``orbit_wide``): a cluster of 1-3 cards near the
    orbit's centre, every texture from the clip's one photo, a backdrop beyond the far side of the camera's
    circle framed for the first view only (the others turn away from it), and a panorama square in angle.
    The methods draw from ``rng`` exactly as the layout of the other cameras always has."""

    wide: bool

    def card_depths(self, rng: np.random.Generator, kind: str) -> np.ndarray:
        """Depths of the cards along the first view, far to near."""
        n_cards = int(rng.choice([0, 1, 2, 3, 4], p=[0.15, 0.2, 0.25, 0.2, 0.2]))
        if kind == "4d":
            n_cards = max(n_cards, 1)  # something moves
        if self.wide:  # a cluster near the orbit's centre, well inside the camera's circle
            n_cards = int(rng.integers(1, 4))
            return np.sort(rng.uniform(2.5, 5.0) * rng.uniform(0.8, 1.2, size=n_cards))[::-1]
        return np.sort(rng.uniform(1.2, 6.0, size=n_cards))[::-1]

    def crops(self, rng: np.random.Generator, pool: PhotoPool):
        """``crop(size, **kw)``: a crop of a random photo, or (wide) of the clip's one photo with its one jitter."""
        if not self.wide:
            return lambda size, **kw: pool.crop(rng, size, **kw)
        one_photo = int(rng.integers(len(pool)))
        shared_jitter = int(rng.integers(2**31))
        return lambda size, **kw: color_jitter(pool.crop(rng, size, jitter=False, photo=one_photo, **kw),
                                               np.random.default_rng(shared_jitter)).clamp(0, 1)

    @property
    def card_spread(self) -> tuple[float, float]:
        """Range of a card centre's position across the first view (fraction of the image)."""
        return (0.3, 0.7) if self.wide else (0.15, 0.85)

    def backdrop_depth(self, rng: np.random.Generator, depths: np.ndarray) -> float:
        depth = rng.uniform(7.0, 14.0)
        return max(depth, 2.5 * float(depths.max())) if self.wide else depth  # wide: beyond the circle's far side

    def framed(self, c2w: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
        """The cameras the backdrop must fill (wide: the first view only) and its margin."""
        return (c2w[:1], K[:1]) if self.wide else (c2w, K)

    @property
    def backdrop_margin(self) -> float:
        return 1.3 if self.wide else 1.02

    @property
    def panorama_size(self) -> tuple[int, int]:
        """Wide orbits see all of the panorama: its pixels square in angle (1.2 rad x 2.4 rad)."""
        return (160, 320) if self.wide else (96, 384)

    def sky(self, rng: np.random.Generator) -> SkySettings:
        if self.wide:
            return SkySettings(sky_span=2.4, sky_low=0.5, sky_high=0.7)
        return SkySettings(sky_span=float(rng.uniform(1.0, 2.5)), sky_low=0.6, sky_high=1.2)


def card_world(rng: np.random.Generator, pool: PhotoPool, kind: str, num_frames: int, focal: float,
               camera: str | None = None) -> tuple[PhotoWorld, Tensor, Tensor, str]:
    """A cards-layout world and its cameras ``(world, c2w [N, 4, 4], K [N, 3, 3], camera name)``."""
    choices = CARD_CAMERAS_3D if kind == "3d" else CARD_CAMERAS_4D
    camera = camera or str(rng.choice(choices))
    layout = _CardLayout(wide=camera == "orbit_wide")
    eye_y = 1.5
    first = look_at(torch.tensor([0.0, eye_y, 0.0], dtype=torch.float64), torch.tensor([0.0, eye_y, 1.0], dtype=torch.float64))
    R0 = first[:3, :3].numpy()
    right, down, fwd = R0[:, 0], R0[:, 1], R0[:, 2]
    eye = np.array([0.0, eye_y, 0.0])
    depths = layout.card_depths(rng, kind)
    n_cards = len(depths)
    crop = layout.crops(rng, pool)
    rel, K = _card_cameras(rng, camera, num_frames, focal, depths)
    c2w = place_path(rel, first)
    textures: list[Tensor] = []
    centres, us, vs, halves, texs, lits, disps = [], [], [], [], [], [], []
    moving = set()
    if kind == "4d" and n_cards:
        moving = set(rng.choice(n_cards, size=min(n_cards, int(rng.integers(1, 3))), replace=False).tolist())
    for j, d in enumerate(depths):
        half_view = d * 0.5 / focal
        hw = half_view * rng.uniform(0.2, 0.7)
        aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))  # width / height
        hh = hw / aspect
        px, py = rng.uniform(*layout.card_spread, size=2)
        centre = eye + d * (fwd + (px - 0.5) / focal * right + (py - 0.5) / focal * down)
        yaw = math.radians(rng.uniform(-25.0, 25.0)) if rng.random() < 0.5 else 0.0
        u = math.cos(yaw) * right + math.sin(yaw) * fwd
        size = (int(np.clip(round(160 * hh / hw), 48, 256)), 160) if hw >= hh else (160, int(np.clip(round(160 * hw / hh), 48, 256)))
        textures.append(crop(size))
        disp = np.zeros(3)
        if j in moving:
            ang = rng.uniform(0, 2 * np.pi)
            disp = (math.cos(ang) * u + 0.4 * math.sin(ang) * down) * half_view * rng.uniform(0.15, 0.6)
        centres.append(centre)
        us.append(u)
        vs.append(down)
        halves.append((hw, hh))
        texs.append(len(textures) - 1)
        lits.append(False)
        disps.append(disp)
    # the backdrop: facing the first camera, large enough for every view that must see it (else the panorama shows)
    depth_b = layout.backdrop_depth(rng, depths)
    centre_b = eye + depth_b * fwd
    reach = _frusta_on_plane(*layout.framed(c2w, K), centre_b, right, down)
    if reach is not None and reach < 40.0:
        half_b = reach * layout.backdrop_margin
        view_frac = min(1.0, (depth_b * 0.5 / focal) / half_b)
        side = int(np.clip(round(192 / max(view_frac, 1e-3)), 192, 448))
        textures.append(crop(side, scale=(0.6, 1.0)))
        centres.append(centre_b)
        us.append(right)
        vs.append(down)
        halves.append((half_b, half_b))
        texs.append(len(textures) - 1)
        lits.append(False)
        disps.append(np.zeros(3))
    textures.append(crop(layout.panorama_size, aspect=(0.9, 1.1)))  # the panorama
    sky = len(textures) - 1
    ground = -1
    ground_y = 0.0
    if rng.random() < 0.4:
        textures.append(crop(160))
        ground = len(textures) - 1
        ground_y = eye_y - rng.uniform(0.8, 1.4)
    ground_tile = float(rng.uniform(0.8, 2.5))
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(-1, 3), dtype=torch.float32)  # noqa: E731
    world = PhotoWorld(
        textures=textures, rect_centres=f32(centres), rect_u=f32(us), rect_v=f32(vs),
        rect_half=torch.as_tensor(np.asarray(halves, dtype=np.float64).reshape(-1, 2), dtype=torch.float32),
        rect_texture=torch.as_tensor(texs, dtype=torch.int64), rect_lit=torch.as_tensor(lits, dtype=torch.bool),
        rect_displacements=f32(disps), ground_texture=ground, ground_y=float(ground_y),
        ground_tile=ground_tile, sky_texture=sky, **layout.sky(rng),
        sun_direction=torch.tensor([0.3, 0.8, -0.5]), ambient=0.6,
        motion_strength=float(max((np.linalg.norm(x) for x in disps), default=0.0)),
    )
    return world, c2w.float(), K.float(), camera


def textured_world(rng: np.random.Generator, pool: PhotoPool, kind: str, num_frames: int, focal: float, seed: int,
                   camera: str | None = None, motion_strength: float | None = None) -> tuple[PhotoWorld, Tensor, Tensor, str]:
    """A world-layout world (photo-wrapped primitives, ground, walls, panorama) and its cameras."""
    from .clips import MOTION_STRENGTH_RANGE

    choices = WORLD_CAMERAS_3D if kind == "3d" else WORLD_CAMERAS_4D
    camera = camera or str(rng.choice(choices))
    scene_seed = WORLD_SEED_OFFSET + seed
    if kind == "4d":
        strength = float(rng.uniform(*MOTION_STRENGTH_RANGE)) if motion_strength is None else float(motion_strength)
        scene = make_scene(scene_seed, dynamic=True, motion_strength=strength)
    else:
        scene = make_scene(scene_seed)
    c2w, K = camera_path(camera, num_frames, seed=scene_seed, focal=focal)
    textures = [pool.crop(rng, 128) for _ in range(scene.num_objects)]
    object_texture = torch.arange(scene.num_objects, dtype=torch.int64)
    textures.append(pool.crop(rng, 192))
    ground = len(textures) - 1
    centres, us, vs, halves, texs = [], [], [], [], []
    for _ in range(int(rng.integers(0, 4))):
        az = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(6.0, 9.0)
        hw, hh = rng.uniform(1.5, 4.0), rng.uniform(1.0, 2.5)
        towards = np.array([math.cos(az), 0.0, math.sin(az)])  # from the origin to the wall
        centres.append(towards * dist + np.array([0.0, hh, 0.0]))
        us.append(_unit(np.cross(towards, [0.0, 1.0, 0.0])))
        vs.append(np.array([0.0, -1.0, 0.0]))
        halves.append((hw, hh))
        textures.append(pool.crop(rng, (128, int(np.clip(round(128 * hw / hh), 64, 320)))))
        texs.append(len(textures) - 1)
    sky = -1
    if rng.random() < 0.7:
        textures.append(pool.crop(rng, (96, 384), aspect=(0.9, 1.1)))
        sky = len(textures) - 1
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(-1, 3), dtype=torch.float32)  # noqa: E731
    world = PhotoWorld(
        textures=textures, rect_centres=f32(centres), rect_u=f32(us), rect_v=f32(vs),
        rect_half=torch.as_tensor(np.asarray(halves, dtype=np.float64).reshape(-1, 2), dtype=torch.float32),
        rect_texture=torch.as_tensor(texs, dtype=torch.int64), rect_lit=torch.ones(len(texs), dtype=torch.bool),
        rect_displacements=torch.zeros(len(texs), 3), scene=scene, object_texture=object_texture,
        ground_texture=ground, ground_y=0.0, ground_tile=float(rng.uniform(0.8, 3.0)), sky_texture=sky,
        sky_color=cast("tuple[float, float, float]", tuple(float(x) for x in rng.uniform(0.5, 0.95, 3))), sky_span=float(rng.uniform(1.0, 2.5)),
        sky_low=0.1, sky_high=1.2, sun_direction=scene.sun_direction, ambient=float(rng.uniform(0.45, 0.65)),
        motion_strength=scene.motion_strength,
    )
    return world, c2w, K, camera


def make_photo_clip(
    seed: int,
    kind: str = "3d",
    num_frames: int = 8,
    height: int = 64,
    width: int = 64,
    *,
    pool: PhotoPool | None = None,
    layout: str | None = None,
    layout_weights: Sequence[float] = (0.6, 0.4),
    camera: str | None = None,
    focal: float = 1.0,
    supersample: int = 3,
    device: torch.device | str | None = None,
) -> PhotoClip:
    """Draw and render one photo clip, fully determined by the arguments (and the pool's photos).

    Args:
        seed: drives everything drawn (layout, photos and crops, camera path, motion).
        kind: '3d' (static, all times 0) or '4d' (things move; times linspace(0, 1)).
        layout: 'cards' or 'world' (see the module docstring); random by ``layout_weights`` when None.
        camera: a path name of the layout (random when None).
    """
    if kind not in ("3d", "4d"):
        raise ValueError(f"kind must be '3d' or '4d', got {kind!r}")
    if layout is not None and layout not in PHOTO_LAYOUTS:
        raise ValueError(f"layout must be one of {PHOTO_LAYOUTS}, got {layout!r}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    pool = pool or PhotoPool()
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, 0x9407])
    w = np.asarray(layout_weights, dtype=np.float64)
    drawn = str(rng.choice(PHOTO_LAYOUTS, p=w / w.sum()))
    layout = layout or drawn
    if layout == "cards":
        world, c2w, K, camera = card_world(rng, pool, kind, num_frames, focal, camera)
    else:
        world, c2w, K, camera = textured_world(rng, pool, kind, num_frames, focal, seed, camera)
    times = torch.linspace(0.0, 1.0, num_frames) if (kind == "4d" and num_frames > 1) else torch.zeros(num_frames)
    K = square_pixel_intrinsics(K, height, width)  # focal is fx / W
    out = render_photo_world(world, c2w, K, height, width, times=times, device=device, supersample=supersample)
    return PhotoClip(int(seed), kind, layout, camera, world, c2w.float(), K.float(), times, out)


def clip_meta(clip: PhotoClip) -> dict[str, Any]:
    """A JSON-friendly summary of a photo clip (no pixels)."""
    return {"generator": "genxd.data.synthetic.photo_clips", "seed": clip.seed, "kind": clip.kind,
            "layout": clip.layout, "camera_path": clip.camera, "motion_strength": clip.world.motion_strength,
            "c2w_opencv": clip.c2w.tolist(), "K_normalized": clip.K.tolist(), "times": clip.times.tolist()}

