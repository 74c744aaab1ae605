"""GenXD's training objective (Stable Video Diffusion's EDM-style v-prediction) and its per-sample draws.

Noise and parameterisation, matching ``EulerDiscreteScheduler(prediction_type="v_prediction",
timestep_type="continuous")`` so that the pipeline's sampling inverts training exactly:

- noise level ``log(sigma) ~ N(P_mean, P_std)`` with ``P_mean = 0.7, P_std = 1.6`` (EDM log-normal as
  used to fine-tune SVD);
- noisy latents ``x = x0 + sigma * n``; UNet input ``c_in * x`` with ``c_in = 1 / sqrt(sigma^2 + 1)``
  (the scheduler's ``scale_model_input``); UNet timestep ``c_noise = 0.25 * log(sigma)``;
- the scheduler reconstructs ``x0 = c_skip * x + c_out * v`` with ``c_skip = 1 / (sigma^2 + 1)``,
  ``c_out = -sigma / sqrt(sigma^2 + 1)``; hence the target ``v = (n - sigma * x0) / sqrt(sigma^2 + 1)``;
- loss: plain mean squared error on ``v``. This *is* the EDM loss ``lambda(sigma) |D(x) - x0|^2`` with
  ``lambda = (sigma^2 + 1) / sigma^2 = 1 / c_out^2`` (since ``D(x) - x0 = c_out (v_pred - v)``), the
  weighting SVD fine-tuning uses, so both choices are the same loss.

GenXD specifics (shared with sampling through :func:`genxd.pipelines.conditioning.build_conditions`):
context frames carry their clean latents (replacing the noisy ones, mask channel 1), the loss is
averaged over the **non-context** frames only, rays are relative to the first context view, video
mode (indicator 1) has no rays, and a dropped-out sample uses the unconditional conditions.

Randomness is drawn **per sample** from a seed derived from the run seed and the sample's position
in the data stream (:func:`sample_seed`), never from a process-global generator: the draws of a
sample do not depend on the batch size, the number of processes or on resuming.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ..pipelines.conditioning import build_conditions
from ..utils.gaussian_filter import gaussian_kernel_1d, separable_filter
from .config import ConditioningConfig, NoiseConfig

if TYPE_CHECKING:
    from .models import DiffusersModel

__all__ = [
    "sample_seed",
    "c_in",
    "c_noise",
    "v_target",
    "denoised_from_v",
    "SampleDraw",
    "draw_sample",
    "SampleDrawer",
    "encode_latents",
    "genxd_loss",
    "object_cell_weights",
    "gaussian_blur_latents",
    "corrupt_context_latents",
]

MODE_VIDEO, MODE_4D = 1, 2


def sample_seed(run_seed: int, stream_position: int, salt: int = 0) -> int:
    """A 63-bit seed for the sample at ``stream_position`` of the data stream of run ``run_seed``."""
    state = np.random.SeedSequence([int(run_seed) & 0xFFFFFFFF, int(stream_position), int(salt)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def c_in(sigma: Tensor) -> Tensor:
    """Input scale ``1 / sqrt(sigma^2 + 1)`` (EulerDiscreteScheduler.scale_model_input)."""
    return (sigma**2 + 1) ** -0.5


def c_noise(sigma: Tensor) -> Tensor:
    """UNet timestep ``0.25 * log(sigma)`` (the scheduler's continuous timesteps)."""
    return 0.25 * sigma.log()


def _bcast(sigma: Tensor, like: Tensor) -> Tensor:
    return sigma.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)


def v_target(x0: Tensor, noise: Tensor, sigma: Tensor) -> Tensor:
    """``v = (noise - sigma * x0) / sqrt(sigma^2 + 1)``; ``sigma [B]`` broadcast over the rest."""
    s = _bcast(sigma, x0)
    return (noise - s * x0) / (s**2 + 1).sqrt()


def denoised_from_v(noisy: Tensor, v: Tensor, sigma: Tensor) -> Tensor:
    """The scheduler's ``x0 = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) * v`` (``noisy = x0 + sigma n``)."""
    s = _bcast(sigma, noisy)
    return noisy / (s**2 + 1) - s / (s**2 + 1).sqrt() * v


@dataclass
class SampleDraw:
    """The random choices for one training sample.

    ``context_index [V]`` (the first is the reference view of the rays), ``sigma``, ``noise [F, C, h, w]``,
    ``keep_conditions`` (False: classifier-free-guidance dropout), ``indicator`` (after video mode).
    ``context_blur`` / ``context_noise`` / ``context_eps [V, C, h, w]``: the corruption of the context
    latents (``ConditioningConfig.context_corruption``; 0 / 0 / None: clean context).
    """

    context_index: Tensor
    sigma: float
    noise: Tensor
    keep_conditions: bool
    indicator: int
    context_blur: float = 0.0
    context_noise: float = 0.0
    context_eps: Tensor | None = None


def draw_sample(
    seed: int,
    num_frames: int,
    latent_shape: tuple[int, int, int],
    indicator: int,
    conditioning: ConditioningConfig,
    noise: NoiseConfig,
) -> SampleDraw:
    """All random choices of a sample from one CPU generator seeded with ``seed``."""
    if num_frames < 2:
        raise ValueError(f"need at least 2 frames (context + target), got {num_frames}")
    gen = torch.Generator().manual_seed(int(seed))

    def uniform() -> float:
        return float(torch.rand((), generator=gen))

    max_views = max(1, min(conditioning.max_context_views, num_frames - 1))
    if max_views == 1 or uniform() < conditioning.single_view_ratio:
        num_views = 1
    else:
        num_views = int(torch.randint(2, max_views + 1, (), generator=gen))
    mode = conditioning.context_frames
    if mode == "first":
        context = torch.arange(num_views)
    elif mode == "random":
        context = torch.randperm(num_frames, generator=gen)[:num_views]
        context = torch.cat([context[:1], context[1:].sort().values])
    else:  # first_plus_random
        others = torch.randperm(num_frames - 1, generator=gen)[: num_views - 1] + 1
        context = torch.cat([torch.zeros(1, dtype=torch.long), others.sort().values])
    log_sigma = noise.p_mean + noise.p_std * float(torch.randn((), generator=gen))
    eps = torch.randn((num_frames, *latent_shape), generator=gen)
    keep = uniform() >= conditioning.condition_dropout
    video = uniform() < conditioning.video_ratio
    ind = MODE_VIDEO if (indicator == MODE_4D and video) else int(indicator)
    draw = SampleDraw(context.long(), float(np.exp(log_sigma)), eps, keep, ind)
    # Drawn after everything else and only when switched on, so that other runs keep their draws.
    if conditioning.context_corruption > 0 and ind in (MODE_VIDEO, MODE_4D):
        if uniform() < conditioning.context_corruption:
            k = int(torch.randint(1, max_views + 1, (), generator=gen))
            draw.context_index = torch.arange(k, dtype=torch.long)
            draw.context_blur = conditioning.context_blur * uniform()
            draw.context_noise = conditioning.context_noise * uniform()
            draw.context_eps = torch.randn((k, *latent_shape), generator=gen)
    return draw


def gaussian_blur_latents(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``x [N, C, h, w]`` with ``sigma`` latent cells (reflect padding);
    ``sigma <= 0.05``: ``x`` itself."""
    if sigma <= 0.05:
        return x
    radius = max(1, min(int(np.ceil(2.5 * sigma)), min(x.shape[-2:]) - 1))
    g = gaussian_kernel_1d(2 * radius + 1, float(sigma)).to(device=x.device, dtype=x.dtype)
    return separable_filter(torch.nn.functional.pad(x, (radius,) * 4, mode="reflect"), g)


def corrupt_context_latents(context_latents: Tensor, draws: list[SampleDraw]) -> Tensor:
    """Apply each draw's context corruption to ``context_latents [B, V, C, h, w]`` (views beyond a sample's
    own are padding copies of its first view and are replaced by its corrupted first view)."""
    if not any(d.context_eps is not None for d in draws):
        return context_latents
    out = context_latents.clone()
    for i, d in enumerate(draws):
        if d.context_eps is None:
            continue
        v = len(d.context_index)
        x = gaussian_blur_latents(out[i, :v], d.context_blur)
        x = x + d.context_noise * d.context_eps.to(device=x.device, dtype=x.dtype)
        out[i, :v] = x
        out[i, v:] = x[:1]
    return out


@dataclass(frozen=True)
class SampleDrawer:
    """Picklable ``(stream_position, indicator) -> SampleDraw`` for a run (used by DataLoader workers)."""

    run_seed: int
    num_frames: int
    latent_shape: tuple[int, int, int]
    conditioning: ConditioningConfig
    noise: NoiseConfig

    def __call__(self, stream_position: int, indicator: int) -> SampleDraw:
        return draw_sample(sample_seed(self.run_seed, stream_position), self.num_frames, self.latent_shape,
                           indicator, self.conditioning, self.noise)


@torch.no_grad()
def encode_latents(vae: DiffusersModel, frames: Tensor, chunk_size: int | None = None,
                   chunk_pixels: int = 16 * 576 * 1024) -> Tensor:
    """Scaled VAE latents (distribution mode) of ``frames [B, F, 3, H, W]`` in [0, 1] -> float32 ``[B, F, 4, h, w]``.

    Frames are encoded in chunks of ``chunk_size`` frames (default: as many as fit in ``chunk_pixels``
    pixels, i.e. 16 frames at 576x1024 and the whole batch of a small model in one call).
    """
    b, f = frames.shape[:2]
    if chunk_size is None:
        chunk_size = max(1, int(chunk_pixels) // (frames.shape[-1] * frames.shape[-2]))
    param = next(vae.parameters())
    x = frames.flatten(0, 1).to(device=param.device, non_blocking=True).to(param.dtype) * 2 - 1
    out = [vae.encode(x[i : i + chunk_size]).latent_dist.mode() for i in range(0, x.shape[0], chunk_size)]
    lat = torch.cat(out).float() * vae.config.scaling_factor
    return lat.reshape(b, f, *lat.shape[1:])


def genxd_loss(
    unet: torch.nn.Module,
    latents: Tensor,
    c2w: Tensor,
    K: Tensor,
    motion_strength: Tensor,
    draws: list[SampleDraw],
    *,
    num_added_time_ids: int = 2,
    use_rays: bool = True,
    use_motion: bool = True,
    object_mask: Tensor | None = None,
    object_weight: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """v-prediction loss of a batch.

    Args:
        unet: the UNet (possibly wrapped by DDP/accelerate).
        latents: ``[B, F, 4, h, w]`` clean scaled latents (float32).
        c2w / K: ``[B, F, 4, 4]`` / ``[B, F, 3, 3]`` cameras (normalised K).
        motion_strength: ``[B]``; draws: one :class:`SampleDraw` per sample.
        object_mask / object_weight: ``[B, F, H, W]`` (1 on moving objects, image resolution) and the extra
            weight of their latent cells: each cell weighs ``1 + object_weight * (fraction of object pixels
            in it)``, and a sample's loss is the weighted mean over its target frames (so a sample without
            objects keeps the plain mean). ``object_weight = 0`` (default): the plain loss.
    Returns:
        ``(loss, per_sample_loss [B])``: the batch mean and each sample's MSE over its non-context frames.
    """
    b, f = latents.shape[:2]
    if len(draws) != b:
        raise ValueError(f"{len(draws)} draws for a batch of {b}")
    device = latents.device
    # One batched build_conditions call: samples have 1..V context views; shorter index lists are
    # padded by repeating their first (reference) view, which scatters the same latents to the same
    # frame again, so the conditions equal those built one sample at a time.
    max_views = max(len(d.context_index) for d in draws)
    context_index = torch.stack([
        torch.cat([d.context_index, d.context_index[:1].expand(max_views - len(d.context_index))]) for d in draws
    ])
    keep_list = [bool(d.keep_conditions) for d in draws]
    host = {  # small per-sample values, built on the CPU and sent in one copy each
        "context_index": context_index,
        "indicator": torch.tensor([int(d.indicator) for d in draws], dtype=torch.long),
        "sigma": torch.tensor([d.sigma for d in draws], dtype=torch.float32),
        "keep": torch.tensor(keep_list),
    }
    non_blocking = device.type == "cuda"
    on_device = {k: v.to(device, non_blocking=non_blocking) for k, v in host.items()}
    context_index_d = on_device["context_index"]
    context_latents = torch.gather(
        latents, 1, context_index_d[:, :, None, None, None].expand(b, max_views, *latents.shape[2:])
    )
    context_latents = corrupt_context_latents(context_latents, draws)
    cond = build_conditions(
        context_latents,
        context_index_d,
        c2w.to(device, non_blocking=non_blocking),
        K.to(device, non_blocking=non_blocking),
        on_device["indicator"],
        motion_strength.to(device, non_blocking=non_blocking) if use_motion else None,
        num_added_time_ids=num_added_time_ids,
        use_rays=use_rays,
    )
    if not all(keep_list):
        cond = cond.select(on_device["keep"])
    sigma = on_device["sigma"]
    noise = torch.stack([d.noise for d in draws])
    if non_blocking:
        noise = noise.pin_memory()
    noise = noise.to(device=device, dtype=latents.dtype, non_blocking=non_blocking)
    noisy = latents + _bcast(sigma, latents) * noise
    model_in = cond.unet_input(noisy * _bcast(c_in(sigma), noisy))
    pred = unet(
        model_in,
        c_noise(sigma),
        added_time_ids=cond.added_time_ids,
        indicator=cond.indicator,
        motion_ids=cond.motion_ids,
        return_dict=False,
    )[0].float()
    target = v_target(latents, noise, sigma)
    weight = 1.0 - cond.mask[:, :, :1, :1, :1]  # [B, F, 1, 1, 1]: 1 on target frames
    if object_mask is not None and object_weight > 0:
        weight = weight * object_cell_weights(object_mask, latents.shape[-2:], object_weight).to(device)
    else:
        weight = weight.expand(-1, -1, 1, *pred.shape[-2:])
    sq = (pred - target) ** 2 * weight  # weight [B, F, 1, h, w]
    per_sample = sq.flatten(1).sum(1) / (weight.flatten(1).sum(1) * pred.shape[2]).clamp_min(1.0)
    return per_sample.mean(), per_sample.detach()


def object_cell_weights(object_mask: Tensor, latent_hw: tuple[int, int] | torch.Size, object_weight: float) -> Tensor:
    """``[B, F, 1, h, w]`` loss weights ``1 + object_weight * (fraction of object pixels in each latent cell)``
    from an image-resolution ``object_mask [B, F, H, W]`` (area average down to the latent grid)."""
    b, f, hh, ww = object_mask.shape
    frac = torch.nn.functional.adaptive_avg_pool2d(object_mask.reshape(b * f, 1, hh, ww).float(),
                                                    (int(latent_hw[0]), int(latent_hw[1])))
    return (1.0 + float(object_weight) * frac).reshape(b, f, 1, *frac.shape[-2:])
