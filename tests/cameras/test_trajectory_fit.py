"""genxd.cameras.fit and ``genxd trajectory``: the authors' few-shot trajectory fitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import (
    fit_ellipse_path,
    fit_interpolated_path,
    fit_spiral_path,
    load_w2c_list_json,
    look_at,
    check_rigid,
)
from genxd.cameras.fit import fit_reconfusion
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene

REFERENCE = json.loads((Path(__file__).parent / "data" / "authors_reference.json").read_text())


def c2w_from_w2c34(w2c: list) -> torch.Tensor:
    m = torch.eye(4, dtype=torch.float64).repeat(len(w2c), 1, 1)
    m[:, :3] = torch.tensor(w2c, dtype=torch.float64)
    return torch.linalg.inv(m)


def w2c34(c2w: torch.Tensor) -> np.ndarray:
    return torch.linalg.inv(c2w.double())[:, :3].numpy()


def test_interpolated_path_matches_authors():
    views = c2w_from_w2c34(REFERENCE["fit_input_w2c"])
    ours = fit_interpolated_path(views, 10, shift_x=[0.3], shift_z=[-0.4])
    np.testing.assert_allclose(w2c34(ours), np.array(REFERENCE["fit_interpolated_n10_sx0.3_sz-0.4_w2c"]), atol=1e-8)


def test_spiral_and_ellipse_paths_match_authors():
    views = c2w_from_w2c34(REFERENCE["fit_input_w2c"])
    bounds = np.array([[1.0, 10.0]] * 9)
    ours = fit_spiral_path(views, bounds, 8, n_rots=1, zrate=0.5, perc=90, shift_z=[0.3])
    np.testing.assert_allclose(w2c34(ours), np.array(REFERENCE["fit_spiral_bounds1_10_n8_zrate0.5_perc90_sz0.3_w2c"]), atol=1e-8)
    views360 = c2w_from_w2c34(REFERENCE["fit_input_360_w2c"])
    ours = fit_ellipse_path(views360, 10, shift_z=[0.5])
    np.testing.assert_allclose(w2c34(ours), np.array(REFERENCE["fit_ellipse_n10_sz0.5_w2c"]), atol=1e-8)


def test_interpolated_path_properties():
    # Views along a gentle arc looking at a common point.
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    eyes = torch.stack([2 * t - 1, 0.1 * torch.sin(3 * t), -3 + 0.3 * t**2], dim=-1)
    views = look_at(eyes, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(9, 3))
    path = fit_interpolated_path(views, 30, shift_x=[0.5], shift_z=[0.2, -0.2])
    assert path.shape == (30 * 2 * 3, 4, 4)
    check_rigid(path)
    base = path[:30]
    # Starts at the first view (the spline starts there; smoothing is small) and follows the views.
    assert (base[0, :3, 3] - views[0, :3, 3]).norm() < 0.05
    dist = torch.cdist(views[:, :3, 3], base[:, :3, 3]).min(dim=1).values
    assert dist.max() < 0.1
    # Copies are pure world-space shifts of the base path: same rotations, constant offsets.
    x = views[:, 0, 3].numpy()
    sx_scale = (np.percentile(x, 90) - np.percentile(x, 10)) / 2
    copy = path[30 * 3 : 30 * 4]  # (sx=0.5, sz=0)
    assert torch.allclose(copy[:, :3, :3], base[:, :3, :3])
    assert torch.allclose(copy[:, :3, 3] - base[:, :3, 3], torch.tensor([0.5 * sx_scale, 0, 0], dtype=torch.float64).expand(30, 3))
    scaled = fit_interpolated_path(views, 30, multiscale=[2.0])
    assert torch.allclose(scaled[30:, :3, 3], 2 * scaled[:30, :3, 3])


def make_scene(root: Path, key: str, n: int = 12) -> torch.Tensor:
    """A small forward-moving scene with 12 views and the 3/6/9-view splits."""
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    eyes = torch.stack([torch.sin(2 * t), 0.05 * t, 2 * t], dim=-1)
    c2w = look_at(eyes, eyes + torch.tensor([0.2, 0.0, 1.0], dtype=torch.float64))
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    images = torch.rand(n, 3, 8, 8)
    splits = {}
    for n_views in (3, 6, 9):
        train = list(range(0, n, n // n_views))[:n_views]
        splits[n_views] = (train, [i for i in (1, 5, 9, 11) if i not in train][:2])  # test views are no inputs
    write_reconfusion_scene(root, key, images, c2w, K, splits)
    return c2w


def test_fit_reconfusion_writes_authors_layout(tmp_path):
    root = tmp_path / "re10k"
    make_scene(root, "scene_a")
    c2w_b = make_scene(root, "scene_b")
    out = tmp_path / "poses"
    written = fit_reconfusion(root, out, num_points=6, shift_x=[0.2], shift_z=[0.2, -0.2], progress=False)
    assert set(written) == {"scene_a", "scene_b"}
    assert written["scene_b"] == out / "re10k" / "scene_b" / "gen_poses_w2c.json"
    poses = load_w2c_list_json(written["scene_b"], dtype=torch.float64)
    assert poses.shape == (6 * 2 * 3, 4, 4)
    w2c = np.array(json.loads(written["scene_b"].read_text()))
    assert w2c.shape == (36, 3, 4)  # a bare list of world-to-camera 3x4, as reconf_group.py reads
    # The fitted path follows the train views of the 9-view split.
    train = list(range(0, 12, 1))[:9]
    assert torch.cdist(poses[:6, :3, 3], c2w_b[train, :3, 3]).min(dim=1).values.max() < 0.3
    with pytest.raises(FileExistsError, match=r"pass overwrite=True to replace them\)$"):  # said --overwrite
        fit_reconfusion(root, out, num_points=6, progress=False)
    data = fit_reconfusion(root, out, data_poses=True, overwrite=True, progress=False)
    assert torch.allclose(load_w2c_list_json(data["scene_b"], dtype=torch.float64), c2w_b, atol=1e-5)


def test_cli_trajectory_fit_and_make(tmp_path):
    root = tmp_path / "co3d"
    make_scene(root, "s0")
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["trajectory", "fit", str(root), "--out", str(out), "-n", "5", "--shift-x", "0.2,-0.2", "--shift-z", "0.4", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert load_w2c_list_json(out / "co3d" / "s0" / "gen_poses_w2c.json").shape == (5 * 3 * 2, 4, 4)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exist" in again.output and "use --overwrite" in again.output
    # with the progress bar on, stdout holds only the "wrote ..." line (the bar lives on stderr)
    loud = runner.invoke(app, [a for a in args if a != "-q"] + ["--overwrite"])
    assert loud.exit_code == 0 and [line for line in loud.stdout.splitlines()] == [loud.stdout.strip()], loud.stdout
    assert loud.stderr == ""  # not a terminal: no bar, and no empty line where it would have been
    bad = runner.invoke(app, ["trajectory", "fit", str(tmp_path / "missing"), "--out", str(out)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    llff = runner.invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "--dataset", "llff", "--overwrite", "-q"])
    assert llff.exit_code == 2 and "poses_bounds" in llff.output

    made = runner.invoke(app, ["trajectory", "make", "orbit", "--out", str(tmp_path / "o.json"), "--num-frames", "8"])
    assert made.exit_code == 0, made.output
    assert len(json.loads((tmp_path / "o.json").read_text())["cameras"]) == 8
    wrong = runner.invoke(app, ["trajectory", "make", "zoom", "--out", str(tmp_path / "z.json"), "--angle", "3"])
    assert wrong.exit_code == 2 and "does not apply" in wrong.output


def parallel_cameras(n: int = 12, tilted: bool = False) -> torch.Tensor:
    """``n`` cameras looking the same way from ``(0.1 i, 0, 4)``: along +z, or ``tilted``, all turned alike."""
    c2w = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    c2w[:, 0, 3] = 0.1 * torch.arange(n)
    c2w[:, 2, 3] = 4.0
    if tilted:
        from scipy.spatial.transform import Rotation

        c2w[:, :3, :3] = torch.from_numpy(Rotation.from_euler("xyz", [0.3, 0.7, -0.2]).as_matrix())
    return c2w


@pytest.mark.parametrize("folder,path", [("dtu", "dtu's spiral"), ("scenes", "mip-NeRF 360's ellipse")])
@pytest.mark.parametrize("tilted", [False, True])
def test_trajectory_fit_parallel_cameras_say_so(tmp_path, folder, path, tilted):
    """Cameras that all look the same way have no focus point for the spiral / ellipse paths: was numpy's bare
    'Singular matrix' (or, all turned alike, a path around a point made of rounding errors, in silence); now the
    scene, the cause and the fits that need no focus point, and no scene's file written."""
    root = tmp_path / folder
    t = torch.linspace(0, 1, 12, dtype=torch.float64)
    eyes = torch.stack([2 * t - 1, 0.1 * torch.sin(3 * t), -3 + 0.3 * t**2], dim=-1)
    splits = {9: (list(range(9)), [9, 10])}
    images = torch.rand(12, 3, 8, 8)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, "a_fine", images, look_at(eyes, torch.zeros(12, 3, dtype=torch.float64)), K, splits)
    write_reconfusion_scene(root, "b_parallel", images, parallel_cameras(tilted=tilted), K, splits)
    out = tmp_path / "poses"
    runner = CliRunner()
    result = runner.invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"genxd: error: scene b_parallel of {root}: the 12 cameras' optical axes are parallel (all look the same way): "
        f"they have no common look-at point for {path} path; fit a spline through the known views instead "
        "(--dataset re10k) or write the scene's own cameras (--data-poses)\n")
    assert not out.exists()  # a_fine, fitted first, is written with the others or not at all
    with pytest.raises(ValueError, match=r"\(kind='re10k'\) or write the scene's own cameras \(data_poses=True\)$"):
        fit_reconfusion(root, out, progress=False)
    for hint in (["--dataset", "re10k"], ["--data-poses"]):  # what the message says works
        done = runner.invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "-q", "--overwrite", *hint])
        assert done.exit_code == 0, done.output
        assert len(load_w2c_list_json(out / folder / "b_parallel" / "gen_poses_w2c.json")) in (12, 120)


def test_trajectory_fit_spline_failure_names_the_scene(tmp_path):
    """Known views all at one camera leave the re10k spline nothing to fit: its error named no scene (was
    'genxd: error: fit_interpolated_path: spline fit failed (Invalid inputs.); ...'); now it does (and, since
    2026-12-07, says the views are one camera, test_trajectory_fit_degenerate.py)."""
    root = tmp_path / "re10k"
    make_scene(root, "a_fine")
    same = torch.eye(4, dtype=torch.float64).repeat(12, 1, 1)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, "b_same", torch.rand(12, 3, 8, 8), same, K, {9: (list(range(9)), [9, 10])})
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(tmp_path / "poses"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"genxd: error: scene b_same of {root}: the 9 views are all one camera")
    assert result.output.endswith("(--data-poses)\n") and not (tmp_path / "poses").exists()
