"""Shared parts of the training datasets: the sample dict, image fitting with exact intrinsics, camera
scale, image reading, and the base class of datasets that cut clips of views out of scenes (the views' lenses and
size checks: :mod:`.view_lenses`, whose names are importable from here too).

The conventions (sample dict, fit modes, camera normalisation, motion strength) are described in the
package docstring, :mod:`genxd.data.datasets`.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F_
from torch import Tensor
from torch.utils.data import Dataset

from ...utils.image_paths import IMAGE_SUFFIXES
from .view_lenses import (Lens, check_image_headers, check_view_sizes, pinhole_views,  # noqa: F401
                          undistort_views, view_size_error)

__all__ = [
    "KIND_TO_INDICATOR",
    "FIT_MODES",
    "CAMERA_NORMALIZATIONS",
    "IMAGE_EXTENSIONS",
    "fit_views",
    "fit_shape",
    "fit_motion_factor",
    "camera_scale",
    "median_point_depth",
    "make_sample",
]

KIND_TO_INDICATOR = {"3d": 0, "video": 1, "4d": 2}
FIT_MODES = ("crop", "pad", "random")
CAMERA_NORMALIZATIONS = ("scene", "path", "none")
#: the image files a CamVid-style ``images/`` folder holds: every suffix the other readers take (``genxd generate``,
#: a transforms.json's ``file_path``; a frame of another suffix was left out of its clip)
IMAGE_EXTENSIONS = IMAGE_SUFFIXES


# ----------------------------------------------------------------------------------------------
# image fitting, camera scale, sample dict
# ----------------------------------------------------------------------------------------------


def fit_shape(h: int, w: int, height: int, width: int, fit: str = "crop") -> tuple[int, int]:
    """The ``(rows, columns)``, in input pixels, of what :func:`fit_views` keeps of an ``h x w`` image brought to
    the aspect ratio of ``height x width``: the centre crop (``"crop"``) or the padded canvas (``"pad"``)."""
    new_h, new_w = h, w
    target = width / height
    if abs(w / h - target) > 1e-9:
        if fit == "crop":
            if w / h > target:
                new_w = max(1, min(w, round(h * target)))
            else:
                new_h = max(1, min(h, round(w / target)))
        elif w / h > target:
            new_h = max(h, round(w / target))
        else:
            new_w = max(w, round(h * target))
    return new_h, new_w


def fit_views(
    frames: Tensor, K: Tensor, height: int, width: int, fit: str = "crop", pad_value: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Crop or pad ``frames [N, 3, h, w]`` to the aspect ratio of ``height x width``, then resize.

    Args:
        frames: float images in [0, 1]; K: ``[N, 3, 3]`` (or ``[3, 3]``) normalised intrinsics.
        fit: ``"crop"`` (centre crop) or ``"pad"`` (centred padding with ``pad_value``).
    Returns:
        ``frames [N, 3, height, width]`` and the matching normalised ``K [N, 3, 3]`` (float32).
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be [N, 3, H, W], got shape {tuple(frames.shape)}")
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', got {fit!r}")
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    n, _, h, w = frames.shape
    K = K.to(torch.float64).expand(n, 3, 3).clone()
    new_h, new_w = fit_shape(h, w, height, width, fit)
    x0 = y0 = 0  # crop offset (>= 0) or minus the pad (<= 0), in pixels
    if (new_h, new_w) != (h, w):
        if fit == "crop":
            x0, y0 = (w - new_w) // 2, (h - new_h) // 2
            frames = frames[:, :, y0 : y0 + new_h, x0 : x0 + new_w]
        else:
            top, left = (new_h - h) // 2, (new_w - w) // 2
            frames = F_.pad(frames, (left, new_w - w - left, top, new_h - h - top), value=float(pad_value))
            x0, y0 = -left, -top
    # normalised intrinsics: u' = (u * w - x0) / new_w
    K[:, 0, 0] = K[:, 0, 0] * w / new_w
    K[:, 0, 2] = (K[:, 0, 2] * w - x0) / new_w
    K[:, 1, 1] = K[:, 1, 1] * h / new_h
    K[:, 1, 2] = (K[:, 1, 2] * h - y0) / new_h
    if (new_h, new_w) != (height, width):
        frames = F_.interpolate(frames.float(), size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return frames.float().clamp(0, 1).contiguous(), K.float()


def median_point_depth(points: Tensor, c2w: Tensor, K: Tensor, min_points: int = 8) -> float | None:
    """Median z-depth of the world ``points [P, 3]`` inside the view frustum of one camera.

    ``c2w [4, 4]``, normalised ``K [3, 3]``. None when fewer than ``min_points`` are in view.
    """
    if points is None or points.numel() == 0:
        return None
    c2w = c2w.double()
    p = (points.double() - c2w[:3, 3]) @ c2w[:3, :3]  # R^T (p - t), row vectors
    z = p[:, 2]
    front = z > 1e-6
    if int(front.sum()) < min_points:
        return None
    p, z = p[front], z[front]
    Kd = K.double()
    u = Kd[0, 0] * p[:, 0] / z + Kd[0, 2]
    v = Kd[1, 1] * p[:, 1] / z + Kd[1, 2]
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if int(inside.sum()) < min_points:
        return None
    return float(z[inside].median())


def camera_scale(
    c2w: Tensor, mode: str = "scene", scene_depth: float | None = None, target: float = 1.0
) -> float:
    """The factor applied to the clip's camera translations (see the package docstring).

    ``c2w [F, 4, 4]``; ``scene_depth``: the median scene depth from the first camera, if known.
    """
    if mode not in CAMERA_NORMALIZATIONS:
        raise ValueError(f"camera_normalization must be one of {CAMERA_NORMALIZATIONS}, got {mode!r}")
    if mode == "none":
        return 1.0
    if mode == "scene" and scene_depth is not None and math.isfinite(scene_depth) and scene_depth > 1e-9:
        return float(target / scene_depth)
    t = c2w[:, :3, 3].double()
    extent = float((t - t[:1]).norm(dim=-1).max()) if len(t) > 1 else 0.0
    return float(target / extent) if extent > 1e-9 else 1.0


def make_sample(
    frames: Tensor, c2w: Tensor, K: Tensor, kind: str, motion_strength: float, name: str,
    object_mask: Tensor | None = None,
) -> dict[str, Any]:
    """The sample dict shared by all datasets (see the package docstring); validates shapes.

    ``object_mask [F, H, W]`` (optional; synthetic 4D clips with ``object_masks=True``): 1 on the moving
    objects' pixels, stored as ``uint8`` under ``"object_mask"`` (the training loss can weight them,
    ``training.object_loss_weight``).
    """
    if kind not in KIND_TO_INDICATOR:
        raise ValueError(f"kind must be one of {sorted(KIND_TO_INDICATOR)}, got {kind!r}")
    f = frames.shape[0]
    if frames.ndim != 4 or frames.shape[1] != 3 or c2w.shape != (f, 4, 4) or K.shape != (f, 3, 3):
        raise ValueError(
            f"sample {name!r}: inconsistent shapes frames {tuple(frames.shape)}, c2w {tuple(c2w.shape)}, K {tuple(K.shape)}"
        )
    sample = {
        "frames": frames.float().contiguous(),
        "c2w": c2w.float().contiguous(),
        "K": K.float().contiguous(),
        "indicator": torch.tensor(KIND_TO_INDICATOR[kind], dtype=torch.long),
        "motion_strength": torch.tensor(0.0 if kind == "3d" else float(motion_strength), dtype=torch.float32),
        "kind": kind,
        "name": name,
    }
    if object_mask is not None:
        if tuple(object_mask.shape) != (f, *frames.shape[2:]):
            raise ValueError(f"sample {name!r}: object_mask {tuple(object_mask.shape)} does not match frames "
                             f"{tuple(frames.shape)} (expected [F, H, W])")
        sample["object_mask"] = (object_mask != 0).to(torch.uint8).contiguous()
    return sample


def _decode_image(data: bytes, name: str = "image") -> Tensor:
    """An encoded frame as ``[3, H, W]`` float in [0, 1], read as ``genxd generate`` reads an image
    (:func:`genxd.utils.images.decode_rgb`: 16-bit and float pixels scaled by their range, transparency on white)
    except for the EXIF orientation, which is not applied: the cameras describe the stored pixels. ValueError
    naming ``name`` when it cannot be decoded."""
    from ...utils.images import decode_rgb, pil_to_tensor

    return pil_to_tensor(decode_rgb(data, name))


def _read_image(path: Path) -> Tensor:
    return _decode_image(path.read_bytes(), str(path))


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def _integral(value: object, name: str) -> int:
    """``value`` as an int when it is a whole number (an int, or a float such as ``256.0``: a config's number); a
    ValueError naming the option otherwise (a fraction was cut in silence, a string or a bool taken as a number)."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral) or (isinstance(value, float)
                                                                                and value.is_integer())):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _real(value: object, name: str, lo: float, hi: float = math.inf) -> float:
    """``value`` as a float when it is a finite number in ``[lo, hi]``; a ValueError naming the option otherwise (a
    nan motion scale or pad value made every sample nan, in silence)."""
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and lo <= number <= hi):
        within = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
        raise ValueError(f"{name} must be a {'finite ' if hi == math.inf else ''}number {within}, got {value!r}")
    return number


def _switch(value: object, name: str) -> bool:
    """``value`` as a bool when it is true or false (or 0 / 1); a ValueError naming the option otherwise (``bool``
    took a config's quoted ``"false"`` or ``"no"`` for true)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _check_common(num_frames: int, height: int, width: int | None, fit: str, camera_normalization: str) -> int:
    num_frames, height = _integral(num_frames, "num_frames"), _integral(height, "height")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    width = height if width is None else _integral(width, "width")
    if height < 8 or width < 8:
        raise ValueError(f"height and width must be >= 8, got {height}x{width}")
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")
    if camera_normalization not in CAMERA_NORMALIZATIONS:
        raise ValueError(f"camera_normalization must be one of {CAMERA_NORMALIZATIONS}, got {camera_normalization!r}")
    return width


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _clip_positions(valid: Sequence[int], start: int, stride: int, num_frames: int) -> list[int]:
    """``num_frames`` entries of ``valid`` (sorted frame numbers) for a clip wanted at ``start`` with
    ``stride``: the clip itself when every frame is valid, else the nearest window of valid frames
    (smaller stride if needed; frames repeat only when fewer than ``num_frames`` are valid)."""
    wanted = [start + k * stride for k in range(num_frames)]
    valid_set = set(valid)
    if all(p in valid_set for p in wanted):
        return wanted
    n = len(valid)
    if n == 0:
        raise ValueError("no valid frames")
    if n < num_frames:
        return [valid[int(round(x))] for x in np.linspace(0, n - 1, num_frames)]
    step = max(1, min(stride, (n - 1) // max(num_frames - 1, 1)))
    i0 = int(np.searchsorted(np.asarray(valid), start))
    i0 = max(0, min(i0, n - 1 - (num_frames - 1) * step))
    return [valid[i0 + k * step] for k in range(num_frames)]


def clip_frame_spacing(positions: Sequence[int]) -> float:
    """The mean number of scene frames between consecutive frames of a clip (its stride: 2 for ``[0, 2, 4, 6]``).

    A scene's motion strength is a per-frame speed of its own frames (``meta.json``, ``genxd.curation.motion``);
    a clip that takes every ``s``-th frame moves ``s`` times as far per clip frame, which is what the model is
    conditioned on (and what ``genxd generate --motion-strength`` asks of each generated frame)."""
    if len(positions) < 2:
        return 1.0
    return (int(positions[-1]) - int(positions[0])) / (len(positions) - 1)


def fit_motion_factor(h: int, w: int, height: int, width: int, fit: str = "crop") -> float:
    """What a motion strength measured on ``h x w`` frames is multiplied by to be that of the frames :func:`fit_views`
    makes of them (``height x width``, ``fit``): motion strength is normalised by the shorter side
    (``docs/conventions.md``), and a crop or pad changes which length that is (a 16:9 video padded to a square: 9/16;
    a centre crop to a square keeps the shorter side: 1)."""
    new_h, new_w = fit_shape(h, w, height, width, fit)
    return min(h, w) / min(new_h, new_w)


# ----------------------------------------------------------------------------------------------
# base class: clips of views from a list of "scenes" (videos or multi-view captures)
# ----------------------------------------------------------------------------------------------


@dataclass
class _Cameras:
    """Cameras of one scene: ``c2w [N, 4, 4]`` and ``K [N, 3, 3]`` per frame (``valid`` marks the
    frames that have a pose; ``K`` is the undistorted pinhole camera's for frames with a lens in ``lenses``),
    optional world points for the scene scale, and its meta data."""

    c2w: Tensor
    K: Tensor
    valid: list[int]
    points: Tensor | None = None
    meta: dict = field(default_factory=dict)
    #: per frame, the lens of a camera with distortion (its images are undistorted when read), or None
    lenses: Sequence[Lens | None] | None = None
    #: per frame, the camera's image size ``(H, W)`` (None: unknown); images of another aspect ratio are refused
    sizes: Sequence[tuple[int, int] | None] | None = None


def _whole_number(value: object, name: str) -> int:
    """``value`` as an int >= 1, or one ValueError naming the option (a string, a fraction or a bool are none)."""
    number = int(value) if isinstance(value, numbers.Integral) else int(value) if (
        isinstance(value, float) and value.is_integer()) else None
    if isinstance(value, bool) or number is None or number < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return number


class _ClipDataset(Dataset):
    """Clips of ``num_frames`` views taken from scenes; subclasses list scenes and read them."""

    default_kind = "3d"

    def __init__(
        self,
        num_frames: int,
        height: int,
        width: int | None,
        fit: str,
        pad_value: float,
        camera_normalization: str,
        stride: int | Sequence[int],
        clip_spacing: int | None,
        view_sampling: str,
        samples_per_scene: int,
        seed: int,
        cache_size: int = 4,
    ) -> None:
        self.width = _check_common(num_frames, height, width, fit, camera_normalization)
        self.num_frames, self.height = int(num_frames), int(height)  # whole numbers (_check_common)
        self.fit, self.pad_value = fit, _real(pad_value, "pad_value", 0.0, 1.0)
        self.camera_normalization = camera_normalization
        try:
            if any(isinstance(s, bool) or (isinstance(s, float) and not s.is_integer()) for s in _as_list(stride)):
                raise ValueError  # 1.5 was a stride of 1, True of 1
            self.strides = list(dict.fromkeys(int(s) for s in _as_list(stride))) or [1]  # [1, 2, 1]: 1 once
        except (TypeError, ValueError):
            raise ValueError(f"stride must be a whole number >= 1 or a list of them, got {stride!r}") from None
        if any(s < 1 for s in self.strides):
            raise ValueError(f"stride must be >= 1, got {self.strides}")
        if clip_spacing is not None:
            clip_spacing = _whole_number(clip_spacing, "clip_spacing")
        if view_sampling not in ("clip", "random"):
            raise ValueError(f"view_sampling must be 'clip' or 'random', got {view_sampling!r}")
        samples_per_scene = _whole_number(samples_per_scene, "samples_per_scene")
        self.clip_spacing, self.view_sampling = clip_spacing, view_sampling
        self.samples_per_scene, self.seed = int(samples_per_scene), _integral(seed, "seed")  # "x", 1.5: named
        self.cache_size = _integral(cache_size, "cache_size")  # 1.5 was a cache of 1
        self._cache: OrderedDict = OrderedDict()
        self._grids: Any = None  # undistortion grids (GridCache), made on the first view with a lens
        self.clips: list[tuple[int, list[int]]] = []

    # -- to implement
    def scene_names(self) -> list[str]:
        raise NotImplementedError

    def _num_views(self, scene: int) -> int:
        raise NotImplementedError

    def _load_cameras(self, scene: int) -> _Cameras:
        raise NotImplementedError

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        raise NotImplementedError

    def _kind_and_motion(self, scene: int, cams: _Cameras) -> tuple[str, float]:
        return self.default_kind, 0.0

    def _view_name(self, scene: int, position: int) -> str:
        """The file of a view, for messages."""
        return f"{self.scene_names()[scene]}: view {position}"

    # -- shared
    def _build_clips(self) -> None:
        """Enumerate ``(scene, frame positions)`` for every clip (deterministic)."""
        f = self.num_frames
        clips: list[tuple[int, list[int]]] = []
        skipped = 0
        for s in range(len(self.scene_names())):
            n = self._num_views(s)
            if self.view_sampling == "random":
                if n < f:
                    skipped += 1
                    continue
                for j in range(self.samples_per_scene):
                    pick = _rng(self.seed, s, j).choice(n, size=f, replace=False)
                    clips.append((s, sorted(int(i) for i in pick)))
                continue
            found = False
            for stride in self.strides:
                span = (f - 1) * stride + 1
                if n < span:
                    continue
                spacing = self.clip_spacing or span
                for start in range(0, n - span + 1, spacing):
                    clips.append((s, [start + k * stride for k in range(f)]))
                    found = True
            skipped += not found
        if not clips:
            raise ValueError(
                f"{type(self).__name__}: no scene has enough frames for clips of {f} frames "
                f"(strides {self.strides}); {len(self.scene_names())} scene{'' if len(self.scene_names()) == 1 else 's'} "
                "found"
            )
        self.clips = clips
        self.num_skipped_scenes = skipped
        #: the fewest frames a scene needs for one clip (scenes with fewer are skipped)
        self.min_scene_frames = f if self.view_sampling == "random" else (f - 1) * min(self.strides) + 1

    def __len__(self) -> int:
        return len(self.clips)

    def _cameras(self, scene: int) -> _Cameras:
        if scene in self._cache:
            self._cache.move_to_end(scene)
            return self._cache[scene]
        cams = self._load_cameras(scene)
        if self.cache_size > 0:
            self._cache[scene] = cams
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return cams

    def _fit_mode(self, index: int) -> str:
        if self.fit != "random":
            return self.fit
        return "crop" if _rng(self.seed, index, 0xF17).random() < 0.5 else "pad"

    def _pick(self, index: int, scene: int, wanted: list[int], cams: _Cameras) -> tuple[list[int], float]:
        """The frames clip ``index`` (``wanted``, of ``scene``) is read from, among those with a pose, and the number
        of scene frames per clip frame its motion strength is multiplied by (:func:`clip_frame_spacing`)."""
        stride = wanted[1] - wanted[0] if len(wanted) > 1 else 1
        if self.view_sampling == "clip":
            positions = _clip_positions(cams.valid, wanted[0], max(stride, 1), self.num_frames)
        else:
            valid = set(cams.valid)
            positions = [p for p in wanted if p in valid]
            if len(positions) < self.num_frames:
                positions = _clip_positions(cams.valid, wanted[0], 1, self.num_frames)
        return positions, clip_frame_spacing(positions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.clips):
            raise IndexError(f"index {index} out of range for {len(self.clips)} clips")
        scene, wanted = self.clips[index]
        cams = self._cameras(scene)
        positions, spacing = self._pick(index, scene, wanted, cams)
        idx = torch.as_tensor(positions)
        c2w, K = cams.c2w[idx].clone(), cams.K[idx].clone()
        images = self._read_views(scene, positions)
        lenses = None if cams.lenses is None else [cams.lenses[p] for p in positions]
        if cams.sizes is not None or lenses is not None:
            check_view_sizes(images, None if cams.sizes is None else [cams.sizes[p] for p in positions], lenses,
                             [self._view_name(scene, p) for p in positions])
        if lenses is not None:
            if self._grids is None:  # per process (not pickled to the workers): the grids of the last cameras,
                from ...reconstruction.undistort import GridCache  # at least an item's (a camera per view)

                self._grids = GridCache(min_grids=self.num_frames)
            images = undistort_views(images, lenses, self._grids)
        mode = self._fit_mode(index)
        frames, Ks = [], []
        for img, k in zip(images, K):
            fr, kk = fit_views(img[None], k[None], self.height, self.width, mode, self.pad_value)
            frames.append(fr[0])
            Ks.append(kk[0])
        depth = median_point_depth(cams.points, c2w[0], K[0]) if cams.points is not None else None
        c2w[:, :3, 3] *= camera_scale(c2w, self.camera_normalization, depth)
        kind, motion = self._kind_and_motion(scene, cams)
        motion *= spacing  # a per-frame speed of the scene's frames -> of the clip's frames
        h, w = images[0].shape[-2:]
        motion *= fit_motion_factor(h, w, self.height, self.width, mode)  # -> of the fitted frames
        name = f"{self.scene_names()[scene]}:{positions[0]}"
        return make_sample(torch.stack(frames), c2w, torch.stack(Ks), kind, motion, name)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        state["_grids"] = None
        return state
