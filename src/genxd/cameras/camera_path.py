"""``CameraPath``: the common return type of the camera readers and path generators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ._io import as_c2w, as_intrinsics
from .geometry import _tensor, c2w_to_w2c

__all__ = ["CameraPath", "intrinsics_for_aspect", "square_pixel_intrinsics"]


def square_pixel_intrinsics(K: Tensor, height: int, width: int) -> Tensor:
    """``K [..., 3, 3]`` made with ``fx / W = fy / H = focal`` (the presets' way, right for square images) for
    ``height x width`` images with square pixels, as every camera's: ``fy / H = (fx / W) * W / H``, so ``fy = fx``
    in pixels. Unchanged for square images."""
    if height == width:
        return K
    K = K.clone()
    K[..., 1, 1] *= width / height
    return K


def intrinsics_for_aspect(K: Tensor, height: int, width: int, out_h: int, out_w: int, fit: str = "crop") -> Tensor:
    """Normalised intrinsics ``K [..., 3, 3]`` of a ``height x width`` camera, for pictures of the aspect of
    ``out_h x out_w`` made from its pictures as images are fitted (``genxd.utils.images.load_image``): ``"crop"``
    keeps the centre (a narrower view along the longer side), ``"pad"`` adds borders (a wider view along the
    shorter side). Pixels stay square: a 16:9 camera with ``fx = fy`` in pixels gives a square one with
    ``fx / side = fy / side``, not its ``fx / W`` and ``fy / H`` as they stand (which would stretch the picture)."""
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', got {fit!r}")
    if height * out_w == width * out_h:
        return K
    K = K.clone()
    wider = width * out_h > height * out_w
    if wider == (fit == "crop"):  # the width changes: cropped (wider camera) or padded (taller camera)
        new_w = height * out_w / out_h
        K[..., 0, 0] *= width / new_w
        K[..., 0, 2] = (K[..., 0, 2] * width - (width - new_w) / 2) / new_w
    else:
        new_h = width * out_h / out_w
        K[..., 1, 1] *= height / new_h
        K[..., 1, 2] = (K[..., 1, 2] * height - (height - new_h) / 2) / new_h
    return K


class _OnFirstRead:
    """A field that holds a value, or a function giving it called on its first read (and then kept): what a reader
    passes for a value that costs a read or a computation only some callers need."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = f"_{name}"

    def __get__(self, obj: object, owner: type | None = None) -> float | None:
        if obj is None:
            return None  # the field's default
        value = obj.__dict__.get(self._name)
        if callable(value):
            value = obj.__dict__[self._name] = value()
        return value

    def __set__(self, obj: object, value: float | None | Callable[[], float | None]) -> None:
        obj.__dict__[self._name] = value


@dataclass
class CameraPath:
    """A camera path in the project convention (``docs/conventions.md``).

    Attributes:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (+x right, +y down, +z forward).
        K: ``[N, 3, 3]`` normalised intrinsics (fx/W, fy/H, cx/W, cy/H).
        height, width: image size in pixels (shared by all frames).
        names: optional per-frame names (image file names / paths), ``N`` of them.
        times: optional ``[N]`` frame times in [0, 1] over the source clip (4D timing), else None. Always float64
            (whatever the dtype of ``c2w``, and of a reader's ``dtype``): a file's times exactly as written, and a
            time such as 1e300, finite in the file, stays finite (reconstruct maps any finite times to [0, 1]).
            They must be finite.
        source_format: the file format the path was read from (e.g. ``"transforms.json"``), if read.
        intrinsics_known: False when the source carries no intrinsics and ``K`` is a default.
        scene_depth: the median z-depth of the scene seen from the first camera, in the path's units, where the
            source records it (a ``genxd synth`` clip's meta, ``scene_depth``; a COLMAP model's points in view of
            its first camera), else None. A reader may give a function in its place, called on the first read
            (a COLMAP model's median over its points, a ``meta.json`` beside a ``transforms.json``: paid only by
            the callers that use the depth).
        fisheye: where the source has a fisheye lens (e.g. ``"frames[0] is a fisheye camera"``), else None. ``K``
            then holds the fisheye's focal length read as a perspective camera's, which no perspective camera has:
            the poses are right, the field of view is not (:func:`genxd.cameras.reader.perspective_only` refuses
            such a path where its intrinsics are used).

    ``c2w`` and ``K`` may be tensors or numpy arrays (kept as float tensors); they are checked when the path is
    made, as a camera file's are: a ValueError names the first problem (NaN, a rotation that is not orthonormal or
    a reflection, a last row other than ``[0, 0, 0, 1]``, a focal length that is not positive: ``K`` is
    normalised, not in pixels, see :func:`genxd.cameras.denormalize_intrinsics`). A ``K`` that looks like pixel
    intrinsics (every principal point more than an image size outside the image) gives a GenXDWarning.
    """

    c2w: Tensor
    K: Tensor
    height: int
    width: int
    names: list[str] | None = None
    times: Tensor | None = None
    source_format: str | None = None
    intrinsics_known: bool = True
    #: set as a float, None or a function giving one (called on the first read); read as a float or None
    scene_depth: _OnFirstRead = _OnFirstRead()
    fisheye: str | None = None

    def __post_init__(self) -> None:
        # a caller's own path is checked as a camera file's is (genxd.generate takes the object as it is): numpy
        # arrays failed with "'numpy.ndarray' object has no attribute 'float'", NaN or a scaled rotation only
        # after the model had loaded
        self.c2w = _tensor(self.c2w, "CameraPath.c2w")
        self.K = _tensor(self.K, "CameraPath.K")
        if self.c2w.ndim != 3 or self.c2w.shape[-2:] != (4, 4):
            raise ValueError(f"CameraPath.c2w: expected [N, 4, 4], got {tuple(self.c2w.shape)}")
        n = self.c2w.shape[0]
        if self.K.ndim == 2:
            self.K = self.K.expand(n, 3, 3).clone()
        if self.K.shape != (n, 3, 3):
            raise ValueError(f"CameraPath.K: expected [{n}, 3, 3], got {tuple(self.K.shape)}")
        as_c2w(self.c2w, "CameraPath.c2w")  # finite, rigid (orthonormal, det +1, last row 0 0 0 1), within range
        as_intrinsics(self.K, n, "CameraPath.K")  # finite pinhole, normalised focal lengths in range
        self._warn_pixel_intrinsics()
        if self.names is not None and len(self.names) != n:
            raise ValueError(f"CameraPath.names: {len(self.names)} names for {n} cameras")
        if self.times is not None:  # a list or numpy array failed later ("'list' object has no attribute 'shape'")
            # float64 whatever c2w's dtype: a file's times exactly as written (round trips), 1e300 no float32 inf
            self.times = _tensor(self.times, "CameraPath.times", keep_integers=True).double()
        if self.times is not None and tuple(self.times.shape) != (n,):
            raise ValueError(f"CameraPath.times: expected [{n}], got {tuple(self.times.shape)}")
        if self.times is not None and not bool(torch.isfinite(self.times).all()):  # genxd.generate sampled the
            # whole path, then refused to write cameras.json ("times: contains NaN or infinite values")
            raise ValueError(f"CameraPath.times: must be finite, got {self.times.tolist()}"[:300])
        self.height, self.width = _whole_size(self.height, "height"), _whole_size(self.width, "width")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"CameraPath: height and width must be positive, got {self.height}x{self.width}")

    def _warn_pixel_intrinsics(self) -> None:
        """A GenXDWarning when every principal point lies more than an image size outside the image: ``K`` in
        pixels taken for normalised (``cx = W / 2`` read as ``W / 2`` image widths), which made a zoom of ``W``
        times silently."""
        centre = self.K[:, :2, 2].double()
        if len(self) and bool(((centre < -1) | (centre > 2)).any(dim=-1).all()):
            from ..validation import warn

            cx, cy = (float(v) for v in centre[0])
            warn(f"CameraPath.K: principal point at ({cx:g}, {cy:g}) image sizes, far outside the image: K looks like "
                 f"pixel intrinsics, but CameraPath.K is normalised (fx/W, fy/H, cx/W, cy/H; "
                 f"genxd.cameras.normalize_intrinsics(K, width, height) converts)")

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def intrinsics_for(self, out_h: int, out_w: int, fit: str = "crop") -> Tensor:
        """``K [N, 3, 3]`` for pictures of ``out_h x out_w`` made from this path's (see
        :func:`intrinsics_for_aspect`)."""
        return intrinsics_for_aspect(self.K, self.height, self.width, out_h, out_w, fit)

    @property
    def w2c(self) -> Tensor:
        """``[N, 4, 4]`` world-to-camera."""
        return c2w_to_w2c(self.c2w)


def _whole_size(value: object, name: str) -> int:
    """A CameraPath's ``height`` / ``width`` as a whole number of pixels: an int, or a float (or 0-d tensor / numpy
    value) of a whole value, as camera files give them (``64.0``); 64.5 was cut to 64 and ``True`` read as 1."""
    import numbers

    one_value = value.numel() == 1 if isinstance(value, torch.Tensor) else True
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, torch.Tensor, np.generic)) \
            or not one_value or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise TypeError(f"CameraPath.{name} must be a whole number of pixels, got {value!r}"[:200])
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"CameraPath.{name} must be a whole number of pixels, got {number:g}")
    return int(number)
