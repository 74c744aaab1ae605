"""Time ``genxd curate --ray`` spends collecting finished tasks, against the number of videos.

Starts a local Ray instance (``--cpus`` CPUs, 127.0.0.1, no dashboard), submits ``--tasks`` no-op tasks (a record
dict each, as a curation task returns) and collects them two ways: one ``ray.wait(num_returns=1)`` per task (the
way before session 32) and :func:`genxd.curation.ray_engine.finished_tasks` (one wait, then every task finished by
then). Each ``ray.wait`` costs time in proportion to the refs it is given, so the first way is quadratic in the
number of videos. The tasks do nothing, so the figures are the driver's overhead alone.

    python benchmarks/bench_ray_collect.py --tasks 2000,20000 --cpus 2 --out results.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import local_ray_parser, parse_local_ray, save_local_ray  # noqa: E402


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


def main(argv: list[str] | None = None) -> None:
    args = parse_local_ray(local_ray_parser(__doc__.split("\n")[0]), "bench_ray_collect", argv)
    import ray

    from genxd.curation.ray_engine import LOCAL_RAY_OBJECT_STORE_BYTES, finished_tasks

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             object_store_memory=LOCAL_RAY_OBJECT_STORE_BYTES)
    task = ray.remote(num_cpus=1)(lambda i: {"video_id": f"v{i}", "status": "ok"})
    rows = []
    try:
        for n in args.tasks:
            for name, wait in (("one_at_a_time", one_at_a_time), ("finished_tasks", finished_tasks)):
                row = {"way": name, **collect(ray, task, n, wait)}
                print(f"{name:>14}: {n:>6} tasks, collected in {row['collect_s']:7.2f} s ({row['wait_rounds']} waits)")
                rows.append(row)
    finally:
        ray.shutdown()
    save_local_ray(args, rows, "bench_ray_collect")


if __name__ == "__main__":
    main()
