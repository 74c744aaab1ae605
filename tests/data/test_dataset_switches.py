"""Yes/no options of the datasets given as something else than true or false (a quoted ``"false"`` in a config,
``"no"``, ``0.5``): ``bool("false")`` is True, so ``undistort: "false"`` undistorted and ``object_masks: "no"`` gave
masks, in silence. Now a ValueError naming the option; true and false (and 0 / 1) as before."""

from __future__ import annotations

import pytest

from genxd.data.datasets import CamVidDataset, MultiViewDataset, SyntheticDataset


@pytest.mark.parametrize("value", ["false", "no", 0.5, None])
@pytest.mark.parametrize("make", [
    lambda root, value: CamVidDataset(root, num_frames=4, height=16, undistort=value),
    lambda root, value: MultiViewDataset(root, num_frames=4, height=16, undistort=value),
], ids=["camvid", "multiview"])
def test_undistort_is_true_or_false(tmp_path, make, value):
    with pytest.raises(ValueError, match=rf"^undistort must be true or false, got {value!r}$"):
        make(tmp_path, value)


@pytest.mark.parametrize("value", ["no", 2])
def test_object_masks_is_true_or_false(value):
    with pytest.raises(ValueError, match=rf"^object_masks must be true or false, got {value!r}$"):
        SyntheticDataset(length=2, num_frames=2, height=16, object_masks=value)


@pytest.mark.parametrize("value, kept", [(False, False), (0, False), (True, True), (1, True)])
def test_true_and_false_are_taken(value, kept):
    assert SyntheticDataset(length=2, num_frames=2, height=16, object_masks=value).object_masks is kept
