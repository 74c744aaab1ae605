"""``genxd synth --format video --overwrite`` replaces NAME.mp4 and NAME.json as one.

Before (2026-12-06), the video was renamed in, then its camera file: a stop between the two renames left the new
video (6 frames) beside the old camera file (4 cameras), read back by ``genxd trajectory from-video`` (``--source
auto`` takes NAME.json) and ``curate`` without an error. Here the write is stopped at every rename it makes."""

from __future__ import annotations

import os

from genxd.curation.frames import count_frames
from genxd.data.synthetic import make_clip, write_clip
from genxd.utils import io
from genxd.utils.json_files import read_json


def test_a_stop_at_any_rename_leaves_a_video_and_its_cameras_of_one_clip(tmp_path, monkeypatch):
    old, new = make_clip(0, "3d", 4, 16, 16), make_clip(1, "3d", 6, 16, 16)
    at = 0
    while True:
        write_clip(old, tmp_path, "clip", "video", overwrite=True)
        calls, real = [0], (os.replace, os.rename)

        def stop(real_fn):
            def call(*args):  # from call `at` on, every rename raises: the process was stopped there
                calls[0] += 1
                if calls[0] > at:
                    raise KeyboardInterrupt
                return real_fn(*args)
            return call

        monkeypatch.setattr(os, "replace", stop(real[0]))
        monkeypatch.setattr(os, "rename", stop(real[1]))
        try:
            write_clip(new, tmp_path, "clip", "video", overwrite=True)
            stopped = False
        except KeyboardInterrupt:
            stopped = True
        monkeypatch.undo()
        monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)  # the stopped process is gone
        frames = count_frames(tmp_path / "clip.mp4", exact=True)  # read first: finishes a stopped replacement
        cameras = read_json(tmp_path / "clip.json")["num_frames"]
        monkeypatch.undo()
        assert frames == cameras, f"stopped at rename {at}: a video of {frames} frames beside {cameras} cameras"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.json", "clip.mp4"]
        if not stopped:
            break
        at += 1
    assert at >= 2
