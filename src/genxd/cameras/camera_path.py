"""``CameraPath``: the common return type of the camera readers and path generators."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .geometry import c2w_to_w2c

__all__ = ["CameraPath"]


@dataclass
class CameraPath:
    """A camera path in the project convention (``docs/conventions.md``).

    Attributes:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world (+x right, +y down, +z forward).
        K: ``[N, 3, 3]`` normalised intrinsics (fx/W, fy/H, cx/W, cy/H).
        height, width: image size in pixels (shared by all frames).
        names: optional per-frame names (image file names / paths), ``N`` of them.
        times: optional ``[N]`` frame times in [0, 1] over the source clip (4D timing), else None.
        source_format: the file format the path was read from (e.g. ``"transforms.json"``), if read.
        intrinsics_known: False when the source carries no intrinsics and ``K`` is a default.
    """

    c2w: Tensor
    K: Tensor
    height: int
    width: int
    names: list[str] | None = None
    times: Tensor | None = None
    source_format: str | None = None
    intrinsics_known: bool = True

    def __post_init__(self) -> None:
        if self.c2w.ndim != 3 or self.c2w.shape[-2:] != (4, 4):
            raise ValueError(f"CameraPath.c2w: expected [N, 4, 4], got {tuple(self.c2w.shape)}")
        n = self.c2w.shape[0]
        if self.K.ndim == 2:
            self.K = self.K.expand(n, 3, 3).clone()
        if self.K.shape != (n, 3, 3):
            raise ValueError(f"CameraPath.K: expected [{n}, 3, 3], got {tuple(self.K.shape)}")
        if self.names is not None and len(self.names) != n:
            raise ValueError(f"CameraPath.names: {len(self.names)} names for {n} cameras")
        if self.times is not None and tuple(self.times.shape) != (n,):
            raise ValueError(f"CameraPath.times: expected [{n}], got {tuple(self.times.shape)}")
        self.height, self.width = int(self.height), int(self.width)

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    @property
    def w2c(self) -> Tensor:
        """``[N, 4, 4]`` world-to-camera."""
        return c2w_to_w2c(self.c2w)
