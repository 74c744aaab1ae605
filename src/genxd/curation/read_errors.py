"""The errors of reading a video or a frame folder (:mod:`genxd.curation.frames`)."""

from __future__ import annotations

__all__ = ["VideoReadError", "FrameMemoryError", "MixedFrameSizesError"]


class VideoReadError(ValueError):
    """A video (or frame folder) that cannot be read, is empty, or is malformed."""


class FrameMemoryError(VideoReadError):
    """The frames asked for would take more memory than the limit given to :func:`read_frames`."""


class MixedFrameSizesError(VideoReadError):
    """The frames of one video (a frame folder) have different sizes: ``sizes`` lists them ``(H, W, C)``; ``which``
    names the first frame whose size differs from the first frame's (``f10.png is 48x64, f00.png is 64x48``)."""

    def __init__(self, message: str, sizes: list[tuple[int, ...]], which: str = ""):
        super().__init__(message)
        self.sizes = sizes
        self.which = which

