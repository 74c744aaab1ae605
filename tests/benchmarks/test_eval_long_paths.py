"""CPU checks of ``benchmarks/eval_long_paths.py`` and its scenes (``benchmarks/long_path_scenes.py``); the runs are
recorded in docs/long_paths_results.md."""

from __future__ import annotations

import argparse

import pytest
import torch

from ..helpers import load_script


def test_object_times_once_or_back_and_forth():
    probe = load_script("benchmarks/long_path_scenes.py")
    assert torch.allclose(probe.object_times(5), torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    t = probe.object_times(16, 7)  # 0 -> 1 in 7 frames (an 8-frame clip's speed), then back
    assert torch.allclose(t[:8], torch.linspace(0, 1, 8)) and torch.allclose(t[7:15], torch.linspace(1, 0, 8))
    assert float(t[15]) == pytest.approx(1 / 7)


def test_motion_strength_argument():
    probe = load_script("benchmarks/eval_long_paths.py")
    assert probe._motion_arg("truth") == "truth" and probe._motion_arg("8") == 8.0
    with pytest.raises(argparse.ArgumentTypeError, match="a number or 'truth'"):
        probe._motion_arg("fast")


def test_long_scene_states_its_own_motion_strength():
    """Objects crossing their path once over a long scene move slower (a smaller true strength) than objects
    going back and forth at a training clip's speed."""
    probe = load_script("benchmarks/long_path_scenes.py")
    once = probe.long_scene("4d", 0, 14, 32, "static")
    cycled = probe.long_scene("4d", 0, 14, 32, "static", time_cycle=7)
    assert 0 < once["truth_motion_strength"] < cycled["truth_motion_strength"]
    assert "truth_motion_strength" not in probe.long_scene("3d", 0, 4, 32, "static")


def test_the_benchmark_samples_long_paths_as_genxd_generate_does():
    """The benchmark drew each scene's noise itself and sampled without the per-window seeds that
    ``generate_long`` (``genxd generate``) gives a stochastic sampler, so with ``dpmpp-2m-sde`` its frames came from
    torch's global generator, not what users get with ``--seed``; it now samples through ``generate_long`` with the
    scene's seed (bundled model, 12 frames, 2 steps)."""
    from genxd.pipelines.long_paths import generate_long

    probe = load_script("benchmarks/eval_long_paths.py")
    r = probe.Runner(2, 2.0, torch.get_num_threads(), scheduler="dpmpp-2m-sde")
    assert "sde" in r.pipe.scheduler.config.algorithm_type  # a stochastic sampler, as generate --scheduler sets it
    torch.manual_seed(1)  # the global generator decides nothing
    res, frames = probe.task_3d(r, 0, 12, methods=("long",))
    s = probe.long_scene("3d", 0, 12, r.res)
    plan = probe._plan_3d("long", r, s, 12)
    assert len(plan.windows) > 1
    torch.manual_seed(2)
    expected = generate_long(r.pipe, s["frames"][[0]][None], s["c2w"], s["K"], plan, num_inference_steps=2,
                             guidance_scale=2.0, generator=[torch.Generator().manual_seed(0)]).frames[0]
    assert torch.equal(frames["long"], expected)
    assert res["long"]["sampling_calls"] >= 1
