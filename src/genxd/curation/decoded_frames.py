"""The frames a video stream's packets decode to, and, where decoding stops at damaged data in the middle of a file,
the whole frames the decoder still holds (read by :func:`genxd.curation.video_decode.iter_video_frames`).

A decoder gives its frames in display order, some packets after it was handed them: a frame waits for the frames
shown before it that are decoded after it (B-frames), and threaded decoding (a thread per frame) holds one more frame
per thread. When FFmpeg refuses a packet as invalid data, PyAV raises there, and the 2-4 frames still in the decoder
were dropped with the rest of the clip, whole or not. Drained (``decode(None)``), the decoder gives them; which are
whole is told by the packets, not by the frames (FFmpeg flags neither a frame decoded from a damaged reference nor one
after a lost frame as corrupt: ``is_corrupt`` is about recovery points): the damaged packet is the first one handed
over whose frame never came out, and a held frame is kept when its packet came before that one (it cannot refer to
it: a frame refers only to frames decoded before it) and it is shown before every frame that did not come out (no
frame skipped: a frame's index is its place in the clip). Where the timestamps do not tell (missing or repeated, or
every packet gave its frame), none of the held frames is kept, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .video_streams import is_hidden

__all__ = ["PacketFrames", "whole_held_frames"]


class PacketFrames:
    """Iterates the frames of a stream's ``packets`` (demuxed, in decode order) as ``codec_context`` decodes them,
    counting the packets an edit list hides in :attr:`hidden`. Where a packet's decoding raises FFmpeg's
    ``InvalidDataError`` (damaged data), the whole frames the decoder still held (:func:`whole_held_frames`) come
    next, then the error is raised."""

    def __init__(self, packets: Iterable[Any], codec_context: Any) -> None:
        self._packets, self._codec = packets, codec_context
        self.hidden = 0  # packets an edit list hides: decoded (a later frame may refer to theirs), not shown

    def __iter__(self) -> Iterator[Any]:
        import av

        sent: list[Any] = []  # the timestamp of each packet handed to the decoder that shows a frame, decode order
        shown: set[Any] = set()  # the timestamps of the frames the decoder gave
        for packet in self._packets:
            hidden = is_hidden(packet)
            self.hidden += hidden
            if packet.size and not hidden:
                sent.append(packet.pts)
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                try:
                    held = self._codec.decode(None)  # drained: the frames the decoder still holds
                except Exception:  # noqa: BLE001 - a decoder that cannot be drained after the error: none kept
                    held = []
                yield from whole_held_frames(held, sent, shown)
                raise
            for frame in frames:
                shown.add(frame.pts)
                yield frame


def whole_held_frames(held: list[Any], sent: list[Any], shown: set[Any]) -> list[Any]:
    """Of the frames ``held`` (drained from a decoder after damaged data, in display order), the first ones that are
    whole (module docstring): each from a packet handed over before the first one of ``sent`` (the timestamps of the
    packets handed over, decode order) whose frame is neither in ``shown`` (the timestamps of the frames given before)
    nor held, shown before every such frame, and after the one before it."""
    given = shown | {frame.pts for frame in held}
    if None in given or None in sent or len(set(sent)) != len(sent):
        return []
    lost = [i for i, pts in enumerate(sent) if pts not in given]
    if not lost:
        return []  # the packet refused gave a frame after all, or another: which frames it spoiled is not known
    first_lost, earliest_lost = lost[0], min(sent[i] for i in lost)
    order = {pts: i for i, pts in enumerate(sent)}
    last = max(shown, default=None)
    kept = []
    for frame in held:
        if not (order.get(frame.pts, first_lost) < first_lost and frame.pts < earliest_lost
                and (last is None or frame.pts > last)):
            break
        kept.append(frame)
        last = frame.pts
    return kept
