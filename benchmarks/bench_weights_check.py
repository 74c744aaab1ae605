"""The finite-weights check of ``load_model`` (``genxd.checkpoints._check_weights``) on the bundled model: every
weight's values one weight at a time (before 2026-12-06) against the fused norms first (now). Median of
``--repeats`` calls over the UNet and the VAE, one thread.

    python benchmarks/bench_weights_check.py --repeats 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import positive_int  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=positive_int, default=20, help="calls of each check (default 20)")
    args = parser.parse_args(argv)
    from genxd.checkpoints import _check_weights, load_model

    torch.set_num_threads(1)
    pipe = load_model(None, device="cpu", dtype="fp32").pipe
    modules = [pipe.unet, pipe.vae]

    def each_value() -> None:
        for module in modules:
            for name, p in module.named_parameters():
                if p.is_floating_point() and not bool(torch.isfinite(p.detach()).all()):
                    raise ValueError(name)

    def fused_norms() -> None:
        for module in modules:
            _check_weights(module, Path("weights"), torch.device("cpu"))

    count = sum(1 for m in modules for _ in m.parameters())
    values = sum(p.numel() for m in modules for p in m.parameters())
    print(f"bundled model: {count} weights, {values:,} values")
    for run in (each_value, fused_norms, each_value, fused_norms):
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - start)
        print(f"{run.__name__:12s} median {statistics.median(seconds) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
