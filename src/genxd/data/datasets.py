"""Training datasets: CamVid-30K videos (folders or ``batch_N.zip``), multi-view 3D scenes, synthetic
scenes rendered on the fly, and weighted mixtures of them.

Every dataset yields the same **sample dict** (the project convention, ``docs/conventions.md``):

- ``frames`` ``[F, 3, H, W]`` float32 in [0, 1];
- ``c2w`` ``[F, 4, 4]`` float32 OpenCV camera-to-world; ``K`` ``[F, 3, 3]`` float32 normalised;
- ``indicator`` long scalar: 0 = 3D (static scene), 1 = video, 2 = 4D (camera and objects move);
- ``motion_strength`` float32 scalar: what the UNet's motion embedding sees (0 for 3D scenes);
- ``kind`` (``"3d"``, ``"video"``, ``"4d"``) and ``name`` (a readable id of the clip).

**Images** are brought to the training size by a centre crop (``fit="crop"``) or a centred pad
(``fit="pad"``, with ``pad_value``) to the target aspect ratio, then an anti-aliased resize; the
normalised intrinsics follow exactly (a resize leaves normalised intrinsics unchanged under the
pixel-centre convention; crop and pad shift and rescale them). ``fit="random"`` picks crop or pad
per item (deterministically).

**Camera scale**: world coordinates are kept (no re-centring: GenXD conditions on poses relative
to the first context view, so only the scale matters) and multiplied by one factor per clip:

- ``"scene"`` (default): the median z-depth of the scene seen from the clip's first camera becomes 1
  (COLMAP points in its view frustum; the rendered depth for synthetic scenes), so a camera move
  of 0.1 means 10 % of the distance to the scene, whatever the reconstruction's arbitrary scale;
  falls back to ``"path"`` when no depth is known (ReconFusion, ``transforms.json``);
- ``"path"``: the largest distance of a clip camera from the first one becomes 1 (clips without
  camera translation are left unscaled);
- ``"none"``: unchanged.

**Motion strength**: ``motion_scale x`` the per-frame normalised image displacement of moving objects
with the camera factored out (``genxd.curation.motion``, key ``motion_strength`` of a curated
``meta.json``; ``image_motion_strength`` of a synthetic one; computed exactly for synthetic scenes
rendered on the fly). The default scale 100 maps typical values (0.002 - 0.05) to ~0.2 - 5, the
range of the timestep-like embedding (the authors also feed a x100 value at inference).

Everything is deterministic: clip lists are built at construction, random choices are seeded by
``(seed, index)``, so an index maps to the same sample in every process and on every run.
"""

from __future__ import annotations

import atexit
import inspect
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F_
from torch import Tensor
from torch.utils.data import Dataset

from ..validation import DEFAULT_MOTION_SCALE  # defined once (docs/conventions.md)
from .archive import ArchiveLimits, SafeZip

__all__ = [
    "KIND_TO_INDICATOR",
    "FIT_MODES",
    "CAMERA_NORMALIZATIONS",
    "DEFAULT_MOTION_SCALE",
    "fit_views",
    "camera_scale",
    "median_point_depth",
    "make_sample",
    "SyntheticDataset",
    "CamVidDataset",
    "MultiViewDataset",
    "ReconFusionDataset",
    "MixtureDataset",
    "DATASET_TYPES",
    "build_dataset",
]

KIND_TO_INDICATOR = {"3d": 0, "video": 1, "4d": 2}
FIT_MODES = ("crop", "pad", "random")
CAMERA_NORMALIZATIONS = ("scene", "path", "none")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


# ----------------------------------------------------------------------------------------------
# image fitting, camera scale, sample dict
# ----------------------------------------------------------------------------------------------


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
    target = width / height
    x0 = y0 = 0  # crop offset (>= 0) or minus the pad (<= 0), in pixels
    new_w, new_h = w, h
    if abs(w / h - target) > 1e-9:
        if fit == "crop":
            if w / h > target:
                new_w = max(1, min(w, round(h * target)))
                x0 = (w - new_w) // 2
            else:
                new_h = max(1, min(h, round(w / target)))
                y0 = (h - new_h) // 2
            frames = frames[:, :, y0 : y0 + new_h, x0 : x0 + new_w]
        else:
            if w / h > target:
                new_h = max(h, round(w / target))
                top = (new_h - h) // 2
                frames = F_.pad(frames, (0, 0, top, new_h - h - top), value=float(pad_value))
                y0 = -top
            else:
                new_w = max(w, round(h * target))
                left = (new_w - w) // 2
                frames = F_.pad(frames, (left, new_w - w - left, 0, 0), value=float(pad_value))
                x0 = -left
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
    """The factor applied to the clip's camera translations (see the module docstring).

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
    frames: Tensor, c2w: Tensor, K: Tensor, kind: str, motion_strength: float, name: str
) -> dict[str, Any]:
    """The sample dict shared by all datasets (see the module docstring); validates shapes."""
    if kind not in KIND_TO_INDICATOR:
        raise ValueError(f"kind must be one of {sorted(KIND_TO_INDICATOR)}, got {kind!r}")
    f = frames.shape[0]
    if frames.ndim != 4 or frames.shape[1] != 3 or c2w.shape != (f, 4, 4) or K.shape != (f, 3, 3):
        raise ValueError(
            f"sample {name!r}: inconsistent shapes frames {tuple(frames.shape)}, c2w {tuple(c2w.shape)}, K {tuple(K.shape)}"
        )
    return {
        "frames": frames.float().contiguous(),
        "c2w": c2w.float().contiguous(),
        "K": K.float().contiguous(),
        "indicator": torch.tensor(KIND_TO_INDICATOR[kind], dtype=torch.long),
        "motion_strength": torch.tensor(0.0 if kind == "3d" else float(motion_strength), dtype=torch.float32),
        "kind": kind,
        "name": name,
    }


def _decode_image(data: bytes) -> Tensor:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


def _read_image(path: Path) -> Tensor:
    return _decode_image(path.read_bytes())


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def _check_common(num_frames: int, height: int, width: int | None, fit: str, camera_normalization: str) -> int:
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    width = height if width is None else width
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


# ----------------------------------------------------------------------------------------------
# base class: clips of views from a list of "scenes" (videos or multi-view captures)
# ----------------------------------------------------------------------------------------------


@dataclass
class _Cameras:
    """Cameras of one scene: ``c2w [N, 4, 4]`` and ``K [N, 3, 3]`` per frame (``valid`` marks the
    frames that have a pose), optional world points for the scene scale, and its meta data."""

    c2w: Tensor
    K: Tensor
    valid: list[int]
    points: Tensor | None = None
    meta: dict = field(default_factory=dict)


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
        self.num_frames, self.height = int(num_frames), int(height)
        self.fit, self.pad_value = fit, float(pad_value)
        self.camera_normalization = camera_normalization
        self.strides = [int(s) for s in _as_list(stride)] or [1]
        if any(s < 1 for s in self.strides):
            raise ValueError(f"stride must be >= 1, got {self.strides}")
        if clip_spacing is not None and clip_spacing < 1:
            raise ValueError(f"clip_spacing must be >= 1, got {clip_spacing}")
        if view_sampling not in ("clip", "random"):
            raise ValueError(f"view_sampling must be 'clip' or 'random', got {view_sampling!r}")
        if samples_per_scene < 1:
            raise ValueError(f"samples_per_scene must be >= 1, got {samples_per_scene}")
        self.clip_spacing, self.view_sampling = clip_spacing, view_sampling
        self.samples_per_scene, self.seed = int(samples_per_scene), int(seed)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()
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
                f"(strides {self.strides}); {len(self.scene_names())} scenes found"
            )
        self.clips = clips
        self.num_skipped_scenes = skipped

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

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.clips):
            raise IndexError(f"index {index} out of range for {len(self.clips)} clips")
        scene, wanted = self.clips[index]
        cams = self._cameras(scene)
        stride = wanted[1] - wanted[0] if len(wanted) > 1 else 1
        if self.view_sampling == "clip":
            positions = _clip_positions(cams.valid, wanted[0], max(stride, 1), self.num_frames)
        else:
            valid = set(cams.valid)
            positions = [p for p in wanted if p in valid]
            if len(positions) < self.num_frames:
                positions = _clip_positions(cams.valid, wanted[0], 1, self.num_frames)
        idx = torch.as_tensor(positions)
        c2w, K = cams.c2w[idx].clone(), cams.K[idx].clone()
        images = self._read_views(scene, positions)
        mode = self._fit_mode(index)
        frames, Ks = [], []
        for img, k in zip(images, K):
            fr, kk = fit_views(img[None], k[None], self.height, self.width, mode, self.pad_value)
            frames.append(fr[0])
            Ks.append(kk[0])
        depth = median_point_depth(cams.points, c2w[0], K[0]) if cams.points is not None else None
        c2w[:, :3, 3] *= camera_scale(c2w, self.camera_normalization, depth)
        kind, motion = self._kind_and_motion(scene, cams)
        name = f"{self.scene_names()[scene]}:{positions[0]}"
        return make_sample(torch.stack(frames), c2w, torch.stack(Ks), kind, motion, name)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state


# ----------------------------------------------------------------------------------------------
# CamVid-30K
# ----------------------------------------------------------------------------------------------


@dataclass
class _Video:
    name: str
    frames: list[str]  # image file names inside images/, sorted
    folder: Path | None = None  # unpacked sample folder
    archive: SafeZip | None = None
    prefix: str = ""  # member prefix of the sample inside the archive ("" or ".../VIDEO_ID/")
    model_members: list[str] = field(default_factory=list)  # the archive members of the COLMAP model 0/


_MODEL_RE = re.compile(r"^(?P<prefix>(?:.*/)?)0/cameras\.(?:bin|txt)$")


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


class _ExtractDir:
    """A per-process temporary folder for COLMAP models extracted from archives (removed at exit)."""

    _path: Path | None = None
    _pid: int | None = None

    @classmethod
    def get(cls) -> Path:
        if cls._path is None or cls._pid != os.getpid():
            cls._path = Path(tempfile.mkdtemp(prefix="genxd-camvid-"))
            cls._pid = os.getpid()
            path, pid = cls._path, cls._pid
            atexit.register(lambda: shutil.rmtree(path, ignore_errors=True) if os.getpid() == pid else None)
        return cls._path


class CamVidDataset(_ClipDataset):
    """CamVid-30K samples ``VIDEO_ID/images/*.jpg`` + COLMAP model ``VIDEO_ID/0/`` (+ ``meta.json``).

    Args:
        root: a folder (searched up to ``max_depth`` levels for sample folders and ``*.zip``
            archives), a single ``.zip``, or a list of them. Archives are read in place, safely
            (:class:`genxd.data.archive.SafeZip`: traversal, symlinks and zip bombs are refused).
        num_frames / stride / clip_spacing: clips of ``num_frames`` frames taken every ``stride``
            frames (a list: all strides), starting every ``clip_spacing`` frames (default: the clip
            span, i.e. non-overlapping clips). Frames without a COLMAP pose are skipped (the nearest
            window of registered frames is used).
        height / width / fit / pad_value: output size (width default = height), crop or pad.
        kind: ``"auto"`` reads ``meta.json`` (``kind`` 3d/4d, or ``verdict`` static/dynamic),
            falling back to ``default_kind``; or force ``"3d"`` / ``"4d"``.
        motion_keys: ``meta.json`` keys tried in order for the motion strength (missing: 0).
        motion_scale: factor applied to the stored motion strength (see the module docstring).
        camera_normalization: ``"scene"`` (COLMAP points), ``"path"`` or ``"none"``.
        archive_limits: caps for zip archives (:class:`genxd.data.archive.ArchiveLimits` or dict).
        extract_dir: where the COLMAP models of archived samples are extracted (default: a private
            temporary folder per process, removed at exit).
    """

    def __init__(
        self,
        root: str | os.PathLike | Sequence[str | os.PathLike],
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        fit: str = "crop",
        pad_value: float = 1.0,
        kind: str = "auto",
        default_kind: str = "4d",
        motion_keys: Sequence[str] = ("image_motion_strength", "motion_strength"),
        motion_scale: float = DEFAULT_MOTION_SCALE,
        camera_normalization: str = "scene",
        archive_limits: ArchiveLimits | dict | None = None,
        max_depth: int = 3,
        cache_size: int = 8,
        extract_dir: str | os.PathLike | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         "clip", 1, seed, cache_size)
        self.extract_dir = None if extract_dir is None else Path(extract_dir)
        if kind not in ("auto", "3d", "4d"):
            raise ValueError(f"kind must be 'auto', '3d' or '4d', got {kind!r}")
        if default_kind not in ("3d", "4d"):
            raise ValueError(f"default_kind must be '3d' or '4d', got {default_kind!r}")
        self.kind, self.default_kind = kind, default_kind
        self.motion_keys, self.motion_scale = tuple(motion_keys), float(motion_scale)
        limits = ArchiveLimits(**archive_limits) if isinstance(archive_limits, dict) else archive_limits
        self.videos: list[_Video] = []
        roots = [Path(r) for r in _as_list(root)]
        if not roots:
            raise ValueError("CamVidDataset: no root given")
        for r in roots:
            if not r.exists():
                raise FileNotFoundError(f"{r}: no such file or folder")
            if r.is_file():
                self._add_archive(r, limits)
            else:
                self._scan(r, limits, max_depth)
        if not self.videos:
            raise ValueError(f"no CamVid samples (VIDEO_ID/images/ + VIDEO_ID/0/cameras.bin) found under {', '.join(map(str, roots))}")
        self._meta_cache: dict[int, dict] = {}
        self._build_clips()

    def _scan(self, folder: Path, limits: ArchiveLimits | None, max_depth: int) -> None:
        for dirpath, dirnames, filenames in os.walk(folder):
            depth = len(Path(dirpath).relative_to(folder).parts)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # hidden: temporary / partial
            here = Path(dirpath)
            if "images" in dirnames and any((here / "0" / f"cameras.{e}").is_file() for e in ("bin", "txt")):
                frames = sorted(f for f in os.listdir(here / "images") if _is_image(f))
                self.videos.append(_Video(name=here.name, frames=frames, folder=here))
                dirnames[:] = []
                continue
            for f in sorted(filenames):
                if f.lower().endswith(".zip"):
                    self._add_archive(here / f, limits)
            if depth >= max_depth:
                dirnames[:] = []

    def _add_archive(self, path: Path, limits: ArchiveLimits | None) -> None:
        if path.suffix.lower() != ".zip":
            raise ValueError(f"{path}: expected a folder or a .zip archive")
        archive = SafeZip(path, limits)
        names = archive.names()
        prefixes = sorted({m.group("prefix") for n in names if (m := _MODEL_RE.match(n))})
        for prefix in prefixes:
            frames = sorted(
                n[len(prefix) + len("images/"):]
                for n in names
                if n.startswith(prefix + "images/") and _is_image(n) and "/" not in n[len(prefix) + len("images/"):]
            )
            if not frames:
                continue
            name = prefix.rstrip("/").rsplit("/", 1)[-1] or path.stem
            model = [n for n in names if n.startswith(prefix + "0/") and "/" not in n[len(prefix) + 2:]]
            self.videos.append(_Video(name=name, frames=frames, archive=archive, prefix=prefix, model_members=model))

    def scene_names(self) -> list[str]:
        return [v.name for v in self.videos]

    def _num_views(self, scene: int) -> int:
        return len(self.videos[scene].frames)

    def _meta(self, scene: int) -> dict:
        if scene not in self._meta_cache:
            v = self.videos[scene]
            meta: dict = {}
            try:
                if v.folder is not None and (v.folder / "meta.json").is_file():
                    meta = json.loads((v.folder / "meta.json").read_text())
                elif v.archive is not None and v.prefix + "meta.json" in v.archive:
                    meta = json.loads(v.archive.read(v.prefix + "meta.json"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{v.name}: meta.json is not valid JSON ({exc})") from None
            self._meta_cache[scene] = meta if isinstance(meta, dict) else {}
        return self._meta_cache[scene]

    def _load_cameras(self, scene: int) -> _Cameras:
        from genxd.cameras import read_colmap_model

        v = self.videos[scene]
        if v.folder is not None:
            model_dir = v.folder / "0"
        else:
            assert v.archive is not None
            import hashlib

            key = hashlib.sha1(f"{v.archive.path.resolve()}\0{v.prefix}".encode()).hexdigest()[:16]
            model_dir = (self.extract_dir or _ExtractDir.get()) / key / "0"
            if not (model_dir / "cameras.bin").is_file() and not (model_dir / "cameras.txt").is_file():
                v.archive.extract(v.model_members, model_dir, strip_prefix=v.prefix + "0/")
        model = read_colmap_model(model_dir, allow_distortion=True)
        index = {name: i for i, name in enumerate(model.image_names)}
        n = len(v.frames)
        c2w = torch.eye(4).repeat(n, 1, 1)
        K = torch.eye(3).repeat(n, 1, 1)
        valid = []
        for p, frame in enumerate(v.frames):
            j = index.get(frame)
            if j is None:
                j = index.get(f"images/{frame}")
            if j is not None:
                c2w[p], K[p] = model.c2w[j].float(), model.K[j].float()
                valid.append(p)
        if not valid:
            raise ValueError(f"{v.name}: the COLMAP model registers none of the {n} images")
        points = model.points_xyz.float() if model.points_xyz.numel() else None
        return _Cameras(c2w, K, valid, points, self._meta(scene))

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        v = self.videos[scene]
        if v.folder is not None:
            return [_read_image(v.folder / "images" / v.frames[p]) for p in positions]
        assert v.archive is not None
        return [_decode_image(v.archive.read(f"{v.prefix}images/{v.frames[p]}")) for p in positions]

    def _kind_and_motion(self, scene: int, cams: _Cameras) -> tuple[str, float]:
        meta = cams.meta
        kind = self.kind
        if kind == "auto":
            stored = str(meta.get("kind", "")).lower()
            verdict = str(meta.get("verdict", "")).lower()
            if stored in ("3d", "4d"):
                kind = stored
            elif verdict in ("static", "dynamic"):
                kind = "3d" if verdict == "static" else "4d"
            else:
                kind = self.default_kind
        motion = 0.0
        for key in self.motion_keys:
            value = meta.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                motion = float(value)
                break
        return kind, motion * self.motion_scale


# ----------------------------------------------------------------------------------------------
# multi-view 3D: generic folders (COLMAP or transforms.json) and ReconFusion
# ----------------------------------------------------------------------------------------------

_COLMAP_DIRS = ("sparse/0", "0", "colmap/sparse/0", "sparse")


def _find_colmap(folder: Path) -> Path | None:
    for rel in _COLMAP_DIRS:
        d = folder / rel
        if any((d / f"cameras.{e}").is_file() for e in ("bin", "txt")):
            return d
    return None


def _resolve_image(folder: Path, file_path: str) -> Path:
    base = folder / file_path
    for cand in (base, base.with_name(base.name + ".png"), base.with_name(base.name + ".jpg")):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"{folder}: image {file_path!r} not found")


@dataclass
class _ViewScene:
    name: str
    image_paths: list[Path]
    c2w: Tensor
    K: Tensor
    points: Tensor | None


class MultiViewDataset(_ClipDataset):
    """Static multi-view scenes (3D, indicator 0) from folders of images with cameras.

    A scene folder holds ``images/`` and a COLMAP model (``sparse/0``, ``0``, ``colmap/sparse/0``
    or ``sparse``), or a nerfstudio ``transforms.json`` (image paths relative to the folder).
    ``root`` is one scene folder, a folder of scene folders, or a list.

    ``view_sampling="clip"``: ``num_frames`` consecutive views (in name / file order) every
    ``stride``; ``"random"``: ``samples_per_scene`` random sets of views per scene (sorted, seeded).
    """

    default_kind = "3d"

    def __init__(
        self,
        root: str | os.PathLike | Sequence[str | os.PathLike],
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        view_sampling: str = "clip",
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        samples_per_scene: int = 8,
        fit: str = "crop",
        pad_value: float = 1.0,
        camera_normalization: str = "scene",
        max_points: int = 20000,
        seed: int = 0,
    ) -> None:
        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         view_sampling, samples_per_scene, seed, cache_size=0)
        self.scenes: list[_ViewScene] = []
        for r in (Path(p) for p in _as_list(root)):
            if not r.is_dir():
                raise FileNotFoundError(f"{r}: no such folder")
            if self._is_scene(r):
                self.scenes.append(self._load_scene(r, max_points))
            else:
                for child in sorted(p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    if self._is_scene(child):
                        self.scenes.append(self._load_scene(child, max_points))
        if not self.scenes:
            raise ValueError(f"no multi-view scenes (images/ with a COLMAP model, or transforms.json) under {root}")
        self._build_clips()

    @staticmethod
    def _is_scene(folder: Path) -> bool:
        return (folder / "transforms.json").is_file() or ((folder / "images").is_dir() and _find_colmap(folder) is not None)

    @staticmethod
    def _load_scene(folder: Path, max_points: int) -> _ViewScene:
        from genxd.cameras import load_transforms_json, read_colmap_model

        if (folder / "transforms.json").is_file():
            path = load_transforms_json(folder / "transforms.json")
            images = [_resolve_image(folder, n) for n in (path.names or [])]
            return _ViewScene(folder.name, images, path.c2w.float(), path.K.float(), None)
        model_dir = _find_colmap(folder)
        assert model_dir is not None
        model = read_colmap_model(model_dir, allow_distortion=True)
        if len(model) == 0:
            raise ValueError(f"{model_dir}: no registered images")
        images = [folder / "images" / n for n in model.image_names]
        points = model.points_xyz.float()
        if len(points) > max_points:
            points = points[torch.randperm(len(points), generator=torch.Generator().manual_seed(0))[:max_points]]
        return _ViewScene(folder.name, images, model.c2w.float(), model.K.float(), points if len(points) else None)

    def scene_names(self) -> list[str]:
        return [s.name for s in self.scenes]

    def _num_views(self, scene: int) -> int:
        return len(self.scenes[scene].image_paths)

    def _load_cameras(self, scene: int) -> _Cameras:
        s = self.scenes[scene]
        return _Cameras(s.c2w, s.K, list(range(len(s.image_paths))), s.points)

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        s = self.scenes[scene]
        return [_read_image(s.image_paths[p]) for p in positions]


class ReconFusionDataset(_ClipDataset):
    """Scenes of a ReconFusion torch folder (``index.json`` + scene files; 3D, indicator 0).

    All views of every scene are used (not only a few-shot split). Cameras are read once at
    construction; images are decoded per item (the last ``cache_size`` scenes' bytes are kept).
    """

    default_kind = "3d"

    def __init__(
        self,
        root: str | os.PathLike,
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        view_sampling: str = "clip",
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        samples_per_scene: int = 8,
        fit: str = "crop",
        pad_value: float = 1.0,
        camera_normalization: str = "path",
        keys: Sequence[str] | None = None,
        cache_size: int = 2,
        seed: int = 0,
    ) -> None:
        from genxd.data.reconfusion import load_reconfusion_scene, read_reconfusion_index

        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         view_sampling, samples_per_scene, seed, cache_size)
        self.root = Path(root)
        index = read_reconfusion_index(self.root)
        if keys is not None:
            missing = [k for k in keys if k not in index]
            if missing:
                raise ValueError(f"{root}: scenes not in index.json: {', '.join(missing)}")
            index = {k: index[k] for k in keys}
        self.keys = list(index)
        self.files = [self.root / index[k] for k in self.keys]
        self.cameras = []
        for key, path in zip(self.keys, self.files):
            scene = load_reconfusion_scene(path, key=key, decode_images=False)
            self.cameras.append((scene.c2w.float(), scene.K.float()))
        self._bytes: OrderedDict = OrderedDict()
        self._build_clips()

    def scene_names(self) -> list[str]:
        return self.keys

    def _num_views(self, scene: int) -> int:
        return int(self.cameras[scene][0].shape[0])

    def _load_cameras(self, scene: int) -> _Cameras:
        c2w, K = self.cameras[scene]
        return _Cameras(c2w, K, list(range(len(c2w))))

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        from genxd.data.reconfusion import decode_image, load_reconfusion_scene

        if scene not in self._bytes:
            data = load_reconfusion_scene(self.files[scene], key=self.keys[scene], decode_images=False)
            self._bytes[scene] = data.image_bytes
            while len(self._bytes) > max(1, self.cache_size):
                self._bytes.popitem(last=False)
        return [decode_image(self._bytes[scene][p]) for p in positions]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_bytes"] = OrderedDict()
        return state


# ----------------------------------------------------------------------------------------------
# synthetic scenes rendered on the fly
# ----------------------------------------------------------------------------------------------


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

    Frames are quantised to 8 bits (as images on disk), so cached and fresh items are identical.
    """

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
    ) -> None:
        from genxd.data.synthetic import CAMERA_PATHS

        self.width = _check_common(num_frames, height, width, "crop", camera_normalization)
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        kinds = list(_as_list(kinds))
        if not kinds or any(k not in ("3d", "4d") for k in kinds):
            raise ValueError(f"kinds must be a non-empty list of '3d' / '4d', got {kinds}")
        for cams in (cameras_3d, cameras_4d):
            bad = [c for c in _as_list(cams) if c not in CAMERA_PATHS]
            if bad:
                raise ValueError(f"unknown camera paths {bad}; expected some of {', '.join(CAMERA_PATHS)}")
        lo, hi = (float(x) for x in focal_range)
        if not 0 < lo <= hi:
            raise ValueError(f"focal_range must be (low, high) with 0 < low <= high, got {focal_range}")
        if motion_source not in ("image", "world"):
            raise ValueError(f"motion_source must be 'image' or 'world', got {motion_source!r}")
        self.length, self.num_frames, self.height = int(length), int(num_frames), int(height)
        self.kinds, self.seed = kinds, int(seed)
        self.cameras = {"3d": list(_as_list(cameras_3d)) or None, "4d": list(_as_list(cameras_4d)) or None}
        self.focal_range = (lo, hi)
        self.motion_source, self.motion_scale = motion_source, float(motion_scale)
        self.camera_normalization = camera_normalization
        self.supersample, self.device = int(supersample), str(device)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()
        self.cache_dir = None
        if cache_dir is not None:
            import hashlib

            settings = json.dumps([self.seed, self.num_frames, self.height, self.width, self.kinds, self.cameras,
                                   self.focal_range, motion_source, self.motion_scale, camera_normalization,
                                   self.supersample, 1], sort_keys=True)
            self.cache_dir = Path(cache_dir) / hashlib.sha1(settings.encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return self.length

    def _disk_path(self, index: int) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{index:07d}.safetensors"

    def _read_disk(self, index: int) -> dict[str, Any] | None:
        from safetensors import safe_open

        path = self._disk_path(index)
        if path is None or not path.is_file():
            return None
        with safe_open(str(path), "pt") as fh:
            meta = fh.metadata() or {}
            t = {k: fh.get_tensor(k) for k in fh.keys()}
        return make_sample(t["frames"].float() / 255.0, t["c2w"], t["K"], meta["kind"], float(meta["motion_strength"]),
                           meta["name"])

    def _write_disk(self, index: int, sample: dict[str, Any]) -> None:
        from safetensors.torch import save_file

        path = self._disk_path(index)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        frames = (sample["frames"] * 255).round().to(torch.uint8)
        save_file({"frames": frames, "c2w": sample["c2w"], "K": sample["K"]}, str(tmp),
                  metadata={"kind": sample["kind"], "name": sample["name"],
                            "motion_strength": repr(float(sample["motion_strength"]))})
        os.replace(tmp, path)

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
        from genxd.data.synthetic import SURFACE_SKY, image_motion_strength

        kind, out = clip.kind, clip.render
        motion = 0.0
        if kind == "4d":
            if self.motion_source == "image":
                motion = image_motion_strength(clip.scene, out, clip.c2w, clip.K)
            else:
                motion = clip.scene.motion_strength
        not_sky = out.surface[0] != SURFACE_SKY
        depth = float(out.depth[0][not_sky].median()) if bool(not_sky.any()) else None
        c2w = clip.c2w.float().cpu().clone()
        c2w[:, :3, 3] *= camera_scale(c2w, self.camera_normalization, depth)
        name = f"synthetic-{kind}-{clip.seed}-{clip.camera}"
        frames = (out.rgb.float().cpu() * 255).round() / 255.0
        return make_sample(frames, c2w, clip.K.float().cpu(), kind, motion * self.motion_scale, name)


# ----------------------------------------------------------------------------------------------
# mixture
# ----------------------------------------------------------------------------------------------


class MixtureDataset(Dataset):
    """Item ``i`` comes from dataset ``c`` with probability ``weights[c]`` (normalised), at an index
    drawn uniformly; both drawn from ``(seed, i)``, so the mixture is deterministic.

    ``length`` default: the total length of the datasets.
    """

    def __init__(self, datasets: Sequence[Dataset], weights: Sequence[float] | None = None,
                 length: int | None = None, seed: int = 0) -> None:
        if not datasets:
            raise ValueError("MixtureDataset needs at least one dataset")
        weights = [1.0] * len(datasets) if weights is None else [float(w) for w in weights]
        if len(weights) != len(datasets):
            raise ValueError(f"{len(weights)} weights for {len(datasets)} datasets")
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all zero, got {weights}")
        for d in datasets:
            if len(d) == 0:  # type: ignore[arg-type]
                raise ValueError(f"{type(d).__name__} is empty")
        self.datasets = list(datasets)
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)
        self.length = int(length) if length is not None else int(sum(len(d) for d in datasets))  # type: ignore[arg-type]
        if self.length < 1:
            raise ValueError(f"length must be >= 1, got {self.length}")
        self.seed = int(seed)

    def __len__(self) -> int:
        return self.length

    def locate(self, index: int) -> tuple[int, int]:
        """``(dataset number, index in it)`` of mixture item ``index``."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        rng = _rng(self.seed, index, 0x1A)
        c = int(rng.choice(len(self.datasets), p=self.weights))
        j = int(rng.integers(len(self.datasets[c])))  # type: ignore[arg-type]
        return c, j

    def __getitem__(self, index: int) -> dict[str, Any]:
        c, j = self.locate(index)
        return self.datasets[c][j]


# ----------------------------------------------------------------------------------------------
# from a config
# ----------------------------------------------------------------------------------------------

DATASET_TYPES: dict[str, type] = {
    "synthetic": SyntheticDataset,
    "camvid": CamVidDataset,
    "multiview": MultiViewDataset,
    "reconfusion": ReconFusionDataset,
}


def _register_late_types() -> None:
    """Dataset types defined in their own modules (they import this one)."""
    from .photo_scenes import PhotoSceneDataset

    DATASET_TYPES.setdefault("photo", PhotoSceneDataset)


def build_dataset(spec: dict[str, Any], **defaults: Any) -> Dataset:
    """A dataset from a config entry ``{"type": ..., <constructor arguments>}``.

    ``defaults`` (e.g. ``num_frames``, ``height``, ``width``, ``seed``) fill arguments the entry does
    not set, when the dataset type takes them. ``weight`` is ignored here (see :class:`MixtureDataset`).
    Unknown arguments raise ValueError listing the accepted ones.
    """
    _register_late_types()
    spec = dict(spec)
    kind = spec.pop("type", None)
    spec.pop("weight", None)
    if kind not in DATASET_TYPES:
        raise ValueError(f"dataset type must be one of {sorted(DATASET_TYPES)}, got {kind!r}")
    cls = DATASET_TYPES[kind]
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p != "self"]
    unknown = [k for k in spec if k not in accepted]
    if unknown:
        raise ValueError(f"dataset type {kind!r}: unknown option(s) {unknown}; accepted: {accepted}")
    for key, value in defaults.items():
        if key in accepted and key not in spec and value is not None:
            spec[key] = value
    return cls(**spec)
