"""A curated or synthetic sample's ``meta.json`` saved again by a Windows editor (UTF-8 byte order mark, CRLF)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from genxd.cameras.reader import read_camera_path
from genxd.data.synthetic import make_clip, write_clip


def _windows_copy(sample: Path, to: Path) -> Path:
    shutil.copytree(sample, to)
    meta = to / "meta.json"
    meta.write_bytes(b"\xef\xbb\xbf" + meta.read_bytes().replace(b"\n", b"\r\n"))
    return to


def test_a_sample_keeps_its_frame_times_with_a_byte_order_mark(tmp_path):
    """The camera path of such a sample (``genxd generate --camera OUT/VIDEO_ID``) lost its frame times without a
    word: the meta.json reader took the mark for bad JSON and fell back to none."""
    write_clip(make_clip(12, "4d", 6, 32, 32), tmp_path, "clip", "camvid", num_points=200)
    want = read_camera_path(tmp_path / "clip")
    assert want.times is not None and len(want.times) == 6
    got = read_camera_path(_windows_copy(tmp_path / "clip", tmp_path / "edited"))
    assert got.times is not None and torch.equal(got.times, want.times)
    assert torch.equal(got.c2w, want.c2w)
