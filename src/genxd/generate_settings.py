"""The settings of :func:`genxd.generate` (:class:`GenerateSettings`), checked and normalised in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import validation as v
from .cameras import CameraPath
from .utils.images import Fit
from .utils.paths import path_argument
from .validation import check

if TYPE_CHECKING:
    from typing_extensions import TypeIs


@dataclass
class GenerateSettings:
    """Settings of :func:`generate` (``None`` = the model's default)."""

    camera: str | Path | CameraPath = "orbit"  # kept as a string; a Path is a file or folder, never a preset
    mode: str = "3d"
    motion_strength: float = 0.0
    num_frames: int | None = None
    resolution: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    seed: int = 0
    focal: float | None = None
    elevation: float | None = None
    azimuth_range: tuple[float, float] | None = None
    radius: float | None = None
    fit: Fit = "crop"
    fps: float | None = None
    batch_size: int = 1
    camera_from_video: str | Path | None = None
    path_scale: float = 1.0
    path_spacing: str | None = None
    path_intrinsics: str = "model"
    path_smoothing: float = 0.0
    camera_start: str | float | None = None  # part of camera_from_video: seconds, or a frame index "30f"
    camera_end: str | float | None = None
    # paths longer than the model's window (genxd.pipelines.long_paths); None: the model's defaults
    window: int | None = None
    anchors: int | None = None
    overlap: int | None = None
    max_windows_per_call: int | None = None
    scheduler: str | None = None  # sampler (genxd.pipelines.schedulers); None: the model's default
    decode_chunk: int | None = None  # frames per VAE decoding window; None: by image size
    sequential_guidance: bool = False  # guidance branches as two UNet calls (less memory)
    extra: dict = field(default_factory=dict)

    def checked(self) -> "GenerateSettings":
        """A copy with every value checked and normalised (:mod:`genxd.validation`); raises InvalidValue."""
        cam = self.camera
        if not isinstance(cam, CameraPath):  # a CameraPath object is taken as it is
            what = "a preset name, a camera file path or a CameraPath"
            _refuse_camera_arrays(cam, what)
            cam = path_argument(cam, "camera", what)  # "~/cam.json" expanded
            if len(cam.parts) == 1 and (not isinstance(self.camera, str) or str(cam) != self.camera):
                # a path object is a file or folder (as camera_path_of takes it), never a preset: Path("orbit")
                # as the string "orbit" was the preset, even with a camera folder named orbit here; so is a string
                # written as a path ("./orbit", "orbit/": pathlib makes them "orbit", the preset's name)
                cam = os.path.join(os.curdir, cam)
        from .cameras.clip_range import check_bounds

        check_bounds(self.camera_start, self.camera_end, ("camera_start", "camera_end"))
        for name in ("camera_start", "camera_end"):
            if getattr(self, name) is not None and self.camera_from_video is None:
                raise v.InvalidValue(f"{v.arg(name)} applies to {v.arg('camera_from_video')} only (a part of the clip)")
        if not isinstance(self.extra, dict):
            raise v.InvalidType(f"{v.arg('extra')} must be a dict, got {type(self.extra).__name__}")
        return GenerateSettings(
            camera=cam if isinstance(cam, (str, CameraPath)) else str(cam),
            mode=check(self.mode, v.MODES, "mode"),
            motion_strength=check(self.motion_strength, v.MOTION_STRENGTH, "motion_strength"),
            num_frames=check(self.num_frames, v.NUM_FRAMES, "num_frames"),
            resolution=check(self.resolution, v.RESOLUTION, "resolution"),
            num_inference_steps=check(self.num_inference_steps, v.STEPS, "num_inference_steps"),
            guidance_scale=check(self.guidance_scale, v.GUIDANCE, "guidance_scale"),
            seed=check(self.seed, v.SEED, "seed"),
            focal=check(self.focal, v.FOCAL, "focal"),
            elevation=check(self.elevation, v.ELEVATION, "elevation"),
            azimuth_range=check(self.azimuth_range, v.AZIMUTH_RANGE, "azimuth_range"),
            radius=check(self.radius, v.RADIUS, "radius"),
            fit=check(self.fit, v.FITS, "fit"),
            fps=check(self.fps, v.FPS, "fps"),
            batch_size=check(self.batch_size, v.BATCH_SIZE, "batch_size"),
            camera_from_video=(None if self.camera_from_video is None else
                               str(path_argument(self.camera_from_video, "camera_from_video", "a video file path"))),
            path_scale=check(self.path_scale, v.PATH_SCALE, "path_scale"),
            path_spacing=check(self.path_spacing, v.PATH_SPACINGS, "path_spacing"),
            path_intrinsics=check(self.path_intrinsics, v.PATH_INTRINSICS, "path_intrinsics"),
            path_smoothing=check(self.path_smoothing, v.PATH_SMOOTHING, "path_smoothing"),
            camera_start=self.camera_start, camera_end=self.camera_end,  # checked above
            window=check(self.window, v.WINDOW, "window"),
            anchors=check(self.anchors, v.ANCHORS, "anchors"),
            overlap=check(self.overlap, v.OVERLAP, "overlap"),
            max_windows_per_call=check(self.max_windows_per_call, v.Int(1, 100_000, optional=True), "max_windows_per_call"),
            scheduler=check(self.scheduler, v.SCHEDULERS, "scheduler"),
            decode_chunk=check(self.decode_chunk, v.DECODE_CHUNK, "decode_chunk"),
            sequential_guidance=check(self.sequential_guidance, v.Flag(), "sequential_guidance"),
            extra=dict(self.extra),
        )


def check_model_frames(s: GenerateSettings, config: Path, model_frames: object) -> None:
    """The model's frame count (``model_frames``, ``num_frames`` of its ``config``, generation_config.json) where
    :func:`genxd.generate` takes it, checked before anything is made of it: for the frames of a preset's or a video's
    path when ``num_frames`` is not given (``s``: the checked settings), else for the window of a long path when
    ``window`` is not given; as those options are checked (:data:`~genxd.generation_settings.MODEL_NUM_FRAMES`).
    An InvalidValue naming the file and the key: 1e12 made a preset path of 1e12 cameras (refused naming
    ``--frames``, not given), 50000 ran out of memory after half a minute, 1 was refused naming ``--window``."""
    from .camera_presets import CAMERA_PRESETS
    from .generation_settings import MODEL_NUM_FRAMES, check_model_setting

    preset = isinstance(s.camera, str) and s.camera in CAMERA_PRESETS  # a path given as text is "./name" by now
    if s.num_frames is None and (preset or s.camera_from_video is not None):
        option = "num_frames"
    elif s.window is None:
        option = "window"
    else:
        return
    who, verb = ("genxd generate", "give") if v.is_cli() else ("genxd.generate", "pass")
    check_model_setting(config, "num_frames", model_frames, MODEL_NUM_FRAMES,
                        f"{who} takes it for {v.arg(option)}, which was not given: {verb} {v.arg(option)}")


__all__ = ["GenerateSettings", "check_model_frames"]


def _refuse_camera_arrays(camera: object, what: str) -> None:
    """Matrices given as ``camera`` (the ``(c2w, K)`` pair every ``genxd.cameras`` preset returns, a c2w array): one
    line saying how to pass them. The message printed the whole tensor before, cut at 300 characters."""
    import numpy as np
    import torch

    def is_matrix(x: object) -> TypeIs[np.ndarray | torch.Tensor]:
        return isinstance(x, (np.ndarray, torch.Tensor))

    if isinstance(camera, (tuple, list)) and camera and all(is_matrix(x) for x in camera):
        shapes = ", ".join(str(list(x.shape)) for x in camera)
        got = f"a {type(camera).__name__} of {len(camera)} arrays ({shapes})"
    elif is_matrix(camera):
        got = f"an array of shape {list(camera.shape)}"
    else:
        return
    raise v.InvalidType(f"{v.arg('camera')} must be {what}, got {got}: for your own matrices, pass "
                        f"genxd.cameras.CameraPath(c2w, K, height, width) (K normalised: fx/W, fy/H, cx/W, cy/H)")

