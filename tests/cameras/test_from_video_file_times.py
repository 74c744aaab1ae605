"""A camera file's frame times as a clip's (``--camera-from-video FILE``, ``genxd trajectory from-video FILE``): all
equal is no timing; times that do not increase are one error naming the file and the frames."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import save_transforms_json, trajectories
from genxd.cameras.clip_cameras import recover_clip_cameras
from genxd.cameras.from_video import make_video_path


def _file(tmp_path, times):
    c2w, K = trajectories.spiral(num_frames=len(times))
    return save_transforms_json(tmp_path / "transforms.json", c2w, K, 32, 32, times=times)


def test_frames_all_of_one_time_are_a_clip_without_timing(tmp_path):
    """A multi-view capture written with "time": 0 on every frame: 'resample_path: keyframe times must increase
    strictly' (from genxd generate --camera-from-video and trajectory from-video alike); now evenly spaced, as a file
    without times, as the other readers take one time for all (a static scene)."""
    path = _file(tmp_path, [0.0] * 5)
    cams = recover_clip_cameras(path)
    torch.testing.assert_close(cams.times, torch.linspace(0, 1, 5, dtype=torch.float64))
    assert len(make_video_path(cams, 7, spacing="time").path) == 7


@pytest.mark.parametrize("times, says", [([0.0, 0.5, 0.25, 1.0], "frame 2's time 0.25 comes after frame 1's 0.5"),
                                         ([0.0, 0.5, 0.5, 1.0], "frame 2's time 0.5 comes after frame 1's 0.5")])
def test_times_that_do_not_increase_are_refused_naming_the_file_and_frames(tmp_path, times, says):
    path = _file(tmp_path, times)
    with pytest.raises(ValueError, match=rf"^{path}: {says}; a clip's cameras follow their times, which must "
                                         "increase from frame to frame"):
        recover_clip_cameras(path)
