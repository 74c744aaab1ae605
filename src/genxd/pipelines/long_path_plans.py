"""Plans for long paths: which frames each window generates and which known frames condition it.

The strategies (3D progressive / anchored, 4D / video temporal, independent windows as the baseline) are
described in :mod:`genxd.pipelines.long_paths`, which executes the plans; this module only decides the
windows (pure index and camera-distance logic, no model). Frame indices are global (0 .. N-1); cameras
are camera-to-world ``[N, 4, 4]`` in the project convention (docs/conventions.md). The 4D / video planner,
:func:`plan_temporal`, is in :mod:`genxd.pipelines.long_path_temporal` (re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..validation import arg
from .long_path_distance import CameraDistances, Distances, as_distances, camera_distance
from .long_path_temporal import plan_temporal  # noqa: F401  (re-exported: __all__)

__all__ = [
    "Window",
    "LongPathPlan",
    "camera_distance",
    "CameraDistances",
    "plan_anchored",
    "plan_progressive",
    "is_closed_path",
    "plan_temporal",
    "plan_independent",
    "order_along_path",
]


@dataclass(frozen=True)
class Window:
    """One window the model samples: ``frames`` (global frame indices, in the order the model sees
    them: along the path, the reference input first in progressive windows, see :func:`order_along_path`) of which ``context`` are known (inputs or generated earlier; ``context[0]`` is the
    reference camera of the rays); the other frames are generated. Windows of one ``stage`` only
    depend on frames known before the stage, so they can be sampled together."""

    frames: tuple[int, ...]
    context: tuple[int, ...]
    stage: int
    kind: str  # "single", "anchors", "chunk", "time" or "independent"

    @property
    def targets(self) -> tuple[int, ...]:
        ctx = set(self.context)
        return tuple(f for f in self.frames if f not in ctx)

    @property
    def context_positions(self) -> list[int]:
        """Where the context frames sit in the window (the pipeline's ``context_index``)."""
        return [self.frames.index(c) for c in self.context]

    @property
    def shape(self) -> tuple[int, int]:
        """``(frames, context frames)``: windows of one shape can share a pipeline call."""
        return len(self.frames), len(self.context)


@dataclass(frozen=True)
class LongPathPlan:
    """Which windows generate a path of ``num_frames`` frames from the frames ``inputs``."""

    strategy: str  # "single", "progressive", "anchored", "temporal" or "independent"
    num_frames: int
    window: int
    inputs: tuple[int, ...]
    windows: tuple[Window, ...]
    #: the settings that made it (``window``, ``overlap``, ``anchors``, ``strategy``: set by
    #: :func:`~genxd.pipelines.long_paths.make_plan`; None: not known); not part of the plan (equality, :meth:`to_dict`)
    settings: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Every frame is an input or generated exactly once; every context is known before its stage."""
        made: dict[int, int | None] = {f: None for f in self.inputs}  # the stage that made each frame (None: input)
        for w in sorted(self.windows, key=lambda w: w.stage):
            frames = set(w.frames)
            if len(w.frames) > self.window or len(frames) != len(w.frames):
                raise AssertionError(f"bad window frames {w.frames}")
            for c in w.context:
                made_at = made.get(c)
                if c not in frames or c not in made or (made_at is not None and made_at >= w.stage):
                    raise AssertionError(f"context frame {c} of {w} is not known before stage {w.stage}")
            for t in w.targets:
                if t in made:
                    raise AssertionError(f"frame {t} is generated twice")
                made[t] = w.stage
        if sorted(made) != list(range(self.num_frames)):
            raise AssertionError(f"frames not covered: {sorted(set(range(self.num_frames)) - set(made))}")

    @property
    def num_stages(self) -> int:
        return 1 + max(w.stage for w in self.windows)

    def generated_by(self) -> list[int]:
        """For each frame, the index of the window that generated it (-1 for an input)."""
        out = [-1] * self.num_frames
        for i, w in enumerate(self.windows):
            for t in w.targets:
                out[t] = i
        return out

    def calls(self, max_windows_per_call: int | None = None, num_scenes: int = 1) -> list[list[tuple[int, int]]]:
        """The sampling calls, in order: each a list of ``(scene, window index)`` with one window shape.

        Windows of one stage and one shape, of all ``num_scenes`` scenes, share calls of at most
        ``max_windows_per_call`` samples (None: no limit).
        """
        limit = max_windows_per_call or 10**9
        if limit < 1:
            raise ValueError(f"max_windows_per_call must be >= 1, got {max_windows_per_call}")
        out: list[list[tuple[int, int]]] = []
        for stage in range(self.num_stages):
            shapes: dict[tuple[int, int], list[int]] = {}
            for i, w in enumerate(self.windows):
                if w.stage == stage:
                    shapes.setdefault(w.shape, []).append(i)
            for idx in shapes.values():
                items = [(b, i) for i in idx for b in range(num_scenes)]
                out += [items[s : s + limit] for s in range(0, len(items), limit)]
        return out

    def num_unet_calls(self, num_inference_steps: int, max_windows_per_call: int | None = None,
                       num_scenes: int = 1, calls_per_sampling_call: int | None = None) -> int:
        """UNet calls of the whole job (guidance runs both branches in one UNet call); ``calls_per_sampling_call``:
        the UNet calls of ``num_inference_steps`` steps of the sampler (:func:`genxd.pipelines.schedulers.model_calls`:
        ``2n - 1`` for Heun), None: one a step."""
        per_call = int(num_inference_steps) if calls_per_sampling_call is None else int(calls_per_sampling_call)
        return len(self.calls(max_windows_per_call, num_scenes)) * per_call

    def describe(self, num_inference_steps: int, max_windows_per_call: int | None = None, num_scenes: int = 1,
                 calls_per_sampling_call: int | None = None) -> str:
        """One line: the windows, the sampling calls and the UNet calls of a job (``calls_per_sampling_call``: as
        :meth:`num_unet_calls`)."""
        kinds: dict[str, int] = {}
        for w in self.windows:
            kinds[w.kind] = kinds.get(w.kind, 0) + 1
        names = {"anchors": "anchor window", "chunk": "chunk", "time": "time window",
                 "independent": "independent window", "single": "window"}
        parts = ", ".join(f"{n} {names.get(k, k)}{'s' if n > 1 else ''}" for k, n in kinds.items())
        calls = self.calls(max_windows_per_call, num_scenes)
        per = f" ({num_scenes} scenes)" if num_scenes > 1 else ""
        each = num_inference_steps if calls_per_sampling_call is None else calls_per_sampling_call
        unet = len(calls) * each
        steps = f"{num_inference_steps} step{'s' if num_inference_steps != 1 else ''}"
        if each != num_inference_steps:  # a sampler of more UNet calls than steps (Heun: 2n - 1)
            steps += f" ({each} UNet call{'s' if each != 1 else ''} each)"
        return (f"{self.num_frames} frames, window {self.window}, {self.strategy}: {parts}{per} in {len(calls)} sampling "
                f"call{'s' if len(calls) > 1 else ''} x {steps} = {unet} UNet call{'s' if unet != 1 else ''}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (written to ``meta.json``)."""
        return {"strategy": self.strategy, "window": self.window, "num_frames": self.num_frames,
                "inputs": list(self.inputs),
                "windows": [{"kind": w.kind, "stage": w.stage, "frames": list(w.frames), "context": list(w.context)}
                            for w in self.windows]}


# ------------------------------------------------------------------------------------------------ planning


def _farthest_points(dist: Distances, known: Sequence[int], n: int) -> list[int]:
    """``n`` frames chosen one at a time as the farthest (in ``dist``) from all frames chosen so far,
    starting from ``known``; ties go to the lowest frame index."""
    num = len(dist)
    nearest = dist.block(list(known)).min(dim=0).values.clone()
    nearest[list(known)] = -1.0
    chosen: list[int] = []
    for _ in range(n):
        best = int(torch.argmax(nearest))  # first maximum: lowest index
        if nearest[best] < 0:
            break
        chosen.append(best)
        nearest = torch.minimum(nearest, dist.block([best])[0])
        nearest[best] = -1.0
    return chosen[: min(n, num)]


def order_along_path(frames: Sequence[int], dist: Tensor | Distances, inputs: Sequence[int] = ()) -> tuple[int, ...]:
    """The order in which a 3D window shows ``frames`` to the model: neighbours in the window are
    neighbours along the path.

    The model mixes neighbouring frames of a window (the multiview path's 3-frame convolution) and was
    trained on clips whose consecutive frames are consecutive cameras. The frames are taken in path
    order as a cycle and the cycle is cut at its largest camera-distance gap: an open path keeps its
    order; on a closed one (a 360-degree orbit) a window holding frames of both ends runs across the
    closure (``48, 56, 60, 61, 62, 63, 0, 8``), so the input sits next to the frames that are near it.
    Ties (evenly spaced frames) cut before the first input, so it comes first.
    """
    fr = sorted(int(f) for f in frames)
    n = len(fr)
    if n < 3:
        return tuple(fr)
    gaps = [round(g, 6) for g in as_distances(dist).pairs(fr, fr[1:] + fr[:1]).tolist()]
    cut = max(range(n), key=lambda i: (gaps[i], fr[(i + 1) % n] in inputs, -i))
    start = (cut + 1) % n
    return tuple(fr[start:] + fr[:start])


def _split_even(items: Sequence[int], max_size: int) -> list[list[int]]:
    """Consecutive groups of near-equal size (sizes differ by at most one), none above ``max_size``."""
    if not items:
        return []
    n = math.ceil(len(items) / max_size)
    q, r = divmod(len(items), n)
    out, s = [], 0
    for g in range(n):
        size = q + (1 if g < r else 0)
        out.append(list(items[s : s + size]))
        s += size
    return out


def _check_inputs(inputs: Sequence[int], num_frames: int, window: int) -> tuple[int, ...]:
    inputs = tuple(int(i) for i in inputs)
    if not inputs:
        raise ValueError("a path needs at least one input frame")
    if len(set(inputs)) != len(inputs) or min(inputs) < 0 or max(inputs) >= num_frames:
        raise ValueError(f"input frames must be distinct frame indices in [0, {num_frames}), got {list(inputs)}")
    if window < 2:
        raise ValueError(f"{arg('window')} must be at least 2 frames, got {window}")
    return inputs


def _single(num_frames: int, inputs: tuple[int, ...], window: int) -> LongPathPlan:
    w = Window(tuple(range(num_frames)), inputs, 0, "single")
    return LongPathPlan("single", num_frames, max(window, num_frames), inputs, (w,))


def _check_room_for_overlap(window: int, n_in: int) -> None:
    """A 3d window longer paths are made of holds the inputs, at least 1 generated frame of context and 1 new frame;
    a smaller one is refused naming the window (not --overlap, which may not have been given)."""
    if window < n_in + 2:
        raise ValueError(f"{arg('window')} {window} is too small for a 3d path longer than it: each window holds the "
                         f"{n_in} input frame{'s' if n_in > 1 else ''}, at least 1 generated frame of context and 1 new "
                         f"frame, so at least {n_in + 2} frames")


def plan_anchored(dist: Tensor | Distances, inputs: Sequence[int], window: int, anchors: int | None = None,
                  overlap: int | None = None) -> LongPathPlan:
    """The 3D plan (see the module docstring) for ``dist [N, N]`` (:func:`camera_distance`, or the same
    distances on demand: :class:`CameraDistances`).

    Args:
        inputs: frames given as inputs (their images condition every window).
        window: frames per window.
        anchors: new frames of the anchor window (default ``window - len(inputs)``).
        overlap: generated frames (at least) conditioning each chunk (default ``max(1, window // 4)``).
    """
    dist = as_distances(dist)
    num_frames = len(dist)
    inputs = _check_inputs(inputs, num_frames, window)
    if num_frames <= window:
        return _single(num_frames, inputs, window)
    n_in = len(inputs)
    anchors = window - n_in if anchors is None else int(anchors)
    overlap = max(1, window // 4) if overlap is None else int(overlap)
    if n_in >= window:
        raise ValueError(f"{n_in} input frames leave no room in a window of {window} frames")
    _check_room_for_overlap(window, n_in)
    if not 1 <= anchors <= window - n_in:
        raise ValueError(f"{arg('anchors')} must be between 1 and window - inputs = {window - n_in}, got {anchors}")
    if overlap < 1 or n_in + overlap >= window:
        raise ValueError(f"{arg('overlap')} must be between 1 and window - inputs - 1 = {window - n_in - 1} in 3d mode "
                         f"(context frames of each chunk besides the inputs), got {overlap}")
    chosen = _farthest_points(dist, inputs, min(anchors, num_frames - n_in))
    windows = [Window(order_along_path(inputs + tuple(chosen), dist, inputs), inputs, 0, "anchors")]
    known = set(inputs) | set(chosen)
    remaining = [f for f in range(num_frames) if f not in known]
    generated = sorted(chosen)
    per_chunk = window - n_in - min(overlap, len(generated))
    # each anchor's distance to each remaining frame (one call); float64 holds any float dtype's values exactly
    to_rest = dist.block(generated, remaining).detach().cpu().to(torch.float64).numpy()
    start = 0
    for group in _split_even(remaining, per_chunk):
        extra = window - n_in - len(group)  # context frames besides the inputs: >= overlap
        near = to_rest[:, start : start + len(group)].min(axis=1)  # each generated frame's distance to the chunk
        start += len(group)
        order = sorted(range(len(generated)), key=lambda k: (float(near[k]), generated[k]))
        ctx = [generated[k] for k in order[:extra]]
        windows.append(Window(order_along_path(group + ctx + list(inputs), dist, inputs), inputs + tuple(ctx), 1, "chunk"))
    return LongPathPlan("anchored", num_frames, window, inputs, tuple(windows))


def is_closed_path(dist: Tensor | Distances) -> bool:
    """Whether the path ``dist [N, N]`` (:func:`camera_distance`, frames in path order) closes on itself:
    its last camera is at most 2 median steps from its first (a 360-degree orbit: 1 step)."""
    dist = as_distances(dist)
    n = len(dist)
    if n < 4:
        return False
    median = float(dist.pairs(range(n - 1), range(1, n)).median())
    return median > 1e-9 and float(dist.pairs([n - 1], [0])[0]) <= 2.0 * median


def plan_progressive(dist: Tensor | Distances, inputs: Sequence[int], window: int, overlap: int | None = None,
                     closed: bool | None = None, fill: bool = True) -> LongPathPlan:
    """The default 3D plan (see the module docstring): windows grow the path outwards from the inputs.

    The unknown frames form runs between known ones (between two inputs; before the first and after
    the last input, joined into one run across the closure when the path is ``closed``, default
    :func:`is_closed_path`). Each stage, every run grows by one window from each known end, conditioned
    on the inputs and on the generated frames nearest to its new frames (the frame next to them along
    the path first, then by camera distance); a run known at both ends closes with one window that
    sees both ends. The first windows (stage 0) are conditioned on the inputs only: with one input at
    frame 0 the first window is exactly one ordinary window over frames ``0 .. window - 1``.

    Args:
        inputs: frames given as inputs (their images condition every window; ``inputs[0]`` is the
            reference camera and comes first in every window).
        window: frames per window.
        overlap: generated frames (at least, where that many exist) conditioning each later window
            (default ``max(1, window // 4)``).
        fill: give every window ``window`` frames (a window with fewer new frames takes more of the
            nearest generated frames as context); False: shorter windows instead.
    """
    dist = as_distances(dist)
    num_frames = len(dist)
    inputs = _check_inputs(inputs, num_frames, window)
    if num_frames <= window:
        return _single(num_frames, inputs, window)
    n_in = len(inputs)
    overlap = max(1, window // 4) if overlap is None else int(overlap)
    if n_in >= window:
        raise ValueError(f"{n_in} input frames leave no room in a window of {window} frames")
    _check_room_for_overlap(window, n_in)
    if overlap < 1 or n_in + overlap >= window:
        raise ValueError(f"{arg('overlap')} must be between 1 and window - inputs - 1 = {window - n_in - 1} in 3d mode "
                         f"(context frames of each window besides the inputs), got {overlap}")
    closed = is_closed_path(dist) if closed is None else bool(closed)
    ins = sorted(inputs)
    # runs of unknown frames in path order, with whether the frame before / after them is known
    runs: list[tuple[list[int], bool, bool]] = [(list(range(a + 1, b)), True, True) for a, b in zip(ins, ins[1:])
                                                if b - a > 1]
    head, tail = list(range(0, ins[0])), list(range(ins[-1] + 1, num_frames))
    if closed and head + tail:
        runs.append((tail + head, True, True))
    else:
        runs += [r for r in ((head, False, True), (tail, True, False)) if r[0]]

    def signed(f: int, ref: int) -> int:  # steps from ref to f along the path (around it when closed)
        d = f - ref
        return (d + num_frames // 2) % num_frames - num_frames // 2 if closed else d

    windows: list[Window] = []
    generated: set[int] = set()  # generated before the current stage
    pool = np.zeros(num_frames, dtype=bool)  # the same, as a mask of the frames

    def add(new: list[int], fronts: list[int], ref: int, direction: int, stage: int, ahead: bool = False) -> None:
        """A window of the ``new`` frames, conditioned on the inputs and generated frames nearest to them (``fronts``
        first), its frames ordered along the path from ``ref`` in ``direction``; ``ahead``: every frame is ahead of
        ``ref`` (a closed path's full first window from one side reaches past its middle, where the shorter way
        round is the other way)."""
        extra = window - n_in - len(new)  # room for generated context frames
        if not fill:
            extra = min(extra, max(overlap, len(set(fronts) & generated)))
        chosen = [f for f in dict.fromkeys(fronts) if f in generated][:extra]
        if len(chosen) < extra and generated:
            # the nearest by camera distance; ties: the lowest frame index first
            for f in dist.nearest(pool, new, extra):
                if len(chosen) >= extra:
                    break
                if f not in chosen:
                    chosen.append(f)
        def along(f: int) -> int:  # steps from ref in direction (ahead: 0 .. num_frames - 1)
            return (direction * (f - ref)) % num_frames if ahead else direction * signed(f, ref)

        others = sorted(list(inputs[1:]) + chosen + new, key=lambda f: (along(f), f))
        windows.append(Window((inputs[0], *others), inputs + tuple(chosen), stage, "chunk"))

    # How many new frames each window takes: the fewest stages, then the fewest windows, then windows as
    # evenly full as possible (sum of squared missing new frames; ties: the larger window first).
    # Tables of that cost for the later stages (``overlap`` generated contexts), by frames left.
    later_cap = window - n_in - overlap
    later_close = max(1, window - n_in - max(overlap, 2))  # a closing window sees both ends
    most = max((len(f) for f, _, _ in runs), default=0)
    inf = (10**9, 10**9, 10**9)
    one_cost, two_cost = [(0, 0, 0)] + [inf] * most, [(0, 0, 0)] + [inf] * most

    def one_choice(g: int, cap: int) -> tuple[tuple[int, int, int], int]:  # a run known at one end
        if g <= cap:
            return (1, 1, (cap - g) ** 2), g
        cost, k = min(((1 + c[0], 1 + c[1], (cap - k) ** 2 + c[2]), -k) for k in range(1, cap + 1)
                      for c in [one_cost[g - k]])
        return cost, -k

    def two_choice(g: int, cap: int, close: int) -> tuple[tuple[int, int, int], int]:  # known at both ends; 0: close
        if g <= close:
            return (1, 1, (close - g) ** 2), 0
        options = [((1 + c[0], 2 + c[1], 2 * (cap - k) ** 2 + c[2]), -k)
                   for k in range(1, min(cap, (g - 1) // 2) + 1) for c in [two_cost[g - 2 * k]]]
        if not options:  # degenerate (tiny windows): one frame from the left end
            return (g, g, 0), -1
        cost, k = min(options)
        return cost, -k

    for g in range(1, most + 1):
        one_cost[g] = one_choice(g, later_cap)[0]
        two_cost[g] = two_choice(g, later_cap, later_close)[0]

    # Stage 0 has no generated frames to fill a window with fewer new frames than ``cap``: such a window is shorter
    # than the model's (outside the frame counts it was trained on). Where the choice above makes stage-0 windows
    # of k < cap new frames, a full first window is taken instead if it needs no more stages (then: no more windows).
    def first_full_one(g: int, cap: int, k: int) -> bool:  # a run known at one end: cap frames, not k
        chosen, full = one_cost[g - k], one_cost[g - cap]
        return (full[0], full[1]) <= (chosen[0], chosen[1])

    def first_full_two(g: int, cap: int, k: int) -> bool:  # known at both ends: cap frames from one end, not k from each
        chosen, full = two_cost[g - 2 * k], two_cost[g - cap]
        return full[0] <= chosen[0] and full[1] + 1 <= chosen[1] + 2

    # each run's [frames, lo, hi, left, right] (lo / hi move inwards as its frames are made)
    state: list[list[Any]] = [[frames, 0, len(frames), left, right] for frames, left, right in runs]
    stage = 0
    while any(lo < hi for _, lo, hi, _, _ in state):
        made: list[int] = []
        avail = min(overlap, len(generated))
        cap = window - n_in - avail
        for st in state:
            frames, lo, hi, left, right = st
            if lo >= hi:
                continue
            prev = frames[lo - 1] if lo > 0 else (frames[0] - 1) % num_frames  # known frame before the run's rest
            nxt = frames[hi] if hi < len(frames) else (frames[-1] + 1) % num_frames  # known frame after it
            g = hi - lo
            if left and right:
                need = min(max(avail, sum(f in generated for f in (prev, nxt))), len(generated), window - n_in - 1)
                k = two_choice(g, cap, window - n_in - need)[1]
                if not generated and 0 < k < cap and g > cap and first_full_two(g, cap, k):
                    k = -cap  # one full window from the run's first end only (see first_full_two)
                if k == 0:  # close the run with one window that sees both ends
                    add(frames[lo:hi], [prev, nxt], prev, 1, stage)
                    made += frames[lo:hi]
                    st[1] = hi
                elif k < 0:  # -k frames from the left end only (one: the degenerate case of tiny windows)
                    add(frames[lo:lo - k], [prev], prev, 1, stage, ahead=closed and not generated and -k == cap)
                    made += frames[lo:lo - k]
                    st[1] = lo - k
                else:
                    add(frames[lo:lo + k], [prev], prev, 1, stage)
                    add(frames[hi - k:hi], [nxt], nxt, -1, stage)
                    made += frames[lo:lo + k] + frames[hi - k:hi]
                    st[1], st[2] = lo + k, hi - k
            else:
                k = one_choice(g, cap)[1]
                if not generated and k < cap < g and first_full_one(g, cap, k):
                    k = cap  # a full first window (see first_full_one)
                if left:
                    add(frames[lo:lo + k], [prev], prev, 1, stage)
                    made += frames[lo:lo + k]
                    st[1] = lo + k
                else:
                    add(frames[hi - k:hi], [nxt], nxt, -1, stage)
                    made += frames[hi - k:hi]
                    st[2] = hi - k
        generated.update(made)
        pool[made] = True
        stage += 1
    return LongPathPlan("progressive", num_frames, window, inputs, tuple(windows))


def plan_independent(num_frames: int, inputs: Sequence[int], window: int,
                     dist: Tensor | Distances | None = None) -> LongPathPlan:
    """The naive way (a baseline): consecutive runs of ``window - inputs`` new frames, each window
    conditioned on the inputs only, all independent (one stage). With ``dist`` (3D) each window is
    ordered by :func:`order_along_path` (as the anchored plan's); without, in frame order (4D / video)."""
    inputs = _check_inputs(inputs, num_frames, window)
    if num_frames <= window:
        return _single(num_frames, inputs, window)
    if len(inputs) >= window:
        raise ValueError(f"{len(inputs)} input frames leave no room in a window of {window} frames")
    rest = [f for f in range(num_frames) if f not in inputs]
    step = window - len(inputs)
    def order(frames: list[int]) -> tuple[int, ...]:
        return tuple(sorted(frames)) if dist is None else order_along_path(frames, dist, inputs)

    windows = [Window(order(list(inputs) + rest[s : s + step]), inputs, 0, "independent")
               for s in range(0, len(rest), step)]
    return LongPathPlan("independent", num_frames, window, inputs, tuple(windows))
