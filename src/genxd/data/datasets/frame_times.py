"""Clips of a variable-frame-rate video picked evenly in time, by the frame times ``genxd curate`` records in
``meta.json`` (``frames[i].time``, seconds from the first frame).

The model learns to make frames evenly spaced in time (``genxd generate`` gives it no times), so a 4D clip's frames
must be: a clip taken frame by frame from a phone's video (30 fps, then 10 fps) moves its objects at an uneven pace
under one motion strength. :func:`timed_clips` takes, for each even time step, the recorded frame nearest to it; the
step is the clip's stride at the video's frame interval (:func:`frame_interval`), so a video of constant rate gives
the clips taken frame by frame. Clips whose frames do not fit their times (a frame repeated where the video's rate
falls below the clip's step) are dropped, not trained.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["UNEVEN_CLIP_TOLERANCE", "uneven_clip_steps", "frame_times", "registered_frames", "usable_times",
           "frame_interval", "nearest_frames", "TimedClip", "timed_clips", "fits", "largest_miss"]

#: A clip's frames are unevenly spaced in time when one is further than this many of its steps from its place on
#: an even spacing (a phone's timestamp jitter of a few ms, and meta.json's times in ms, stay well under it).
UNEVEN_CLIP_TOLERANCE = 0.25


def uneven_clip_steps(times: Sequence[float]) -> tuple[float, float] | None:
    """The smallest and largest step between a clip's frame ``times`` (seconds) when they are not evenly spaced
    (:data:`UNEVEN_CLIP_TOLERANCE`); None for even ones, fewer than 3, or times that do not increase."""
    if len(times) < 3:
        return None
    steps = [b - a for a, b in zip(times, times[1:])]
    if min(steps) <= 0:
        return None
    mean = (times[-1] - times[0]) / (len(times) - 1)
    if max(abs(t - (times[0] + k * mean)) for k, t in enumerate(times)) <= UNEVEN_CLIP_TOLERANCE * mean:
        return None
    return min(steps), max(steps)


def frame_times(meta: dict, names: Sequence[str]) -> list[float | None]:
    """The time of each of ``names`` (image file names) in ``meta``'s ``frames`` (``genxd curate``'s ``name`` and
    ``time``), None where it gives none or not a finite number."""
    frames = meta.get("frames")
    by_name: dict[str, float] = {}
    for f in frames if isinstance(frames, list) else []:
        t = f.get("time") if isinstance(f, dict) else None
        if isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(t, (int, float)) \
                and not isinstance(t, bool) and math.isfinite(t):
            by_name[f["name"]] = float(t)
    return [by_name.get(n) for n in names]


def registered_frames(meta: dict, names: Sequence[str]) -> list[int] | None:
    """The numbers of ``names`` (image file names) that ``meta``'s ``frames`` mark ``registered`` (``genxd curate``
    records whether SfM placed each frame), None unless it says so (true or false) for every one of them."""
    frames = meta.get("frames")
    by_name = {f["name"]: f["registered"] for f in frames if isinstance(f, dict) and isinstance(f.get("name"), str)
               and isinstance(f.get("registered"), bool)} if isinstance(frames, list) else {}
    if any(n not in by_name for n in names):
        return None
    return [i for i, n in enumerate(names) if by_name[n]]


def usable_times(times: Sequence[float | None]) -> list[float] | None:
    """``times`` when every frame has one and they increase (two frames or more); else None (frame folders, records
    before 6e2b619, broken timestamps: such videos are taken frame by frame)."""
    if len(times) < 2 or any(t is None for t in times):
        return None
    out = [float(t) for t in times]  # type: ignore[arg-type]
    return out if all(b > a for a, b in zip(out, out[1:])) else None


def frame_interval(times: Sequence[float]) -> float:
    """The video's frame interval, the time step of a clip of stride 1: the interval most of its frames have (the
    median of its intervals, counted by frame, not by second), refined as the mean of those within
    :data:`UNEVEN_CLIP_TOLERANCE` of it (times rounded to ms, 0.033 and 0.034 s, give 1/30 s rather than 0.033 s,
    which would drift a third of a frame over a clip of 10 steps of 3 frames).

    A video half 30 fps and half 10 fps in time has three short intervals per long one: its step is 1/30 s and the
    clips of its 10 fps part are dropped (:func:`timed_clips`). It is the interval most frame pairs have because the
    motion strength ``genxd curate`` records is a median over frame pairs (a speed per such interval), which a clip of
    stride ``s`` gets ``s`` times; the faster part then gives the clips taken frame by frame. On a tie (as many
    intervals of each rate) it is the shorter of the two middle ones: their mean, ``np.median``'s, fits neither rate
    (0.067 s between 1/30 and 0.1 s)."""
    steps = np.sort(np.diff(np.asarray(times, dtype=np.float64)))
    median = float(steps[(steps.size - 1) // 2])
    near = steps[np.abs(steps - median) <= UNEVEN_CLIP_TOLERANCE * median]
    return float(near.mean()) if near.size else median


def nearest_frames(times: Sequence[float], candidates: Sequence[int], targets: Sequence[float]) -> list[int]:
    """For each of ``targets`` (seconds), the one of ``candidates`` (sorted frame numbers) whose time is nearest
    (the earlier on a tie)."""
    cand = np.asarray(candidates, dtype=np.int64)
    if cand.size == 0:
        raise ValueError("no valid frames")
    t = np.asarray(times, dtype=np.float64)[cand]
    out = []
    for target in targets:
        i = int(np.searchsorted(t, target))
        if i == len(t) or (i > 0 and target - t[i - 1] <= t[i] - target):
            i -= 1
        out.append(int(cand[i]))
    return out


#: A clip picked in time: its frame numbers and their even target times (seconds).
TimedClip = tuple[list[int], list[float]]


def timed_clips(times: Sequence[float], num_frames: int, stride: int, clip_spacing: int | None,
                registered: Sequence[int] | None = None) -> tuple[list[TimedClip], list[TimedClip]]:
    """``(kept, dropped)``: the clips of ``num_frames`` frames ``stride`` frame intervals (:func:`frame_interval`)
    apart in time, starting every ``clip_spacing`` intervals (default: the clip's span, as clips taken frame by
    frame), each frame the recorded one nearest its target. A clip starts on a recorded frame, and its last target
    lies at most :data:`UNEVEN_CLIP_TOLERANCE` steps past the last frame. A clip is dropped when its frames do not
    fit its times (:func:`fits`: where the video's frames lie further apart than the step, a frame would repeat, its
    objects stopping, then jumping). At a constant rate the kept ones are the clips taken frame by frame
    (``start + k * stride``); none when the video is shorter in time than one clip.

    ``registered`` (sorted frame numbers; default: all) are the frames a clip may take, those with a pose: a clip is
    read from them, so whether it fits is judged on them (a frame without one, taken by the nearest with one, would
    repeat it). The frame interval is still the whole video's (that of its motion strength)."""
    dt = frame_interval(times)
    step = stride * dt
    frames = list(range(len(times))) if registered is None else sorted(registered)
    if not frames:
        return [], []
    spacing = (clip_spacing or (num_frames - 1) * stride + 1) * dt
    end = times[frames[-1]] + UNEVEN_CLIP_TOLERANCE * step
    kept: list[TimedClip] = []
    dropped: list[TimedClip] = []
    last_start = -1
    j = 0
    while (wanted := times[frames[0]] + j * spacing) <= end:
        j += 1
        start = nearest_frames(times, frames, [wanted])[0]
        targets = [times[start] + k * step for k in range(num_frames)]
        if targets[-1] > end:
            break
        if start != last_start:
            positions = nearest_frames(times, frames, targets)
            (kept if fits(times, positions, targets, step) else dropped).append((positions, targets))
            last_start = start
    return kept, dropped


def fits(times: Sequence[float], positions: Sequence[int], targets: Sequence[float], step: float) -> bool:
    """Whether a clip's frames are all different and each is at most :data:`UNEVEN_CLIP_TOLERANCE` times ``step``
    off its target time."""
    return len(set(positions)) == len(positions) and \
        largest_miss(times, positions, targets) <= UNEVEN_CLIP_TOLERANCE * step


def largest_miss(times: Sequence[float], positions: Sequence[int], targets: Sequence[float]) -> float:
    """The largest distance (seconds) between a clip frame's time and its target."""
    return max(abs(times[p] - t) for p, t in zip(positions, targets))
