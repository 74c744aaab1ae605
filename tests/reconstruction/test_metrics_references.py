"""psnr / ssim / regnerf_ssim against scikit-image, the reference docs/metrics.md names, and the documented PSNR of
identical images (hand-computed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genxd.reconstruction.metrics import psnr, regnerf_ssim, ssim

skm = pytest.importorskip("skimage.metrics")


def _pair(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((*shape, 3))
    return a, np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)


def _chw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


@pytest.mark.parametrize("shape", [(11, 11), (13, 29), (37, 50)])
def test_float_and_uint8_images_match_scikit_image(shape: tuple[int, int]) -> None:
    a, b = _pair(shape, sum(shape))
    gaussian = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1)
    assert float(psnr(_chw(a), _chw(b))) == pytest.approx(skm.peak_signal_noise_ratio(a, b, data_range=1), abs=1e-4)
    assert float(ssim(_chw(a), _chw(b))) == pytest.approx(skm.structural_similarity(a, b, data_range=1, **gaussian),
                                                          abs=1e-5)
    assert float(regnerf_ssim(_chw(a), _chw(b))) == pytest.approx(
        skm.structural_similarity(a, b, channel_axis=-1, data_range=2), abs=1e-12)
    a8, b8 = (np.round(x * 255).astype(np.uint8) for x in (a, b))
    assert float(psnr(_chw(a8), _chw(b8))) == pytest.approx(skm.peak_signal_noise_ratio(a8, b8), abs=1e-4)
    assert float(ssim(_chw(a8), _chw(b8))) == pytest.approx(skm.structural_similarity(a8, b8, **gaussian), abs=1e-5)


def test_identical_images_read_the_documented_finite_psnr() -> None:
    """docs/metrics.md: the MSE is floored at 1e-12 (float: of the [0, 1] range, 120 dB; integer: levels squared)."""
    flat = torch.full((3, 16, 16), 0.5)
    assert float(psnr(flat, flat)) == pytest.approx(120.0)
    levels = torch.full((3, 16, 16), 128, dtype=torch.uint8)
    assert float(psnr(levels, levels)) == pytest.approx(10 * math.log10(255**2 / 1e-12), abs=1e-4)
