"""Validation videos during training: sample with :class:`genxd.pipelines.GenXDPipeline` from fixed
training items and write ``[ground truth | generated]`` side by side as mp4 (imageio / ffmpeg)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    from .models import DiffusersModel

__all__ = ["write_side_by_side", "psnr", "validate_genxd"]

_MODES = {0: "3d", 1: "video", 2: "4d"}


def psnr(a: Tensor, b: Tensor) -> float:
    """PSNR in dB of two images / videos ``[..., C, H, W]`` (one shape) in [0, 1]: one MSE over all their elements (as
    ``genxd eval``'s over a scene's frames), floored at 1e-12 as every PSNR genxd reports (docs/metrics.md: identical
    images read 120 dB, not inf) by :func:`genxd.reconstruction.metrics.psnr`."""
    from ..reconstruction.metrics import psnr as image_psnr

    def as_one_image(x: Tensor) -> Tensor:  # [1, N*C, H, W]: one MSE over all the elements
        return x.float().reshape(1, -1, *x.shape[-2:])

    return float(image_psnr(as_one_image(a), as_one_image(b)))


def write_side_by_side(path: Path, videos: Sequence[Tensor], fps: float = 4.0) -> Path:
    """Write ``[F, 3, H, W]`` videos in [0, 1] next to each other as one mp4 (atomically;
    :func:`genxd.utils.video.write_mp4`)."""
    from ..utils.video import write_mp4

    frames = torch.cat([v.detach().float().cpu().clamp(0, 1) for v in videos], dim=-1)
    arr = (frames.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return write_mp4(path, arr, fps=fps)


@torch.no_grad()
def validate_genxd(
    unet: DiffusersModel,
    vae: DiffusersModel,
    scheduler_config: dict[str, Any],
    samples: Sequence[dict[str, Any]],
    out_dir: Path,
    step: int,
    num_inference_steps: int,
    guidance_scale: float,
    fps: float,
    seed: int,
) -> dict[str, float]:
    """Generate each sample's frames from its first frame along its cameras (mode from its indicator,
    its motion strength) and write ``out_dir/step_NNNNNNN_i.mp4``. Returns mean PSNR of the
    non-context frames (``val/psnr``); no samples: no metric (``{}``), not NaN."""
    if not samples:
        return {}
    from diffusers import EulerDiscreteScheduler

    from ..pipelines import GenXDPipeline

    scheduler = EulerDiscreteScheduler.from_config(scheduler_config)
    pipe = GenXDPipeline(unet=unet, vae=vae, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    device = next(unet.parameters()).device
    scores = []
    for i, s in enumerate(samples):
        frames = s["frames"]
        gen = torch.Generator(device="cpu").manual_seed(seed + i)
        out = pipe(
            frames[:1][None].to(device),
            s["c2w"][None].to(device),
            s["K"][None].to(device),
            context_index=[0],
            mode=_MODES[int(s["indicator"])],
            motion_strength=float(s["motion_strength"]),
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            latents=torch.randn((1, frames.shape[0], unet.config.out_channels, frames.shape[-2] // pipe.vae_scale_factor,
                                 frames.shape[-1] // pipe.vae_scale_factor), generator=gen),
            output_type="pt",
        )
        video = (out[0] if isinstance(out, tuple) else out.frames)[0].cpu()  # return_dict=True: the output object
        scores.append(psnr(video[1:], frames[1:]))
        write_side_by_side(out_dir / f"step_{step:07d}_{i}.mp4", [frames, video], fps=fps)
    return {"val/psnr": float(np.mean(scores))}
