"""Part of a clip: ``genxd trajectory from-video --start / --end`` (``genxd generate --camera-start /
--camera-end``; ``start`` / ``end`` of :func:`genxd.cameras.clip_cameras.recover_clip_cameras`).

A bound is a plain number, seconds from the clip's first frame (``2.5``), or a frame index with an ``f`` suffix
(``30f``); the range is ``[start, end)``. Seconds are matched against the frames' own presentation times, collected
in one decode pass (none converted), so that a variable-frame-rate clip is cut by time, not by position; a frame
folder has no times and takes frame numbers only. :func:`clip_span` turns the bounds into frame indices, or refuses
them in one line (before any SfM).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import validation as v

__all__ = ["ClipBound", "FrameSpan", "MIN_RANGE_FRAMES", "check_bounds", "clip_span", "parse_bound"]

#: A camera path needs this many frames of the range (SfM's minimum).
MIN_RANGE_FRAMES = 3

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class ClipBound:
    """One end of a range: ``value`` seconds from the clip's first frame, or (``frames``) a frame index; ``name``:
    the Python argument it was given as (messages name it as the caller knows it: ``--start``, ``camera_start``)."""

    value: float
    frames: bool
    name: str

    def said(self) -> str:
        """The bound as the caller wrote it: ``--start 2.5`` / ``start='30f'``."""
        text = f"{int(self.value)}f" if self.frames else f"{self.value:g}"
        if v.is_cli():
            return f"{v.arg(self.name)} {text}"
        return f"{self.name}={text!r}" if self.frames else f"{self.name}={text}"

    def where(self) -> str:
        return f"frame {int(self.value)}" if self.frames else f"{self.value:g} s"


def parse_bound(value: Any, name: str) -> ClipBound | None:
    """``value`` (None, seconds as a number or text, ``"30f"``, or a :class:`ClipBound`) as a bound;
    :class:`genxd.validation.InvalidValue` naming ``name`` for a negative, NaN / infinite or unreadable one."""
    if value is None or isinstance(value, ClipBound):
        return value
    what = "seconds from the clip's first frame (2.5) or a frame number with an f (30f)"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise v.InvalidType(f"{v.arg(name)} must be {what}, got {value!r} ({type(value).__name__})"[:300])
    text = str(value).strip()
    frames = text[-1:] in ("f", "F") and text[:-1].strip().isdigit()
    if frames:
        number = float(int(text[:-1]))
    else:
        try:
            read: float | None = float(value) if not isinstance(value, str) else float(text)
        except (ValueError, OverflowError):
            read = None
        if read is None or (isinstance(value, str) and not _NUMBER.fullmatch(text)
                            and text.lower().lstrip("+-") not in ("nan", "inf", "infinity")):
            raise v.InvalidValue(f"{v.arg(name)} must be {what}, got {value!r}"[:300])
        number = read
    if not math.isfinite(number):
        raise v.InvalidValue(f"{v.arg(name)} must be a finite number of seconds or a frame number, got {value!r}")
    if number < 0:
        raise v.InvalidValue(f"{v.arg(name)} must be 0 or more (from the clip's first frame), got {value!r}")
    return ClipBound(number + 0.0, frames, name)  # -0 as 0


def check_bounds(start: Any, end: Any, names: tuple[str, str] = ("start", "end")
                 ) -> tuple[ClipBound | None, ClipBound | None]:
    """Both bounds parsed (:func:`parse_bound`); InvalidValue when both are in one unit and start is not before
    end (a start in seconds and an end in frames are compared once the clip's frame times are read)."""
    start, end = parse_bound(start, names[0]), parse_bound(end, names[1])
    if start is not None and end is not None and start.frames == end.frames and start.value >= end.value:
        raise v.InvalidValue(f"{start.said()} must come before {end.said()} (the range is [start, end))")
    return start, end


@dataclass(frozen=True)
class FrameSpan:
    """A range as frame indices ``[first, stop)`` of the clip; ``seconds``: the times of its first and last frame
    from the clip's first (None where unknown); ``note``: what the caller is told (an end past the clip)."""

    first: int
    stop: int
    seconds: tuple[float, float] | None
    label: str
    note: str | None = None
    #: a video's frame presentation times (seconds, as decoded: every frame's up to ``stop`` at least), or None: what
    #: the read of the range seeks by (:func:`genxd.curation.frames.read_frames`' ``known_times``)
    frame_times: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        return self.stop - self.first

    def report(self) -> dict[str, Any]:
        return {"range": self.label, "frames": [self.first, self.stop],
                "seconds": None if self.seconds is None else [round(t, 6) for t in self.seconds]}


def _video_times(path: Path, start: ClipBound | None, end: ClipBound | None) -> tuple[list, bool]:
    """The presentation times (seconds, None where unknown) of a video's frames, decoded but not converted, up to
    the first one at or past ``end``; and whether the decoding reached the clip's end."""
    from ..curation.video_decode import DecodeEnd, iter_video_frames

    times: list = []
    frames = iter_video_frames(path, wanted=lambda index: False, check_length=False, times=times, times_all=True,
                               end=DecodeEnd())  # damaged data: the frames before it (the read warns about it)
    try:
        for index, _ in enumerate(frames):
            if end is not None and end.frames and index >= end.value:
                return times[:index], False
            t = times[index]
            if end is not None and not end.frames and t is not None and times[0] is not None \
                    and t - times[0] >= end.value:
                return times[:index], False
    finally:
        frames.close()
    return times, True


def clip_span(frames_at: Path, clip: Path, start: ClipBound | None, end: ClipBound | None) -> FrameSpan:
    """The frames ``[start, end)`` of a video file or frame folder ``frames_at`` (``clip``: as the caller named it);
    FromVideoError (a ValueError) in one line for a range the clip cannot give: seconds for a frame folder or a
    video without timestamps, a start past its last frame, an end in frames before a start in seconds, fewer than
    :data:`MIN_RANGE_FRAMES` frames in the range. An end past the clip reads to its end (``note``)."""
    from ..curation.frames import count_frames
    from .clip_cameras import FromVideoError

    seconds_asked = [b for b in (start, end) if b is not None and not b.frames]
    if frames_at.is_dir():
        if seconds_asked:
            b = seconds_asked[0]
            example = ClipBound(float(round(b.value * 30)), True, b.name).said()
            raise FromVideoError(f"{clip}: {b.said()} is in seconds, and a folder of frames has no frame times; give "
                                 f"it as a frame number ({example} at 30 fps)")
        total, to_end, times = count_frames(frames_at) or 0, True, None
    else:
        times, to_end = _video_times(frames_at, start, end)
        total = len(times)
        # no frame read before an end at frame 0 is no lack of timestamps
        if seconds_asked and ((not times and to_end) or any(t is None for t in times)):
            raise FromVideoError(f"{clip}: {seconds_asked[0].said()} is in seconds, and the video's frames have no "
                                 "timestamps; give it as a frame number (30f)")
        if times and any(t is None for t in times):
            times = None
    rel = None if times is None else [t - times[0] for t in times]

    def index_of(bound: ClipBound) -> int:  # the first frame at or past the bound (total: none)
        if bound.frames:
            return int(bound.value)
        assert rel is not None  # seconds were refused above where the frames have no times
        return next((i for i, t in enumerate(rel) if t >= bound.value - 1e-9), total)

    first = 0 if start is None else index_of(start)
    stop = total if end is None else min(index_of(end), total)
    if first >= total and to_end:
        if start is None:  # no frame decoded at all
            raise FromVideoError(f"{clip}: no frame of the clip could be read, so it has no range to take")
        last = f"frame {total - 1}" + (f", at {rel[-1]:.3g} s" if rel else "") if total else "no frame"
        raise FromVideoError(f"{clip}: {start.said()} is past the clip's last frame ({last})")
    note = None
    if end is not None and to_end and (index_of(end) > total if end.frames else
                                       rel is not None and end.value > rel[-1] + _frame_gap(rel) + 1e-9):
        length = f"{total} frames" + (f", {rel[-1] + _frame_gap(rel):.3g} s" if rel else "")
        note = f"{end.said()} is past the end of {clip.name} ({length}): the range reads to its end"
    if start is not None and end is not None:
        label = f"{start.where()} - {end.where()}"
    elif start is not None:
        label = f"from {start.where()}"
    elif end is not None:
        label = f"to {end.where()}"
    else:
        label = "the whole clip"
    if stop <= first and start is None:  # an end at the clip's first frame: nothing before it
        assert end is not None  # stop < total needs an end
        raise FromVideoError(f"{clip}: {end.said()} (frame 0) leaves no frame before it (the range is [start, end)); "
                             "give a later end")
    if stop <= first:
        assert start is not None and end is not None  # first > 0 needs a start, stop < total an end
        # past the decoded frames: say after which one
        at = f"after frame {max(stop - 1, 0)}" if first >= total and not start.frames else f"frame {first}"
        raise FromVideoError(f"{clip}: {start.said()} ({at}) is not before {end.said()} (frame {stop}); "
                             "the range is [start, end)")
    if stop - first < MIN_RANGE_FRAMES:
        held = f"frame {first}" if stop - first == 1 else f"frames {first}-{stop - 1}"
        raise FromVideoError(f"{clip}: the range {label} holds {stop - first} frame{'s' * (stop - first > 1)} "
                             f"({held}); a camera path needs at least {MIN_RANGE_FRAMES}")
    seconds = None if rel is None else (rel[first], rel[stop - 1])
    return FrameSpan(first, stop, seconds, label, note, None if times is None else tuple(times))


def _frame_gap(rel: list[float]) -> float:
    """How long the last frame is shown: the gap before it (0 for a single frame)."""
    return rel[-1] - rel[-2] if len(rel) > 1 else 0.0
