"""The sample dict a training dataset must yield, checked on a dataset of one's own before training starts.

genxd's datasets build their samples with :func:`~genxd.data.datasets.make_sample`; a dataset of one's own (a
``type: package.module.ClassName`` entry of ``data.datasets``, or a class put in ``DATASET_TYPES``) is read once,
its item 0, and a wrong key, shape, dtype or value is a ValueError naming it. Before, channels-last frames
failed inside the VAE's first convolution, a missing ``c2w`` as ``KeyError: 'c2w'`` in the training loop, frames
of another size as "noise drawn for latents ...", and ``uint8`` frames (0-255) trained silently as if in [0, 1].
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

from .clips import KIND_TO_INDICATOR

__all__ = ["SAMPLE_KEYS", "check_sample"]

#: The keys every sample holds (``object_mask [F, H, W]`` is optional).
SAMPLE_KEYS = ("frames", "c2w", "K", "indicator", "motion_strength", "kind", "name")
_HINT = "genxd.data.datasets.make_sample(frames, c2w, K, kind, motion_strength, name) builds one"


def _tensor(sample: Mapping[str, Any], key: str, shape: tuple[int, ...], floating: bool = True) -> Tensor:
    value = sample[key]
    if not torch.is_tensor(value):
        raise ValueError(f"{key!r} must be a tensor, got {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise ValueError(f"{key!r} must be a floating-point tensor, got {value.dtype}")
    if tuple(value.shape) != shape:
        raise ValueError(f"{key!r} must have shape {list(shape)}, got {list(value.shape)}")
    if floating and not torch.isfinite(value).all():
        raise ValueError(f"{key!r} contains NaN or infinite values")
    return value


def _check(sample: Any, num_frames: int, height: int, width: int) -> None:
    if not isinstance(sample, Mapping):
        raise ValueError(f"a sample must be a dict, got {type(sample).__name__}")
    missing = [k for k in SAMPLE_KEYS if k not in sample]
    if missing:
        raise ValueError(f"no {', '.join(map(repr, missing))} (a sample holds {', '.join(SAMPLE_KEYS)})")
    f = num_frames
    frames = _tensor(sample, "frames", (f, 3, height, width))
    if frames.min() < 0 or frames.max() > 1:
        raise ValueError(f"'frames' must be in [0, 1], got values in [{frames.min().item():.4g}, "
                         f"{frames.max().item():.4g}]")
    from ...cameras.geometry import check_rigid

    check_rigid(_tensor(sample, "c2w", (f, 4, 4)), "'c2w' (OpenCV camera-to-world)")
    K = _tensor(sample, "K", (f, 3, 3))
    if (K[:, 0, 0] <= 0).any() or (K[:, 1, 1] <= 0).any():
        raise ValueError("'K' focal lengths must be positive (normalised intrinsics: fx/W, fy/H)")
    indicator = _tensor(sample, "indicator", (), floating=False)
    if indicator.dtype != torch.long or int(indicator) not in KIND_TO_INDICATOR.values():
        raise ValueError(f"'indicator' must be a long tensor 0 (3D), 1 (video) or 2 (4D), got {indicator!r}")
    if sample["kind"] not in KIND_TO_INDICATOR or KIND_TO_INDICATOR[sample["kind"]] != int(indicator):
        raise ValueError(f"'kind' must be the indicator's name {KIND_TO_INDICATOR}, got {sample['kind']!r} for "
                         f"indicator {int(indicator)}")
    motion = _tensor(sample, "motion_strength", ())
    if motion.dtype != torch.float32:
        raise ValueError(f"'motion_strength' must be a float32 tensor, got {motion.dtype}")
    if not isinstance(sample["name"], str):
        raise ValueError(f"'name' must be a str, got {type(sample['name']).__name__}")
    if "object_mask" in sample:
        _tensor(sample, "object_mask", (f, height, width), floating=False)


def check_sample(sample: Any, num_frames: int, height: int, width: int, where: str = "sample") -> None:
    """Raise ValueError (``"<where>: ..."``, naming the key) unless ``sample`` is a training sample of
    ``num_frames`` frames at ``height x width``: ``frames [F, 3, H, W]`` float in [0, 1], ``c2w [F, 4, 4]``
    float rigid OpenCV camera-to-world, ``K [F, 3, 3]`` float normalised, ``indicator`` long scalar (0, 1, 2),
    ``motion_strength`` float32 scalar, ``kind`` its indicator's name, ``name`` a str (docs/training_data.md)."""
    try:
        _check(sample, num_frames, height, width)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}; {_HINT}") from None
