"""Files of a ``genxd reconstruct`` output that other tools open, read as those tools read them."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from genxd.cameras import project_points, trajectories
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.scene_outputs import write_scene


def _scene(folder: Path) -> Path:
    frames = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=4)
    return write_scene(folder, frames, c2w, K, [0], frames, {"mode": "3d"}, fps=3.0)


def test_views_are_written_in_the_3dgs_camera_layout_splat_viewers_import(tmp_path):
    """``cameras_3dgs.json``: the original 3DGS code's cameras.json layout (a list of id, img_name, width, height,
    position, rotation, fx, fy), which SuperSplat and antimatter15's splat viewer import; genxd's own
    ``cameras.json`` (an object of c2w / K lists) is ignored by SuperSplat and breaks the other. Read as those
    viewers read it (camera centre, camera-to-world rotation rows, pixel focal lengths, centred principal point),
    each entry projects a point where ``cameras.json``'s camera does."""
    scene = _scene(tmp_path / "scene")
    out = tmp_path / "out"
    reconstruct_scene(scene, out, ReconstructionConfig(iterations=2, init_points=100), video_frames=0, progress=False)
    ours = json.loads((out / "cameras.json").read_text())
    entries = json.loads((out / "cameras_3dgs.json").read_text())
    assert [e["img_name"] for e in entries] == [f"frames/{i:03d}" for i in range(4)]
    assert [e["id"] for e in entries] == list(range(4))
    point = torch.tensor([0.1, -0.2, 0.9], dtype=torch.float64)
    for e, c2w, K in zip(entries, torch.tensor(ours["c2w"]), torch.tensor(ours["K"])):
        assert (e["width"], e["height"]) == (ours["width"], ours["height"])
        R, centre = torch.tensor(e["rotation"], dtype=torch.float64), torch.tensor(e["position"], dtype=torch.float64)
        cam = R.T @ (point - centre)
        uv = torch.stack([e["fx"] * cam[0] / cam[2] + e["width"] / 2, e["fy"] * cam[1] / cam[2] + e["height"] / 2])
        expected = project_points(point[None], c2w.double(), K.double())[0][0] * torch.tensor([e["width"], e["height"]])
        assert torch.allclose(uv, expected.double(), atol=1e-6), (e["img_name"], uv, expected)
