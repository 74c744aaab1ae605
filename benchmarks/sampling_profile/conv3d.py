"""The Conv3d study: every Conv3d shape of one call timed against a Conv2d over a free view and k shifted matmuls."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from .common import time_op


def conv3d_shapes(unet: nn.Module, inputs: dict[str, Tensor]) -> list[dict[str, Any]]:
    """Distinct Conv3d (module settings, input shape) seen in one call, with counts per call."""
    seen: dict[tuple, dict[str, Any]] = {}
    handles = []
    for fqn, module in unet.named_modules():
        if not isinstance(module, nn.Conv3d):
            continue

        def hook(mod, args, _fqn=fqn):
            x = args[0]
            key = (tuple(x.shape), mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                   mod.dilation, mod.groups, mod.bias is not None, x.dtype)
            if key not in seen:
                seen[key] = {"module": mod, "input_shape": list(x.shape), "count_per_call": 0, "example": _fqn,
                             "kernel_size": list(mod.kernel_size), "padding": list(mod.padding),
                             "in_channels": mod.in_channels, "out_channels": mod.out_channels,
                             "input_contiguous": x.is_contiguous(), "dtype": str(x.dtype)}
            seen[key]["count_per_call"] += 1

        handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            unet(**inputs)
    finally:
        for h in handles:
            h.remove()
    return list(seen.values())


def conv3d_alternatives(conv: nn.Conv3d, x: Tensor) -> dict[str, Callable[[], Tensor]]:
    """The conv as ``conv3d``, as ``conv2d`` over the free view ``[B, C, F, H*W]`` with kernel
    ``(k, 1)``, and as ``k`` shifted ``[Cout, Cin] @ [B, Cin, F*H*W]`` matmuls (bias added once).
    Only for kernels ``(k, 1, 1)``, stride 1, no dilation, one group, spatial padding 0."""
    fns: dict[str, Callable[[], Tensor]] = {"conv3d": lambda: conv(x)}
    kt, kh, kw = conv.kernel_size
    pt = conv.padding[0]
    plain = isinstance(conv.padding, tuple) and tuple(conv.padding[1:]) == (0, 0) and (kh, kw) == (1, 1) \
        and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1) and conv.groups == 1
    if not plain:
        return fns
    b, ci, f, h, w = x.shape
    co = conv.out_channels
    weight, bias = conv.weight, conv.bias
    w2d = weight.reshape(co, ci, kt, 1)
    taps = [weight[:, :, k, 0, 0].contiguous() for k in range(kt)]
    f_out = f + 2 * pt - kt + 1

    def conv2d_view() -> Tensor:
        y = F_.conv2d(x.reshape(b, ci, f, h * w), w2d, bias, padding=(pt, 0))
        return y.view(b, co, f_out, h, w)

    def matmul_shifted() -> Tensor:
        xp = F_.pad(x.reshape(b, ci, f, h * w), (0, 0, pt, pt)) if pt else x.reshape(b, ci, f, h * w)
        y = torch.matmul(taps[0], xp[:, :, 0:f_out].reshape(b, ci, f_out * h * w))
        for k in range(1, kt):
            y = y + torch.matmul(taps[k], xp[:, :, k:k + f_out].reshape(b, ci, f_out * h * w))
        if bias is not None:
            y = y + bias[:, None]
        return y.view(b, co, f_out, h, w)

    fns["conv2d_k1_view"] = conv2d_view
    fns["matmul_shifted"] = matmul_shifted
    return fns


def conv3d_study(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, reps: int) -> dict[str, Any]:
    """Time each Conv3d shape of the call three ways; per-call totals (count x ms) per way."""
    rows = []
    totals: Counter = Counter()
    g = torch.Generator(device="cpu").manual_seed(0)
    for shape in conv3d_shapes(unet, inputs):
        conv = shape.pop("module")
        x = torch.randn(shape["input_shape"], generator=g).to(device=device, dtype=conv.weight.dtype)
        with torch.no_grad():
            fns = conv3d_alternatives(conv, x)
            ref = fns["conv3d"]().float()
            row = {**shape, "ms": {}, "max_abs_diff": {}, "reference_abs_max": ref.abs().max().item()}
            for name, fn in fns.items():
                try:
                    if name != "conv3d":
                        row["max_abs_diff"][name] = (fn().float() - ref).abs().max().item()
                    row["ms"][name] = time_op(fn, device, reps)
                    totals[name] += row["ms"][name] * shape["count_per_call"]
                except Exception as err:  # noqa: BLE001 - record and go on
                    row.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"
        rows.append(row)
    best = min((v for k, v in totals.items() if k != "conv3d"), default=None)
    return {
        "shapes": rows,
        "ms_per_call_by_method": dict(totals),
        "conv3d_calls_per_call": sum(r["count_per_call"] for r in rows),
        "best_alternative_saves_ms_per_call": totals["conv3d"] - best if best is not None else None,
        "note": "ms per call = sum over shapes of (calls of that shape per UNet call x isolated ms); isolated "
                "timings exclude the surrounding kernels' cache effects",
    }
