"""Kernel time of one guided UNet call on a given fast-path configuration (issue 10).

Builds the released UNet configuration with random weights (as ``bench_sampling.py``), switches it with
``enable_fast_path(**kwargs)``, runs the guided call (batch 2 x F frames) until compiled and captured, then
profiles ``--calls`` calls with ``torch.profiler`` *without* the CUDA-graph replay (the same kernels, run
one by one, so each is attributed) and sums device time by kernel family: GEMM, convolution, attention,
inductor-generated Triton (pointwise / reductions), normalisation, layout copies, other elementwise.
Prints the table and the top kernels, writes JSON. ``--elementwise`` also runs one call under a
``TorchDispatchMode`` and counts every add / mul / div / sub / copy above ``--min-numel`` elements by call site
(in genxd or diffusers) and operand shapes, strides, dtypes and 16-byte alignment: the kernel table names
kernels, not the Python that launched them (which adds take PyTorch's strided elementwise kernel, say).

    python benchmarks/profile_fast_path.py --fast '{"compile": true}' --out profile_fast_compile.json
    python benchmarks/profile_fast_path.py --mode 4d --elementwise --out profile_fast_4d.json
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import re
import statistics
import sys
import time
import traceback
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from genxd.pipelines.fast import CUDAGraphForward, enable_fast_path
from genxd.pipelines.tf32 import tf32_enabled

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

# first matching family wins (convolutions also say "gemm": they are tested first)
FAMILIES = [
    ("attention", r"sdpa|flash|fmha|attention"),
    ("convolution", r"conv|fprop|dgrad|implicit_gemm"),
    ("gemm", r"gemm|nvjet|cublas|cutlass|matmul|_mm_|splitk"),
    ("triton_reduction", r"^triton_(red|per)_"),
    ("triton_pointwise", r"^triton_(poi|tem)_"),
    ("normalization", r"norm|moments|welford|ComputeFusedParams"),
    ("layout", r"nchwToNhwc|nhwcToNchw|copy|transpose|cat"),
    ("elementwise", r"elementwise|vectorized|reduce"),
    ("memset/memcpy", r"^memset|^memcpy"),
]


def family(name: str) -> str:
    for fam, pattern in FAMILIES:
        if re.search(pattern, name, flags=re.IGNORECASE):
            return fam
    return "other"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_sampling", HERE / "bench_sampling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


OPS = ("add", "mul", "div", "sub", "copy", "clone")  # and their in-place forms (add_, copy_, ...)


def _site() -> str:
    """The innermost two frames in genxd or diffusers code (file:line)."""
    frames = [f for f in traceback.extract_stack() if "/genxd/" in f.filename or "/diffusers/" in f.filename]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-2:][::-1])


class ElementwiseLog(TorchDispatchMode):
    """Counts elementwise operators on tensors of at least ``min_numel`` elements, keyed by layout (operands and
    output) and site. Each counted operator runs inside ``record_function("genxd_ew:<key>")``, so that under
    ``torch.profiler`` :meth:`attribute` can name the kernels each key launched and their device time (the
    label numbers the calls; ``calls[i]`` is call ``i``'s key)."""

    LABEL = "genxd_ew:"

    def __init__(self, min_numel: int) -> None:
        super().__init__()
        self.min_numel = min_numel
        self.counts: collections.Counter = collections.Counter()
        self.calls: list[tuple] = []
        self.kernels: dict[tuple, collections.Counter] = defaultdict(collections.Counter)  # key -> name -> us

    @staticmethod
    def _layout(t: torch.Tensor) -> tuple:
        return tuple(t.shape), t.stride(), str(t.dtype).removeprefix("torch."), t.data_ptr() % 16 == 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if name.rstrip("_") not in OPS or not tensors or max(t.numel() for t in tensors) < self.min_numel:
            return func(*args, **(kwargs or {}))
        with torch.profiler.record_function(f"{self.LABEL}{len(self.calls)}"):
            out = func(*args, **(kwargs or {}))
        key = (name, _site(), tuple(self._layout(t) for t in tensors),
               self._layout(out) if isinstance(out, torch.Tensor) else None)
        self.calls.append(key)
        self.counts[key] += 1
        return out

    def attribute(self, prof) -> None:
        """Kernels (name -> microseconds) under each key's labels in a ``torch.profiler`` run with this log on."""
        for ev in prof.events():
            if not ev.name.startswith(self.LABEL):
                continue
            key = self.calls[int(ev.name[len(self.LABEL):])]
            stack = list(ev.cpu_children)
            while stack:
                child = stack.pop()
                stack.extend(child.cpu_children)
                for k in child.kernels:
                    self.kernels[key][k.name] += k.duration

    def rows(self) -> list[dict]:
        """The counts as JSON rows, most frequent first (with ``kernels`` once :meth:`attribute` ran)."""
        def layout(s, st, dt, al):
            return {"shape": list(s), "stride": list(st), "dtype": dt, "aligned16": al}

        return [{"count": n, "op": op, "site": site, "operands": [layout(*o) for o in ops],
                 "output": layout(*out) if out else None,
                 "kernels": [{"name": k[:120], "us": us} for k, us in self.kernels[key].most_common()]}
                for key, n in self.counts.most_common() for op, site, ops, out in [key]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", default="{}", help="enable_fast_path keyword arguments as JSON (dtype: bf16 default)")
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--mode", choices=["3d", "4d"], default="3d")
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--elementwise", action="store_true", help="also list the elementwise operators with layouts")
    ap.add_argument("--min-numel", type=int, default=100_000, help="--elementwise: smallest operand counted")
    ap.add_argument("--out", default=None, help=out_help("profile_fast_path"))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("profile_fast_path needs a CUDA GPU")
    bench = load_bench()
    kwargs = json.loads(args.fast)
    pipe = bench.build_pipe(None, torch.float32).to("cuda")
    t0 = time.perf_counter()
    enable_fast_path(pipe, **kwargs)
    inp = bench.unet_inputs(pipe, args.res, args.frames, "cuda", args.mode)
    with torch.no_grad(), tf32_enabled(pipe.tf32):  # as the pipeline's own calls run the UNet
        pipe.unet(**inp)
        torch.cuda.synchronize()
        first_s = time.perf_counter() - t0
        times, peak = bench.timed(lambda: pipe.unet(**inp), args.reps, 2)
        CUDAGraphForward.remove(pipe.unet)  # kernels one by one for attribution
        for _ in range(2):
            pipe.unet(**inp)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(args.calls):
            pipe.unet(**inp)
        torch.cuda.synchronize()
        unreplayed_ms = (time.perf_counter() - t) * 1000 / args.calls
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(args.calls):
                pipe.unet(**inp)
            torch.cuda.synchronize()
    kernels: dict[str, list[float]] = defaultdict(list)
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA:
            kernels[ev.name].append(ev.device_time if hasattr(ev, "device_time") else ev.cuda_time)
    per_kernel = {k: (sum(v) / 1000 / args.calls, len(v) / args.calls) for k, v in kernels.items()}
    total_ms = sum(ms for ms, _ in per_kernel.values())
    fams: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for name, (ms, n) in per_kernel.items():
        f = fams[family(name)]
        f[0] += ms
        f[1] += n
    result = {
        "device": torch.cuda.get_device_name(0), "torch": torch.__version__, "fast_path": kwargs, "res": args.res,
        "frames": args.frames, "mode": args.mode, "first_call_s": first_s,
        "call_ms_median": statistics.median(times), "call_peak_gib": peak, "unreplayed_call_ms": unreplayed_ms,
        "kernel_ms_per_call": total_ms, "kernels_per_call": sum(n for _, n in per_kernel.values()),
        "families": {k: {"ms": v[0], "kernels": v[1], "share": v[0] / total_ms} for k, v in
                     sorted(fams.items(), key=lambda kv: -kv[1][0])},
        "top": [{"name": k[:160], "ms": ms, "count": n, "family": family(k)} for k, (ms, n) in
                sorted(per_kernel.items(), key=lambda kv: -kv[1][0])[: args.top]],
    }
    if args.elementwise:
        log = ElementwiseLog(args.min_numel)
        with torch.no_grad(), profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof_ew:
            with log:
                pipe.unet(**inp)  # eager (the CUDA graph was removed above)
            torch.cuda.synchronize()
        log.attribute(prof_ew)
        result["elementwise"] = log.rows()
    print(f"call {result['call_ms_median']:.1f} ms (replayed), {unreplayed_ms:.1f} ms unreplayed, "
          f"{total_ms:.1f} ms of kernels in {result['kernels_per_call']:.0f} kernels; first call {first_s:.0f} s")
    for k, v in result["families"].items():
        print(f"  {k:18s} {v['ms']:7.2f} ms  {v['kernels']:6.0f} kernels  {100 * v['share']:5.1f}%")
    for row in result["top"]:
        print(f"  {row['ms']:7.3f} ms x{row['count']:5.0f} [{row['family']}] {row['name'][:110]}")
    for r in result.get("elementwise", []):
        desc = "; ".join(f"{tuple(o['shape'])} {tuple(o['stride'])}{'' if o['aligned16'] else ' UNALIGNED'}"
                         for o in r["operands"])
        out = f" -> {tuple(r['output']['stride'])}" if r["output"] else ""
        kern = ", ".join(f"{k['name'].removeprefix('void ').removeprefix('at::native::').split(', at::')[0]} {k['us'] / r['count']:.1f} us" for k in r["kernels"])
        print(f"  {r['count']:4d} {r['op']:8s} {r['site']:50s} {desc}{out} [{kern}]")
    save_json(resolve_out(args.out, "profile_fast_path"), result, indent=2)


if __name__ == "__main__":
    main()
