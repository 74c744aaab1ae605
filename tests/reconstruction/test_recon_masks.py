"""DTU's object-masked metrics (RegNeRF's protocol): :mod:`genxd.reconstruction.masks`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from genxd.reconstruction.masks import MASKED_PROTOCOL, load_view_masks, masked_metrics
from genxd.reconstruction.metrics import psnr, ssim


def _half_mask(h: int = 16, w: int = 16) -> torch.Tensor:
    """``[1, 1, h, w]``: the left half is the object."""
    m = torch.zeros(1, 1, h, w)
    m[..., : w // 2] = 1
    return m


def test_masked_psnr_is_the_mse_over_the_object_only() -> None:
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 16, 16, generator=g)
    mask = _half_mask()
    pred = gt + 0.1 * mask + (1 - mask) * torch.rand(1, 3, 16, 16, generator=g)  # 0.1 off on the object, garbage off it
    assert psnr(pred, gt, mask=mask).item() == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.1^2)
    assert psnr(pred, gt).item() < 15.0
    assert math.isnan(psnr(pred, gt, mask=torch.zeros_like(mask)).item())


def test_a_render_right_on_the_object_scores_the_maximum_masked() -> None:
    """Equal to the ground truth on the object and garbage elsewhere: the masked metrics are perfect (PSNR at the
    clamp of a zero MSE, SSIM 1), the unmasked ones low."""
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(2, 3, 16, 16, generator=g)
    mask = _half_mask().expand(2, 3, 16, 16)
    pred = gt * mask + (1 - mask) * torch.rand(2, 3, 16, 16, generator=g)
    result = masked_metrics(pred, gt, mask, ["a", "b"])
    assert result["protocol"] == MASKED_PROTOCOL
    assert result["psnr"] == pytest.approx(120.0)  # psnr's clamp of a zero MSE (1e-12)
    assert result["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert float(psnr(pred, gt).mean()) < 15.0 and float(ssim(pred, gt).mean()) < 0.7
    assert [row["object_fraction"] for row in result["per_view"]] == [0.5, 0.5]


def test_masked_ssim_and_lpips_see_both_images_on_white() -> None:
    """RegNeRF: ``rgb * mask + (1 - mask)`` for the rendering and the ground truth before SSIM / LPIPS."""
    g = torch.Generator().manual_seed(2)
    gt, pred = torch.rand(2, 1, 3, 16, 16, generator=g)
    mask = _half_mask()
    seen = []

    def fake_lpips(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append((a.clone(), b.clone()))
        return (a - b).abs().flatten(1).mean(1)

    result = masked_metrics(pred, gt, mask, ["v"], fake_lpips)
    white_pred, white_gt = pred * mask + (1 - mask), gt * mask + (1 - mask)
    assert torch.equal(seen[0][0], white_pred) and torch.equal(seen[0][1], white_gt)
    assert (white_pred[..., 8:] == 1).all()
    assert result["ssim"] == pytest.approx(float(ssim(white_pred, white_gt)))
    assert result["lpips"] == pytest.approx(float((white_pred - white_gt).abs().mean()))
    assert result["per_view"][0]["lpips"] == pytest.approx(result["lpips"])


def _write_mask(path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_masks_are_found_in_the_idr_layouts_binarised_at_255_and_resized_nearest(tmp_path) -> None:
    m = np.zeros((8, 8), np.uint8)
    m[:, :3] = 255
    m[:, 3] = 254  # an anti-aliased edge: background in RegNeRF's protocol (== 1 after / 255)
    _write_mask(tmp_path / "idrmasks" / "scan114" / "mask" / "005.png", np.stack([m] * 3, -1))  # IDR's own scans
    _write_mask(tmp_path / "idrmasks" / "scan8" / "005.png", m)  # the others (gray here)
    for folder, key in ((tmp_path / "idrmasks", "scan114"), (tmp_path / "idrmasks" / "scan114", None),
                        (tmp_path / "idrmasks" / "scan8", None), (tmp_path / "idrmasks", "scan8")):
        masks = load_view_masks(folder, [5], ["x/0005"], (4, 4), (4, 4), scene_key=key)
        assert masks.shape == (1, 3, 4, 4)
        # nearest from 8 to 4 columns takes columns 0, 2, 4, 6: the object (< 3) at 0 and 2
        assert masks[0, :, 0].tolist() == [[1.0, 1.0, 0.0, 0.0]] * 3, folder


def test_a_folder_of_images_matches_masks_by_file_name(tmp_path) -> None:
    _write_mask(tmp_path / "m" / "frame_0007.png", np.full((4, 6), 255))
    masks = load_view_masks(tmp_path / "m", [2], ["frames/frame_0007.jpg"], (4, 6), (2, 3), by_index=False)
    assert masks.shape == (1, 3, 2, 3) and bool(masks.all())


@pytest.mark.parametrize("case", ["missing", "aspect", "empty"])
def test_bad_masks_are_named(tmp_path, case: str) -> None:
    if case == "aspect":
        _write_mask(tmp_path / "003.png", np.full((8, 16), 255))
        with pytest.raises(ValueError, match=r"003\.png: the mask is 16x8 but held-out view s/0003 is 8x8 \(another"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))
    elif case == "empty":
        _write_mask(tmp_path / "003.png", np.full((8, 8), 200))
        with pytest.raises(ValueError, match=r"003\.png: no object pixel \(255\) at 8x8"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))
    else:
        with pytest.raises(FileNotFoundError, match=r"003\.png: no mask for held-out view s/0003 \(masks\)"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))
