"""Which video stream of a file is read, and the shape of its pixels.

A file can hold several video streams (a small preview beside the clip, cover art); the one read is the one
ffmpeg picks by default. Its pixels may be non-square (anamorphic video: a sample aspect ratio other than 1), and
are resampled to square ones, as players show them.
"""

from __future__ import annotations

import math
from fractions import Fraction

import cv2
import numpy as np

__all__ = ["is_hidden", "main_video_stream", "sample_aspect_ratio", "shown_frame_count", "square_pixels",
           "stored_pixel_aspect"]

#: FFmpeg's ``AV_DISPOSITION_DEFAULT`` and ``AV_DISPOSITION_ATTACHED_PIC`` bits.
_DEFAULT = 0x1
_ATTACHED_PIC = 0x400
#: what the default disposition weighs in ffmpeg's choice, in pixels (fftools' ``map_auto_video``)
_DEFAULT_BONUS = 5_000_000


def _disposition(stream) -> int:
    try:
        return int(getattr(stream, "disposition", 0) or 0)
    except (TypeError, ValueError):
        return 0


def main_video_stream(container):
    """The video stream ffmpeg takes by default, or ``None`` when there is none but cover art.

    As ``ffmpeg -i FILE out.mp4`` (fftools' automatic video mapping): the largest ``width x height``, a stream
    with the *default* disposition counting 5,000,000 pixels more, ties to the first; attached pictures (cover
    art) are never taken. A file whose first stream is a small preview is read from its clip. (An mp4 muxer marks
    the first track of each kind as default, so there a preview first is preferred unless the clip is 5 Mpx
    larger, as ffmpeg and players do.)
    """
    best, best_score = None, -1
    for stream in container.streams.video:
        flags = _disposition(stream)
        if flags & _ATTACHED_PIC:
            continue
        width = int(getattr(stream, "width", 0) or 0)
        height = int(getattr(stream, "height", 0) or 0)
        score = width * height + (_DEFAULT_BONUS if flags & _DEFAULT else 0)
        if score > best_score:
            best, best_score = stream, score
    return best


def shown_frame_count(stream, container=None, hidden: int | None = None) -> int | None:
    """How many frames the stream's container says are shown, or ``None`` when it states no count (Matroska,
    WebM, MPEG-TS).

    The count an mp4 / mov states (``stream.frames``) is of every stored frame, and a clip trimmed without
    re-encoding (``ffmpeg -ss 5 -i in.mp4 -c copy``, a phone's or an editor's trim) keeps the frames from the
    keyframe before its start with an edit list that hides them: FFmpeg marks their packets as discarded and
    decodes only those shown, as players show them. ``hidden`` is how many packets were marked so (counted while
    decoding); without it, the stream's packets are read from ``container`` (not decoded) to count them, but only
    where the stream's edited duration times its average frame rate says fewer frames are shown than stored: that
    estimate alone undercounts a variable-frame-rate clip with B-frames (its average rate spans the decoding
    delay, a pause included), so it only decides whether to look.
    """
    frames = int(getattr(stream, "frames", 0) or 0)
    if frames <= 0:
        return None
    if hidden is None:
        if container is None or not _may_hide_frames(stream, frames):
            return frames
        hidden = _hidden_packets(container, stream)
    return max(1, frames - hidden)


def _may_hide_frames(stream, frames: int) -> bool:
    """Whether the stream's edited duration times its average frame rate is below its stored frame count."""
    try:
        seconds = float(stream.duration * stream.time_base)
        rate = float(stream.average_rate)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):  # no duration or rate stated
        return False
    if not (math.isfinite(seconds) and math.isfinite(rate)) or seconds <= 0 or rate <= 0:
        return False
    return round(seconds * rate) < frames


def is_hidden(packet) -> bool:
    """Whether a demuxed packet holds a frame an edit list hides (FFmpeg's discard flag)."""
    return bool(packet.size) and bool(getattr(packet, "is_discard", False))


def _hidden_packets(container, stream) -> int:
    """How many of the stream's packets an edit list hides, read from the start of ``container`` (a file that
    cannot be read to its end: those counted until then)."""
    import av

    hidden = 0
    try:
        for packet in container.demux(stream):
            hidden += is_hidden(packet)
    except (av.error.FFmpegError, OSError):
        pass
    return hidden


def sample_aspect_ratio(stream) -> Fraction | None:
    """The stream's sample (pixel) aspect ratio, width / height of one pixel; ``None`` when unknown or 1. The
    container's value where it states one, else the codec's (as ffmpeg's ``av_guess_sample_aspect_ratio``)."""
    for owner in (stream, getattr(stream, "codec_context", None)):
        try:
            value = getattr(owner, "sample_aspect_ratio", None)
        except Exception:  # noqa: BLE001 - PyAV builds without it for some codecs
            value = None
        if value:
            ratio = Fraction(value)
            if ratio > 0:
                return None if ratio == 1 else ratio
    return None


def square_pixels(pixels: np.ndarray, sar: Fraction | None) -> np.ndarray:
    """Stored pixels ``[H, W, C]`` resampled to square pixels: the width stretched by ``sar`` when it is above 1,
    the height by ``1 / sar`` below 1 (a 96x192 frame at 2:1 becomes 192x192). Ratios within 1 % of 1 are left."""
    if sar is None or abs(float(sar) - 1.0) < 0.01:
        return pixels
    h, w = pixels.shape[:2]
    if sar > 1:
        w = max(1, round(w * float(sar)))
    else:
        h = max(1, round(h / float(sar)))
    return cv2.resize(pixels, (w, h), interpolation=cv2.INTER_LINEAR)


def stored_pixel_aspect(path) -> str | None:
    """``"W:H"`` of one stored pixel of the video file ``path`` (e.g. ``"2:1"``) when it is not square, else
    ``None`` (square, unknown, a frame folder, unreadable): what the frames were resampled from, for reports."""
    import os

    if os.path.isdir(path):
        return None
    try:
        import av

        with av.open(str(path)) as container:
            stream = main_video_stream(container)
            sar = None if stream is None else sample_aspect_ratio(stream)
    except Exception:  # noqa: BLE001 - unreadable: the read says why
        return None
    return None if sar is None else f"{sar.numerator}:{sar.denominator}"
