"""Benchmark the synthetic-scene renderer (``genxd.data.synthetic.render``): frames per second.

Renders a 4D clip (moving objects, orbit camera, shadows on) of ``--frames`` views at
``--size`` x ``--size`` on the CPU and, when available, on CUDA; prints a JSON summary and writes
it to ``--out``.

    python benchmarks/bench_synthetic.py --size 256 --frames 16 --out bench_synthetic.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402

from genxd.data.synthetic import make_scene, orbit_cameras, render  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_device(device: str, size: int, frames: int, repeats: int, seeds: list[int], supersample: int) -> dict:
    """Median seconds per clip over ``repeats`` x ``seeds`` renders; frames/s derived from it."""
    c2w, K = orbit_cameras(frames, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    times = torch.linspace(0, 1, frames)
    scenes = [make_scene(s, dynamic=True, motion_strength=0.5) for s in seeds]
    render(scenes[0], c2w[:2], K[:2], size, size, times=times[:2], device=device)  # warm-up
    _sync(device)
    per_clip, cpu_per_clip = [], []
    for _ in range(repeats):
        for scene in scenes:
            start, cpu = time.perf_counter(), time.process_time()
            render(scene, c2w, K, size, size, times=times, device=device, supersample=supersample)
            _sync(device)
            per_clip.append(time.perf_counter() - start)
            cpu_per_clip.append(time.process_time() - cpu)
    per_clip.sort()
    cpu_per_clip.sort()
    median = per_clip[len(per_clip) // 2]
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "size": size,
        "frames_per_clip": frames,
        "supersample": supersample,
        "clips_timed": len(per_clip),
        "seconds_per_clip_median": median,
        # the process's CPU seconds (on a loaded machine the steadier figure; on CUDA the host's share only)
        "cpu_seconds_per_clip_median": cpu_per_clip[len(cpu_per_clip) // 2],
        "frames_per_second": frames / median,
        "megapixels_per_second": frames * size * size * supersample**2 / median / 1e6,
    }


def parse_devices(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """``--devices``: ``auto`` (cpu, and cuda when available) or a comma list of cpu, cuda, cuda:N."""
    if text == "auto":
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    for d in devices:
        if not (d in ("cpu", "cuda") or (d.startswith("cuda:") and d[5:].isdigit())):
            parser.error(f"--devices: unknown device {d!r} (valid: auto, or a comma list of cpu, cuda, cuda:N)")
        if d.startswith("cuda"):
            if not torch.cuda.is_available():
                parser.error(f"--devices {d}: cuda requested but not available")
            if ":" in d and int(d[5:]) >= torch.cuda.device_count():
                parser.error(f"--devices {d}: only {torch.cuda.device_count()} CUDA device(s)")
    if not devices:
        parser.error("--devices: nothing given (valid: auto, or a comma list of cpu, cuda, cuda:N)")
    return devices


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=positive_int, default=256)
    parser.add_argument("--frames", type=positive_int, default=16)
    parser.add_argument("--repeats", type=positive_int, default=2)
    parser.add_argument("--seeds", type=positive_int, default=3, help="number of different scenes timed")
    parser.add_argument("--supersample", type=positive_int, default=1)
    parser.add_argument("--devices", default="auto", help="comma list (cpu,cuda,cuda:N) or auto: cpu and cuda if available")
    parser.add_argument("--out", type=Path, default=None, help=out_help("bench_synthetic"))
    args = parser.parse_args(argv)

    devices = parse_devices(parser, args.devices)
    check_out(parser, args.out)
    results = [
        bench_device(d, args.size, args.frames, args.repeats, list(range(args.seeds)), args.supersample)
        for d in devices
    ]
    summary = {"benchmark": "genxd.data.synthetic.render", "torch": torch.__version__, "results": results}
    print(json.dumps(summary, indent=2))
    save_json(resolve_out(args.out, "bench_synthetic"), summary, indent=2)


if __name__ == "__main__":
    main()
