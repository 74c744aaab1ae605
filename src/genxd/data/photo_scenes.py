"""``type: photo`` training data: photo-textured 3D/4D clips rendered on the fly (exact cameras).

Item ``i`` renders :func:`genxd.data.synthetic.photo_clips.make_photo_clip` with the clip seed
``seed * 1_000_003 + i`` (its own random streams: no item repeats a procedural ``type: synthetic``
scene) and kind ``kinds[i % len(kinds)]``; the focal length is drawn from ``focal_range``. Textures are
crops of the **training** photographs only (:data:`genxd.data.synthetic.photos.TRAINING_PHOTOS`; the
held-out photos of ``genxd eval`` are refused). The sample dict, 8-bit quantisation, camera
normalisation (median depth of the first view's non-sky pixels = 1), motion strength (exact image
motion x ``motion_scale``) and the on-disk cache work as for :class:`genxd.data.datasets.SyntheticDataset`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

from .datasets import DEFAULT_MOTION_SCALE, SyntheticDataset, _as_list, _check_rendered, _rng, camera_scale, make_sample
from .datasets.clips import _integral

__all__ = ["PhotoSceneDataset"]


class PhotoSceneDataset(SyntheticDataset):
    """Photo-textured clips (see the module docstring).

    Args:
        layouts / layout_weights: the layouts drawn ('cards', 'world') and their weights.
        cameras_cards / cameras_world: restrict the camera paths of each layout (None: all of the kind's).
        photos: names of training photos to use (default: all of them).
        supersample: samples per pixel along each axis (2: about twice as fast as 3; depth and ids come
            from the sample nearest the pixel centre).
        device: render device (``"cuda"``: use ``num_workers=0``).
        cache_dir: keep every rendered item on disk (``cache_dir/<settings hash>/NNNNNNN.safetensors``).
    """

    def __init__(
        self,
        length: int = 1000,
        num_frames: int = 8,
        height: int = 64,
        width: int | None = None,
        kinds: Sequence[str] = ("3d", "4d"),
        seed: int = 0,
        layouts: Sequence[str] = ("cards", "world"),
        layout_weights: Sequence[float] | None = None,
        cameras_cards: Sequence[str] | None = None,
        cameras_world: Sequence[str] | None = None,
        photos: Sequence[str] | None = None,
        focal_range: Sequence[float] = (0.9, 1.3),
        motion_source: str = "image",
        motion_scale: float = DEFAULT_MOTION_SCALE,
        camera_normalization: str = "scene",
        supersample: int = 2,
        device: str = "cpu",
        cache_size: int = 0,
        cache_dir: str | None = None,
    ) -> None:
        from .synthetic.photo_clips import (CARD_CAMERAS_3D, CARD_CAMERAS_4D, CARD_CAMERAS_OPT_IN, PHOTO_LAYOUTS,
                                            WORLD_CAMERAS_3D, WORLD_CAMERAS_4D)
        from .synthetic.photos import TRAINING_PHOTOS, PhotoPool

        self.width, kinds, (lo, hi) = _check_rendered(length, num_frames, height, width, kinds, focal_range,
                                                      motion_source, camera_normalization)
        layouts = list(_as_list(layouts))
        if not layouts or any(x not in PHOTO_LAYOUTS for x in layouts):
            raise ValueError(f"layouts must be a non-empty list of {PHOTO_LAYOUTS}, got {layouts}")
        weights_error = ValueError(f"layout_weights must be {len(layouts)} weights >= 0, not all 0, got {layout_weights}")
        try:  # one number alone (layout_weights: 2) was TypeError's traceback
            weights = [1.0] * len(layouts) if layout_weights is None else [float(w) for w in _as_list(layout_weights)]
        except (TypeError, ValueError):
            raise weights_error from None
        if len(weights) != len(layouts) or any(not w >= 0 for w in weights) or sum(weights) <= 0:
            raise weights_error
        known = {"cards": set(CARD_CAMERAS_3D) | set(CARD_CAMERAS_4D) | set(CARD_CAMERAS_OPT_IN),
                 "world": set(WORLD_CAMERAS_3D) | set(WORLD_CAMERAS_4D)}
        for name, cams in (("cards", cameras_cards), ("world", cameras_world)):
            bad = [c for c in _as_list(cams) if c not in known[name]]
            if bad:
                raise ValueError(f"unknown {name} camera paths {bad}; expected some of {sorted(known[name])}")
        supersample = _integral(supersample, "supersample")
        if supersample < 1:
            raise ValueError(f"supersample must be >= 1, got {supersample}")
        by_name = {p.name: p for p in TRAINING_PHOTOS}
        photos = None if photos is None else list(_as_list(photos))  # photos: brick is that photo, not b, r, i, ...
        if photos is not None:
            unknown = [p for p in photos if p not in by_name]
            if unknown:
                raise ValueError(f"photos: {unknown} are not training photos (held-out photos are never training data); "
                                 f"choose from {sorted(by_name)}")
        chosen = tuple(by_name[p] for p in photos) if photos is not None else TRAINING_PHOTOS
        self.pool = PhotoPool(chosen)
        self._keep_render_settings(length, num_frames, height, kinds, seed, (lo, hi), motion_source, motion_scale,
                                   camera_normalization, supersample, device, cache_size)
        self.layouts, self.layout_weights = layouts, weights
        self.cameras = {"cards": list(_as_list(cameras_cards)) or None, "world": list(_as_list(cameras_world)) or None}
        if cache_dir is not None:
            self.cache_dir = self._cache_folder(
                cache_dir, ["photo", self.seed, self.num_frames, self.height, self.width, self.kinds, self.layouts,
                            self.layout_weights, self.cameras, [p.name for p in chosen], self.focal_range,
                            motion_source, self.motion_scale, camera_normalization, self.supersample, 1]
                + (["square_pixels"] if self.height != self.width else []))  # since 2026-12-04

    def render_clip(self, index: int):
        """The :class:`genxd.data.synthetic.photo_clips.PhotoClip` behind item ``index``."""
        import numpy as np

        from .synthetic.photo_clips import make_photo_clip

        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        kind = self.kinds[index % len(self.kinds)]
        rng = _rng(self.seed, index, 0x9A0)
        w = np.asarray(self.layout_weights) / sum(self.layout_weights)
        layout = str(rng.choice(self.layouts, p=w))
        cams = self.cameras[layout]
        camera = str(rng.choice(cams)) if cams else None
        focal = float(rng.uniform(*self.focal_range))
        return make_photo_clip(self.seed * 1_000_003 + index, kind, self.num_frames, self.height, self.width,
                               pool=self.pool, layout=layout, camera=camera, focal=focal, supersample=self.supersample,
                               device=self.device)

    def sample_from_clip(self, clip) -> dict[str, Any]:
        """The item made from a :meth:`render_clip` clip (8-bit frames, normalised cameras, motion)."""
        from .synthetic.ground_truth import image_motion_strength

        out = clip.render
        motion = 0.0
        if clip.kind == "4d":
            if self.motion_source == "image":
                motion = image_motion_strength(clip.world, out, clip.c2w, clip.K)
            else:
                motion = clip.world.motion_strength
        not_sky = ~out.sky[0]
        depth = float(out.depth[0][not_sky].median()) if bool(not_sky.any()) else None
        c2w = clip.c2w.float().cpu().clone()
        c2w[:, :3, 3] *= camera_scale(c2w, self.camera_normalization, depth)
        name = f"photo-{clip.layout}-{clip.kind}-{clip.seed}-{clip.camera}"
        frames = (out.rgb.float().cpu() * 255).round() / 255.0
        return make_sample(frames, c2w, clip.K.float().cpu(), clip.kind, motion * self.motion_scale, name)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state

