"""The 4D / video plan for long paths (:func:`plan_temporal`): overlapping windows of consecutive frames along
time, holding the inputs around the frames they make (strategy: :mod:`genxd.pipelines.long_paths`).

Split from :mod:`genxd.pipelines.long_path_plans`, which keeps the shared types (``Window``, ``LongPathPlan``)
and the 3D planners, and re-exports :func:`plan_temporal`. That module imports this one, so this one takes
those types when :func:`plan_temporal` runs (no import cycle, whichever module is imported first).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from ..validation import arg

if TYPE_CHECKING:
    from .long_path_plans import LongPathPlan

__all__ = ["plan_temporal"]


def _last_temporal_start(start: int, span: int, num_frames: int, overlap: int, known: set[int], seen: int,
                         span_at: Callable[[int], int], ending_on: Callable[[int], int]) -> int:
    """Where :func:`plan_temporal`'s window at ``start`` goes when only known frames (inputs) follow it.

    The last window ends on the last frame (the trailing inputs as its context) if it still holds a frame of
    the earlier windows (``seen``: the last one's last consecutive frame); else this window ends ``overlap``
    frames into that last window (or before its last frame to make), so the next, the last, keeps generated
    overlap frames. Where the trailing inputs leave no room for that, the window stays."""
    todo = [f for f in range(start, num_frames) if f not in known]
    if not todo:
        return start
    last = ending_on(num_frames - 1)
    if last <= seen:
        return last
    end = max(todo[0], min(last + overlap - 1, todo[-1] - 1))
    return ending_on(end) if last <= end < todo[-1] else start


@dataclass(frozen=True)
class _TemporalLayout:
    """A :func:`plan_temporal` window starting at ``start``: ``span`` consecutive frames from ``start`` (cut at the
    path's end), with ``before`` (inputs kept, and the input before its frames to make) and ``after`` (the input
    after them) around them; ``holds``: 2 where it holds every input :func:`_inputs_around` asks for, 1 where it
    holds the later one only (a window too small for both: its known frames were made seeing the earlier one), 0
    where it lacks the later one."""

    start: int
    span: int
    before: tuple[int, ...]
    after: tuple[int, ...]
    holds: int

    def frames(self, num_frames: int) -> tuple[int, ...]:
        return self.before + tuple(range(self.start, min(self.start + self.span, num_frames))) + self.after


def _inputs_around(run: range, inputs: Sequence[int], known: set[int]) -> tuple[int, ...]:
    """The inputs outside the consecutive frames ``run`` that a window making its unknown frames must hold: the
    nearest input on each side of every such frame that lies between two inputs (the earlier and the later one
    of the first and the last of them; those inside ``run`` are held already)."""
    ins = sorted(inputs)
    between = [f for f in run if f not in known and ins[0] < f < ins[-1]]
    if not between:
        return ()
    before = max(i for i in ins if i < between[0])
    after = min(i for i in ins if i > between[-1])
    return tuple(i for i in (before, after) if i not in run)


#: the dict in which :func:`plan_temporal` keeps its layouts by start (a test swaps in one that keeps nothing, to
#: compare the plans with those of the search without the cache)
_new_layout_cache: Callable[[], dict[int, _TemporalLayout]] = dict


def plan_temporal(num_frames: int, inputs: Sequence[int], window: int, overlap: int | None = None,
                  keep_inputs: bool = False) -> LongPathPlan:
    """The 4D / video plan (see :mod:`genxd.pipelines.long_paths`): overlapping windows along time.

    A window making frames that lie between two inputs also holds, as context, the nearest input on each side of
    them where the window has room (its consecutive frames then number one or two fewer, still more than
    ``overlap``): the later input is not left to a later window (a seam where the two meet).

    ``keep_inputs``: every later window also takes the inputs that lie before it as context, in its first
    slots (so it sees the input's appearance, not only the previous window's last frames); such a window
    then covers ``window - len(those inputs)`` consecutive frames."""
    from .long_path_plans import LongPathPlan, Window, _check_inputs, _single  # it imports this module

    inputs = _check_inputs(inputs, num_frames, window)
    if num_frames <= window:
        return _single(num_frames, inputs, window)
    overlap = max(1, window // 4) if overlap is None else int(overlap)
    if not 1 <= overlap < window:
        raise ValueError(f"{arg('overlap')} must be between 1 and window - 1 = {window - 1}, got {overlap}")
    if min(inputs) >= window:
        raise ValueError(f"in 4d / video mode an input must be among the first {window} frames (the first window)")
    if len([i for i in inputs if i < window]) >= window:
        raise ValueError(f"{len(inputs)} input frames leave no room in a window of {window} frames")
    if keep_inputs and window - len(inputs) - overlap < 1:
        raise ValueError(f"keeping {len(inputs)} inputs and {overlap} overlap frames in every window of {window} "
                         "leaves no frame to generate")
    known = set(inputs)
    ins = sorted(inputs)
    windows: list[Window] = []
    #: layouts by start, for the frames known now (cleared when a window adds frames: a layout depends on them):
    #: the search below asks for the same starts many times
    layouts: dict[int, _TemporalLayout] = _new_layout_cache()

    def layout(start: int) -> _TemporalLayout:
        got = layouts.get(start)
        if got is None:
            got = layouts[start] = _layout(start)
        return got

    def _layout(start: int) -> _TemporalLayout:
        """The window at ``start``: the most consecutive frames whose inputs around (:func:`_inputs_around`) fit
        beside them, keeping a frame to make and more than ``overlap`` frames; else all consecutive frames."""
        kept = tuple(i for i in ins if i < start) if keep_inputs and start > 0 else ()
        full = full_span(start)
        # the frames to make of the full run that lie between two inputs: those of a shorter run are its first ones
        # (what _inputs_around finds for each span, found once; the search asks for many starts and spans)
        end_full = min(start + full, num_frames)
        between = [f for f in range(start, end_full) if f not in known and ins[0] < f < ins[-1]]
        first_todo = next((f for f in range(start, end_full) if f not in known), end_full)

        def around_of(span: int) -> tuple[int, tuple[int, ...]]:
            """The run's end and ``_inputs_around(range(start, end), inputs, known)`` less the kept inputs."""
            end = min(start + span, num_frames)
            n = bisect.bisect_left(between, end)
            if not n:
                return end, ()
            before, after = ins[bisect.bisect_left(ins, between[0]) - 1], ins[bisect.bisect_right(ins, between[n - 1])]
            return end, tuple(i for i in (before, after) if not start <= i < end and i not in kept)

        for span in range(full, overlap, -1):
            end, around = around_of(span)
            if span + len(around) <= full and first_todo < end:
                before = tuple(sorted(kept + tuple(i for i in around if i < start)))
                return _TemporalLayout(start, span, before, tuple(i for i in around if i > start), 2)
        # no room for both (window < overlap + 3): the later input alone, after the consecutive frames (their known
        # frames were made seeing the earlier one), where it fits; at the full span when the run holds it already
        for span in range(full, overlap, -1):
            end, around = around_of(span)
            after = tuple(i for i in around if i > start)
            if span + len(after) <= full and first_todo < end:
                return _TemporalLayout(start, span, kept, after, 2 if len(after) == len(around) else 1)
        run = range(start, min(start + full, num_frames))
        return _TemporalLayout(start, full, kept, (), 0 if _inputs_around(run, inputs, known) else 2)

    def span_at(start: int) -> int:  # consecutive frames of the window starting at ``start``
        return layout(start).span

    def ending_on(end: int) -> int:
        """The start of the window whose consecutive frames end on ``end``: the earliest, holding the inputs around
        its frames to make where one does; where none ends there (inputs around shorten the window at one start
        and not at the next), the earliest that reaches past it."""
        last = {s: min(s + span_at(s), num_frames) - 1 for s in range(max(0, end + 1 - window), end + 1)}
        ends = [s for s, e in last.items() if e == end]
        best = max((layout(s).holds for s in ends), default=0)
        full = [s for s in ends if layout(s).holds == best]
        return (full or [s for s, e in last.items() if e >= end])[0]

    def full_span(start: int) -> int:  # consecutive frames without inputs around (kept inputs: fewer)
        return window - (bisect.bisect_left(ins, start) if keep_inputs and start > 0 else 0)

    start, seen = 0, -1  # seen: the last consecutive frame of the last window
    while True:
        span = full_span(start)
        if windows and all(f in known for f in range(start + span, num_frames)):
            moved = _last_temporal_start(start, span, num_frames, overlap, known, seen, span_at, ending_on)
            # not past the earlier windows' frames (its overlap kept), nor where it would lack an input around its
            # frames to make that the window here holds
            if moved <= max(start, seen) and layout(moved).holds >= layout(start).holds:
                start = moved
        here = layout(start)
        span = here.span
        frames = here.frames(num_frames)
        ctx = tuple(f for f in frames if f in known)
        if len(ctx) == len(frames):  # the earlier windows' frames and inputs: nothing left to make here
            if start + span >= num_frames:
                break
            # the next window ends on the first frame still to make, so that it holds the last frames made
            # before a run of inputs (jumping by span - overlap could start it on the inputs alone: a seam)
            todo = next((f for f in range(start + span, num_frames) if f not in known), None)
            if todo is None:
                break
            start = max(start + 1, ending_on(todo))
            continue
        if not ctx:
            raise ValueError(f"frames {frames[0]}-{frames[-1]} have no known frame to start from")
        # inputs first (their camera is the reference), then the overlap frames in time order
        ctx = tuple([f for f in ctx if f in inputs] + [f for f in ctx if f not in inputs])
        windows.append(Window(frames, ctx, len(windows), "time"))
        known.update(frames)
        layouts.clear()
        seen = min(start + span, num_frames) - 1
        if start + span >= num_frames:
            break
        start += span - overlap
    return LongPathPlan("temporal", num_frames, window, inputs, tuple(windows))
