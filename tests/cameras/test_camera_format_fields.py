"""Camera file fields the round-trip tests left open (found by hand-made mutation testing, round 4): a non-square
``camera_angle_y``, a frame's own intrinsics over the top level's, a small zoom kept per frame, the w2c list's
mixed intrinsics rows and a ``time`` on some frames only."""

from __future__ import annotations

import json
import math

import pytest
import torch

from genxd.cameras import load_camera_json, load_transforms_json, save_camera_json, trajectories
from genxd.cameras.formats import w2c_list_from_object


def _gl_frames(n: int) -> list[dict]:
    c2w_gl = torch.eye(4)
    c2w_gl[:3, 3] = torch.tensor([0.0, 0.0, 4.0])
    return [{"file_path": f"f{i}.png", "transform_matrix": c2w_gl.tolist()} for i in range(n)]


def test_camera_angle_y_is_read_over_the_image_height(tmp_path):
    """NeRF's field of view: fl_y = h / 2 / tan(camera_angle_y / 2); on a 40 x 30 image with angles of 2 atan(0.5)
    and 2 atan(0.375), fx = fy = 40 pixels (fy / H = 4 / 3). Square images hid h / w swapped."""
    obj = {"w": 40, "h": 30, "camera_angle_x": 2 * math.atan(0.5), "camera_angle_y": 2 * math.atan(0.375),
           "frames": _gl_frames(1)}
    (tmp_path / "transforms.json").write_text(json.dumps(obj))
    K = load_transforms_json(tmp_path / "transforms.json", dtype=torch.float64).K[0]
    assert float(K[0, 0]) == pytest.approx(1.0, abs=1e-12) and float(K[1, 1]) == pytest.approx(40 / 30, abs=1e-12)


def test_a_frames_own_intrinsics_win_over_the_top_levels(tmp_path):
    """nerfstudio: per-frame keys override the top level's (a frame of another camera in the same file)."""
    frames = _gl_frames(2)
    frames[1].update({"fl_x": 80.0, "fl_y": 60.0, "cx": 10.0})
    obj = {"w": 40, "h": 30, "fl_x": 40.0, "fl_y": 30.0, "cx": 20.0, "cy": 15.0, "frames": frames}
    (tmp_path / "transforms.json").write_text(json.dumps(obj))
    K = load_transforms_json(tmp_path / "transforms.json", dtype=torch.float64).K
    assert K[:, 0, 0].tolist() == [1.0, 2.0] and K[:, 1, 1].tolist() == [1.0, 2.0]
    assert K[:, 0, 2].tolist() == [0.5, 0.25] and K[:, 1, 2].tolist() == [0.5, 0.5]


def test_a_small_zoom_is_kept_per_frame_in_the_authors_json(tmp_path):
    """A slow zoom (normalised focal 1.0 to 1.0004: 0.4 pixel at 1024 wide) writes frame_intrinsics and reads back
    to float64 rounding, not as the first frame's focal length for every frame."""
    c2w, _ = trajectories.orbit(num_frames=3)
    K = torch.eye(3, dtype=torch.float64).repeat(3, 1, 1)
    K[:, 0, 2] = K[:, 1, 2] = 0.5
    K[:, 0, 0] = K[:, 1, 1] = torch.tensor([1.0, 1.0002, 1.0004], dtype=torch.float64)
    save_camera_json(tmp_path / "cams.json", c2w, K, 576, 1024)
    assert "frame_intrinsics" in json.loads((tmp_path / "cams.json").read_text())
    back = load_camera_json(tmp_path / "cams.json", dtype=torch.float64).K
    torch.testing.assert_close(back, K, atol=1e-12, rtol=0)


def test_a_w2c_list_whose_intrinsics_rows_are_partly_zero_is_refused():
    """{"camera": [N][18]}: all-zero intrinsics mean none (the authors' files); a file where only some rows are zero
    is refused, not read as having no intrinsics."""
    w2c = torch.eye(4)[:3].reshape(-1).tolist()
    rows = [[1.2, 1.2, 0.5, 0.5, 0.0, 0.0] + w2c, [0.0] * 6 + w2c]
    with pytest.raises(ValueError, match="fx and fy must be positive"):
        w2c_list_from_object({"camera": rows}, "poses.json")
    _, K = w2c_list_from_object({"camera": [[0.0] * 6 + w2c] * 2}, "poses.json")
    assert K is None


def test_a_time_on_some_frames_only_is_refused_naming_the_count(tmp_path):
    frames = _gl_frames(3)
    frames[0]["time"], frames[2]["time"] = 0.0, 1.0
    (tmp_path / "transforms.json").write_text(json.dumps({"w": 40, "h": 30, "fl_x": 40.0, "frames": frames}))
    with pytest.raises(ValueError, match=r"'time' is given for 2 of 3 frames \(all or none\)"):
        load_transforms_json(tmp_path / "transforms.json")
