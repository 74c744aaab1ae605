"""Memory and time of the 3D long-path plan (``make_plan``) against the path's length, and how many plans the
camera distances on demand change against ``torch.cdist``'s all-pairs matrix (the formula before 2026-12-05).

Each length runs in a fresh process (peak RSS, ``resource.getrusage``, is per process): an orbit of ``--frames``
views, window 8, one input, the progressive plan (the default) and the anchored one (``--anchors 7``); recorded:
the RSS before and the peak RSS after each plan, and its time. Which genxd runs is the one on ``PYTHONPATH`` (run
it once with the commit before and once after to compare).

``--sweep``: plans on many paths (orbits, spirals, dollies, repeated and static cameras, hand-held jitter, random
cameras), inputs and windows, from the distances ``make_plan`` uses now and from ``torch.cdist``'s matrix (the
old formula, written out below): the count of plans that differ, and which. And the same plans from the planners
now against the planners before their speed-up (``long_path_plan_reference.py``, the code before 2026-12-05's
k-d tree), from the distances on demand and from the full matrix, with the time each took: they must not differ.

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


def sweep_paths(lengths: tuple[int, ...] = (30, 64, 100, 257, 500)):
    """``(name, (c2w, K))`` of the swept paths: ten kinds of path at each length."""
    import torch

    from genxd.cameras import dolly, handheld_jitter, orbit, pan, spiral, static, zoom

    def paths():
        for n in lengths:
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

    return paths()


SWEEP_SETTINGS = ((lambda n: [0], 8, 2), (lambda n: [0], 8, None), (lambda n: [0, n // 2], 12, 3),
                  (lambda n: [n // 3], 14, 1), (lambda n: [5, 1, n - 1], 10, 2))


def sweep_plans(planners, n: int, inputs: list[int], window: int, overlap: int | None) -> dict:
    """The five swept plans of one path and setting, by name, as functions of the distances. ``planners``: a module
    with ``plan_progressive``, ``plan_anchored`` and ``plan_independent`` (genxd's or the reference)."""
    return {"progressive": lambda d: planners.plan_progressive(d, inputs, window, overlap),
            "progressive_unfilled": lambda d: planners.plan_progressive(d, inputs, window, overlap, fill=False),
            "anchored": lambda d: planners.plan_anchored(d, inputs, window, overlap=overlap),
            "anchored_3": lambda d: planners.plan_anchored(d, inputs, window, anchors=3, overlap=overlap),
            "independent": lambda d: planners.plan_independent(n, inputs, window, d)}


def sweep() -> dict:
    """Plans from :class:`CameraDistances` against plans from :func:`cdist_distance` on many paths, and the
    planners now against the reference (before the speed-up), from :class:`CameraDistances` and the full matrix."""
    import long_path_plan_reference as reference

    from genxd.pipelines import long_path_plans as planners
    from genxd.pipelines.long_paths import CameraDistances, camera_distance

    total, differ, differ_ref, seconds = 0, [], [], {"now": 0.0, "reference": 0.0}
    for name, (c2w, K) in sweep_paths():
        old, new, full = cdist_distance(c2w, K), CameraDistances(c2w, K), camera_distance(c2w, K)
        n = len(new)
        for make_inputs, window, overlap in SWEEP_SETTINGS:
            inputs = make_inputs(n)
            ref_plans = sweep_plans(reference, n, inputs, window, overlap)
            for kind, plan in sweep_plans(planners, n, inputs, window, overlap).items():
                total += 1
                case = {"path": name, "plan": kind, "inputs": inputs, "window": window, "overlap": overlap}
                start = time.perf_counter()
                now = plan(new)
                seconds["now"] += time.perf_counter() - start
                if plan(old) != now:
                    differ.append(case)
                start = time.perf_counter()
                before = ref_plans[kind](CameraDistances(c2w, K))
                seconds["reference"] += time.perf_counter() - start
                if now != before or plan(full) != ref_plans[kind](full):
                    differ_ref.append(case)
    return {"plans": total, "differ": differ, "differ_from_reference": differ_ref,
            "seconds": {k: round(v, 2) for k, v in seconds.items()}}


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
        sw = result["sweep"]
        print(f"{len(sw['differ'])} of {sw['plans']} plans differ from torch.cdist's")
        for d in sw["differ"]:
            print("  ", d)
        print(f"{len(sw['differ_from_reference'])} of {sw['plans']} plans differ from the reference planners' "
              f"(planning {sw['seconds']['now']:.1f} s now, {sw['seconds']['reference']:.1f} s the reference)")
        for d in sw["differ_from_reference"]:
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
