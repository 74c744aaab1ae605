"""Training validation's PSNR (``val/psnr``) as docs/metrics.md says of every PSNR genxd reports: the MSE floored at
1e-12, so identical frames read 120 dB (was inf, which metrics.jsonl wrote as null); no samples log no metric (was
NaN)."""

from __future__ import annotations

import pytest
import torch

from genxd.training.validation import psnr, validate_genxd


def test_identical_frames_read_120_db_not_inf() -> None:
    video = torch.rand(3, 3, 8, 8)
    assert psnr(video, video.clone()) == pytest.approx(120.0)


def test_one_mse_over_all_frames() -> None:
    a, b = torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    b[0] = 0.2  # frame 0: MSE 0.04, frame 1: 0; pooled 0.02 (not the mean of per-frame PSNRs)
    assert psnr(a, b) == pytest.approx(10 * torch.log10(torch.tensor(1 / 0.02)).item(), abs=1e-4)


def test_no_samples_log_no_metric(tmp_path) -> None:
    assert validate_genxd(None, None, {}, [], tmp_path, 0, 1, 1.0, 4.0, 0) == {}  # type: ignore[arg-type]
