"""GEGLU that runs its two halves as two contiguous products on the CPU.

diffusers' ``GEGLU`` projects ``x [..., C]`` to ``[..., 2D]``, splits it with ``chunk`` and returns
``hidden * gelu(gate)``. The two halves are strided views (every row jumps ``2D``), and on the CPU the GELU
and the product over strided views are slower than over dense tensors: on a 2-core AMD EPYC (AVX2), 4,096
tokens of 64 channels (the bundled model's first level), the whole GEGLU took 20.4 ms against 7.1 ms with
each half projected on its own; the bundled model's guided UNet call 0.967x the time (paired median of 40
alternating calls in one process, quartiles 0.946-0.988: ``benchmarks/bench_cpu_variants.py``).

:class:`SplitGEGLU` keeps diffusers' module, parameters and key names (``proj.weight``, ``proj.bias``: the
halves are row slices of them, dense without a copy) and, on the CPU only, computes
``linear(x, W[:D], b[:D]) * gelu(linear(x, W[D:], b[D:]))``: the same products, each output element the same
dot product over ``C``, so the result differs from the chunked one by float32 rounding of the GEMM's blocking
(about 2e-6 on the bundled UNet's output). Elsewhere (CUDA, the GPU fast path's fused kernel, a wrapped or
hooked projection such as LoRA or accelerate's offload) it is diffusers' forward unchanged.
"""

from __future__ import annotations

import torch.nn.functional as F
from diffusers.models.activations import GEGLU
from torch import Tensor, nn


class SplitGEGLU(GEGLU):
    """diffusers' ``GEGLU`` (``[..., C]`` -> ``[..., D]``) with dense halves on the CPU (module docstring)."""

    def _plain_projection(self) -> bool:
        proj = self.proj
        return (type(proj) is nn.Linear and "forward" not in proj.__dict__
                and not proj._forward_hooks and not proj._forward_pre_hooks)

    def forward(self, hidden_states: Tensor, *args, **kwargs) -> Tensor:
        if hidden_states.device.type != "cpu" or args or kwargs or not self._plain_projection():
            return super().forward(hidden_states, *args, **kwargs)
        inner = self.proj.out_features // 2
        weight, bias = self.proj.weight, self.proj.bias
        hidden = F.linear(hidden_states, weight[:inner], None if bias is None else bias[:inner])
        gate = F.linear(hidden_states, weight[inner:], None if bias is None else bias[inner:])
        return hidden * self.gelu(gate)


def use_split_geglu(module: nn.Module) -> int:
    """Turn every diffusers ``GEGLU`` inside ``module`` into a :class:`SplitGEGLU` in place (same parameters,
    same state-dict keys); returns how many."""
    count = 0
    for m in module.modules():
        if type(m) is GEGLU:
            m.__class__ = SplitGEGLU
            count += 1
    return count
