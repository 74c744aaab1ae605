"""Benchmark of ``genxd.reconstruction``: optimisation speed and the two rasteriser backends.

Measures, on a synthetic static scene (``genxd.data.synthetic``, 24 orbit views, 4 held out):

1. reconstruction speed at 256x256 (default 2,000 steps on CUDA, 100 on CPU): seconds, steps
   per second, Gaussian count, held-out PSNR; on CUDA for each rasteriser backend (gsplat's CUDA
   kernels when installed, and the pure-PyTorch one);
2. on CUDA with gsplat installed: the max abs difference between gsplat's rasteriser and ours on
   a fixed set of Gaussians, and their forward+backward times.

Prints the results and writes them as JSON (``--out``, default a new
``benchmarks/results/local/bench_reconstruction_<UTC time>.json``, git-ignored; the committed record
``benchmarks/results/bench_reconstruction_h100.json`` was written with an explicit ``--out``).

    python benchmarks/bench_reconstruction.py                      # CUDA if available, else CPU
    python benchmarks/bench_reconstruction.py --device cpu --iterations 100
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_views(resolution: int, device: torch.device, num_views: int = 24):
    """The synthetic static scene from 24 orbit cameras (ray-traced on ``device``)."""
    from genxd.data.synthetic import make_scene, orbit_cameras, render
    from genxd.reconstruction.views import Views

    scene = make_scene(0)
    c2w, K = orbit_cameras(num_views, radius=4.0, elevation_deg=25.0, azimuth_range_deg=360.0, focal=1.0)
    out = render(scene, c2w, K, resolution, resolution, device=device)
    return Views(out.rgb.cpu(), c2w, K, [f"view_{i:02d}" for i in range(num_views)], depths=out.depth.cpu())


def bench_reconstruction(views, iterations: int, device: str, backend: str, init: str) -> dict:
    from genxd.reconstruction.pipeline import holdout_split
    from genxd.reconstruction.trainer import ReconstructionConfig, evaluate_views, train_gaussians

    train, test = holdout_split(len(views), 6)
    config = ReconstructionConfig(iterations=iterations, device=device, backend=backend, init=init)  # type: ignore[arg-type]
    result = train_gaussians(views.subset(train), config, progress=True)
    metrics, _ = evaluate_views(result.model, views.subset(test), torch.zeros(3, device=device), backend=backend)  # type: ignore[arg-type]
    return {
        "backend": backend,
        "iterations": iterations,
        "resolution": [views.height, views.width],
        "init": result.init_method,
        "train_views": len(train),
        "seconds": round(result.seconds, 3),
        "steps_per_second": round(iterations / result.seconds, 3),
        "num_gaussians": result.model.num_gaussians,
        "held_out_psnr": round(metrics["psnr"], 3),
        "held_out_ssim": round(metrics["ssim"], 4),
        "final_train_psnr": result.history[-1]["psnr"] if result.history else None,
    }


def bench_backends(device: torch.device, num_gaussians: int = 20_000, size: int = 256, repeats: int = 10) -> dict:
    """gsplat vs the pure-PyTorch rasteriser on fixed random Gaussians (CUDA only)."""
    from genxd.cameras import intrinsics_from_focal, look_at
    from genxd.reconstruction.rasterizer import rasterize_with_info

    gen = torch.Generator().manual_seed(0)
    params = {
        "means": torch.rand(num_gaussians, 3, generator=gen) * 2 - 1,
        "quats": torch.randn(num_gaussians, 4, generator=gen),
        "scales": torch.rand(num_gaussians, 3, generator=gen) * 0.03 + 0.005,
        "opacities": torch.rand(num_gaussians, generator=gen) * 0.9 + 0.05,
        "colors": torch.rand(num_gaussians, 3, generator=gen),
    }
    params = {k: v.to(device).requires_grad_() for k, v in params.items()}
    c2w = look_at(torch.tensor([[0.4, -0.8, -3.0]]), torch.zeros(3)).to(device)
    K = intrinsics_from_focal(1.1)[None].to(device)
    background = torch.tensor([0.1, 0.2, 0.3], device=device)
    outputs, timings = {}, {}
    for backend in ("gsplat", "torch"):
        args = (params["means"], params["quats"], params["scales"], params["opacities"], params["colors"], c2w, K, size, size, background)
        out = rasterize_with_info(*args, backend=backend)  # warm-up (gsplat JIT-compiles on first use)
        out.rgb.sum().backward()
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            out = rasterize_with_info(*args, backend=backend)
            (out.rgb.sum() + out.depth.sum()).backward()
        _sync(device)
        timings[backend] = (time.perf_counter() - start) / repeats
        outputs[backend] = rasterize_with_info(*args, backend=backend)
    # the torch backend with TF32 GEMMs enabled process-wide (as genxd's fast sampling path and
    # training do): it must not change (no GEMM in its projection)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with torch.no_grad():
            outputs["torch_tf32"] = rasterize_with_info(*args, backend="torch")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    # the pure-PyTorch rasteriser on the CPU, same Gaussians
    cpu_args = tuple(a.detach().cpu() if torch.is_tensor(a) else a for a in args)
    with torch.no_grad():
        outputs["torch_cpu"] = rasterize_with_info(*cpu_args, backend="torch")

    def max_diffs(a, b) -> dict:
        a_rgb, a_alpha, a_depth = (x.detach().cpu() for x in (a.rgb, a.alpha, a.depth))
        b_rgb, b_alpha, b_depth = (x.detach().cpu() for x in (b.rgb, b.alpha, b.depth))
        visible = (a_alpha > 0.5) & (b_alpha > 0.5)
        return {
            "rgb": float((a_rgb - b_rgb).abs().max()),
            "alpha": float((a_alpha - b_alpha).abs().max()),
            "depth_where_alpha_gt_0.5": float((a_depth - b_depth)[visible].abs().max()),
        }

    return {
        "num_gaussians": num_gaussians,
        "size": [size, size],
        "max_abs_diff_gsplat_vs_torch_cuda": max_diffs(outputs["gsplat"], outputs["torch"]),
        "max_abs_diff_gsplat_vs_torch_cpu": max_diffs(outputs["gsplat"], outputs["torch_cpu"]),
        "max_abs_diff_gsplat_vs_torch_cuda_tf32_on": max_diffs(outputs["gsplat"], outputs["torch_tf32"]),
        "forward_backward_ms": {k: round(v * 1000, 3) for k, v in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--iterations", type=positive_int, default=None, help="default: 2000 on CUDA, 100 on CPU")
    parser.add_argument("--resolution", type=positive_int, default=256)
    parser.add_argument("--init", default="depth", choices=["depth", "random"])
    parser.add_argument("--out", type=Path, default=None, help=out_help("bench_reconstruction"))
    args = parser.parse_args(argv)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        parser.error(f"--device: unknown device {args.device!r} (valid: cpu, cuda, cuda:N)")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: cuda requested but not available")
    check_out(parser, args.out)
    iterations = args.iterations if args.iterations is not None else (2000 if device.type == "cuda" else 100)

    from genxd.reconstruction.rasterizer import gsplat_available

    results: dict = {
        "benchmark": "genxd reconstruction",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gsplat_available": gsplat_available(),
        "reconstruction": [],
    }
    start = time.perf_counter()
    views = synthetic_views(args.resolution, device)
    print(f"rendered {len(views)} synthetic views at {args.resolution}x{args.resolution} in {time.perf_counter() - start:.1f} s")
    backends = ["torch"]
    if device.type == "cuda" and gsplat_available():
        backends = ["gsplat", "torch"]
    for backend in backends:
        row = bench_reconstruction(views, iterations, str(device), backend, args.init)
        results["reconstruction"].append(row)
        print(
            f"[{backend}] {row['resolution'][0]}x{row['resolution'][1]}, {iterations} steps: {row['seconds']:.1f} s "
            f"({row['steps_per_second']:.2f} steps/s), {row['num_gaussians']} Gaussians, held-out PSNR {row['held_out_psnr']:.2f} dB"
        )
    if device.type == "cuda" and gsplat_available():
        results["gsplat_vs_torch"] = bench_backends(device)
        d = results["gsplat_vs_torch"]
        print(f"gsplat vs torch rasteriser (CUDA): max |diff| {d['max_abs_diff_gsplat_vs_torch_cuda']}")
        print(f"gsplat (CUDA) vs torch rasteriser (CPU): max |diff| {d['max_abs_diff_gsplat_vs_torch_cpu']}")
        print(f"gsplat vs torch rasteriser (CUDA, TF32 on): max |diff| {d['max_abs_diff_gsplat_vs_torch_cuda_tf32_on']}")
        print(f"forward+backward ms at {d['size'][0]}x{d['size'][1]}, {d['num_gaussians']} Gaussians: {d['forward_backward_ms']}")
    save_json(resolve_out(args.out, "bench_reconstruction"), results, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
