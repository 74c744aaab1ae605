"""GenXD's conditions, shared by sampling (``GenXDPipeline``) and training (``genxd.training``).

The UNet input per frame is ``[noisy latents (4) | image latents (4, zeros) | Plücker rays (6) | mask (1)]``:

- **masked latent conditions**: the VAE latents of the context views are placed at their frames
  (zeros elsewhere) and also *replace* the noisy latents there; a mask channel marks those frames;
- **camera**: Plücker rays of every target camera, expressed relative to the first context view,
  at latent resolution (zeros in video mode, which has no camera);
- **added time ids** per frame ``[0, 1]`` (``[0, 0]`` in video mode) and the **motion strength**
  as ``motion_ids``; the unconditional branch of classifier-free guidance zeroes context latents,
  rays, added time ids and motion ids, and keeps the mask.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from torch import Tensor

from ..cameras import plucker_rays, relative_poses
from ..models.blocks import MODE_3D, MODE_4D, MODE_VIDEO

MODES = {"3d": MODE_3D, "mv": MODE_3D, "video": MODE_VIDEO, "4d": MODE_4D}


def mode_to_indicator(mode: str | int) -> int:
    """``"3d"``/``"mv"`` -> 0, ``"video"`` -> 1, ``"4d"`` -> 2 (ints in {0, 1, 2} pass through)."""
    if isinstance(mode, str):
        key = mode.lower()
        if key not in MODES:
            raise ValueError(f"mode must be one of {sorted(set(MODES))} or 0/1/2, got {mode!r}")
        return MODES[key]
    # None failed in int()'s words, 2.7 was mode 2 and True mode 1 without a word
    if isinstance(mode, bool) or not isinstance(mode, numbers.Integral):
        raise TypeError(f"mode must be one of {sorted(set(MODES))} or 0/1/2, got {mode!r} ({type(mode).__name__})"[:300])
    if int(mode) not in (MODE_3D, MODE_VIDEO, MODE_4D):
        raise ValueError(f"indicator must be 0 (3D), 1 (video) or 2 (4D), got {mode}")
    return int(mode)


def context_mask(context_index: Tensor, num_frames: int) -> Tensor:
    """One-hot ``[B, F]`` float mask of the frames that are context views (``context_index [B, V]``)."""
    mask = torch.zeros(context_index.shape[0], num_frames, device=context_index.device)
    return mask.scatter_(1, context_index.long(), 1.0)


def scatter_context_latents(context_latents: Tensor, context_index: Tensor, num_frames: int) -> Tensor:
    """Place context latents ``[B, V, C, h, w]`` at their frames: ``[B, F, C, h, w]`` (zeros elsewhere)."""
    b, v, c, h, w = context_latents.shape
    full = context_latents.new_zeros(b, num_frames, c, h, w)
    index = context_index.long()[:, :, None, None, None].expand(b, v, c, h, w)
    return full.scatter(1, index, context_latents)


def camera_rays(target_c2w: Tensor, target_K: Tensor, reference_c2w: Tensor, height: int, width: int) -> Tensor:
    """Plücker rays ``[B, F, 6, height, width]`` of the target cameras relative to the reference view.

    ``target_c2w [B, F, 4, 4]``, ``target_K [B, F, 3, 3]`` (normalised), ``reference_c2w [B, 4, 4]``.
    Computed in float32 whatever the inputs' dtype.
    """
    rel = relative_poses(target_c2w.float(), reference_c2w.float())
    return plucker_rays(rel, target_K.float(), height, width)


@dataclass
class GenXDConditions:
    """Per-sample conditions (conditional branch), all on one device.

    Shapes: ``B`` samples, ``F`` frames, latent grid ``h x w``.
    """

    mask: Tensor  # [B, F, 1, h, w]
    context_latents: Tensor  # [B, F, 4, h, w] scaled latents at context frames, zeros elsewhere
    rays: Tensor  # [B, F, 6, h, w]
    added_time_ids: Tensor  # [B, F, n_ids]
    motion_ids: Tensor | None  # [B]
    indicator: Tensor  # [B] long

    def unconditional(self) -> "GenXDConditions":
        """The classifier-free-guidance negative: no context latents, rays, time ids or motion; same mask."""
        return GenXDConditions(
            mask=self.mask,
            context_latents=torch.zeros_like(self.context_latents),
            rays=torch.zeros_like(self.rays),
            added_time_ids=torch.zeros_like(self.added_time_ids),
            motion_ids=None if self.motion_ids is None else torch.zeros_like(self.motion_ids),
            indicator=self.indicator,
        )

    @staticmethod
    def cat(items: list["GenXDConditions"]) -> "GenXDConditions":
        """Concatenate along the batch (used to run both guidance branches in one UNet call)."""
        motions = [c.motion_ids for c in items if c.motion_ids is not None]
        if motions and len(motions) != len(items):
            raise ValueError(f"conditions to concatenate: {len(motions)} of {len(items)} have motion ids; "
                             "give them all or none")
        motion = torch.cat(motions) if motions else None
        return GenXDConditions(
            mask=torch.cat([c.mask for c in items]),
            context_latents=torch.cat([c.context_latents for c in items]),
            rays=torch.cat([c.rays for c in items]),
            added_time_ids=torch.cat([c.added_time_ids for c in items]),
            motion_ids=motion,
            indicator=torch.cat([c.indicator for c in items]),
        )

    def select(self, keep: Tensor) -> "GenXDConditions":
        """Condition dropout for training: where ``keep [B]`` is False use the unconditional values."""
        unc = self.unconditional()

        def pick(a: Tensor, b: Tensor) -> Tensor:
            k = keep.to(a.device).reshape(-1, *([1] * (a.ndim - 1)))
            return torch.where(k, a, b)

        return GenXDConditions(
            mask=self.mask,
            context_latents=pick(self.context_latents, unc.context_latents),
            rays=pick(self.rays, unc.rays),
            added_time_ids=pick(self.added_time_ids, unc.added_time_ids),
            motion_ids=None if self.motion_ids is None or unc.motion_ids is None else pick(self.motion_ids,
                                                                                           unc.motion_ids),
            indicator=self.indicator,
        )

    def unet_input(self, noisy_latents: Tensor) -> Tensor:
        """``[B, F, 15, h, w]``: noisy latents with the context frames replaced by the context latents,
        then 4 image-latent channels, the rays and the mask.

        The 4 image-latent channels (Stable Video Diffusion's image conditioning, kept in the
        released UNet's ``conv_in``) are **zeros**, exactly as in the released sampling code: GenXD
        conditions on context views only through the replaced latents and the mask.
        """
        dtype = noisy_latents.dtype
        mask = self.mask.to(dtype)
        x = noisy_latents * (1 - mask) + self.context_latents.to(dtype) * mask
        return torch.cat([x, torch.zeros_like(x), self.rays.to(dtype), mask], dim=2)


def _is_integer(t: Tensor) -> bool:
    """Whether ``t`` holds integers (not floats, complex numbers or booleans: True is no frame index or mode)."""
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


def _checked_inputs(context_latents: Tensor, context_index: Tensor, target_c2w: Tensor, target_K: Tensor,
                    indicator: Tensor, motion_strength: Tensor | None, reference_c2w: Tensor | None,
                    ) -> tuple[Tensor, Tensor, Tensor | None]:
    """:func:`build_conditions`' inputs checked by shape (a ValueError naming the argument; a caller's wrong shape
    failed in a scatter or an einsum), ``context_index`` / ``indicator`` / ``motion_strength`` given as ints, lists
    or scalars made tensors. Index values are checked where they are on the CPU (no device sync)."""
    if context_latents.ndim != 5:
        raise ValueError(f"context_latents must be [B, V, C, h, w], got {tuple(context_latents.shape)}")
    b, v = context_latents.shape[:2]
    if target_c2w.ndim != 4 or target_c2w.shape[0] != b or target_c2w.shape[-2:] != (4, 4):
        raise ValueError(f"target_c2w must be [B={b}, F, 4, 4], got {tuple(target_c2w.shape)}")
    f = target_c2w.shape[1]
    if tuple(target_K.shape) != (b, f, 3, 3):
        raise ValueError(f"target_K must be [B, F, 3, 3] = [{b}, {f}, 3, 3], got {tuple(target_K.shape)}")
    context_index = torch.as_tensor(context_index)
    if tuple(context_index.shape) != (b, v) or not _is_integer(context_index):
        raise ValueError(f"context_index must be integer [B, V] = [{b}, {v}], got {context_index.dtype} "
                         f"{tuple(context_index.shape)}")
    if context_index.device.type == "cpu" and ((context_index < 0) | (context_index >= f)).any():
        raise ValueError(f"context_index values must be frame indices in [0, {f}), got {context_index.tolist()}")
    indicator = torch.as_tensor(indicator)
    if indicator.numel() == 1:
        indicator = indicator.reshape(1).expand(b)
    if tuple(indicator.shape) != (b,) or not _is_integer(indicator):  # bool: torch.isin's RuntimeError
        raise ValueError(f"indicator must be integer [B={b}] (0 = 3D, 1 = video, 2 = 4D), got {indicator.dtype} "
                         f"{tuple(indicator.shape)}")
    if indicator.device.type == "cpu" and not torch.isin(indicator, torch.tensor([MODE_3D, MODE_VIDEO, MODE_4D])).all():
        raise ValueError(f"indicator values must be 0 (3D), 1 (video) or 2 (4D), got {indicator.tolist()}")
    if motion_strength is not None:
        motion_strength = torch.as_tensor(motion_strength, dtype=torch.float32)
        if motion_strength.numel() == 1:
            motion_strength = motion_strength.reshape(1).expand(b)
        if tuple(motion_strength.shape) != (b,):
            raise ValueError(f"motion_strength must be [B={b}] or a scalar, got {tuple(motion_strength.shape)}")
    if reference_c2w is not None and tuple(reference_c2w.shape) != (b, 4, 4):
        raise ValueError(f"reference_c2w must be [B, 4, 4] = [{b}, 4, 4], got {tuple(reference_c2w.shape)}")
    return context_index, indicator, motion_strength


def build_conditions(
    context_latents: Tensor,
    context_index: Tensor,
    target_c2w: Tensor,
    target_K: Tensor,
    indicator: Tensor,
    motion_strength: Tensor | None,
    num_added_time_ids: int = 2,
    reference_c2w: Tensor | None = None,
    use_rays: bool = True,
) -> GenXDConditions:
    """Assemble the conditions of a batch.

    Args:
        context_latents: ``[B, V, 4, h, w]`` VAE latents of the context views, already scaled by the
            VAE's ``scaling_factor``.
        context_index: ``[B, V]`` which of the ``F`` frames each context view is (a tensor or a nested list).
        target_c2w / target_K: ``[B, F, 4, 4]`` / ``[B, F, 3, 3]`` cameras of all frames.
        indicator: ``[B]`` long (or one int for all), 0 = 3D, 1 = video, 2 = 4D.
        motion_strength: ``[B]`` or a scalar, or None (model without motion embedding).
        reference_c2w: ``[B, 4, 4]``, default the camera of the first context view.
        use_rays: False for a model without ray conditioning (zero channels are still not added).

    A wrong shape is a ValueError naming the argument.
    """
    context_index, indicator, motion_strength = _checked_inputs(
        context_latents, context_index, target_c2w, target_K, indicator, motion_strength, reference_c2w)
    b, f = target_c2w.shape[:2]
    h, w = context_latents.shape[-2:]
    device = context_latents.device
    mask = context_mask(context_index, f).to(device)[:, :, None, None, None].expand(b, f, 1, h, w)
    full = scatter_context_latents(context_latents, context_index.to(device), f)
    if reference_c2w is None:
        reference_c2w = torch.gather(
            target_c2w, 1, context_index[:, :1, None, None].long().to(target_c2w.device).expand(b, 1, 4, 4)
        )[:, 0]
    if use_rays:
        rays = camera_rays(target_c2w, target_K, reference_c2w, h, w).to(device)
        rays = torch.where((indicator.to(device) == MODE_VIDEO)[:, None, None, None, None], torch.zeros_like(rays), rays)
    else:
        rays = context_latents.new_zeros(b, f, 0, h, w)
    ids = torch.zeros(b, f, num_added_time_ids, device=device)
    if num_added_time_ids >= 2:
        ids[:, :, 1] = (indicator.to(device) != MODE_VIDEO).float()[:, None]
    motion = None if motion_strength is None else motion_strength.to(device=device, dtype=torch.float32).reshape(b)
    return GenXDConditions(
        mask=mask.float(),
        context_latents=full.float(),
        rays=rays.float(),
        added_time_ids=ids,
        motion_ids=motion,
        indicator=indicator.to(device).long(),
    )
