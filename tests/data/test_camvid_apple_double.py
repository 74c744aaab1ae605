"""A CamVid / ``genxd curate`` folder copied by a Mac onto an exFAT or FAT drive or a network share: macOS writes a
hidden ``._NAME`` (AppleDouble) beside each file, ``images/._00000.jpg`` among them."""

from __future__ import annotations

import shutil
import zipfile

import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip

APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


def test_hidden_apple_double_files_are_not_frames(tmp_path):
    """They were taken for frames: 16 frames of an 8-frame video, its clips over frames without a pose, so the
    dataset held 4 items where it has 2, those over the hidden files read from the nearest posed frames."""
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "plain", "dynamic0", "camvid", num_points=200)
    mac = shutil.copytree(tmp_path / "plain", tmp_path / "mac")
    for f in list(mac.rglob("*")):
        if f.is_file():
            (f.parent / f"._{f.name}").write_bytes(APPLE_DOUBLE)
    with zipfile.ZipFile(tmp_path / "batch_0.zip", "w") as zf:
        for f in sorted(mac.rglob("*")):
            zf.write(f, f.relative_to(mac).as_posix())
    want = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    for root in (mac, tmp_path / "batch_0.zip"):
        got = CamVidDataset(root, num_frames=4, height=32)
        assert got.videos[0].frames == want.videos[0].frames == [f"{i:05d}.jpg" for i in range(8)]
        assert len(got) == len(want) == 2
        for i in range(len(want)):
            a, b = want[i], got[i]
            assert a["name"] == b["name"] and torch.equal(a["frames"], b["frames"]) and torch.equal(a["c2w"], b["c2w"])
