"""The slow start of few-shot reconstruction on a CPU (issue 19 item 6), with and without
``ReconstructionConfig.init_max_layers``.

Scene: a synthetic ReconFusion-style scene (``genxd synth --format reconfusion``: 12 orbit views,
256x256, seed 0; or ``--data`` an existing ReconFusion folder), its 3-view split
``train_test_split_3`` (3 training views, the rest held out), random initialisation (a ReconFusion
scene has no depth and no COLMAP points), the CPU defaults otherwise (500 steps).

For each ``--resolutions`` R and each ``init_max_layers`` (None: the old behaviour, and the default):
the seconds of the first ``--first`` steps (training stopped there), the initial depth in Gaussians
(``footprint_layers``) and the shrink factor. For each ``--full`` R: whole runs (``--iterations``
steps) with both settings and the held-out PSNR / SSIM on the split's test views.

    OMP_NUM_THREADS=1 python benchmarks/bench_recon_cpu_start.py --threads 1
    python benchmarks/bench_recon_cpu_start.py --resolutions 128 256 --full 128 --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


class _Stop(Exception):
    pass


def make_scene(folder: Path, size: int = 256) -> Path:
    """``genxd synth --format reconfusion --frames 12 --size SIZE --camera orbit --seed 0`` into ``folder``."""
    from genxd.data.synthetic import make_clip, write_clip

    clip = make_clip(0, "3d", 12, size, size, camera="orbit", device="cpu")
    write_clip(clip, folder, "synth_3d_000000", "reconfusion", overwrite=True)
    return folder


def few_shot_views(data: Path, resolution: int, n_views: int = 3):
    from genxd.reconstruction.views import load_views, reconfusion_split

    views = load_views(data, resolution=resolution)
    _, train, test = reconfusion_split(data, None, n_views)
    return views.subset(train), views.subset(test)


def first_steps(train, max_layers: float | None, first: int, iterations: int, seed: int = 0) -> dict:
    """Seconds of each of the first ``first`` steps of a run of ``iterations`` steps (then stopped)."""
    from genxd.reconstruction.gaussians import knn_scales
    from genxd.reconstruction.init import footprint_layers, initial_points
    from genxd.reconstruction.trainer import ReconstructionConfig, train_gaussians

    config = ReconstructionConfig(iterations=iterations, init="random", init_max_layers=max_layers, seed=seed)
    init = initial_points(train, "random", config.init_points, config.seed)  # what train_gaussians draws
    layers = footprint_layers(init.points, knn_scales(init.points), train.c2w, train.K, train.height, train.width)
    times: list[float] = []

    def callback(step, model, stats):
        times.append(stats["seconds"])
        if step + 1 >= first:
            raise _Stop

    start = time.perf_counter()
    try:
        train_gaussians(train, config, progress=False, callback=callback)
    except _Stop:
        pass
    total = time.perf_counter() - start  # includes the initialisation (and the footprint measure)
    per_step = [b - a for a, b in zip([0.0] + times[:-1], times)]
    shrink = 1.0 if max_layers is None or layers <= max_layers else (max_layers / layers) ** 0.5
    return {
        "init_max_layers": max_layers,
        "initial_layers": round(layers, 1),
        "init_shrink": round(shrink, 4),
        f"seconds_first_{first}_steps": round(times[-1], 2),
        "seconds_with_init": round(total, 2),
        "slowest_step_s": round(max(per_step), 3),
        "steps_per_second_last_10": round(10 / sum(per_step[-10:]), 2),
    }


def full_run(train, test, max_layers: float | None, iterations: int, seed: int = 0) -> dict:
    from genxd.reconstruction.trainer import ReconstructionConfig, evaluate_views, train_gaussians

    config = ReconstructionConfig(iterations=iterations, init="random", init_max_layers=max_layers, seed=seed)
    result = train_gaussians(train, config, progress=False)
    metrics, _ = evaluate_views(result.model, test, torch.zeros(3))
    return {
        "init_max_layers": max_layers,
        "iterations": iterations,
        "train_seconds": round(result.seconds, 1),
        "init_shrink": round(result.init_shrink, 4),
        "num_gaussians": result.model.num_gaussians,
        "held_out_psnr": round(metrics["psnr"], 3),
        "held_out_ssim": round(metrics["ssim"], 4),
        "final_train_psnr": round(result.history[-1]["psnr"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="ReconFusion folder (default: synthesise one)")
    parser.add_argument("--resolutions", type=int, nargs="*", default=[128, 256])
    parser.add_argument("--first", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=500, help="the run's length (CPU default 500)")
    parser.add_argument("--full", type=int, nargs="*", default=[128], help="resolutions of whole runs")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="training seed (random points, view order)")
    parser.add_argument("--out", type=Path, default=None, help=out_help("bench_recon_cpu_start"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from genxd.reconstruction.trainer import ReconstructionConfig

    default_layers = ReconstructionConfig().init_max_layers
    report: dict = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_avg_start": os.getloadavg()},
        "first_steps": [],
        "full_runs": [],
        "seed": args.seed,
    }
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or make_scene(Path(tmp) / "rf")
        for res in args.resolutions:
            train, _ = few_shot_views(data, res)
            for max_layers in (None, default_layers):
                row = {"resolution": res, **first_steps(train, max_layers, args.first, args.iterations, args.seed)}
                print(json.dumps(row), flush=True)
                report["first_steps"].append(row)
        for res in args.full:
            train, test = few_shot_views(data, res)
            for max_layers in (None, default_layers):
                row = {"resolution": res, "test_views": len(test), **full_run(train, test, max_layers, args.iterations, args.seed)}
                print(json.dumps(row), flush=True)
                report["full_runs"].append(row)
    report["machine"]["load_avg_end"] = os.getloadavg()
    save_json(resolve_out(args.out, "bench_recon_cpu_start"), report, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
