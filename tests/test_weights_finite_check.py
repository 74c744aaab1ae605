"""``genxd.checkpoints._check_weights`` (every loaded weight finite, else a ValueError naming the file and the weight)
looks at all weights together by their norms first, then value by value only where a norm is not finite: the
same answers as checking every value, for damaged weights and for finite weights whose norm overflows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genxd.checkpoints import _check_weights

FILE = Path("model/unet/diffusion_pytorch_model.safetensors")


def _module(n: int = 300) -> torch.nn.Module:
    """``n`` small layers (more than one group of the fused norms) and a float16 and a bfloat16 weight."""
    torch.manual_seed(0)
    m = torch.nn.Module()
    m.layers = torch.nn.ModuleList(torch.nn.Linear(4, 3) for _ in range(n))
    m.half_weight = torch.nn.Parameter(torch.randn(5).half())
    m.bf16_weight = torch.nn.Parameter(torch.randn(5).bfloat16())
    m.register_buffer("steps", torch.arange(3))  # not a parameter: not looked at
    return m


def test_finite_weights_pass():
    _check_weights(_module(), FILE, torch.device("cpu"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", ["layers.0.weight", "layers.299.bias", "half_weight", "bf16_weight"])
def test_a_damaged_weight_is_named(bad, where):
    m = _module()
    with torch.no_grad():
        m.get_parameter(where).view(-1)[1] = bad
    with pytest.raises(ValueError, match=rf"^{FILE}: the weight {where} holds NaN or infinite values"):
        _check_weights(m, FILE, torch.device("cpu"))


def test_finite_weights_whose_norm_overflows_pass():
    # float32 values of 1e30: finite, but the norm (squares of 1e60) is inf in float32: checked value by value
    m = _module()
    with torch.no_grad():
        m.layers[7].weight.fill_(1e30)
    assert not bool(torch.isfinite(torch._foreach_norm([m.layers[7].weight.detach()])[0]))  # what is tested
    _check_weights(m, FILE, torch.device("cpu"))
    with torch.no_grad():
        m.layers[7].weight[2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"the weight layers\.7\.weight holds NaN"):
        _check_weights(m, FILE, torch.device("cpu"))
