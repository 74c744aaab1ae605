"""A CamVid sample's ``meta.json`` saved again by a Windows editor (UTF-8 byte order mark, CRLF line ends)."""

from __future__ import annotations

import shutil

import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip


def test_a_meta_json_with_a_byte_order_mark_trains_as_the_original(tmp_path):
    """Training refused it: 'dynamic0: meta.json is not valid JSON (Unexpected UTF-8 BOM (decode using
    utf-8-sig) ...)', though the dataset's first read of the same file (its frame times) had taken it."""
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "plain", "dynamic0", "camvid", num_points=200)
    edited = shutil.copytree(tmp_path / "plain", tmp_path / "edited")
    meta = edited / "dynamic0" / "meta.json"
    meta.write_bytes(b"\xef\xbb\xbf" + meta.read_bytes().replace(b"\n", b"\r\n"))
    want = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)[0]
    got = CamVidDataset(edited, num_frames=4, height=32)[0]
    assert float(got["motion_strength"]) == float(want["motion_strength"]) > 0
    assert torch.equal(got["frames"], want["frames"]) and torch.equal(got["c2w"], want["c2w"])
