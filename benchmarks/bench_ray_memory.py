"""The driver's memory in ``genxd curate --ray`` against the number of videos.

Runs :func:`genxd.curation.ray_engine.run_ray` on a local Ray instance (``--cpus`` CPUs, 127.0.0.1, no dashboard)
with ``--tasks`` no-op video tasks (each returns a record as a curation task does), sampling the driver's resident
memory every 0.1 s, two ways, each in a fresh process: ``window`` (the tasks submitted a window at a time,
:func:`genxd.curation.ray_engine.ray_tasks_in_flight`) and ``all_at_once`` (the window set to the number of tasks:
what ``run_ray`` did before the Ray-at-scale audit). The tasks do nothing, so the figures are the driver's alone.

    python benchmarks/bench_ray_memory.py --tasks 2000,20000 --cpus 2 --out results.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import local_ray_parser, parse_local_ray, row_in_fresh_process, save_local_ray  # noqa: E402

WAYS = ("window", "all_at_once")


def _noop_task(source, out_dir, config, on_stage, caller, marker):
    from genxd.curation.pipeline import video_record

    return video_record(source, "ok", verdict="static", motion_strength=0.0)


def measure(tasks: int, cpus: int, way: str) -> dict:
    """One run in this process: peak and final driver RSS (MiB), wall time."""
    import psutil
    import ray

    from genxd.curation import ray_engine
    from genxd.curation.frames import VideoSource
    from genxd.curation.pipeline import CurationConfig

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             object_store_memory=ray_engine.LOCAL_RAY_OBJECT_STORE_BYTES)
    if way == "all_at_once":
        ray_engine.ray_tasks_in_flight = lambda ray, threads: tasks
    me, peak, stop = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.1)

    todo = [VideoSource(f"v{i:06d}", Path(f"/nonexistent/v{i:06d}.mp4"), "video") for i in range(tasks)]
    got = [0]
    try:
        with tempfile.TemporaryDirectory() as out:
            before = me.memory_info().rss
            threading.Thread(target=sample, daemon=True).start()
            start = time.perf_counter()
            ray_engine.run_ray(todo, Path(out), CurationConfig(num_threads=1), ray, _noop_task,
                               lambda record: got.__setitem__(0, got[0] + 1))
            wall = time.perf_counter() - start
            stop.set()
    finally:
        ray.shutdown()
    assert got[0] == tasks
    mib = 1024**2
    return {"way": way, "tasks": tasks, "wall_s": round(wall, 2), "rss_before_mib": round(before / mib, 1),
            "rss_peak_mib": round(max(peak[0], before) / mib, 1),
            "rss_growth_mib": round((max(peak[0], before) - before) / mib, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = local_ray_parser(__doc__.split("\n")[0])
    parser.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated, of {', '.join(WAYS)}")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "TASKS,WAY": one run, JSON on stdout
    args = parse_local_ray(parser, "bench_ray_memory", argv)
    if args.one:
        tasks, way = args.one.split(",")
        print(json.dumps(measure(int(tasks), args.cpus, way)))
        return
    ways = [w for w in args.ways.split(",") if w]
    if not set(ways) <= set(WAYS):
        parser.error(f"--ways: expected some of {', '.join(WAYS)}, got {args.ways!r}")
    rows = []
    for n in args.tasks:
        for way in ways:  # a fresh process each: a process rarely gives memory back
            row = row_in_fresh_process([__file__, "--cpus", str(args.cpus), "--one", f"{n},{way}"])
            print(f"{way:>11}: {n:>6} tasks, driver RSS {row['rss_before_mib']:.0f} -> peak {row['rss_peak_mib']:.0f} "
                  f"MiB (+{row['rss_growth_mib']:.0f}), {row['wall_s']:.1f} s")
            rows.append(row)
    save_local_ray(args, rows, "bench_ray_memory")


if __name__ == "__main__":
    main()
