"""CamVidDataset keeps a video's meta.json only with its cameras (the cache of ``cache_size`` videos): every video's
was kept for good, so each DataLoader worker grew by all of them over an epoch (a curated meta.json of a few
hundred frames is ~0.3 MB in memory; 30,000 videos)."""

from __future__ import annotations

import gc
import json
import shutil
import tracemalloc

import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip
from genxd.data.synthetic.clips import write_clip

#: numbers padding each meta.json (as a long curation's per-frame records): ~4.8 MB each once parsed
PAD = 200_000


def test_meta_json_is_not_kept_for_every_video_read(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clip = make_clip(5, "4d", 4, 16, 16, camera="orbit")
    finally:
        torch.set_num_threads(threads)
    write_clip(clip, tmp_path, "v0", "camvid")
    meta = json.loads((tmp_path / "v0" / "meta.json").read_text())
    meta["pad"] = [k + 0.5 for k in range(PAD)]
    (tmp_path / "v0" / "meta.json").write_text(json.dumps(meta))
    for k in range(1, 6):
        shutil.copytree(tmp_path / "v0", tmp_path / f"v{k}")
    ds = CamVidDataset(tmp_path, num_frames=4, height=16, cache_size=1)
    assert len(ds) == 6
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(len(ds)):
            item = ds[i]
        del item
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    one_meta = PAD * 24  # a float each, at the least
    assert held < 2 * one_meta, f"{held / 2**20:.1f} MiB held after reading 6 videos (one meta: " \
                                f"{one_meta / 2**20:.1f} MiB)"
