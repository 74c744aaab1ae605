"""COLMAP text models saved again by a Windows editor: CRLF line ends and / or a UTF-8 byte order mark."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from genxd.cameras import read_colmap_model, trajectories
from genxd.cameras.formats import write_colmap_model
from genxd.cameras.reader import read_camera_path
from genxd.utils.pycolmap_import import load_pycolmap


def _text_model(tmp_path: Path) -> Path:
    """An orbit of 4 cameras with 5 points, written as a binary model and converted to text by pycolmap."""
    c2w, K = trajectories.orbit(num_frames=4)
    binary = write_colmap_model(tmp_path / "binary", c2w, K, 48, 64, [f"{i:05d}.png" for i in range(4)],
                                torch.rand(5, 3, generator=torch.Generator().manual_seed(0)),
                                torch.full((5, 3), 128, dtype=torch.uint8))
    text = tmp_path / "text"
    text.mkdir()
    load_pycolmap().Reconstruction(str(binary)).write_text(str(text))
    return text


@pytest.mark.parametrize("crlf, bom", [(True, False), (False, True), (True, True)])
def test_a_text_model_from_a_windows_editor_reads_as_the_original(tmp_path, monkeypatch, crlf, bom):
    """With a byte order mark pycolmap failed on the first line of cameras.txt: 'cannot read COLMAP model
    ([reconstruction_io_text.cc:137] Check failed: line_stream >> camera.camera_id ...)'."""
    text = _text_model(tmp_path)
    want = read_colmap_model(text)
    edited = shutil.copytree(text, tmp_path / "edited")
    for f in edited.glob("*.txt"):
        data = f.read_bytes()
        f.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (data.replace(b"\n", b"\r\n") if crlf else data))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the copy without the mark goes
    (tmp_path / "tmp").mkdir()
    got = read_colmap_model(edited)
    assert got.image_names == want.image_names == [f"{i:05d}.png" for i in range(4)]
    assert torch.equal(got.c2w, want.c2w) and torch.equal(got.K, want.K)
    assert torch.equal(got.points_xyz, want.points_xyz) and len(got.points_xyz) == 5
    assert len(read_camera_path(edited)) == 4
    assert not any((tmp_path / "tmp").iterdir())


def test_only_the_text_files_with_a_mark_are_copied(tmp_path, monkeypatch):
    """A mark in cameras.txt copied every text file whole (points3D.txt of a large scene: gigabytes into the
    temporary folder); the files without a mark are read where they are now."""
    pycolmap = load_pycolmap()
    text = _text_model(tmp_path)
    (text / "cameras.txt").write_bytes(b"\xef\xbb\xbf" + (text / "cameras.txt").read_bytes())
    expected = read_colmap_model(_text_model(tmp_path / "plain"))
    seen: dict[str, bool] = {}
    original = pycolmap.Reconstruction

    def reconstruction(*args):
        if args:
            folder = Path(args[0])
            seen.update({f.name: f.is_symlink() and f.resolve() == (text / f.name).resolve()
                         for f in folder.iterdir()})
        return original(*args)

    monkeypatch.setattr(pycolmap, "Reconstruction", reconstruction)
    model = read_colmap_model(text)
    assert {"cameras.txt", "images.txt", "points3D.txt"} <= set(seen), seen
    assert not seen.pop("cameras.txt") and all(seen.values()), seen  # a copy without the mark; links to the rest
    assert model.image_names == expected.image_names
    assert torch.allclose(model.c2w, expected.c2w)


def _move_camera_in_images_txt(model: Path, image: str, tx: float) -> None:
    """Set the TX of ``image``'s line in ``model/images.txt`` (IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME)."""
    lines = (model / "images.txt").read_text().splitlines()
    for i, line in enumerate(lines):
        tokens = line.split()
        if len(tokens) == 10 and tokens[9] == image:
            tokens[5] = repr(tx)
            lines[i] = " ".join(tokens)
    (model / "images.txt").write_text("\n".join(lines) + "\n")


def test_poses_edited_in_images_txt_that_frames_txt_overrides_are_warned_about(tmp_path):
    """COLMAP >= 3.12 writes frames.txt (and rigs.txt) beside images.txt and, reading, takes the poses from frames.txt:
    an images.txt whose poses were edited (by hand, by a script that knows the old layout) was read with the old
    poses, without a word. Now a warning names the images.txt, how many images differ, the first, and what to do; the
    poses read stay COLMAP's. A model as written, or one without frames.txt, reads without the warning."""
    import warnings

    text = _text_model(tmp_path)
    assert (text / "frames.txt").is_file()  # pycolmap >= 3.12 layout
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want = read_colmap_model(text)  # as written: no warning
    _move_camera_in_images_txt(text, "00002.png", 7.5)
    with pytest.warns(UserWarning, match=r"images\.txt: the poses of 1 of 4 images \(first: 00002\.png\) differ from "
                                         r"those frames\.txt gives.*frames\.txt and rigs\.txt"):
        got = read_colmap_model(text)
    assert torch.equal(got.c2w, want.c2w)  # COLMAP's reading: frames.txt's poses
    (text / "frames.txt").unlink()
    (text / "rigs.txt").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moved = read_colmap_model(text)  # the old layout: images.txt's poses
    assert not torch.equal(moved.c2w[2], want.c2w[2]) and torch.equal(moved.c2w[1], want.c2w[1])
