"""The fast path's Triton kernels (issue 26): channels-last GroupNorm (+ SiLU, + time-embedding add), GEGLU,
attention over frames and the three-path blend.

On any machine: switching a UNet to them keeps its parameters, state dict and (off CUDA, where the
kernels fall back to PyTorch's operators) its output bit for bit, so the rewritten res-block forwards are
diffusers' arithmetic. On CUDA: the kernels against PyTorch's operators."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genxd.models import UNetMVTemporalConditionModel
from genxd.pipelines.fused_kernels import (GroupNormNHWC, LayerNormRows, geglu, group_norm_nhwc, install_fused_kernels,
                                          layer_norm_rows, triton_available)
from genxd.pipelines.fused_norms import add_layer_norm
from genxd.pipelines.fused_temporal import blend, frame_attention

from .test_fast_path import _unet_case


@pytest.mark.parametrize("case", ["mv", "4d"])
def test_switched_unet_is_the_same_model_off_cuda(reference_small, reference_cases, case):
    inputs, _ = _unet_case(reference_cases, case)
    unet = UNetMVTemporalConditionModel.from_pretrained(reference_small / "unet").eval()
    keys = list(unet.state_dict())
    with torch.no_grad():
        before = unet(**inputs).sample
    counts = install_fused_kernels(unet)
    assert counts["res_blocks"] > 0 and counts["geglus"] > 0 and counts["group_norms"] >= 2 * counts["res_blocks"]
    assert counts["temporal_blocks"] > 0 and counts["blenders"] > 0 and counts["layer_norms"] > 0
    assert counts["attentions"] > 0 and counts["frame_sinusoids"] > 0
    assert counts["spatial_blocks"] > 0 and counts["multiview_blocks"] > 0
    assert all(type(m) is not torch.nn.LayerNorm for m in unet.modules())
    assert list(unet.state_dict()) == keys
    assert all(type(m) is not torch.nn.GroupNorm for m in unet.modules())
    again = install_fused_kernels(unet)  # idempotent: nothing switched twice
    assert again["res_blocks"] == 0 and again["geglus"] == 0 and again["temporal_blocks"] == again["blenders"] == 0
    with torch.no_grad():
        after = unet(**inputs).sample
    assert torch.equal(before, after)


def test_switched_temporal_blocks_take_the_frame_embedding_into_their_first_norm(reference_small, reference_cases,
                                                                                monkeypatch):
    """The switched transformers hand the frame embedding to their temporal blocks (added inside ``norm_in``),
    the same output as adding it before."""
    import genxd.pipelines.fused_temporal as ft

    inputs, _ = _unet_case(reference_cases, "4d")
    unet = UNetMVTemporalConditionModel.from_pretrained(reference_small / "unet").eval()
    with torch.no_grad():
        before = unet(**inputs).sample
    install_fused_kernels(unet)
    broadcast = []
    real = ft.add_layer_norm
    monkeypatch.setattr(ft, "add_layer_norm", lambda x, r, n: broadcast.append(n) or real(x, r, n))
    with torch.no_grad():
        after = unet(**inputs).sample
    from diffusers.models.attention import TemporalBasicTransformerBlock

    norms_in = [m.norm_in for m in unet.modules() if type(m) is TemporalBasicTransformerBlock]
    assert norms_in and sorted(map(id, (n for n in broadcast if any(n is m for m in norms_in)))) == sorted(map(id, norms_in))
    assert torch.equal(before, after)


def test_fallbacks_are_pytorchs_operators():
    x = torch.randn(2, 64, 5, 6).contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(64), torch.randn(64)
    assert torch.equal(group_norm_nhwc(x, w, b, 32, 1e-6, silu=True), F.silu(F.group_norm(x, 32, w, b, 1e-6)))
    p = torch.randn(3, 7, 20)
    assert torch.equal(geglu(p), p[..., :10] * F.gelu(p[..., 10:]))
    norm = torch.nn.GroupNorm(8, 64)
    norm.__class__ = GroupNormNHWC
    assert torch.equal(norm(x), F.group_norm(x, 8, norm.weight, norm.bias, norm.eps))
    t = torch.randn(2, 64)
    assert torch.equal(norm(x, add=t), F.group_norm(x + t[:, :, None, None], 8, norm.weight, norm.bias, norm.eps))
    x5, t5 = torch.randn(2, 64, 3, 4, 5), torch.randn(2, 3, 64)
    ref5 = F.group_norm(x5 + t5.permute(0, 2, 1)[..., None, None], 8, norm.weight, norm.bias, norm.eps)
    assert torch.equal(norm(x5, add=t5), ref5)
    with pytest.raises(ValueError, match="add must be"):
        norm(x, add=torch.randn(2, 3, 64))
    ln = torch.nn.LayerNorm(20)
    ln.__class__ = LayerNormRows
    assert torch.equal(ln(p), F.layer_norm(p, (20,), ln.weight, ln.bias, ln.eps))


def _frame_attention_reference(q, k, v, frames, heads):
    """[B*F, S, H*D] frame-major tokens -> attention over the F frames of each (sample, position, head)."""
    bf, s, inner = q.shape
    d = inner // heads

    def seq(t):  # [B*S*H, F, D]
        return t.float().reshape(bf // frames, frames, s, heads, d).permute(0, 2, 3, 1, 4).reshape(-1, frames, d)

    w = torch.softmax(seq(q) @ seq(k).transpose(1, 2) / d**0.5, dim=-1)
    o = (w @ seq(v)).reshape(bf // frames, s, heads, frames, d).permute(0, 3, 1, 2, 4)
    return o.reshape(bf, s, inner)


def test_frame_attention_and_blend_fallbacks():
    torch.manual_seed(0)
    qkv = torch.randn(2 * 5, 7, 3 * 64)
    q, k, v = qkv.chunk(3, dim=-1)
    out = frame_attention(q, k, v, 5, 2)
    assert out.shape == q.shape
    assert torch.allclose(out, _frame_attention_reference(q, k, v, 5, 2), atol=1e-5)
    xs, xm, xt = (torch.randn(4, 3, 6) for _ in range(3))
    factor, gamma = torch.tensor([0.3]), torch.tensor([1.5])
    a = torch.sigmoid(factor)
    assert torch.equal(blend(xs, xm, None, factor), a * xs + (1 - a) * xm)
    indicator = torch.tensor([0, 2])  # 3D, 4D; two rows (frames) per sample
    g = torch.tensor([1.0, 1.0, torch.sigmoid(gamma).item(), torch.sigmoid(gamma).item()])[:, None, None]
    assert torch.allclose(blend(xs, xm, xt, factor, gamma, indicator), g * (a * xs + (1 - a) * xm) + (1 - g) * xt)


def test_blend_of_a_temporal_input_needs_its_mode_weights():
    """Before: a TypeError / AttributeError inside mode_weights (None where gamma or indicator was left out)."""
    xs, xm, xt = (torch.randn(4, 3, 6) for _ in range(3))
    for gamma, indicator in [(None, torch.tensor([0, 2])), (torch.tensor([1.5]), None)]:
        with pytest.raises(ValueError, match=r"blend: a temporal input needs gamma and indicator"):
            blend(xs, xm, xt, torch.tensor([0.3]), gamma, indicator)


needs_triton = pytest.mark.skipif(not triton_available(), reason="needs CUDA and Triton")


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape,groups,silu", [((24, 320, 32, 32), 32, True), ((2, 640, 12, 16, 16), 32, True),
                                                ((24, 1280, 8, 8), 32, False), ((3, 96, 5, 7), 8, True),
                                                ((2, 40, 3, 4, 5), 4, False)])
def test_group_norm_kernel_matches_pytorch(dtype, shape, groups, silu):
    torch.manual_seed(0)
    fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
    x = (torch.randn(shape, device="cuda") * 3 + 1).to(dtype).contiguous(memory_format=fmt)
    w = torch.randn(shape[1], device="cuda").to(dtype)
    b = torch.randn(shape[1], device="cuda").to(dtype)
    y = group_norm_nhwc(x, w, b, groups, 1e-5, silu=silu)
    assert y.shape == x.shape and y.dtype == dtype and y.is_contiguous(memory_format=fmt)
    ref = F.group_norm(x.float(), groups, w.float(), b.float(), 1e-5)
    ref = F.silu(ref) if silu else ref
    # float32: both in float32 (measured ~1e-6); bfloat16: one rounding of outputs up to ~15 (2^-8 relative)
    tol = 1e-4 if dtype == torch.float32 else 0.07
    assert (y.float() - ref).abs().max().item() < tol


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_geglu_kernel_matches_pytorch(dtype):
    torch.manual_seed(0)
    p = torch.randn(2, 1024, 2 * 1280, device="cuda").to(dtype)
    ref = p.float()[..., :1280] * F.gelu(p.float()[..., 1280:])
    tol = 1e-5 if dtype == torch.float32 else 0.05
    assert (geglu(p).float() - ref).abs().max().item() < tol


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("case", ["mv", "4d"])
def test_switched_unet_on_cuda_is_as_close_to_float32_as_the_plain_bf16_one(reference_small, reference_cases, case):
    """Both bf16 UNets (channels-last; with and without the kernels) against the float32 one: the kernels'
    float32 statistics and single rounding must not add error. (Between themselves the two bf16 outputs of
    this small random-weight reference model differ by 3-8 % relative, measured on an H200: bf16 rounding in
    different places, amplified through the blocks.)"""
    from genxd.pipelines.fast import to_channels_last

    inputs, _ = _unet_case(reference_cases, case)
    inputs = {k: (v.cuda() if torch.is_tensor(v) else v) for k, v in inputs.items()}
    outs = {}
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the float32 reference in full float32 (restored below)
    try:
        for name in ("fp32", "plain", "fused"):
            unet = UNetMVTemporalConditionModel.from_pretrained(reference_small / "unet").cuda().eval()
            run = dict(inputs)
            if name != "fp32":
                unet.to(torch.bfloat16)
                to_channels_last(unet)
                run["sample"] = run["sample"].to(torch.bfloat16)
            if name == "fused":
                install_fused_kernels(unet)
            with torch.no_grad(), torch.backends.cudnn.flags(allow_tf32=False):
                outs[name] = unet(**run).sample.float()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    err = {k: ((outs[k] - outs["fp32"]).norm() / outs["fp32"].norm()).item() for k in ("plain", "fused")}
    print(f"relative error against float32 ({case}): {err}")
    assert err["fused"] <= 1.25 * err["plain"] + 1e-3, err


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape,add_shape", [((24, 320, 32, 32), (24, 320)), ((2, 640, 12, 16, 16), (2, 12, 640)),
                                             ((2, 40, 3, 4, 5), (2, 40))])
def test_group_norm_kernel_with_add_matches_pytorch(dtype, shape, add_shape):
    torch.manual_seed(0)
    fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
    x = torch.randn(shape, device="cuda").to(dtype).contiguous(memory_format=fmt)
    t = (torch.randn(add_shape, device="cuda") * 2).to(dtype)
    w, b = torch.randn(shape[1], device="cuda").to(dtype), torch.randn(shape[1], device="cuda").to(dtype)
    y = group_norm_nhwc(x, w, b, 8, 1e-5, silu=True, add=t)
    assert y.is_contiguous(memory_format=fmt)
    tt = t.float()
    tt = tt[:, :, None, None] if tt.dim() == 2 and x.dim() == 4 else (
        tt[:, :, None, None, None] if tt.dim() == 2 else tt.permute(0, 2, 1)[..., None, None])
    ref = F.silu(F.group_norm(x.float() + tt, 8, w.float(), b.float(), 1e-5))
    tol = 1e-4 if dtype == torch.float32 else 0.07  # as the GroupNorm test above
    assert (y.float() - ref).abs().max().item() < tol


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("frames,heads,dim,positions", [(12, 5, 64, 1024), (8, 2, 32, 64), (3, 1, 16, 5)])
def test_frame_attention_kernel_matches_reference(frames, heads, dim, positions):
    torch.manual_seed(0)
    qkv = torch.randn(2 * frames, positions, 3 * heads * dim, device="cuda").to(torch.bfloat16)
    q, k, v = qkv.chunk(3, dim=-1)  # strided views, as from the fused q/k/v projection
    out = frame_attention(q, k, v, frames, heads)
    ref = _frame_attention_reference(q, k, v, frames, heads)
    # bf16 inputs, float32 scores, probabilities rounded to bf16 as in flash attention (2^-8 relative) and the
    # output rounded to bf16: outputs are averages of values |v| < ~4.5, so the error bound is about 0.03
    assert (out.float() - ref).abs().max().item() < 0.03


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("shape,fmt", [((3, 320, 12, 16, 16), torch.channels_last_3d), ((36, 256, 320), None)])
def test_blend_kernel_matches_pytorch(shape, fmt):
    torch.manual_seed(0)
    xs, xm, xt = (torch.randn(shape, device="cuda").to(torch.bfloat16) for _ in range(3))
    if fmt is not None:
        xs, xm, xt = (t.contiguous(memory_format=fmt) for t in (xs, xm, xt))
    factor, gamma = torch.tensor([0.4], device="cuda"), torch.tensor([0.7], device="cuda")
    indicator = torch.tensor([2, 0, 1], device="cuda")  # 4D, 3D, video
    a = torch.sigmoid(factor)
    g = torch.tensor([torch.sigmoid(gamma).item(), 1.0, 0.0], device="cuda")
    g = g.repeat_interleave(shape[0] // 3).reshape(-1, *([1] * (len(shape) - 1)))
    mv = a * xs.float() + (1 - a) * xm.float()
    out = blend(xs, xm, xt, factor, gamma, indicator)
    assert out.stride() == xs.stride()
    assert (out.float() - (g * mv + (1 - g) * xt.float())).abs().max().item() < 0.05  # one bf16 rounding of |x|<8
    assert (blend(xs, xm, None, factor).float() - mv).abs().max().item() < 0.05


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(24, 1024, 320), (2, 64, 1280), (5, 3, 96), (7, 2560)])
def test_layer_norm_kernel_matches_pytorch(dtype, shape):
    torch.manual_seed(0)
    x = (torch.randn(shape, device="cuda") * 2 + 0.5).to(dtype)
    w, b = torch.randn(shape[-1], device="cuda").to(dtype), torch.randn(shape[-1], device="cuda").to(dtype)
    ref = F.layer_norm(x.float(), (shape[-1],), w.float(), b.float(), 1e-5)
    tol = 1e-4 if dtype == torch.float32 else 0.07  # as the GroupNorm test
    assert (layer_norm_rows(x, w, b, 1e-5).float() - ref).abs().max().item() < tol


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("width", [1280, 40, 24, 5])
def test_geglu_kernel_any_width(width):
    torch.manual_seed(0)
    p = torch.randn(3, 37, 2 * width, device="cuda").to(torch.bfloat16)
    ref = p.float()[..., :width] * F.gelu(p.float()[..., width:])
    assert (geglu(p).float() - ref).abs().max().item() < 0.05


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("offset", [1000.0, -300.0])
def test_group_norm_kernel_far_from_zero(offset):
    """The one-read statistics (sums shifted by each chunk's first row) keep float32 accuracy for data whose
    mean is large against its spread (a naive sum of squares would lose it)."""
    torch.manual_seed(0)
    x = (torch.randn(2, 64, 12, 16, 16, device="cuda") * 0.5 + offset).contiguous(memory_format=torch.channels_last_3d)
    w, b = torch.ones(64, device="cuda"), torch.zeros(64, device="cuda")
    ref = F.group_norm(x.double(), 8, w.double(), b.double(), 1e-6)
    assert (group_norm_nhwc(x, w, b, 8, 1e-6).double() - ref).abs().max().item() < 2e-3


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("shape", [(24, 1024, 320), (2, 3072, 640), (5, 3, 96)])
def test_add_layer_norm_kernel_matches_pytorch(shape):
    torch.manual_seed(0)
    x, r = (torch.randn(shape, device="cuda").to(torch.bfloat16) for _ in range(2))
    norm = torch.nn.LayerNorm(shape[-1], device="cuda").to(torch.bfloat16)
    torch.nn.init.normal_(norm.weight)
    norm.__class__ = LayerNormRows
    s, y = add_layer_norm(x, r, norm)
    assert torch.equal(s, x + r)  # the sum rounded once to bf16, as PyTorch's add stores it
    ref = F.layer_norm((x + r).float(), (shape[-1],), norm.weight.float(), norm.bias.float(), norm.eps)
    assert (y.float() - ref).abs().max().item() < 0.07  # as the LayerNorm test


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("shape", [(24, 1024, 320), (6, 64, 1280), (5, 3, 96)])
def test_add_layer_norm_kernel_broadcasts_a_per_row_residual(shape):
    """The temporal blocks' frame embedding ``[N, 1, C]`` added to ``[N, S, C]`` inside the LayerNorm."""
    torch.manual_seed(0)
    x = torch.randn(shape, device="cuda").to(torch.bfloat16)
    r = torch.randn(shape[0], 1, shape[2], device="cuda").to(torch.bfloat16)
    norm = torch.nn.LayerNorm(shape[-1], device="cuda").to(torch.bfloat16)
    torch.nn.init.normal_(norm.weight)
    norm.__class__ = LayerNormRows
    s, y = add_layer_norm(x, r, norm)
    assert torch.equal(s, x + r)
    ref = F.layer_norm((x + r).float(), (shape[-1],), norm.weight.float(), norm.bias.float(), norm.eps)
    assert (y.float() - ref).abs().max().item() < 0.07  # as the LayerNorm test


def test_add_layer_norm_fallback_broadcasts():
    x, r = torch.randn(4, 5, 8), torch.randn(4, 1, 8)
    norm = torch.nn.LayerNorm(8)
    norm.__class__ = LayerNormRows
    s, y = add_layer_norm(x, r, norm)
    assert torch.equal(s, x + r) and torch.equal(y, F.layer_norm(x + r, (8,), norm.weight, norm.bias, norm.eps))


@pytest.mark.parametrize("case", ["mv", "4d"])
def test_folded_conv_biases_are_the_same_model(reference_small, reference_cases, case, monkeypatch):
    """The res blocks with their convolutions' biases folded into the norms' add and the residual add (what
    runs on CUDA) are the same arithmetic up to float rounding: forced on here, where the kernels fall back to
    PyTorch's operators. float32 on CPU, both runs on the same CPU (summation order only): measured largest
    difference 1.2e-5 (mv) / 3.0e-5 (4d) on outputs up to 2.0 (2-core AMD EPYC, AVX2); the bound, 1e-4 of the
    largest output, leaves about 7x."""
    import genxd.pipelines.fused_kernels as fk

    inputs, _ = _unet_case(reference_cases, case)
    unet = UNetMVTemporalConditionModel.from_pretrained(reference_small / "unet").eval()
    with torch.no_grad():
        before = unet(**inputs).sample
    install_fused_kernels(unet)
    calls = []
    monkeypatch.setattr(fk, "_fold_conv_biases", lambda x: calls.append(x.dim()) or True)
    with torch.no_grad():
        after = unet(**inputs).sample
    assert calls and set(calls) >= {4, 5}  # the 2-D and the temporal (3-D convolution) res blocks folded
    assert not torch.equal(before, after)  # the folded arithmetic ran (its rounding differs)
    made = [m for m in unet.modules() if "_genxd_projection_slot" in m.__dict__]
    assert made and any(m.__dict__["_genxd_folded_biases"]._projections for m in made)  # grouped projections ran
    assert torch.allclose(after, before, rtol=1e-4, atol=1e-4 * before.abs().max().item())


def test_add_bias_channels_last_fallback():
    x = torch.randn(2, 6, 3, 4).contiguous(memory_format=torch.channels_last)
    h, b = torch.randn_like(x), torch.randn(6)
    from genxd.pipelines.fused_kernels import add_bias_channels_last

    assert torch.equal(add_bias_channels_last(x, h, b), x + h + b[:, None, None])


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(24, 320, 32, 32), (2, 1280, 12, 4, 4), (3, 40, 5, 7), (2, 96, 3, 4, 5)])
def test_add_bias_kernel_matches_pytorch(dtype, shape):
    from genxd.pipelines.fused_kernels import add_bias_channels_last

    torch.manual_seed(0)
    fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
    x = torch.randn(shape, device="cuda").to(dtype).contiguous(memory_format=fmt)
    h = torch.randn(shape, device="cuda").to(dtype).contiguous(memory_format=fmt)
    b = torch.randn(shape[1], device="cuda").to(dtype)
    y = add_bias_channels_last(x, h, b)
    assert y.is_contiguous(memory_format=fmt) and y.dtype == dtype
    ref = x.float() + h.float() + b.float().reshape(-1, *([1] * (len(shape) - 2)))
    # float32: exact sums of three floats up to one rounding; bf16: one rounding of values up to ~10 (2^-8 rel.)
    tol = 1e-5 if dtype == torch.float32 else 0.07
    assert (y.float() - ref).abs().max().item() < tol


def test_folded_bias_sums_follow_the_weights():
    """The sums are made once per call (the UNet's pre-hook marks them stale; the first block asking makes all of
    them in one multi-tensor kernel), read by the other blocks of the call, made again from the current weights
    after a bias changes in place or is replaced, and not used for biases of another dtype or device
    (offloading)."""
    from diffusers.models.resnet import TemporalResnetBlock

    from genxd.pipelines.fused_kernels import FoldedBiases, _bias_sum

    blk, other = TemporalResnetBlock(32, 64, temb_channels=4), TemporalResnetBlock(64, 64, temb_channels=4)
    folded = FoldedBiases([blk, other])  # blk has a shortcut (32 -> 64 channels), other has none
    assert [e[1] for e in folded.entries] == ["_genxd_norm2_bias", "_genxd_residual_bias", "_genxd_norm2_bias"]

    def residual_sum():
        return _bias_sum(blk, "_genxd_residual_bias", blk.conv2.bias, blk.conv_shortcut.bias)

    kept = residual_sum()
    assert torch.equal(kept, blk.conv2.bias + blk.conv_shortcut.bias)
    assert "_genxd_norm2_bias" in other.__dict__  # every block's sums were made by the first request
    assert residual_sum() is kept  # the same call: nothing made again
    with torch.no_grad():
        blk.conv2.bias.add_(1.0)  # in place, as load_state_dict copies weights
    assert residual_sum() is kept  # still the same call
    folded.mark_stale()  # the next UNet call
    assert torch.equal(residual_sum(), blk.conv2.bias + blk.conv_shortcut.bias)
    blk.conv1.bias = torch.nn.Parameter(torch.zeros(64))  # replaced
    folded.mark_stale()
    assert torch.equal(_bias_sum(blk, "_genxd_norm2_bias", blk.time_emb_proj.bias, blk.conv1.bias),
                       blk.time_emb_proj.bias)
    assert _bias_sum(torch.nn.Module(), "_x", None, blk.conv2.bias) is blk.conv2.bias
    half = blk.conv2.bias.to(torch.float16)  # biases of another dtype / device (offloading): summed here
    assert _bias_sum(blk, "_genxd_residual_bias", half, half).dtype == torch.float16
    other.conv1.bias.data = other.conv1.bias.data.double()  # biases of mixed dtypes: nothing kept, sums per block
    folded.mark_stale()
    assert not folded.ready(blk.conv2.bias.device, blk.conv2.bias.dtype)
    assert torch.equal(residual_sum(), blk.conv2.bias + blk.conv_shortcut.bias)


def test_time_embedding_projections_of_a_group_are_one_gemm():
    """The res blocks' time-embedding projections (with conv1's bias folded in): one GEMM per group and embedding
    per call, each block reading its columns; equal to the per-block projection; blocks of the temporal paths
    (the motion embedding) in a group of their own; a block alone in its group projects by itself; the next call
    reads weights changed in place; offloaded weights (sums not kept) project block by block."""
    import torch.nn.functional as F
    from diffusers.models.resnet import TemporalResnetBlock

    from genxd.pipelines.fused_kernels import FoldedBiases

    torch.manual_seed(0)
    time_blocks = [TemporalResnetBlock(c, c, temb_channels=8) for c in (32, 64, 32)]
    motion_blocks = [TemporalResnetBlock(c, c, temb_channels=8) for c in (32, 64)]
    lone = TemporalResnetBlock(32, 32, temb_channels=4)  # another embedding width: a group of one
    folded = FoldedBiases([*time_blocks, *motion_blocks, lone], {id(b) for b in motion_blocks})
    assert len(folded.groups) == 2 and folded.groups[0] == time_blocks and folded.groups[1] == motion_blocks

    def per_block(blk, temb):
        return F.linear(F.silu(temb), blk.time_emb_proj.weight, blk.time_emb_proj.bias + blk.conv1.bias)

    emb = torch.randn(6, 16)
    time, motion = emb.chunk(2, dim=-1)
    outs = [folded.projection(b, time) for b in time_blocks]
    assert len(folded._projections) == 1  # one GEMM for the three blocks
    for blk, out in zip(time_blocks, outs):
        assert out.shape == (6, blk.time_emb_proj.out_features)
        assert torch.allclose(out, per_block(blk, time), rtol=1e-5, atol=1e-6)
    frames = folded.projection(time_blocks[1], time.reshape(2, 3, 8))  # the multiview blocks' [B, F, T] view
    assert len(folded._projections) == 1 and frames._base is not None  # the same GEMM's output, viewed
    assert frames.shape == (2, 3, 64) and torch.allclose(frames, per_block(time_blocks[1], time).reshape(2, 3, 64),
                                                         rtol=1e-5, atol=1e-6)
    for blk in motion_blocks:
        assert torch.allclose(folded.projection(blk, motion), per_block(blk, motion), rtol=1e-5, atol=1e-6)
    assert folded.projection(lone, torch.randn(6, 4)) is None
    with torch.no_grad():
        time_blocks[2].time_emb_proj.weight.mul_(2.0)  # in place, as load_state_dict copies weights
    assert torch.equal(folded.projection(time_blocks[2], time), outs[2])  # the same call: what it made
    folded.mark_stale()  # the next UNet call
    assert torch.allclose(folded.projection(time_blocks[2], time), per_block(time_blocks[2], time), rtol=1e-5,
                          atol=1e-6)
    motion_blocks[0].conv1.bias.data = motion_blocks[0].conv1.bias.data.double()  # mixed dtypes: sums not kept
    folded.mark_stale()
    assert folded.projection(time_blocks[0], time) is None


def test_time_embedding_silu_is_made_once_per_source_tensor():
    """The res blocks' SiLU of the time embedding: one result for every view of the same tensor, viewed the same
    way; made again for another view, after an in-place change, for a new tensor (whatever its address), and
    after the UNet's pre-hook; inference tensors (no version counter, no base) work."""
    import torch.nn.functional as F
    from diffusers.models.resnet import TemporalResnetBlock

    from genxd.pipelines.fused_kernels import FoldedBiases

    folded = FoldedBiases([TemporalResnetBlock(32, 32, temb_channels=4)])
    emb = torch.randn(6, 8)
    first = folded.silu(emb.chunk(2, dim=-1)[0])  # each block chunks the embedding anew: new view objects
    assert folded.silu(emb.chunk(2, dim=-1)[0]) is first and torch.equal(first, F.silu(emb[:, :4]))
    motion = folded.silu(emb.chunk(2, dim=-1)[1])
    assert motion is not first and torch.equal(motion, F.silu(emb[:, 4:]))
    frames = folded.silu(emb.chunk(2, dim=-1)[0].reshape(2, 3, 4))  # the multiview blocks' [B, F, T] view
    assert frames.shape == (2, 3, 4) and torch.equal(frames, F.silu(emb[:, :4]).reshape(2, 3, 4))
    emb.add_(1.0)  # changed in place: made again
    assert torch.equal(folded.silu(emb.chunk(2, dim=-1)[0]), F.silu(emb[:, :4]))
    for _ in range(20):  # new tensors, often at a freed one's address: never an earlier result
        fresh = torch.randn(6, 8)
        assert torch.equal(folded.silu(fresh[:, :4]), F.silu(fresh[:, :4]))
        del fresh
    kept = folded.silu(emb[:, :4])
    folded.mark_stale()  # the next UNet call
    assert not folded._silu and folded.silu(emb[:, :4]) is not kept
    with torch.inference_mode():  # views of inference tensors name no base: reused for the same view object only
        view = torch.randn(6, 8)[:, :4]
        out = folded.silu(view)
        assert folded.silu(view) is out and torch.equal(out, F.silu(view))


@pytest.mark.cuda
@needs_triton
def test_graph_replay_reads_folded_biases_loaded_in_place(reference_small, reference_cases):
    """Under the CUDA-graph replay of the fused, channels-last bf16 UNet, biases and time-embedding projections
    changed in place after the capture (as load_state_dict does) reach the output: the folded sums and the grouped
    projections' concatenated weights are made inside the graph."""
    from genxd.pipelines.fast import CUDAGraphForward, to_channels_last

    inputs, _ = _unet_case(reference_cases, "4d")
    cuda_inputs = {k: (v.cuda() if torch.is_tensor(v) else v) for k, v in inputs.items()}
    cuda_inputs["sample"] = cuda_inputs["sample"].to(torch.bfloat16)

    def fused_unet():
        unet = UNetMVTemporalConditionModel.from_pretrained(reference_small / "unet").cuda().to(torch.bfloat16).eval()
        to_channels_last(unet)
        install_fused_kernels(unet)
        return unet

    graphed, eager = fused_unet(), fused_unet()
    CUDAGraphForward.install(graphed)
    with torch.no_grad():
        for _ in range(4):
            graphed(**cuda_inputs)  # warm-up calls and the capture
        assert CUDAGraphForward.install(graphed).captures == 1
        before = graphed(**cuda_inputs).sample.clone()
        for unet in (graphed, eager):
            for name, p in unet.named_parameters():
                if name.endswith(("conv1.bias", "conv2.bias", "conv_shortcut.bias", "time_emb_proj.bias")):
                    p.add_(0.25)
                elif name.endswith("time_emb_proj.weight"):  # the grouped projections concatenate them per call
                    p.mul_(1.5)
        replayed, expected = graphed(**cuda_inputs).sample, eager(**cuda_inputs).sample
    assert CUDAGraphForward.install(graphed).captures == 1  # replayed, not captured again
    assert torch.equal(replayed, expected) and not torch.equal(replayed, before)
