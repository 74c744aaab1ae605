"""The bundled small model (``src/genxd/assets/genxd-small``) does its job on a CPU: a new view of a
held-out synthetic scene that is closer to the ground truth than repeating the input view."""

from __future__ import annotations

import pytest
import torch

from genxd.api import default_model_path


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_bundled_model_beats_the_repeat_input_baseline_on_a_held_out_scene():
    from genxd.evaluation import HELD_OUT_SEED, evaluate

    threads = torch.get_num_threads()
    try:
        # scene 0 of the held-out set (seed 7; training used seeds 0-4), one context view, the bundled
        # generation settings (25 steps), float32 on the CPU
        report = evaluate(None, num_scenes=1, device="cpu", seed=HELD_OUT_SEED, progress=False, modes=("3d-1view",))
    finally:
        torch.set_num_threads(threads)
    r = report["3d-1view"]
    assert r["psnr"] > r["baseline_psnr"], r
    assert r["camera_following_db"] > 0, r  # the frames follow the asked camera path, not its reverse
