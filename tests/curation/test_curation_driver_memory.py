"""The driver of a curation run keeps nothing per video (curate-at-scale audit): ``DatasetSummary`` kept every
record for the whole run (50 MiB per 20,000 videos, each record with its own settings) and the local pool kept
every finished future (each holding its record); ``genxd curate`` printed each video's line only when the run
ended. Videos here are fakes (``_curate_task`` replaced): no video is read."""

from __future__ import annotations

import gc
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from genxd.curation import dataset
from genxd.curation.frames import VideoSource
from genxd.curation.local_engine import _collect_local
from genxd.curation.pipeline import CurationConfig, video_record


class Record(dict):
    """A record that can be watched with a weak reference (a plain dict cannot)."""


def _sources(count: int) -> list[VideoSource]:
    return [VideoSource(f"v{i:03d}", Path(f"/nonexistent/v{i:03d}.mp4"), "video") for i in range(count)]


def _fake_record(source: VideoSource) -> Record:
    index = int(source.video_id[1:])
    if index % 4 == 0:
        return Record(video_record(source, "failed", stage="sfm" if index % 8 else "read", reason="no luck"))
    return Record(video_record(source, "ok", verdict="dynamic" if index % 2 else "static", motion_strength=0.01,
                               num_frames=8, num_registered=8))


def test_summary_keeps_no_record_and_reads_them_back(tmp_path, monkeypatch):
    made: list[weakref.ref] = []

    def task(source, out_dir, config, on_stage=None, caller_name="python", shared_marker=None, on_note=None):
        record = _fake_record(source)
        made.append(weakref.ref(record))
        return record

    monkeypatch.setattr(dataset, "_curate_task", task)
    (tmp_path / "out").mkdir()
    dataset.append_index(tmp_path / "out", {"video_id": "earlier", "status": "ok"})  # an earlier run's line
    summary = dataset.curate_dataset(_sources(24), tmp_path / "out", CurationConfig(), progress=False)
    gc.collect()
    assert len(made) == 24
    assert sum(ref() is not None for ref in made) == 0  # every record was kept by summary.records (24)
    assert (summary.ok, summary.failed) == (18, 6)
    assert summary.verdicts == {"dynamic": 12, "static": 6} and summary.failed_stages == {"sfm": 3, "read": 3}
    assert summary.failed_ids == ["v000", "v004", "v008", "v012", "v016"]  # the first ones; all are in the index
    # the public records: this run's lines read back from index.jsonl (not the earlier run's)
    records = summary.records
    assert [r["video_id"] for r in records] == [s.video_id for s in _sources(24)]
    assert records[1]["verdict"] == "dynamic" and records[4]["stage"] == "sfm" and records[8]["stage"] == "read"


def test_a_runs_records_leave_out_a_later_runs_lines(tmp_path, monkeypatch):
    """records read from the run's first line to the end of the index, so a second run into the same folder made the
    first run's summary list the second run's videos too."""
    monkeypatch.setattr(dataset, "_curate_task", lambda source, *args, **kwargs: _fake_record(source))
    out = tmp_path / "out"
    first = dataset.curate_dataset(_sources(2), out, CurationConfig(), progress=False)
    later = [VideoSource(f"w{i:03d}", Path(f"/nonexistent/w{i:03d}.mp4"), "video") for i in range(1, 4)]
    second = dataset.curate_dataset(later, out, CurationConfig(), progress=False)
    assert [r["video_id"] for r in first.records] == ["v000", "v001"]
    assert [r["video_id"] for r in second.records] == ["w001", "w002", "w003"]


def test_damaged_folder_reported_again_is_among_the_records(tmp_path, monkeypatch):
    """A folder without meta.json is reported by every run but logged once: the second run's records still hold it."""
    monkeypatch.setattr(dataset, "_curate_task", lambda source, *args: _fake_record(source))
    out = tmp_path / "out"
    (out / "v000").mkdir(parents=True)
    first = dataset.curate_dataset(_sources(2), out, CurationConfig(), progress=False)
    again = dataset.curate_dataset(_sources(1), out, CurationConfig(), progress=False)
    assert [r["video_id"] for r in first.records] == ["v000", "v001"]
    assert [(r["video_id"], r["stage"]) for r in again.records] == [("v000", "output")]
    assert again.failed == 1 and again.failed_ids == ["v000"] and again.skipped == 0


def test_local_pool_keeps_no_finished_record(tmp_path):
    """Each task starts when the record before it was handed on: by then that record is let go."""
    count = 5
    gates = [threading.Event() for _ in range(count)]
    gates[0].set()
    seen: list[weakref.ref] = []
    alive: list[int] = []

    def task(source, out_dir, config, on_stage, caller_name):
        assert gates[int(source.video_id[1:])].wait(20)
        return _fake_record(source)

    def done(record):
        gc.collect()
        alive.append(sum(ref() is not None for ref in seen))  # earlier records still held somewhere
        seen.append(weakref.ref(record))
        index = int(record["video_id"][1:])
        if index + 1 < count:
            gates[index + 1].set()

    with ThreadPoolExecutor(max_workers=1) as pool:
        crashed, not_started = _collect_local(pool, _sources(count), tmp_path, task, CurationConfig(), done, slots=1)
    assert crashed == [] == not_started and len(alive) == count
    assert max(alive) == 0, alive  # was 0, 1, 2, 3, 4: every finished future kept its record


RUN_WITH_FAKE_VIDEOS = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from genxd.curation import dataset
    from genxd.curation.pipeline import video_record

    release = Path(sys.argv[1])

    def task(source, out_dir, config, on_stage=None, caller_name="python", shared_marker=None, on_note=None):
        if source.video_id == "b_wait":  # the run goes on until the test has read a_bad's line
            deadline = time.monotonic() + 60
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return video_record(source, "failed", stage="read", reason=f"cannot decode {source.video_id}")

    dataset._curate_task = task
    from genxd.cli import main

    sys.argv = ["genxd", "curate", *sys.argv[2:]]
    main()
""")


def test_cli_prints_a_failure_while_the_run_goes_on(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a_bad", "b_wait"):
        (tmp_path / "in" / f"{name}.mp4").write_bytes(b"")
    release = tmp_path / "release"
    env = {**os.environ, "PYTHONPATH": str(Path(dataset.__file__).parents[2]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", RUN_WITH_FAKE_VIDEOS, str(release), str(tmp_path / "in"),
                             "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)
    reader.start()
    got, running = [], False
    try:
        while True:
            line = lines.get(timeout=20)  # printed only when the run ended: queue.Empty after 20 s
            got.append(line)
            if line.startswith("a_bad: failed (read): cannot decode a_bad"):
                running = proc.poll() is None
                break
    finally:
        release.touch()
        proc.wait(timeout=120)
    reader.join(10)
    got += [lines.get() for _ in range(lines.qsize())]
    stdout = proc.stdout.read()
    assert running, got
    assert proc.returncode == 2, got  # every failure the input's (stage read)
    assert got[-1] == "genxd: error: all 2 videos failed: a_bad, b_wait\n", got
    assert "0 ok, 2 failed" in stdout and "failed: 2 at read" in stdout, stdout


RUN_WITH_GOOD_FAKE_VIDEOS = RUN_WITH_FAKE_VIDEOS.replace(
    'return video_record(source, "failed", stage="read", reason=f"cannot decode {source.video_id}")',
    'return video_record(source, "ok", verdict="static", motion_strength=0.0, num_frames=8, num_registered=8)')


def test_a_reader_that_goes_away_does_not_stop_the_run(tmp_path):
    """genxd curate ... | head -1: the per-video lines, printed as videos finish, hit the closed pipe from the run's
    callback, which stopped the run (exit 141, the later videos not curated); the run now goes on."""
    (tmp_path / "in").mkdir()
    for name in ("a_first", "b_wait", "c_last"):
        (tmp_path / "in" / f"{name}.mp4").write_bytes(b"")
    release = tmp_path / "release"
    env = {**os.environ, "PYTHONPATH": str(Path(dataset.__file__).parents[2]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", RUN_WITH_GOOD_FAKE_VIDEOS, str(release), str(tmp_path / "in"),
                             "--out", str(tmp_path / "out"), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()  # as head -1: one line, then the reader is gone
        proc.stdout.close()
    finally:
        release.touch()
        proc.wait(timeout=120)
    stderr = proc.stderr.read()
    assert first.startswith("a_first: static"), first
    assert proc.returncode in (0, 141) and "Traceback" not in stderr, stderr
    index = [json.loads(line)["video_id"] for line in (tmp_path / "out" / "index.jsonl").read_text().splitlines()]
    assert sorted(index) == ["a_first", "b_wait", "c_last"], index
