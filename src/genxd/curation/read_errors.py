"""The errors of reading a video or a frame folder (:mod:`genxd.curation.frames`)."""

from __future__ import annotations

__all__ = ["VideoReadError", "FrameMemoryError", "MixedFrameSizesError", "MIN_FRAME_SIDE", "FramesTooSmallError",
           "check_frame_size"]


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



#: The shortest frame side (pixels, as SfM gets the frames: after ``--resize``) ``genxd curate`` and ``genxd trajectory
#: from-video`` take. Measured on a synthetic orbit (10 frames): frames 4 px high (4x6, 4x64, 3x64, 2x64) failed in both
#: as "too little camera motion or texture"; 6x9 and 8x12 registered in trajectory from-video (which upscales small
#: frames for SfM; curate, which does not, needed 32x48 there).
MIN_FRAME_SIDE = 6


class FramesTooSmallError(VideoReadError):
    """Frames with a side under :data:`MIN_FRAME_SIDE`: no SfM can work on them."""


def check_frame_size(name: str, height: int, width: int, resize: object = None) -> None:
    """A :class:`FramesTooSmallError` ``"{name}: frames are WxH ..."`` when a side is under :data:`MIN_FRAME_SIDE`
    (said at once, not after SfM as "too little camera motion or texture"); ``resize``: the ``--resize`` they were
    read with (parsed; named in the message where it made them that size), or None."""
    if min(height, width) >= MIN_FRAME_SIDE:
        return
    from ..validation import arg

    after = ""
    if isinstance(resize, tuple):  # parse_resize's (W, H)
        after = f" (read with {arg('resize')} {resize[0]}x{resize[1]})"
    elif isinstance(resize, int) and max(height, width) == resize:  # the longer side: made so by it
        after = f" (read with {arg('resize')} {resize})"
    raise FramesTooSmallError(f"{name}: frames are {width}x{height}{after}: too small for structure from motion "
                              f"(each side needs at least {MIN_FRAME_SIDE} px)")
