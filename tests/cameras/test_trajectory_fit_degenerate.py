"""genxd.cameras.fit on view sets whose fitted path has cameras with no orientation: a camera turning in place (all
views at one point), known views facing opposite ways. Each was NaN cameras (numpy's "invalid value encountered in
divide", then ``genxd: error: c2w: contains NaN or infinite values``); now a DegeneratePath saying why."""

from __future__ import annotations

import warnings

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import look_at
from genxd.cameras.fit import DegeneratePath, NoFocusPoint, fit_ellipse_path, fit_interpolated_path, fit_spiral_path
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene

UP = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)


def turning_in_place(n: int = 9) -> torch.Tensor:
    """``n`` OpenCV c2w at the origin, turned 0 ... 70 degrees about the vertical (a tripod pan)."""
    a = torch.linspace(0, 1.2, n, dtype=torch.float64)
    return look_at(torch.zeros(n, 3, dtype=torch.float64), torch.stack([a.sin(), 0 * a, a.cos()], -1), up=UP)


def facing_away() -> torch.Tensor:
    """Two views back to back, each looking away from the other."""
    eyes = torch.tensor([[0.0, 0, -0.1], [0, 0, 0.1]], dtype=torch.float64)
    return look_at(eyes, eyes * 30, up=UP)


@pytest.mark.parametrize("fit,c2w,says", [
    (lambda c: fit_spiral_path(c, None, 8), turning_in_place(), "stands on the point it looks at"),
    (lambda c: fit_ellipse_path(c, 8), turning_in_place(), "the ellipse has no size"),
    (lambda c: fit_spiral_path(c, None, 8), facing_away(), "view directions cancel out"),
    (lambda c: fit_interpolated_path(c, 8), facing_away(), "stands on the point it looks at"),
], ids=["spiral-turning", "ellipse-turning", "spiral-away", "spline-away"])
def test_degenerate_paths_are_refused_not_nan(fit, c2w, says):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning on the way to NaN was the only sign before
        with pytest.raises(DegeneratePath, match=says):
            fit(c2w)


def test_views_back_to_back_have_no_focus_point_and_it_says_how_they_look():
    """Their axes are parallel, but they do not 'all look the same way' (what the message said before)."""
    with pytest.raises(NoFocusPoint, match=r"parallel \(they look the same way or straight opposite ways\)"):
        fit_ellipse_path(facing_away(), 8)


def test_one_camera_is_said_to_be_one():
    """mip-NeRF 360's ellipse about the cameras' look-at point, from one camera, read "the 1 cameras' optical axes
    are parallel (all look the same way)" (this session's fit review)."""
    with pytest.raises(NoFocusPoint, match=r"^there is one camera: a single optical axis has no common look-at point"):
        fit_ellipse_path(facing_away()[:1], 8)


def test_cli_names_the_scene_and_what_works_instead(tmp_path):
    root = tmp_path / "mipnerf360"
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, "pan", torch.rand(9, 3, 8, 8), turning_in_place(), K, {3: ([1, 4, 7], [0])})
    out = tmp_path / "poses"
    runner = CliRunner()
    result = runner.invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "--n-views", "3", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"genxd: error: scene pan of {root}: the ellipse has no size: the 9 cameras stand on the vertical line through "
        "the point they look at (a camera that turns in place), for mip-NeRF 360's ellipse path; fit a spline through "
        "the known views instead (--dataset re10k) or write the scene's own cameras (--data-poses)\n")
    assert not out.exists()
    for hint in (["--dataset", "re10k"], ["--data-poses"]):  # what the message says works
        done = runner.invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "--n-views", "3", "-q",
                                   "--overwrite", *hint])
        assert done.exit_code == 0, done.output


def views_along_x(xs: list[float]) -> torch.Tensor:
    """OpenCV c2w at ``(x, 0, 0)`` for each x, all looking along +z."""
    eyes = torch.tensor([[x, 0.0, 0.0] for x in xs], dtype=torch.float64)
    return look_at(eyes, eyes + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), up=UP)


def test_views_repeated_one_after_another_are_taken_once():
    """The same camera twice in a row (a capture that paused) failed the whole spline: 'spline fit failed (Invalid
    inputs.); are there duplicate views?'. The path is now the one through the distinct views."""
    repeated = fit_interpolated_path(views_along_x([0, 0, 0, 1, 1, 1, 2, 2, 2]), 8, shift_x=[0.5])
    distinct = fit_interpolated_path(views_along_x([0, 1, 2]), 8)
    assert torch.allclose(repeated[:8], distinct, atol=1e-12)
    assert torch.isfinite(repeated).all() and repeated.shape == (16, 4, 4)
    back = fit_interpolated_path(views_along_x([0, 1, 0, 1, 0]), 8)  # not in a row: each is a view of the path
    assert torch.isfinite(back).all() and back[:, 0, 3].max() > 0.9


def test_views_that_are_all_one_camera_are_refused_saying_so(tmp_path):
    with pytest.raises(DegeneratePath, match=r"^the 9 views are all one camera \(one position and orientation\): "
                                             r"no path runs through them$"):
        fit_interpolated_path(views_along_x([0.0] * 9), 8)
    root = tmp_path / "re10k"
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, "tripod", torch.rand(9, 3, 8, 8), views_along_x([0.0] * 9), K,
                            {3: ([1, 4, 7], [0])})
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(tmp_path / "poses"), "--n-views",
                                      "3", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output == (f"genxd: error: scene tripod of {root}: the 3 views are all one camera (one position and "
                             "orientation): no path runs through them, for the spline path; write the scene's own "
                             "cameras instead (--data-poses)\n")
