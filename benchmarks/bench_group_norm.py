"""The fast path's GroupNorm kernels on the shapes of one guided UNet call, launch choices side by side.

Records the GroupNorm calls of one guided call of the released UNet configuration (random weights, the fast
path, 3D or 4D) with their shapes and time-embedding adds, then times, for each launch choice of
:class:`genxd.pipelines.fused_norms.GroupNormLaunch` below, the three kernels (statistics of chunks, merge,
normalise) on every recorded shape, and reports the call's total (weighted by how often each shape occurs)
and the effective bandwidth (kernel time from ``torch.profiler``: no launch overhead). CUDA only.

    python benchmarks/bench_group_norm.py --mode 4d --out bench_group_norm_4d.json
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_output import out_help, resolve_out, save_json  # noqa: E402
from bench_sampling import build_pipe, unet_inputs  # noqa: E402

from genxd.pipelines import fused_norms as fn  # noqa: E402
from genxd.pipelines.fast import CUDAGraphForward, enable_fast_path  # noqa: E402

CHOICES = {
    "default": fn.GroupNormLaunch(),
    "partial_8_warps": fn.GroupNormLaunch(partial_warps=8),
    "tile_8192_8_warps": fn.GroupNormLaunch(max_block_c=256, tile=8192, partial_warps=8, apply_warps=8),
    "tile_16384_8_warps": fn.GroupNormLaunch(tile=16384, partial_warps=8, apply_warps=8),
    "tile_8192_8_warps_programs_2048": fn.GroupNormLaunch(tile=8192, partial_warps=8, apply_warps=8,
                                                          target_programs=2048),
    "tile_2048": fn.GroupNormLaunch(tile=2048),
    "programs_2048": fn.GroupNormLaunch(target_programs=2048),
    "programs_512": fn.GroupNormLaunch(target_programs=512),
    "block_c_256": fn.GroupNormLaunch(max_block_c=256),  # the default until 2026-12-01
    "block_c_128": fn.GroupNormLaunch(max_block_c=128),
    "block_c_64": fn.GroupNormLaunch(max_block_c=64),
    "block_c_64_tile_2048": fn.GroupNormLaunch(max_block_c=64, tile=2048),
    "block_c_32": fn.GroupNormLaunch(max_block_c=32),
    "block_c_32_tile_2048": fn.GroupNormLaunch(max_block_c=32, tile=2048),
}


def record_calls(pipe, inp) -> collections.Counter:
    """(x shape, add shape or None, groups, silu) -> calls, over one UNet call."""
    calls: collections.Counter = collections.Counter()
    original = fn.GroupNormNHWC.forward

    def forward(self, x, add=None):
        calls[(tuple(x.shape), None if add is None else tuple(add.shape), self.num_groups, bool(self.fused_silu))] += 1
        return original(self, x, add)

    fn.GroupNormNHWC.forward = forward
    try:
        with torch.no_grad():
            pipe.unet(**inp)
    finally:
        fn.GroupNormNHWC.forward = original
    return calls


def kernel_us(fn_, calls: int = 20) -> dict[str, float]:
    """Device microseconds per call of ``fn_``, by kernel (``partial``, ``merge``, ``apply``) and in total, from
    ``torch.profiler`` over ``calls`` calls after 3 warm-up calls: kernel time alone (launch overhead, which
    a CUDA graph removes in the pipeline, is not counted)."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        fn_()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn_()
        torch.cuda.synchronize()
    out: dict[str, float] = collections.defaultdict(float)
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA:
            name = next((k for k in ("partial", "merge", "apply") if f"_gn_{k}_kernel" in ev.name), "other")
            out[name] += ev.device_time / calls
    out["total"] = sum(out.values())
    return dict(out)


def launch_bench_setup(doc: str, choices: dict, out: str) -> tuple[argparse.Namespace, object, dict]:
    """The command line of a launch-choice benchmark (``--mode --res --frames --choices --out``; ``--out`` defaults
    to ``None``: ``bench_output.default_out`` of ``out``'s stem) and the fast-path pipeline of the released
    configuration on CUDA, its kernels compiled by one guided call and its CUDA-graph replay removed (so recorders
    see every call): ``(args, pipe, unet inputs)``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["3d", "4d"], default="4d")
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--choices", nargs="*", default=list(choices), help=f"launch choices, of {list(choices)}")
    ap.add_argument("--out", default=None, help=out_help(Path(out).stem))
    args = ap.parse_args()
    if not fn.triton_available():
        raise SystemExit(f"{Path(out).stem} needs CUDA and Triton")
    pipe = build_pipe(None, torch.float32).to("cuda")
    enable_fast_path(pipe)
    inp = unet_inputs(pipe, args.res, args.frames, "cuda", args.mode)
    with torch.no_grad():
        pipe.unet(**inp)  # switch, compile the kernels, capture
    CUDAGraphForward.remove(pipe.unet)
    return args, pipe, inp


def main() -> None:
    args, pipe, inp = launch_bench_setup(__doc__, CHOICES, "bench_group_norm.json")
    calls = record_calls(pipe, inp)
    dtype = next(pipe.unet.parameters()).dtype
    torch.manual_seed(0)
    rows, totals = [], {}
    for (shape, add_shape, groups, silu), count in sorted(calls.items(), key=lambda kv: -kv[1]):
        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
        x = torch.randn(shape, device="cuda", dtype=dtype).contiguous(memory_format=fmt)
        add = None if add_shape is None else torch.randn(add_shape, device="cuda", dtype=dtype)
        w, b = torch.randn(shape[1], device="cuda", dtype=dtype), torch.randn(shape[1], device="cuda", dtype=dtype)
        ref = fn._group_norm_triton(x, w, b, groups, 1e-5, silu, add, CHOICES["default"])
        row = {"shape": list(shape), "add": add_shape and list(add_shape), "groups": groups, "silu": silu,
               "calls": count, "us": {}}
        for name in args.choices:
            launch = CHOICES[name]
            y = fn._group_norm_triton(x, w, b, groups, 1e-5, silu, add, launch)
            err = (y.float() - ref.float()).abs().max().item()  # same maths, other chunking: rounding only
            us = kernel_us(lambda: fn._group_norm_triton(x, w, b, groups, 1e-5, silu, add, launch))
            row["us"][name] = {**us, "max_diff_vs_default": err}
            totals[name] = totals.get(name, 0.0) + us["total"] * count
        bytes_rw = 2 * x.numel() * x.element_size()  # read once for statistics, read + write to normalise
        row["bytes"] = bytes_rw + x.numel() * x.element_size()
        rows.append(row)
        best = min(row["us"], key=lambda k: row["us"][k]["total"])
        d = row["us"]["default"]
        print(f"{str(tuple(shape)):22s} add {str(add_shape):15s} x{count:3d}  default {d['total']:5.1f} us (partial "
              f"{d.get('partial', 0):5.1f} merge {d.get('merge', 0):4.1f} apply {d.get('apply', 0):5.1f}; "
              f"{row['bytes'] / d['total'] / 1e3:4.0f} GB/s)  best {best} {row['us'][best]['total']:5.1f} us")
    print("per UNet call (GroupNorms only):")
    for name, total in sorted(totals.items(), key=lambda kv: kv[1]):
        print(f"  {name:24s} {total / 1000:6.3f} ms")
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "mode": args.mode,
              "res": args.res, "frames": args.frames, "dtype": str(dtype),
              "per_call_ms": {k: v / 1000 for k, v in totals.items()},
              "choices": {k: dataclasses.asdict(CHOICES[k]) for k in args.choices},
              "shapes": rows}
    save_json(resolve_out(args.out, "bench_group_norm"), result, indent=2)


if __name__ == "__main__":
    main()
