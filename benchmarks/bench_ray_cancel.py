"""How often a ``--ray`` run that stops early leaves a cancelled task running (it then writes its video).

Starts a local Ray instance (``--cpus`` CPUs, 127.0.0.1, no dashboard) and stops ``--stops`` runs of
:func:`genxd.curation.ray_engine.run_ray` the way an error in the run stops one: six stand-in videos, the first one
done in 0.2 s and the others in ``--task-s`` seconds, and the first record that arrives raising (a full disk writing
the index). Each stand-in task writes ``VIDEO.written`` when it ends. After each stop the script waits longer than a
task and counts the stops where a cancelled task wrote all the same: Ray 2.60 misses a task that it is handing to a
worker (the worker the first video freed) at the moment of the cancellation. ``--once`` cancels each task once and
waits (the way before session 48); by default :func:`genxd.curation.ray_engine.cancel_tasks`, which cancels the
tasks not yet ended again during the wait. Timing-dependent: measure beside other work, as a CI run is.

    python benchmarks/bench_ray_cancel.py --stops 25 --once --out results.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import parse_local_ray, positive_int, save_local_ray  # noqa: E402

VIDEOS = 6


def make_task(task_s: float):
    """The stand-in for a curation task (``genxd.curation.dataset._curate_task``'s arguments); made here so that Ray
    ships it by value to its workers."""

    def task(source, out_dir, config, on_stage, caller, marker):
        import time as t
        from pathlib import Path as P

        from genxd.curation.pipeline import video_record

        t.sleep(0.2 if source.video_id == "clip_00" else task_s)
        (P(out_dir) / f"{source.video_id}.written").write_text("written\n")
        return video_record(source, "ok", verdict="static", motion_strength=0.0)

    return task


def cancel_once(ray, refs: list, wait_s: float | None = None) -> bool:
    """Each task cancelled once, then one wait: :func:`genxd.curation.ray_engine.cancel_tasks` before session 48."""
    from genxd.curation.ray_engine import RAY_CANCEL_WAIT_S

    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 - as the old code: best effort
            continue
    _, still_running = ray.wait(refs, num_returns=len(refs), timeout=RAY_CANCEL_WAIT_S if wait_s is None else wait_s)
    return not still_running


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stops", type=positive_int, default=25, help="runs to stop (at least 1; default 25)")
    parser.add_argument("--cpus", type=positive_int, default=2, help="CPUs of the local Ray instance (at least 1)")
    parser.add_argument("--task-s", type=float, default=6.0,
                        help="seconds each stand-in video but the first takes (default 6; over 10, the wait, a "
                             "missed task writes after the run has returned)")
    parser.add_argument("--once", action="store_true", help="cancel each task once (the way before session 48)")
    args = parse_local_ray(parser, "bench_ray_cancel", argv)
    if not 0.5 <= args.task_s <= 600:
        parser.error(f"argument --task-s: expected 0.5 to 600 seconds, got {args.task_s:g}")
    import ray

    import genxd.curation.ray_engine as ray_engine
    from genxd.curation.frames import VideoSource
    from genxd.curation.pipeline import CurationConfig

    if args.once:
        ray_engine.cancel_tasks = cancel_once
    cancels: list[int] = []
    real_cancel = ray.cancel

    def counted_cancel(ref, **kwargs):
        cancels.append(1)
        return real_cancel(ref, **kwargs)

    stopped_by: list[str] = []

    def done(record: dict) -> None:
        stopped_by.append(record["video_id"])  # clip_00, unless its worker started long after another one's
        raise RuntimeError("the index could not be written")

    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR", object_store_memory=ray_engine.LOCAL_RAY_OBJECT_STORE_BYTES)
    ray.cancel = counted_cancel
    task, rows = make_task(args.task_s), []
    try:
        with tempfile.TemporaryDirectory(prefix="bench_ray_cancel-") as tmp:
            for i in range(args.stops):
                out = Path(tmp) / f"stop_{i:03d}"
                out.mkdir()
                todo = [VideoSource(f"clip_{k:02d}", out / f"clip_{k:02d}.mp4", "video") for k in range(VIDEOS)]
                cancels.clear()
                stopped_by.clear()
                start = time.perf_counter()
                try:
                    ray_engine.run_ray(todo, out, CurationConfig(num_threads=1), ray, task, done)
                except RuntimeError:
                    pass
                returned = time.perf_counter()
                at_return = sorted(p.stem for p in out.glob("*.written"))
                time.sleep(args.task_s + 1.0)
                later = sorted(p.stem for p in out.glob("*.written"))
                row = {"stop": i, "run_s": round(returned - start, 2), "cancels": len(cancels),
                       "written_at_return": at_return, "written_after": later,
                       "stopped_by": list(stopped_by), "a_cancelled_task_wrote": later != stopped_by}
                print(f"stop {i:>3}: run_ray {row['run_s']:6.1f} s, {row['cancels']:>2} cancellations, written "
                      f"{later}{'  <- a cancelled task wrote' if row['a_cancelled_task_wrote'] else ''}", flush=True)
                rows.append(row)
    finally:
        ray.cancel = real_cancel
        ray.shutdown()
    wrote = sum(r["a_cancelled_task_wrote"] for r in rows)
    print(f"{'cancelled once' if args.once else 'cancel_tasks'}: in {wrote} of {len(rows)} stops a cancelled task "
          f"wrote its video")
    save_local_ray(args, rows, "bench_ray_cancel")


if __name__ == "__main__":
    main()
