"""The llff spiral's near/far bounds (``poses_bounds[:, -2:]``): bounds that are not finite distances > 0 are refused
(a near bound of 0 put the spiral's look-at point on the average camera, in silence; NaN gave NaN cameras; a
negative one turned the path around), and a scene's ``poses_bounds`` of another shape is refused naming the scene
(a 1-D one was an IndexError traceback)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import look_at
from genxd.cameras.fit import fit_spiral_path
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene


def forward_facing(n: int = 9) -> torch.Tensor:
    """``n`` OpenCV c2w on a small grid, all looking at a point 4 units ahead."""
    t = torch.arange(n, dtype=torch.float64)
    eyes = torch.stack([t % 3, t // 3, 0 * t], -1) * 0.2
    return look_at(eyes, torch.tensor([0.2, 0.2, 4.0], dtype=torch.float64),
                   up=torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("bounds,says", [
    ([0.0, 5.0], "got 0 to 5"), ([-1.0, 5.0], "got -1 to 5"), ([np.nan, 5.0], "got NaN or infinite values"),
    ([], "got none"),
])
def test_bounds_that_are_not_distances_are_refused(bounds, says):
    with pytest.raises(ValueError, match=rf"the near/far bounds must be finite and > 0 .*{says}"):
        fit_spiral_path(forward_facing(), np.array(bounds), 8)


def test_good_bounds_still_fit():
    path = fit_spiral_path(forward_facing(), np.array([1.0, 8.0]), 8)
    assert path.shape == (8, 4, 4) and bool(torch.isfinite(path).all())


def test_a_scene_whose_poses_bounds_has_another_shape_is_named(tmp_path):
    root = tmp_path / "llff"
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, "flat", torch.rand(9, 3, 8, 8), forward_facing(), K, {3: ([1, 4, 7], [0])},
                            extras={"poses_bounds": torch.linspace(1, 5, 9, dtype=torch.float64)})
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(tmp_path / "poses"),
                                      "--n-views", "3", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == (f"genxd: error: scene flat of {root}: poses_bounds: expected [N, 17] (near/far bounds "
                             "last), got shape [9]\n")
    assert not (tmp_path / "poses").exists()
