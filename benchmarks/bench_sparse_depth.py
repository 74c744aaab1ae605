"""Time of curation's sparse depth interpolation (``genxd.curation.depth.interpolate_sparse_depth``) per frame.

The depth stage of ``genxd curate`` (without a depth model) interpolates each frame's SfM points to a dense map:
linear in inverse depth inside the points' convex hull, the nearest point outside it. Compared with the form before
session 20 (the nearest point looked up for every pixel, then replaced inside the hull), kept here as the reference,
and with the form before session 46 (the same, but scipy's LAPACK calls on OpenBLAS's default thread pool instead of one
thread); the maps must be bitwise equal. Wall and process CPU times (best of ``--reps``): on a loaded machine the CPU
figure is the steadier one, and the thread pool's cost shows in it.

    python benchmarks/bench_sparse_depth.py --reps 5 --out benchmarks/results/bench_sparse_depth_s46.json
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402


def nearest_everywhere(xy: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """The form before session 20 (reference)."""
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    ys, xs = np.mgrid[0:height, 0:width]
    query = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    inv = 1.0 / np.asarray(z, dtype=np.float64)
    nearest = NearestNDInterpolator(xy, inv)(query)
    if len(z) >= 4:
        try:
            linear = LinearNDInterpolator(xy, inv)(query)
            nearest = np.where(np.isfinite(linear), linear, nearest)
        except Exception:  # noqa: BLE001
            pass
    return (1.0 / np.maximum(nearest, 1e-9)).reshape(height, width).astype(np.float32)


def default_blas_threads(xy: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """The form before session 46: as now, but the triangulation on OpenBLAS's default thread pool (reference)."""
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    ys, xs = np.mgrid[0:height, 0:width]
    query = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    inv = 1.0 / np.asarray(z, dtype=np.float64)
    values = np.full(len(query), np.nan)
    if len(z) >= 4:
        try:
            values = LinearNDInterpolator(xy, inv)(query)
        except Exception:  # noqa: BLE001
            pass
    outside = ~np.isfinite(values)
    if outside.any():
        values[outside] = NearestNDInterpolator(xy, inv)(query[outside])
    return (1.0 / np.maximum(values, 1e-9)).reshape(height, width).astype(np.float32)


def best_of(fn, reps: int) -> tuple[float, float, np.ndarray]:
    """Best wall and best process CPU seconds of ``reps`` calls, and the last output."""
    times, cpu, out = [], [], None
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), min(cpu), out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=positive_int, default=5)
    parser.add_argument("--out", default=None, help=out_help("bench_sparse_depth"))
    args = parser.parse_args(argv)
    check_out(parser, args.out)

    from genxd.curation.depth import interpolate_sparse_depth

    rng = np.random.default_rng(0)
    rows = []
    for size in (128, 256, 512, 1024):
        for samples in (600, 3000):
            # SfM points cover the middle of the frame (none at the borders), as in curated clips
            xy = rng.random((samples, 2)) * size * 0.9 + size * 0.05
            z = 1.0 + rng.random(samples) * 4.0
            old_s, old_cpu, old = best_of(lambda: nearest_everywhere(xy, z, size, size), args.reps)
            pool_s, pool_cpu, pool = best_of(lambda: default_blas_threads(xy, z, size, size), args.reps)
            new_s, new_cpu, new = best_of(lambda: interpolate_sparse_depth(xy, z, size, size), args.reps)
            row = {"size": size, "samples": samples, "before_ms": round(old_s * 1e3, 2), "now_ms": round(new_s * 1e3, 2),
                   "speedup": round(old_s / new_s, 2), "bitwise_equal": bool(np.array_equal(old, new)),
                   "before_cpu_ms": round(old_cpu * 1e3, 2), "blas_pool_ms": round(pool_s * 1e3, 2),
                   "blas_pool_cpu_ms": round(pool_cpu * 1e3, 2), "now_cpu_ms": round(new_cpu * 1e3, 2),
                   "blas_pool_bitwise_equal": bool(np.array_equal(pool, new))}
            rows.append(row)
            print(f"{size:5d} px, {samples:5d} points: before s20 {row['before_ms']:7.2f} ms (CPU {row['before_cpu_ms']:.2f}), "
                  f"before s46 {row['blas_pool_ms']:7.2f} ms (CPU {row['blas_pool_cpu_ms']:.2f}), "
                  f"now {row['now_ms']:7.2f} ms (CPU {row['now_cpu_ms']:.2f}), equal {row['bitwise_equal']} "
                  f"{row['blas_pool_bitwise_equal']}")
    result = {"benchmark": "bench_sparse_depth", "args": vars(args), "results": rows,
              "machine": {"python": platform.python_version(), "platform": platform.platform(),
                          "processor": platform.processor()}}
    args.out = str(resolve_out(args.out, "bench_sparse_depth"))  # also recorded in result["args"]
    save_json(args.out, result, indent=1)


if __name__ == "__main__":
    main()
