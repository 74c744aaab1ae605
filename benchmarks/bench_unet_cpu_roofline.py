"""How close one UNet call of the README command runs to the CPU's limit (issue 26).

Loads the bundled model as ``genxd generate`` does on a CPU, records the inputs of one guided UNet call of
``genxd generate examples/scene_a.png --camera orbit`` (batch 2 x 8 frames, 64x64, 3D), and measures:

- the call's floating-point work by operator family (``torch.utils.flop_counter``: attention, convolution,
  matrix products; normalisation and elementwise work are not counted and appear as time only);
- the time of each family in the call (``torch.profiler``, self CPU time, ``--profile-reps`` calls) and the
  median wall time of ``--reps`` calls;
- the machine's practical float32 limit with the same threads: the best of several large square matrix
  products (``--peak-sizes``), which is what the convolutions and attention can hope for at best.

Each family's achieved GFLOP/s next to that limit says where time could still be won. Prints and saves JSON.

    python benchmarks/bench_unet_cpu_roofline.py --threads 2 --out bench_unet_cpu_roofline.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_output import out_help, resolve_out, save_json  # noqa: E402

#: profiler operator name -> family (self time of these ops; the rest is "other")
FAMILIES = {
    "aten::_scaled_dot_product_flash_attention_for_cpu": "attention",
    "aten::_scaled_dot_product_attention_math": "attention",
    "aten::bmm": "attention",
    "aten::baddbmm": "attention",
    "aten::mkldnn_convolution": "convolution",
    "aten::convolution_overrideable": "convolution",
    "aten::addmm": "matmul",
    "aten::mm": "matmul",
    "aten::native_group_norm": "normalisation",
    "aten::native_layer_norm": "normalisation",
}
#: flop-counter operator name (prefix) -> family
FLOP_FAMILIES = {
    "_scaled_dot_product": "attention",
    "bmm": "attention",
    "baddbmm": "attention",
    "convolution": "convolution",
    "addmm": "matmul",
    "mm": "matmul",
}


def matmul_peak(sizes: list[int], reps: int) -> float:
    """Best GFLOP/s of float32 square matrix products (``reps`` of each size in ``sizes``, after a warm-up):
    on a shared machine single products vary by 1.5x, so the best of many is the limit."""
    best = 0.0
    for size in sizes:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.mm(a, b)
        for _ in range(reps):
            t = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * size**3 / (time.perf_counter() - t) / 1e9)
    return best


def family_flops(call) -> dict[str, float]:
    """Floating-point operations of ``call()`` by family. The flop counter has no formula for the CPU's
    attention kernel, so attention is counted at ``F.scaled_dot_product_attention`` (``4 B H Lq Lk D``: the
    two matrix products; the softmax not counted)."""
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    attention = 0.0
    sdpa = F.scaled_dot_product_attention

    def counted(q, k, v, *args, **kwargs):
        nonlocal attention
        attention += 4.0 * q.shape[:-2].numel() * q.shape[-2] * k.shape[-2] * q.shape[-1]
        return sdpa(q, k, v, *args, **kwargs)

    F.scaled_dot_product_attention = counted
    try:
        with FlopCounterMode(display=False) as counter:
            call()
    finally:
        F.scaled_dot_product_attention = sdpa
    out: dict[str, float] = defaultdict(float)
    out["attention"] = attention
    for op, n in counter.get_flop_counts()["Global"].items():
        name = str(op).removeprefix("aten.").split(".")[0]  # aten.convolution.default -> convolution
        fam = next((f for prefix, f in FLOP_FAMILIES.items() if name.startswith(prefix)), "other")
        out[fam] += float(n)
    return dict(out)


def family_seconds(call, reps: int) -> dict[str, float]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(reps):
            call()
    out: dict[str, float] = defaultdict(float)
    for ev in prof.key_averages():
        out[FAMILIES.get(ev.key, "other")] += ev.self_cpu_time_total / 1e6 / reps
    return dict(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10, help="timed UNet calls (after 2 warm-up calls)")
    ap.add_argument("--profile-reps", type=int, default=3, help="UNet calls under the profiler")
    ap.add_argument("--peak-sizes", type=int, nargs="+", default=[1024, 2048], help="sides of the peak test's matrices")
    ap.add_argument("--peak-reps", type=int, default=10, help="products of each size in the peak test")
    ap.add_argument("--out", type=Path, default=None, help=out_help("bench_unet_cpu_roofline"))
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)

    import genxd.api as api
    from bench_cpu_variants import _record_unet_inputs

    from genxd.api import load_model

    lm = load_model(None, "cpu")
    pipe = lm.pipe
    pipe.set_progress_bar_config(disable=True)
    unet_args, unet_kwargs = _record_unet_inputs(pipe, api, lm.defaults)

    def call():
        with torch.no_grad():
            return pipe.unet(*unet_args, **unet_kwargs)

    for _ in range(2):
        call()
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    flops = family_flops(call)
    seconds = family_seconds(call, args.profile_reps)
    peak = matmul_peak(args.peak_sizes, args.peak_reps)
    wall = statistics.median(times)
    families = {}
    for fam in sorted(set(flops) | set(seconds)):
        f, s = flops.get(fam, 0.0), seconds.get(fam, 0.0)
        families[fam] = {"gflop": f / 1e9, "seconds": s, "share_of_time": s / sum(seconds.values()),
                         "gflop_per_s": f / s / 1e9 if f and s else None,
                         "fraction_of_peak": f / s / 1e9 / peak if f and s else None}
    total = sum(flops.values())
    result = {
        "benchmark": "one guided UNet call of the README command on the CPU against the machine's matmul limit",
        "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(), "threads": args.threads,
        "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "unet_input_shape": list(unet_args[0].shape),
        "call_median_s": wall, "call_s": times,
        "call_gflop": total / 1e9, "call_gflop_per_s": total / wall / 1e9,
        "matmul_peak_gflop_per_s": peak, "peak_test": f"float32 mm of sides {args.peak_sizes}, best of {args.peak_reps} each",
        "families": families,
        "load_1min": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=1))
    save_json(resolve_out(args.out, "bench_unet_cpu_roofline"), result, indent=1)
    return result


if __name__ == "__main__":
    main()
