"""The driver of ``genxd curate --workers 2`` over many videos: all handed to the process pool at once (before) or
a window at a time (:func:`genxd.curation.task_window.tasks_in_flight`, now).

No-op videos (a fake task returns a record), a spawn pool of 2 workers started first, then
:func:`genxd.curation.local_engine._collect_local` timed and traced (``tracemalloc``) in the driver: wall time, the
time to the first record, memory held half-way through and the peak. Each setting in a fresh process.

    python benchmarks/bench_curate_local_window.py --videos 2000,20000 --out results.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, row_in_fresh_process, save_json  # noqa: E402

MIB = 1024**2


def _task(source, out_dir, config, on_stage=None, caller_name="python"):
    from genxd.curation.pipeline import video_record

    return video_record(source, "ok", verdict="static", motion_strength=0.01, num_frames=8, num_registered=8)


def measure(videos: int, mode: str) -> dict:
    """One setting in this process: ``mode`` ``all_at_once`` (the window set to the number of videos) or ``window``."""
    import gc
    import multiprocessing
    import time
    import tracemalloc
    from concurrent.futures import ProcessPoolExecutor

    from genxd.curation import local_engine
    from genxd.curation.frames import VideoSource
    from genxd.curation.pipeline import CurationConfig

    if mode == "all_at_once":
        local_engine.tasks_in_flight = lambda slots: videos
    sources = [VideoSource(f"v{i:06d}", Path(f"/nonexistent/v{i:06d}.mp4"), "video") for i in range(videos)]
    state: dict = {"count": 0}

    def done(record: dict) -> None:
        state["count"] += 1
        if state["count"] == 1:
            state["first"] = time.perf_counter() - state["start"]
        if state["count"] == videos // 2:
            gc.collect()
            state["held"] = tracemalloc.get_traced_memory()[0]

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(abs, [1, 2]))  # the workers started: not timed
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        state["start"] = time.perf_counter()
        crashed, rest = local_engine._collect_local(pool, sources, Path("/nonexistent"), _task,
                                                    CurationConfig(num_threads=1), done, 2)
        wall = time.perf_counter() - state["start"]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert state["count"] == videos and not crashed and not rest
    return {"mode": mode, "videos": videos, "wall_s": round(wall, 2), "first_record_s": round(state["first"], 3),
            "held_half_way_mib": round((state["held"] - before) / MIB, 2), "peak_mib": round((peak - before) / MIB, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", default="2000,20000", help="comma-separated numbers of no-op videos")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "MODE,VIDEOS": one setting, JSON on stdout
    parser.add_argument("--out", default=None, help=out_help("bench_curate_local_window"))
    args = parser.parse_args()
    if args.one:
        mode, videos = args.one.split(",")
        print(json.dumps(measure(int(videos), mode)))
        return
    rows = []
    for videos in (int(v) for v in args.videos.split(",")):
        for mode in ("all_at_once", "window"):
            row = row_in_fresh_process([__file__, "--one", f"{mode},{videos}"])
            print(f"{videos:>6} videos, {mode:>11}: {row['wall_s']:6.2f} s, "
                  f"first record {row['first_record_s']:.3f} s, held half-way {row['held_half_way_mib']:.1f} MiB, "
                  f"peak {row['peak_mib']:.1f} MiB")
            rows.append(row)
    result = {"python": platform.python_version(), "machine": platform.processor() or platform.machine(),
              "rows": rows, "args": vars(args)}
    save_json(resolve_out(args.out, "bench_curate_local_window"), result, indent=1)


if __name__ == "__main__":
    main()
