"""genxd fewshot-data's warnings on a COLMAP capture that it converts but that may not be what the user thinks:

- LLFF's poses_bounds.npy whose camera centres are not the model's (left from another COLMAP run, whose bounds are of
  another scale, or rows not in image-name order) was kept in silence, and trajectory fit looked at a depth of another
  scene. The file as LLFF's imgs2poses writes it (rows in name order, each row the 3x5 ``[down, right, back, centre,
  hwf]`` of the COLMAP camera, then near, far) passes without one.
- Images in images/ that the model does not register were left out in silence (the splits counting the others)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.reconfusion_convert import convert_to_reconfusion
from genxd.validation import GenXDWarning

H, W, N = 12, 16, 10


def llff_poses_bounds(c2w: torch.Tensor, focal: float) -> np.ndarray:
    """``[N, 17]`` as LLFF's imgs2poses: OpenCV ``[right, down, forward]`` columns as ``[down, right, back]``."""
    m = c2w[:, :3, :].double().numpy()
    hwf = np.broadcast_to(np.array([H, W, focal]), (len(m), 3))
    rows = np.stack([m[:, :, 1], m[:, :, 0], -m[:, :, 2], m[:, :, 3], hwf], axis=-1)  # [N, 3, 5]
    return np.concatenate([rows.reshape(len(m), 15), np.full((len(m), 1), 1.0), np.full((len(m), 1), 6.0)], 1)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A COLMAP model of N views named out of order, as a capture folder; its c2w in name order."""
    import imageio.v3 as iio

    from genxd.cameras import intrinsics_from_focal, look_at, write_colmap_model

    root = tmp_path_factory.mktemp("llff") / "scene"
    t = torch.arange(N, dtype=torch.float32)
    eyes = torch.stack([t % 4, t // 4, 0 * t], -1) * 0.3 + torch.tensor([5.0, -2.0, 1.0])
    c2w = look_at(eyes, torch.tensor([5.5, -1.7, 5.0]), up=torch.tensor([0.0, -1.0, 0.0]))
    names = [f"IMG_{i:03d}.png" for i in range(N)]
    order = list(reversed(range(N)))  # the model lists them out of name order
    write_colmap_model(root / "sparse" / "0", c2w[order], intrinsics_from_focal(1.0), H, W, [names[i] for i in order])
    (root / "images").mkdir()
    for name in names:
        iio.imwrite(root / "images" / name, np.zeros((H, W, 3), np.uint8))
    return root, c2w


def test_poses_bounds_of_the_model_is_kept_without_a_warning(capture, tmp_path):
    root, c2w = capture
    np.save(root / "poses_bounds.npy", llff_poses_bounds(c2w, W))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        _, key, _ = convert_to_reconfusion(root, tmp_path / "rf", shots=(3,))
    assert key == "scene"


@pytest.mark.parametrize("stale", ["another scale", "rows reversed"])
def test_poses_bounds_of_other_cameras_is_warned_about(capture, tmp_path, stale):
    root, c2w = capture
    pb = llff_poses_bounds(c2w, W)
    if stale == "another scale":
        pb[:, [3, 8, 13]] *= 2.0  # the centres of a COLMAP run at another scale
    else:
        pb = pb[::-1].copy()
    np.save(root / "poses_bounds.npy", pb)
    result = CliRunner().invoke(app, ["fewshot-data", str(root), "-o", str(tmp_path / "rf"), "--n-views", "3"])
    assert result.exit_code == 0, result.output
    assert (f"genxd: warning: {root / 'poses_bounds.npy'}: its camera centres are not the COLMAP model's"
            in result.output)
    assert "may not fit these cameras" in result.output


def test_images_the_model_does_not_register_are_named(capture, tmp_path):
    """Photos COLMAP could not place were left out in silence, and the every-8th split counted the others."""
    import shutil

    root, _ = capture
    copy = tmp_path / "scene"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("poses_bounds.npy"))
    for extra in ("IMG_100.png", ".hidden.png"):
        shutil.copy(copy / "images" / "IMG_000.png", copy / "images" / extra)
    result = CliRunner().invoke(app, ["fewshot-data", str(copy), "-o", str(tmp_path / "rf"), "--n-views", "3"])
    assert result.exit_code == 0, result.output
    assert (f"genxd: warning: {copy / 'images'}: 1 image the COLMAP model does not register (IMG_100.png) left out: "
            f"the views and their splits are the {N} registered ones") in result.output
    (copy / "images" / "IMG_100.png").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        convert_to_reconfusion(copy, tmp_path / "rf2", shots=(3,))  # every image registered: no warning


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-2.0, "-2"), (0.0, "0")])
@pytest.mark.parametrize("column", [-2, -1])
def test_poses_bounds_with_a_near_or_far_bound_not_finite_and_positive_is_refused(capture, tmp_path, bad, shown,
                                                                                 column):
    """A NaN, infinite, zero or negative near/far bound was stored in silence, and only trajectory fit --dataset llff
    refused the scene later ('the near/far bounds must be finite and > 0'), naming neither the file nor the view."""
    import shutil

    root, c2w = capture
    copy = tmp_path / "scene"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("poses_bounds.npy"))
    pb = llff_poses_bounds(c2w, W)
    pb[4, column] = bad
    np.save(copy / "poses_bounds.npy", pb)
    result = CliRunner().invoke(app, ["fewshot-data", str(copy), "-o", str(tmp_path / "rf"), "--n-views", "3"])
    assert result.exit_code != 0
    which = "near" if column == -2 else "far"
    assert (f"{copy / 'poses_bounds.npy'}: row 4 (IMG_004.png): its {which} bound is {shown}; the near/far bounds "
            "must be finite and > 0 (distances along the view)") in result.output
    assert not (tmp_path / "rf").exists()


@pytest.mark.parametrize("dtype", ["<U3", "complex128"])
def test_poses_bounds_of_other_than_real_numbers_is_refused(capture, tmp_path, dtype):
    """Text was 'could not convert string to float', naming no file; complex numbers were stored, imaginary parts
    dropped, with numpy's ComplexWarning."""
    import shutil

    root, _ = capture
    copy = tmp_path / "scene"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("poses_bounds.npy"))
    np.save(copy / "poses_bounds.npy", np.ones((N, 17), dtype=dtype))
    result = CliRunner().invoke(app, ["fewshot-data", str(copy), "-o", str(tmp_path / "rf"), "--n-views", "3"])
    assert result.exit_code != 0
    assert (f"{copy / 'poses_bounds.npy'}: expected [{N}, 17] real numbers, got {np.dtype(dtype)} values"
            in result.output)
    assert not (tmp_path / "rf").exists()


def test_an_image_the_model_registers_under_two_names_is_refused(capture, tmp_path):
    """IMG_001.png registered again as ./IMG_001.png was two views of one picture (maybe a training and a test view)."""
    import shutil

    from genxd.cameras import intrinsics_from_focal, write_colmap_model

    root, c2w = capture
    copy = tmp_path / "scene"
    shutil.copytree(root / "images", copy / "images")
    names = [f"IMG_{i:03d}.png" for i in range(N)]
    names[5] = "./IMG_001.png"
    write_colmap_model(copy / "sparse" / "0", c2w, intrinsics_from_focal(1.0), H, W, names)
    with pytest.raises(ValueError, match=r"scene: \./IMG_001\.png is listed as 2 views: one image may not be two "
                                         r"views"):
        convert_to_reconfusion(copy, tmp_path / "rf", shots=(3,))
    assert not (tmp_path / "rf").exists()
