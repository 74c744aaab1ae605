"""A damaged item of a rendered dataset's disk cache (``cache_dir``: a file cut short by a copy onto a full disk, or
one missing a tensor) is rendered again and written anew, with one warning naming it; it stopped the training run with
safetensors' traceback (the cache only saves time)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from genxd.data.datasets import SyntheticDataset


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


def _dataset(cache) -> SyntheticDataset:
    return SyntheticDataset(length=2, num_frames=2, height=16, kinds=["4d"], cache_dir=str(cache))


@pytest.mark.parametrize("damage", ["cut_short", "tensor_missing"])
def test_a_damaged_cached_item_is_rendered_again(tmp_path, damage):
    first = _dataset(tmp_path)[0]
    (path,) = (p for p in tmp_path.rglob("0000000.safetensors"))
    if damage == "cut_short":
        path.write_bytes(path.read_bytes()[:50])
    else:
        save_file({"frames": torch.zeros(2, 3, 16, 16, dtype=torch.uint8)}, str(path))
    ds = _dataset(tmp_path)
    with pytest.warns(UserWarning, match=f"{path}: a damaged item of the data cache"):
        again = ds[0]
    for key in ("frames", "c2w", "K"):
        assert torch.equal(again[key], first[key]), key
    assert again["motion_strength"] == first["motion_strength"] and again["name"] == first["name"]
    assert torch.equal(_dataset(tmp_path)._read_disk(0)["frames"], first["frames"])  # written anew
