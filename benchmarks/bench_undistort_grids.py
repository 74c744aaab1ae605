"""Undistorting training views: the cost of a camera's sampling grid against resampling an image with it, and a
training item's time with and without the dataset's grid cache (``genxd.reconstruction.undistort.GridCache``).

Per size: ``--views`` synthetic views of one SIMPLE_RADIAL camera (shared), then of one camera each (the COLMAP GUI's
default), undistorted as a training item is (``undistort_images``), ``--reps`` items each, median seconds. Without the
cache consecutive views of one camera still share one grid; with it (sized as the datasets size it: at least the
item's views) the grids outlive the item.

    OMP_NUM_THREADS=2 python benchmarks/bench_undistort_grids.py --sizes 1080x1920 --views 8 --reps 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HEIGHTxWIDTH, e.g. 1080x1920") from None
    if h < 8 or w < 8:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 8x8")
    return h, w


def _median_seconds(work, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_size, nargs="+", default=[(1080, 1920)], help="view sizes, HEIGHTxWIDTH")
    parser.add_argument("--views", type=positive_int, default=8, help="views per training item")
    parser.add_argument("--reps", type=positive_int, default=3, help="items timed per setting (median)")
    parser.add_argument("--out", default=None, help=out_help("bench_undistort_grids"))
    args = parser.parse_args(argv)
    check_out(parser, args.out)
    import torch

    from genxd.reconstruction.undistort import GridCache, _sampling_grid, undistort_images

    rows = []
    for h, w in args.sizes:
        images = [torch.rand(3, h, w, generator=torch.Generator().manual_seed(i)) for i in range(args.views)]
        shared = [[0.8 * w, w / 2, h / 2, -0.05]] * args.views
        own = [[0.8 * w + i, w / 2, h / 2, -0.05] for i in range(args.views)]  # a camera per view
        models = ["SIMPLE_RADIAL"] * args.views
        grid_s = _median_seconds(lambda: _sampling_grid("SIMPLE_RADIAL", tuple(shared[0]), h, w), args.reps)
        row = {"height": h, "width": w, "views": args.views, "grid_build_s": grid_s}
        for name, params in (("shared_camera", shared), ("camera_per_view", own)):
            row[f"{name}_no_cache_s"] = _median_seconds(lambda: undistort_images(images, models, params), args.reps)
            cache = GridCache(min_grids=args.views)  # as the datasets make it: an item's grids at least
            undistort_images(images, models, params, grids=cache)  # the dataset's earlier items filled it
            row[f"{name}_cached_s"] = _median_seconds(lambda: undistort_images(images, models, params, grids=cache),
                                                      args.reps)
            row[f"{name}_grids_kept"] = len(cache)
        rows.append(row)
        print(f"{h}x{w}, {args.views} views: a grid {grid_s * 1e3:.0f} ms; item of one shared camera "
              f"{row['shared_camera_no_cache_s'] * 1e3:.0f} -> {row['shared_camera_cached_s'] * 1e3:.0f} ms, a camera "
              f"per view {row['camera_per_view_no_cache_s'] * 1e3:.0f} -> {row['camera_per_view_cached_s'] * 1e3:.0f} "
              f"ms ({row['camera_per_view_grids_kept']} grids kept)")
    save_json(resolve_out(args.out, "bench_undistort_grids"),
              {"command": " ".join(sys.argv), "machine": platform.processor() or platform.machine(),
               "torch_threads": torch.get_num_threads(), "reps": args.reps, "sizes": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
