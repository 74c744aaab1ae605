"""The pixels of the views :func:`genxd.reconstruction.views.load_views` reads: an image file read
(:func:`load_image`), views downsized (:func:`downsize_pixels`), and frames of different sizes refused
(:func:`same_size`)."""

from __future__ import annotations

import os
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor

from genxd.utils.paths import require_file

__all__ = ["downsize_pixels", "load_image", "same_size"]


def downsize_pixels(images: Tensor, depths: Tensor | None, resolution: int | None) -> tuple[Tensor, Tensor | None]:
    """``images [N, 3, H, W]`` and z-depth maps ``depths [N, H, W]`` (or None) downsized so that the longer side is
    at most ``resolution`` pixels (:meth:`Views.resized`); returned as they are (the same tensors) when ``resolution``
    is None or 0 or the images are no larger. Images: antialiased bilinear; depths: nearest-neighbour (the input
    pixel under each output pixel's centre)."""
    if resolution is None or resolution <= 0:
        return images, depths
    H, W = int(images.shape[-2]), int(images.shape[-1])
    if max(H, W) <= resolution:
        return images, depths
    scale = resolution / max(H, W)
    new_h, new_w = max(1, round(H * scale)), max(1, round(W * scale))
    if (new_h, new_w) == (H, W):
        return images, depths
    # integer images are resized as floats and stay integers (check_values refuses them)
    floats = images if images.is_floating_point() else images.float()
    resized = F.interpolate(floats, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
    if depths is not None:
        # "nearest-exact": the input pixel under each output pixel's centre ("nearest" took the one under its
        # top-left corner: the depths were about half an output pixel up and left of the image)
        depths = F.interpolate(depths[:, None], size=(new_h, new_w), mode="nearest-exact")[:, 0]
    return resized.clamp(0, 1).to(images.dtype), depths


def load_image(path: str | os.PathLike) -> Tensor:
    """An image file as ``[3, H, W]`` float RGB in [0, 1], read as ``genxd train``'s datasets and the ReconFusion
    reader read a view (:func:`genxd.utils.images.decode_rgb`): high bit depths scaled by their range (a 16-bit PNG
    by 65535, a 16-bit colour PNG at full depth, rounded), an embedded colour profile (an iPhone's Display P3)
    applied, transparency composited on white; the EXIF orientation is not applied (the cameras describe the stored
    pixels).

    Raises FileNotFoundError when missing, ValueError naming the file when it cannot be decoded (or is too
    large to decode in memory, or has non-finite pixels).
    """
    from genxd.utils.images import decode_rgb, pil_to_tensor

    path = require_file(path, "no such image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from None
    return pil_to_tensor(decode_rgb(data, path))


def same_size(images: Sequence[Tensor], names: Sequence[str | os.PathLike], where: str | os.PathLike) -> None:
    """ValueError naming the first frame whose size differs from the first frame's."""
    first = tuple(images[0].shape[-2:])
    for image, name in zip(images, names):
        if tuple(image.shape[-2:]) != first:
            raise ValueError(
                f"{where}: frames have different sizes: {name} is {image.shape[-1]}x{image.shape[-2]}, "
                f"{names[0]} is {first[1]}x{first[0]}; reconstruction needs one size"
            )
