"""Time of the 3D long-path plan (``make_plan``, progressive, window 8, one input) on paths whose frames repeat
poses, before and after the planner's k-d tree held each distinct pose once (2026-12-07): a static path, four poses
repeated, and an orbit (every pose distinct) as the control.

Each case runs in a fresh process with ``PYTHONPATH`` set to each ``--src`` given (``before=/path/to/src``,
``after=src``), cut off after ``--timeout`` seconds (recorded as ``null`` seconds, ``timed_out: true``).

    python benchmarks/bench_long_path_repeated_poses.py --src before=/work/main/src,after=src --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

CASES = {"static_4000": ("static", 4000), "static_6000": ("static", 6000), "four_poses_8000": ("four_poses", 8000),
         "static_20000": ("static", 20000), "four_poses_20000": ("four_poses", 20000), "orbit_20000": ("orbit", 20000)}


def path(kind: str, frames: int):
    """``(c2w [N, 4, 4], K [N, 3, 3])`` of a path of ``kind``: ``static``, ``four_poses`` (four orbit poses
    repeated in turn) or ``orbit``."""
    import torch

    from genxd.cameras import orbit, static

    if kind == "static":
        return static(num_frames=frames)
    if kind == "four_poses":
        c2w, K = orbit(num_frames=4)
        again = torch.arange(frames) % 4
        return c2w[again], K[again]
    return orbit(num_frames=frames)


def run_one(name: str) -> dict:
    """One case's plan in this process: its time and window count."""
    from genxd.pipelines.long_paths import LongPathSettings, make_plan, resolve_settings

    c2w, K = path(*CASES[name])
    settings = resolve_settings(LongPathSettings(window=8), 8, 12)
    start = time.perf_counter()
    plan = make_plan("3d", c2w, K, [0], settings)
    return {"seconds": round(time.perf_counter() - start, 2), "windows": len(plan.windows)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default="after=src", help="LABEL=PATH[,LABEL=PATH]: genxd source folders to time")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, of: " + ", ".join(CASES))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a case may take (default 120)")
    parser.add_argument("--out", default=None, help=out_help("bench_long_path_repeated_poses"))
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    sources = dict(item.split("=", 1) for item in args.src.split(","))
    cases = args.cases.split(",")
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"--cases: unknown {unknown}")
    rows = []
    for case in cases:
        row: dict = {"case": case}
        for label, src in sources.items():
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            try:
                proc = subprocess.run([sys.executable, __file__, "--one", case], env=env, capture_output=True,
                                      text=True, timeout=args.timeout)
                if proc.returncode:
                    sys.exit(proc.stderr[-3000:])
                row[label] = {**json.loads(proc.stdout.strip().splitlines()[-1]), "timed_out": False}
            except subprocess.TimeoutExpired:
                row[label] = {"seconds": None, "windows": None, "timed_out": True}
            print(case, label, row[label], flush=True)
        rows.append(row)
    save_json(resolve_out(args.out, "bench_long_path_repeated_poses"),
              {"sources": sources, "timeout_s": args.timeout, "cpu": platform.processor() or platform.machine(),
               "cpus": os.cpu_count(), "rows": rows})


if __name__ == "__main__":
    main()
