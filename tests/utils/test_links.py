"""Where genxd links a file under a second name and symbolic links are not allowed (Windows without Developer Mode or
an administrator's rights: ``os.symlink`` raises OSError, WinError 1314; elsewhere NotImplementedError), simulated
by an ``os.symlink`` that raises so: a hard link, else a copy, with one warning (genxd.utils.links)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.utils.cv2_files import opencv_path
from genxd.utils.links import link_file
from genxd.validation import GenXDWarning

UNDECODABLE = os.fsdecode(b"videos\xff")


def _privilege_not_held(*args, **kwargs):
    raise OSError(22, "A required privilege is not held by the client")  # WinError 1314's words


def _not_implemented(*args, **kwargs):
    raise NotImplementedError("symlink not available on this platform")


def _no_hard_links(*args, **kwargs):
    raise OSError(1, "Operation not permitted")


def _genxd_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


@pytest.mark.parametrize("refusal", [_privilege_not_held, _not_implemented])
def test_a_hard_link_where_symbolic_links_are_refused(tmp_path, monkeypatch, refusal):
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 10)
    monkeypatch.setattr(os, "symlink", refusal)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert link_file(source, tmp_path / "b.bin", "the test file") == "hardlink"
    assert os.path.samefile(source, tmp_path / "b.bin")
    said = _genxd_warnings(caught)
    assert len(said) == 1 and "hard links are used for the test file" in said[0]


def test_a_copy_where_no_link_can_be_made(tmp_path, monkeypatch):
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 10)
    monkeypatch.setattr(os, "symlink", _not_implemented)
    monkeypatch.setattr(os, "link", _no_hard_links)
    with pytest.warns(GenXDWarning, match="copies are used for the test file"):
        assert link_file(source, tmp_path / "b.bin", "the test file") == "copy"
    assert (tmp_path / "b.bin").read_bytes() == b"x" * 10 and not (tmp_path / "b.bin").is_symlink()


@pytest.mark.parametrize("hard_links", [True, False])
def test_opencv_writes_a_video_under_a_name_that_is_not_utf8_without_symbolic_links(tmp_path, monkeypatch,
                                                                                     hard_links):
    """OpenCV's video writer on a path that is not UTF-8 got a symbolic link to it; where none can be made the
    OSError ended the write. Through a hard link the video is written in place; through a copy, copied back."""
    import cv2

    folder = tmp_path / UNDECODABLE
    folder.mkdir()
    target = folder / "clip.avi"
    target.touch()  # a writer's path exists: its atomic temporary file
    monkeypatch.setattr(os, "symlink", _privilege_not_held)
    if not hard_links:
        monkeypatch.setattr(os, "link", _no_hard_links)
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 48, 3), dtype=np.uint8)
    with pytest.warns(GenXDWarning, match="symbolic links are not allowed here"):
        with opencv_path(target) as name:
            writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (48, 32))
            assert writer.isOpened()
            for frame in frames:
                writer.write(frame)
            writer.release()
    monkeypatch.undo()
    with opencv_path(target) as name:
        cap = cv2.VideoCapture(name)
        read = 0
        while cap.read()[0]:
            read += 1
        cap.release()
    assert read == 3 and target.stat().st_size > 0


def test_a_colmap_text_model_with_a_mark_is_read_without_symbolic_links(tmp_path, monkeypatch):
    """A COLMAP text model whose cameras.txt has a byte order mark is read from a temporary folder beside links to
    its other files; where symbolic links raise NotImplementedError the read failed with it (only OSError was
    caught). Now hard links (points3D.txt of a large scene is not copied), with one warning."""
    pytest.importorskip("pycolmap")
    from genxd.cameras import read_colmap_model, trajectories
    from genxd.cameras.formats import write_colmap_model
    from genxd.utils.pycolmap_import import load_pycolmap

    c2w, K = trajectories.orbit(num_frames=4)
    binary = write_colmap_model(tmp_path / "binary", c2w, K, 48, 64, [f"{i:05d}.png" for i in range(4)],
                                torch.rand(5, 3, generator=torch.Generator().manual_seed(0)),
                                torch.full((5, 3), 128, dtype=torch.uint8))
    text = tmp_path / "text"
    text.mkdir()
    load_pycolmap().Reconstruction(str(binary)).write_text(str(text))
    want = read_colmap_model(text)
    (text / "cameras.txt").write_bytes(b"\xef\xbb\xbf" + (text / "cameras.txt").read_bytes())
    monkeypatch.setattr(os, "symlink", _not_implemented)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_colmap_model(text)
    said = _genxd_warnings(caught)
    assert len(said) == 1 and f"hard links are used for the COLMAP text files of {text}" in said[0], said
    assert got.image_names == want.image_names and torch.equal(got.c2w, want.c2w)
    assert torch.equal(got.points_xyz, want.points_xyz) and len(got.points_xyz) == 5
    assert Path(text / "points3D.txt").stat().st_nlink == 1  # the temporary hard link is gone with its folder
