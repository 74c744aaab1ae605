"""Memory switches: decoding windows (exact where they must be), sequential guidance, model offload."""

from __future__ import annotations

import pytest
import torch

from genxd.pipelines import GenXDPipeline
from genxd.pipelines.decoding import decode_in_windows, frame_windows, window_owner
from genxd.pipelines.memory import auto_decode_chunk, configure_memory, default_overlap
from genxd.pipelines.offload import ModelOffload, enable_offload


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


def _kwargs(cases, steps=2):
    p = "pipe.single3d."
    return dict(context_images=cases[p + "context_image"], target_c2w=cases[p + "target_c2w"],
                target_K=cases[p + "target_K"], context_index=cases[p + "context_index"],
                context_c2w=cases[p + "context_c2w"], mode="3d", guidance_scale=2.0, num_inference_steps=steps,
                latents=cases[p + "latents_in"])


# ------------------------------------------------------------------ windows
@pytest.mark.parametrize("frames, chunk, overlap", [(8, 4, 2), (12, 2, 1), (12, 3, 1), (7, 4, 0), (14, 6, 3), (5, 8, 2)])
def test_windows_cover_the_clip_with_full_length_windows(frames, chunk, overlap):
    windows = frame_windows(frames, chunk, overlap)
    covered = sorted({i for s, e in windows for i in range(s, e)})
    assert covered == list(range(frames))
    assert all(e - s == min(chunk, frames) for s, e in windows)
    assert windows[0][0] == 0 and windows[-1][1] == frames
    for (s0, e0), (s1, _) in zip(windows, windows[1:]):
        assert e0 - s1 >= overlap  # consecutive windows share at least the overlap
    owner = window_owner(frames, windows)
    assert all(windows[w][0] <= i < windows[w][1] for i, w in enumerate(owner))


def test_window_errors():
    with pytest.raises(ValueError, match="decode_overlap"):
        frame_windows(8, 4, 4)
    with pytest.raises(ValueError, match="decode_chunk_size"):
        frame_windows(8, 0, 0)


def _temporal_decoder(radius: int):
    """A stand-in decoder whose frame i depends on frames i-radius..i+radius of its clip (zero padded at the
    clip's ends, like the temporal decoder's (3,1,1) convolutions), and is a nonlinear function of them."""
    def decode(z: torch.Tensor, n: int) -> torch.Tensor:
        assert z.shape[0] == n
        x = z
        for _ in range(radius):
            pad = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, 0, 1, 1))
            x = torch.tanh(pad[:-2] + pad[1:-1] * 0.5 + pad[2:] * 0.25)
        return x[:, :3]
    return decode


def test_windows_are_exact_when_the_kept_frames_see_the_whole_context():
    """Every kept frame is at least ``overlap // 2`` frames from a cut (measured here for chunk 4, overlap 2:
    1 frame): a decoder with a temporal radius of 1 gives exactly the whole-clip frames; radius 2 does not,
    and windows without overlap are off at the cuts."""
    torch.manual_seed(0)
    z = torch.randn(9, 4, 5, 5)
    whole1, whole2 = _temporal_decoder(1)(z, 9), _temporal_decoder(2)(z, 9)
    torch.testing.assert_close(decode_in_windows(_temporal_decoder(1), z, 4, 2), whole1, atol=0, rtol=0)
    assert (decode_in_windows(_temporal_decoder(1), z, 4, 0) - whole1).abs().max() > 1e-2
    assert (decode_in_windows(_temporal_decoder(2), z, 4, 2) - whole2).abs().max() > 1e-3
    torch.testing.assert_close(decode_in_windows(_temporal_decoder(2), z, 6, 4), whole2, atol=0, rtol=0)
    torch.testing.assert_close(decode_in_windows(_temporal_decoder(2), z, None, 0), whole2, atol=0, rtol=0)


def test_auto_decode_chunk_by_image_size():
    assert auto_decode_chunk(12, 512, 512) == 2
    assert auto_decode_chunk(12, 256, 256) == 8
    assert auto_decode_chunk(12, 64, 64) is None  # the bundled model: the whole clip, as the authors
    assert auto_decode_chunk(12, 1024, 1024) == 2  # never fewer than 2 frames (the temporal context)
    assert [default_overlap(c) for c in (None, 2, 3, 4, 8)] == [0, 1, 1, 2, 4]


def test_pipeline_decoding_windows(pipe, reference_cases):
    kwargs = _kwargs(reference_cases)
    latents = pipe(**kwargs, output_type="latent").latents
    whole = pipe.decode_latents(latents)
    f = latents.shape[1]
    # a window as long as the clip, and "auto" at this size, are the whole-clip decode (bitwise)
    assert torch.equal(pipe.decode_latents(latents, f, 0), whole)
    out = pipe(**kwargs, decode_chunk_size="auto").frames
    assert torch.equal(out, whole)
    # real windows differ a little (random-weight VAE: no agreement figure; the trained one: bench_decoding)
    windows = pipe(**kwargs, decode_chunk_size=3).frames
    assert windows.shape == whole.shape and torch.isfinite(windows).all()
    assert 0 < (windows - whole).abs().max() < 0.5


def test_decoded_runs_are_decode_latents_a_window_at_a_time(pipe, reference_cases):
    """``decoded_runs`` (a long path's frames, streamed): the frames of ``decode_latents``, bit for bit, in more
    than one run where the window is shorter than the clip."""
    latents = pipe(**_kwargs(reference_cases), output_type="latent").latents[:1]
    f = latents.shape[1]
    for chunk in (3, 4, f):
        runs = list(pipe.decoded_runs(latents[0], chunk))
        assert (len(runs) > 1) == (chunk < f)
        assert all(r.device.type == "cpu" for r in runs)
        assert torch.equal(torch.cat(runs), pipe.decode_latents(latents, chunk)[0]), chunk


def test_decoded_runs_upcast_a_half_precision_vae_while_a_window_is_decoded(reference_small, pipe, reference_cases):
    """The fp16 VAE's float32 upcast is not held between runs: a stream left unfinished (its consumer raised and a
    traceback keeps it) and collected while another one runs (the web app's jobs share a pipeline) changed the
    VAE's dtype under the other: its windows' latents in float32 for a float16 VAE."""
    latents = pipe(**_kwargs(reference_cases), output_type="latent").latents[:1]
    p = GenXDPipeline.from_pretrained(reference_small)
    p.vae.to(torch.float16)
    assert p._vae_needs_upcast()  # the bundled VAE's config: force_upcast
    seen = []
    decode = p._vae_decode
    p._vae_decode = lambda z, n: (seen.append((z.dtype, p.vae.dtype)), decode(z, n))[1]
    whole = p.decode_latents(latents, 3)[0]
    left = p.decoded_runs(latents[0], 3)
    first = next(left)  # left unfinished
    assert p.vae.dtype == torch.float16
    runs = p.decoded_runs(latents[0], 3)
    second = [next(runs)]
    del left  # collected while the second stream runs
    second += list(runs)
    assert p.vae.dtype == torch.float16
    assert seen and all(s == (torch.float32, torch.float32) for s in seen)
    assert torch.equal(torch.cat(second), whole)
    assert torch.equal(first, whole[:len(first)])


# ------------------------------------------------------------------ sequential guidance
def test_sequential_guidance_equals_the_batched_branches(pipe, reference_cases):
    kwargs = _kwargs(reference_cases, steps=3)
    batched = pipe(**kwargs, output_type="latent").latents
    calls = []
    handle = pipe.unet.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    configure_memory(pipe, decode_chunk=None, sequential_guidance=True)
    try:
        seq = pipe(**kwargs, output_type="latent").latents
    finally:
        handle.remove()
        configure_memory(pipe, decode_chunk=None)
    assert calls == [1] * 6
    # batched and single convolutions round differently; sampling amplifies float32 round-off (see
    # test_batch_of_two_equals_each_alone: 2e-3 on latents of magnitude ~4); crossed branches are off by ~1
    torch.testing.assert_close(seq, batched, atol=2e-3, rtol=0)


# ------------------------------------------------------------------ offload
def test_model_offload_follows_the_phases_and_keeps_the_output(reference_small, reference_cases):
    """On the CPU the two devices are one, so this checks the phases and that the output is unchanged; the
    CUDA test below checks the moves."""
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    ref = p(**_kwargs(reference_cases), output_type="pt").frames
    ctl = enable_offload(p, "model", "cpu")
    assert isinstance(ctl, ModelOffload) and p.offload is ctl and p._execution_device == torch.device("cpu")
    out = p(**_kwargs(reference_cases), output_type="pt").frames
    assert torch.equal(out, ref)
    assert ctl.log == ["vae->cpu", "unet->cpu", "vae->cpu"]


def test_group_offload_keeps_the_output(reference_small, reference_cases):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    ref = p(**_kwargs(reference_cases), output_type="latent").latents
    configure_memory(p, decode_chunk=None, offload="group", device="cpu")
    out = p(**_kwargs(reference_cases), output_type="latent").latents
    assert torch.equal(out, ref)


def test_memory_setting_errors(pipe):
    with pytest.raises(ValueError, match="offload must be one of"):
        configure_memory(pipe, offload="disk")
    with pytest.raises(ValueError, match="decode_chunk"):
        configure_memory(pipe, decode_chunk=0)
    configure_memory(pipe, decode_chunk=None)


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["model", "group"])
def test_offload_on_cuda_moves_weights_and_keeps_the_output(reference_small, reference_cases, mode):
    from genxd.pipelines.fast import enable_fast_path, fuse_qkv_projections

    base = GenXDPipeline.from_pretrained(reference_small).to("cuda")
    base.set_progress_bar_config(disable=True)
    enable_fast_path(base)
    ref = base(**_kwargs(reference_cases), output_type="pt").frames
    del base
    torch.cuda.empty_cache()
    p = GenXDPipeline.from_pretrained(reference_small)  # on the host: the offload moves the models in
    p.set_progress_bar_config(disable=True)
    enable_fast_path(p, offload=mode, device="cuda")
    assert p.unet.device.type == "cpu" or mode == "group"
    out = p(**_kwargs(reference_cases), output_type="pt").frames
    assert p.vae.device.type == "cuda"  # decoding was the last phase
    if mode == "model":
        assert p.unet.device.type == "cpu"
        # fused q/k/v: the separate projections are still views of the fused weight after the moves
        from diffusers.models.attention_processor import Attention

        fused = [m for m in p.unet.modules() if isinstance(m, Attention) and getattr(m, "fused_projections", False)]
        assert fused
        m = fused[0]
        assert m.to_q.weight.untyped_storage().data_ptr() == m.to_qkv.weight.untyped_storage().data_ptr()
    # the same kernels on the same weights: equal up to CUDA-graph vs eager / stream order (bf16)
    assert (out.cpu() - ref.cpu()).abs().max() < 2e-2
    del fuse_qkv_projections
