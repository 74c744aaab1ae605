"""Procedural 3D/4D scenes rendered on the fly (:mod:`genxd.data.synthetic`) as training clips, exact cameras."""

from __future__ import annotations

import contextlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import Dataset

from ...validation import DEFAULT_MOTION_SCALE, warn
from .clips import _as_list, _check_common, _integral, _real, _rng, _switch, camera_scale, make_sample

__all__ = ["SyntheticDataset"]


def _check_rendered(
    length: int,
    num_frames: int,
    height: int,
    width: int | None,
    kinds: Sequence[str],
    focal_range: Sequence[float],
    motion_source: str,
    camera_normalization: str,
) -> tuple[int, list[str], tuple[float, float]]:
    """The argument checks shared by the datasets rendered on the fly (:class:`SyntheticDataset` and
    :class:`genxd.data.photo_scenes.PhotoSceneDataset`); returns ``(width, kinds, (focal low, high))``."""
    width = _check_common(num_frames, height, width, "crop", camera_normalization)
    if _integral(length, "length") < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    kinds = list(_as_list(kinds))
    if not kinds or any(k not in ("3d", "4d") for k in kinds):
        raise ValueError(f"kinds must be a non-empty list of '3d' / '4d', got {kinds}")
    focal_error = ValueError(f"focal_range must be (low, high) with 0 < low <= high, got {focal_range}")
    try:
        lo, hi = (float(x) for x in focal_range)
    except (TypeError, ValueError):  # one number (focal_range: 1.0), three, a word: TypeError's traceback before
        raise focal_error from None
    if not 0 < lo <= hi:
        raise focal_error
    if motion_source not in ("image", "world"):
        raise ValueError(f"motion_source must be 'image' or 'world', got {motion_source!r}")
    return width, kinds, (lo, hi)


class SyntheticDataset(Dataset):
    """Procedural 3D/4D scenes rendered on the fly (``genxd.data.synthetic``), exact cameras.

    Item ``i`` renders the clip of seed ``seed * 1_000_003 + i``; its kind is ``kinds[i % len(kinds)]``
    (``"3d"``: static scene; ``"4d"``: moving objects). The camera path is drawn by the clip's seed
    from ``cameras_3d`` / ``cameras_4d`` (None: the generator's defaults), the focal length uniformly
    from ``focal_range``.

    Args:
        motion_source: ``"image"`` (default: the exact per-frame image-space object motion, the
            quantity the curation estimates, x ``motion_scale``) or ``"world"`` (the scene's net object
            displacement in world units, x ``motion_scale``; cheaper).
        device: render device (``"cuda"`` renders on the GPU; use ``num_workers=0`` then).
        cache_size: keep the last rendered items in memory (useful for tiny datasets).
        cache_dir: keep every rendered item on disk (``cache_dir/<settings hash>/NNNNNNN.safetensors``,
            about 100 kB for 8 frames of 64x64), so later epochs and other runs read instead of render.
        object_masks: give 4D items an ``"object_mask" [F, H, W]`` (1 on the moving objects' pixels; all
            objects of a 4D scene move) for ``training.object_loss_weight``; 3D items get none (no weighting).

    Frames are quantised to 8 bits (as images on disk), so cached and fresh items are identical.
    """

    _cache_writes = True  #: off (on the instance) once the disk cache cannot be written: a full disk
    _damaged_said = False  #: on (on the instance) once a damaged item of the disk cache was warned about

    def __init__(
        self,
        length: int = 1000,
        num_frames: int = 8,
        height: int = 64,
        width: int | None = None,
        kinds: Sequence[str] = ("3d", "4d"),
        seed: int = 0,
        cameras_3d: Sequence[str] | None = None,
        cameras_4d: Sequence[str] | None = None,
        focal_range: Sequence[float] = (0.9, 1.3),
        motion_source: str = "image",
        motion_scale: float = DEFAULT_MOTION_SCALE,
        camera_normalization: str = "scene",
        supersample: int = 1,
        device: str = "cpu",
        cache_size: int = 0,
        cache_dir: str | None = None,
        object_masks: bool = False,
    ) -> None:
        from genxd.data.synthetic import CAMERA_PATHS

        self.width, kinds, (lo, hi) = _check_rendered(length, num_frames, height, width, kinds, focal_range,
                                                      motion_source, camera_normalization)
        for cams in (cameras_3d, cameras_4d):
            bad = [c for c in _as_list(cams) if c not in CAMERA_PATHS]
            if bad:
                raise ValueError(f"unknown camera paths {bad}; expected some of {', '.join(CAMERA_PATHS)}")
        self._keep_render_settings(length, num_frames, height, kinds, seed, (lo, hi), motion_source, motion_scale,
                                   camera_normalization, supersample, device, cache_size)
        self.cameras = {"3d": list(_as_list(cameras_3d)) or None, "4d": list(_as_list(cameras_4d)) or None}
        self.object_masks = _switch(object_masks, "object_masks")
        if cache_dir is not None:
            settings = [self.seed, self.num_frames, self.height, self.width, self.kinds, self.cameras,
                        self.focal_range, motion_source, self.motion_scale, camera_normalization, self.supersample, 1]
            if self.object_masks:  # items with masks are cached apart (the hash of items without stays the same)
                settings.append("object_masks")
            if self.height != self.width:  # square pixels since 2026-12-04 (square items are unchanged)
                settings.append("square_pixels")
            self.cache_dir: Path | None = self._cache_folder(cache_dir, settings)

    def _keep_render_settings(self, length: int, num_frames: int, height: int, kinds: list[str], seed: int,
                              focal_range: tuple[float, float], motion_source: str, motion_scale: float,
                              camera_normalization: str, supersample: int, device: str, cache_size: int) -> None:
        """Keep the settings that every dataset rendered on the fly has (checked by :func:`_check_rendered`; the
        items, caches and pickling of this class read them), with an empty memory cache and no disk cache yet."""
        self.length, self.num_frames, self.height = int(length), int(num_frames), int(height)
        self.kinds, self.seed = kinds, _integral(seed, "seed")  # "x" was int()'s words, 1.5 a seed of 1
        self.focal_range = focal_range
        self.motion_source, self.motion_scale = motion_source, _real(motion_scale, "motion_scale", 0.0)
        self.camera_normalization = camera_normalization
        self.supersample, self.device = _integral(supersample, "supersample"), str(device)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()
        self.cache_dir = None

    @staticmethod
    def _cache_folder(cache_dir: str | os.PathLike, settings: list[Any]) -> Path:
        """``cache_dir/<16 hex digits>``: the disk cache folder of the items of ``settings`` (a JSON list, keys
        sorted, hashed with SHA-1), so that items of other settings never share a folder."""
        import hashlib

        return Path(cache_dir) / hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return self.length

    def _disk_path(self, index: int) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{index:07d}.safetensors"

    def _read_disk(self, index: int) -> dict[str, Any] | None:
        """Item ``index`` from the disk cache; None where it is not there, or cannot be read (a file cut short or
        changed: a copy of the cache onto a full disk, a bad sector), which is rendered again and written anew, with
        one warning per dataset naming the first such file (it stopped the run with safetensors' traceback)."""
        from safetensors import SafetensorError, safe_open

        path = self._disk_path(index)
        if path is None or not path.is_file():
            return None
        try:
            with safe_open(str(path), "pt") as fh:
                meta = fh.metadata() or {}
                t = {k: fh.get_tensor(k) for k in fh.keys()}
            return make_sample(t["frames"].float() / 255.0, t["c2w"], t["K"], meta["kind"],
                               float(meta["motion_strength"]), meta["name"], t.get("object_mask"))
        except (SafetensorError, OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            if not self._damaged_said:
                self._damaged_said = True
                warn(f"{path}: a damaged item of the data cache ({type(exc).__name__}: {exc}): rendered again (and "
                     "others found damaged, not named)")
            return None

    def _write_disk(self, index: int, sample: dict[str, Any]) -> None:
        """Keep ``sample`` in the disk cache. Where the cache cannot be written (a full disk, a read-only or
        forbidden folder) one warning says so and the items are rendered again when needed from then on: the
        cache only saves time (it stopped the training run with safetensors' traceback)."""
        from safetensors.torch import save_file

        from ...utils.disk_space import out_of_space
        from ...utils.io import is_environment_error

        path = self._disk_path(index)
        if path is None or not self._cache_writes:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        frames = (sample["frames"] * 255).round().to(torch.uint8)
        tensors = {"frames": frames, "c2w": sample["c2w"], "K": sample["K"]}
        if "object_mask" in sample:
            tensors["object_mask"] = sample["object_mask"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file(tensors, str(tmp),
                      metadata={"kind": sample["kind"], "name": sample["name"],
                                "motion_strength": repr(float(sample["motion_strength"]))})
            os.replace(tmp, path)
        except Exception as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            full = out_of_space(exc)  # also in safetensors' words
            if not (full or is_environment_error(exc)):
                raise
            self._cache_writes = False
            reason = os.strerror(full) if full else (getattr(exc, "strerror", None) or str(exc))
            reason = reason.lower()
            warn(f"the data cache {self.cache_dir} cannot be written ({reason}): items are no longer kept there, "
                 "but rendered again when needed (slower); free space or set another cache_dir")

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        if index in self._cache:
            self._cache.move_to_end(index)
            return {k: (v.clone() if torch.is_tensor(v) else v) for k, v in self._cache[index].items()}
        sample = self._read_disk(index)
        if sample is None:
            sample = self._render(index)
            self._write_disk(index, sample)
        if self.cache_size > 0:
            self._cache[index] = sample
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return sample

    def render_clip(self, index: int):
        """The :class:`genxd.data.synthetic.Clip` behind item ``index`` (scene, cameras and the full
        render: rgb, depth, object ids), before camera normalisation."""
        from genxd.data.synthetic import make_clip

        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        kind = self.kinds[index % len(self.kinds)]
        clip_seed = self.seed * 1_000_003 + index
        rng = _rng(self.seed, index, 0x5EED)
        choices = self.cameras[kind]
        camera = str(rng.choice(choices)) if choices else None
        focal = float(rng.uniform(*self.focal_range))
        return make_clip(clip_seed, kind, self.num_frames, self.height, self.width, camera=camera, focal=focal,
                         supersample=self.supersample, device=self.device)

    def _render(self, index: int) -> dict[str, Any]:
        return self.sample_from_clip(self.render_clip(index))

    def sample_from_clip(self, clip) -> dict[str, Any]:
        """The item (sample dict) made from a :meth:`render_clip` clip: frames quantised to 8 bits,
        cameras normalised, motion strength as configured."""
        from genxd.data.synthetic import SURFACE_OBJECT, image_motion_strength
        from genxd.data.synthetic.clips import first_view_depth

        kind, out = clip.kind, clip.render
        motion = 0.0
        if kind == "4d":
            if self.motion_source == "image":
                motion = image_motion_strength(clip.scene, out, clip.c2w, clip.K)
            else:
                motion = clip.scene.motion_strength
        depth = first_view_depth(out)
        c2w = clip.c2w.float().cpu().clone()
        c2w[:, :3, 3] *= camera_scale(c2w, self.camera_normalization, depth)
        name = f"synthetic-{kind}-{clip.seed}-{clip.camera}"
        frames = (out.rgb.float().cpu() * 255).round() / 255.0
        mask = (out.surface == SURFACE_OBJECT).cpu() if self.object_masks and kind == "4d" else None
        return make_sample(frames, c2w, clip.K.float().cpu(), kind, motion * self.motion_scale, name, mask)
