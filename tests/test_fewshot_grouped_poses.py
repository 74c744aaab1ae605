"""genxd.fewshot's grouped strategy takes the ``T = num_frames - num_context`` fitted poses nearest each anchor: a
pose file with fewer than ``T`` poses (``genxd trajectory fit --num-points 3`` then 8 frames) left target frames with
an all-zero c2w, handed to the model as cameras; now refused naming the file, the counts and what to change."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import look_at
from genxd.cameras.formats import save_w2c_list_json
from genxd.data.reconfusion import ReconFusionScene
from genxd.fewshot import build_fewshot_groups


def _scene(n: int = 9) -> ReconFusionScene:
    a = torch.linspace(0, 1, n, dtype=torch.float64)
    c2w = look_at(torch.stack([3 * a.sin(), 0 * a, -3 * a.cos()], -1), torch.zeros(3, dtype=torch.float64),
                  up=torch.tensor([0, -1.0, 0], dtype=torch.float64))
    K = torch.tensor([[1.0, 0, 0.5], [0, 1, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    return ReconFusionScene("s", torch.rand(n, 3, 16, 16), c2w.float(), K, {3: ([1, 4, 7], [0, 8])})


def test_fewer_fitted_poses_than_a_groups_targets_are_refused(tmp_path):
    scene = _scene()
    pose_file = tmp_path / "s" / "gen_poses_w2c.json"
    save_w2c_list_json(pose_file, scene.c2w[:3])  # 8 frames, 3 context views: 5 targets a group
    with pytest.raises(ValueError, match=r"gen_poses_w2c.json: 3 fitted poses, fewer than the 5 target frames of a "
                                         r"group \(num_frames=8 less 3 context views\); fit at least 5"):
        build_fewshot_groups({"s": scene}, "grouped", tmp_path, 3, 3, 8, 16, False)


def test_as_many_fitted_poses_as_targets_give_every_frame_a_camera(tmp_path):
    scene = _scene()
    save_w2c_list_json(tmp_path / "s" / "gen_poses_w2c.json", scene.c2w[:5])
    groups = build_fewshot_groups({"s": scene}, "grouped", tmp_path, 3, 3, 8, 16, False)
    assert groups
    for group in groups:
        rotations = group.c2w[:, :3, :3]
        assert torch.allclose(torch.det(rotations), torch.ones(8), atol=1e-4), group.name  # no all-zero frame


def test_a_fitted_pose_file_that_is_a_folder_is_named_as_a_folder(tmp_path):
    """Found by the s58 review: a ``--pose-dir`` whose ``<key>/gen_poses_w2c.json`` is a folder was reported as
    'fitted poses not found (run genxd trajectory fit first)', which it had been; now said to be a folder."""
    (tmp_path / "s" / "gen_poses_w2c.json").mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=r"s/gen_poses_w2c.json is a folder, not a fitted pose file"):
        build_fewshot_groups({"s": _scene()}, "grouped", tmp_path, 3, 3, 8, 16, False)
