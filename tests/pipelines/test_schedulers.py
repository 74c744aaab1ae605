"""``--scheduler``: every sampler runs on the checkpoint's schedule, keeps the conditions, and the UNet sees
``0.25 ln sigma`` whatever the class's own timesteps are."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

from genxd.pipelines import GenXDPipeline
from genxd.pipelines.schedulers import SCHEDULERS, make_scheduler, model_calls, scheduler_name


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


def _kwargs(cases, steps=2):
    p = "pipe.fewshot3d."
    return dict(context_images=cases[p + "context_image"], target_c2w=cases[p + "target_c2w"],
                target_K=cases[p + "target_K"], context_index=cases[p + "context_index"],
                context_c2w=cases[p + "context_c2w"], mode="3d", guidance_scale=2.0, num_inference_steps=steps,
                latents=cases[p + "latents_in"], generator=torch.Generator().manual_seed(0), output_type="latent")


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_each_scheduler_runs_two_steps_and_keeps_the_conditions(pipe, reference_cases, name):
    kwargs = _kwargs(reference_cases)
    ctx_lat = pipe.encode_images(kwargs["context_images"])[0]  # V 4 h w
    idx = kwargs["context_index"][0]
    seen = []

    def hook(module, args):
        sample, t = args[0], args[1]
        seen.append((sample[:, idx, :4].clone(), float(t)))

    pipe.set_scheduler(name)
    handle = pipe.unet.register_forward_pre_hook(hook)
    try:
        out = pipe(**kwargs)
    finally:
        handle.remove()
        pipe.set_scheduler("euler")
    assert scheduler_name(pipe.scheduler) == "euler"
    assert len(seen) == model_calls(name, 2)
    # at every call the UNet sees the clean context latents at the context frames (conditional branch, the
    # second half of the guided batch) and zeros there in the unconditional branch (the authors' negative)
    for sample, _ in seen:
        assert sample.shape[0] == 2
        torch.testing.assert_close(sample[1], ctx_lat, atol=0, rtol=0)
        assert not sample[0].any()
    # first call at sigma_max = 700: c_noise = 0.25 ln 700 (not a clamped training step such as 999)
    assert seen[0][1] == pytest.approx(0.25 * math.log(700.0), abs=1e-5)
    assert all(-2.0 < t < 1.7 for _, t in seen)
    assert torch.isfinite(out.latents).all()
    torch.testing.assert_close(out.latents[0, idx], ctx_lat, atol=0, rtol=0)


def test_euler_by_name_is_the_checkpoint_scheduler_bitwise(pipe, reference_cases):
    kwargs = _kwargs(reference_cases, steps=3)
    default = pipe(**kwargs).latents
    pipe.scheduler = make_scheduler("euler", pipe._base_scheduler_config)
    assert isinstance(pipe.scheduler, EulerDiscreteScheduler)
    assert torch.equal(pipe(**{**kwargs, "generator": torch.Generator().manual_seed(0)}).latents, default)


def test_sigma_timestep_mapping_matches_the_native_edm_solver(pipe, reference_cases):
    """diffusers' variance-preserving DPM-Solver++ (training-step timesteps, mapped by the pipeline) and its
    EDM twin are one algorithm: same latents up to float32 round-off (measured: 3.6e-4 on latents of
    magnitude ~4; a wrong timestep or input scaling gives differences of order 1)."""
    kwargs = _kwargs(reference_cases, steps=4)
    pipe.set_scheduler("dpmpp-2m")
    edm = pipe(**kwargs).latents
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        {**pipe._base_scheduler_config, "use_karras_sigmas": True, "algorithm_type": "dpmsolver++", "solver_order": 2})
    try:
        vp = pipe(**{**kwargs, "generator": torch.Generator().manual_seed(0)}).latents
    finally:
        pipe.set_scheduler("euler")
    assert (vp - edm).abs().max().item() < 2e-3


def test_stochastic_scheduler_follows_the_generator(pipe, reference_cases):
    pipe.set_scheduler("dpmpp-2m-sde")
    try:
        a = pipe(**_kwargs(reference_cases, steps=3)).latents
        b = pipe(**_kwargs(reference_cases, steps=3)).latents
        c = pipe(**{**_kwargs(reference_cases, steps=3), "generator": torch.Generator().manual_seed(1)}).latents
    finally:
        pipe.set_scheduler("euler")
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


def test_unknown_scheduler_and_unsuitable_checkpoint_config(pipe):
    with pytest.raises(ValueError, match="scheduler must be one of"):
        pipe.set_scheduler("ddim")
    with pytest.raises(ValueError, match="Karras"):
        make_scheduler("dpmpp-2m", {"_class_name": "EulerDiscreteScheduler", "prediction_type": "v_prediction"})


def test_samplers_solve_the_probability_flow_ode_of_gaussian_data(reference_small, reference_cases):
    """With data ~ N(0, s^2) the denoiser is D(x, sigma) = s^2 / (s^2 + sigma^2) x and the probability-flow ODE
    has the closed-form end point x_T * s / sqrt(s^2 + sigma_max^2). A stand-in UNet returns the exact v for
    that denoiser from its input (c_in x) and timestep (0.25 ln sigma), so every sampler's input scaling,
    timestep mapping and update are checked against the exact solution: Euler equals the Euler product of
    the ODE on the checkpoint's Karras sigmas (16% short of the end point at 25 steps), the higher-order
    samplers land closer (measured at 25 steps: heun 6.0%, dpmpp-2m 6.7%, dpmpp-3m 2.4%, unipc 5.4%)."""
    pipe = GenXDPipeline.from_pretrained(reference_small)
    pipe.set_progress_bar_config(disable=True)
    s = 0.5

    def exact_v(sample, timestep, **kwargs):
        sigma = torch.exp(4 * timestep.float())
        x = sample[:, :, :4] * torch.sqrt(sigma**2 + 1)
        d = s**2 / (s**2 + sigma**2) * x
        return ((d - x / (sigma**2 + 1)) / (-sigma / torch.sqrt(sigma**2 + 1)),)

    pipe.unet.forward = exact_v
    kwargs = _kwargs(reference_cases, steps=25)
    kwargs["context_index"] = kwargs["context_index"][:, :1]
    kwargs["context_images"] = kwargs["context_images"][:, :1]
    kwargs.pop("context_c2w")
    noise = kwargs["latents"]
    exact = noise * math.sqrt(700.0**2 + 1) * s / math.sqrt(s**2 + 700.0**2)
    keep = [i for i in range(noise.shape[1]) if i != int(kwargs["context_index"][0, 0])]

    def rel_error(name):
        pipe.set_scheduler(name)
        out = pipe(**{**kwargs, "generator": torch.Generator().manual_seed(0)}).latents
        return ((out - exact)[:, keep].abs().max() / exact[:, keep].abs().max()).item()

    sig = make_scheduler("euler", pipe._base_scheduler_config)
    sig.set_timesteps(25)
    factor = 1.0
    for a, b in zip(sig.sigmas[:-1].double().tolist(), sig.sigmas[1:].double().tolist()):
        factor *= 1 + (b - a) * a / (s * s + a * a)
    euler_error = abs(factor / (s / math.sqrt(s * s + 700.0**2)) - 1)
    try:
        assert rel_error("euler") == pytest.approx(euler_error, abs=1e-3)
        for name in ("heun", "dpmpp-2m", "dpmpp-3m", "unipc"):
            assert rel_error(name) < 0.5 * euler_error, name
    finally:
        pipe.set_scheduler("euler")


@pytest.mark.parametrize("make, expected", [
    (lambda base: DDIMScheduler(prediction_type="v_prediction"), "DDIMScheduler cannot sample GenXD: it has no noise levels"),
    (lambda base: EulerDiscreteScheduler.from_config({**base, "prediction_type": "epsilon"}),
     "prediction_type='epsilon', but GenXD's UNet predicts 'v_prediction'"),
])
def test_an_unsuitable_scheduler_object_is_refused_before_sampling(pipe, reference_cases, make, expected):
    """A researcher's own scheduler set on the pipeline: DDIM failed deep in the loop (no attribute 'sigmas'), an
    epsilon-prediction Euler sampled wrong frames silently; now one ValueError before the UNet runs."""
    original = pipe.scheduler
    calls = []
    hook = pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        pipe.scheduler = make(dict(original.config))
        with pytest.raises(ValueError, match="use pipe.set_scheduler") as info:
            pipe(**_kwargs(reference_cases))
        assert expected in str(info.value) and not calls
    finally:
        hook.remove()
        pipe.scheduler = original
