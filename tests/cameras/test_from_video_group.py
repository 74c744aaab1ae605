"""``genxd trajectory from-video -o OUT.json --overwrite`` replaces OUT.json, OUT_transforms.json and OUT.png as one.

Before (2026-12-06), the three were renamed in one after the other: a stop between two renames (Ctrl-C, ``kill``)
left the new path in OUT.json beside the old one in OUT_transforms.json, each a valid camera file, and a user later
gave the stale one to ``genxd generate``. Here the run is stopped at every rename it makes."""

from __future__ import annotations

import os

from genxd.cameras import save_camera_json, trajectories
from genxd.cameras.formats import load_camera_json, load_transforms_json
from genxd.cameras.from_video import output_files, write_video_path
from genxd.utils import io


def _stopped_at(at: int, clip, out, n: int, monkeypatch) -> bool:
    """Run the write with ``os.replace`` / ``os.rename`` stopping the process at call ``at`` (every call from there
    raises, as nothing runs after a kill); True if it was stopped."""
    calls, real = [0], (os.replace, os.rename)

    def stop(real_fn):
        def call(*args):
            if calls[0] >= at:
                calls[0] += 1
                raise KeyboardInterrupt
            calls[0] += 1
            return real_fn(*args)
        return call

    monkeypatch.setattr(os, "replace", stop(real[0]))
    monkeypatch.setattr(os, "rename", stop(real[1]))
    try:
        write_video_path(clip, out, n, overwrite=True, source="file")
        return False
    except KeyboardInterrupt:
        return True
    finally:
        monkeypatch.undo()


def test_a_stop_at_any_rename_leaves_one_path_in_both_files(tmp_path, monkeypatch):
    clip = tmp_path / "cams.json"
    c2w, K = trajectories.orbit(num_frames=10)
    save_camera_json(clip, c2w, K, 64, 64)
    out = tmp_path / "path.json"
    at = 0
    while True:
        write_video_path(clip, out, 4, overwrite=True, source="file")  # the old path: 4 cameras
        stopped = _stopped_at(at, clip, out, 6, monkeypatch)  # replaced by 6
        monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)  # the stopped process is gone
        authors, transforms, picture = output_files(out)
        counts = {len(load_camera_json(authors).c2w), len(load_transforms_json(transforms).c2w)}
        monkeypatch.undo()
        assert len(counts) == 1, f"stopped at rename {at}: OUT.json and OUT_transforms.json hold {counts} cameras"
        assert picture.is_file()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cams.json", "path.json", "path.png",
                                                               "path_transforms.json"]
        if not stopped:
            break
        at += 1
    assert at >= 3  # every rename of the three files was a stop point
