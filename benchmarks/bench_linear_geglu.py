"""GEGLU's projection + activation in one kernel against cuBLAS's GEMM + the GEGLU kernel, on the shapes of one
guided UNet call, tile choices side by side.

Records the GEGLU modules' inputs of one guided call of the released UNet configuration (random weights, the
fast path, 3D or 4D): ``x [M, K]`` and ``proj.weight [2D, K]``. Then, per shape, times the two-kernel form
(``F.linear`` then :func:`genxd.pipelines.fused_kernels.geglu`, what the fast path ran before) and
:func:`genxd.pipelines.fused_linear_geglu.linear_geglu` for each tile choice below (kernel time from
``torch.profiler``: no launch overhead), checks each against float32 arithmetic on the same bf16 operands, and
reports the call's totals. CUDA only.

    python benchmarks/bench_linear_geglu.py --mode 4d --out bench_linear_geglu_4d.json
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_group_norm import kernel_us, launch_bench_setup  # noqa: E402

from genxd.pipelines import fused_kernels as fk  # noqa: E402
from genxd.pipelines.fused_linear_geglu import LinearGegluLaunch, linear_geglu  # noqa: E402

TWO_KERNELS = "cublas+geglu"
CHOICES: dict[str, LinearGegluLaunch | None] = {TWO_KERNELS: None, "default": LinearGegluLaunch()}
for bm, bn, warps, stages in [(128, 64, 4, 3), (128, 64, 8, 4), (128, 128, 8, 3), (64, 128, 4, 3), (64, 64, 4, 4),
                              (128, 32, 4, 4)]:
    CHOICES[f"m{bm}_n{bn}_w{warps}_s{stages}"] = LinearGegluLaunch(block_m=bm, block_n=bn, warps=warps,
                                                                   stages=stages)
for bm, bn, bk, warps, stages in [(128, 64, 64, 8, 3), (128, 64, 64, 8, 4), (128, 128, 64, 8, 3), (128, 64, 32, 4, 5),
                                  (256, 64, 64, 8, 3), (64, 64, 64, 4, 4)]:
    CHOICES[f"one_m{bm}_n{bn}_k{bk}_w{warps}_s{stages}"] = LinearGegluLaunch(
        block_m=bm, block_n=bn, block_k=bk, warps=warps, stages=stages, one_dot=True)


def record_calls(pipe, inp) -> collections.Counter:
    """``(M, K, 2D)`` -> calls over one UNet call (a pre-hook on every GEGLU module, removed afterwards)."""
    from diffusers.models.activations import GEGLU

    calls: collections.Counter = collections.Counter()

    def hook(module, args):
        x = args[0]
        calls[(x.numel() // x.shape[-1], x.shape[-1], module.proj.out_features)] += 1

    handles = [m.register_forward_pre_hook(hook) for m in pipe.unet.modules() if isinstance(m, GEGLU)]
    try:
        with torch.no_grad():
            pipe.unet(**inp)
    finally:
        for h in handles:
            h.remove()
    return calls


def run(name: str, x, w, b):
    launch = CHOICES[name]
    if launch is None:
        return lambda: fk.geglu(F.linear(x, w, b))
    return lambda: linear_geglu(x, w, b, launch)


def main() -> None:
    args, pipe, inp = launch_bench_setup(__doc__, CHOICES, "bench_linear_geglu.json")
    calls = record_calls(pipe, inp)
    dtype = next(pipe.unet.parameters()).dtype
    torch.manual_seed(0)
    rows, totals = [], {}
    for (M, K, two_d), count in sorted(calls.items(), key=lambda kv: -kv[1]):
        x = torch.randn(M, K, device="cuda", dtype=dtype)
        w = (torch.randn(two_d, K, device="cuda") / K**0.5).to(dtype)
        b = (0.1 * torch.randn(two_d, device="cuda")).to(dtype)
        h, g = F.linear(x.float(), w.float(), b.float()).chunk(2, dim=-1)
        ref = h * F.gelu(g)
        scale = ref.abs().max().item()
        flop = 2.0 * M * K * two_d
        row = {"M": M, "K": K, "two_d": two_d, "calls": count, "us": {}, "max_err_rel": {}}
        for name in args.choices:
            f = run(name, x, w, b)
            row["max_err_rel"][name] = (f().float() - ref).abs().max().item() / scale
            us = kernel_us(f)["total"]
            row["us"][name] = us
            totals[name] = totals.get(name, 0.0) + us * count
        best = min(row["us"], key=row["us"].get)
        base = row["us"][TWO_KERNELS]
        print(f"M={M:6d} K={K:5d} 2D={two_d:6d} x{count:3d}  two kernels {base:7.1f} us  default "
              f"{row['us'].get('default', float('nan')):7.1f} us  best {best} {row['us'][best]:7.1f} us "
              f"({flop / row['us'][best] / 1e6:5.0f} TFLOP/s)  err {row['max_err_rel']}")
        rows.append(row)
    print("per UNet call (GEGLU projections + activations only):")
    for name, total in sorted(totals.items(), key=lambda kv: kv[1]):
        print(f"  {name:22s} {total / 1000:6.3f} ms")
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "mode": args.mode,
              "res": args.res, "frames": args.frames, "dtype": str(dtype),
              "per_call_ms": {k: v / 1000 for k, v in totals.items()},
              "choices": {k: (dataclasses.asdict(v) if v else TWO_KERNELS) for k, v in CHOICES.items()
                          if k in args.choices},
              "shapes": rows}
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
