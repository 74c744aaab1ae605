"""Memory and time of the 3D long-path plan (``make_plan``) against the path's length, and how many plans the
camera distances on demand change against ``torch.cdist``'s all-pairs matrix (the formula before 2026-12-05).

Each length runs in a fresh process (peak RSS, ``resource.getrusage``, is per process): an orbit of ``--frames``
views, window 8, one input, the progressive plan (the default) and the anchored one (``--anchors 7``); recorded:
the RSS before and the peak RSS after each plan, and its time. Which genxd runs is the one on ``PYTHONPATH`` (run
it once with the commit before and once after to compare).

``--sweep``: plans on many paths (orbits, spirals, dollies, repeated and static cameras, hand-held jitter, random
cameras), inputs and windows, from the distances ``make_plan`` uses now and from ``torch.cdist``'s matrix (the
old formula, written out below): the count of plans that differ, and which.

    python benchmarks/bench_long_path_plan.py --frames 1024,4096 --out results.json
    python benchmarks/bench_long_path_plan.py --sweep
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, positive_ints, resolve_out, row_in_fresh_process, save_json  # noqa: E402

MIB = 1024**2


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB


def run_one(frames: int) -> dict:
    """Both plans of one length in this process; the row of results."""
    from genxd.cameras import orbit
    from genxd.pipelines.long_paths import LongPathSettings, make_plan, resolve_settings

    c2w, K = orbit(num_frames=frames)
    row: dict = {"frames": frames, "rss_before_mib": round(_peak(), 1)}
    for name, anchors in (("progressive", None), ("anchored", 7)):
        settings = resolve_settings(LongPathSettings(window=8, anchors=anchors), 8, 12)
        start = time.perf_counter()
        plan = make_plan("3d", c2w, K, [0], settings)
        row[name] = {"peak_rss_mib": round(_peak(), 1), "seconds": round(time.perf_counter() - start, 2),
                     "windows": len(plan.windows)}
    return row


def cdist_distance(c2w, K=None, depth: float = 1.0):
    """The all-pairs distance as genxd computed it before 2026-12-05 (``torch.cdist``: for more than 25 cameras a
    matrix product, whose rounding changes with the shapes and puts a camera about 6e-8 from itself)."""
    import torch

    c2w = torch.as_tensor(c2w, dtype=torch.float64)
    d = torch.cdist(c2w[:, :3, 3], c2w[:, :3, 3]) / float(depth)
    frob = torch.cdist(c2w[:, :3, :3].flatten(1), c2w[:, :3, :3].flatten(1))
    d = d + 2 * torch.arcsin((frob / (2 * math.sqrt(2))).clamp(max=1.0))
    if K is not None:
        logf = torch.as_tensor(K, dtype=torch.float64)[:, 0, 0].log()
        d = d + (logf[:, None] - logf[None, :]).abs()
    return d


def sweep() -> dict:
    """Plans from :class:`CameraDistances` against plans from :func:`cdist_distance` on many paths."""
    import torch

    from genxd.cameras import dolly, handheld_jitter, orbit, pan, spiral, static, zoom
    from genxd.pipelines.long_paths import CameraDistances, plan_anchored, plan_independent, plan_progressive

    def paths():
        for n in (30, 64, 100, 257, 500):
            c2w, K = orbit(num_frames=n)
            g = torch.Generator().manual_seed(n)
            rand = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
            rand[:, :3, 3] = torch.randn(n, 3, generator=g, dtype=torch.float64)
            rand[:, :3, :3] = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))[0]
            again = torch.arange(n) // 3
            yield from {f"orbit{n}": (c2w, K), f"orbit_el20_270deg{n}": orbit(num_frames=n, elevation=20.0,
                                                                               azimuth_range=(0.0, 270.0)),
                        f"spiral{n}": spiral(num_frames=n, num_rotations=3.0), f"dolly{n}": dolly(num_frames=n),
                        f"pan{n}": pan(num_frames=n), f"zoom{n}": zoom(num_frames=n), f"static{n}": static(num_frames=n),
                        f"repeated{n}": (c2w[again], K[again]), f"jitter{n}": (handheld_jitter(c2w, seed=n), K),
                        f"random{n}": (rand, K)}.items()

    total, differ = 0, []
    for name, (c2w, K) in paths():
        old, new = cdist_distance(c2w, K), CameraDistances(c2w, K)
        n = len(new)
        for inputs, window, overlap in [([0], 8, 2), ([0], 8, None), ([0, n // 2], 12, 3), ([n // 3], 14, 1),
                                        ([5, 1, n - 1], 10, 2)]:
            plans = {"progressive": lambda d: plan_progressive(d, inputs, window, overlap),
                     "progressive_unfilled": lambda d: plan_progressive(d, inputs, window, overlap, fill=False),
                     "anchored": lambda d: plan_anchored(d, inputs, window, overlap=overlap),
                     "anchored_3": lambda d: plan_anchored(d, inputs, window, anchors=3, overlap=overlap),
                     "independent": lambda d: plan_independent(n, inputs, window, d)}
            for kind, plan in plans.items():
                total += 1
                if plan(old) != plan(new):
                    differ.append({"path": name, "plan": kind, "inputs": inputs, "window": window, "overlap": overlap})
    return {"plans": total, "differ": differ}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_ints, default=[1024, 4096], help="path lengths (comma-separated)")
    parser.add_argument("--sweep", action="store_true", help="compare the plans with torch.cdist's (see above)")
    parser.add_argument("--out", default=None, help=out_help("bench_long_path_plan"))
    parser.add_argument("--one", type=positive_int, default=None, help=argparse.SUPPRESS)  # a child process's length
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    result: dict = {"benchmark": "long_path_plan", "machine": platform.processor() or platform.machine(),
                    "python": platform.python_version()}
    if args.sweep:
        result["sweep"] = sweep()
        print(f"{len(result['sweep']['differ'])} of {result['sweep']['plans']} plans differ from torch.cdist's")
        for d in result["sweep"]["differ"]:
            print("  ", d)
    else:
        result["rows"] = []
        for frames in args.frames:
            row = row_in_fresh_process([__file__, "--one", str(frames)])
            for name in ("progressive", "anchored"):
                print(f"{frames:6d} frames, {name:11s}: peak RSS {row[name]['peak_rss_mib']:8.1f} MiB "
                      f"(before {row['rss_before_mib']:.1f}), {row[name]['seconds']:6.2f} s")
            result["rows"].append(row)
    save_json(resolve_out(args.out, "bench_long_path_plan"), result)


if __name__ == "__main__":
    main()
