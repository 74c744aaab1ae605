"""``GenXDPipeline``'s ``context_images`` in the forms a notebook has, as one float32 tensor ``[B, V, 3, H, W]``.

- torch tensors ``[B, V, 3, H, W]`` / ``[V, 3, H, W]`` / ``[3, H, W]`` (channels first, genxd's convention): floats
  in [0, 1] or ``uint8`` (0-255), taken as they are;
- numpy arrays ``[H, W, 3]`` / ``[V, H, W, 3]`` / ``[B, V, H, W, 3]`` (channels last, as ``np.asarray(photo)``
  gives): ``uint8`` or floats in [0, 1], taken as they are;
- PIL images, and any other single image ``genxd.generate`` takes (a numpy ``[H, W]``, ``[H, W, 1]`` or ``[H, W, 4]``
  array, ``uint16`` or ``bool`` pixels): read as ``genxd.generate`` reads them
  (:func:`genxd.utils.memory_images.memory_image_to_rgb`: 8-bit RGB, EXIF orientation applied, transparency on
  white, 16-bit and float modes scaled by their range, an ICC profile to sRGB);
- a list (or tuple) of any of these, of one size: stacked on a new first axis (the views of one sample, or the
  samples of a batch when each is ``[V, ...]``).

Before 2026-12-06 a PIL image went through ``image.convert("RGB")``: a 16-bit PNG (``I;16``) came out all but
white, a float image (``F``, values in [0, 1]) black, an RGBA image's transparent pixels kept whatever colour they
hid (``genxd.generate`` puts them on white), a phone photo lost its EXIF rotation; a list mixing PIL images and
arrays was refused.
"""

from __future__ import annotations

import os
from typing import Any, Sequence, Union

import numpy as np
import PIL.Image
import torch
from torch import Tensor

#: What ``GenXDPipeline(context_images=...)`` takes (see the module's docstring).
ContextImages = Union[Tensor, np.ndarray, PIL.Image.Image, Sequence[Union[Tensor, np.ndarray, PIL.Image.Image]]]

IMAGE_FORMS = ("a torch tensor [B, V, 3, H, W] / [V, 3, H, W] / [3, H, W] (floats in [0, 1] or uint8), a numpy "
               "array [..., H, W, 3] (channels last), PIL image(s) or a list of them")


def _read_as_generate(image: Any, label: str) -> np.ndarray:
    """One image read as ``genxd.generate`` reads an in-memory image: uint8 ``[H, W, 3]``."""
    from ..utils.memory_images import memory_image_to_rgb

    return np.asarray(memory_image_to_rgb(image, label))


def _single_image_for_generate(array: np.ndarray) -> bool:
    """A numpy image that only ``genxd.generate``'s reading takes: grey, RGBA, 16-bit or boolean pixels."""
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 4)):
        return True
    return array.ndim == 3 and array.shape[-1] == 3 and array.dtype in (np.uint16, np.bool_)


def array_to_tensor(array: np.ndarray, label: str = "context_images") -> Tensor:
    """A numpy image (batch) ``[..., H, W, 3]``, channels last as PIL and OpenCV give them (and as ``genxd.generate``
    takes them), ``uint8`` or floats in [0, 1] -> float32 ``[..., 3, H, W]``; a single grey / RGBA / 16-bit / boolean
    image as ``genxd.generate`` reads it."""
    if _single_image_for_generate(array):
        array = _read_as_generate(array, label)
    if array.ndim not in (3, 4, 5) or array.shape[-1] != 3:
        raise ValueError(f"{label} as a numpy array is channels last: [H, W, 3], [V, H, W, 3] or "
                         f"[B, V, H, W, 3] (as PIL and OpenCV give them; one grey [H, W] or RGBA [H, W, 4] image "
                         f"too), got shape {tuple(array.shape)}; channels-first images: pass a torch tensor")
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)  # a copy: the caller's array is never shared
    else:
        raise ValueError(f"{label} as a numpy array must be uint8 or floats in [0, 1], got {array.dtype}")
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(values, -1, -3)))


def _part(image: Any, label: str) -> Tensor:
    """One entry of a list: channels-first float ``[..., 3, H, W]`` (uint8 tensors scaled to [0, 1])."""
    if isinstance(image, PIL.Image.Image):
        image = _read_as_generate(image, label)
    if isinstance(image, np.ndarray):
        return array_to_tensor(image, label)
    return image.float() / 255.0 if image.dtype == torch.uint8 else image


def to_image_tensor(images: Any) -> Tensor:
    """``context_images`` in any form of the module's list -> float32 ``[B, V, 3, H, W]``. A TypeError names the
    accepted forms for anything else (a path: open it first); a ValueError names the entry and its problem."""
    if isinstance(images, (str, os.PathLike)):
        raise TypeError(f"context_images takes images, not a path ({str(images)!r}): open it first "
                        "(PIL.Image.open(path)), or use genxd.generate, which reads image files")
    if isinstance(images, PIL.Image.Image):
        images = [images]
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError("context_images is empty")
        if not all(isinstance(im, (PIL.Image.Image, np.ndarray, Tensor)) for im in images):
            kinds = sorted({type(im).__name__ for im in images})
            raise TypeError(f"context_images must be {IMAGE_FORMS}, got a list of {', '.join(kinds)}")
        parts = [_part(im, f"context_images[{i}]") for i, im in enumerate(images)]
        shapes = {tuple(p.shape) for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"context_images: the images of the list differ in shape (channels first: "
                             f"{sorted(shapes)}); give images of one size")
        images = torch.stack(parts)
    if isinstance(images, np.ndarray):
        images = array_to_tensor(images)
    if not torch.is_tensor(images):
        raise TypeError(f"context_images must be {IMAGE_FORMS}, got {type(images).__name__}")
    if images.ndim == 3:
        images = images[None, None]
    elif images.ndim == 4:
        images = images[None]
    if images.ndim != 5 or images.shape[2] != 3:
        raise ValueError(f"context_images must be [B, V, 3, H, W], got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:  # 0-255, as genxd.generate takes a uint8 tensor
        return images.float() / 255.0
    return images.float()
