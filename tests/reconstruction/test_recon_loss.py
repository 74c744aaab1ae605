"""The reconstruction's photometric loss (trainer.photometric_loss) against 3DGS's definition,
``(1 - λ) L1 + λ (1 - SSIM)`` with λ = 0.2, the SSIM from scikit-image (Gaussian window 11, σ 1.5, valid region)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from genxd.reconstruction.trainer import ReconstructionConfig, photometric_loss


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Two renders ``[2, 3, 24, 28]`` and their views: a smooth texture and a noisy, darker copy of it."""
    gen = torch.Generator().manual_seed(3)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 28), indexing="ij")
    gt = torch.stack([torch.stack([torch.sin(6 * xs + k), ys * xs, torch.cos(5 * ys - k)]) for k in (0.0, 1.0)])
    gt = (gt + 1) / 2
    pred = (0.8 * gt + 0.05 + 0.1 * torch.randn(gt.shape, generator=gen)).clamp(0, 1)
    return pred, gt


def _ssim_skimage(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """Mean over the batch of scikit-image's Gaussian SSIM (as 3DGS's training loss weights it)."""
    return float(np.mean([
        structural_similarity(p.permute(1, 2, 0).double().numpy(), g.permute(1, 2, 0).double().numpy(), channel_axis=-1,
                              gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
        for p, g in zip(pred, gt)]))


def test_identical_images_cost_nothing() -> None:
    _, gt = _pair()
    for lam in (0.0, 0.2, 1.0):
        assert float(photometric_loss(gt.clone(), gt, lam)) == pytest.approx(0.0, abs=1e-6)


def test_loss_is_3dgs_weighting_of_l1_and_dssim() -> None:
    pred, gt = _pair()
    l1 = float(np.abs(pred.double().numpy() - gt.double().numpy()).mean())
    s = _ssim_skimage(pred, gt)
    assert 0.05 < l1 < 0.2 and 0.2 < s < 0.9  # both terms matter
    lam = ReconstructionConfig().lambda_dssim
    assert lam == 0.2  # 3DGS's default
    assert float(photometric_loss(pred, gt, lam)) == pytest.approx(0.8 * l1 + 0.2 * (1 - s), rel=1e-5)
    assert float(photometric_loss(pred, gt, 0.0)) == pytest.approx(l1, rel=1e-5)
    assert float(photometric_loss(pred, gt, 1.0)) == pytest.approx(1 - s, rel=1e-5)


def test_a_gradient_step_on_the_render_lowers_the_loss_and_raises_ssim() -> None:
    pred, gt = _pair()
    pred = pred.clone().requires_grad_(True)
    before = photometric_loss(pred, gt, 1.0)  # the SSIM term alone
    before.backward()
    with torch.no_grad():
        after_pred = pred - 0.5 * pred.grad / pred.grad.abs().max()
    assert float(photometric_loss(after_pred, gt, 1.0)) < float(before.detach())
    assert _ssim_skimage(after_pred, gt) > _ssim_skimage(pred.detach(), gt)
