"""Time of ``genxd.reconstruction.metrics.ssim`` forward and backward (the SSIM term of ``genxd reconstruct``'s loss,
computed every step) on random images, and its value and gradient for a check against another version.

    python benchmarks/bench_ssim.py --sizes 64 256 --threads 1 --out results.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_json  # noqa: E402


def measure(size: int, calls: int, repeats: int) -> dict:
    """Best of ``repeats`` of ``calls`` forward + backward passes on one ``[1, 3, size, size]`` pair (ms per pass),
    with the SSIM and the gradient's L1 norm of a seeded pair."""
    import torch

    from genxd.reconstruction.metrics import ssim

    gen = torch.Generator().manual_seed(size)
    x = torch.rand(1, 3, size, size, generator=gen).requires_grad_(True)
    y = torch.rand(1, 3, size, size, generator=gen)
    for _ in range(3):
        ssim(x, y).sum().backward()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            ssim(x, y).sum().backward()
        best = min(best, (time.perf_counter() - start) / calls)
    x.grad = None
    value = ssim(x, y)
    value.sum().backward()
    return {"size": size, "forward_backward_ms": best * 1e3, "ssim": float(value.detach()),
            "grad_l1": float(x.grad.abs().sum())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[64, 256])
    parser.add_argument("--calls", type=positive_int, default=50)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", default=None, help=out_help("bench_ssim"))
    args = parser.parse_args(argv)
    args.out = str(resolve_out(args.out, "bench_ssim"))
    import torch

    torch.set_num_threads(args.threads)
    runs = [measure(size, args.calls, args.repeats) for size in args.sizes]
    for run in runs:
        print(f"{run['size']:5d} px: {run['forward_backward_ms']:8.3f} ms forward + backward; SSIM {run['ssim']:.6f}, "
              f"gradient L1 {run['grad_l1']:.6f}")
    result = {"args": vars(args), "python": sys.version.split()[0], "torch": torch.__version__,
              "machine": platform.machine(), "cpus": os.cpu_count(), "runs": runs}
    save_json(args.out, result, indent=1)
    return result


if __name__ == "__main__":
    main()
