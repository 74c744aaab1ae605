"""A ``--ray`` run that stops early cancels its tasks on the cluster (found by the Ray-joining audit: from Python, on
a connection the caller made, an error in the run left its queued and running tasks curating into the output folder
after :func:`genxd.curation.ray_engine.run_ray` had returned; ``genxd curate`` left the half-written folders).

A task Ray hands to the worker that the first video freed as the run stops is not running there yet, and one
cancellation misses it (Ray 2.60): it ran to its end and wrote (here 5 of 50 such stops on a 2-core machine, beside
other test runs); :func:`genxd.curation.ray_engine.cancel_tasks` now cancels again the tasks that have not ended."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="needs the 'ray' extra: pip install -e '.[ray]'")

from genxd.curation.frames import VideoSource  # noqa: E402
from genxd.curation.pipeline import CurationConfig  # noqa: E402
from genxd.curation.ray_engine import LOCAL_RAY_OBJECT_STORE_BYTES, run_ray  # noqa: E402


@pytest.mark.slow  # starts a 2-CPU Ray instance (about 10 s on 2 cores)
def test_an_error_in_the_run_cancels_its_tasks_and_removes_their_part_folders(tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
             object_store_memory=LOCAL_RAY_OBJECT_STORE_BYTES)
    try:
        def task(source, out_dir, config, on_stage, caller, marker):  # local: Ray ships it by value
            from pathlib import Path as P
            import time as t

            from genxd.curation.pipeline import video_record as record

            part = P(out_dir) / f".{source.video_id}.part"
            part.mkdir()
            t.sleep(0.2 if source.video_id == "clip_00" else 4.0)
            (P(out_dir) / f"{source.video_id}.written").write_text("a task went on after the run stopped\n")
            return record(source, "ok", verdict="static", motion_strength=0.0)

        stopped_by: list[str] = []

        def done(record: dict) -> None:
            stopped_by.append(record["video_id"])
            raise RuntimeError("the index could not be written")  # as a full disk would

        cleaned: list[Path] = []

        def clean_parts(out_dir: Path) -> None:
            cleaned.append(out_dir)
            for part in out_dir.glob(".*.part"):
                part.rmdir()

        todo = [VideoSource(f"clip_{i:02d}", tmp_path / f"clip_{i:02d}.mp4", "video") for i in range(6)]
        with pytest.raises(RuntimeError, match="the index could not be written"):
            run_ray(todo, tmp_path, CurationConfig(num_threads=1), ray, task, done, clean_parts)
        # (that the wait for the cancelled tasks is bounded is test_curation_ray_window.py's: a bound on the time from
        # the run's start here also timed the workers' start, 6-74 s on a loaded 2-core machine)
        time.sleep(6.0)  # longer than a task: any left running has written by now
        written = sorted(p.stem for p in tmp_path.glob("*.written"))
        # the video whose record stopped the run: clip_00 unless its worker started 4 s after another one's (once in
        # 3 runs under load, each worker importing genxd for the task's arguments; clip_01 then stopped the run)
        assert written == stopped_by, f"tasks went on after the run stopped: {written}"
        assert cleaned == [tmp_path] and not list(tmp_path.glob(".*.part"))
    finally:
        ray.shutdown()
