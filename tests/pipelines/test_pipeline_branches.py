"""What the sampling loop hands the UNet, checked fast: a stand-in UNet records every call (the guidance branches
in the batch, their rays, motion strengths, time ids and mode indicator) and answers a value that says which
branch it saw, so the guidance arithmetic is checked exactly. The context views are given as latents and the
output kept as latents: no VAE, and one model load for the file (test_pipeline.py runs the real UNet, minutes)."""

from __future__ import annotations

import copy

import pytest
import torch
from diffusers.configuration_utils import FrozenDict
from scipy.spatial.transform import Rotation

from genxd.pipelines import GenXDPipeline
from genxd.pipelines.conditioning import build_conditions, camera_rays, mode_to_indicator


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


def _cameras(n: int, seed: int) -> torch.Tensor:
    """``n`` distinct rigid cameras (random rotations, positions in a unit cube)."""
    g = torch.Generator().manual_seed(seed)
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, :3, :3] = torch.as_tensor(Rotation.random(n, random_state=seed).as_matrix(), dtype=torch.float32)
    c2w[:, :3, 3] = torch.rand(n, 3, generator=g) * 2 - 1
    return c2w


def _kwargs(frames=4, views=2, steps=2, **extra):
    g = torch.Generator().manual_seed(1)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.2, 0.45], [0, 0, 1]]).repeat(1, frames, 1, 1)
    return dict(context_images=None, context_latents=torch.randn(1, views, 4, 8, 8, generator=g), target_c2w=_cameras(frames, 2)[None],
                target_K=K, context_index=torch.tensor([[0, frames - 1]])[:, :views], num_inference_steps=steps,
                output_type="latent", latents=torch.randn(1, frames, 4, 8, 8, generator=g), **extra)


class Recorder:
    """Stands in for ``pipe.unet.forward``: keeps each call's inputs; answers, per sample of the batch,
    ``motion + 10 * (rays present) + 100 * (context latents present)`` in every element."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, sample, timestep, added_time_ids=None, indicator=None, motion_ids=None, return_dict=False):
        self.calls.append(dict(sample=sample.clone(), timestep=torch.as_tensor(timestep).clone(), added_time_ids=added_time_ids.clone(), indicator=indicator,
                               motion_ids=None if motion_ids is None else motion_ids.clone()))
        rays = sample[:, :, 8:14].flatten(1).abs().amax(1) > 0
        motion = torch.zeros(sample.shape[0]) if motion_ids is None else motion_ids.float()
        value = motion + 10 * rays.float()
        return (value[:, None, None, None, None].expand(-1, sample.shape[1], 4, *sample.shape[-2:]).clone(),)


@pytest.fixture
def unet(pipe, monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(pipe.unet, "forward", rec)
    return rec


@pytest.fixture
def step_inputs(pipe, monkeypatch):
    seen = []
    real = pipe.scheduler.step
    monkeypatch.setattr(pipe.scheduler, "step", lambda out, *a, **k: (seen.append(out.clone()), real(out, *a, **k))[1])
    return seen


@pytest.mark.parametrize("scale, branches", [(1.0, 1), (1.0 + 1e-6, 2), (3.0, 2)])
def test_guidance_is_off_at_scale_1_and_on_above_it(pipe, unet, scale, branches):
    """``guidance_scale`` 1 is one conditional pass a step (``uncond + 1 (cond - uncond)`` is the conditional
    prediction: a second pass would be wasted); anything above 1 adds the unconditional branch, first."""
    pipe(**_kwargs(steps=2), guidance_scale=scale, motion_strength=4.0, mode="4d")
    assert [c["sample"].shape[0] for c in unet.calls] == [branches] * 2
    rays = [bool(c["sample"][i, :, 8:14].abs().amax() > 0) for c in unet.calls for i in range(branches)]
    assert rays == ([False, True] if branches == 2 else [True]) * 2


def test_rays_are_relative_to_the_first_context_camera(pipe, unet):
    """With ``context_c2w`` given, the rays are the target cameras relative to the FIRST context view's camera
    (the authors' reference view), not another context view's."""
    kwargs = _kwargs(frames=4, views=2, steps=1)
    context_c2w = _cameras(2, 7)[None]
    pipe(**kwargs, context_c2w=context_c2w, guidance_scale=1.0, mode="3d")
    rays = unet.calls[0]["sample"][:, :, 8:14]
    expected = camera_rays(kwargs["target_c2w"], kwargs["target_K"], context_c2w[:, 0], 8, 8)
    other = camera_rays(kwargs["target_c2w"], kwargs["target_K"], context_c2w[:, -1], 8, 8)
    assert (expected - other).abs().max() > 0.1  # the two references give different rays
    torch.testing.assert_close(rays, expected, atol=1e-5, rtol=0)  # the same function: float32 round-off


def test_without_context_cameras_the_first_context_frame_is_the_reference(pipe, unet):
    kwargs = _kwargs(frames=4, views=2, steps=1)
    kwargs["context_index"] = torch.tensor([[2, 0]])
    pipe(**kwargs, guidance_scale=1.0, mode="3d")
    expected = camera_rays(kwargs["target_c2w"], kwargs["target_K"], kwargs["target_c2w"][:, 2], 8, 8)
    torch.testing.assert_close(unet.calls[0]["sample"][:, :, 8:14], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["3d", "video", "4d"])
def test_the_unet_is_told_the_mode(pipe, unet, mode):
    pipe(**_kwargs(steps=1), guidance_scale=2.0, mode=mode)
    assert [c["indicator"] for c in unet.calls] == [mode_to_indicator(mode)]
    ids = unet.calls[0]["added_time_ids"]  # [uncond, cond]: zeros, then 0 / (1 except in video mode)
    assert ids[0].abs().max() == 0
    assert torch.equal(ids[1, :, 1], torch.full_like(ids[1, :, 1], float(mode != "video")))


@pytest.mark.parametrize("sequential", [False, True])
def test_motion_guidance_branch_drops_only_the_motion_strength(pipe, unet, step_inputs, sequential):
    """``motion_guidance_scale`` w: a third branch, the conditional one with motion strength 0; the prediction
    ``uncond + g (cond - uncond) + w (cond - cond at strength 0)``, in one UNet call or one per branch."""
    pipe.sequential_guidance = sequential
    try:
        pipe(**_kwargs(steps=2), guidance_scale=2.0, motion_strength=6.0, motion_guidance_scale=1.5, mode="4d")
    finally:
        pipe.sequential_guidance = False
    per_step = 3 if sequential else 1
    assert len(unet.calls) == 2 * per_step
    calls = unet.calls[:per_step]
    sample = torch.cat([c["sample"] for c in calls])
    motion = torch.cat([c["motion_ids"] for c in calls])
    ids = torch.cat([c["added_time_ids"] for c in calls])
    assert motion.tolist() == [0.0, 6.0, 0.0]
    # the third branch is the conditional one but the motion: same rays, context latents, mask and time ids
    torch.testing.assert_close(sample[2, :, 4:], sample[1, :, 4:], atol=0, rtol=0)
    torch.testing.assert_close(ids[2], ids[1], atol=0, rtol=0)
    expected = 0 + 2.0 * ((6 + 10) - 0) + 1.5 * ((6 + 10) - 10)
    assert len(step_inputs) == 2
    for out in step_inputs:
        torch.testing.assert_close(out, torch.full_like(out, expected))


def test_guidance_arithmetic_without_motion_guidance(pipe, unet, step_inputs):
    pipe(**_kwargs(steps=1), guidance_scale=3.0, motion_strength=5.0, mode="4d")
    assert [c["motion_ids"].tolist() for c in unet.calls] == [[0.0, 5.0]]
    expected = 0 + 3.0 * ((5 + 10) - 0)
    torch.testing.assert_close(step_inputs[0], torch.full_like(step_inputs[0], expected))


def test_the_context_frames_come_out_as_the_context_latents(pipe, unet):
    kwargs = _kwargs(frames=5, views=2, steps=2)
    kwargs["context_index"] = torch.tensor([[3, 1]])
    out = pipe(**kwargs, guidance_scale=1.0, mode="3d").latents
    torch.testing.assert_close(out[0, [3, 1]], kwargs["context_latents"][0], atol=0, rtol=0)
    # and the UNet saw them in place of the noise at those frames, the mask 1 there and 0 elsewhere
    s = unet.calls[0]["sample"][0]
    torch.testing.assert_close(s[[3, 1], :4], kwargs["context_latents"][0], atol=0, rtol=0)
    assert s[:, 14].amax(dim=(-1, -2)).tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert s[:, 4:8].abs().max() == 0  # the image-latent channels are zeros, as in the released sampling


def test_conditions_are_the_ones_build_conditions_makes(pipe, unet):
    """The batch of two samples: each sample's conditional rays are its own (no mixing across the batch); a 1-D
    ``context_index`` is every sample's."""
    k1, k2 = _kwargs(steps=1), _kwargs(steps=1)
    k2["target_c2w"] = _cameras(4, 11)[None]
    kwargs = {**k1, "target_c2w": torch.cat([k1["target_c2w"], k2["target_c2w"]]),
              "target_K": torch.cat([k1["target_K"]] * 2), "context_index": k1["context_index"][0],  # 1-D: for all
              "context_latents": torch.cat([k1["context_latents"]] * 2), "latents": torch.cat([k1["latents"]] * 2)}
    pipe(**kwargs, guidance_scale=2.0, motion_strength=[1.0, 7.0], mode="4d")
    index = torch.cat([k1["context_index"]] * 2)
    c = build_conditions(kwargs["context_latents"], index, kwargs["target_c2w"], kwargs["target_K"],
                         torch.tensor([2, 2]), torch.tensor([1.0, 7.0]), num_added_time_ids=2)
    s = unet.calls[0]["sample"]
    assert s.shape[0] == 4  # [uncond x 2, cond x 2]
    torch.testing.assert_close(s[2:, :, 8:14], c.rays, atol=1e-5, rtol=0)
    assert unet.calls[0]["motion_ids"].tolist() == [0.0, 0.0, 1.0, 7.0]


@pytest.mark.parametrize("sequential", [False, True])
def test_the_first_unet_input_is_the_given_noise_at_the_schedulers_scale(pipe, unet, sequential):
    """The caller's ``latents`` are unit noise: scaled by the scheduler's ``init_noise_sigma`` before the first
    step, then by its model-input scaling; each guidance branch sees the same noisy frames."""
    kwargs = _kwargs(frames=4, views=1, steps=3)
    sched = copy.deepcopy(pipe.scheduler)
    sched.set_timesteps(3)
    expected = sched.scale_model_input(kwargs["latents"] * sched.init_noise_sigma, sched.timesteps[0])
    pipe.sequential_guidance = sequential
    try:
        pipe(**kwargs, guidance_scale=2.0, mode="3d")
    finally:
        pipe.sequential_guidance = False
    first = torch.cat([c["sample"] for c in unet.calls[: 2 if sequential else 1]])
    assert first.shape[0] == 2
    for branch in first:  # frame 0 is the context view
        torch.testing.assert_close(branch[1:, :4], expected[0, 1:], atol=1e-5, rtol=1e-6)  # float32 round-off


def test_motion_guidance_at_guidance_scale_1(pipe, unet, step_inputs):
    """Motion guidance without classifier-free guidance: two branches, [conditional, motion strength 0], and the
    prediction ``cond + w (cond - cond at strength 0)``."""
    pipe(**_kwargs(steps=1), guidance_scale=1.0, motion_strength=6.0, motion_guidance_scale=1.5, mode="video")
    assert [c["motion_ids"].tolist() for c in unet.calls] == [[6.0, 0.0]]
    expected = 6.0 + 1.5 * (6.0 - 0.0)  # video mode: no rays
    torch.testing.assert_close(step_inputs[0], torch.full_like(step_inputs[0], expected))


def test_a_model_without_ray_conditioning_gets_no_ray_channels(pipe, unet, monkeypatch):
    """``ray_condition: false`` in the UNet's config: its input is the latents, the 4 image-latent channels and
    the mask (9 channels), no rays."""
    config = dict(pipe.unet.config, ray_condition=False, in_channels=9)
    monkeypatch.setattr(pipe.unet, "_internal_dict", FrozenDict(config))
    kwargs = _kwargs(steps=1)
    pipe(**kwargs, guidance_scale=1.0, mode="3d")
    s = unet.calls[0]["sample"]
    assert s.shape[2] == 9
    assert s[0, :, 8].amax(dim=(-1, -2)).tolist() == [1.0, 0.0, 0.0, 1.0]  # the mask, last


def test_cameras_for_one_sample_are_every_samples(pipe, unet):
    """``target_c2w [F, 4, 4]`` / ``target_K [F, 3, 3]`` with a batch of context views: the same path for all."""
    kwargs = _kwargs(steps=1)
    kwargs.update(target_c2w=kwargs["target_c2w"][0], target_K=kwargs["target_K"][0], context_index=[0, 3],
                  context_latents=torch.cat([kwargs["context_latents"]] * 2), latents=torch.cat([kwargs["latents"]] * 2))
    out = pipe(**kwargs, guidance_scale=1.0, mode="3d")
    rays = unet.calls[0]["sample"][:, :, 8:14]
    assert rays.shape[0] == 2 and out.c2w.shape == (2, 4, 4, 4)
    torch.testing.assert_close(rays[1], rays[0], atol=0, rtol=0)


@pytest.mark.parametrize("name", ["euler", "unipc"])
def test_the_unet_gets_a_quarter_log_sigma_as_its_timestep(pipe, unet, name):
    """The released UNet was trained with ``0.25 ln sigma`` as its timestep (EDM): for schedulers whose
    ``timesteps`` are integer training steps (UniPC here), the pipeline converts them."""
    pipe.set_scheduler(name)
    try:
        pipe(**_kwargs(steps=3), guidance_scale=1.0, mode="3d")
        sigmas = pipe.scheduler.sigmas[:3]
    finally:
        pipe.set_scheduler("euler")
    seen = torch.stack([c["timestep"].reshape(-1)[0].float() for c in unet.calls])
    torch.testing.assert_close(seen, 0.25 * sigmas.float().log(), atol=1e-5, rtol=1e-5)  # float32 round-off
