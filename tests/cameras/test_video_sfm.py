"""genxd.cameras.video_sfm: SfM of a clip with the KLT window suited to its motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genxd.cameras.accuracy import compare_paths
from genxd.cameras.video_sfm import (
    KLT_WINDOW,
    KLT_WINDOW_TURNING,
    TURNING_DEG_PER_FRAME,
    median_turn_per_frame_deg,
    run_video_sfm,
)


def test_median_turn_per_frame_skips_unregistered_frames():
    from genxd.data.synthetic import orbit_cameras

    c2w, _ = orbit_cameras(6, 4.0, 0.0, (0, 50))  # level orbit: each camera turns 10 degrees about y
    c2w = c2w.double().numpy()
    assert median_turn_per_frame_deg(c2w, np.ones(6, bool)) == pytest.approx(10.0, abs=1e-4)
    registered = np.array([True, True, False, True, True, True])
    c2w[2] = np.nan
    # frames 1 -> 3 (20 degrees) is one step among 10, 10, 10: the median stays 10
    assert median_turn_per_frame_deg(c2w, registered) == pytest.approx(10.0, abs=1e-4)
    assert median_turn_per_frame_deg(c2w, np.eye(6, dtype=bool)[0]) == 0.0


def _frames(tmp_path, camera: str, seed: int) -> tuple[list[str], torch.Tensor]:
    from genxd.data.synthetic import make_clip

    torch.set_num_threads(1)
    clip = make_clip(seed, "3d", 12, 160, 160, camera=camera)
    frames = (clip.images.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    (tmp_path / "images").mkdir()
    names = []
    for i, frame in enumerate(frames):
        names.append(f"{i:03d}.png")
        Image.fromarray(frame).save(tmp_path / "images" / names[-1])
    return names, clip.c2w.double()


@pytest.mark.parametrize("camera, seed, turning", [("orbit", 2105, True), ("dolly", 2103, False)])
def test_the_small_window_is_tried_only_for_a_turning_camera(tmp_path, camera, seed, turning):
    names, truth = _frames(tmp_path, camera, seed)
    sfm = run_video_sfm(tmp_path / "images", names, tmp_path / "sfm", None, 1.0, "klt", num_threads=1)
    assert sfm.registered.all()
    windows = [w for _, w, *_ in sfm.tried]
    assert windows == ([KLT_WINDOW, KLT_WINDOW_TURNING] if turning else [KLT_WINDOW])
    assert (sfm.tried[0][4] >= TURNING_DEG_PER_FRAME) == turning
    assert sfm.klt_window == windows[-1]
    e = compare_paths(sfm.c2w, truth)
    # measured: orbit (12 frames over 72 degrees, 160 px) 0.44 degrees mean with the small window (0.73 with
    # the large one), dolly 0.49 (12 frames, only the large window); the bounds leave room for other CPUs
    assert e.mean_rot_err_deg < (0.75 if turning else 1.5), e
    with pytest.raises(ValueError, match="features"):
        run_video_sfm(tmp_path / "images", names, tmp_path / "x", None, 1.0, "orb")
