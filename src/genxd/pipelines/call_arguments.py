"""Checks of ``GenXDPipeline.__call__``'s sampling arguments, each a one-line error naming the argument, made before
any image is encoded (the notebook API audit of 2026-12-06).

Before: ``generator=0`` failed after the VAE had encoded the images with ``'int' object has no attribute
'device'``; ``motion_strength="a"`` with ``new(): invalid data type 'str'``, ``motion_strength=[0.1, 0.2]`` for one
sample with torch's expand error, ``motion_guidance_scale="1"`` with ``must be real number, not str``; a
``context_index`` of ``[0.5]`` was truncated to frame 0 silently; ``target_K`` in pixels was taken as normalised
(a zoom of some hundred times) without a word.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["callback_latents", "check_callback", "check_generator", "context_indices", "float_tensor",
           "motion_strengths", "motion_guidance", "warn_pixel_intrinsics"]

#: the tensors ``callback_on_step_end`` may ask for (``callback_on_step_end_tensor_inputs``)
CALLBACK_TENSORS = ("latents",)


def check_generator(generator: Any, batch: int) -> None:
    """``None``, one ``torch.Generator`` or a list / tuple of ``batch`` of them."""
    many = isinstance(generator, (list, tuple))
    for g in generator if many else [generator]:
        if (g is not None or many) and not isinstance(g, torch.Generator):  # [None, g]: diffusers' randn_tensor
            # failed after encoding ("'NoneType' object has no attribute 'device'")
            raise TypeError(f"generator must be a torch.Generator or a list of one per sample, got "
                            f"{type(g).__name__}{' in the list' if many else ''}; for a seed: "
                            f"generator=torch.Generator().manual_seed(seed)")
    if many and len(generator) != batch:  # the extra ones were ignored
        raise ValueError(f"generator: a list of {len(generator)} generators for a batch of {batch} (one per sample)")


def float_tensor(value: Any, name: str, shape: str) -> Tensor:
    """``value`` (a tensor, numpy array or nested list of real numbers, documented as ``shape``) in float32, on the
    device it is on; anything else a TypeError naming ``name``.

    Before: ``target_c2w="cams.json"`` (or ``context_c2w`` / ``latents`` / ``context_latents``) failed with torch's
    "new(): invalid data type 'str'", and a complex ``target_K`` lost its imaginary part without a word."""
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a tensor, numpy array or nested list of numbers {shape}, got "
                        f"{value!r} ({type(value).__name__})"[:300]) from None
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must be real numbers {shape}, got {tensor.dtype}")
    return tensor.float()


def motion_strengths(value: Any, batch: int) -> Tensor:
    """``motion_strength`` as float32 ``[batch]``: one finite number, or ``batch`` of them."""
    try:
        motion = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"motion_strength must be a number or one per sample ({batch}), got "
                        f"{value!r} ({type(value).__name__})"[:300]) from None
    if motion.numel() not in (1, batch):
        raise ValueError(f"motion_strength: {motion.numel()} values for a batch of {batch} (one number, or one "
                         "per sample)")
    if not torch.isfinite(motion).all():
        raise ValueError("motion_strength must be finite")
    return motion.expand(batch).clone()


def motion_guidance(value: Any) -> float:
    """``motion_guidance_scale``: a finite number >= 0."""
    # one number in a tensor or numpy array (a 0-d array was taken before the check; a tensor of 2 failed in torch's
    # words); a bool is not a scale
    if (isinstance(value, Tensor) and value.numel() == 1) or (isinstance(value, np.ndarray) and value.size == 1):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"motion_guidance_scale must be a number >= 0, got {value!r} ({type(value).__name__})"[:300])
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"motion_guidance_scale must be >= 0, got {value}")
    return value


def context_indices(value: Any, batch: int, views: int) -> Tensor:
    """``context_index`` as long ``[batch, views]`` (default ``0..V-1``); integers only: ``[0.5]`` was frame 0."""
    if value is None:
        return torch.arange(views)[None].expand(batch, views)
    try:
        index = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"context_index must be frame indices (integers), got {value!r}"[:300]) from None
    if index.dtype == torch.bool or index.is_complex():
        raise TypeError(f"context_index must be frame indices (integers), got {index.dtype}")
    if index.is_floating_point():
        if not torch.isfinite(index).all() or (index != index.round()).any():
            raise ValueError(f"context_index must be frame indices (integers), got {index.tolist()}")
    index = index.long()
    return index[None].expand(batch, -1) if index.ndim == 1 else index


def warn_pixel_intrinsics(K: Tensor) -> None:
    """A GenXDWarning when every principal point lies more than an image size outside the image (the rule of
    :class:`genxd.cameras.CameraPath`): ``K`` in pixels, which the pipeline reads as normalised."""
    centre = K[..., :2, 2].double().reshape(-1, 2)
    if len(centre) and bool(((centre < -1) | (centre > 2)).any(dim=-1).all()):
        from ..validation import warn

        cx, cy = (float(c) for c in centre[0])
        warn(f"target_K: principal point at ({cx:g}, {cy:g}) image sizes, far outside the image: K looks like pixel "
             f"intrinsics, but target_K is normalised (fx/W, fy/H, cx/W, cy/H; "
             f"genxd.cameras.normalize_intrinsics(K, width, height) converts)")



def check_callback(callback: Any, tensor_inputs: Any) -> tuple[str, ...]:
    """``callback_on_step_end`` (None or a callable) and its ``callback_on_step_end_tensor_inputs`` (names from
    :data:`CALLBACK_TENSORS`), checked before any image is encoded; the names as a tuple.

    Before: a callback that is not callable failed after the first step ("'int' object is not callable"), and
    ``tensor_inputs="latents"`` was read letter by letter (``got ['a', 'e', 'l', ...]``)."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback_on_step_end must be a function f(pipe, step, t, tensors) -> dict, got "
                        f"{type(callback).__name__}")
    names = (tensor_inputs,) if isinstance(tensor_inputs, str) else tuple(tensor_inputs)
    unknown = set(names) - set(CALLBACK_TENSORS)
    if callback is not None and unknown:
        raise ValueError(f"callback_on_step_end_tensor_inputs may only name {sorted(CALLBACK_TENSORS)}, got "
                         f"{sorted(map(str, unknown))}")
    return names


def callback_latents(returned: Any, latents: Tensor, step: int) -> Tensor:
    """The latents after ``callback_on_step_end`` returned ``returned`` at ``step``: its ``"latents"`` (a tensor of
    the latents' shape, moved to their device and dtype), else ``latents`` unchanged; ``returned`` is a dict or None.

    Before: a callback returning ``3`` failed with "'int' object has no attribute 'pop'", latents of another shape
    with torch's broadcast error and latents None or a numpy array with "unsupported operand type(s) for *", each
    after the sampling loop or at the next step."""
    if returned is None:
        return latents
    if not isinstance(returned, dict):
        raise TypeError(f"callback_on_step_end must return a dict (or None), got {type(returned).__name__} at step "
                        f"{step}")
    if "latents" not in returned:
        return latents
    new = returned["latents"]
    if not isinstance(new, Tensor):
        raise TypeError(f"callback_on_step_end returned latents of type {type(new).__name__} at step {step}; expected "
                        f"a tensor {tuple(latents.shape)}")
    if new.shape != latents.shape:
        raise ValueError(f"callback_on_step_end returned latents of shape {tuple(new.shape)} at step {step}; expected "
                         f"{tuple(latents.shape)}")
    if not (new.is_floating_point() and torch.isfinite(new).all()):
        raise ValueError(f"callback_on_step_end returned latents that are not finite floats ({new.dtype}) at step "
                         f"{step}")
    return new.to(device=latents.device, dtype=latents.dtype)
