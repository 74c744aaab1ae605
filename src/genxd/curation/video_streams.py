"""Which video stream of a file is read.

A file can hold several video streams (a small preview beside the clip, cover art); the one read is the one
ffmpeg picks by default.
"""

from __future__ import annotations

__all__ = ["main_video_stream"]

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
