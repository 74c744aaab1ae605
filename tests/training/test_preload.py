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


def test_object_masks_of_4d_items_reach_the_batch():
    from genxd.data.synthetic import SURFACE_OBJECT
    from genxd.training.data import collate_samples

    ds = SyntheticDataset(length=2, num_frames=4, height=32, kinds=["3d", "4d"], motion_source="world", object_masks=True)
    item3, item4 = ds[0], ds[1]
    assert "object_mask" not in item3  # 3D clips: no weighting
    clip = ds.render_clip(1)
    assert torch.equal(item4["object_mask"], (clip.render.surface == SURFACE_OBJECT).to(torch.uint8))
    assert 0 < item4["object_mask"].float().mean() < 0.5 and item4["object_mask"].shape == (4, 32, 32)
    batch = collate_samples([item3, item4])  # the 3D item gets an empty mask so the batch stacks
    assert batch["object_mask"].shape == (2, 4, 32, 32) and batch["object_mask"][0].sum() == 0
    pre = PreloadedDataset(ds, num_workers=0, batch_size=2, progress=False)
    assert "object_mask" not in pre[0] and torch.equal(pre[1]["object_mask"], item4["object_mask"])
    # the disk cache keeps the masks, apart from the cache of items without them
    assert SyntheticDataset(length=2, cache_dir="c", object_masks=True).cache_dir != SyntheticDataset(length=2, cache_dir="c").cache_dir


def test_object_loss_weight_reaches_the_training_loss(tmp_path):
    # masks on, weight 0: the same losses as without masks; weight 8: other losses (the 4D samples weigh objects)
    common = [*QUIET, "data.datasets.0.length=4", "data.datasets.0.kinds=[4d]", "training.max_steps=2"]
    runs = {}
    for name, extra in {"plain": [], "masks": ["data.datasets.0.object_masks=true"],
                        "weighted": ["data.datasets.0.object_masks=true", "training.object_loss_weight=8"]}.items():
        out = tmp_path / name
        train_genxd(load_config(TINY, [*common, *extra, f"output_dir={out}"]), cpu=True)
        runs[name] = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert runs["masks"] == pytest.approx(runs["plain"], rel=1e-6, abs=1e-7)
    assert runs["weighted"][0] != pytest.approx(runs["plain"][0], rel=1e-4)


def test_the_preload_bar_follows_the_training_bar(tmp_path, capfd):
    """Found by the multi-process audit: the "preloading data" bar was drawn by every process (each preloads the
    whole data; unlabelled bars over each other under ``accelerate launch``) and with ``logging.progress_bar:
    false`` too. It is now drawn where the training bar is: the main process, unless the bars are off."""
    common = [*QUIET, "data.datasets.0.length=4", "training.max_steps=1", "data.preload=true"]
    train_genxd(load_config(TINY, [*common, f"output_dir={tmp_path / 'quiet'}"]), cpu=True)
    assert "preloading data" not in capfd.readouterr().err
    train_genxd(load_config(TINY, [*common, f"output_dir={tmp_path / 'bars'}", "logging.progress_bar=true"]), cpu=True)
    assert "preloading data" in capfd.readouterr().err
