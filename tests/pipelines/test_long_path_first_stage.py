"""The progressive 3D plan's first stage (:func:`genxd.pipelines.long_path_plans.plan_progressive`): its windows have
no generated frames to fill them, so one with fewer new frames than the window holds is shorter than the model's
window, outside the frame counts it was trained on. The stage sizes were chosen for the fewest stages, then windows,
then evenly full windows, stage 0 included: a 9-frame orbit in windows of 8 was made in two windows of 4 frames and
one of 8, and every open path of 9-13 frames began with a short window. Now a full first window is taken where a
shorter one saved no stage (then no window either)."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import orbit, trajectories
from genxd.pipelines import long_path_state
from genxd.pipelines.long_path_distance import CameraDistances
from genxd.pipelines.long_path_plans import LongPathPlan, Window, plan_progressive
from genxd.pipelines.long_path_state import PartialRuns, Scene

from .test_long_path_state import _state_of


def _open_path(n: int):
    return trajectories.orbit(num_frames=n, azimuth_range=(0, 60))


@pytest.mark.parametrize("n", range(9, 14))
def test_a_short_orbit_starts_with_one_ordinary_window(n):
    """9-13 frames of a closed orbit in windows of 8: one full window from the input (frames 0-7 in path order,
    conditioned on the input alone: the same window as --frames 8), then one that closes the orbit (was: two short
    windows, one each way, and a closing one: 3 windows, 2 of them outside the trained frame counts)."""
    plan = plan_progressive(CameraDistances(*orbit(num_frames=n)), [0], 8)
    assert [len(w.frames) for w in plan.windows] == [8, 8]
    assert plan.windows[0] == Window(tuple(range(8)), (0,), 0, "chunk")
    assert set(plan.windows[1].targets) == set(range(8, n)) and plan.windows[1].stage == 1


@pytest.mark.parametrize("window", [6, 8, 12])
def test_no_open_path_has_a_short_window(window):
    """One input at the start of an open path of up to 128 frames: every window holds ``window`` frames (the first
    was shorter for 6 of 120 lengths with window 8, 21 of 116 with window 12)."""
    for n in range(window + 1, 129):
        plan = plan_progressive(CameraDistances(*_open_path(n)), [0], window)
        assert all(len(w.frames) == window for w in plan.windows), (n, [len(w.frames) for w in plan.windows])
        assert plan.windows[0].frames == tuple(range(window))


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("inputs", [[0], [0, 5], [0, 1, 20]])
def test_every_frame_is_made_once_from_frames_known_before(closed, inputs):
    for n in range(21, 70):
        c2w, K = orbit(num_frames=n) if closed else _open_path(n)
        plan = plan_progressive(CameraDistances(c2w, K), inputs, 8)
        known, made = set(inputs), []
        for stage in range(max(w.stage for w in plan.windows) + 1):
            windows = [w for w in plan.windows if w.stage == stage]
            assert all(set(w.context) <= known and len(w.frames) <= 8 and w.frames[0] == inputs[0] for w in windows)
            made += [f for w in windows for f in w.targets]
            known |= {f for w in windows for f in w.targets}
        assert sorted(made) == sorted(set(range(n)) - set(inputs)), n


def test_a_state_of_planner_3_whose_plan_changed_is_refused_naming_the_change(tmp_path):
    """A kept long-path state of a 9-frame orbit that planner 3 made (windows of 4, 4 and 8 frames) cannot continue
    with today's plan (8 and 8): refused, naming the planners and the date of the change."""
    settings = {"window": 8, "overlap": 2, "anchors": 0, "strategy": "auto"}
    scene = Scene("scene", torch.zeros(3, 8, 8), 0)
    windows = [((0, 1, 2, 3), (0,), 0), ((0, 8, 7, 6), (0,), 0),
               ((0, 1, 2, 3, 4, 5, 6, 7), (0, 3, 6, 2, 7, 1), 1)]
    old = LongPathPlan("progressive", 9, 8, (0,), tuple(Window(f, c, k, "chunk") for f, c, k in windows),
                       settings=settings)
    now = LongPathPlan("progressive", 9, 8, (0,), plan_progressive(CameraDistances(*orbit(num_frames=9)), [0],
                                                                     8).windows, settings=settings)
    assert old != now
    _state_of(tmp_path, old, 3, scene)
    ready, refused = PartialRuns(tmp_path, now, {"steps": 2}).check({0: scene}, 1)
    assert long_path_state.PLANNER == 4 and ready == []
    assert "(since 2026-12-07: planner 4, the state's 3)" in str(refused[0]), refused
