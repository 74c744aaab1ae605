"""Images given to the Python API as objects instead of files: PIL images, numpy arrays, torch tensors.

``genxd.generate(image, "out")`` with an image already in memory (a notebook's PIL image, a frame of a video, a
render) takes it as it is, with the same checks and processing as a file's pixels (``genxd.utils.images``). Accepted:

- a ``PIL.Image.Image`` in any mode a file may have (EXIF orientation applied, transparency on white);
- a numpy array ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (channels last, as PIL and OpenCV
  give them; RGB order): ``uint8``, ``uint16`` (0-65535), ``bool``, or floats in [0, 1];
- a torch tensor ``[3, H, W]``, ``[1, H, W]``, ``[4, H, W]`` or ``[H, W]`` (channels first: genxd's convention,
  docs/conventions.md): floats in [0, 1] or ``uint8``; a batch ``[N, C, H, W]`` (or an array ``[N, H, W, C]``) is N
  images.

Floats outside [0, 1] are refused rather than guessed at (a tensor in [-1, 1] would otherwise come out washed out).
Each in-memory image's output folder is ``image_000``, ``image_001``, ... in the order given, counted over the
in-memory images only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import PIL.Image
import PIL.ImageOps

if TYPE_CHECKING:
    import torch

#: An image object the Python API takes in place of a file.
ImageObject = Union[PIL.Image.Image, np.ndarray, "torch.Tensor"]

__all__ = ["ImageObject", "MemoryImage", "collect_inputs", "is_memory_image", "memory_image_to_rgb"]


def is_memory_image(obj: object) -> bool:
    """Whether ``obj`` is an image object (PIL image, numpy array, torch tensor) rather than a path."""
    if isinstance(obj, (PIL.Image.Image, np.ndarray)):
        return True
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def is_image_batch(obj: object) -> bool:
    """A 4-D array or tensor: a batch of images, one per entry of its first axis."""
    return is_memory_image(obj) and not isinstance(obj, PIL.Image.Image) and getattr(obj, "ndim", 0) == 4


@dataclass(frozen=True, eq=False)
class MemoryImage:
    """An input given as an object; ``index`` counts the in-memory inputs (it names the output folder)."""

    index: int
    image: Any

    @property
    def name(self) -> str:
        return f"image_{self.index:03d}"

    @property
    def naming_path(self) -> Path:
        """A stand-in path for :func:`genxd.output_folders.output_names` (stem ``image_NNN``; a file of the same
        stem among the inputs makes the two ``image_NNN_memory`` and ``image_NNN_png``)."""
        return Path("<memory>") / f"{self.name}.memory"

    def __str__(self) -> str:  # the input's label in messages, meta.json and the summary
        return f"<in-memory image {self.index}: {_describe(self.image)}>"


def _describe(obj: object) -> str:
    if isinstance(obj, PIL.Image.Image):
        return f"PIL {obj.mode} {obj.width}x{obj.height}"
    shape = "x".join(str(int(n)) for n in getattr(obj, "shape", ()))
    kind = "array" if isinstance(obj, np.ndarray) else "tensor"
    return f"{kind} {str(getattr(obj, 'dtype', '')).replace('torch.', '')} [{shape}]"


def _check(obj: Any, label: str) -> None:
    """Shape and pixel type of an array or tensor image (its values are checked when it is read)."""
    if isinstance(obj, np.ndarray):
        if obj.ndim not in (2, 3) or (obj.ndim == 3 and obj.shape[-1] not in (1, 3, 4)):
            raise ValueError(f"{label}: a numpy image is [H, W] or [H, W, C] with C = 1, 3 or 4 (channels last), "
                             f"got shape {tuple(obj.shape)}")
        kind_ok = obj.dtype in (np.uint8, np.uint16, np.bool_) or np.issubdtype(obj.dtype, np.floating)
    else:
        if obj.ndim not in (2, 3) or (obj.ndim == 3 and obj.shape[0] not in (1, 3, 4)):
            raise ValueError(f"{label}: a tensor image is [C, H, W] with C = 1, 3 or 4 (channels first, genxd's "
                             f"convention) or [H, W], got shape {tuple(obj.shape)}")
        torch = _torch()
        kind_ok = obj.dtype in (torch.uint8, torch.bool) or obj.is_floating_point()
    if not kind_ok:
        raise ValueError(f"{label}: pixels must be uint8, uint16 (numpy), bool or floats in [0, 1], got "
                         f"{str(obj.dtype).replace('torch.', '')}")
    if 0 in obj.shape:
        raise ValueError(f"{label}: the image is empty (shape {tuple(obj.shape)})")


def _check_values(obj: Any, label: str) -> None:
    """The checks of :func:`_to_uint8` on the pixel values, where the object is (a GPU tensor is not copied): floats
    finite and in [0, 1]; a PIL image still readable (not closed); a tensor with data (not on the meta device)."""
    if isinstance(obj, PIL.Image.Image):
        try:
            obj.load()
        except Exception as exc:  # noqa: BLE001 - a closed or broken image: say so in one line
            detail = str(exc) or "was it closed?"
            raise ValueError(f"{label}: cannot read the image ({type(exc).__name__}: {detail})") from None
        return
    if not isinstance(obj, np.ndarray):
        if obj.device.type == "meta":
            raise ValueError(f"{label}: a tensor on the meta device has no pixel values")
        if not obj.is_floating_point():
            return
        obj = obj.detach()  # a tensor in the autograd graph: no torch warning on reading its values
        finite, lo, hi = bool(obj.isfinite().all()), float(obj.min()), float(obj.max())
    elif np.issubdtype(obj.dtype, np.floating):
        finite, lo, hi = bool(np.isfinite(obj).all()), float(obj.min()), float(obj.max())
    else:
        return
    _check_float_range(finite, lo, hi, label)


def _check_float_range(finite: bool, lo: float, hi: float, label: str) -> None:
    if not finite:
        raise ValueError(f"{label}: the image has non-finite pixel values (NaN or inf)")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{label}: float pixels must lie in [0, 1] (genxd's image convention), got "
                         f"{lo:.4g} to {hi:.4g}; scale them first (e.g. (x + 1) / 2 for [-1, 1])")


def _channels_last(obj: Any, label: str) -> np.ndarray:
    """A tensor (channels first) or array (channels last) as a numpy array ``[H, W]`` or ``[H, W, C]``."""
    _check(obj, label)
    if isinstance(obj, np.ndarray):
        return obj
    if obj.device.type == "meta":  # the values themselves are checked once, by _to_uint8
        raise ValueError(f"{label}: a tensor on the meta device has no pixel values")
    t = obj.detach()
    if t.is_floating_point() and t.dtype not in (_torch().float32, _torch().float64):
        t = t.float()  # bfloat16 / float16: numpy has no bfloat16
    a = t.cpu().numpy()
    return a if a.ndim == 2 else np.moveaxis(a, 0, -1)


def _torch():
    import torch

    return torch


def _to_uint8(a: np.ndarray, label: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        _check_float_range(bool(np.isfinite(a).all()), float(a.min()), float(a.max()), label)  # _check: not empty
        return np.round(a.astype(np.float64) * 255.0).astype(np.uint8)
    raise ValueError(f"{label}: pixels must be uint8, uint16, bool or floats in [0, 1], got {a.dtype}")


def memory_image_to_rgb(obj: Any, label: str, background: tuple[int, int, int] = (255, 255, 255)) -> PIL.Image.Image:
    """The image object ``obj`` as an RGB PIL image, as :func:`genxd.utils.images.read_rgb` reads a file (EXIF
    orientation, transparency on ``background``). ``label`` names it in errors (``ValueError``)."""
    from .images import frame_count, to_rgb, views_note

    if isinstance(obj, PIL.Image.Image):
        if obj.width * obj.height == 0:
            raise ValueError(f"{label}: the image is empty ({obj.width}x{obj.height})")
        _check_values(obj, label)
        if (note := views_note(obj, label, obj.tell())) is not None:  # a stereo MPO: the view it is at, as a file's
            from ..validation import warn

            warn(note)
        elif (frames := frame_count(obj)) > 1:  # an animated / multi-page image the caller opened: its current frame
            from ..validation import warn

            warn(f"{label}: an image of {frames} frames: only the one it is at (frame {obj.tell()}) is used")
        return to_rgb(PIL.ImageOps.exif_transpose(obj), label, background)
    a = _to_uint8(_channels_last(obj, label), label)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    # uint8 [H, W] -> L, [H, W, 3] -> RGB, [H, W, 4] -> RGBA
    return to_rgb(PIL.Image.fromarray(np.ascontiguousarray(a)), label, background)


def collect_inputs(items: Any) -> "list[Path | MemoryImage]":
    """The inputs of :func:`genxd.generate`, in order: paths (files, and folders expanded as
    :func:`genxd.utils.image_paths.collect_images` expands them; a file twice is kept once) and image objects
    (a batch gives one input per image), each object a :class:`MemoryImage`."""
    from ..validation import InvalidType, InvalidValue, arg
    from .image_paths import collect_images

    if isinstance(items, (str, os.PathLike)) or is_memory_image(items):
        items = [items]
    out: list[Path | MemoryImage] = []
    seen: set[str] = set()
    in_memory = 0  # the in-memory inputs so far: the next one's index
    for item in items:
        if isinstance(item, (str, os.PathLike)) and not isinstance(item, bytes):
            if not os.fspath(item).strip():  # Path('') is the current folder: every image there
                raise InvalidValue(f"{arg('images')} holds an empty path ({os.fspath(item)!r}): pass image files "
                                   "or folders")
            out.extend(collect_images([item], seen=seen))
            continue
        if not is_memory_image(item):
            raise InvalidType(f"{arg('images')}: expected image paths or images (PIL, numpy, torch), got "
                               f"{item!r} ({type(item).__name__})"[:300])
        for obj in (list(item) if is_image_batch(item) else [item]):
            image = MemoryImage(in_memory, obj)
            in_memory += 1
            if not isinstance(obj, PIL.Image.Image):
                _check(obj, str(image))  # shape and pixel type
            _check_values(obj, str(image))  # before any model loads, as a file's existence is checked
            out.append(image)
    if not out:
        raise ValueError("no input images given")
    return out
