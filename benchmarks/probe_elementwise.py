"""Which elementwise operations a fast-path UNet call runs, with their operands' layouts (issue 26).

The kernel profile (``profile_fast_path.py``) names kernels, not the Python that launched them: after the
second round of Triton kernels, 110 (3D) / 170 (4D) adds of the default path run PyTorch's strided
elementwise kernel instead of the vectorized one. This runs one guided call eagerly (no CUDA graph) under a
``TorchDispatchMode`` and counts every add / mul / div / sub / copy above ``--min-numel`` elements by (operator,
call site in genxd or diffusers, operand shapes, strides, dtypes, and whether each operand's address is 16-byte
aligned), prints the table and writes JSON.

    python benchmarks/probe_elementwise.py --mode 4d --out probe_elementwise_4d.json        # CUDA, released config
    python benchmarks/probe_elementwise.py --checkpoint tests/fixtures/reference_small --device cpu --res 64 --frames 8
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import traceback
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

HERE = Path(__file__).resolve().parent
OPS = ("add", "mul", "div", "sub", "copy_", "clone")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sampling", HERE / "bench_sampling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _site() -> str:
    """The innermost two frames in genxd or diffusers code (file:line)."""
    frames = [f for f in traceback.extract_stack() if "/genxd/" in f.filename or "/diffusers/" in f.filename]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-2:][::-1])


class ElementwiseLog(TorchDispatchMode):
    """Counts elementwise operators on tensors of at least ``min_numel`` elements, keyed by layout and site."""

    def __init__(self, min_numel: int) -> None:
        super().__init__()
        self.min_numel = min_numel
        self.counts: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if name.rstrip("_") in OPS or name in OPS:
            if tensors and max(t.numel() for t in tensors) >= self.min_numel:
                operands = tuple((tuple(t.shape), t.stride(), str(t.dtype).removeprefix("torch."),
                                  t.data_ptr() % 16 == 0) for t in tensors)
                self.counts[(name, _site(), operands)] += 1
        return func(*args, **(kwargs or {}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="GenXD folder (default: released config, random weights)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--mode", choices=["3d", "4d"], default="3d")
    ap.add_argument("--min-numel", type=int, default=100_000)
    ap.add_argument("--out", default=None, help="JSON file for the table")
    args = ap.parse_args()
    bench = _bench()
    if args.device == "cuda":
        from genxd.pipelines.fast import enable_fast_path

        if not torch.cuda.is_available():
            raise SystemExit("--device cuda needs a CUDA GPU (use --device cpu with a small --checkpoint)")
        pipe = bench.build_pipe(args.checkpoint, torch.float32).to("cuda")
        enable_fast_path(pipe, cuda_graph=False)  # eager: every operator dispatches from Python
    else:
        from genxd.pipelines import GenXDPipeline
        from genxd.pipelines.fast import enable_cpu_path

        if not args.checkpoint:
            raise SystemExit("--device cpu needs --checkpoint (the released configuration is too large here)")
        pipe = enable_cpu_path(GenXDPipeline.from_pretrained(args.checkpoint))
    inputs = bench.unet_inputs(pipe, args.res, args.frames, args.device, args.mode)
    log = ElementwiseLog(args.min_numel)
    with torch.no_grad():
        pipe.unet(**inputs)  # warm-up (caches, kernels) outside the log
        with log:
            pipe.unet(**inputs)
    rows = [{"count": n, "op": op, "site": site,
             "operands": [{"shape": list(s), "stride": list(st), "dtype": dt, "aligned16": al} for s, st, dt, al in ops]}
            for (op, site, ops), n in log.counts.most_common()]
    for r in rows:
        desc = "; ".join(f"{tuple(o['shape'])} {tuple(o['stride'])}{'' if o['aligned16'] else ' UNALIGNED'}"
                         for o in r["operands"])
        print(f"{r['count']:4d} {r['op']:8s} {r['site']:50s} {desc}")
    if args.out:
        Path(args.out).write_text(json.dumps({"device": args.device, "mode": args.mode, "res": args.res,
                                              "frames": args.frames, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
