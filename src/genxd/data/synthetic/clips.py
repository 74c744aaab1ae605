"""Ready-made synthetic clips (scene + camera path + times + render) and their dataset formats.

``make_clip(seed, "3d" | "4d", ...)`` draws a scene, a camera path and (for 4D) a motion strength
from ``seed`` and renders it; :func:`write_clip` writes it in one of :data:`FORMATS`;
:class:`SyntheticClipDataset` serves clips on the fly (a ``torch.utils.data.Dataset``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...cameras.camera_path import square_pixel_intrinsics
from ...utils.file_groups import atomic_group
from ...utils.json_text import json_text
from ...utils.motion_units import IMAGE_MOTION_UNITS, SYNTHETIC_GENERATOR
from .cameras import CAMERA_PATHS, camera_path
from .ground_truth import image_motion_strength
from .render import SURFACE_SKY, RenderOutput, render
from .scene import Scene, make_scene
from .writers import write_camvid_sample, write_image_folder, write_reconfusion, write_video

__all__ = [
    "SyntheticClip",
    "make_clip",
    "first_view_depth",
    "write_clip",
    "SyntheticClipDataset",
    "FORMATS",
    "KINDS",
    "CAMERAS_3D",
    "CAMERAS_4D",
    "MOTION_STRENGTH_RANGE",
]

FORMATS = ("folder", "video", "camvid", "reconfusion")
KINDS = ("3d", "4d")
#: Camera paths drawn for static scenes (all with parallax) and for dynamic ones.
CAMERAS_3D = ("orbit", "forward", "handheld", "sway", "spiral")
CAMERAS_4D = ("orbit", "forward", "handheld", "static", "sway", "pan", "dolly")
#: Range (world units) of the random motion strength of 4D clips when none is given.
MOTION_STRENGTH_RANGE = (0.15, 1.0)


@dataclass
class SyntheticClip:
    """A rendered clip with its exact ground truth.

    Attributes:
        scene: the scene; kind: '3d' (static) or '4d' (moving objects); camera: the path name.
        c2w ``[N, 4, 4]``, K ``[N, 3, 3]``: the cameras; times ``[N]`` in [0, 1] (all 0 for 3D).
        render: the :class:`RenderOutput` (rgb, depth, object ids, object poses).
    """

    seed: int
    kind: str
    camera: str
    scene: Scene
    c2w: Tensor
    K: Tensor
    times: Tensor
    render: RenderOutput

    @property
    def images(self) -> Tensor:
        """``[N, 3, H, W]`` float in [0, 1]."""
        return self.render.rgb

    @property
    def motion_strength(self) -> float:
        """Net object displacement over the clip in world units (see :func:`make_scene`)."""
        return self.scene.motion_strength

    def meta(self) -> dict[str, Any]:
        """JSON-friendly description: ground-truth motion, cameras, times and the scene."""
        n, _, H, W = self.render.rgb.shape
        return {
            "generator": SYNTHETIC_GENERATOR,
            "seed": self.seed,
            "kind": self.kind,
            "camera_path": self.camera,
            "num_frames": n,
            "height": H,
            "width": W,
            "motion_strength": self.scene.motion_strength,
            "motion_strength_units": "world units: net displacement of every object centre from t=0 to t=1",
            "image_motion_strength": image_motion_strength(
                self.scene, self.render, self.c2w, self.K
            ),
            "image_motion_strength_units": IMAGE_MOTION_UNITS,
            "times": self.times.tolist(),
            "c2w_opencv": self.c2w.tolist(),
            "K_normalized": self.K.tolist(),
            "object_positions": self.render.object_positions.cpu().tolist(),
            "scene_depth": first_view_depth(self.render),
            "scene": self.scene.to_dict(),
        }


def first_view_depth(render: RenderOutput) -> float | None:
    """The clip's scene depth: the median z-depth of the first frame's pixels that are not sky, in world units (the
    depth camera normalisation divides by: ``genxd.data.datasets.camera_scale``); None when it sees only sky."""
    not_sky = render.surface[0] != SURFACE_SKY
    return float(render.depth[0][not_sky].median()) if bool(not_sky.any()) else None


def make_clip(
    seed: int,
    kind: str = "4d",
    num_frames: int = 16,
    height: int = 256,
    width: int = 256,
    *,
    camera: str | None = None,
    motion_strength: float | None = None,
    num_objects: int | None = None,
    focal: float = 1.0,
    supersample: int = 1,
    device: torch.device | str | None = None,
    render_dtype: torch.dtype = torch.float32,
) -> SyntheticClip:
    """Draw and render one clip, fully determined by the arguments.

    Args:
        seed: drives the scene, the camera path and the motion strength.
        kind: '3d' (static scene, all views at t = 0) or '4d' (moving objects, t = linspace(0, 1)).
        camera: a :data:`~genxd.data.synthetic.cameras.CAMERA_PATHS` name; random from
            :data:`CAMERAS_3D` / :data:`CAMERAS_4D` when None.
        motion_strength: 4D only; random in :data:`MOTION_STRENGTH_RANGE` when None.
        render_dtype: what :func:`render` traces in (``torch.float64``: the same 8-bit frames on every CPU).
    """
    from ... import validation as v

    kind = kind.lower() if isinstance(kind, str) else kind  # "4D" as genxd.generate takes "3D"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    # types as the command line checks them (num_frames=2.5 was a TypeError of torch.linspace, seed=-1 numpy's words)
    seed = v.check(seed, v.Int(0), "seed")  # no upper bound: datasets derive clip seeds past 2**63 (numpy takes them)
    num_frames = v.check(num_frames, v.Int(1, 100_000), "num_frames")
    height = v.check(height, v.Int(1, 65_536), "height")
    width = v.check(width, v.Int(1, 65_536), "width")
    if camera is not None and camera not in CAMERA_PATHS:
        raise ValueError(f"unknown camera path {camera!r}; expected one of {', '.join(CAMERA_PATHS)}")
    if kind == "3d" and motion_strength:
        raise ValueError("motion_strength needs kind='4d' (3D clips are static)")
    rng = np.random.default_rng([seed, 0xC11])
    choices = CAMERAS_3D if kind == "3d" else CAMERAS_4D
    camera = camera or str(rng.choice(choices))
    if kind == "4d":
        strength = float(rng.uniform(*MOTION_STRENGTH_RANGE)) if motion_strength is None else float(motion_strength)
        scene = make_scene(seed, dynamic=True, motion_strength=strength, num_objects=num_objects)
        times = torch.linspace(0.0, 1.0, num_frames) if num_frames > 1 else torch.zeros(1)
    else:
        scene = make_scene(seed, num_objects=num_objects)
        times = torch.zeros(num_frames)
    c2w, K = camera_path(camera, num_frames, seed=seed, focal=focal)
    K = square_pixel_intrinsics(K, height, width)  # focal is fx / W
    out = render(scene, c2w, K, height, width, times=times, device=device, supersample=supersample, dtype=render_dtype)
    return SyntheticClip(seed, kind, camera, scene, c2w, K, times, out)


def write_clip(
    clip: SyntheticClip,
    out_dir: str | os.PathLike,
    name: str,
    fmt: str = "folder",
    *,
    fps: float = 8.0,
    num_points: int = 20000,
    overwrite: bool = False,
) -> Path:
    """Write ``clip`` under ``out_dir`` in format ``fmt``; returns what was written.

    - 'folder': ``out_dir/name/`` (images, transforms.json, ground_truth.npz, meta.json);
    - 'video': ``out_dir/name.mp4`` and ``out_dir/name.json`` (meta, cameras included);
    - 'camvid': ``out_dir/name/`` CamVid-30K sample (images/*.jpg, COLMAP model 0/, meta.json),
      points3D sampled from the non-sky surfaces;
    - 'reconfusion': scene ``name`` in the ReConFusion torch folder ``out_dir`` (index.json).
    """
    out_dir = Path(out_dir)
    rgb, c2w, K = clip.render.rgb.cpu(), clip.c2w, clip.K
    meta = clip.meta()
    if fmt == "folder":
        return write_image_folder(
            out_dir / name,
            rgb,
            c2w,
            K,
            depth=clip.render.depth,
            object_id=clip.render.object_id,
            meta=meta,
            overwrite=overwrite,
            times=clip.times if clip.kind == "4d" else None,  # a 4D clip's frame times, for 4D readers
        )
    if fmt == "video":
        video = out_dir / f"{name}.mp4"
        side = out_dir / f"{name}.json"
        for existing in (video, side):
            if not overwrite and existing.exists():
                raise FileExistsError(f"{existing} already exists (pass overwrite=True to replace it)")
        # one output of two files: replaced together or not at all (genxd.utils.file_groups); renamed one after the
        # other, a stop between the two left the new video beside the old camera file
        with atomic_group([video, side], replace=overwrite) as (video_tmp, side_tmp):
            side_tmp.write_text(json_text(meta) + "\n")
            write_video(video_tmp, rgb, fps=fps, overwrite=True)
        return video
    if fmt == "camvid":
        return write_camvid_sample(
            out_dir,
            name,
            rgb,
            c2w,
            K,
            depth=clip.render.depth.cpu(),
            point_mask=(clip.render.surface != SURFACE_SKY).cpu(),
            num_points=num_points,
            meta=meta,
            seed=clip.seed,
            overwrite=overwrite,
        )
    if fmt == "reconfusion":
        extras = {"motion_strength": meta["motion_strength"], "times": clip.times.clone()}
        return write_reconfusion(out_dir, name, rgb, c2w, K, extras=extras, overwrite=overwrite)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


class SyntheticClipDataset(torch.utils.data.Dataset):
    """Clips rendered on the fly: item ``i`` is :func:`make_clip` with seed ``base_seed + i``.

    Items are dicts: ``images [F, 3, H, W]`` float in [0, 1], ``c2w [F, 4, 4]``, ``K [F, 3, 3]``,
    ``times [F]``, ``motion_strength`` (float tensor, world units), ``kind`` ('3d' / '4d').
    ``kind='mixed'`` alternates: even items 3D, odd items 4D.
    """

    def __init__(
        self,
        length: int,
        kind: str = "mixed",
        num_frames: int = 8,
        height: int = 64,
        width: int = 64,
        base_seed: int = 0,
        **clip_kwargs: Any,
    ) -> None:
        if kind not in KINDS + ("mixed",):
            raise ValueError(f"kind must be '3d', '4d' or 'mixed', got {kind!r}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length, self.kind = length, kind
        self.num_frames, self.height, self.width = num_frames, height, width
        self.base_seed, self.clip_kwargs = base_seed, clip_kwargs

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        kind = self.kind if self.kind != "mixed" else KINDS[index % 2]
        clip = make_clip(
            self.base_seed + index, kind, self.num_frames, self.height, self.width, **self.clip_kwargs
        )
        return {
            "images": clip.images.cpu(),
            "c2w": clip.c2w,
            "K": clip.K,
            "times": clip.times,
            "motion_strength": torch.tensor(clip.motion_strength, dtype=torch.float32),
            "kind": kind,
        }
