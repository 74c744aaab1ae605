"""An output folder that is a mount point (``docker run -v ./recon:/data ... genxd reconstruct IN -o /data``) is refused
before the work: the output is renamed onto its path, which a mount point refuses ("Device or resource busy"), and
``genxd reconstruct`` trained, rendered, then stopped with that traceback, the results deleted. The mounts are those
of a made-up ``/proc/self/mountinfo`` (mounting needs root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genxd.utils.mount_points as mount_points
from genxd.cli import app
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.utils.mount_points import is_mount_point

from .helpers import write_views_folder


def _mounted(monkeypatch, tmp_path: Path, *folders: Path) -> None:
    """``folders`` listed as mount points in a mountinfo table as Linux writes it (a space as ``\\040``)."""
    table = tmp_path / "mountinfo"
    lines = [b"22 1 254:0 / / rw,relatime - ext4 /dev/vda rw"]
    for i, folder in enumerate(folders):
        point = os.fsencode(folder).replace(b" ", b"\\040")
        lines.append(b"%d 22 254:0 /src %s rw,relatime - ext4 /dev/vda rw" % (40 + i, point))
    table.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(mount_points, "MOUNT_INFO", str(table))


def test_mount_points_are_read_from_the_mount_table_and_links_followed(monkeypatch, tmp_path) -> None:
    volume, plain = tmp_path / "my volume", tmp_path / "plain"
    volume.mkdir()
    plain.mkdir()
    (tmp_path / "link").symlink_to(volume)
    _mounted(monkeypatch, tmp_path, volume)
    assert is_mount_point(volume) and is_mount_point(tmp_path / "link")
    assert not is_mount_point(plain) and not is_mount_point(tmp_path / "missing")
    monkeypatch.setattr(mount_points, "MOUNT_INFO", str(tmp_path / "no such table"))  # not Linux: os.path.ismount
    assert not is_mount_point(volume) and is_mount_point("/")


def test_reconstruct_into_a_mount_point_is_refused_before_the_training(monkeypatch, tmp_path, no_training) -> None:
    n = 4
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(-0.2, 0.2, n)
    c2w[:, 2, 3] = -2.0
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    views = write_views_folder(tmp_path / "in", torch.rand(n, 3, 16, 16), c2w, K)
    volume = tmp_path / "data"
    volume.mkdir()
    _mounted(monkeypatch, tmp_path, volume)
    says = (f"{volume} is a mount point; the output is written as a new folder and renamed into place, which cannot "
            f"replace a mount point: give a folder inside it ({volume / 'NAME'})")
    with pytest.raises(ValueError) as info:
        reconstruct_scene(views, volume, ReconstructionConfig(iterations=2), progress=False)
    assert str(info.value) == f"out_dir {says}"
    result = CliRunner().invoke(app, ["reconstruct", str(views), "-o", str(volume), "--iterations", "2"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"genxd: error: --out {says}"]
    assert os.listdir(volume) == []
