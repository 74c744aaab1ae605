"""Time ``genxd curate --ray`` spends collecting finished tasks, against the number of videos.

Starts a local Ray instance (``--cpus`` CPUs, 127.0.0.1, no dashboard), submits ``--tasks`` no-op tasks (a record
dict each, as a curation task returns) and collects them two ways: one ``ray.wait(num_returns=1)`` per task (the
way before session 32) and :func:`genxd.curation.ray_engine.finished_tasks` (one wait, then every task finished by
then). Each ``ray.wait`` costs time in proportion to the refs it is given, so the first way is quadratic in the
number of videos. The tasks do nothing, so the figures are the driver's overhead alone.

    python benchmarks/bench_ray_collect.py --tasks 2000,20000 --cpus 2 --out results.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


def one_at_a_time(ray, pending: list) -> tuple[list, list]:
    return ray.wait(pending, num_returns=1)


def collect(ray, task, n: int, wait) -> dict:
    start = time.perf_counter()
    refs = [task.remote(i) for i in range(n)]
    submitted = time.perf_counter()
    remaining, got, calls = list(refs), 0, 0
    while remaining:
        ready, remaining = wait(ray, remaining)
        calls += 1
        got += len(ray.get(ready))
    done = time.perf_counter()
    assert got == n
    return {"tasks": n, "submit_s": round(submitted - start, 3), "collect_s": round(done - submitted, 3),
            "wait_rounds": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="2000,20000", help="comma-separated task counts")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--out", default=None, help=out_help("bench_ray_collect"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from genxd.curation.ray_engine import LOCAL_RAY_OBJECT_STORE_BYTES, finished_tasks

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             object_store_memory=LOCAL_RAY_OBJECT_STORE_BYTES)
    task = ray.remote(num_cpus=1)(lambda i: {"video_id": f"v{i}", "status": "ok"})
    rows = []
    try:
        for n in (int(x) for x in args.tasks.split(",")):
            for name, wait in (("one_at_a_time", one_at_a_time), ("finished_tasks", finished_tasks)):
                row = {"way": name, **collect(ray, task, n, wait)}
                print(f"{name:>14}: {n:>6} tasks, collected in {row['collect_s']:7.2f} s ({row['wait_rounds']} waits)")
                rows.append(row)
    finally:
        ray.shutdown()
    result = {"ray": ray.__version__, "cpus": args.cpus, "machine": platform.processor() or platform.machine(),
              "rows": rows, "args": vars(args)}
    args.out = str(resolve_out(args.out, "bench_ray_collect"))
    save_json(args.out, result, indent=1)


if __name__ == "__main__":
    main()
