"""``motion_scale`` and ``pad_value`` of the datasets that are not finite numbers in range: ``motion_scale: .nan``
(or inf) gave every 4D sample a motion strength of nan (inf), and ``pad_value: .nan`` padded frames with nan, each
in silence (the loss went nan); a negative motion scale gave negative strengths. Now a ValueError naming the option
when the dataset is made."""

from __future__ import annotations

import math

import pytest

from genxd.data.datasets import CamVidDataset, MultiViewDataset, SyntheticDataset


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, "100", True])
@pytest.mark.parametrize("make", [
    lambda root, value: CamVidDataset(root, num_frames=4, height=16, motion_scale=value),
    lambda root, value: SyntheticDataset(length=2, num_frames=2, height=16, motion_scale=value),
], ids=["camvid", "synthetic"])
def test_motion_scale_is_a_finite_number_at_least_0(tmp_path, make, value):
    with pytest.raises(ValueError, match=rf"^motion_scale must be a finite number >= 0, got {value!r}$"):
        make(tmp_path, value)


@pytest.mark.parametrize("value", [math.nan, -0.5, 1.5, "1"])
def test_pad_value_is_a_number_in_0_1(tmp_path, value):
    with pytest.raises(ValueError, match=rf"^pad_value must be a number in \[0, 1\], got {value!r}$"):
        MultiViewDataset(tmp_path, num_frames=4, height=16, pad_value=value)


def test_numbers_in_range_are_taken():
    dataset = SyntheticDataset(length=2, num_frames=2, height=16, motion_scale=0)
    assert dataset.motion_scale == 0.0 and isinstance(dataset.motion_scale, float)
