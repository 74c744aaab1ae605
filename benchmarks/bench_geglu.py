"""The fast path's GEGLU kernel on the shapes of one guided UNet call, launch choices side by side.

Records the GEGLU calls of one guided call of the released UNet configuration (random weights, the fast path,
3D or 4D) with their shapes, then times, for each launch choice of
:class:`genxd.pipelines.fused_kernels.GegluLaunch` below, the kernel on every recorded shape (kernel time from
``torch.profiler``: no launch overhead) and reports the call's total and the effective bandwidth. CUDA only.

    python benchmarks/bench_geglu.py --mode 4d --out bench_geglu_4d.json
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_group_norm import kernel_us, launch_bench_setup  # noqa: E402
from bench_output import resolve_out, save_json  # noqa: E402

from genxd.pipelines import fused_kernels as fk  # noqa: E402

CHOICES = {"default": fk.GegluLaunch()}
for elements in (1024, 2048, 4096, 8192):
    for warps in (4, 8):
        for max_block in (256, 1024):
            CHOICES[f"e{elements}_w{warps}_b{max_block}"] = fk.GegluLaunch(max_block, elements, warps)


def record_calls(pipe, inp) -> collections.Counter:
    """proj shape ``[..., 2D]`` -> calls, over one UNet call: a pre-hook on every GEGLU module (whichever
    forward it runs: the fused kernel on CUDA, the module's own arithmetic elsewhere), removed afterwards."""
    from diffusers.models.activations import GEGLU

    calls: collections.Counter = collections.Counter()

    def hook(module, args):
        calls[(*args[0].shape[:-1], module.proj.out_features)] += 1

    handles = [m.register_forward_pre_hook(hook) for m in pipe.unet.modules() if isinstance(m, GEGLU)]
    try:
        with torch.no_grad():
            pipe.unet(**inp)
    finally:
        for h in handles:
            h.remove()
    return calls


def main() -> None:
    args, pipe, inp = launch_bench_setup(__doc__, CHOICES, "bench_geglu.json")
    calls = record_calls(pipe, inp)
    dtype = next(pipe.unet.parameters()).dtype
    torch.manual_seed(0)
    rows, totals = [], {}
    for shape, count in sorted(calls.items(), key=lambda kv: -kv[1]):
        proj = torch.randn(shape, device="cuda", dtype=dtype)
        ref = fk.geglu(proj, CHOICES["default"])
        nbytes = proj.numel() * proj.element_size() * 3 // 2  # read 2D, write D per row
        row = {"shape": list(shape), "calls": count, "bytes": nbytes, "us": {}}
        for name in args.choices:
            launch = CHOICES[name]
            assert torch.equal(fk.geglu(proj, launch), ref)  # elementwise: any launch gives the same bits
            us = kernel_us(lambda: fk.geglu(proj, launch))["total"]
            row["us"][name] = us
            totals[name] = totals.get(name, 0.0) + us * count
        best = min(row["us"], key=row["us"].get)
        d = row["us"]["default"]
        print(f"{str(shape):22s} x{count:3d}  default {d:6.1f} us ({nbytes / d / 1e3:5.0f} GB/s)  best {best} "
              f"{row['us'][best]:6.1f} us ({nbytes / row['us'][best] / 1e3:5.0f} GB/s)")
        rows.append(row)
    print("per UNet call (GEGLU only):")
    for name, total in sorted(totals.items(), key=lambda kv: kv[1]):
        print(f"  {name:22s} {total / 1000:6.3f} ms")
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "mode": args.mode,
              "res": args.res, "frames": args.frames, "dtype": str(dtype),
              "per_call_ms": {k: v / 1000 for k, v in totals.items()},
              "choices": {k: dataclasses.asdict(CHOICES[k]) for k in args.choices}, "shapes": rows}
    save_json(resolve_out(args.out, "bench_geglu"), result, indent=2)


if __name__ == "__main__":
    main()
