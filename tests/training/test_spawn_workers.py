"""Training's data loader workers started by spawn (macOS and Windows; forkserver, Linux's default from Python 3.14):
each worker is sent the dataset pickled. Every dataset type genxd ships, read by such workers, gives the items it
gives in the training process (``genxd train`` with ``data.num_workers`` > 0 on a Mac; checked by hand before
2026-12-05, untested)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from genxd.data.synthetic import make_clip, write_clip
from genxd.training import load_config
from genxd.training.data import build_training_dataset


def _data(root: Path) -> list[dict]:
    """One entry of each dataset type: synthetic, camvid (a folder and a batch zip), multiview, reconfusion."""

    write_clip(make_clip(12, "4d", 6, 32, 32), root / "camvid", "dynamic0", "camvid", num_points=200)
    with zipfile.ZipFile(root / "batch_0.zip", "w") as zf:
        for f in sorted((root / "camvid").rglob("*")):
            zf.write(f, f.relative_to(root / "camvid").as_posix())
    write_clip(make_clip(13, "3d", 6, 32, 32), root / "multiview", "scene0", "folder")
    write_clip(make_clip(14, "3d", 6, 32, 32), root / "reconfusion", "scene0", "reconfusion")
    return [{"type": "synthetic", "length": 2, "cache_size": 0}, {"type": "camvid", "root": str(root / "camvid")},
            {"type": "camvid", "root": str(root / "batch_0.zip")}, {"type": "multiview", "root": str(root / "multiview")},
            {"type": "reconfusion", "root": str(root / "reconfusion")}]


@pytest.mark.slow  # ~8 s: a spawned worker imports torch and genxd afresh
def test_every_dataset_type_reads_the_same_in_spawned_workers(tmp_path):
    cfg = load_config("tiny", [f"data.datasets={_data(tmp_path)!r}", "data.num_frames=4"])
    dataset = build_training_dataset(cfg.data, seed=0)
    n = len(dataset)
    want = [dataset[i] for i in range(n)]  # read here first: the handles a dataset opens on a read are in it
    loader = DataLoader(dataset, batch_size=None, num_workers=1, multiprocessing_context="spawn")
    got = list(loader)
    assert len(got) == n >= 5
    for a, b in zip(want, got):
        assert a["name"] == b["name"] and a["kind"] == b["kind"]
        for key in ("frames", "c2w", "K", "motion_strength"):
            assert torch.equal(a[key], b[key]), (a["name"], key)
