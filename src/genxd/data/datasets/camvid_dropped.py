"""The note on the videos whose clips picked evenly in time are not trained (:meth:`.camvid.CamVidDataset._retime`):
what each lost (:class:`_Lost`) and what to do about it (:func:`_dropped_advice`)."""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

#: the most videos the note on dropped clips names one by one
_NAMED_VIDEOS = 5


class _Lost(NamedTuple):
    """What a video's clips picked in time lost, for the note of :meth:`CamVidDataset._check_records`."""

    text: str  # the video's part of the note
    slow: list[float] | None  # clips dropped for its rate: its intervals longer than its frame interval; else None
    short: bool = False  # it gives no clip: shorter in time than one clip
    posless: bool = False  # clips lost for frames without a pose (SfM did not register them)


def _dropped_advice(dropped: Sequence[_Lost]) -> str:
    """What to do about the videos whose clips picked in time are not trained (:meth:`CamVidDataset._retime`). For
    those that lost clips to their rate, converting to a constant frame rate: the rate of their usual slow interval
    (the median of all their intervals longer than their frame interval, the longer of the two middle ones; their
    largest was one timestamp hiccup of 0.5 s away from advising 2 fps); for those too short, shorter clips
    (converting the rate makes them no longer); for those that lost clips to frames without a pose, curating again."""
    slow = sorted(g for lost in dropped for g in lost.slow or ())
    parts = []
    if any(lost.slow is not None for lost in dropped):
        parts.append("each clip frame is the recorded frame nearest its time, so where a video's frames lie further "
                     "apart than the clip's step a frame would repeat (its objects stop, then jump): such clips are "
                     "dropped; convert the videos that lost clips to a constant frame rate no higher than their slower "
                     "parts' before curating them")
        if slow:
            gap = slow[len(slow) // 2]
            parts[-1] += (f" (their frames there mostly {gap:.3g} s apart: ffmpeg -i IN -vf "
                          f"fps={max(1, math.floor(1 / gap + 1e-6))} OUT.mp4)")
    if any(lost.short for lost in dropped):
        parts.append("a video that gives no clip is shorter in time than one clip at its step (a constant frame rate "
                     "makes it no longer): train it with fewer frames per clip (num_frames) or a smaller stride")
    if any(lost.posless for lost in dropped):
        parts.append("a clip frame must have a pose, and a frame SfM did not register (meta.json's registered: false, "
                     "or none in the COLMAP model 0/) has none: the clips that need one are dropped; curate such "
                     "videos again for more registered frames, or train them with fewer frames per clip (num_frames)")
    return "; ".join(parts) + ", or train them as 3D (kind: 3d in their meta.json)"
