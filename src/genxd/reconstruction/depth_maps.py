"""Z-depth maps beside the images of a transforms.json input (:func:`genxd.reconstruction.views.load_views`): a
``depth_file_path`` per frame (``.npy`` float, or an image times the unit scale) or a ``genxd.data.synthetic`` folder's
``ground_truth.npz``; each checked for its size and for values that are not z-depths (NaN, infinite, negative)."""

from __future__ import annotations

import tokenize
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genxd.utils.npz import NPZ_READ_ERRORS, npz_shape, require_numpy_file
from genxd.utils.paths import require_file

__all__ = ["load_depth_map", "ground_truth_depth"]


def load_depth_map(path: Path, unit_scale: float, size: tuple[int, int]) -> Tensor:
    """A z-depth map ``[H, W]`` (``.npy`` float, or an image times ``unit_scale``); ValueError naming the
    file when it cannot be read or is not ``size`` (H, W)."""
    from PIL import UnidentifiedImageError

    from genxd.utils.image_limits import ImageTooLargeError, open_image

    require_file(path, "no such depth file")
    try:
        if path.suffix == ".npy":
            require_numpy_file(path)  # np.load took any other file for a pickle, and said to unpickle it
            # mapped, not read: a header claiming more than the file holds is a ValueError, not an allocation of it
            arr = np.load(path, allow_pickle=False, mmap_mode="r").astype(np.float32)
        else:
            with open_image(path) as im:
                arr = np.asarray(im).astype(np.float32) * unit_scale
    except ImageTooLargeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            tokenize.TokenError) as exc:  # TokenError: numpy parsing a damaged .npy header
        raise ValueError(f"{path}: cannot read depth map ({exc.__class__.__name__}: {exc})") from None
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.shape != size:
        raise ValueError(f"{path}: depth map is {arr.shape}, the frames are {size[1]}x{size[0]} (expected [H, W] = {size})")
    _check_depth(arr, path)
    return torch.from_numpy(arr)


def _check_depth(depth: np.ndarray, path: Path) -> None:
    """A ValueError naming ``path`` when a depth map holds NaN, infinite or negative values (0 = unknown is fine):
    they would become NaN losses in the depth term."""
    bad = ~(np.isfinite(depth) & (depth >= 0))
    if bad.any():
        raise ValueError(f"{path}: the depth map holds {int(bad.sum())} values that are NaN, infinite or negative "
                         "(z-depth >= 0 expected; 0 = unknown)")


#: what reading a ``ground_truth.npz``'s depth may raise for a bad file
_DEPTH_READ_ERRORS: tuple[type[BaseException], ...] = (ValueError, *NPZ_READ_ERRORS)


def ground_truth_depth(path: Path, shape: tuple[int, int, int]) -> Tensor | None:
    """The ``depth [N, H, W]`` of a ``genxd.data.synthetic`` folder's ``ground_truth.npz`` (None when it has no
    depth of that shape); a ValueError naming the file when it cannot be read or holds bad depths."""
    try:
        require_numpy_file(path)
        with np.load(path, allow_pickle=False) as gt:
            if "depth" not in gt.files or npz_shape(gt, "depth") != shape:  # from the header: a zip can claim GBs
                return None
            depth = np.asarray(gt["depth"], dtype=np.float32)
    except _DEPTH_READ_ERRORS as exc:
        raise ValueError(f"{path}: cannot read the depth ({exc.__class__.__name__}: {exc})") from None
    _check_depth(depth, path)
    return torch.from_numpy(depth)
