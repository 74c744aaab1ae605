"""GEGLU's projection and activation in one kernel (issue 26, ``genxd.pipelines.fused_linear_geglu``): against
float32 arithmetic on the same operands, the fallback off CUDA and for shapes the tiles do not divide, and the
switched GEGLU modules (on by default, ``use_linear_geglu`` to go back to two kernels)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from diffusers.models.activations import GEGLU
from torch import nn

from genxd.pipelines.fused_kernels import geglu, install_fused_kernels, triton_available, use_linear_geglu
from genxd.pipelines.fused_linear_geglu import LinearGegluLaunch, linear_geglu, linear_geglu_supported

needs_triton = pytest.mark.skipif(not triton_available(), reason="needs CUDA and Triton")


def _operands(M, K, two_d, dtype, device, bias=True):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(M, K, generator=g).to(device, dtype)
    w = (torch.randn(two_d, K, generator=g) / K**0.5).to(device, dtype)
    b = (0.1 * torch.randn(two_d, generator=g)).to(device, dtype) if bias else None
    return x, w, b


def _float32_reference(x, w, b):
    h, gate = F.linear(x.float(), w.float(), None if b is None else b.float()).chunk(2, dim=-1)
    return h * F.gelu(gate)


def test_fallback_off_cuda_is_pytorchs_arithmetic():
    x, w, b = _operands(5, 12, 16, torch.float32, "cpu")
    assert not linear_geglu_supported(x, w, b)
    h, gate = F.linear(x, w, b).chunk(2, dim=-1)
    assert torch.equal(linear_geglu(x, w, b), h * F.gelu(gate))
    x3 = x.reshape(1, 5, 12)
    assert linear_geglu(x3, w, b).shape == (1, 5, 8)


def test_switched_geglu_modules_off_cuda_keep_their_own_arithmetic():
    torch.manual_seed(0)
    net = nn.Sequential(GEGLU(24, 32), nn.Linear(32, 8), GEGLU(8, 16))
    x = torch.randn(2, 7, 24)
    with torch.no_grad():
        before = net(x)
        counts = install_fused_kernels(net)
        assert counts["geglus"] == 2
        assert torch.equal(net(x), before)  # off CUDA: the modules' own forward, bit for bit
    assert use_linear_geglu(net, False) == 2 and use_linear_geglu(net, True) == 2
    assert use_linear_geglu(nn.Sequential(GEGLU(4, 4)), True) == 0  # not switched: nothing to set


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("M,K,two_d,bias", [(24576, 320, 2560, True), (1000, 640, 5120, True),
                                            (37, 64, 128, False), (1536, 1280, 10240, True)])
def test_kernel_matches_float32(dtype, M, K, two_d, bias):
    x, w, b = _operands(M, K, two_d, dtype, "cuda", bias)
    assert linear_geglu_supported(x, w, b)
    ref = _float32_reference(x, w, b)
    scale = ref.abs().max().item()
    fused = (linear_geglu(x, w, b).float() - ref).abs().max().item() / scale
    two = (geglu(F.linear(x, w, b)).float() - ref).abs().max().item() / scale
    # one rounding of the output: at most half a unit in the last place of the largest output (bf16 2^-9,
    # fp16 2^-12 relative) plus float32 summation-order differences; the two-kernel form rounds the
    # projection as well and is measured beside it
    tol = 2.0**-8 if dtype == torch.bfloat16 else 2.0**-10
    print(f"{dtype} M={M} K={K} 2D={two_d}: max error / max |y|: fused {fused:.2e}, two kernels {two:.2e}")
    assert fused <= tol and fused <= two * 1.01 + 1e-6


@pytest.mark.cuda
@needs_triton
def test_every_tile_choice_gives_the_same_result_within_rounding():
    x, w, b = _operands(777, 320, 2560, torch.bfloat16, "cuda")
    ref = _float32_reference(x, w, b)
    scale = ref.abs().max().item()
    for launch in (LinearGegluLaunch(), LinearGegluLaunch(block_m=64, block_n=128, warps=4),
                   LinearGegluLaunch(block_m=128, block_n=32, warps=4, stages=4, group_m=1)):
        assert (linear_geglu(x, w, b, launch).float() - ref).abs().max().item() / scale <= 2.0**-8


@pytest.mark.cuda
@needs_triton
def test_shapes_the_tiles_do_not_divide_fall_back():
    x, w, b = _operands(33, 40, 48, torch.bfloat16, "cuda")  # K = 40, D = 24: not multiples of 64
    assert not linear_geglu_supported(x, w, b)
    h, gate = F.linear(x, w, b).chunk(2, dim=-1)
    assert torch.equal(linear_geglu(x, w, b), h * F.gelu(gate))
    x, w, b = _operands(33, 64, 128, torch.float32, "cuda")  # float32: PyTorch's (TF32 rules stay PyTorch's)
    assert not linear_geglu_supported(x, w, b)


@pytest.mark.cuda
@needs_triton
def test_switched_module_runs_the_one_kernel_form_by_default():
    torch.manual_seed(0)
    net = nn.Sequential(GEGLU(320, 1280)).cuda().to(torch.bfloat16)
    x = torch.randn(2, 300, 320, device="cuda", dtype=torch.bfloat16)
    install_fused_kernels(net)
    proj = net[0].proj
    with torch.no_grad():
        assert torch.equal(net(x), linear_geglu(x, proj.weight, proj.bias))
        use_linear_geglu(net, False)
        assert torch.equal(net(x), geglu(proj(x)))
