"""Stopping a local ``genxd curate --workers N`` run (found by the curation-at-scale audit): Ctrl-C or SIGTERM
stops the workers at once instead of curating every queued video first, and a parent killed with SIGKILL takes
its workers with it instead of leaving them waiting for ever.

The videos are named pipes: a worker that opens one waits until it is killed, so nothing here depends on how
fast the machine is (the waits below are for events, with generous bounds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="named pipes, /proc and prctl: Linux")
pytest.importorskip("av", reason="the workers read the videos with PyAV (a core dependency; absent on a bare GPU host)")

SCRIPT = """
import os, sys
from pathlib import Path
from genxd.curation import CurationConfig, VideoSource
from genxd.curation.dataset import _clean_stale_parts, _curate_task
from genxd.curation.local_engine import run_local

root = Path(sys.argv[1]); out = root / "out"; out.mkdir()
(root / "bad.mp4").write_text("not a video")
sources = [VideoSource("bad", root / "bad.mp4", "video")]
for i in range(4):
    os.mkfifo(root / f"pipe{i}.mp4")
    sources.append(VideoSource(f"pipe{i}", root / f"pipe{i}.mp4", "video"))

def done(record):
    if sys.argv[2] == "interrupt":
        raise KeyboardInterrupt  # Ctrl-C reaching the parent as the first video finishes

try:
    run_local(sources, out, CurationConfig(num_threads=1), 2, _curate_task, done, lambda video, stage: None,
              _clean_stale_parts)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def _start(tmp_path: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path), mode], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)


def _workers(pid: int) -> list[int]:
    """The worker processes (multiprocessing's spawned children) of process ``pid``."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "spawn_main" in _cmdline(int(c))]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _wait_for(condition, bound_s: float = 60.0) -> bool:
    end = time.monotonic() + bound_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_an_interrupted_local_run_stops_its_workers_and_leaves_no_temporaries(tmp_path):
    process = _start(tmp_path, "interrupt")
    try:
        out, _ = process.communicate(timeout=90)  # before: the pool waited for the videos still queued, for ever
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("the interrupted run did not stop: its workers went on with the queued videos")
    assert process.returncode == 0 and "interrupted" in out
    assert not list((tmp_path / "out").glob(".*.part"))


def test_workers_end_when_the_parent_is_killed(tmp_path):
    process = _start(tmp_path, "run")
    try:
        out = tmp_path / "out"
        assert _wait_for(lambda: len(list(out.glob(".pipe*.part"))) == 2), "the workers did not start"
        workers = _workers(process.pid)
        assert len(workers) == 2
        process.kill()
        process.wait()
        assert _wait_for(lambda: not any(_alive(w) for w in workers)), "workers outlived their killed parent"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
