"""SplitGEGLU: diffusers' GEGLU with dense halves on the CPU (genxd.models.activations)."""

from __future__ import annotations

import copy

import torch
from diffusers.models.activations import GEGLU

from genxd.models.activations import SplitGEGLU, use_split_geglu
from genxd.models.blocks import TransformerMVCascadeTemporalModel

# The halves are the same dot products over the input channels, blocked differently by the GEMM: float32
# rounding only (measured at most 2.6e-6 on the bundled UNet's output, 2e-6 on one GEGLU of 64 -> 2 x 256).
ATOL = 1e-5


def _pair(dim_in: int = 64, dim_out: int = 256, bias: bool = True) -> tuple[GEGLU, SplitGEGLU]:
    torch.manual_seed(0)
    plain = GEGLU(dim_in, dim_out, bias=bias)
    split = copy.deepcopy(plain)
    assert use_split_geglu(split) == 1
    return plain, split


def test_split_geglu_matches_diffusers_and_keeps_its_keys():
    for bias in (True, False):
        plain, split = _pair(bias=bias)
        assert type(split) is SplitGEGLU and isinstance(split, GEGLU)
        assert split.state_dict().keys() == plain.state_dict().keys()
        x = torch.randn(2, 300, 64)
        out = split(x)
        assert out.shape == (2, 300, 256) and out.is_contiguous()
        torch.testing.assert_close(out, plain(x), atol=ATOL, rtol=0)


def test_split_geglu_gradients_match():
    plain, split = _pair()
    x = torch.randn(4, 50, 64)
    for m in (plain, split):
        m.zero_grad()
        (m(x) ** 2).sum().backward()
    torch.testing.assert_close(split.proj.weight.grad, plain.proj.weight.grad, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(split.proj.bias.grad, plain.proj.bias.grad, atol=1e-4, rtol=1e-5)


def test_split_geglu_calls_a_wrapped_or_hooked_projection():
    """A hook or wrapper on ``proj`` (LoRA, accelerate's offload) must run: the module falls back to diffusers'
    forward, which calls ``proj``."""
    _, split = _pair()
    calls = []
    split.proj.register_forward_pre_hook(lambda m, args: calls.append(1))
    split(torch.randn(1, 4, 64))
    assert calls == [1]
    _, split = _pair()
    inner = split.proj.forward
    split.proj.forward = lambda x: calls.append(2) or inner(x)
    split(torch.randn(1, 4, 64))
    assert calls == [1, 2]


def test_transformer_model_uses_split_geglus():
    model = TransformerMVCascadeTemporalModel(2, 32, 64)
    gegs = [m for m in model.modules() if isinstance(m, GEGLU)]
    assert gegs and all(type(m) is SplitGEGLU for m in gegs)
