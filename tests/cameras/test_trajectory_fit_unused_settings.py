"""genxd trajectory fit: a setting the chosen path does not take is said to be unused (one warning), as
``trajectory make`` refuses one that does not apply. Before, ``--dataset mipnerf360 --shift-x 0.2`` wrote the
ellipse without copies, and ``--shift-x`` beside ``--multiscale`` on the spline was dropped, without a word."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import look_at
from genxd.cameras.fit import fit_reconfusion
from genxd.cameras.formats import load_w2c_list_json
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene
from genxd.validation import GenXDWarning


def make_scene(root: Path, key: str = "s0", n: int = 12) -> None:
    """``n`` views on an arc, all looking at the origin (every path type fits them), with a 9-view split."""
    a = torch.linspace(-0.6, 0.6, n, dtype=torch.float64)
    eyes = torch.stack([2 * a.sin(), 0.1 * a, -2 * a.cos()], dim=-1)
    c2w = look_at(eyes, torch.zeros(n, 3, dtype=torch.float64), up=torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64))
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, key, torch.rand(n, 3, 8, 8), c2w, K, {9: (list(range(9)), [9, 10])})


@pytest.mark.parametrize("args, says, poses", [
    (["--dataset", "mipnerf360", "--shift-x", "0.2", "--shift-z", "0.2"],
     "--shift-x does not apply to mip-NeRF 360's ellipse path (--dataset mipnerf360): not used", 8),
    (["--dataset", "dtu", "--shift-x", "0.2"], "--shift-x does not apply to dtu's spiral path (--dataset dtu): not used",
     4),
    (["--dataset", "re10k", "--return-center", "--z-rate", "0.5"],
     "--z-rate and --return-center do not apply to re10k's spline path (--dataset re10k): not used", 4),
    (["--dataset", "co3d", "--multiscale", "2", "--shift-x", "0.2"],
     "--shift-x does not apply to co3d's spline path with --multiscale (its copies are scaled, not shifted, as in "
     "the authors' code): not used", 8),
    (["--data-poses", "--shift-z", "0.2"], "--shift-z does not apply to --data-poses (the scene's own cameras are "
     "written): not used", 12),
], ids=["ellipse-shift-x", "spiral-shift-x", "spline-spiral-options", "spline-multiscale-shift", "data-poses"])
def test_a_setting_the_path_does_not_take_is_said_to_be_unused(tmp_path, args, says, poses):
    root = tmp_path / "scenes"
    make_scene(root)
    out = tmp_path / "poses"
    res = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "-n", "4", *args])
    assert res.exit_code == 0, res.output
    assert [line for line in res.stderr.splitlines() if "warning" in line] == [f"genxd: warning: {says}"], res.stderr
    assert len(load_w2c_list_json(out / "scenes" / "s0" / "gen_poses_w2c.json")) == poses  # written all the same
    quiet = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "-n", "4", *args, "-q",
                                     "--overwrite"])
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr


def test_settings_the_path_takes_give_no_warning_and_python_names_its_arguments(tmp_path):
    root = tmp_path / "scenes"
    make_scene(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_reconfusion(root, tmp_path / "a", kind="dtu", num_points=4, shift_z=[0.2], multiscale=[2.0], z_rate=0.5,
                        return_center=True, shift_zy=True, progress=False)
        fit_reconfusion(root, tmp_path / "b", kind="re10k", num_points=4, shift_x=[0.2], shift_z=[0.2], progress=False)
        fit_reconfusion(root, tmp_path / "c", kind="mipnerf360", num_points=4, shift_z=[0.2], multiscale=[2.0],
                        progress=False)
    with pytest.warns(GenXDWarning, match=r"^shift_x and shift_zy do not apply to mip-NeRF 360's ellipse path "
                                          r"\(kind='mipnerf360'\): not used$"):
        fit_reconfusion(root, tmp_path / "d", kind="mipnerf360", num_points=4, shift_x=[0.2], shift_zy=True,
                        progress=False)
