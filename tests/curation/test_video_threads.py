"""A video read in one thread, then an mp4 written from another, in one process (a notebook's or a web service's
threads, the web demo's request threads, tests run in a thread).

PyAV 19 (what pip installs on Python 3.12 and 3.13) keeps the converter of ``frame.to_ndarray(format=...)`` for the
life of the thread that called it, with FFmpeg's thread pool. imageio-ffmpeg starts ffmpeg with a ``preexec_fn``,
so Python runs in the forked child first and clears the other threads' thread-local data there: the child freed
that converter (``sws_freeContext``), waited on pool threads it does not have, never ran ffmpeg, and genxd hung in
``subprocess.Popen`` for good (the suite hung on Python 3.13 in tests/test_api_threads.py). Python 3.10 and 3.11 get
PyAV 17 / 18, which keep no converter: there this passes either way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ..helpers import env_with_path

_SCRIPT = textwrap.dedent('''
    import sys, threading
    from pathlib import Path
    import numpy as np
    from genxd.curation.video_decode import iter_video_frames
    from genxd.utils.video import write_mp4

    folder = Path(sys.argv[1])
    frames = np.zeros((4, 32, 32, 3), np.uint8) + np.arange(4, dtype=np.uint8)[:, None, None, None] * 40
    clip = write_mp4(folder / "clip.mp4", frames, fps=4)
    read, finish = threading.Event(), threading.Event()

    def reader():  # reads the clip and stays alive, as a service's worker thread does
        assert len(list(iter_video_frames(clip))) == 4
        read.set()
        finish.wait()

    thread = threading.Thread(target=reader)
    thread.start()
    read.wait()
    write_mp4(folder / "out.mp4", frames, fps=4)  # starts ffmpeg from this thread
    finish.set()
    thread.join()
    print("written")
''')


def test_an_mp4_written_after_another_thread_read_a_video_does_not_hang(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    pytest.importorskip("av")
    # its own session, so that a hang is ended whole: the script and its forked child stuck before ffmpeg
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env_with_path(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)  # seconds: the script takes 2-5 s on 2 idle cores
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("hung: the mp4's ffmpeg was never started (a forked child stuck freeing a PyAV converter)")
    assert proc.returncode == 0 and out.strip() == "written", err
    assert (tmp_path / "out.mp4").stat().st_size > 0
