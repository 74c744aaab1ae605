"""``genxd reconstruct``'s own OUT/cameras.json read as a camera path (it was refused: 'not a camera file: a JSON
object without frames, cameras or camera', while OUT/cameras_3dgs.json was read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from genxd.cameras import read_camera_path, trajectories
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.scene_outputs import write_scene


@pytest.mark.parametrize("mode", ["3d", "4d"])
def test_a_reconstructions_cameras_json_is_read_as_its_views(tmp_path: Path, mode: str) -> None:
    frames = torch.rand(3, 3, 12, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=3)
    times = torch.linspace(0.0, 2.0, 3) if mode == "4d" else None
    scene = write_scene(tmp_path / "scene", frames, c2w, K, [0], frames, {"mode": mode}, fps=3.0, times=times)
    out = tmp_path / "out"
    reconstruct_scene(scene, out, ReconstructionConfig(mode=mode, iterations=2, init_points=100), video_frames=0,
                      progress=False)
    record = json.loads((out / "cameras.json").read_text())
    path = read_camera_path(out / "cameras.json")
    assert (path.height, path.width) == (record["height"], record["width"])
    assert torch.allclose(path.c2w.double(), torch.tensor(record["c2w"], dtype=torch.float64), atol=1e-6)
    assert torch.allclose(path.K.double(), torch.tensor(record["K"], dtype=torch.float64), atol=1e-6)
    if mode == "4d":
        assert path.times is not None
        assert torch.allclose(path.times.double(), torch.tensor(record["times"], dtype=torch.float64), atol=1e-6)
    else:
        assert path.times is None


def test_a_json_object_of_no_camera_format_is_refused_naming_every_object_format(tmp_path: Path) -> None:
    """The refusal of a JSON object no reader takes listed the older formats only, not the reconstruct
    cameras.json that read_camera_path takes since 7920004."""
    bad = tmp_path / "notes.json"
    bad.write_text(json.dumps({"foo": 1}))
    with pytest.raises(ValueError, match=r"'c2w' and 'K' \(genxd reconstruct cameras\.json\)"):
        read_camera_path(bad)


def test_the_view_names_are_kept_and_a_list_of_another_length_is_dropped() -> None:
    """The names are the views' (a path's frame names); a list that does not match the views (a hand-edited file) is
    left out rather than refusing the cameras (CameraPath refuses names of another count). Mutation round 4."""
    from genxd.cameras.recon_json import recon_json_from_object

    c2w, K = trajectories.orbit(num_frames=3)
    record = {"height": 12, "width": 16, "c2w": c2w.tolist(), "K": K.tolist(), "times": None,
              "names": ["a.png", "b.png", "c.png"]}
    assert recon_json_from_object(record, "cameras.json").names == ["a.png", "b.png", "c.png"]
    for names in (["a.png", "b.png"], ["a.png", "b.png", 3], "abc"):
        assert recon_json_from_object({**record, "names": names}, "cameras.json").names is None, names
