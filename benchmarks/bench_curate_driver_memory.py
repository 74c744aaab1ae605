"""The memory the ``genxd curate`` driver keeps per video, over a run of many videos.

Runs :func:`genxd.curation.curate_dataset` (one worker: the videos are curated in the driver, through the same
``done`` path as the local and Ray engines' records) on ``--videos`` synthetic videos whose task is replaced by a
fake that returns a record as a real task does (every tenth one a failure; each with its own ``settings``, as
``_curate_task`` adds them), measuring with ``tracemalloc``: the memory held while the last video runs, what the
summary keeps after the run, and the peak. Two runs, each in a fresh process: ``first`` (an empty output folder)
and ``resume`` (the same folder again with ``retry_failed``: the failed tenth is redone, the index of every video is
read first). No video is read; the output folder is on ``/dev/shm`` where there is one (the index is fsynced per
line).

    python benchmarks/bench_curate_driver_memory.py --videos 20000 --out results.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, row_in_fresh_process, save_json  # noqa: E402

RUNS = ("first", "resume")
MIB = 1024**2


def _fake_records(videos: int):
    """A task that returns a realistic record for each video (every tenth a failure) and samples the memory held
    while the last one runs."""
    import gc
    import tracemalloc

    from genxd.curation.pipeline import video_record
    from genxd.curation.run_settings import result_settings

    state = {"held": None, "count": 0}

    def task(source, out_dir, config, on_stage=None, caller_name="python", shared_marker=None):
        state["count"] += 1
        if state["count"] == videos:
            gc.collect()  # what is held, not garbage awaiting the collector
            state["held"] = tracemalloc.get_traced_memory()[0]
        index = int(source.video_id[1:])
        if index % 10 == 0 and not (Path(out_dir) / ".redo").exists():
            record = video_record(source, "failed", stage="sfm", seconds=12.345,
                                  reason="SfM registered 9 of 48 frames (below min_registered=0.75 of the frames: "
                                         "36); a slower camera or --features sift may register more")
        else:
            record = video_record(source, "ok", verdict="dynamic" if index % 3 else "static",
                                  motion_strength=0.0123456789, num_frames=48, num_registered=48,
                                  mean_reprojection_error=0.4567891, seconds=42.123)
            (Path(out_dir) / source.video_id).mkdir()  # done: the resumed run skips it
            (Path(out_dir) / source.video_id / "meta.json").write_text("{}")
        record.setdefault("settings", result_settings(config))
        return record

    return task, state


def measure(videos: int, run: str, folder: Path) -> dict:
    """One run in this process: memory held (MiB) while the last video runs, kept by the summary, peak."""
    import gc
    import tracemalloc

    from genxd.curation import dataset
    from genxd.curation.frames import VideoSource
    from genxd.curation.pipeline import CurationConfig

    sources = [VideoSource(f"v{i:06d}", Path(f"/nonexistent/v{i:06d}.mp4"), "video") for i in range(videos)]
    redo = videos if run == "first" else len(range(0, videos, 10))
    task, state = _fake_records(redo)
    dataset._curate_task = task
    if run == "resume":
        (folder / ".redo").touch()
    config = CurationConfig(num_threads=1)
    # a one-video run first, in another folder: the modules it imports are not the run's memory
    dataset.curate_dataset([VideoSource("v000001", Path("/nonexistent/w.mp4"), "video")], folder.parent / f"warm-up-{run}",
                           config, progress=False)
    state["count"] = 0
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    summary = dataset.curate_dataset(sources, folder, config, workers=1, retry_failed=run == "resume",
                                     progress=False)
    wall = time.perf_counter() - start
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert state["count"] == redo and summary.ok + summary.failed == redo, (state, summary.to_dict())
    return {"run": run, "videos": videos, "curated": redo, "wall_s": round(wall, 2),
            "held_at_last_video_mib": round((state["held"] - before) / MIB, 2),
            "kept_by_summary_mib": round((after - before) / MIB, 2),
            "peak_mib": round((peak - before) / MIB, 2),
            "index_bytes_per_video": round((folder / "index.jsonl").stat().st_size / (videos + redo * (run == "resume")))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=20000, help="synthetic videos")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "RUN,FOLDER": one run, JSON on stdout
    parser.add_argument("--label", default="", help="a name for this tree's figures (e.g. before / after)")
    parser.add_argument("--out", default=None, help=out_help("bench_curate_driver_memory"))
    args = parser.parse_args()
    if args.one:
        run, folder = args.one.split(",", 1)
        print(json.dumps(measure(args.videos, run, Path(folder))))
        return
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="genxd-curate-mem-", dir=base))
    try:
        for run in RUNS:  # a fresh process each: tracemalloc sees only that run
            row = row_in_fresh_process([__file__, "--videos", str(args.videos), "--one", f"{run},{folder / 'out'}"])
            print(f"{run:>6}: {row['curated']:>6} of {row['videos']} videos curated, held while the last one ran "
                  f"{row['held_at_last_video_mib']:.1f} MiB, kept by the summary {row['kept_by_summary_mib']:.1f} "
                  f"MiB, peak {row['peak_mib']:.1f} MiB, {row['wall_s']:.1f} s")
            rows.append(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {"label": args.label, "python": platform.python_version(),
              "machine": platform.processor() or platform.machine(), "rows": rows, "args": vars(args)}
    save_json(resolve_out(args.out, "bench_curate_driver_memory"), result, indent=1)


if __name__ == "__main__":
    main()
