"""Files of a ``genxd reconstruct`` output that other tools open, read as those tools read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def _sibr_value(line: str, name: str) -> str:
    """A value of ``cfg_args`` as the SIBR viewer cuts it out (``findArg``: after the first ``=`` that follows the
    name's first occurrence, up to the next ``,`` or ``)``)."""
    start = line.index("=", line.index(name)) + 1
    end = min(i for i in (line.find(",", start), line.find(")", start)) if i >= 0)
    return line[start:end]


def test_a_3d_scene_is_also_written_as_the_3dgs_codes_model_folder(tmp_path):
    """``OUT/3dgs/`` is the folder 3DGS's train.py leaves, which its SIBR viewer (``-m``), render.py and other
    tools open: ``cfg_args`` (a ``Namespace(...)`` with the fields 3DGS and SIBR read), ``cameras.json`` (=
    ``cameras_3dgs.json``), ``input.ply`` (the viewer's proxy) and ``point_cloud/iteration_N/point_cloud.ply``
    (= ``scene.ply``). Before, there was no such folder: SIBR stopped at the missing ``cfg_args``."""
    import ast
    from argparse import Namespace

    from plyfile import PlyData

    scene = _scene(tmp_path / "scene")
    out = tmp_path / "out"
    config = ReconstructionConfig(iterations=2, init_points=100, background=(1.0, 1.0, 1.0))
    reconstruct_scene(scene, out, config, holdout_every=2, video_frames=0, progress=False)
    model = out / "3dgs"
    assert sorted(p.relative_to(model).as_posix() for p in model.rglob("*")) == [
        "cameras.json", "cfg_args", "input.ply", "point_cloud", "point_cloud/iteration_2",
        "point_cloud/iteration_2/point_cloud.ply"]

    line = (model / "cfg_args").read_text()
    assert "\n" not in line  # SIBR reads the first line only
    call = ast.parse(line, mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Namespace"
    assert not call.args
    fields = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert {"sh_degree", "source_path", "model_path", "images", "resolution", "white_background", "data_device",
            "eval"} <= set(fields)
    assert vars(eval(line, {"Namespace": Namespace})) == fields  # 3DGS's get_combined_args eval-s it
    assert fields["source_path"] == fields["model_path"] == str(model.resolve())
    assert (fields["images"], fields["resolution"], fields["white_background"], fields["eval"]) == (
        "images", -1, True, True)
    # SIBR: the source path (where it finds cameras.json and input.ply), the SH degree it reads the .ply with
    assert _sibr_value(line, "source_path")[1:-1] == fields["source_path"]
    assert int(_sibr_value(line, "sh_degree")) == fields["sh_degree"]
    assert "True" in _sibr_value(line, "white_background")

    ply_path = model / "point_cloud" / "iteration_2" / "point_cloud.ply"
    assert ply_path.read_bytes() == (out / "scene.ply").read_bytes()
    names = [p.name for p in PlyData.read(str(ply_path))["vertex"].properties]
    assert len([n for n in names if n.startswith("f_rest_")]) == 3 * ((fields["sh_degree"] + 1) ** 2 - 1)
    # SIBR's loadPly takes the count from the header's third line, then reads N records of 62 floats
    raw = ply_path.read_bytes()
    header, body = raw.split(b"end_header\n", 1)
    count = int(header.split(b"\n")[2].split()[2])
    assert header.split(b"\n")[:3] == [b"ply", b"format binary_little_endian 1.0", b"element vertex %d" % count]
    assert len(body) == count * 62 * 4

    assert json.loads((model / "cameras.json").read_text()) == json.loads((out / "cameras_3dgs.json").read_text())
    proxy = PlyData.read(str(model / "input.ply"))["vertex"]
    assert [p.name for p in proxy.properties] == ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue"]
    assert proxy.count == count


def test_a_4d_scene_has_no_3dgs_model_folder(tmp_path):
    """Per-time scenes are not a 3DGS model folder (one point cloud per training iteration): none is written."""
    scene = _scene(tmp_path / "scene")
    out = tmp_path / "out"
    reconstruct_scene(scene, out, ReconstructionConfig(mode="4d", iterations=2, init_points=100), video_frames=0,
                      progress=False)
    assert (out / "scene.ply").is_file() and not (out / "3dgs").exists()


def test_the_3dgs_cameras_json_is_a_camera_path_of_the_scenes_cameras(tmp_path):
    """``cameras_3dgs.json`` and ``3dgs/`` (its ``cameras.json``) read by ``read_camera_path`` as the scene's own
    cameras (an orbit, principal point at the centre); before, the list was taken for a w2c list and refused
    ('matrices[0]: expected a 3x4 or 4x4 matrix (list of rows), got an object')."""
    from genxd.cameras import read_camera_path

    scene = _scene(tmp_path / "scene")
    out = tmp_path / "out"
    reconstruct_scene(scene, out, ReconstructionConfig(iterations=2, init_points=100), video_frames=0, progress=False)
    c2w, K = trajectories.orbit(num_frames=4)
    for path in (out / "cameras_3dgs.json", out / "3dgs"):
        cam = read_camera_path(path, dtype=torch.float64)
        assert cam.source_format == "3DGS cameras.json" and (cam.height, cam.width) == (16, 16)
        torch.testing.assert_close(cam.c2w, c2w.double(), atol=1e-6, rtol=0)
        torch.testing.assert_close(cam.K, K.double(), atol=1e-6, rtol=0)


def test_cfg_args_of_a_non_ascii_output_path_under_the_c_locale(tmp_path):
    """``cfg_args`` is UTF-8 whatever the locale, its paths the folder's own name: under ``LC_ALL=C`` (Python's
    UTF-8 mode off) ``café`` was held as escaped bytes, written as the text ``caf\\udcc3\\udca9`` (no such
    folder for 3DGS or SIBR); under a code-page locale (Windows) a name the code page lacks failed to be written."""
    from argparse import Namespace

    scene = _scene(tmp_path / "scene")
    out = tmp_path / "café"
    code = ("import sys; from genxd.reconstruction import ReconstructionConfig, reconstruct_scene; "
            "print(sys.getfilesystemencoding()); "
            "reconstruct_scene(sys.argv[1], sys.argv[2], ReconstructionConfig(iterations=2, init_points=100), "
            "holdout_every=2, video_frames=0, progress=False, use_lpips=False)")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-c", code, str(scene), str(out)], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ascii"]  # the case this test is for
    line = (out / "3dgs" / "cfg_args").read_bytes().decode("utf-8")
    fields = vars(eval(line, {"Namespace": Namespace}))  # as 3DGS's get_combined_args reads it
    assert fields["source_path"] == fields["model_path"] == str((out / "3dgs").resolve())
    assert _sibr_value(line, "source_path") == repr(str((out / "3dgs").resolve()))  # SIBR's cut, quotes kept

