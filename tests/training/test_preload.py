"""``data.preload``: items served from memory equal the dataset's own, and training is unchanged."""

from __future__ import annotations

import json

import pytest
import torch

from genxd.data.datasets import SyntheticDataset
from genxd.training.config import load_config
from genxd.training.data import PreloadedDataset
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY


def test_preloaded_items_equal_the_dataset_items():
    ds = SyntheticDataset(length=3, num_frames=4, height=32, kinds=["3d", "4d"], motion_source="world")
    pre = PreloadedDataset(ds, num_workers=0, batch_size=2, progress=False)
    assert len(pre) == 3 and pre.frames is not None and pre.frames.dtype == torch.uint8  # exact 8-bit frames
    for i in range(3):
        a, b = ds[i], pre[i]
        assert a.keys() == b.keys()
        for k in a:
            if torch.is_tensor(a[k]):
                assert torch.equal(a[k], b[k]), k
            else:
                assert a[k] == b[k], k


class _FloatFrames(torch.utils.data.Dataset):
    """Frames that are not 8-bit values (e.g. resized images): kept as floats, exactly."""

    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        s = dict(self.base[i])
        s["frames"] = s["frames"] * 0.5 + 0.001
        return s


def test_preload_keeps_non_8bit_frames_exact():
    ds = _FloatFrames(SyntheticDataset(length=2, num_frames=4, height=32, kinds=["4d"], motion_source="world"))
    pre = PreloadedDataset(ds, progress=False)
    assert pre.frames.dtype == torch.float32
    assert torch.equal(pre[1]["frames"], ds[1]["frames"])


def test_training_with_preload_matches_training_without(tmp_path):
    common = [*QUIET, "data.datasets.0.length=4", "training.max_steps=2"]
    runs = {}
    for preload in (False, True):
        out = tmp_path / f"preload_{preload}"
        train_genxd(load_config(TINY, [*common, f"output_dir={out}", f"data.preload={str(preload).lower()}"]), cpu=True)
        runs[preload] = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(runs[True]) == 2
    assert runs[True] == pytest.approx(runs[False], rel=1e-6, abs=1e-7)
