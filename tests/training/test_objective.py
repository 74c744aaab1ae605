"""The training objective: exact inverse of the sampler, per-sample draws, conditions shared with sampling."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from diffusers import EulerDiscreteScheduler

from genxd.pipelines.conditioning import build_conditions
from genxd.training.config import ConditioningConfig, NoiseConfig
from genxd.training.models import RELEASED_SCHEDULER_CONFIG
from genxd.training.objective import (
    c_in,
    c_noise,
    denoised_from_v,
    draw_sample,
    encode_latents,
    genxd_loss,
    sample_seed,
    v_target,
)


def test_v_target_is_inverted_exactly_by_the_euler_sampler(reference_small):
    sched = EulerDiscreteScheduler.from_pretrained(reference_small, subfolder="scheduler")
    assert dict(sched.config).items() >= RELEASED_SCHEDULER_CONFIG.items()
    sched.set_timesteps(10)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 3, 4, 8, 8, generator=gen, dtype=torch.float64)
    noise = torch.randn(x0.shape, generator=gen, dtype=torch.float64)
    for i in (0, 3, 9):
        sched._step_index = i  # step i of the 10-step schedule
        sigma = sched.sigmas[i].double()
        t = sched.timesteps[i]
        assert float(c_noise(sigma)) == pytest.approx(float(t), abs=1e-5)
        sample = x0 + sigma * noise
        assert torch.allclose(sched.scale_model_input(sample, t), sample * c_in(sigma), atol=1e-12)
        v = v_target(x0, noise, sigma.expand(2))
        sched._step_index = i
        prev = sched.step(v, t, sample).prev_sample
        assert torch.allclose(prev, x0 + sched.sigmas[i + 1].double() * noise, atol=1e-9)


def test_v_loss_equals_edm_weighted_x0_loss():
    gen = torch.Generator().manual_seed(1)
    x0, noise, pred = (torch.randn(4, 2, 4, 4, 4, generator=gen, dtype=torch.float64) for _ in range(3))
    sigma = torch.tensor([0.05, 0.7, 3.0, 80.0], dtype=torch.float64)
    noisy = x0 + sigma[:, None, None, None, None] * noise
    assert torch.allclose(denoised_from_v(noisy, v_target(x0, noise, sigma), sigma), x0, atol=1e-9)
    v_loss = ((pred - v_target(x0, noise, sigma)) ** 2).flatten(1).mean(1)
    weight = (sigma**2 + 1) / sigma**2
    edm_loss = weight * ((denoised_from_v(noisy, pred, sigma) - x0) ** 2).flatten(1).mean(1)
    assert torch.allclose(v_loss, edm_loss, rtol=1e-9)


def test_draws_are_deterministic_and_follow_the_config():
    noise = NoiseConfig()
    cfg = ConditioningConfig(single_view_ratio=0.5, max_context_views=3, condition_dropout=0.2, video_ratio=0.5)
    a, b = draw_sample(123, 8, (4, 2, 2), 2, cfg, noise), draw_sample(123, 8, (4, 2, 2), 2, cfg, noise)
    assert torch.equal(a.context_index, b.context_index) and a.sigma == b.sigma and torch.equal(a.noise, b.noise)
    assert sample_seed(0, 5) == sample_seed(0, 5) != sample_seed(0, 6) != sample_seed(1, 5)

    draws = [draw_sample(sample_seed(0, k), 8, (1, 1, 1), 2, cfg, noise) for k in range(1500)]
    views = [len(d.context_index) for d in draws]
    assert all(int(d.context_index[0]) == 0 for d in draws)
    assert all(len(set(d.context_index.tolist())) == len(d.context_index) for d in draws)
    assert all(d.context_index.max() < 8 for d in draws)
    assert set(views) == {1, 2, 3} and 0.44 < views.count(1) / 1500 < 0.56
    log_sigma = torch.tensor([math.log(d.sigma) for d in draws])
    assert abs(float(log_sigma.mean()) - 0.7) < 0.15 and abs(float(log_sigma.std()) - 1.6) < 0.12
    dropped = sum(not d.keep_conditions for d in draws) / 1500
    assert 0.16 < dropped < 0.24
    video = sum(d.indicator == 1 for d in draws) / 1500
    assert 0.44 < video < 0.56
    # video mode only applies to 4D samples; single view only when asked
    assert all(draw_sample(k, 8, (1, 1, 1), 0, cfg, noise).indicator == 0 for k in range(50))
    only_one = ConditioningConfig(single_view_ratio=1.0)
    assert all(draw_sample(k, 8, (1, 1, 1), 0, only_one, noise).context_index.tolist() == [0] for k in range(50))
    first = ConditioningConfig(single_view_ratio=0.0, max_context_views=3, context_frames="first")
    assert all(draw_sample(k, 8, (1, 1, 1), 0, first, noise).context_index.tolist() in ([0, 1], [0, 1, 2]) for k in range(50))


class RecordingUNet(torch.nn.Module):
    """Returns a learnable constant; records the inputs it is given."""

    def __init__(self, shape):
        super().__init__()
        self.out = torch.nn.Parameter(torch.zeros(shape))
        self.calls = []

    def forward(self, sample, timestep, added_time_ids, indicator, motion_ids=None, return_dict=True):
        self.calls.append(dict(sample=sample, timestep=timestep, added_time_ids=added_time_ids, indicator=indicator,
                               motion_ids=motion_ids))
        return (self.out.expand(sample.shape[0], *self.out.shape[1:]),)


def test_loss_builds_the_pipeline_conditions_and_ignores_context_frames():
    torch.manual_seed(0)
    b, f, h = 2, 5, 4
    latents = torch.randn(b, f, 4, h, h)
    c2w = torch.eye(4).repeat(b, f, 1, 1)
    c2w[:, :, 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(b, f, 1, 1)
    motion = torch.tensor([0.0, 2.5])
    cfg = ConditioningConfig(single_view_ratio=0.0, max_context_views=2, condition_dropout=0.0)
    draws = [draw_sample(7, f, (4, h, h), 0, cfg, NoiseConfig()), draw_sample(8, f, (4, h, h), 2, cfg, NoiseConfig())]
    draws[1].keep_conditions = False  # the second sample is dropped out (classifier-free guidance)
    unet = RecordingUNet((1, f, 4, h, h))
    loss, per_sample = genxd_loss(unet, latents, c2w, K, motion, draws)
    call = unet.calls[0]
    for i, d in enumerate(draws):
        cond = build_conditions(latents[i : i + 1, d.context_index], d.context_index[None], c2w[i : i + 1], K[i : i + 1],
                                torch.tensor([d.indicator]), motion[i : i + 1])
        if not d.keep_conditions:
            cond = cond.unconditional()
        sigma = torch.tensor([d.sigma])
        noisy = latents[i : i + 1] + d.sigma * d.noise[None]
        expected = cond.unet_input(noisy * c_in(sigma))
        assert torch.allclose(call["sample"][i : i + 1], expected, atol=1e-6)
        assert torch.allclose(call["added_time_ids"][i : i + 1], cond.added_time_ids)
        assert torch.allclose(call["motion_ids"][i : i + 1], cond.motion_ids)
        assert float(call["timestep"][i]) == pytest.approx(0.25 * math.log(d.sigma), rel=1e-6)
    assert call["motion_ids"][1] == 0 and call["added_time_ids"][1].abs().sum() == 0  # dropped
    # context frames carry no loss: the gradient there is zero, and non-zero elsewhere
    loss.backward()
    grad = unet.out.grad[0]
    ctx = set(draws[0].context_index.tolist()) & set(draws[1].context_index.tolist())
    tgt = set(range(f)) - set(draws[0].context_index.tolist()) - set(draws[1].context_index.tolist())
    assert ctx and tgt
    assert all(grad[j].abs().sum() == 0 for j in ctx)
    assert all(grad[j].abs().sum() > 0 for j in tgt)
    assert float(loss) == pytest.approx(float(per_sample.mean()))


def _loss_inputs(b=2, f=4, h=4):
    torch.manual_seed(1)
    latents = torch.randn(b, f, 4, h, h)
    c2w = torch.eye(4).repeat(b, f, 1, 1)
    c2w[:, :, 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(b, f, 1, 1)
    cfg = ConditioningConfig(single_view_ratio=1.0, max_context_views=1, condition_dropout=0.0)
    draws = [draw_sample(20 + i, f, (4, h, h), 2, cfg, NoiseConfig()) for i in range(b)]
    return latents, c2w, K, torch.tensor([3.0] * b), draws


def test_object_weight_zero_or_empty_masks_keep_the_plain_loss():
    latents, c2w, K, motion, draws = _loss_inputs()
    unet = RecordingUNet((1, 4, 4, 4, 4))
    with torch.no_grad():
        unet.out.normal_()
    plain, plain_per = genxd_loss(unet, latents, c2w, K, motion, draws)
    mask = torch.zeros(2, 4, 16, 16)
    mask[0, :, :8, :8] = 1
    same, _ = genxd_loss(unet, latents, c2w, K, motion, draws, object_mask=mask, object_weight=0.0)
    assert torch.equal(same, plain)
    # a sample without object pixels keeps its plain mean, whatever the weight
    _, per = genxd_loss(unet, latents, c2w, K, motion, draws, object_mask=mask, object_weight=9.0)
    assert torch.allclose(per[1], plain_per[1], rtol=1e-6)
    assert not torch.allclose(per[0], plain_per[0], rtol=1e-3)


def test_object_weight_is_a_weighted_mean_over_latent_cells():
    # object pixels in the top-left quarter of the image = the top-left 2x2 latent cells: those weigh 1 + w
    latents, c2w, K, motion, draws = _loss_inputs(b=1)
    unet = RecordingUNet((1, 4, 4, 4, 4))
    with torch.no_grad():
        unet.out.normal_()
    mask = torch.zeros(1, 4, 16, 16)
    mask[:, :, :8, :8] = 1
    w = 4.0
    _, per = genxd_loss(unet, latents, c2w, K, motion, draws, object_mask=mask, object_weight=w)
    d = draws[0]
    sigma = torch.tensor([d.sigma])
    sq = (unet.out.detach() - v_target(latents, d.noise[None], sigma)) ** 2  # [1, F, 4, h, h]
    cell = torch.ones(4, 4)
    cell[:2, :2] = 1 + w
    target = [i for i in range(4) if i not in set(d.context_index.tolist())]
    expected = sum((sq[0, i] * cell).sum() for i in target) / (len(target) * 4 * cell.sum())
    assert float(per[0]) == pytest.approx(float(expected), rel=1e-5)
    # and the weights themselves: the area fraction of object pixels per cell
    from genxd.training.objective import object_cell_weights

    half = torch.zeros(1, 1, 8, 8)
    half[..., :, :3] = 1  # 3 of the 4 columns of the first cell of each row pair
    assert torch.allclose(object_cell_weights(half, (2, 2), 2.0)[0, 0, 0, :, 0], torch.tensor([1 + 2 * 0.75] * 2))


def test_context_corruption_draws_consecutive_first_frames_and_only_for_4d():
    noise = NoiseConfig()
    off = ConditioningConfig(max_context_views=3)
    on = ConditioningConfig(max_context_views=3, context_corruption=0.5, context_noise=0.4, context_blur=1.5)
    # switched off: no extra draws and nothing corrupted (runs made before the option keep their samples)
    for k in range(30):
        a = draw_sample(k, 8, (4, 2, 2), 2, off, noise)
        assert a.context_eps is None and a.context_noise == 0.0 and a.context_blur == 0.0
    draws = [draw_sample(sample_seed(0, k), 8, (4, 2, 2), 2, on, noise) for k in range(800)]
    hit = [d for d in draws if d.context_eps is not None]
    assert 0.42 < len(hit) / 800 < 0.58
    assert {len(d.context_index) for d in hit} == {1, 2, 3}
    assert all(d.context_index.tolist() == list(range(len(d.context_index))) for d in hit)
    assert all(d.context_eps.shape == (len(d.context_index), 4, 2, 2) for d in hit)
    assert all(0 <= d.context_noise <= 0.4 and 0 <= d.context_blur <= 1.5 for d in hit)
    assert max(d.context_noise for d in hit) > 0.35 and max(d.context_blur for d in hit) > 1.3
    # the other draws of a corrupted sample are those of the same sample without corruption
    for k in range(40):
        a, b = draw_sample(k, 8, (4, 2, 2), 2, off, noise), draw_sample(k, 8, (4, 2, 2), 2, on, noise)
        assert a.sigma == b.sigma and torch.equal(a.noise, b.noise) and a.keep_conditions == b.keep_conditions
    # 3D samples are never corrupted
    assert all(draw_sample(k, 8, (4, 2, 2), 0, on, noise).context_eps is None for k in range(100))
    with pytest.raises(ValueError, match="context_corruption"):
        ConditioningConfig(context_corruption=1.5)
    with pytest.raises(ValueError, match="context_noise"):
        ConditioningConfig(context_noise=-0.1)


def test_loss_sees_corrupted_context_latents_and_clean_targets():
    from genxd.training.objective import corrupt_context_latents, gaussian_blur_latents

    latents, c2w, K, motion, _ = _loss_inputs(b=2, f=4, h=6)
    cfg = ConditioningConfig(max_context_views=2, condition_dropout=0.0, context_corruption=1.0,
                             context_noise=0.5, context_blur=1.0)
    draws = [draw_sample(s, 4, (4, 6, 6), 2, cfg, NoiseConfig()) for s in range(40)]
    draws = [next(d for d in draws if len(d.context_index) == 2), next(d for d in draws if len(d.context_index) == 1)]
    clean = [dataclasses.replace(d, context_eps=None, context_noise=0.0, context_blur=0.0) for d in draws]
    unet_a, unet_b = RecordingUNet((1, 4, 4, 6, 6)), RecordingUNet((1, 4, 4, 6, 6))
    loss_a, _ = genxd_loss(unet_a, latents, c2w, K, motion, draws)
    loss_b, _ = genxd_loss(unet_b, latents, c2w, K, motion, clean)
    xa, xb = unet_a.calls[0]["sample"], unet_b.calls[0]["sample"]
    for i, d in enumerate(draws):
        v = len(d.context_index)
        # the context frames' latent channels differ by exactly the corruption; everything else is equal
        sigma = torch.tensor([d.sigma])
        expected = gaussian_blur_latents(latents[i, :v], d.context_blur) + d.context_noise * d.context_eps
        cond = build_conditions(expected[None], d.context_index[None], c2w[i : i + 1], K[i : i + 1],
                                torch.tensor([d.indicator]), motion[i : i + 1])
        noisy = latents[i : i + 1] + d.sigma * d.noise[None]
        assert torch.allclose(xa[i : i + 1], cond.unet_input(noisy * c_in(sigma)), atol=1e-6)
        assert not torch.allclose(xa[i, :v], xb[i, :v])
        assert torch.equal(xa[i, v:], xb[i, v:])
    # the targets (v of the clean latents) are the same, so the same constant prediction scores the same
    assert float(loss_a) == pytest.approx(float(loss_b), rel=1e-6)
    # blur: sigma 0 is the identity, a constant stays constant, and it smooths
    x = torch.randn(3, 4, 6, 6)
    assert torch.equal(gaussian_blur_latents(x, 0.0), x)
    assert torch.allclose(gaussian_blur_latents(torch.full((1, 4, 6, 6), 2.0), 1.0), torch.full((1, 4, 6, 6), 2.0))
    assert gaussian_blur_latents(x, 1.0).std() < 0.8 * x.std()
    y = x[None]
    assert corrupt_context_latents(y, clean[:1]) is y  # no corruption drawn: the latents themselves



def test_a_corrupted_sample_batched_with_a_longer_one_sees_its_own_context():
    """Batched samples with fewer context views are padded to the longest; a corrupted sample's conditions in a
    batch are those it gets alone (``genxd_loss``'s docstring), here a 2-view sample beside a 3-view one, whose
    padding must not put its second view's latents on its first (reference) frame."""
    latents, c2w, K, motion, _ = _loss_inputs(b=2, f=5, h=6)
    cfg = ConditioningConfig(max_context_views=3, condition_dropout=0.0, context_corruption=1.0,
                             context_noise=0.5, context_blur=1.0)
    draws = [draw_sample(s, 5, (4, 6, 6), 2, cfg, NoiseConfig()) for s in range(60)]
    draws = [next(d for d in draws if len(d.context_index) == 3), next(d for d in draws if len(d.context_index) == 2)]
    batch = RecordingUNet((1, 5, 4, 6, 6))
    genxd_loss(batch, latents, c2w, K, motion, draws)
    for i, d in enumerate(draws):
        alone = RecordingUNet((1, 5, 4, 6, 6))
        genxd_loss(alone, latents[i : i + 1], c2w[i : i + 1], K[i : i + 1], motion[i : i + 1], [d])
        assert torch.allclose(batch.calls[0]["sample"][i : i + 1], alone.calls[0]["sample"], atol=1e-6), i


@pytest.mark.parity
def test_training_latents_are_the_authors_context_latents(reference_small, reference_cases):
    """``encode_latents`` (training's VAE encoding) gives the latents the authors' sampling put at the context frames
    (``pipe.<case>.latents_out`` there: the encoded context images, pixels mapped to [-1, 1], the distribution's mode
    times the VAE's scaling factor 0.18215). Found by mutation testing: training latents left unscaled or images left
    in [0, 1] passed test_objective and test_train_loop (nothing compared them with an independent encoding); a model
    trained on them would be sampled on latents of another scale."""
    from diffusers import AutoencoderKLTemporalDecoder

    vae = AutoencoderKLTemporalDecoder.from_pretrained(reference_small / "vae")
    for case in ("single3d", "fewshot3d"):
        images, index = reference_cases[f"pipe.{case}.context_image"], reference_cases[f"pipe.{case}.context_index"][0]
        expected = reference_cases[f"pipe.{case}.latents_out"][:, index]
        torch.testing.assert_close(encode_latents(vae, images), expected, atol=1e-4, rtol=0)  # magnitude 0.15


def test_video_ratio_is_the_share_of_4d_samples_trained_as_video():
    """``video_ratio`` is the probability that a 4D sample is trained in video mode (indicator 1): 0.2 gives about a
    fifth of 1500 draws (binomial sd 0.01), 0 none and 1 all; 3D samples never."""
    noise = NoiseConfig()
    for ratio, low, high in [(0.2, 0.16, 0.24), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)]:
        cfg = ConditioningConfig(video_ratio=ratio)
        draws = [draw_sample(sample_seed(1, k), 8, (1, 1, 1), 2, cfg, noise) for k in range(1500)]
        share = sum(d.indicator == 1 for d in draws) / 1500
        assert low <= share <= high, (ratio, share)
    all_video = ConditioningConfig(video_ratio=1.0)
    assert all(draw_sample(k, 8, (1, 1, 1), 0, all_video, noise).indicator == 0 for k in range(20))


@pytest.mark.parametrize("context_frames", ["first", "random", "first_plus_random"])
def test_a_short_clip_keeps_a_target_frame_whatever_max_context_views(context_frames):
    """The loss is over the non-context frames: with 3 frames and ``max_context_views: 8`` a sample takes at most
    2 context views (the docstring: at least one target), and 2 is reached."""
    cfg = ConditioningConfig(single_view_ratio=0.0, max_context_views=8, context_frames=context_frames)
    sizes = {len(draw_sample(sample_seed(2, k), 3, (1, 1, 1), 0, cfg, NoiseConfig()).context_index) for k in range(60)}
    assert sizes == {2}
