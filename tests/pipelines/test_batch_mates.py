"""A scene's frames depend on its seed, not on the scenes sampled beside it: bitwise, for a batch of one size.

(Between batch sizes, torch's CPU kernels round a little differently: docs/cli.md, "Same seed, same scene".)"""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import orbit


@pytest.fixture(scope="module")
def loaded():
    from genxd.checkpoints import load_model

    return load_model(progress=False)  # the bundled model on the CPU path, as genxd generate runs it


@pytest.mark.parametrize("scheduler, mode", [("euler", "3d"), ("dpmpp-2m-sde", "4d")])
def test_a_scene_is_bitwise_the_same_whatever_its_batch_mates_and_place(loaded, scheduler, mode):
    """genxd generate --batch-size 2 samples inputs two at a time, each with ``torch.Generator(seed + i)``: the
    scene of seed 5 first beside one scene equals it last beside another (noise, stochastic steps, guidance)."""
    from genxd.checkpoints import configure_sampling

    pipe = loaded.pipe
    configure_sampling(pipe, scheduler)
    pipe.set_progress_bar_config(disable=True)
    images = torch.rand(3, 1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    c2w, K = orbit(num_frames=2, azimuth_range=(0, 30), focal=1.1)

    def sample(rows: list[int], seeds: list[int]) -> torch.Tensor:
        return pipe(context_images=images[rows], target_c2w=c2w.float(), target_K=K.float(), context_index=[0],
                    mode=mode, motion_strength=0.0 if mode == "3d" else 4.0, num_inference_steps=2,
                    guidance_scale=2.0, generator=[torch.Generator().manual_seed(s) for s in seeds],
                    output_type="latent").latents

    first = sample([0, 1], [5, 6])
    last = sample([2, 0], [7, 5])
    assert torch.equal(first[0], last[1])
    assert (first[0] - last[0]).abs().max() > 0.1  # another image and seed: another scene
